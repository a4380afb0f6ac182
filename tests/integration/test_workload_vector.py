"""Bundled workload vector: without pgvector on the server (Debian 12 has
no pgvector package for PostgreSQL 15), setup and run stop with a non-zero
exit and a message that says how to install it, and leave nothing behind.
With pgvector installed, the full cycle: setup at scale 1 with 16
dimensions, 3 s of searches and inserts at 4 workers with zero errors,
recall@10 of the HNSW index from --check, cleanup."""
import unittest

from harness import StormdbTest, main, psql


def has_pgvector():
    return psql("SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'") != "0"


def relations():
    return int(psql("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'vector'"))


class WorkloadVector(StormdbTest):
    def test_0_help(self):
        p = self.stormdb("run", "vector", "--help", with_dsn=False)
        self.assertExit(p, 0)
        for text in ("pgvector", "--index", "hnsw", "ivfflat", "--insert-percent", "--k", "--dims"):
            self.assertIn(text, p.stdout)

    @unittest.skipIf(has_pgvector(), "pgvector is installed on this server")
    def test_1_without_pgvector(self):
        p = self.stormdb("setup", "vector")
        self.assertNotEqual(p.returncode, 0, p.stderr)
        self.assertIn("the pgvector extension is not available on this server", p.stderr)
        major = psql("SELECT current_setting('server_version_num')::int / 10000")
        self.assertIn(f"apt-get install postgresql-{major}-pgvector", p.stderr)
        self.assertIn("https://github.com/pgvector/pgvector", p.stderr)
        self.assertEqual(psql("SELECT count(*) FROM pg_namespace WHERE nspname = 'vector'"), "0")
        # running without the setup says what to do
        p = self.stormdb("run", "vector", "--duration", "1s")
        self.assertExit(p, 1)
        self.assertIn("run stormdb setup vector first", p.stderr)

    @unittest.skipUnless(has_pgvector(), "pgvector is not installed on this server")
    def test_2_with_pgvector(self):
        options = ("--dims=16", "--k=10")
        p = self.stormdb("setup", "vector", *options, timeout=600)
        self.assertExit(p, 0)
        self.assertEqual(psql("SELECT count(*) FROM vector.items"), "10000")
        p, result = self.run_json("run", "vector", *options, "--workers", "4", "--duration", "3s",
                                  "--progress", "0")
        self.assertExit(p, 0)
        band = result["bands"][0]
        self.assertEqual(band["performance"]["errors"], 0, p.stdout)
        self.assertGreater(band["transactions"]["search"]["transactions"], 0)
        self.assertGreater(band["transactions"]["insert"]["transactions"], 0)
        p = self.stormdb("run", "vector", *options, "--check", "--recall-queries=20")
        self.assertExit(p, 0)
        self.assertIn("recall@10", p.stderr)
        p = self.stormdb("cleanup", "vector")
        self.assertExit(p, 0)
        self.assertEqual(relations(), 0)


if __name__ == "__main__":
    main()
