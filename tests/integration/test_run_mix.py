"""stormdb run: a two-transaction weighted mix at 1, 8 and 64 workers on 4
connections. Zero errors; TPS agrees with the server's own commit counter
within 1%; per-name counts follow the weights; pool wait appears exactly when
workers outnumber connections."""
import math

from harness import StormdbTest, main, psql, xact_commit

MIX = """
local db = require "stormdb.db"
local get = db.prepare("SELECT v FROM mix_kv WHERE k = $1")
return {
  name = "mix",
  transactions = {
    { name = "read", weight = 3, run = function(w) w.db:exec(get, w.rand:uniform(1, 1000)) end },
    { name = "write", weight = 1,
      run = function(w) w.db:exec("UPDATE mix_kv SET v = v + 1 WHERE k = $1", w.rand:uniform(1, 1000)) end },
  },
}
"""


class RunMix(StormdbTest):
    @classmethod
    def setUpClass(cls):
        psql("DROP TABLE IF EXISTS mix_kv; CREATE TABLE mix_kv (k int PRIMARY KEY, v bigint NOT NULL);"
             "INSERT INTO mix_kv SELECT g, 0 FROM generate_series(1, 1000) g")

    @classmethod
    def tearDownClass(cls):
        psql("DROP TABLE mix_kv")

    def check_band(self, workers):
        script = self.script("mix.lua", MIX)
        before = xact_commit()
        p, result = self.run_json("run", script, "--workers", str(workers), "--connections", "4",
                                  "--duration", "3s", "--progress", "0")
        after = xact_commit()
        self.assertExit(p, 0)
        band = result["bands"][0]
        perf = band["performance"]
        self.assertEqual(band["workers"], workers)
        self.assertEqual(band["connections"], 4)
        self.assertEqual(perf["errors"], 0)
        self.assertEqual(band["errors_by_sqlstate"], {})

        # The server counted every commit, including the few transactions
        # still in flight when the measure phase ended and stormdb's own
        # SHOW server_version: well under 1% of a few seconds of load.
        server = after - before
        ours = perf["transactions"]
        self.assertGreater(ours, 1000)
        self.assertLess(abs(server - ours) / server, 0.01, f"server counted {server}, stormdb {ours}")
        self.assertAlmostEqual(perf["tps"], ours / band["duration_seconds"], delta=perf["tps"] * 1e-9)

        reads = band["transactions"]["read"]["transactions"]
        writes = band["transactions"]["write"]["transactions"]
        self.assertEqual(reads + writes, ours)
        # 3:1 weights: the read share is 0.75 within 5 binomial standard deviations.
        share = reads / ours
        sd = math.sqrt(0.75 * 0.25 / ours)
        self.assertLess(abs(share - 0.75), 5 * sd + 0.002, f"read share {share}")
        return perf

    def test_1_worker(self):
        perf = self.check_band(1)
        self.assertEqual(perf["pool_wait_p95_ms"], 0)

    def test_8_workers(self):
        perf = self.check_band(8)
        self.assertGreater(perf["pool_wait_avg_ms"], 0)

    def test_64_workers(self):
        perf = self.check_band(64)
        self.assertGreater(perf["pool_wait_p95_ms"], 0)


if __name__ == "__main__":
    main()
