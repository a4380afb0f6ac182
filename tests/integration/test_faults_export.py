"""Exports that cannot be written: an export path that is not a directory,
a --json file in a directory that does not exist, a disk that is full
before the first band, and one that fills up during a study. Each gives a
clear error naming the path; when it is known before the first band, no
band runs. (Disk-full cases mount a small tmpfs, so they need root; they
are skipped elsewhere.)"""
import os
import subprocess
import tempfile
import time

from harness import STORMDB, StormdbTest, dsn, main
from test_faults_server import LOOP, Running, exports


class SmallDisk:
    def __init__(self, size="256k"):
        self.path = tempfile.mkdtemp(prefix="sdbfull-", dir="/tmp")
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", self.path], capture_output=True,
                           text=True)
        self.ok = p.returncode == 0
        self.why = p.stderr.strip()

    def fill(self):
        """Writes until the file system is full."""
        fd = os.open(os.path.join(self.path, "filler"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            while os.write(fd, b"\0" * 4096) > 0:
                pass
        except OSError:
            pass
        finally:
            os.close(fd)

    def close(self):
        if self.ok:
            subprocess.run(["umount", "-l", self.path], capture_output=True)
        os.rmdir(self.path)


class ExportFaults(StormdbTest):
    def small_disk(self):
        disk = SmallDisk()
        self.addCleanup(disk.close)
        if not disk.ok:
            self.skipTest(f"cannot mount a tmpfs: {disk.why}")
        return disk

    def study(self, script, export, bands=3):
        return ["run", script, "--dsn", dsn(), "--progressive", "--min-workers", "1", "--max-workers", str(bands),
                "--bands", str(bands), "--duration", "1s", "--warmup", "0", "--cooldown", "0", "--export-path", export,
                "--progress", "0.25s"]

    def test_export_path_not_a_directory(self):
        script = self.script("loop.lua", LOOP)
        blocker = self.script("a-file", "not a directory\n")
        p = self.stormdb(*self.study(script, os.path.join(blocker, "results")), with_dsn=False)
        self.assertExit(p, 2)
        self.assertIn(f"export path {blocker}/results is not writable", p.stderr)
        self.assertIn("Not a directory", p.stderr)
        self.assertNotIn("band 1/", p.stdout)

    def test_json_in_missing_directory(self):
        script = self.script("loop.lua", LOOP)
        path = os.path.join(self.tmp, "no", "such", "dir", "r.json")
        p = self.stormdb("run", script, "--duration", "1s", "--progress", "0", "--json", path)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(path, p.stderr)
        self.assertIn("No such file or directory", p.stderr)
        self.assertNotIn("transactions:", p.stdout, "no band ran")

    def test_disk_full_before_first_band(self):
        disk = self.small_disk()
        disk.fill()
        script = self.script("loop.lua", LOOP)
        export = os.path.join(disk.path, "results")
        p = self.stormdb(*self.study(script, export), with_dsn=False)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertIn(export, p.stderr)
        self.assertIn("No space left on device", p.stderr)
        self.assertNotIn("band 1/", p.stdout, "no band ran")

    def fill_during_study(self):
        disk = self.small_disk()
        script = self.script("loop.lua", LOOP)
        export = os.path.join(disk.path, "results")
        r = Running(self.study(script, export))
        deadline = time.time() + 60
        while time.time() < deadline and len(exports(export)[0]) < 1 and r.proc.poll() is None:
            time.sleep(0.01)
        disk.fill()
        status, stdout, stderr = r.finish()
        return export, status, stdout, stderr

    def test_disk_full_during_study(self):
        export, status, stdout, stderr = self.fill_during_study()
        self.assertEqual(status, 1, f"{stdout}\n{stderr}")
        self.assertIn(f"cannot write {export}/progressive_scaling_results_", stderr)
        self.assertIn("No space left on device", stderr)
        rows, _ = exports(export)
        self.assertGreaterEqual(len(rows), 1, "the band exported before the disk filled is still there")
        self.assertEqual(rows[0]["status"], "complete")

if __name__ == "__main__":
    main()
