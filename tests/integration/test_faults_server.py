"""Faults of the server under a running band, each on a throwaway server of
the test's own (so the shared fixture server is never disturbed):

- restarted (fast shutdown, then start) in the middle of a band: workers see
  errors, reconnect with backoff, the band completes with the errors and the
  reconnects counted, later bands run normally, the exports are complete;
- backends killed with pg_terminate_backend during a band: the same;
- stopped and not restarted: the band fails with a clear reason after the
  engine's 10 s, the study waits --max-unreachable and stops, finished bands
  are exported, exit status 1.

PrivateServer (below) is shared by the other test_faults_* files.
"""
import atexit
import csv
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time

from harness import STORMDB, StormdbTest, main


def _as_server_account(cmd):
    """initdb and postgres refuse root: as root the throwaway server runs as
    postgres (or nobody), and so must pg_ctl."""
    if os.geteuid() != 0:
        return cmd
    import pwd
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return ["su", name, "-s", "/bin/sh", "-c", " ".join(f"'{c}'" for c in cmd)]
    raise AssertionError("no account to run the server as")


class PrivateServer:
    """A throwaway PostgreSQL of one test (`stormdb server start DIR`), which
    the test may stop, start and restart at will."""

    def __init__(self, tmp, max_connections=None):
        os.chmod(tmp, 0o755)  # the server account must reach DIR/server
        self.state = os.path.join(tmp, "server")
        p = subprocess.run([STORMDB, "server", "start", self.state], capture_output=True, text=True, timeout=180)
        if p.returncode != 0:
            raise AssertionError(f"stormdb server start failed: {p.stderr}")
        with open(os.path.join(self.state, "server")) as f:
            _pid, self.dir, bindir = f.read().split("\n")[:3]
        with open(os.path.join(self.state, "conninfo")) as f:
            self.conninfo = f.read().strip()
        self.data = os.path.join(self.dir, "data")
        # the binaries may be symlinks (PATH): pg_ctl lives next to the real postgres
        self.bindir = os.path.dirname(os.path.realpath(os.path.join(bindir, "postgres")))
        self.running = True
        if max_connections:
            with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
                f.write(f"\nmax_connections = {max_connections}\n")
            self.restart()

    def postmaster_pid(self):
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            return int(f.readline())

    def stop(self):
        """Fast shutdown (SIGINT to the postmaster), waiting until it is gone."""
        pid = self.postmaster_pid()
        os.kill(pid, signal.SIGINT)
        deadline = time.time() + 30
        while time.time() < deadline and os.path.exists(f"/proc/{pid}"):
            time.sleep(0.02)
        self.running = False

    def start(self):
        log = os.path.join(self.dir, "server.log")
        cmd = _as_server_account([os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-l", log, "-w", "-s",
                                  "start"])
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd="/")
        if p.returncode != 0:
            raise AssertionError(f"pg_ctl start failed: {p.stdout}{p.stderr}")
        self.running = True

    def restart(self):
        self.stop()
        self.start()

    def psql(self, sql):
        out = subprocess.run(["psql", self.conninfo, "-X", "-A", "-t", "-q", "-c", sql], capture_output=True,
                             text=True, timeout=60)
        if out.returncode != 0:
            raise AssertionError(f"psql failed: {out.stderr}")
        return out.stdout.strip()

    def close(self):
        # `server stop` knows the first postmaster only: stop a restarted one first
        if self.running and os.path.exists(os.path.join(self.data, "postmaster.pid")):
            try:
                self.stop()
            except (OSError, ValueError):
                pass
        subprocess.run([STORMDB, "server", "stop", self.state], capture_output=True, timeout=120)


_RUNNING = []


@atexit.register
def _kill_leftovers():
    """A test that failed before its stormdb ended leaves nothing running."""
    for r in _RUNNING:
        if r.proc.poll() is None:
            try:
                os.killpg(r.proc.pid, signal.SIGKILL)
            except OSError:
                pass


