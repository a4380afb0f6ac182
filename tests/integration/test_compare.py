"""stormdb compare (docs/compare.md): identical results pass (exit 0); a
current result whose TPS is 20% lower in one band fails (exit 1) and the
table marks that band, beyond noise; a p95 rise past its threshold fails
too, a threshold turned off does not; a v0.2 JSON and a CSV compare with a
stormdb result; malformed input and results with no band in common end with
exit status 2, naming the file. The results are the saved real study in
tests/data/reporters/ and copies of it changed here."""
import copy
import json
import os
import re

from harness import SOURCE, StormdbTest, main

DATA = os.path.join(SOURCE, "tests", "data", "reporters")
STUDY = os.path.join(DATA, "study.json")


class Compare(StormdbTest):
    def compare(self, *args):
        return self.stormdb("compare", *args, with_dsn=False)

    def changed(self, name, edit):
        with open(STUDY) as f:
            doc = json.load(f)
        doc = copy.deepcopy(doc)
        edit(doc)
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            json.dump(doc, f)
        return path

    def row(self, out, workers, connections):
        m = re.search(rf"^{workers}/{connections}\s+\|.*$", out, re.M)
        self.assertIsNotNone(m, out)
        return m.group(0)

    def test_identical_results_pass(self):
        p = self.compare(STUDY, STUDY)
        self.assertExit(p, 0)
        self.assertIn("result: no threshold crossed in 4 bands (exit status 0)", p.stdout)
        for w in (1, 2, 4, 8):
            row = self.row(p.stdout, w, w)
            self.assertTrue(row.endswith("| ok"), row)
            self.assertNotIn("*", row)

    def test_tps_drop_fails_and_is_marked(self):
        def slower(doc):
            band = doc["bands"][2]             # 4 workers
            band["performance"]["tps"] *= 0.8
        current = self.changed("slower.json", slower)
        out_json = os.path.join(self.tmp, "cmp.json")
        p = self.compare(STUDY, current, "--json", out_json)
        self.assertExit(p, 1)
        row = self.row(p.stdout, 4, 4)
        self.assertIn("-20.0%*", row, "the change, marked beyond noise")
        self.assertIn("REGRESSION: TPS -20.0%", row)
        for w in (1, 2, 8):
            self.assertTrue(self.row(p.stdout, w, w).endswith("| ok"))
        self.assertIn("result: REGRESSION: 1 of 4 bands crossed a threshold (exit status 1)", p.stdout)
        with open(out_json) as f:
            doc = json.load(f)
        self.assertTrue(doc["regression"])
        crossed = [b for b in doc["bands"] if b["crossed"]]
        self.assertEqual([(b["workers"], b["crossed"]) for b in crossed], [(4, ["tps"])])
        self.assertAlmostEqual(crossed[0]["tps"]["change"], -0.2, places=6)
        self.assertTrue(crossed[0]["tps"]["beyond_noise"])
        # a looser threshold lets it through; "off" turns the check off
        self.assertExit(self.compare(STUDY, current, "--max-tps-drop", "25%"), 0)
        self.assertExit(self.compare(STUDY, current, "--max-tps-drop=off"), 0)

    def test_p95_rise_fails(self):
        def slower_tail(doc):
            doc["bands"][1]["performance"]["p95_latency_ms"] *= 1.5
        current = self.changed("tail.json", slower_tail)
        p = self.compare(STUDY, current)
        self.assertExit(p, 1)
        self.assertIn("REGRESSION: p95 +50.0%", self.row(p.stdout, 2, 2))
        self.assertExit(self.compare(STUDY, current, "--max-p95-rise", "60"), 0)
        # a small change within the threshold and within noise never fails
        def tiny(doc):
            doc["bands"][0]["performance"]["tps"] *= 0.99
        self.assertExit(self.compare(STUDY, self.changed("tiny.json", tiny)), 0)

    def test_significant_only(self):
        def slightly(doc):
            doc["bands"][0]["performance"]["tps"] *= 0.94
            doc["bands"][0]["analysis"]["tps_ci_rel"] = 0.2   # a very noisy band
        current = self.changed("noisy.json", slightly)
        self.assertExit(self.compare(STUDY, current), 1)
        self.assertExit(self.compare(STUDY, current, "--significant-only"), 0)

    def test_other_formats(self):
        p = self.compare(STUDY, os.path.join(DATA, "study.csv"))
        self.assertExit(p, 0)
        self.assertIn("4 bands", p.stdout)
        v02 = os.path.join(DATA, "v02.json")
        p = self.compare(v02, v02)
        self.assertExit(p, 0)
        self.assertIn("10/20", p.stdout)

    def test_bad_input(self):
        broken = self.script("broken.json", '{"bands": [ {"workers": 1, "performance": {"tps": 1}} \n')
        p = self.compare(STUDY, broken)
        self.assertExit(p, 2)
        self.assertRegex(p.stderr, rf"^stormdb compare: {re.escape(broken)}:\d+: invalid JSON")
        notnum = self.script("bad.csv", "workers,tps\n1,abc\n")
        p = self.compare(notnum, STUDY)
        self.assertExit(p, 2)
        self.assertIn(f"stormdb compare: {notnum}:2: column tps: 'abc' is not a number", p.stderr)
        p = self.compare(STUDY, os.path.join(self.tmp, "missing.json"))
        self.assertExit(p, 2)
        self.assertIn("missing.json: cannot read", p.stderr)
        p = self.compare(STUDY)
        self.assertExit(p, 2)
        self.assertIn("two results are compared", p.stderr)
        p = self.compare(STUDY, STUDY, "--max-tps-drop", "lots")
        self.assertExit(p, 2)
        other = self.script("other.csv", "workers,connections,tps\n100,100,5\n")
        p = self.compare(STUDY, other)
        self.assertExit(p, 2)
        self.assertIn("matches a band of", p.stderr)


if __name__ == "__main__":
    main()
