"""Bundled workload tpcb: pgbench's tables at scale 2, each built-in script
(tpcb-like, -S, -N) for 3 s at 4 workers with zero errors, TPC-B's balance
check, the same statements as `pgbench -M prepared` (pg_stat_statements,
when the server preloads it and pgbench is installed), and a cleanup that
leaves no pgbench table or index behind."""
import glob
import shutil
import subprocess

from harness import StormdbTest, dsn, main, psql

SCALE = "--scale=2"


def pgbench_binary():
    found = shutil.which("pgbench")
    if found:
        return found
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"))
    return candidates[-1] if candidates else None


def pgbench_relations():
    return int(psql("SELECT count(*) FROM pg_class WHERE relname LIKE 'pgbench\\_%'"))


class WorkloadTpcb(StormdbTest):
    def run_mix(self, *options):
        p, result = self.run_json("run", "tpcb", SCALE, *options, "--workers", "4", "--duration", "3s",
                                  "--progress", "0")
        self.assertExit(p, 0)
        band = result["bands"][0]
        self.assertEqual(band["performance"]["errors"], 0, p.stdout)
        self.assertEqual(band["errors_by_sqlstate"], {})
        return band

    def test_0_help(self):
        p = self.stormdb("run", "tpcb", "--help", with_dsn=False)
        self.assertExit(p, 0)
        for text in ("pgbench", "--scale", "--select-only", "--skip-some-updates", "--fillfactor"):
            self.assertIn(text, p.stdout)

    def test_1_setup(self):
        p = self.stormdb("setup", "tpcb", SCALE)
        self.assertExit(p, 0)
        self.assertEqual(psql("SELECT count(*) FROM pgbench_accounts"), "200000")
        self.assertEqual(psql("SELECT count(*) FROM pgbench_tellers"), "20")
        self.assertEqual(psql("SELECT count(*) FROM pgbench_branches"), "2")
        self.assertEqual(psql("SELECT count(*) FROM pgbench_history"), "0")
        # pgbench -i's types, fillfactor and keys
        self.assertEqual(psql("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                              "WHERE attrelid = 'pgbench_accounts'::regclass AND attname = 'filler'"),
                         "character(84)")
        self.assertEqual(psql("SELECT reloptions FROM pg_class WHERE relname = 'pgbench_accounts'"),
                         "{fillfactor=100}")
        self.assertEqual(psql("SELECT count(*) FROM pg_constraint WHERE contype = 'p' "
                              "AND conrelid::regclass::text LIKE 'pgbench\\_%'"), "3")
        self.assertEqual(psql("SELECT octet_length(filler) FROM pgbench_accounts WHERE aid = 1"), "84")

    def test_2_tpcb_like(self):
        band = self.run_mix()
        self.assertGreater(band["transactions"]["tpcb"]["transactions"], 100)
        self.assertEqual(band["transactions"]["select_only"]["transactions"], 0)

    def test_3_select_only(self):
        band = self.run_mix("--select-only")
        self.assertGreater(band["transactions"]["select_only"]["transactions"], 100)
        self.assertEqual(band["transactions"]["tpcb"]["transactions"], 0)
        # one statement per transaction, as pgbench -S
        self.assertEqual(band["performance"]["statements"], band["performance"]["transactions"])

    def test_4_skip_some_updates(self):
        band = self.run_mix("--skip-some-updates")
        self.assertGreater(band["transactions"]["simple_update"]["transactions"], 100)
        self.assertEqual(band["transactions"]["tpcb"]["transactions"], 0)

    def test_5_check(self):
        p = self.stormdb("run", "tpcb", SCALE, "--check")
        self.assertExit(p, 1)  # -N left tellers and branches behind the accounts
        self.assertIn("balances disagree", p.stderr)
        psql("UPDATE pgbench_tellers SET tbalance = 0; UPDATE pgbench_branches SET bbalance = 0;"
             "UPDATE pgbench_accounts SET abalance = 0 WHERE abalance <> 0; TRUNCATE pgbench_history")
        self.run_mix()
        p = self.stormdb("run", "tpcb", SCALE, "--check")
        self.assertExit(p, 0)

    def test_6_same_statements_as_pgbench(self):
        binary = pgbench_binary()
        if not binary:
            self.skipTest("pgbench is not installed")
        if "pg_stat_statements" not in psql("SHOW shared_preload_libraries"):
            self.skipTest("the server does not preload pg_stat_statements")
        psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        try:
            for stormdb_options, pgbench_options in ((), ()), (("--select-only",), ("-S",)):
                psql("SELECT pg_stat_statements_reset()")
                self.run_mix(*stormdb_options)
                ours = self.statements()
                psql("SELECT pg_stat_statements_reset()")
                out = subprocess.run([binary, "-n", "-M", "prepared", *pgbench_options, "-c", "4", "-T", "3", dsn()],
                                     capture_output=True, text=True, timeout=60)
                self.assertEqual(out.returncode, 0, out.stderr)
                theirs = self.statements()
                self.assertEqual(ours, theirs)
                self.assertEqual(len(ours), 1 if pgbench_options else 5)
        finally:
            psql("DROP EXTENSION IF EXISTS pg_stat_statements")

    @staticmethod
    def statements():
        """queryid and text of the statements run at least 100 times."""
        rows = psql("SELECT queryid || ' ' || query FROM pg_stat_statements WHERE calls >= 100 ORDER BY 1")
        return set(rows.splitlines())

    def test_7_scale_must_match(self):
        p = self.stormdb("run", "tpcb", "--scale=3", "--duration", "1s")
        self.assertExit(p, 1)
        self.assertIn("pgbench_branches holds scale 2 but --scale=3", p.stderr)

    def test_9_cleanup(self):
        p = self.stormdb("cleanup", "tpcb")
        self.assertExit(p, 0)
        self.assertEqual(pgbench_relations(), 0)
        self.assertEqual(psql("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'pgbench\\_%'"), "0")


if __name__ == "__main__":
    main()
