"""`stormdb analyze FILE`: what a user sees on saved results. Exact USL data
gives back its sigma, kappa and N* = 7 with the best fit usl and regions in
order; a linear run is linear everywhere; a run past its peak declines in
the right places; the result JSON of docs/results.md and the v0.2 shape are
read; malformed files name the file and line and exit 2; capacity answers
beyond the measured range are marked extrapolation; and the worked example
in docs/analysis.md is exactly what the command prints and writes.

No database: the command reads files only."""
import json
import math
import os
import pty
import re
import subprocess

from harness import SOURCE, STORMDB, StormdbTest, main

DATA = os.path.join(SOURCE, "tests", "data", "analyze")
REGION_ORDER = ["baseline", "linear", "diminishing", "saturation", "degradation"]
FORBIDDEN = re.compile(r"(?<![A-Za-z])(nan|-nan|inf|-inf|nil)(?![A-Za-z])")


def data(name):
    return os.path.join(DATA, name)


class Analyze(StormdbTest):
    def analyze(self, *args, status=0, cwd=None):
        """Runs stormdb analyze ARGS --json; returns (stdout, parsed JSON)."""
        out = os.path.join(self.tmp, "analysis.json")
        if os.path.exists(out):
            os.remove(out)
        p = subprocess.run([STORMDB, "analyze", *args, "--json", out], capture_output=True, text=True,
                           timeout=120, cwd=cwd)
        self.assertExit(p, status)
        self.assertEqual(p.stderr, "")
        self.assertNotRegex(p.stdout, FORBIDDEN)
        self.assertTrue(p.stdout.isascii(), "plain ASCII when stdout is not a terminal")
        self.assertIn("analysis written to " + out, p.stdout)
        self.assertFalse(os.path.exists(out + ".tmp"))
        with open(out) as f:
            text = f.read()
        self.assertNotRegex(text, r"\b(NaN|Infinity)\b")
        return p.stdout, json.loads(text)

    def bad(self, name, content, *args):
        """A malformed input: exit 2, one line on stderr, nothing on stdout."""
        path = self.script(name, content) if content is not None else os.path.join(self.tmp, name)
        p = self.stormdb("analyze", path, *args, with_dsn=False)
        self.assertExit(p, 2)
        self.assertEqual(p.stdout, "")
        self.assertEqual(p.stderr.count("\n"), 1, p.stderr)
        self.assertNotIn("traceback", p.stderr)
        self.assertTrue(p.stderr.startswith("stormdb analyze: "), p.stderr)
        return p.stderr.strip()

    def regions_in_order(self, result):
        regions = [b["statistics"]["region"] for b in result["bands"]]
        ranks = [REGION_ORDER.index(r) for r in regions]
        self.assertEqual(ranks, sorted(ranks), regions)
        return regions

    # ---- the fixtures ----------------------------------------------------------

    def test_exact_usl(self):
        out, r = self.analyze(data("usl_exact.csv"))
        a = r["analysis"]
        m = a["mathematical_models"]
        usl = m["models"]["usl"]
        self.assertEqual(a["status"], "ok")
        self.assertEqual(m["best_fit"], "usl")
        self.assertAlmostEqual(usl["sigma"], 0.02, delta=2e-5)
        self.assertAlmostEqual(usl["kappa"], 0.02, delta=2e-5)
        self.assertAlmostEqual(usl["lambda"], 1000, delta=1e-3)
        self.assertAlmostEqual(usl["peak_workers"], 7, delta=1e-6)
        self.assertAlmostEqual(usl["peak_tps"], 7000 / 1.96, delta=1e-3)
        self.assertLessEqual(usl["sigma_ci"][0], usl["sigma"])
        self.assertGreaterEqual(usl["kappa_ci"][1], usl["kappa"])
        self.assertEqual(m["saturation_workers"], 6)
        self.assertAlmostEqual(m["predicted_peak_workers"], 7, delta=1e-6)
        self.assertEqual(self.regions_in_order(r),
                         ["baseline", "linear", "diminishing", "saturation", "saturation", "degradation"])
        regions = a["scaling_regions"]
        self.assertEqual([regions[k]["bands"] for k in
                          ("linear_scaling", "diminishing_returns", "saturation", "degradation")],
                         [[2], [4], [6, 8], [10]])
        self.assertEqual(a["inflection_points"], [])
        self.assertEqual(len(a["queueing"]), 6)
        self.assertEqual(len(a["marginal_gains"]), 5)
        o = a["optimal_configuration"]
        self.assertEqual((o["workers"], o["connections"], o["band"]), (8, 8, 5))
        for key in ("tps", "efficiency", "confidence", "reasoning"):
            self.assertIn(key, o)
        rec = a["recommendations"][0]
        self.assertEqual(set(rec), {"type", "priority", "priority_name", "category", "suggestion",
                                    "expected_gain", "confidence"})
        self.assertEqual((rec["type"], rec["priority"]), ("reduce_workers", 1))
        self.assertNotIn("capacity", a)
        self.assertEqual([b["band_number"] for b in r["bands"]], [1, 2, 3, 4, 5, 6])
        self.assertEqual(r["bands"][3]["tps"], 3529.411765)
        for section in ("OPTIMAL CONFIGURATION", "SCALING ANALYSIS", "MATHEMATICAL MODELS", "RECOMMENDATIONS"):
            self.assertIn(section, out)
        self.assertNotIn("CAPACITY", out)
        self.assertIn("best fit: usl (R^2 1.0000", out)
        self.assertIn("N* = 7.00 workers, X(N*) = 3571.4 TPS", out)
        self.assertIn("saturation threshold: 6 workers", out)

    def test_linear(self):
        out, r = self.analyze(data("linear.csv"), "--target-tps", "8000", "--max-latency-ms", "10")
        a = r["analysis"]
        m = a["mathematical_models"]
        self.assertEqual(m["best_fit"], "linear")
        self.assertAlmostEqual(m["models"]["linear"]["a"], 250, delta=1e-6)
        self.assertEqual(m["peak_status"], "unbounded")
        self.assertEqual(m["models"]["usl"]["peak_status"], "no_peak")
        self.assertNotIn("peak_workers", m["models"]["usl"])
        self.assertEqual(self.regions_in_order(r), ["baseline", "linear", "linear", "linear", "linear"])
        self.assertEqual(a["scaling_regions"]["linear_scaling"]["bands"], [2, 4, 8, 16])
        self.assertEqual(a["scaling_regions"]["degradation"]["bands"], [])
        self.assertEqual(a["recommendations"][0]["type"], "test_more_workers")
        # 8000 TPS at 250 per worker: 32 workers, twice the largest band
        w = a["capacity"]["workers_for_tps"]
        self.assertEqual((w["status"], w["workers"], w["extrapolated"]), ("ok", 32, True))
        self.assertEqual(a["capacity"]["tps_under_latency"]["status"], "unbounded")
        self.assertIn("for 8000 TPS: 32 workers", out)
        self.assertIn("[extrapolation: outside the measured 1 to 16 workers]", out)
        self.assertIn("n/a (unbounded:", out)
        self.assertIn("predicted peak: not reached", out)

    def test_peak_and_decline(self):
        # CRLF, quoted header cells, a notes column with commas and quotes
        out, r = self.analyze(data("peak_decline.csv"))
        a = r["analysis"]
        usl = a["mathematical_models"]["models"]["usl"]
        self.assertEqual(a["mathematical_models"]["best_fit"], "usl")
        self.assertAlmostEqual(usl["sigma"], 0.030, delta=0.001)
        self.assertAlmostEqual(usl["kappa"], 0.00080, delta=0.00002)
        self.assertAlmostEqual(usl["peak_workers"], 35, delta=0.5)
        self.assertFalse(usl["peak_extrapolated"])
        self.assertTrue(usl["peak_significant"])
        regions = self.regions_in_order(r)
        self.assertEqual(regions[0], "baseline")
        self.assertEqual(regions[-2:], ["degradation", "degradation"])
        sr = a["scaling_regions"]
        self.assertEqual([sr[k]["bands"] for k in
                          ("linear_scaling", "diminishing_returns", "saturation", "degradation")],
                         [[2, 4], [8, 16], [24, 32, 48], [64, 96]])
        self.assertEqual(a["optimal_configuration"]["workers"], 32)
        self.assertEqual(len(a["inflection_points"]), 1)
        self.assertEqual(a["inflection_points"][0]["direction"], "concave_to_convex")
        types = [x["type"] for x in a["recommendations"]]
        self.assertEqual(types[0], "reduce_workers")
        self.assertIn("raise_connections", types)
        q = a["queueing"][9]   # the 32 connections are busy all the time: 64 workers queue
        self.assertEqual((q["workers"], q["connections"]), (96, 32))
        self.assertAlmostEqual(q["utilisation"], 1, delta=1e-3)
        self.assertGreater(q["p_wait"], 0.9)
        self.assertAlmostEqual(q["littles_ratio"], 1, delta=1e-3)
        self.assertEqual(r["bands"][9]["pool_wait_avg_ms"], 14.233)
        self.assertIn("inflection point: 61.0 workers (concave -> convex, between 48 and 64 workers)", out)

    def test_region_thresholds(self):
        # step efficiencies 0.96, 0.82, 0.72, 0.40, 0.22, 0.04, -0.01, then below -0.05
        out, r = self.analyze(data("peak_decline.csv"), "--region-linear", "0.9", "--region-diminishing", "0.5",
                              "--region-saturation", "0")
        sr = r["analysis"]["scaling_regions"]
        self.assertEqual(sr["thresholds"], {"linear": 0.9, "diminishing": 0.5, "saturation": 0})
        self.assertEqual([sr[k]["bands"] for k in
                          ("linear_scaling", "diminishing_returns", "saturation", "degradation")],
                         [[2], [4, 8], [16, 24, 32], [48, 64, 96]])
        self.assertIn("each added worker brought at least 90% of", out)
        self.assertIn("throughput stalled or fell (added workers brought 0% or less", " ".join(out.split()))
        # one given, the others at their defaults; out of order is bad input, named
        p = subprocess.run([STORMDB, "analyze", data("peak_decline.csv"), "--region-linear", "0.25"],
                           capture_output=True, text=True, timeout=60)
        self.assertExit(p, 2)
        self.assertIn("--region-linear (0.25) > --region-diminishing (0.3)", p.stderr)

    def test_saved_thresholds(self):
        # a study's file is re-analysed with the thresholds it was analysed with, unless flags say otherwise
        with open(os.path.join(SOURCE, "tests", "data", "reporters", "study.json")) as f:
            doc = json.load(f)
        doc["analysis"]["options"]["thresholds"] = {"linear": 0.95, "diminishing": 0.5, "saturation": 0.1}
        path = os.path.join(self.tmp, "study.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        out, r = self.analyze(path)
        self.assertEqual(r["analysis"]["scaling_regions"]["thresholds"],
                         {"linear": 0.95, "diminishing": 0.5, "saturation": 0.1})
        out, r = self.analyze(path, "--region-linear", "0.9")
        self.assertEqual(r["analysis"]["scaling_regions"]["thresholds"],
                         {"linear": 0.9, "diminishing": 0.3, "saturation": -0.05})
        doc["analysis"]["options"]["thresholds"] = {"linear": 0.1, "diminishing": 0.5}
        with open(path, "w") as f:
            json.dump(doc, f)
        p = subprocess.run([STORMDB, "analyze", path], capture_output=True, text=True, timeout=60)
        self.assertExit(p, 2)
        self.assertIn("study.json: the region thresholds must keep analysis.options.thresholds.linear (0.1) >",
                      p.stderr)

    def test_extrapolated_capacity(self):
        out, r = self.analyze(data("still_scaling.csv"), "--target-tps", "2200", "--max-latency-ms", "15")
        c = r["analysis"]["capacity"]
        self.assertEqual((c["workers_for_tps"]["workers"], c["workers_for_tps"]["extrapolated"]), (25, True))
        self.assertEqual((c["tps_under_latency"]["workers"], c["tps_under_latency"]["extrapolated"]), (38, True))
        self.assertEqual(c["tps_under_latency"]["latency_kind"], "mean")
        self.assertEqual(out.count("[extrapolation: outside the measured 1 to 16 workers]"), 2)
        # within range: a p95 target (the measured p95/mean ratio 1.8 scales the mean)
        out, r = self.analyze(data("still_scaling.csv"), "--max-latency-ms", "15", "--latency-kind", "p95")
        t = r["analysis"]["capacity"]["tps_under_latency"]
        self.assertEqual((t["latency_kind"], t["workers"], t["extrapolated"]), ("p95", 13, False))
        self.assertAlmostEqual(r["analysis"]["capacity"]["p95_ratio"], 1.8, delta=1e-9)
        self.assertNotIn("extrapolation", out.split("CAPACITY")[1].split("RECOMMENDATIONS")[0])
        # beyond the peak: unreachable, said so
        out, r = self.analyze(data("still_scaling.csv"), "--target-tps", "5000")
        self.assertEqual(r["analysis"]["capacity"]["workers_for_tps"]["status"], "unreachable")
        self.assertIn("for 5000 TPS: n/a (unreachable:", out)

    def test_slo(self):
        out, r = self.analyze(data("peak_decline.csv"), "--slo-p95-ms", "5")
        o = r["analysis"]["optimal_configuration"]
        self.assertEqual((o["status"], o["workers"], o["p95_objective_ms"]), ("ok", 8, 5))
        out, r = self.analyze(data("peak_decline.csv"), "--slo-p95-ms", "1")
        o = r["analysis"]["optimal_configuration"]
        self.assertEqual(o["status"], "objective_unmet")
        self.assertNotIn("workers", o)
        self.assertEqual(r["analysis"]["recommendations"][0]["type"], "meet_latency")
        self.assertIn("none: objective_unmet", out)

    def test_result_json(self):
        # docs/results.md shape, with histograms: the exact latency sums are used
        out, r = self.analyze(data("result.json"))
        a = r["analysis"]
        usl = a["mathematical_models"]["models"]["usl"]
        self.assertEqual(a["mathematical_models"]["best_fit"], "usl")
        self.assertAlmostEqual(usl["sigma"], 0.1, delta=1e-3)
        self.assertAlmostEqual(usl["kappa"], 0.01, delta=1e-4)
        self.assertAlmostEqual(usl["peak_workers"], math.sqrt(0.9 / 0.01), delta=0.05)
        with open(data("result.json")) as f:
            source = json.load(f)
        for band, src in zip(r["bands"], source["bands"]):
            n, _, _, total, sumsq = src["histogram"].split()[1:6]
            mean = int(total) / int(n) / 1e6
            self.assertAlmostEqual(band["statistics"]["latency_mean_ms"], mean, delta=1e-9)
            var = (float(sumsq) / 1e12 - int(n) * mean * mean) / (int(n) - 1)
            self.assertAlmostEqual(band["statistics"]["latency_sd_ms"], math.sqrt(var), delta=1e-6)
            self.assertEqual(band["band_number"], src["band_number"])
        self.assertEqual(self.regions_in_order(r)[-1], "degradation")
        # the v0.2 progressive shape: the same bands without histograms, the same fit
        _, v02 = self.analyze(data("progressive_v02.json"))
        usl2 = v02["analysis"]["mathematical_models"]["models"]["usl"]
        for k in ("sigma", "kappa", "lambda", "peak_workers"):
            self.assertAlmostEqual(usl2[k], usl[k], delta=1e-6 * max(1, abs(usl[k])))
        self.assertEqual([b["statistics"]["region"] for b in v02["bands"]],
                         [b["statistics"]["region"] for b in r["bands"]])

    def test_failed_band_is_skipped(self):
        # a study whose band could not run (the server was gone) keeps it in
        # its JSON without figures: readers analyse the measured bands
        with open(data("result.json")) as f:
            doc = json.load(f)
        measured = len(doc["bands"])
        doc["bands"].insert(1, {"band_number": 99, "workers": 3, "connections": 3, "duration_seconds": 0,
                                "status": "failed", "error": "the server has been unreachable for 10 s"})
        path = os.path.join(self.tmp, "with_failed.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        _, r = self.analyze(path)
        self.assertEqual(len(r["bands"]), measured)
        self.assertNotIn(99, [b["band_number"] for b in r["bands"]])
        self.assertEqual(r["analysis"]["mathematical_models"]["best_fit"], "usl")

    def test_unicode_on_a_terminal(self):
        master, slave = pty.openpty()
        p = subprocess.Popen([STORMDB, "analyze", data("usl_exact.csv")], stdout=slave,
                             stderr=subprocess.DEVNULL)
        os.close(slave)
        chunks = []
        while True:   # read as it comes: a pty holds only a few kB
            try:
                chunk = os.read(master, 65536)
            except OSError:   # EIO: the child closed its end
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(master)
        self.assertEqual(p.wait(timeout=120), 0)
        out = b"".join(chunks).decode()
        self.assertIn("best fit: usl (R² 1.0000", out)
        self.assertIn("σ", out)
        self.assertNotRegex(out, FORBIDDEN)

    def test_few_bands(self):
        path = self.script("two.csv", "workers,tps\n1,100\n2,180\n")
        out, r = self.analyze(path)
        a = r["analysis"]
        self.assertEqual(a["status"], "too_few_points")
        self.assertEqual(a["mathematical_models"]["models"]["usl"]["status"], "too_few_points")
        self.assertNotIn("sigma", a["mathematical_models"]["models"]["usl"])
        self.assertIn("n/a", out)
        self.assertEqual(a["optimal_configuration"]["workers"], 2)
        self.assertNotIn("p95_ms", a["optimal_configuration"])
        self.assertIn("more_bands", [x["type"] for x in a["recommendations"]])

    # ---- malformed input ---------------------------------------------------------

    def test_malformed_csv(self):
        msg = self.bad("noworkers.csv", "band,connections,tps\n1,1,100\n")
        self.assertRegex(msg, r"noworkers\.csv:1: the header has no 'workers' column")
        msg = self.bad("notps.csv", "\n\nworkers,TPS \n1,100\n2,abc\n")
        self.assertRegex(msg, r"notps\.csv:5: column tps: 'abc' is not a number$")
        rows = "workers,tps,p95_latency_ms\n" + "".join(f"{n},{100 * n},5\n" for n in (1, 2, 4, 8, 16))
        msg = self.bad("badtps.csv", rows + "32,abc,5\n")
        self.assertRegex(msg, r"badtps\.csv:7: column tps: 'abc' is not a number$")
        msg = self.bad("ragged.csv", "workers,tps,errors\r\n1,100,0\r\n2,190\r\n")
        self.assertRegex(msg, r"ragged\.csv:3: 2 fields, but the header has 3$")
        msg = self.bad("empty.csv", "")
        self.assertRegex(msg, r"empty\.csv: the file is empty$")
        msg = self.bad("blank.csv", "\n \n")
        self.assertRegex(msg, r"blank\.csv: the file is empty$")
        msg = self.bad("header.csv", "workers,tps\n")
        self.assertRegex(msg, r"header\.csv: no bands to analyse$")
        msg = self.bad("quote.csv", 'workers,tps,notes\n1,100,"open\n2,200,x\n')
        self.assertRegex(msg, r"quote\.csv:2: a quoted field is not closed")
        msg = self.bad("zero.csv", "workers,tps\n0,100\n")
        self.assertRegex(msg, r"zero\.csv:2: column workers: '0' is not a whole number >= 1$")
        msg = self.bad("neg.csv", "workers,tps\n1,-5\n")
        self.assertRegex(msg, r"neg\.csv:2: column tps: '-5' is negative$")
        msg = self.bad("hex.csv", "workers,tps\n1,0x10\n")
        self.assertRegex(msg, r"hex\.csv:2: column tps: '0x10' is not a number$")
        msg = self.bad("emptycell.csv", "workers,tps\n1,\n")
        self.assertRegex(msg, r"emptycell\.csv:2: column tps is empty$")
        msg = self.bad("missing.csv", None)
        self.assertRegex(msg, r"missing\.csv: cannot read: No such file or directory$")

    def test_malformed_json(self):
        msg = self.bad("syntax.json", '{\n  "bands": [\n    {"workers": 1 "performance": {}}\n  ]\n}\n')
        self.assertRegex(msg, r"syntax\.json:3: invalid JSON: ")
        msg = self.bad("nobands.json", '{"schema_version": 1, "metadata": {}}\n')
        self.assertRegex(msg, r"nobands\.json: not a stormdb result: there is no bands array$")
        msg = self.bad("notps.json", json.dumps({"bands": [
            {"workers": 1, "performance": {"tps": 10}}, {"workers": 2, "performance": {"avg_latency_ms": 3}}]}))
        self.assertRegex(msg, r"notps\.json: not a stormdb result: bands\[2\] has no performance\.tps$")
        msg = self.bad("string.json", json.dumps({"bands": [{"workers": 1, "performance": {"tps": "fast"}}]}))
        self.assertRegex(msg, r"string\.json: bands\[1\]\.performance\.tps: 'fast' is not a number$")
        msg = self.bad("version.json", json.dumps({"schema_version": 2, "bands": []}))
        self.assertRegex(msg, r"version\.json: schema_version 2 is not one this stormdb reads \(1\)$")
        msg = self.bad("array.json", "[1, 2]")
        self.assertRegex(msg, r"array\.json: not a stormdb result: the top level is an array")
        msg = self.bad("hist.json", json.dumps({"bands": [
            {"workers": 1, "performance": {"tps": 10}, "histogram": "v1 nonsense"}]}))
        self.assertRegex(msg, r"hist\.json: bands\[1\]\.histogram: not a stormdb histogram")

    def test_arguments(self):
        for args, pattern in [
            ((), r"which file\?"),
            ((data("linear.csv"), data("usl_exact.csv")), r"one file at a time"),
            ((data("linear.csv"), "--bogus"), r"unknown option '--bogus'"),
            ((data("linear.csv"), "--target-tps", "abc"), r"--target-tps needs a positive number .* not 'abc'"),
            ((data("linear.csv"), "--target-tps=-3"), r"--target-tps needs a positive number"),
            ((data("linear.csv"), "--slo-p95-ms"), r"--slo-p95-ms needs a value"),
            ((data("linear.csv"), "--max-latency-ms", "inf"), r"--max-latency-ms needs a positive number"),
            ((data("linear.csv"), "--latency-kind", "p95"), r"--latency-kind goes with --max-latency-ms"),
            ((data("linear.csv"), "--max-latency-ms", "5", "--latency-kind", "p99"), r"--latency-kind is mean or p95, not 'p99'"),
        ]:
            with self.subTest(args=args):
                p = self.stormdb("analyze", *args, with_dsn=False)
                self.assertExit(p, 2)
                self.assertRegex(p.stderr, "^stormdb analyze: " + pattern)
                self.assertEqual(p.stderr.count("\n"), 1)
        p = self.stormdb("analyze", "--help", with_dsn=False)
        self.assertExit(p, 0)
        for word in ("usage: stormdb analyze FILE", "--json OUT", "--slo-p95-ms", "--target-tps",
                     "--max-latency-ms", "extrapolation", "docs/analysis.md"):
            self.assertIn(word, p.stdout)
        # --name=value works like --name value
        p = self.stormdb("analyze", data("linear.csv"), "--target-tps=8000", with_dsn=False)
        self.assertExit(p, 0)
        self.assertIn("for 8000 TPS: 32 workers", p.stdout)

    def test_unwritable_json(self):
        p = self.stormdb("analyze", data("linear.csv"), "--json", os.path.join(self.tmp, "no", "such", "dir.json"),
                         with_dsn=False)
        self.assertExit(p, 1)
        self.assertIn("cannot write", p.stderr)

    # ---- docs/analysis.md ----------------------------------------------------------

    def doc_block(self, kind):
        with open(os.path.join(SOURCE, "docs", "analysis.md")) as f:
            page = f.read()
        found = re.search(r"<!-- analyze-%s: (.*?) -->\s*```\w*\n(.*?)```" % kind, page, re.S)
        self.assertIsNotNone(found, f"docs/analysis.md has an analyze-{kind} block")
        return found.group(1).split(), found.group(2)

    def test_docs_worked_example_text(self):
        args, shown = self.doc_block("example")
        p = subprocess.run([STORMDB, "analyze", *args], capture_output=True, text=True, timeout=120, cwd=SOURCE)
        self.assertExit(p, 0)
        self.assertEqual(p.stdout, shown)

    def compare(self, shown, actual, path):
        """Every figure and string shown in the doc is in the actual JSON.
        '...' as a key, an array element or the end of a string stands for
        what the doc leaves out."""
        if isinstance(shown, dict):
            self.assertIsInstance(actual, dict, path)
            for k, v in shown.items():
                if k == "...":
                    continue
                self.assertIn(k, actual, path)
                self.compare(v, actual[k], f"{path}.{k}")
        elif isinstance(shown, list):
            self.assertIsInstance(actual, list, path)
            elided = bool(shown) and shown[-1] == "..."
            items = shown[:-1] if elided else shown
            if not elided:
                self.assertEqual(len(items), len(actual), path)
            for i, v in enumerate(items):
                self.compare(v, actual[i], f"{path}[{i}]")
        elif isinstance(shown, bool) or shown is None:
            self.assertEqual(shown, actual, path)
        elif isinstance(shown, (int, float)):
            self.assertIsInstance(actual, (int, float), path)
            self.assertAlmostEqual(actual, shown, delta=max(1e-6, 1e-6 * abs(shown)) if shown == 0 else
                                   5e-6 * abs(shown) + 1e-9, msg=path)
        elif isinstance(shown, str) and shown.endswith("..."):
            self.assertTrue(actual.startswith(shown[:-3].rstrip()), f"{path}: {actual!r}")
        else:
            self.assertEqual(shown, actual, path)

    def test_docs_worked_example_json(self):
        args, shown = self.doc_block("json-example")
        out = os.path.join(self.tmp, "example.json")
        p = subprocess.run([STORMDB, "analyze", *args, "--json", out], capture_output=True, text=True,
                           timeout=120, cwd=SOURCE)
        self.assertExit(p, 0)
        with open(out) as f:
            actual = json.load(f)
        self.compare(json.loads(shown), actual, "$")


if __name__ == "__main__":
    main()
