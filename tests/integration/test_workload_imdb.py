"""Bundled workload imdb: the synthetic IMDb-shaped dataset at scale 1,
its mix of joins and aggregations (title pages, filmographies, top-rated by
genre and decade, co-stars, a genre's decades, votes) for 3 s at 4 workers
with zero errors, the indexes those queries need, and a cleanup that
leaves no table behind."""
from harness import StormdbTest, main, psql

NAMES = ("title_page", "filmography", "top_rated", "co_stars", "genre_decades", "vote")


def relations():
    return int(psql("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'imdb'"))


class WorkloadImdb(StormdbTest):
    def test_0_help(self):
        p = self.stormdb("run", "imdb", "--help", with_dsn=False)
        self.assertExit(p, 0)
        for text in ("IMDb", "--scale", "--zipf-theta", *NAMES):
            self.assertIn(text, p.stdout)

    def test_1_setup(self):
        p = self.stormdb("setup", "imdb")
        self.assertExit(p, 0)
        self.assertEqual(psql("SELECT count(*) FROM imdb.titles"), "20000")
        self.assertEqual(psql("SELECT count(*) FROM imdb.people"), "40000")
        principals = int(psql("SELECT count(*) FROM imdb.principals"))
        self.assertTrue(100000 < principals < 250000, principals)
        # every title has a genre; most are rated
        self.assertEqual(psql("SELECT count(DISTINCT title_id) FROM imdb.genres"), "20000")
        rated = int(psql("SELECT count(*) FROM imdb.ratings"))
        self.assertTrue(14000 < rated < 18000, rated)
        # fame is skewed: the most cast person is in far more titles than the average (4)
        self.assertGreater(int(psql("SELECT max(n) FROM (SELECT count(*) AS n FROM imdb.principals "
                                    "GROUP BY person_id) c")), 50)
        indexes = psql("SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes "
                       "WHERE schemaname = 'imdb'")
        self.assertIn("principals_person", indexes)
        self.assertIn("genres_genre", indexes)

    def test_2_mix(self):
        p, result = self.run_json("run", "imdb", "--workers", "4", "--duration", "3s", "--progress", "0")
        self.assertExit(p, 0)
        band = result["bands"][0]
        self.assertEqual(band["performance"]["errors"], 0, p.stdout)
        self.assertEqual(band["errors_by_sqlstate"], {})
        for name in NAMES:
            self.assertGreater(band["transactions"][name]["transactions"], 0, name)

    def test_3_filmography_uses_the_index(self):
        plan = psql("EXPLAIN SELECT * FROM imdb.principals WHERE person_id = 12")
        self.assertIn("principals_person", plan)

    def test_9_cleanup(self):
        p = self.stormdb("cleanup", "imdb")
        self.assertExit(p, 0)
        self.assertEqual(relations(), 0)
        self.assertEqual(psql("SELECT count(*) FROM pg_namespace WHERE nspname = 'imdb'"), "0")


if __name__ == "__main__":
    main()
