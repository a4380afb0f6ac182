"""Bundled workload ecommerce: loaded at scale 1, its read-heavy mix with
orders and reviews for 3 s at 4 workers with zero errors (orders decrement
inventory and add their items in one transaction; reviews move the
product's rating), the write share set by --write-percent, and a cleanup
that leaves no table behind."""
from harness import StormdbTest, main, psql

NAMES = ("product_page", "search", "cart", "order_history", "place_order", "add_review")


def relations():
    return int(psql("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'ecommerce'"))


class WorkloadEcommerce(StormdbTest):
    def run_mix(self, *options):
        p, result = self.run_json("run", "ecommerce", *options, "--workers", "4", "--duration", "3s",
                                  "--progress", "0")
        self.assertExit(p, 0)
        band = result["bands"][0]
        self.assertEqual(band["performance"]["errors"], 0, p.stdout)
        self.assertEqual(band["errors_by_sqlstate"], {})
        return band

    def test_0_help(self):
        p = self.stormdb("run", "ecommerce", "--help", with_dsn=False)
        self.assertExit(p, 0)
        for text in ("online shop", "--scale", "--write-percent", "--zipf-theta", *NAMES):
            self.assertIn(text, p.stdout)

    def test_1_setup(self):
        p = self.stormdb("setup", "ecommerce")
        self.assertExit(p, 0)
        for table, rows in {"products": 10000, "inventory": 10000, "users": 50000, "orders": 100000,
                            "reviews": 50000}.items():
            self.assertEqual(psql(f"SELECT count(*) FROM ecommerce.{table}"), str(rows), table)
        self.assertEqual(psql("SELECT sum(review_count) FROM ecommerce.products"), "50000")
        # zipfian popularity: the most reviewed product has far more than its share (5)
        self.assertGreater(int(psql("SELECT max(review_count) FROM ecommerce.products")), 500)

    def test_2_mix(self):
        orders = int(psql("SELECT count(*) FROM ecommerce.orders"))
        stock = int(psql("SELECT sum(quantity) FROM ecommerce.inventory"))
        band = self.run_mix()
        for name in NAMES:
            self.assertGreater(band["transactions"][name]["transactions"], 0, name)
        placed = band["transactions"]["place_order"]["transactions"]
        self.assertGreaterEqual(int(psql("SELECT count(*) FROM ecommerce.orders")) - orders, placed)
        self.assertNotEqual(int(psql("SELECT sum(quantity) FROM ecommerce.inventory")), stock)
        # every new order has its items and its total
        self.assertEqual(psql("SELECT count(*) FROM ecommerce.orders o WHERE o.order_id > 100000 AND "
                              "o.total <> (SELECT sum(quantity * price) FROM ecommerce.order_items i "
                              "WHERE i.order_id = o.order_id)"), "0")
        self.assertEqual(psql("SELECT sum(review_count) = (SELECT count(*) FROM ecommerce.reviews) "
                              "FROM ecommerce.products"), "t")

    def test_3_read_only(self):
        band = self.run_mix("--write-percent=0")
        self.assertEqual(band["transactions"]["place_order"]["transactions"], 0)
        self.assertEqual(band["transactions"]["add_review"]["transactions"], 0)
        self.assertGreater(band["transactions"]["product_page"]["transactions"], 0)

    def test_9_cleanup(self):
        p = self.stormdb("cleanup", "ecommerce")
        self.assertExit(p, 0)
        self.assertEqual(relations(), 0)
        self.assertEqual(psql("SELECT count(*) FROM pg_namespace WHERE nspname = 'ecommerce'"), "0")


if __name__ == "__main__":
    main()
