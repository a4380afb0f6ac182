"""Faults in the workload's Lua: an error in init (the band fails with the
script's file:line; a study records it and goes on), an error in a
transaction (reported once with file:line, counted, exit 3), an endless loop
in setup or init (Ctrl-C or SIGTERM stops it within 2 s, naming the file and
line where it was), an endless loop in a transaction (the band fails naming
the transaction; Ctrl-C still exits within 2 s), and a transaction longer
than --tx-timeout (cancelled with PQcancel, counted as SQLSTATE 57014)."""
import json
import os
import signal
import subprocess
import time

from harness import STORMDB, main
from test_faults_server import LOOP, FaultTest, Running, exports

SETUP_LOOP = """return {
  setup = function(ctx)
    local n = 0
    while true do n = n + 1 end
  end,
  run = function(w) w.db:exec("SELECT 1") end,
}
"""

INIT_LOOP = """return {
  init = function(w)
    local n = 0
    while true do n = n + 1 end
  end,
  run = function(w) w.db:exec("SELECT 1") end,
}
"""

# A thread stuck in compiled Lua is abandoned, its Lua state never closed on
# purpose; LeakSanitizer cannot see into LuaJIT's own arena, so what C
# libraries (cjson) allocated for that state looks leaked at exit.
ABANDONS_A_THREAD = {"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0"}  # the last one wins

TX_LOOP = """return {
  transactions = {
    { name = "ok", weight = 1, run = function(w) w.db:exec("SELECT 1") end },
    { name = "spin", weight = 1, run = function(w)
        if w.id ~= 1 then return w.db:exec("SELECT 1") end
        local n = 0
        while true do n = n + 1 end
      end },
  },
}
"""