class Running:
    """stormdb in the background, its stderr (progress lines) and stdout read
    as they come, so a test can act at a known point of a band."""

    def __init__(self, args, env=None, unset=()):
        full_env = dict(os.environ)
        full_env.update(env or {})
        for name in unset:
            full_env.pop(name, None)
        self.started = time.time()
        self.proc = subprocess.Popen([STORMDB, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=full_env, start_new_session=True)
        _RUNNING.append(self)
        self.err, self.out = [], []
        self._threads = [threading.Thread(target=lambda: self.err.extend(iter(self.proc.stderr.readline, "")),
                                          daemon=True),
                         threading.Thread(target=lambda: self.out.extend(iter(self.proc.stdout.readline, "")),
                                          daemon=True)]
        for t in self._threads:
            t.start()

    def wait_for(self, pattern, timeout=60, where="err"):
        """Waits until a line matches pattern (a regex, or a predicate on the
        match); returns the match."""
        rx = re.compile(pattern)
        deadline = time.time() + timeout
        while time.time() < deadline:
            for line in list(self.err if where == "err" else self.out):
                m = rx.search(line)
                if m:
                    return m
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"no line matching {pattern!r}\nstderr:\n{''.join(self.err)}\nstdout:\n"
                             f"{''.join(self.out)}")

    def wait_for_progress(self, band, phase, at_least, timeout=60):
        """Waits for a progress line '[band B/N phase  E/T]' (or '[phase E/T]'
        for one band) with elapsed E >= at_least."""
        head = rf"\[band {band}/\d+ {phase}\s+" if band else rf"\[{phase}\s+"
        rx = re.compile(head + r"([\d.]+)/")
        deadline = time.time() + timeout
        while time.time() < deadline:
            for line in list(self.err):
                m = rx.search(line)
                if m and float(m.group(1)) >= at_least:
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"no progress line for band {band} {phase} >= {at_least}\nstderr:\n"
                             f"{''.join(self.err)}")

    def signal(self, sig):
        self.proc.send_signal(sig)
        return time.time()

    def finish(self, timeout=120):
        self.proc.wait(timeout=timeout)
        for t in self._threads:
            t.join(timeout=5)
        self.proc.stdout.close()
        self.proc.stderr.close()
        self.ended = time.time()
        return self.proc.returncode, "".join(self.out), "".join(self.err)


def exports(directory):
    """(CSV rows, JSON document) of a study's exports in directory."""
    rows, doc = [], None
    files = glob.glob(os.path.join(directory, "progressive_scaling_results_*.csv"))
    if files:
        with open(files[0], newline="") as f:
            rows = list(csv.DictReader(f))
    files = glob.glob(os.path.join(directory, "progressive_scaling_results_*.json"))
    if files:
        with open(files[0]) as f:
            doc = json.load(f)
    return rows, doc


LOOP = 'return { run = function(w) w.db:exec("SELECT 1") end }'


class FaultTest(StormdbTest):
    """A private server per test, or per class when the class sets
    one_server (its tests leave the server as they found it)."""

    max_connections = None
    one_server = False

    @classmethod
    def setUpClass(cls):
        cls.class_server = None
        if cls.one_server:
            import tempfile
            from harness import TMP_ROOT
            os.makedirs(TMP_ROOT, exist_ok=True)
            cls.class_tmp = tempfile.mkdtemp(prefix=cls.__name__ + "-", dir=TMP_ROOT)
            cls.class_server = PrivateServer(cls.class_tmp, cls.max_connections)

    @classmethod
    def tearDownClass(cls):
        if cls.class_server:
            cls.class_server.close()
            shutil.rmtree(cls.class_tmp, ignore_errors=True)

    def setUp(self):
        super().setUp()
        self.server = self.class_server or PrivateServer(self.tmp, self.max_connections)

    def tearDown(self):
        if not self.class_server:
            self.server.close()
        super().tearDown()

    def study(self, script, *extra, bands=3, duration="3s", export="results"):
        return ["run", script, "--dsn", self.server.conninfo, "--progressive", "--strategy", "linear",
                "--min-workers", "2", "--max-workers", str(2 * bands), "--bands", str(bands), "--duration", duration,
                "--warmup", "0", "--cooldown", "0", "--export-path", os.path.join(self.tmp, export),
                "--progress", "0.25s", *extra]


