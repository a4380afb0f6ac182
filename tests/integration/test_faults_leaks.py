"""No leak and no memory error in a short study, nor on the paths that end
a run early (a failed band, a band stopped by Ctrl-C, bad input): under
valgrind's memcheck in the ordinary build, under LeakSanitizer (with ASan
and UBSan) in the -DSTORMDB_SANITIZE=ON build. Skipped under TSan, and
without valgrind."""
import os
import shutil
import signal
import subprocess
import time
import unittest

from harness import STORMDB, StormdbTest, dsn, main

SANITIZER = os.environ.get("STORMDB_SANITIZER", "none")
VALGRIND = shutil.which("valgrind")
LOOP = 'return { run = function(w) w.db:exec("SELECT 1") end }'


@unittest.skipIf(SANITIZER == "thread", "TSan build: no leak checking")
@unittest.skipIf(SANITIZER == "none" and not VALGRIND, "valgrind is not installed")
class Leaks(StormdbTest):
    def command(self, *args):
        if SANITIZER == "address":
            return [STORMDB, *args]
        # definite leaks and invalid accesses fail; LuaJIT's tricks with
        # uninitialised words are not errors
        return [VALGRIND, "-q", "--leak-check=full", "--errors-for-leak-kinds=definite",
                "--show-leak-kinds=definite", "--undef-value-errors=no", "--error-exitcode=99", STORMDB, *args]

    def env(self):
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = "detect_leaks=1:" + env.get("ASAN_OPTIONS", "")
        return env

    def check(self, p, status):
        stderr = p.stderr if isinstance(p.stderr, str) else p.stderr.decode(errors="replace")
        self.assertNotIn("LeakSanitizer", stderr)
        self.assertNotIn("AddressSanitizer", stderr)
        self.assertNotIn("definitely lost", stderr)
        self.assertNotIn("Invalid read", stderr)
        self.assertNotIn("Invalid write", stderr)
        self.assertEqual(p.returncode, status, stderr)

    def test_short_study_is_leak_free(self):
        script = self.script("loop.lua", LOOP)
        p = subprocess.run(self.command("run", script, "--dsn", dsn(), "--progressive", "--min-workers", "1",
                                        "--max-workers", "2", "--bands", "2", "--duration", "1s", "--warmup", "0",
                                        "--cooldown", "0", "--export-path", os.path.join(self.tmp, "res"),
                                        "--progress", "0"),
                           capture_output=True, text=True, timeout=300, env=self.env())
        self.check(p, 0)

    def test_failed_band_is_leak_free(self):
        script = self.script("init.lua", """return {
  init = function(w) if w.id == 2 then error("no fixtures") end end,
  run = function(w) w.db:exec("SELECT 1") end,
}""")
        p = subprocess.run(self.command("run", script, "--dsn", dsn(), "--workers", "2", "--duration", "1s"),
                           capture_output=True, text=True, timeout=300, env=self.env())
        self.check(p, 1)

    def test_interrupted_band_is_leak_free(self):
        script = self.script("loop.lua", LOOP)
        proc = subprocess.Popen(self.command("run", script, "--dsn", dsn(), "--workers", "2", "--duration", "60s",
                                             "--progress", "0"),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env())
        time.sleep(4 if SANITIZER == "none" else 2)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
        self.check(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr), 130)

    def test_bad_config_is_leak_free(self):
        cfg = self.script("bad.yaml", "workload: simple\nwokers: 4\nprogressive:\n  bands: 0\n")
        p = subprocess.run(self.command("--config", cfg), capture_output=True, text=True, timeout=300,
                           env=self.env())
        self.check(p, 2)


if __name__ == "__main__":
    main()
