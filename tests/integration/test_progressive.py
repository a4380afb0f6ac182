"""Progressive studies against the test server: a 4-band study of the bundled
simple workload runs the configured bands, writes its CSV and JSON exports
after every band (the CSV is polled while the study runs) and ends in the
analysis; a study from a YAML file (database: section, step dialect, a
workload next to the file) runs without leaking its password; --dry-run
connects to nothing; bad configurations and a study that needs more
connections than the server has end with exit 2 and a message naming the
key; the example strategy of docs/strategies.md runs."""
import csv
import glob
import json
import os
import re
import shlex
import subprocess
import time

from harness import SOURCE, STORMDB, StormdbTest, dsn, main

CSV_COLUMNS = ("band,workers,connections,duration_seconds,tps,avg_latency_ms,p50_latency_ms,p95_latency_ms,"
               "p99_latency_ms,std_dev_latency,errors,efficiency_tps_per_worker,marginal_gain_tps_per_worker,"
               "scaling_region,bottleneck_type,qps,p999_latency_ms,retries,pool_wait_p95_ms,status,rate_target,"
               "rate_achieved,rate_lag_p99_ms,rate_service_p99_ms,rate_late,rate_skipped")

SELECT1 = 'return { run = function(w) w.db:exec("SELECT 1") end }\n'


def read_csv(path):
    with open(path, newline="") as f:
        text = f.read()
    return text, list(csv.DictReader(text.splitlines()))


def conninfo_parts():
    """The harness' conninfo (key=value pairs) as a dict."""
    return dict(re.findall(r"(\w+)=(\S+)", dsn()))


