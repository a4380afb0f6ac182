"""Reporters (docs/reporters.md) against the test server: a real 3-band study
of the bundled simple workload (2 s bands) writes the CSV with exactly the
v0.2 columns first and the JSON with every v0.2 field present and of the
right type; the example reporter of docs/reporters.md, given by path, gets
every event in order; `reporters:` in the YAML file replaces the default
list; a reporter that fails mid-study is dropped with a message while the
study and the other exports go on; bad reporter names and files are
configuration errors; the console is plain ASCII unless it is a terminal
without NO_COLOR."""
import csv
import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import SOURCE, STORMDB, TMP_ROOT, StormdbTest, dsn, main

V02_COLUMNS = ["band", "workers", "connections", "duration_seconds", "tps", "avg_latency_ms", "p50_latency_ms",
               "p95_latency_ms", "p99_latency_ms", "std_dev_latency", "errors", "efficiency_tps_per_worker",
               "marginal_gain_tps_per_worker", "scaling_region", "bottleneck_type"]

V02_METADATA = {"test_name": str, "version": str, "timestamp": str, "duration_total_seconds": (int, float),
                "strategy": str, "bands_tested": int, "workload_type": str}
V02_PERFORMANCE = ["tps", "avg_latency_ms", "p50_latency_ms", "p95_latency_ms", "p99_latency_ms", "std_dev_latency",
                   "errors"]
V02_BAND_ANALYSIS = ["efficiency_tps_per_worker", "marginal_gain_tps_per_worker", "scaling_region",
                     "bottleneck_type"]
V02_ANALYSIS = ["optimal_configuration", "mathematical_models", "bottleneck_analysis", "scaling_regions"]

EXAMPLE = re.compile(r"<!-- example -->\s*```lua\n(.*?)```", re.S)


def example_reporter():
    with open(os.path.join(SOURCE, "docs", "reporters.md")) as f:
        found = EXAMPLE.findall(f.read())
    assert len(found) == 1, "docs/reporters.md has one <!-- example --> reporter"
    return found[0]


def study_args(out, *extra):
    return ["run", "simple", "--setup", "--progressive", "--strategy", "exponential", "--min-workers", "1",
            "--max-workers", "4", "--bands", "3", "--duration", "2s", "--warmup", "0", "--cooldown", "0",
            "--export-path", out, *extra]


