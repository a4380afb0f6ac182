"""The bad-input corpus (tests/data/bad/, described case by case in its
cases.txt): malformed YAML, wrong types, unknown keys, impossible ranges,
empty files, binary junk, huge numbers, negative durations, missing and
broken workload files, Lua errors while loading, bad command lines, and
result files that `stormdb analyze` cannot read. Every case exits with
status 2 and a message that contains its expected fragment (naming the file,
line and key where there is one), without connecting anywhere, crashing or
tripping a sanitizer."""
import os
import subprocess

from harness import SOURCE, STORMDB, StormdbTest, main

CORPUS = os.path.join(SOURCE, "tests", "data", "bad")
CRASH_SIGNS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "Segmentation fault", "internal error",
               "PANIC", "core dumped")


def cases():
    out = []
    with open(os.path.join(CORPUS, "cases.txt")) as f:
        for number, line in enumerate(f, 1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = [p.strip() for p in line.rstrip("\n").split("|")]
            if len(parts) != 3 or not all(parts):
                raise AssertionError(f"cases.txt:{number}: expected 'file | arguments | fragment'")
            out.append((number, parts[0], parts[1].split(), parts[2]))
    return out


class BadInput(StormdbTest):
    def test_corpus_is_complete(self):
        listed = cases()
        self.assertGreaterEqual(len(listed), 40)
        used = {name for _, name, _, _ in listed if name != "-"}
        on_disk = set(os.listdir(CORPUS)) - {"cases.txt"}
        self.assertEqual(on_disk - used, set(), "every file of the corpus has a case")
        self.assertEqual(used - on_disk, set(), "every case's file exists")

    def test_every_case_exits_2_with_its_message(self):
        env = dict(os.environ)
        # nothing to connect to, and no throwaway server either: a case that
        # got past validation would fail to connect (exit 1) and show here
        env.update(PGHOST="/nonexistent-stormdb-bad-input", PGCONNECT_TIMEOUT="2", LC_ALL="C.UTF-8")
        for number, name, args, fragment in cases():
            with self.subTest(case=f"cases.txt:{number}: {' '.join(args)}"):
                p = subprocess.run([STORMDB, *args], cwd=CORPUS, capture_output=True, timeout=60, env=env)
                stderr = p.stderr.decode(errors="replace")
                stdout = p.stdout.decode(errors="replace")
                where = f"stormdb {' '.join(args)}\nexit {p.returncode}\nstderr:\n{stderr}\nstdout:\n{stdout}"
                self.assertEqual(p.returncode, 2, where)
                self.assertIn(fragment, stderr, where)
                self.assertNotIn("starting a throwaway PostgreSQL", stderr, where)
                for sign in CRASH_SIGNS:
                    self.assertNotIn(sign, stderr, where)


if __name__ == "__main__":
    main()
