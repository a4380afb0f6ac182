"""Bundled workload tpcc: two warehouses loaded; the five-transaction mix
for 3 s at 4 workers with zero errors and a tpmC figure; 30 s at 8 workers
after which the consistency conditions 1-4 (clause 3.3.2) hold, with the
1% New-Order rollbacks counted as the transaction new_order_rollback and
not as errors; --check names a broken condition; a --scale that does not
match the data is refused; cleanup leaves no table behind."""
from harness import StormdbTest, main, psql

SCALE = "--scale=2"
NAMES = ("new_order", "new_order_rollback", "payment", "order_status", "delivery", "stock_level")


def tpcc_relations():
    return int(psql("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'tpcc'"))


class WorkloadTpcc(StormdbTest):
    def run_mix(self, workers, duration):
        p, result = self.run_json("run", "tpcc", SCALE, "--workers", str(workers), "--duration", duration,
                                  "--progress", "0", timeout=240)
        self.assertExit(p, 0)
        band = result["bands"][0]
        self.assertEqual(band["performance"]["errors"], 0, p.stdout)
        self.assertEqual(band["errors_by_sqlstate"], {})
        for name in NAMES:
            self.assertEqual(band["transactions"][name]["errors"], 0, name)
        return p, band

    def test_0_help(self):
        p = self.stormdb("run", "tpcc", "--help", with_dsn=False)
        self.assertExit(p, 0)
        self.assertIn("TPC-C", p.stdout)
        self.assertIn("--scale", p.stdout)
        self.assertIn("warehouses", p.stdout)
        for name in NAMES:
            self.assertIn(name, p.stdout)

    def test_1_setup(self):
        p = self.stormdb("setup", "tpcc", SCALE, timeout=240)
        self.assertExit(p, 0)
        # Clause 4.3.3.1's cardinalities for two warehouses.
        expected = {"warehouse": 2, "district": 20, "customer": 60000, "history": 60000, "orders": 60000,
                    "new_order": 18000, "item": 100000, "stock": 200000}
        for table, rows in expected.items():
            self.assertEqual(psql(f"SELECT count(*) FROM tpcc.{table}"), str(rows), table)
        lines = int(psql("SELECT count(*) FROM tpcc.order_line"))
        self.assertTrue(5 * 60000 <= lines <= 15 * 60000, lines)
        self.assertEqual(psql("SELECT sum(o_ol_cnt) FROM tpcc.orders"), str(lines))
        # 1000 last names built from the syllables, 10% bad credit
        self.assertEqual(psql("SELECT count(DISTINCT c_last) FROM tpcc.customer"), "1000")
        self.assertEqual(psql("SELECT c_last FROM tpcc.customer WHERE c_w_id = 1 AND c_d_id = 1 AND c_id = 372"),
                         "PRICALLYOUGHT")
        bad = int(psql("SELECT count(*) FROM tpcc.customer WHERE c_credit = 'BC'"))
        self.assertTrue(5000 <= bad <= 7000, bad)
        self.assertEqual(tpcc_relations(), 9 + 10)  # tables; 8 primary keys (none on history), 2 indexes

    def test_2_mix(self):
        p, band = self.run_mix(4, "3s")
        for name in ("new_order", "payment", "order_status", "delivery", "stock_level"):
            self.assertGreater(band["transactions"][name]["transactions"], 0, name)
        figures = band["workload_figures"]
        t = band["transactions"]
        self.assertAlmostEqual(figures["tpmC"], (t["new_order"]["tps"] + t["new_order_rollback"]["tps"]) * 60,
                               delta=1e-6 * figures["tpmC"])
        self.assertGreater(figures["tpmC"], 0)
        self.assertIn("tpmC", p.stdout)
        # 45:43:4:4:4
        total = band["performance"]["transactions"]
        share = (t["new_order"]["transactions"] + t["new_order_rollback"]["transactions"]) / total
        self.assertTrue(0.40 < share < 0.50, share)

    def test_3_consistency_after_30s(self):
        _, band = self.run_mix(8, "30s")
        t = band["transactions"]
        rollbacks = t["new_order_rollback"]["transactions"]
        orders = t["new_order"]["transactions"] + rollbacks
        self.assertGreater(rollbacks, 0)
        self.assertTrue(0.002 < rollbacks / orders < 0.03, rollbacks / orders)
        self.assertEqual(band["workload_figures"]["new_order_rollbacks"], rollbacks)
        # rolled back: no trace of them in the orders
        self.assertEqual(psql("SELECT count(*) FROM tpcc.order_line WHERE ol_i_id > 100000"), "0")
        # remote order lines and remote payments happen with two warehouses
        self.assertNotEqual(psql("SELECT count(*) FROM tpcc.orders WHERE o_all_local = 0"), "0")
        self.assertNotEqual(psql("SELECT count(*) FROM tpcc.history WHERE h_c_w_id <> h_w_id"), "0")
        p = self.stormdb("run", "tpcc", SCALE, "--check")
        self.assertExit(p, 0)
        for n in "1234":
            self.assertIn(f"consistency condition {n} (clause 3.3.2.{n})", p.stderr)

    def test_4_check_names_the_broken_condition(self):
        psql("UPDATE tpcc.warehouse SET w_ytd = w_ytd + 1 WHERE w_id = 2")
        try:
            p = self.stormdb("run", "tpcc", SCALE, "--check")
            self.assertExit(p, 1)
            self.assertIn("consistency condition 1 (clause 3.3.2.1)", p.stderr)
            self.assertIn("warehouse 2", p.stderr)
        finally:
            psql("UPDATE tpcc.warehouse SET w_ytd = w_ytd - 1 WHERE w_id = 2")
        # a hole in a district's new orders breaks condition 3
        psql("CREATE TABLE public.tpcc_hole AS SELECT * FROM tpcc.new_order WHERE no_w_id = 1 AND no_d_id = 3 "
             "AND no_o_id = (SELECT min(no_o_id) + 1 FROM tpcc.new_order WHERE no_w_id = 1 AND no_d_id = 3)")
        psql("DELETE FROM tpcc.new_order n USING public.tpcc_hole h WHERE n.no_w_id = h.no_w_id "
             "AND n.no_d_id = h.no_d_id AND n.no_o_id = h.no_o_id")
        try:
            p = self.stormdb("run", "tpcc", SCALE, "--check")
            self.assertExit(p, 1)
            self.assertIn("consistency condition 3 (clause 3.3.2.3)", p.stderr)
            self.assertIn("warehouse 1 district 3", p.stderr)
        finally:
            psql("INSERT INTO tpcc.new_order SELECT * FROM public.tpcc_hole; DROP TABLE public.tpcc_hole")
        p = self.stormdb("run", "tpcc", SCALE, "--check")
        self.assertExit(p, 0)

    def test_5_scale_must_match(self):
        p = self.stormdb("run", "tpcc", "--scale=3", "--duration", "1s")
        self.assertExit(p, 1)
        self.assertIn("holds 2 warehouse(s) but --scale=3", p.stderr)

    def test_9_cleanup(self):
        p = self.stormdb("cleanup", "tpcc")
        self.assertExit(p, 0)
        self.assertEqual(tpcc_relations(), 0)
        self.assertEqual(psql("SELECT count(*) FROM pg_namespace WHERE nspname = 'tpcc'"), "0")
        self.assertEqual(psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'tpcc'"), "0")


if __name__ == "__main__":
    main()