class ServerFaults(FaultTest):
    def check_band_survived(self, band, expect_errors=True):
        perf = band["performance"]
        self.assertEqual(band["status"], "complete")
        self.assertGreaterEqual(perf["reconnects"], 1, "lost connections were re-established and counted")
        if expect_errors:
            self.assertGreaterEqual(perf["errors"], 1, "the workers saw the fault as errors")
            self.assertTrue(set(band["errors_by_sqlstate"]) <= {"57P01", "08006", "57P02", "57P03", "08003"},
                            band["errors_by_sqlstate"])
        self.assertGreater(perf["transactions"], 0)

    def check_later_band_normal(self, band):
        self.assertEqual(band["status"], "complete")
        self.assertEqual(band["performance"]["errors"], 0)
        self.assertEqual(band["performance"]["reconnects"], 0)
        self.assertGreater(band["performance"]["tps"], 0)

    def test_server_restart_mid_band_single_run(self):
        script = self.script("loop.lua", LOOP)
        out = os.path.join(self.tmp, "r.json")
        r = Running(["run", script, "--dsn", self.server.conninfo, "--workers", "4", "--duration", "6s",
                     "--progress", "0.25s", "--json", out])
        r.wait_for_progress(None, "measure", 1.5)
        self.server.restart()
        status, stdout, stderr = r.finish()
        self.assertEqual(status, 0, stderr)
        with open(out) as f:
            band = json.load(f)["bands"][0]
        self.check_band_survived(band)
        self.assertRegex(stdout, r"reconnects: [1-9]")
        # the load came back after the restart: a progress line late in the band has transactions
        late = [float(m.group(2)) for m in re.finditer(r"\[measure\s+([\d.]+)/\S+\] tps\s+([\d.]+)", stderr)
                if float(m.group(1)) >= 5.0]
        self.assertTrue(late and max(late) > 0, stderr)

    def test_server_restart_mid_band_study(self):
        script = self.script("loop.lua", LOOP)
        # 4 s of band 2 left for the restart (pg_ctl start -w takes 1 s or more)
        r = Running(self.study(script, duration="5s"))
        r.wait_for_progress(2, "measure", 1.0)
        self.server.restart()
        status, stdout, stderr = r.finish()
        self.assertEqual(status, 0, f"{stdout}\n{stderr}")
        rows, doc = exports(os.path.join(self.tmp, "results"))
        self.assertEqual([row["status"] for row in rows], ["complete"] * 3)
        self.assertEqual([b["status"] for b in doc["bands"]], ["complete"] * 3)
        self.assertEqual(doc["metadata"]["status"], "complete")
        self.check_band_survived(doc["bands"][1])
        self.check_later_band_normal(doc["bands"][2])
        self.assertIn("analysis", doc)

    def test_backends_terminated_mid_band_study(self):
        script = self.script("loop.lua", LOOP)
        r = Running(self.study(script))
        r.wait_for_progress(2, "measure", 1.0)
        killed = int(self.server.psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                      "WHERE application_name = 'stormdb' AND pid <> pg_backend_pid()"))
        self.assertGreaterEqual(killed, 4)
        status, stdout, stderr = r.finish()
        self.assertEqual(status, 0, f"{stdout}\n{stderr}")
        rows, doc = exports(os.path.join(self.tmp, "results"))
        self.assertEqual([row["status"] for row in rows], ["complete"] * 3)
        band = doc["bands"][1]
        self.check_band_survived(band)
        self.assertGreaterEqual(band["performance"]["reconnects"], 4, "every terminated backend was replaced")
        self.check_later_band_normal(doc["bands"][2])

    def test_server_stopped_for_good_study(self):
        script = self.script("loop.lua", LOOP)
        # bands longer than the engine's 10 s, so band 2 fails rather than ends
        r = Running(self.study(script, "--max-unreachable", "2s", bands=2, duration="12s"))
        r.wait_for_progress(2, "measure", 0.5)
        self.server.stop()
        stopped = time.time()
        status, stdout, stderr = r.finish()
        self.assertEqual(status, 1, f"{stdout}\n{stderr}")
        # the band fails after the engine's 10 s, the study waits 2 s more, then stops
        self.assertLess(r.ended - stopped, 20)
        self.assertIn("the server has been unreachable for 10 s", stdout + stderr)
        self.assertIn("the server stayed unreachable for 2s after band 2 failed", stdout)
        rows, doc = exports(os.path.join(self.tmp, "results"))
        self.assertEqual([(row["band"], row["status"]) for row in rows], [("1", "complete"), ("2", "failed")])
        self.assertEqual([b["status"] for b in doc["bands"]], ["complete", "failed"])
        self.assertIn("unreachable", doc["bands"][1]["error"])
        self.assertEqual(doc["metadata"]["status"], "failed")
        self.assertIn("unreachable", doc["metadata"]["stop_reason"])

    def test_server_stopped_for_good_single_run(self):
        script = self.script("loop.lua", LOOP)
        r = Running(["run", script, "--dsn", self.server.conninfo, "--workers", "2", "--duration", "30s",
                     "--progress", "0.25s"])
        r.wait_for_progress(None, "measure", 1.0)
        self.server.stop()
        stopped = time.time()
        status, stdout, stderr = r.finish()
        self.assertEqual(status, 1, f"{stdout}\n{stderr}")
        self.assertLess(r.ended - stopped, 15)
        self.assertIn("the server has been unreachable for 10 s", stderr)

    def test_server_gone_before_study(self):
        script = self.script("loop.lua", LOOP)
        self.server.stop()
        p = subprocess.run([STORMDB, *self.study(script)], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("cannot connect to the server", p.stderr)
        rows, doc = exports(os.path.join(self.tmp, "results"))
        self.assertEqual(rows, [])


if __name__ == "__main__":
    main()
