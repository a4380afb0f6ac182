"""Shared helpers for the integration tests.

Every test runs the real stormdb binary against the throwaway PostgreSQL that
ctest's fixture started (`stormdb server start`), and checks what a user
would see: exit status, messages, the JSON result, and the server's own
counters read with psql.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

STORMDB = os.environ.get("STORMDB", "stormdb")
SOURCE = os.environ.get("STORMDB_SOURCE", os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
SERVER_DIR = os.environ.get("STORMDB_TEST_SERVER")
TMP_ROOT = os.environ.get("STORMDB_TEST_TMP", tempfile.gettempdir())


def dsn():
    with open(os.path.join(SERVER_DIR, "conninfo")) as f:
        return f.read().strip()


def psql(sql, *, db=None):
    """Runs sql with psql; returns stdout stripped (rows |-separated)."""
    out = subprocess.run(["psql", db or dsn(), "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise AssertionError(f"psql failed: {out.stderr}")
    return out.stdout.strip()


def wait_for_backends_gone(application_name="stormdb", timeout=10.0):
    """Waits until no session of the application is left, so the server has
    flushed their statistics (a backend flushes its counters as it exits)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        n = psql(f"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{application_name}'")
        if n == "0":
            return
        time.sleep(0.1)
    raise AssertionError("stormdb's sessions did not go away")


def xact_commit():
    wait_for_backends_gone()
    return int(psql("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"))


class StormdbTest(unittest.TestCase):
    """Base class: a private temporary directory and helpers to run stormdb."""

    def setUp(self):
        os.makedirs(TMP_ROOT, exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix=self.id().split(".")[-1] + "-", dir=TMP_ROOT)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def script(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def stormdb(self, *args, timeout=300, with_dsn=True, env=None):
        """Runs stormdb; returns the CompletedProcess (text stdout/stderr)."""
        cmd = [STORMDB, *args]
        if with_dsn:
            cmd += ["--dsn", dsn()]
        full_env = dict(os.environ)
        full_env.update(env or {})
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=full_env)

    def run_json(self, *args, **kw):
        """Runs stormdb with --json and returns (process, parsed result)."""
        path = os.path.join(self.tmp, "result.json")
        p = self.stormdb(*args, "--json", path, **kw)
        result = None
        if os.path.exists(path):
            with open(path) as f:
                result = json.load(f)
        return p, result

    def assertExit(self, p, status):
        self.assertEqual(p.returncode, status,
                         f"exit status {p.returncode}, expected {status}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")


def main():
    unittest.main(verbosity=2)
