"""Server observation (scripts/stormdb/observe.lua) and the bottleneck
classification (analysis/bottleneck.c) on the test server: three provoked
bottlenecks are named as such (every worker updating one row: lock
contention; 64 workers on 2 connections: the connection pool; point selects
at twice as many workers as cores: CPU), each band's server figures are
there and finite, the observer's own session is not counted, and what the
server refuses is a note, once, never an error.

The bands run through `stormdb run` (observation is on by default), as a
single band or as a study.
"""
import json
import os

from harness import StormdbTest, dsn, main, psql

HOT_ROW = """
return {
  name = "hot_row",
  transactions = {
    { name = "bump", weight = 1, run = function(w)
      w.db:transaction(function(tx)
        tx:exec("UPDATE obs_hot SET v = v + 1 WHERE k = 1")
        tx:exec("SELECT count(*) FROM obs_kv WHERE k <= 100")
      end)
    end },
  },
}
"""

POINT_SELECT = """
local db = require "stormdb.db"
local get = db.prepare("SELECT v FROM obs_kv WHERE k = $1")
return {
  name = "point_select",
  transactions = {
    { name = "get", weight = 1, run = function(w) w.db:exec(get, w.rand:uniform(1, 10000)) end },
  },
}
"""

TYPES = {"none", "connection_pool", "lock_contention", "io_bound", "memory_bound", "cpu_bound",
         "over_provisioned", "network_bound", "client_bound"}


def strict_json(path):
    """The result file, refusing NaN and Infinity (Python's json accepts them)."""
    def refuse(name):
        raise AssertionError(f"{path} holds {name}")
    with open(path) as f:
        return json.load(f, parse_constant=refuse)


def walk(value, path="$"):
    """Every (path, value) of a JSON document."""
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk(v, f"{path}[{i}]")


