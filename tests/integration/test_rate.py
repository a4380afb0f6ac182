"""Open-loop rate mode (--rate): latency is measured from each transaction's
scheduled start, so a server (here: a 50 ms transaction at 1 worker) that
cannot keep up with the offered rate shows its queueing in the latency,
while the service time stays at 50 ms; the lag is reported; with
--latency-limit, transactions already late when due are skipped and
counted, so the band still ends on time."""
from harness import StormdbTest, main

SLEEP_50MS = """
return { run = function(w) w:sleep(0.050) end }
"""


class RateMode(StormdbTest):
    def test_overload_shows_in_latency_not_service_time(self):
        script = self.script("sleep50.lua", SLEEP_50MS)
        p, result = self.run_json("run", script, "--workers", "1", "--rate", "40", "--duration", "4s",
                                  "--progress", "0", "--seed", "7")
        self.assertExit(p, 0)
        band = result["bands"][0]
        rate = band["rate"]
        perf = band["performance"]
        self.assertEqual(rate["target"], 40)
        # One worker serves at most 20/s: the schedule falls behind.
        self.assertLess(rate["achieved"], 21)
        self.assertGreater(rate["achieved"], 18)
        self.assertAlmostEqual(rate["service_p50_ms"], 50, delta=3)
        self.assertLess(rate["service_p99_ms"], 60)
        # Scheduled-start latency: by the end the queue is ~2 s deep.
        self.assertGreater(perf["p99_latency_ms"], 1000)
        self.assertGreater(rate["lag_p99_ms"], 1000)
        self.assertEqual(rate["skipped"], 0)

    def test_latency_limit_skips_late_transactions(self):
        script = self.script("sleep50.lua", SLEEP_50MS)
        p, result = self.run_json("run", script, "--workers", "1", "--rate", "40", "--latency-limit", "100ms",
                                   "--duration", "4s", "--progress", "0", "--seed", "7")
        self.assertExit(p, 0)
        band = result["bands"][0]
        rate = band["rate"]
        # About half of 160 arrivals cannot be served in time.
        self.assertGreater(rate["skipped"], 40)
        self.assertGreater(rate["late"], 0)
        self.assertEqual(rate["late"], band["performance"]["late"])
        # What did run stayed near the limit instead of growing without bound.
        self.assertLess(band["performance"]["p99_latency_ms"], 100 + 60)

    def test_under_capacity_latency_is_service_time(self):
        script = self.script("sleep50.lua", SLEEP_50MS)
        p, result = self.run_json("run", script, "--workers", "8", "--rate", "40", "--arrival", "uniform",
                                  "--duration", "3s", "--progress", "0")
        self.assertExit(p, 0)
        band = result["bands"][0]
        rate = band["rate"]
        self.assertEqual(rate["arrival"], "uniform")
        self.assertAlmostEqual(rate["achieved"], 40, delta=1.5)
        # Nothing queues: latency is the 50 ms service time plus scheduling
        # jitter of a busy test machine, nowhere near the overload above.
        self.assertLess(band["performance"]["p99_latency_ms"], 80)
        self.assertLess(rate["lag_p99_ms"], 25)


if __name__ == "__main__":
    main()