def exports(directory, ext):
    return sorted(glob.glob(os.path.join(directory, "progressive_scaling_results_*." + ext)))


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class StudyExports(StormdbTest):
    """One real study, shared by the tests of this class."""

    @classmethod
    def setUpClass(cls):
        os.makedirs(TMP_ROOT, exist_ok=True)
        cls.dir = tempfile.mkdtemp(prefix="reporters-", dir=TMP_ROOT)
        cls.events = os.path.join(cls.dir, "events.lua")
        with open(cls.events, "w") as f:
            f.write(example_reporter())
        cls.out = os.path.join(cls.dir, "results")
        cmd = [STORMDB, *study_args(cls.out, "--reporter", cls.events, "--reporter", "html"), "--dsn", dsn()]
        cls.proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_study_ran(self):
        self.assertExit(self.proc, 0)
        for ext in ("csv", "json", "html", "events.txt"):
            self.assertEqual(len(exports(self.out, ext)), 1, ext)
            self.assertIn(exports(self.out, ext)[0], self.proc.stdout, "the console lists every file written")

    def test_csv_columns_and_rows(self):
        self.assertExit(self.proc, 0)
        with open(exports(self.out, "csv")[0], newline="") as f:
            text = f.read()
        rows = list(csv.reader(text.splitlines()))
        header = rows[0]
        self.assertEqual(header[:15], V02_COLUMNS, "the v0.2 columns, in order")
        self.assertEqual(header[15:], ["qps", "p999_latency_ms", "retries", "pool_wait_p95_ms", "status",
                                       "rate_target", "rate_achieved", "rate_lag_p99_ms", "rate_service_p99_ms",
                                       "rate_late", "rate_skipped"])
        self.assertNotRegex(text.lower(), r"\bnan\b|\binf|\bnil\b")
        body = [dict(zip(header, r)) for r in rows[1:]]
        self.assertEqual([(r["band"], r["workers"], r["connections"]) for r in body],
                         [("1", "1", "1"), ("2", "2", "2"), ("3", "4", "4")])
        for r in body:
            for col in ("duration_seconds", "tps", "avg_latency_ms", "p50_latency_ms", "p95_latency_ms",
                        "p99_latency_ms", "std_dev_latency", "efficiency_tps_per_worker", "qps"):
                self.assertGreater(float(r[col]), 0, col)
            self.assertEqual(int(r["errors"]), 0)
            self.assertAlmostEqual(float(r["duration_seconds"]), 2.0, delta=0.05)
            self.assertLessEqual(float(r["p50_latency_ms"]), float(r["p95_latency_ms"]))
            self.assertLessEqual(float(r["p95_latency_ms"]), float(r["p99_latency_ms"]))
            self.assertIn(r["scaling_region"], ("baseline", "linear", "diminishing", "saturation", "degradation"))
            self.assertEqual(r["status"], "complete")
            self.assertEqual(r["rate_target"], "", "a closed-loop band has no rate figures")
        self.assertEqual(body[0]["marginal_gain_tps_per_worker"], "", "the first band has no gain: an empty cell")
        for r in body[1:]:
            float(r["marginal_gain_tps_per_worker"])

    def test_json_v02_fields(self):
        self.assertExit(self.proc, 0)
        with open(exports(self.out, "json")[0]) as f:
            doc = json.load(f)
        for key, kind in V02_METADATA.items():
            self.assertIn(key, doc["metadata"])
            self.assertIsInstance(doc["metadata"][key], kind, key)
        self.assertEqual(doc["metadata"]["bands_tested"], 3)
        self.assertEqual(doc["metadata"]["strategy"], "exponential")
        self.assertEqual(doc["metadata"]["workload_type"], "simple")
        self.assertIsInstance(doc["configuration"], dict)
        self.assertEqual(len(doc["bands"]), 3)
        for i, b in enumerate(doc["bands"]):
            self.assertEqual(b["band_number"], i + 1)
            for key in ("workers", "connections"):
                self.assertIsInstance(b[key], int)
            self.assertTrue(is_number(b["duration_seconds"]))
            for key in V02_PERFORMANCE:
                self.assertIn(key, b["performance"])
                self.assertTrue(is_number(b["performance"][key]), key)
            self.assertIsInstance(b["performance"]["errors"], int)
            for key in V02_BAND_ANALYSIS:
                self.assertIn(key, b["analysis"], "every v0.2 field is present, null when missing")
            self.assertTrue(is_number(b["analysis"]["efficiency_tps_per_worker"]))
            self.assertIsInstance(b["analysis"]["scaling_region"], str)
            self.assertTrue(b["analysis"]["bottleneck_type"] is None or isinstance(b["analysis"]["bottleneck_type"], str))
            # extended, never renamed
            self.assertTrue(b["histogram"].startswith("v1 "))
            self.assertIn("transactions", b)
        self.assertIsNone(doc["bands"][0]["analysis"]["marginal_gain_tps_per_worker"])
        for b in doc["bands"][1:]:
            self.assertTrue(is_number(b["analysis"]["marginal_gain_tps_per_worker"]))
        analysis = doc["analysis"]
        for key in V02_ANALYSIS:
            self.assertIn(key, analysis)
        self.assertIsInstance(analysis["optimal_configuration"], dict)
        self.assertIsInstance(analysis["mathematical_models"], dict)
        self.assertIsInstance(analysis["scaling_regions"], dict)
        self.assertTrue(analysis["bottleneck_analysis"] is None or isinstance(analysis["bottleneck_analysis"], dict))
        for region in ("linear_scaling", "diminishing_returns", "saturation", "degradation"):
            self.assertIsInstance(analysis["scaling_regions"][region]["bands"], list, "empty arrays are []")
        self.assertIsInstance(analysis["inflection_points"], list)
        # stormdb analyze reads it back
        p = self.stormdb("analyze", exports(self.out, "json")[0], with_dsn=False)
        self.assertExit(p, 0)
        self.assertIn("OPTIMAL CONFIGURATION", p.stdout)

    def test_custom_reporter_gets_every_event_in_order(self):
        self.assertExit(self.proc, 0)
        with open(exports(self.out, "events.txt")[0]) as f:
            lines = f.read().splitlines()
        kinds = [line.split()[0] for line in lines]
        self.assertEqual(kinds[0], "run_start")
        self.assertEqual(kinds[-1], "run_done")
        self.assertEqual(kinds.count("band"), 3)
        events = " ".join(k for k in kinds if k != "note")
        self.assertRegex(events, r"^run_start( band_start( progress)+ band){3} run_done$")
        self.assertEqual(lines[0], "run_start workload=simple")
        starts = [line for line in lines if line.startswith("band_start")]
        self.assertEqual(starts, ["band_start band=1 workers=1 connections=1",
                                  "band_start band=2 workers=2 connections=2",
                                  "band_start band=3 workers=4 connections=4"])
        for line in lines:
            if line.startswith("band "):
                self.assertRegex(line, r"^band band=\d status=complete tps=\d+\.\d$")
            if line.startswith("progress"):
                self.assertRegex(line, r"^progress phase=measure elapsed=\d+\.\d tps=\d+\.\d$")
        self.assertRegex(lines[-1], r"^run_done status=complete bands=3 optimal_workers=\d+$")

    def test_live_html_written(self):
        self.assertExit(self.proc, 0)
        with open(exports(self.out, "html")[0]) as f:
            html = f.read()
        self.assertIn("<svg", html)
        self.assertNotRegex(html, r"https?://")
        self.assertNotIn("still running", html, "the last rewrite is the finished study")

    def test_console_plain_when_not_a_terminal(self):
        self.assertExit(self.proc, 0)
        out = self.proc.stdout
        self.assertNotIn("\x1b[", out)
        bad = sorted({c for c in out if ord(c) > 127})
        self.assertEqual(bad, [], "plain ASCII when stdout is not a terminal")
        for heading in ("OPTIMAL CONFIGURATION", "SCALING ANALYSIS", "MATHEMATICAL MODELS", "results written to:"):
            self.assertIn(heading, out)
        self.assertRegex(out, r"marginal gain: \+?-?\d+\.\d tps/worker \((excellent|good|diminishing|saturation|"
                              r"degradation)\)")
        self.assertNotRegex(out.lower(), r"\bnan\b|\binf\b|\bnil\b")