class Observe(StormdbTest):
    @classmethod
    def setUpClass(cls):
        psql("DROP TABLE IF EXISTS obs_hot, obs_kv;"
             "CREATE TABLE obs_hot (k int PRIMARY KEY, v bigint NOT NULL); INSERT INTO obs_hot VALUES (1, 0);"
             "CREATE TABLE obs_kv (k int PRIMARY KEY, v bigint NOT NULL);"
             "INSERT INTO obs_kv SELECT g, g FROM generate_series(1, 10000) g")
        psql("VACUUM ANALYZE obs_kv")

    @classmethod
    def tearDownClass(cls):
        psql("DROP TABLE IF EXISTS obs_hot, obs_kv")

    def observed_run(self, script_text, workers, connections=None, duration="3s", bands=None, conninfo=None):
        """Runs observed bands of a workload with `stormdb run` (one band,
        or a linear study over the (workers, connections) pairs of bands);
        returns the parsed result with its bottleneck analysis at
        result["bottleneck_analysis"] wherever the run kept it."""
        script = self.script("workload.lua", script_text)
        if bands:
            args = ["run", script, "--progressive", "--strategy", "linear", "--min-workers", str(bands[0][0]),
                    "--max-workers", str(bands[-1][0]), "--bands", str(len(bands)), "--duration", duration,
                    "--warmup", "0", "--cooldown", "0", "--export-path", os.path.join(self.tmp, "results")]
        else:
            args = ["run", script, "--workers", str(workers), "--duration", duration]
            if connections:
                args += ["--connections", str(connections)]
        args += ["--progress", "0"]
        if conninfo:
            args += ["--dsn", conninfo]
        out = os.path.join(self.tmp, "observed.json")
        p = self.stormdb(*args, "--json", out, with_dsn=conninfo is None)
        self.assertExit(p, 0)
        result = strict_json(out)
        if "bottleneck_analysis" not in result:
            result["bottleneck_analysis"] = result["analysis"]["bottleneck_analysis"]
        self.version = result["server_settings"]["server_version_num"]
        return result

    def check_band(self, band, workers, connections):
        server = band["server"]
        self.assertTrue(server["observed"])
        self.assertAlmostEqual(server["window_seconds"], band["duration_seconds"], delta=0.5)
        db = server["database"]
        self.assertGreater(db["xact_commit"], 0)
        self.assertIn("blks_hit", db)
        if self.version >= 140000:
            self.assertIn("wal", server)
        act = server["activity"]
        # about one round per 0.1 s of a 3 s band (the main loop may run late on a busy host)
        self.assertGreaterEqual(act["rounds"], 10)
        self.assertLessEqual(act["rounds"], 35)
        # the workload's sessions only: the observer has its own application_name
        self.assertLessEqual(act["backends_avg"], connections + 1e-9)
        self.assertGreater(act["backends_avg"], 0)
        self.assertGreaterEqual(server["rtt"]["probes"], 3)
        self.assertGreater(server["rtt"]["median_ms"], 0)
        client = server["client"]
        self.assertGreater(client["cpu_seconds"], 0)
        self.assertLessEqual(client["cpu"], 1)
        # the test server listens on a Unix socket: its host is this one
        host = server["host"]
        self.assertGreater(host["cpu_busy"], 0)
        self.assertGreater(host["mem_total_bytes"], 0)
        self.assertIn(band["bottleneck_type"], TYPES)
        self.assertEqual(server["bottleneck"]["type"], band["bottleneck_type"])
        # top statements when pg_stat_statements can be read, else a note saying why
        if "top_statements" not in server:
            self.assertTrue(any("pg_stat_statements" in n for n in self.notes), self.notes)
        else:
            top = server["top_statements"]
            self.assertLessEqual(len(top), 10)
            self.assertFalse(any("stormdb-observer" in (s.get("query") or "") for s in top), top)

    def classified(self, result, expected):
        a = result["bottleneck_analysis"]
        self.notes = a.get("notes", [])
        detail = json.dumps({"analysis": a, "server": result["bands"][-1]["server"]}, indent=1)[:6000]
        self.assertEqual(a["primary_bottleneck"], expected, detail)
        self.assertGreater(a["confidence"], 0, detail)
        self.assertLessEqual(a["confidence"], 1)
        self.assertEqual(result["bands"][-1]["bottleneck_type"], expected, detail)
        self.assertTrue(a["recommendations"], detail)
        self.assertTrue(all(r["suggestion"] for r in a["recommendations"]))
        self.assertEqual(a["recommendations"][0]["type"], expected)
        # what observation wrote is always a real figure (a study's v0.2
        # fields elsewhere may be null by design, e.g. the first band's gain)
        for path, value in walk({"bottleneck_analysis": a, "servers": [b["server"] for b in result["bands"]]}):
            self.assertIsNotNone(value, path)
        return a

    def test_lock_contention(self):
        result = self.observed_run(HOT_ROW, 8)
        a = self.classified(result, "lock_contention")
        band = result["bands"][0]
        self.check_band(band, 8, 8)
        top = band["server"]["activity"]["top_wait_events"]
        self.assertTrue(top[0]["event"].startswith("Lock:"), top)
        self.assertTrue(any("Lock:transactionid" in r or "Lock:tuple" in r for r in a["reasons"]), a["reasons"])
        self.assertEqual(a["recommendations"][0]["action"], "reduce_lock_contention")
        self.assertGreater(a["utilization_metrics"]["lock_share"], 0.5)
        if "top_statements" in band["server"]:
            self.assertIn("UPDATE obs_hot", band["server"]["top_statements"][0]["query"])

    def test_connection_pool(self):
        result = self.observed_run(POINT_SELECT, 64, connections=2)
        a = self.classified(result, "connection_pool")
        self.check_band(result["bands"][0], 64, 2)
        rec = a["recommendations"][0]
        self.assertEqual(rec["action"], "raise_connections")
        self.assertIn("at 64 workers / 2 connections: raise connections to about", rec["suggestion"])
        self.assertGreater(a["utilization_metrics"]["pool_wait_share"], 0.8)

    def test_cpu(self):
        workers = max(4, 2 * (os.cpu_count() or 1))
        result = self.observed_run(POINT_SELECT, workers)
        a = self.classified(result, "cpu_bound")
        self.check_band(result["bands"][0], workers, workers)
        self.assertGreater(a["utilization_metrics"]["host_cpu_busy"], 0.7)
        self.assertEqual(a["recommendations"][0]["action"], "reduce_cpu")

    def test_study_and_notes(self):
        """Two bands as a study under a role that may not read
        pg_stat_bgwriter: the view is skipped with one note for the study,
        in the first band's notes only, and everything else is observed."""
        psql("DROP ROLE IF EXISTS obs_limited; CREATE ROLE obs_limited LOGIN;"
             "GRANT SELECT ON obs_kv TO obs_limited; REVOKE SELECT ON pg_catalog.pg_stat_bgwriter FROM PUBLIC")
        try:
            result = self.observed_run(POINT_SELECT, 2, duration="1s", bands=[(2, 2), (4, 4)],
                                       conninfo=dsn() + " user=obs_limited")
        finally:
            psql("GRANT SELECT ON pg_catalog.pg_stat_bgwriter TO PUBLIC; DROP OWNED BY obs_limited;"
                 "DROP ROLE obs_limited")
        a = result["bottleneck_analysis"]
        notes = [n for n in a["notes"] if "pg_stat_bgwriter" in n]
        self.assertEqual(len(notes), 1, a["notes"])
        self.assertIn("permission denied", notes[0])
        first, second = result["bands"]
        self.assertIn(notes[0], first["server"]["notes"])
        self.assertNotIn(notes[0], second["server"].get("notes", []))
        for band in (first, second):
            self.assertNotIn("bgwriter", band["server"])
            self.assertGreater(band["server"]["database"]["xact_commit"], 0)
            self.assertIn(band["bottleneck_type"], TYPES)
        self.assertEqual([b["band"] for b in a["per_band"]], [1, 2])
        self.assertEqual(a["bands"], [2])   # no analysis given: the band with the most workers
        self.assertIn(a["primary_bottleneck"], TYPES)
        self.assertEqual(result["server_settings"]["workload_application_name"], "stormdb")
        self.assertIn("shared_buffers_bytes", result["server_settings"])
        # what observation wrote is always a real figure (a study's v0.2
        # fields elsewhere may be null by design, e.g. the first band's gain)
        for path, value in walk({"bottleneck_analysis": a, "servers": [b["server"] for b in result["bands"]]}):
            self.assertIsNotNone(value, path)


if __name__ == "__main__":
    main()