class LuaFaults(FaultTest):
    one_server = True

    def stormdb_run(self, *args, timeout=120, env=None):
        full_env = dict(os.environ)
        full_env.update(env or {})
        return subprocess.run([STORMDB, *args], capture_output=True, text=True, timeout=timeout, env=full_env)

    def test_init_error_fails_band_in_study_with_file_line(self):
        script = self.script("init.lua", """return {
  init = function(w)
    if w.id == 3 then error("no fixtures for worker " .. w.id) end
  end,
  run = function(w) w.db:exec("SELECT 1") end,
}
""")
        p = self.stormdb_run(*self.study(script, bands=2, duration="1s"))
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("init.lua:3: no fixtures for worker 3", p.stdout + p.stderr)
        rows, doc = exports(os.path.join(self.tmp, "results"))
        self.assertEqual([r["status"] for r in rows], ["complete", "failed"])
        self.assertIn("init.lua:3: no fixtures for worker 3", doc["bands"][1]["error"])

    def test_transaction_error_reported_once_exit_3(self):
        script = self.script("bug.lua", """return {
  transactions = {
    { name = "ok", weight = 3, run = function(w) w.db:exec("SELECT 1") end },
    { name = "bug", weight = 1, run = function(w) local t = nil; return t.field end },
  },
}
""")
        p = self.stormdb_run(*self.study(script, bands=2, duration="1s"))
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertEqual(p.stderr.count("bug.lua:4: attempt to index local 't' (a nil value)"), 2,
                         "reported once per band")
        rows, doc = exports(os.path.join(self.tmp, "results"))
        self.assertEqual([r["status"] for r in rows], ["complete", "complete"])
        self.assertGreater(doc["bands"][0]["errors_by_sqlstate"]["LUA"], 0)

    def interrupt_endless(self, text, args, marker, sig, where, stream="err"):
        script = self.script("endless.lua", text)
        r = Running(["run", script, "--dsn", self.server.conninfo, *args])
        r.wait_for(marker, where=stream)
        time.sleep(1.0)  # well inside the loop
        self.assertIsNone(r.proc.poll())
        sent = r.signal(sig)
        status, stdout, stderr = r.finish(timeout=30)
        self.assertLess(r.ended - sent, 2.0, f"exit within 2 s of the signal\n{stderr}")
        self.assertEqual(status, 128 + sig, stderr)
        self.assertIn(where, stderr)
        return stdout, stderr

    def test_setup_endless_loop_ctrl_c(self):
        _, stderr = self.interrupt_endless(SETUP_LOOP, ["--setup"], r"setup of workload", signal.SIGINT,
                                           "endless.lua:4: interrupted")
        self.assertIn("setup failed", stderr)

    def test_setup_endless_loop_sigterm(self):
        self.interrupt_endless(SETUP_LOOP, ["--setup"], r"setup of workload", signal.SIGTERM,
                               "endless.lua:4: interrupted")

    def test_init_endless_loop_ctrl_c(self):
        self.interrupt_endless(INIT_LOOP, ["--workers", "2", "--progress", "0"], r"workload endless", signal.SIGINT,
                               "endless.lua:4: stopped", stream="out")

    def test_transaction_endless_loop_fails_band(self):
        script = self.script("endless.lua", TX_LOOP)
        started = time.time()
        p = self.stormdb_run("run", script, "--dsn", self.server.conninfo, "--workers", "4", "--duration", "1s",
                             "--progress", "0", timeout=60, env=ABANDONS_A_THREAD)
        # measure 1 s, then the drain (5 s) and the watchdog's 1 s
        self.assertLess(time.time() - started, 15)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("(worker 1 in transaction 'spin') of workload", p.stderr)
        self.assertIn("kept running Lua without yielding", p.stderr)

    def test_transaction_endless_loop_ctrl_c(self):
        script = self.script("endless.lua", TX_LOOP)
        out = os.path.join(self.tmp, "r.json")
        r = Running(["run", script, "--dsn", self.server.conninfo, "--workers", "4", "--duration", "30s",
                     "--progress", "0.25s", "--json", out], env=ABANDONS_A_THREAD)
        r.wait_for_progress(None, "measure", 1.0)
        sent = r.signal(signal.SIGINT)
        status, stdout, stderr = r.finish(timeout=30)
        self.assertLess(r.ended - sent, 2.0, f"exit within 2 s of Ctrl-C\n{stderr}")
        self.assertEqual(status, 130, stderr)
        self.assertIn("(worker 1 in transaction 'spin') still running Lua after the interrupt", stderr)
        with open(out) as f:
            band = json.load(f)["bands"][0]
        self.assertEqual(band["status"], "interrupted")
        self.assertGreater(band["performance"]["transactions"], 0, "the other threads' figures are kept")

    def test_tx_timeout_cancels_and_counts(self):
        script = self.script("slow.lua", """return {
  transactions = {
    { name = "fast", weight = 1, run = function(w) w.db:exec("SELECT 1") end },
    { name = "slow", weight = 1, run = function(w) w.db:exec("SELECT pg_sleep(30)") end },
  },
}
""")
        out = os.path.join(self.tmp, "r.json")
        started = time.time()
        p = self.stormdb_run("run", script, "--dsn", self.server.conninfo, "--workers", "2", "--duration", "2s",
                             "--tx-timeout", "200ms", "--progress", "0", "--json", out)
        self.assertLess(time.time() - started, 20, "no transaction ran its 30 s")
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(out) as f:
            band = json.load(f)["bands"][0]
        cancelled = band["transactions"]["slow"]["errors_by_sqlstate"].get("57014", 0)
        self.assertGreaterEqual(cancelled, 3, band["transactions"]["slow"])
        self.assertEqual(band["transactions"]["slow"]["transactions"], 0)
        self.assertGreater(band["transactions"]["fast"]["transactions"], 0)
        self.assertIn("57014", p.stdout)
        # the cancelled statements are gone from the server
        self.assertEqual(self.server.psql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE "
                                          "'SELECT pg_sleep(30)%' AND state = 'active'"), "0")


if __name__ == "__main__":
    main()
