"""SIGINT and SIGTERM at points of a study run on stormdb's own throwaway
server (no --dsn): while the server is being created, during the workload's
setup, in a band's warmup, measure and cooldown, and once the last band is
in (analysis and exports). Whatever the point, stormdb exits within 2 s with
128 + the signal, the bands that finished are exported (and only a last,
interrupted one besides), and neither the throwaway server nor its temporary
directory is left behind.

The points are fixed (phase markers in stormdb's output); where in each
phase, and which signal, is drawn from a seeded random generator: the seed
is printed, and STORMDB_FAULT_SEED=N repeats a run."""
import os
import random
import shutil
import signal
import tempfile
import time

from harness import StormdbTest, main
from test_faults_server import Running, exports

SEED = int(os.environ.get("STORMDB_FAULT_SEED") or random.SystemRandom().randrange(1, 2**31))
print(f"test_faults_signals: seed {SEED} (STORMDB_FAULT_SEED={SEED} repeats it)", flush=True)

# setup takes a moment (pg_sleep), so a signal can land inside it
WORKLOAD = """return {
  setup = function(ctx) ctx.db:exec("SELECT pg_sleep(1.5)") end,
  run = function(w) w.db:exec("SELECT 1") end,
}
"""


def server_processes(directory):
    """postgres processes whose command line or socket lives under directory."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if directory in cmd and ("postgres" in cmd or "initdb" in cmd):
            found.append(f"{pid}: {cmd}")
    return found


class SignalsAtPhases(StormdbTest):
    rng = random.Random(SEED)

    def study(self, phase):
        sig = self.rng.choice([signal.SIGINT, signal.SIGTERM])
        jitter = self.rng.uniform(0.0, 1.0)
        # short: stormdb ignores a TMPDIR too long for a Unix socket path
        tmpdir = tempfile.mkdtemp(prefix="sdbsig-", dir="/tmp")
        self.addCleanup(shutil.rmtree, tmpdir, True)
        os.chmod(tmpdir, 0o777)  # the server account creates its directory there
        script = self.script("w.lua", WORKLOAD)
        export = os.path.join(self.tmp, "results")
        env = {"TMPDIR": tmpdir, "STORMDB_LOG_LEVEL": "info"}
        r = Running(["run", script, "--progressive", "--strategy", "linear", "--min-workers", "1",
                     "--max-workers", "3", "--bands", "3", "--duration", "2s", "--warmup", "1s", "--cooldown", "1s",
                     "--export-path", export, "--progress", "0.25s", "--enable-analysis=true"],
                    env=env, unset=("PGHOST", "PGDATABASE", "PGSERVICE"))
        return r, sig, jitter, tmpdir, export

    def run_phase(self, phase):
        r, sig, jitter, tmpdir, export = self.study(phase)
        if phase == "server":
            r.wait_for(r"starting a throwaway PostgreSQL")
            time.sleep(jitter * 0.8)
        elif phase == "setup":
            r.wait_for(r"setup of workload")
            time.sleep(jitter * 1.2)
        elif phase == "warmup":
            r.wait_for_progress(2, "warmup", 0.0)
            time.sleep(jitter * 0.5)
        elif phase == "measure":
            r.wait_for_progress(2, "measure", 1.0 + jitter * 1.5)
        elif phase == "cooldown":
            r.wait_for_progress(2, "measure", 2.7)  # the last tick of the measure phase; cooldown follows
            time.sleep(0.3 + jitter * 0.5)
        elif phase == "analysis":
            deadline = time.time() + 60
            while time.time() < deadline and len(exports(export)[0]) < 3 and r.proc.poll() is None:
                time.sleep(0.01)
        self.assertIsNone(r.proc.poll(), f"still running at the {phase} point\n{''.join(r.err)}")
        sent = r.signal(sig)
        status, stdout, stderr = r.finish(timeout=60)
        where = f"phase {phase}, {signal.Signals(sig).name}, seed {SEED}\nstdout:\n{stdout}\nstderr:\n{stderr}"
        if phase == "analysis" and status == 0:
            # the study ended before the signal landed: nothing to interrupt
            pass
        else:
            self.assertLess(r.ended - sent, 2.0, f"exit within 2 s: {where}")
            self.assertEqual(status, 128 + sig, where)
        rows, doc = exports(export)
        statuses = [row["status"] for row in rows]
        if statuses:
            self.assertTrue(all(s == "complete" for s in statuses[:-1]), where)
            self.assertIn(statuses[-1], ("complete", "interrupted"), where)
            self.assertEqual([b["status"] for b in doc["bands"]], statuses, where)
            self.assertIn(doc["metadata"]["status"], ("interrupted", "complete"), where)
        if phase in ("warmup", "measure", "cooldown"):
            self.assertEqual(statuses[0], "complete", where)
            self.assertEqual(len(statuses), 2, where)
        if phase in ("server", "setup"):
            self.assertEqual(statuses, [], where)
        # nothing left behind by the throwaway mode
        deadline = time.time() + 5
        while time.time() < deadline and (os.listdir(tmpdir) or server_processes(tmpdir)):
            time.sleep(0.1)
        self.assertIn(f"starting a throwaway PostgreSQL in {tmpdir}/stormdb-", stderr, "the server is in TMPDIR")
        self.assertEqual(os.listdir(tmpdir), [], f"temporary directory left behind: {where}")
        self.assertEqual(server_processes(tmpdir), [], f"server left running: {where}")

    def test_1_signal_while_creating_the_server(self):
        self.run_phase("server")

    def test_2_signal_during_setup(self):
        self.run_phase("setup")

    def test_3_signal_during_warmup(self):
        self.run_phase("warmup")

    def test_4_signal_during_measure(self):
        self.run_phase("measure")

    def test_5_signal_during_cooldown(self):
        self.run_phase("cooldown")

    def test_6_signal_after_last_band(self):
        self.run_phase("analysis")


if __name__ == "__main__":
    main()
