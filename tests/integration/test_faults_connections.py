"""A server with fewer connections than a band needs (max_connections 20 on a
server of the test's own): a study stops with a clear error and exit status
2 before its first band, never a half-run band; a single run never starts
its band either (its message and status: see the test and
docs/reliability.md)."""
import json
import os
import subprocess

from harness import STORMDB, main
from test_faults_server import LOOP, FaultTest, exports


class TooFewConnections(FaultTest):
    max_connections = 20
    one_server = True

    def test_study_needs_more_than_max_connections(self):
        script = self.script("loop.lua", LOOP)
        # bands of 2, 4 and 6 workers fit; ask for one that does not
        p = subprocess.run([STORMDB, "run", script, "--dsn", self.server.conninfo, "--progressive",
                            "--min-workers", "5", "--max-workers", "30", "--bands", "3", "--duration", "1s",
                            "--warmup", "0", "--cooldown", "0", "--export-path", os.path.join(self.tmp, "res")],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("band 3 needs 30 connections but the server allows 20 (SHOW max_connections: 20)", p.stderr)
        self.assertIn("lower the connections or raise max_connections", p.stderr)
        self.assertNotIn("band 1/", p.stdout, "no band ran")
        rows, doc = exports(os.path.join(self.tmp, "res"))
        self.assertEqual(rows, [])
        self.assertIsNone(doc)

    def test_study_connections_range_names_the_key(self):
        script = self.script("loop.lua", LOOP)
        cfg = self.script("study.yaml", f"""workload: {script}
database: "{self.server.conninfo}"
progressive:
  enabled: true
  min_workers: 2
  max_workers: 4
  min_connections: 2
  max_connections: 25
  bands: 2
  band_duration: 1s
  warmup_time: 0s
  cooldown_time: 0s
  export_path: {os.path.join(self.tmp, "res")}
""")
        p = subprocess.run([STORMDB, "--config", cfg], capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertRegex(p.stderr, r"study\.yaml:\d+: progressive\.max_connections: band 2 needs 25 connections")
        self.assertEqual(exports(os.path.join(self.tmp, "res"))[0], [])

    def test_single_run_needs_more_than_max_connections(self):
        """The band never starts: before connecting its workers stormdb
        compares them with SHOW max_connections, says so, and exits 2."""
        script = self.script("loop.lua", LOOP)
        out = os.path.join(self.tmp, "r.json")
        p = subprocess.run([STORMDB, "run", script, "--dsn", self.server.conninfo, "--workers", "30",
                            "--duration", "2s", "--progress", "0", "--json", out], capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("--workers: band 1 needs 30 connections but the server allows 20", p.stderr)
        self.assertNotIn("transactions:", p.stdout, "no half-run band")
        if os.path.exists(out):
            with open(out) as f:
                self.assertEqual(json.load(f).get("bands", []), [])
        # nothing left connected
        self.assertEqual(self.server.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                          "'stormdb'"), "0")


if __name__ == "__main__":
    main()
