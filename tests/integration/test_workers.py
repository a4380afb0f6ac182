"""Workers: 10 000 of them on 50 connections run without error in little
memory; each has its own globals; and --seed repeats every worker's random
draws exactly."""
import os
import resource
import subprocess

from harness import STORMDB, StormdbTest, dsn, main, psql


class Workers(StormdbTest):
    def test_ten_thousand_workers_on_fifty_connections(self):
        script = self.script("many.lua", 'return { run = function(w) w.db:exec("SELECT 1") end }')
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        p, result = self.run_json("run", script, "--workers", "10000", "--connections", "50", "--duration", "10s",
                                  "--progress", "0")
        self.assertExit(p, 0)
        rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        perf = result["bands"][0]["performance"]
        print(f"10000 workers / 50 connections: {perf['tps']:.0f} tps, client max RSS {rss_kb / 1024:.0f} MB")
        self.assertEqual(perf["errors"], 0)
        self.assertGreater(perf["transactions"], 10000)
        self.assertGreater(perf["pool_wait_avg_ms"], 0)
        # the largest child so far is this one; a sanitizer build's shadow
        # memory says nothing about stormdb's own footprint
        if rss_kb > before and os.environ.get("STORMDB_SANITIZER", "none") == "none":
            self.assertLess(rss_kb, 300 * 1024)

    def test_globals_are_per_worker(self):
        script = self.script("globals.lua", """
shared_default = "set while loading"
return {
  run = function(w)
    assert(shared_default == "set while loading")
    if mine == nil then mine = w.id end
    w:sleep(0.001)                     -- other workers run meanwhile
    assert(mine == w.id, "worker " .. w.id .. " sees worker " .. tostring(mine) .. "'s global")
    w.db:exec("SELECT 1")
  end,
}
""")
        p, result = self.run_json("run", script, "--workers", "16", "--connections", "4", "--duration", "2s",
                                  "--progress", "0")
        self.assertExit(p, 0)
        self.assertEqual(result["bands"][0]["performance"]["errors"], 0)
        self.assertGreater(result["bands"][0]["performance"]["transactions"], 100)

    def test_seed_repeats_the_draws(self):
        psql("DROP TABLE IF EXISTS seed_draws; CREATE TABLE seed_draws (run int, worker int, seq int, v bigint, "
             "s text)")
        script = self.script("draws.lua", """
local db = require "stormdb.db"
local put = db.prepare("INSERT INTO seed_draws VALUES ($1, $2, $3, $4, $5)")
return {
  options = { run = { default = 1 } },
  init = function(w) w.seq = 0 end,
  run = function(w)
    w.seq = w.seq + 1
    w.db:exec(put, w.opt.run, w.id, w.seq, w.rand:uniform(1, 1000000000), w.rand:astring(5, 9))
  end,
}
""")
        for run in (1, 2):
            p = self.stormdb("run", script, f"--run={run}", "--seed", "42", "--workers", "3", "--duration", "1s",
                             "--progress", "0")
            self.assertExit(p, 0)
        differing = psql("SELECT count(*) FROM seed_draws a JOIN seed_draws b USING (worker, seq) "
                         "WHERE a.run = 1 AND b.run = 2 AND (a.v <> b.v OR a.s <> b.s)")
        common = int(psql("SELECT count(*) FROM seed_draws a JOIN seed_draws b USING (worker, seq) "
                          "WHERE a.run = 1 AND b.run = 2"))
        self.assertGreater(common, 100)
        self.assertEqual(differing, "0")
        # Different workers draw different streams.
        distinct = int(psql("SELECT count(DISTINCT v) FROM seed_draws WHERE run = 1 AND seq = 1"))
        self.assertEqual(distinct, 3)
        psql("DROP TABLE seed_draws")


if __name__ == "__main__":
    main()
