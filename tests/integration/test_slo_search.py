"""Rate as a scaling dimension: a study over min_rate..max_rate offers the
listed rates; slo_search finds the highest arrival rate at which a latency
objective holds. Here the service time is controlled on the server
(pg_sleep(0.02) per transaction, 4 workers, uniform arrivals), so the
answer is known: 4 workers serve at most 4 / service time transactions a
second; below that nothing queues, above it the queue and the latency grow
for the whole band, past the 100 ms objective within 4 s once the rate is
4% over capacity. The search must land within 10% of that rate (the
objective is five service times, so a scheduling hiccup at a low rate
does not count as a miss)."""
import csv
import glob
import json
import os

from harness import StormdbTest, main

SERVICE = 'return { run = function(w) w.db:exec("SELECT pg_sleep(0.02)") end }'


class SloSearch(StormdbTest):
    def test_rate_study_plan(self):
        script = self.script("svc.lua", SERVICE)
        plan = os.path.join(self.tmp, "plan.json")
        p = self.stormdb("run", script, "--progressive", "--strategy", "linear", "--max-workers", "4",
                         "--min-workers", "4", "--min-rate", "100", "--max-rate", "500", "--bands", "5",
                         "--dry-run", "--json", plan, with_dsn=False)
        self.assertExit(p, 0)
        with open(plan) as f:
            bands = json.load(f)["bands"]
        self.assertEqual([b["rate"] for b in bands], [100, 200, 300, 400, 500])
        self.assertEqual({b["workers"] for b in bands}, {4})

    def test_slo_search_converges_to_capacity(self):
        script = self.script("svc.lua", SERVICE)
        out = os.path.join(self.tmp, "slo.json")
        p = self.stormdb("run", script, "--progressive", "--strategy", "slo_search", "--max-workers", "4",
                         "--min-rate", "25", "--max-rate", "2000", "--slo-p99-ms", "100", "--arrival", "uniform",
                         "--duration", "4s", "--warmup", "0", "--cooldown", "0", "--progress", "0",
                         "--export-path", os.path.join(self.tmp, "results"), "--json", out, "--no-observe",
                         timeout=600)
        self.assertExit(p, 0)
        with open(out) as f:
            result = json.load(f)
        bands = result["bands"]
        self.assertGreaterEqual(len(bands), 5)
        for b in bands:
            self.assertEqual(b["status"], "complete")
            self.assertIn("rate", b)
        # Every probe is a real band: offered rates double, then bisect.
        offered = [b["rate"]["target"] for b in bands]
        self.assertEqual(offered[:3], [25, 50, 100])
        service_s = sorted(b["rate"]["service_p50_ms"] for b in bands)[len(bands) // 2] / 1000
        expected = 4 / service_s
        held = [b["rate"]["target"] for b in bands if b["performance"]["p99_latency_ms"] <= 100
                and b["rate"]["achieved"] >= 0.9 * b["rate"]["target"]]
        found = max(held)
        self.assertLess(abs(found - expected) / expected, 0.10, f"found {found}/s, expected {expected:.1f}/s")
        self.assertIn("objective holds up to", p.stdout + p.stderr)
        # The CSV export carries each probe's rate figures beside the v0.2 columns.
        [path] = glob.glob(os.path.join(self.tmp, "results", "*.csv"))
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        self.assertEqual([float(r["rate_target"]) for r in rows], offered)
        for r, b in zip(rows, bands):
            self.assertAlmostEqual(float(r["rate_achieved"]), b["rate"]["achieved"], delta=0.001)
            self.assertEqual(int(r["rate_skipped"]), b["rate"]["skipped"])
            self.assertEqual(int(r["rate_late"]), b["rate"]["late"])
            self.assertGreater(float(r["rate_service_p99_ms"]), 19)


if __name__ == "__main__":
    main()
