"""What a user sees when things go wrong in `stormdb run`: a Lua error in a
transaction (reported once with file:line, counted, exit 3), a SQL error
(counted by SQLSTATE and transaction, exit 0), an error in init (the band
cannot run: exit 1 with file:line), bad options (exit 2), and Ctrl-C
(exit 130 within 2 s, summary and JSON of what was measured)."""
import os
import signal
import subprocess
import time

from harness import STORMDB, StormdbTest, dsn, main


class RunErrors(StormdbTest):
    def test_lua_error_in_transaction(self):
        script = self.script("bug.lua", """
return {
  transactions = {
    { name = "ok", weight = 3, run = function(w) w.db:exec("SELECT 1") end },
    { name = "bug", weight = 1, run = function(w)
        local t = nil
        return t.field
      end },
  },
}
""")
        p, result = self.run_json("run", script, "--workers", "4", "--duration", "1s", "--progress", "0")
        self.assertExit(p, 3)
        self.assertIn("bug.lua:7: attempt to index local 't' (a nil value)", p.stderr)
        self.assertIn("stack traceback", p.stderr)
        self.assertEqual(p.stderr.count("attempt to index local 't'"), 1, "reported once")
        band = result["bands"][0]
        self.assertGreater(band["errors_by_sqlstate"]["LUA"], 10)
        self.assertEqual(band["transactions"]["bug"]["errors"], band["errors_by_sqlstate"]["LUA"])
        self.assertEqual(band["transactions"]["bug"]["transactions"], 0)
        self.assertGreater(band["transactions"]["ok"]["transactions"], 0)

    def test_sql_error(self):
        script = self.script("div.lua", """
return {
  transactions = {
    { name = "ok", weight = 1, run = function(w) w.db:exec("SELECT 1") end },
    { name = "div", weight = 1, run = function(w) w.db:exec("SELECT 1 / 0") end },
  },
}
""")
        p, result = self.run_json("run", script, "--workers", "2", "--duration", "1s", "--progress", "0")
        self.assertExit(p, 0)
        band = result["bands"][0]
        self.assertEqual(set(band["errors_by_sqlstate"]), {"22012"})
        self.assertEqual(band["transactions"]["div"]["errors_by_sqlstate"], {"22012": band["performance"]["errors"]})
        self.assertIn("SQLSTATE 22012", p.stdout)

    def test_sql_error_object_seen_by_script(self):
        script = self.script("catch.lua", """
return {
  run = function(w)
    local ok, err = pcall(w.db.exec, w.db, "SELECT * FROM no_such_table")
    assert(not ok and err.sqlstate == "42P01", "expected 42P01")
    assert(err.message:find("no_such_table"), err.message)
    assert(tostring(err):find("SQLSTATE 42P01"), tostring(err))
  end,
}
""")
        p, result = self.run_json("run", script, "--duration", "1s", "--progress", "0")
        self.assertExit(p, 0)
        self.assertEqual(result["bands"][0]["performance"]["errors"], 0)

    def test_error_in_init(self):
        script = self.script("init.lua", """
return {
  init = function(w)
    if w.id == 2 then error("no fixtures for worker " .. w.id) end
  end,
  run = function(w) w.db:exec("SELECT 1") end,
}
""")
        p = self.stormdb("run", script, "--workers", "3", "--duration", "1s")
        self.assertExit(p, 1)
        self.assertIn("init.lua:4: no fixtures for worker 2", p.stderr)

    def test_syntax_error(self):
        script = self.script("syntax.lua", "return { run = function(w) w.db:exec( end }\n")
        p = self.stormdb("run", script)
        self.assertExit(p, 2)
        self.assertIn("syntax.lua:1:", p.stderr)

    def test_bad_options(self):
        script = self.script("opts.lua", """
return {
  options = { rows = { default = 10, min = 1, help = "rows to touch" } },
  run = function(w) end,
}
""")
        for args, message in [
            (["--workers", "0"], "--workers 0: expected a whole number from 1 to"),
            (["--duration", "-5s"], "--duration -5s:"),
            (["--duration", "5 parsecs"], "--duration 5 parsecs:"),
            (["--rows=0"], "--rows=0: expected a value from 1 to inf"),
            (["--rows=many"], "--rows=many: expected a whole number"),
            (["--colums=3"], "unknown option --colums for workload opts (its options: --rows)"),
        ]:
            p = self.stormdb("run", script, *args)
            self.assertExit(p, 2)
            self.assertIn(message, p.stderr, args)

    def test_script_help(self):
        script = self.script("helpme.lua", """
return {
  description = "a workload with an option",
  options = { read_ratio = { default = 90, help = "percent of reads" } },
  run = function(w) end,
}
""")
        p = self.stormdb("run", script, "--help", with_dsn=False)
        self.assertExit(p, 0)
        self.assertIn("a workload with an option", p.stdout)
        self.assertIn("--read-ratio", p.stdout)
        self.assertIn("percent of reads (default 90)", p.stdout)

    def test_ctrl_c(self):
        script = self.script("loop.lua", 'return { run = function(w) w.db:exec("SELECT 1") end }')
        out = os.path.join(self.tmp, "r.json")
        proc = subprocess.Popen([STORMDB, "run", script, "--dsn", dsn(), "--workers", "4", "--duration", "60s",
                                 "--json", out], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(3)
        proc.send_signal(signal.SIGINT)
        sent = time.time()
        stdout, stderr = proc.communicate(timeout=30)
        self.assertLess(time.time() - sent, 2.0, "exit within 2 s of Ctrl-C")
        self.assertEqual(proc.returncode, 130, stderr)
        self.assertIn("INTERRUPTED", stdout)
        import json
        with open(out) as f:
            band = json.load(f)["bands"][0]
        self.assertEqual(band["status"], "interrupted")
        self.assertGreater(band["duration_seconds"], 1.0)
        self.assertLess(band["duration_seconds"], 10.0)
        self.assertGreater(band["performance"]["transactions"], 0)


if __name__ == "__main__":
    main()
