"""Ctrl-C in band 3 of a 4-band study: stormdb exits 130 within 2 s of the
signal, and both exports hold bands 1 and 2 complete and band 3 as measured
so far, marked interrupted; the analysis still runs over what finished."""
import csv
import glob
import json
import os
import re
import signal
import subprocess
import threading
import time

from harness import STORMDB, StormdbTest, dsn, main


class ProgressiveInterrupt(StormdbTest):
    def test_ctrl_c_in_band_3(self):
        script = self.script("loop.lua", 'return { run = function(w) w.db:exec("SELECT 1") end }')
        out = os.path.join(self.tmp, "results")
        proc = subprocess.Popen([STORMDB, "run", script, "--dsn", dsn(), "--progressive", "--strategy", "linear",
                                 "--min-workers", "1", "--max-workers", "4", "--bands", "4", "--duration", "3s",
                                 "--warmup", "1s", "--cooldown", "0", "--export-path", out, "--progress", "0.25s"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # stderr carries the progress lines ("[band 3/4 measure   1.5/4s] ..."): read them as they come
        lines, output = [], []
        reader = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")), daemon=True)
        reader.start()
        # and stdout, so a full pipe never holds stormdb up
        writer = threading.Thread(target=lambda: output.append(proc.stdout.read()), daemon=True)
        writer.start()

        def rows():
            files = glob.glob(os.path.join(out, "progressive_scaling_results_*.csv"))
            if not files:
                return []
            with open(files[0], newline="") as f:
                return list(csv.DictReader(f))

        def in_band_3_measure():
            for line in list(lines):
                m = re.match(r"\[band 3/4 measure\s+([\d.]+)/", line)
                if m and float(m.group(1)) >= 1.5:  # warmup 1 s, then half a second of measure
                    return True
            return False

        deadline = time.time() + 60
        while time.time() < deadline and not in_band_3_measure() and proc.poll() is None:
            time.sleep(0.02)
        self.assertTrue(in_band_3_measure(), "".join(lines))
        self.assertEqual(len(rows()), 2, "bands 1 and 2 are in the CSV before band 3 ends")
        self.assertIsNone(proc.poll())
        proc.send_signal(signal.SIGINT)
        sent = time.time()
        proc.wait(timeout=30)
        self.assertLess(time.time() - sent, 2.0, "exit within 2 s of Ctrl-C")
        reader.join(timeout=5)
        writer.join(timeout=5)
        stdout, stderr = "".join(output), "".join(lines)
        self.assertEqual(proc.returncode, 130, f"stdout:\n{stdout}\nstderr:\n{stderr}")

        got = rows()
        self.assertEqual([(r["band"], r["workers"], r["status"]) for r in got],
                         [("1", "1", "complete"), ("2", "2", "complete"), ("3", "3", "interrupted")])
        self.assertAlmostEqual(float(got[0]["duration_seconds"]), 3.0, delta=0.05)
        self.assertGreater(float(got[2]["duration_seconds"]), 0.2)
        self.assertLess(float(got[2]["duration_seconds"]), 3.0)
        self.assertGreater(float(got[2]["tps"]), 0)

        files = glob.glob(os.path.join(out, "progressive_scaling_results_*.json"))
        with open(files[0]) as f:
            doc = json.load(f)
        self.assertEqual([b["status"] for b in doc["bands"]], ["complete", "complete", "interrupted"])
        self.assertEqual(doc["metadata"]["status"], "interrupted")
        self.assertEqual(doc["metadata"]["bands_tested"], 3)
        self.assertGreater(doc["bands"][2]["performance"]["transactions"], 0)
        self.assertIn("INTERRUPTED", stdout)
        if "analysis" in doc:
            # over the two complete bands
            self.assertEqual(len(doc["analysis"]["bands"]), 2)
        else:
            self.assertIn("analysis not available in this build", stdout)


if __name__ == "__main__":
    main()
