"""Bundled workload connection: connection churn (a connection per
transaction, one query, closed) for 3 s at 4 workers with zero errors, the
connect latency reported apart (band.metrics.connect and the workload's
figures), a pooled share for comparison, and a cleanup that leaves no table
behind."""
from harness import StormdbTest, main, psql, wait_for_backends_gone


def relations():
    return int(psql("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'connection'"))


class WorkloadConnection(StormdbTest):
    def run_mix(self, *options):
        p, result = self.run_json("run", "connection", *options, "--workers", "4", "--duration", "3s",
                                  "--progress", "0")
        self.assertExit(p, 0)
        band = result["bands"][0]
        self.assertEqual(band["performance"]["errors"], 0, p.stdout)
        self.assertEqual(band["errors_by_sqlstate"], {})
        return p, band

    def test_0_help(self):
        p = self.stormdb("run", "connection", "--help", with_dsn=False)
        self.assertExit(p, 0)
        for text in ("connection churn", "--queries", "--pooled-percent", "churn", "pooled"):
            self.assertIn(text, p.stdout)

    def test_1_setup(self):
        p = self.stormdb("setup", "connection")
        self.assertExit(p, 0)
        self.assertEqual(psql("SELECT count(*) FROM connection.kv"), "1000")

    def test_2_churn(self):
        p, band = self.run_mix()
        churn = band["transactions"]["churn"]["transactions"]
        self.assertGreater(churn, 10)
        connects = band["metrics"]["connect"]["count"]
        # every transaction connected once (the few in flight at the edges aside)
        self.assertLess(abs(connects - churn), max(10, churn * 0.05), (connects, churn))
        self.assertGreater(band["metrics"]["connect"]["avg_ms"], 0)
        figures = band["workload_figures"]
        self.assertAlmostEqual(figures["connect_avg_ms"], band["metrics"]["connect"]["avg_ms"])
        self.assertGreater(figures["connects_per_second"], 0)
        self.assertIn("connect_avg_ms", p.stdout)
        # the connections were closed: none left behind
        wait_for_backends_gone()

    def test_3_pooled_share(self):
        _, band = self.run_mix("--pooled-percent=50", "--queries=3")
        self.assertGreater(band["transactions"]["pooled"]["transactions"], 0)
        self.assertGreater(band["transactions"]["churn"]["transactions"], 0)

    def test_9_cleanup(self):
        p = self.stormdb("cleanup", "connection")
        self.assertExit(p, 0)
        self.assertEqual(relations(), 0)
        self.assertEqual(psql("SELECT count(*) FROM pg_namespace WHERE nspname = 'connection'"), "0")


if __name__ == "__main__":
    main()