class ReporterConfiguration(StormdbTest):
    def test_yaml_reporters_replace_the_default(self):
        self.script("events.lua", example_reporter())
        out = os.path.join(self.tmp, "out")
        study = self.script("study.yaml", f"""workload: simple
reporters: [console, csv, ./events.lua]
progressive:
  enabled: true
  strategy: linear
  min_workers: 1
  max_workers: 2
  bands: 2
  band_duration: 1s
  warmup_duration: 0s
  cooldown_duration: 0s
  export_path: {out}
""")
        p = self.stormdb("--config", study, "--setup", "--progress", "0")
        self.assertExit(p, 0)
        self.assertEqual(len(exports(out, "csv")), 1)
        self.assertEqual(exports(out, "json"), [], "reporters: without json writes no JSON")
        with open(exports(out, "events.txt")[0]) as f:
            kinds = [line.split()[0] for line in f.read().splitlines()]
        # --progress 0: no progress events
        self.assertEqual([k for k in kinds if k != "note"],
                         ["run_start", "band_start", "band", "band_start", "band", "run_done"])

    def test_single_run_reporter(self):
        events = self.script("events.lua", example_reporter())
        out = os.path.join(self.tmp, "out")
        p = self.stormdb("run", "simple", "--setup", "--workers", "2", "--duration", "2s", "--reporter", events,
                         "--export-path", out)
        self.assertExit(p, 0)
        files = glob.glob(os.path.join(out, "stormdb_results_*.events.txt"))
        self.assertEqual(len(files), 1, os.listdir(out) if os.path.isdir(out) else "no export directory")
        with open(files[0]) as f:
            kinds = [line.split()[0] for line in f.read().splitlines()]
        self.assertRegex(" ".join(k for k in kinds if k != "note"), r"^run_start( progress)+ band run_done$")

    def test_bad_reporters_are_configuration_errors(self):
        out = os.path.join(self.tmp, "out")
        study = self.script("bad.yaml", """workload: simple
reporters:
  - consol
  - ./missing.lua
progressive:
  enabled: true
  max_workers: 2
""")
        p = self.stormdb("--config", study, "--reporter", "htm", "--dry-run", with_dsn=False)
        self.assertExit(p, 2)
        self.assertIn(f"stormdb: {study}:3: reporters: no reporter named 'consol'; did you mean console? "
                      "(bundled: console, csv, html, json; or a path to a .lua file)", p.stderr)
        self.assertIn(f"stormdb: {study}:3: reporters: {self.tmp}/missing.lua: cannot read the reporter file",
                      p.stderr)
        self.assertIn("stormdb: --reporter: no reporter named 'htm'; did you mean html?", p.stderr)
        broken = self.script("broken.lua", "return { on_band = function(self, band) end\n")
        p = self.stormdb(*study_args(out, "--reporter", broken))
        self.assertExit(p, 2)
        self.assertIn(f"--reporter {broken}:", p.stderr)
        self.assertIn("broken.lua:2:", p.stderr)
        self.assertFalse(os.path.exists(out) and exports(out, "csv"), "nothing ran")

    def test_failing_reporter_is_dropped_and_the_study_goes_on(self):
        bad = self.script("bad.lua", """
local R = {}
function R:on_band(band) if band.band_number == 2 then error("boom in band 2") end end
return R
""")
        out = os.path.join(self.tmp, "out")
        p = self.stormdb(*study_args(out, "--reporter", bad, "--progress", "0"))
        self.assertExit(p, 1)
        self.assertIn("stormdb: reporter bad.lua failed in on_band (it gets no more events):", p.stderr)
        self.assertIn("boom in band 2", p.stderr)
        self.assertEqual(p.stderr.count("boom in band 2"), 1)
        with open(exports(out, "json")[0]) as f:
            doc = json.load(f)
        self.assertEqual(len(doc["bands"]), 3, "the study went on")
        self.assertEqual(doc["metadata"]["status"], "complete")

    def test_colour_and_emoji_only_on_a_terminal(self):
        script = shutil.which("script")
        if not script:
            self.skipTest("util-linux script(1) is not installed: no pseudo-terminal to test with")
        out = os.path.join(self.tmp, "out")
        cmd = " ".join(f"'{a}'" for a in [STORMDB, *study_args(out, "--bands", "2", "--max-workers", "2",
                                                                  "--progress", "0"), "--dsn", dsn()])
        env = dict(os.environ)
        env.pop("NO_COLOR", None)
        tty = subprocess.run([script, "-qec", cmd, "/dev/null"], capture_output=True, text=True, timeout=300,
                             env=env)
        self.assertEqual(tty.returncode, 0, tty.stdout + tty.stderr)
        self.assertIn("\x1b[", tty.stdout)
        self.assertIn("✅", tty.stdout)
        env["NO_COLOR"] = "1"
        plain = subprocess.run([script, "-qec", cmd, "/dev/null"], capture_output=True, text=True, timeout=300,
                               env=env)
        self.assertEqual(plain.returncode, 0, plain.stdout + plain.stderr)
        self.assertNotIn("\x1b[1m", plain.stdout)
        self.assertNotIn("✅", plain.stdout)


if __name__ == "__main__":
    main()