class Progressive(StormdbTest):
    def exports(self, directory, ext):
        return sorted(glob.glob(os.path.join(directory, "progressive_scaling_results_*." + ext)))

    def test_four_band_study(self):
        out = os.path.join(self.tmp, "results")
        cmd = [STORMDB, "run", "simple", "--setup", "--progressive", "--strategy", "exponential",
               "--min-workers", "1", "--max-workers", "8", "--bands", "4", "--duration", "2s", "--warmup", "1s",
               "--cooldown", "0", "--export-path", out, "--dsn", dsn()]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # After band 1, and while band 2 runs, the CSV already holds band 1.
        seen_one_row = False
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            files = self.exports(out, "csv")
            if files:
                _, rows = read_csv(files[0])
                if len(rows) >= 1:
                    self.assertEqual(len(rows), 1, "the CSV grows one row per band")
                    self.assertIsNone(proc.poll(), "the row was there before the study ended")
                    with open(self.exports(out, "json")[0]) as f:
                        partial = json.load(f)
                    self.assertEqual(len(partial["bands"]), 1)
                    self.assertEqual(partial["metadata"]["status"], "running")
                    seen_one_row = True
                    break
            time.sleep(0.05)
        stdout, stderr = proc.communicate(timeout=120)
        self.assertEqual(proc.returncode, 0, f"stdout:\n{stdout}\nstderr:\n{stderr}")
        self.assertTrue(seen_one_row, "the CSV had band 1 while the study was running")

        csv_files, json_files = self.exports(out, "csv"), self.exports(out, "json")
        self.assertEqual(len(csv_files), 1)
        self.assertEqual(len(json_files), 1)
        self.assertEqual(csv_files[0][:-4], json_files[0][:-5], "one basename for both exports")
        self.assertRegex(os.path.basename(csv_files[0]), r"^progressive_scaling_results_\d{8}_\d{6}\.csv$")

        text, rows = read_csv(csv_files[0])
        self.assertEqual(text.splitlines()[0], CSV_COLUMNS)
        self.assertNotRegex(text.lower(), r"nan|inf|nil")
        self.assertEqual([(r["band"], r["workers"], r["connections"]) for r in rows],
                         [("1", "1", "1"), ("2", "2", "2"), ("3", "4", "4"), ("4", "8", "8")])
        for r in rows:
            self.assertEqual(r["status"], "complete")
            self.assertGreater(float(r["tps"]), 0)
            self.assertAlmostEqual(float(r["duration_seconds"]), 2.0, delta=0.05)
            self.assertAlmostEqual(float(r["efficiency_tps_per_worker"]), float(r["tps"]) / int(r["workers"]),
                                   delta=0.01)
        self.assertEqual(rows[0]["marginal_gain_tps_per_worker"], "", "no gain for the first band")
        gain = (float(rows[1]["tps"]) - float(rows[0]["tps"])) / 1
        self.assertAlmostEqual(float(rows[1]["marginal_gain_tps_per_worker"]), gain, delta=0.01)

        with open(json_files[0]) as f:
            doc = json.load(f)
        meta = doc["metadata"]
        for key in ("test_name", "version", "timestamp", "duration_total_seconds", "strategy", "bands_tested",
                    "workload_type", "workload", "seed", "server_version"):
            self.assertIn(key, meta)
        self.assertEqual(meta["strategy"], "exponential")
        self.assertEqual(meta["bands_tested"], 4)
        self.assertEqual(meta["workload_type"], "simple")
        self.assertEqual(meta["status"], "complete")
        self.assertGreater(meta["duration_total_seconds"], 8)
        conf = doc["configuration"]
        self.assertEqual((conf["min_workers"], conf["max_workers"], conf["bands"]), (1, 8, 4))
        self.assertEqual((conf["duration_seconds"], conf["warmup_seconds"], conf["cooldown_seconds"]), (2, 1, 0))
        self.assertEqual(doc["schema_version"], 1)
        bands = doc["bands"]
        self.assertEqual([(b["workers"], b["connections"]) for b in bands], [(1, 1), (2, 2), (4, 4), (8, 8)])
        for b, r in zip(bands, rows):
            self.assertEqual(b["status"], "complete")
            self.assertIn("histogram", b)
            self.assertAlmostEqual(b["performance"]["tps"], float(r["tps"]), delta=0.001)
            self.assertIn("efficiency_tps_per_worker", b["analysis"])
        self.assertEqual(bands[0]["performance"]["errors"], 0)

        # The analysis: in the JSON and on the console, or said to be missing.
        if "analysis" in doc:
            self.assertIn(doc["analysis"]["status"], ("ok", "too_few_points", "no_variation"))
            self.assertIn("optimal_configuration", doc["analysis"])
            self.assertIn("SCALABILITY ANALYSIS", stdout)
            self.assertEqual([r["scaling_region"] for r in rows][0], "baseline")
            for b, r in zip(bands, rows):
                self.assertEqual(b["analysis"].get("scaling_region", ""), r["scaling_region"])
        else:
            self.assertIn("analysis not available in this build", stdout)

        self.assertIn("progressive study of workload simple, strategy exponential", stdout)
        self.assertIn("band 4/4: 8 workers, 8 connections", stdout)
        self.assertIn("marginal gain:", stdout)
        self.assertIn(csv_files[0], stdout)

    def test_yaml_study(self):
        parts = conninfo_parts()
        secret = "Sekr1t-'pass word'"
        workload = self.script("w.lua", """
return {
  options = { statements = { default = 1, min = 1, help = "statements per transaction" } },
  run = function(w) for _ = 1, w.opt.statements do w.db:exec("SELECT 1") end end,
}
""")
        del workload
        study = self.script("study.yaml", f"""
# a study in the step dialect, from a file
workload: ./w.lua
workload_options:
  statements: 2
database:
  host: {parts['host']}
  port: {parts['port']}
  dbname: {parts['dbname']}
  username: {parts['user']}
  password: "{secret}"
  sslmode: prefer
progressive:
  enabled: true
  strategy: linear
  min_workers: 1
  max_workers: 3
  step_workers: 1
  band_duration: 1s
  warmup_time: 0s
  cooldown_time: 0s
  export_format: csv
  export_path: {self.tmp}/out
""")
        p = subprocess.run([STORMDB, "--config", study, "--progress", "0"], capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(p.returncode, 0, f"stdout:\n{p.stdout}\nstderr:\n{p.stderr}")
        self.assertEqual(self.exports(os.path.join(self.tmp, "out"), "json"), [], "export_format: csv")
        files = self.exports(os.path.join(self.tmp, "out"), "csv")
        text, rows = read_csv(files[0])
        self.assertEqual([(r["workers"], r["connections"]) for r in rows], [("1", "1"), ("2", "2"), ("3", "3")])
        # two statements per transaction: the workload option from the file arrived
        for r in rows:
            self.assertAlmostEqual(float(r["qps"]), 2 * float(r["tps"]), delta=0.01 * float(r["qps"]) + 1)
        for where in (p.stdout, p.stderr, text):
            self.assertNotIn("Sekr1t", where)

    def test_dry_run(self):
        plan = os.path.join(self.tmp, "plan.json")
        # no server: --dry-run never connects
        p = self.stormdb("run", "simple", "--progressive", "--strategy", "fibonacci", "--min-workers", "10",
                         "--max-workers", "68", "--bands", "5", "--dry-run", "--json", plan, "--dsn",
                         "host=/nonexistent port=1", with_dsn=False)
        self.assertExit(p, 0)
        with open(plan) as f:
            doc = json.load(f)
        self.assertEqual([b["workers"] for b in doc["bands"]], [10, 16, 26, 42, 68])
        self.assertEqual([b["connections"] for b in doc["bands"]], [10, 16, 26, 42, 68])
        # defaults: test_duration 30m over 5 bands, warmup 60s, cooldown 30s
        self.assertEqual(doc["estimated_seconds"], 5 * (360 + 60 + 30))
        self.assertIn("strategy fibonacci (duration dialect), 5 bands", p.stdout)
        self.assertIn("each band: warmup 1m + measure 6m + cooldown 30s = 7m30s", p.stdout)
        self.assertIn("total: 37m30s", p.stdout)

        p = self.stormdb("run", "simple", "--progressive", "--strategy", "exponential", "--step-workers", "1",
                         "--min-workers", "1", "--max-workers", "128", "--duration", "10s", "--warmup", "0",
                         "--cooldown", "0", "--dry-run", with_dsn=False)
        self.assertExit(p, 0)
        self.assertEqual(re.findall(r"^\s+\d+\s+(\d+)\s+\d+", p.stdout, re.M),
                         ["1", "2", "4", "8", "16", "32", "64", "128"])

    def test_bad_configuration(self):
        study = self.script("bad.yaml", """workload: simple
progressive:
  enabled: true
  strategy: expo
  min_workers: 4
  max_workers: 2
  bandz: 3
""")
        p = self.stormdb("--config", study, with_dsn=False)
        self.assertExit(p, 2)
        lines = [line for line in p.stderr.splitlines() if line.startswith("stormdb:")]
        self.assertEqual(lines, [
            f"stormdb: {study}:4: progressive.strategy: no strategy named 'expo'; did you mean exponential? "
            "(bundled: adaptive, exponential, fibonacci, linear, slo_search; or a path to a .lua file)",
            f"stormdb: {study}:6: progressive.max_workers: 2 is less than min_workers (4)",
            f"stormdb: {study}:7: progressive.bandz: unknown key; did you mean bands?",
        ])
        bad = self.script("broken.yaml", "progressive:\n  bands: 3\n   x: 1\n")
        p = self.stormdb("run", "--config", bad, with_dsn=False)
        self.assertExit(p, 2)
        self.assertIn(f"{bad}:3:5: mapping values are not allowed in this context", p.stderr)

    def test_too_many_connections_for_the_server(self):
        script = self.script("s.lua", SELECT1)
        out = os.path.join(self.tmp, "out")
        p = self.stormdb("run", script, "--progressive", "--min-workers", "1", "--max-workers", "2",
                         "--min-connections", "1", "--max-connections", "5000", "--bands", "2", "--duration", "1s",
                         "--export-path", out)
        self.assertExit(p, 2)
        self.assertRegex(p.stderr, r"stormdb: --max-connections: band 2 needs 5000 connections but the server allows "
                                   r"\d+ \(SHOW max_connections: \d+")

    def test_export_path_not_writable(self):
        script = self.script("s.lua", SELECT1)
        blocker = self.script("file", "not a directory\n")
        p = self.stormdb("run", script, "--progressive", "--max-workers", "2", "--bands", "2", "--duration", "1s",
                         "--export-path", os.path.join(blocker, "results"))
        self.assertExit(p, 2)
        self.assertIn(f"stormdb: --export-path: export path {blocker}/results is not writable", p.stderr)

    def test_examples_are_valid(self):
        examples = sorted(glob.glob(os.path.join(SOURCE, "scripts", "examples", "*.yaml")))
        self.assertGreaterEqual(len(examples), 3)
        for path in examples:
            with self.subTest(example=os.path.basename(path)):
                p = self.stormdb("--config", path, "--dry-run", with_dsn=False)
                self.assertExit(p, 0)
                self.assertIn("total:", p.stdout)

    def test_readme_demo_plan(self):
        with open(os.path.join(SOURCE, "README.md")) as f:
            command = re.search(r"<!-- demo-command -->\s*```sh\n(.*?)\n```", f.read(), re.S).group(1)
        args = shlex.split(command.split("./build/stormdb ", 1)[1])
        p = self.stormdb(*args, "--dry-run", with_dsn=False)
        self.assertExit(p, 0)
        self.assertIn("strategy exponential (duration dialect), 5 bands", p.stdout)
        self.assertEqual(re.findall(r"^\s+\d+\s+(\d+)\s+\d+", p.stdout, re.M), ["1", "2", "4", "8", "16"])

    def test_docs_example_strategy(self):
        with open(os.path.join(SOURCE, "docs", "strategies.md")) as f:
            code = re.search(r"<!-- example -->\s*```lua\n(.*?)```", f.read(), re.S).group(1)
        strategy = self.script("mine.lua", code)
        script = self.script("s.lua", SELECT1)
        out = os.path.join(self.tmp, "out")
        p = self.stormdb("run", script, "--progressive", "--strategy", strategy, "--max-workers", "16",
                         "--duration", "1s", "--warmup", "0", "--cooldown", "0", "--export-path", out,
                         "--progress", "0")
        self.assertExit(p, 0)
        _, rows = read_csv(self.exports(out, "csv")[0])
        self.assertEqual([(r["workers"], r["connections"]) for r in rows], [("8", "8"), ("16", "16")])


if __name__ == "__main__":
    main()
