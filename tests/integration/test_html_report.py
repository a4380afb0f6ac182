"""The HTML report (docs/reporters.md): `stormdb report` builds one
self-contained page from a saved study (tests/data/reporters/study.json, a
real 4-band study of simple with server observation), from the same study's
CSV (the analysis is run again) and from a v0.2 JSON; the page has no
http:// or https:// reference and an <svg> per chart; headless Chromium
renders it to a PNG that is decoded here (zlib and struct only) and must
be far from blank. Bad input ends with exit status 2 and the file's name."""
import os
import re
import shutil
import struct
import subprocess
import tempfile
import zlib

from harness import SOURCE, StormdbTest, main

DATA = os.path.join(SOURCE, "tests", "data", "reporters")

# The charts of a study with a fitted USL and server observation: TPS with
# models, latency percentiles, latency distribution, marginal gain, wait events.
CHART_TITLES = ["Throughput against workers", "Latency percentiles against workers",
                "Latency distribution of each band", "Marginal gain per band, over its scaling region",
                "What the workload's active backends waited on, per band"]


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def png_pixels(path):
    """Decodes an 8-bit RGB or RGBA, non-interlaced PNG: (width, height, rows
    of bytes, bytes per pixel)."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, [], None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + n
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(height):
        kind, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if kind == 1:
                line[x] = (line[x] + a) & 255
            elif kind == 2:
                line[x] = (line[x] + b) & 255
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, rows, bpp


class HtmlReport(StormdbTest):
    def report(self, source, *extra):
        out = os.path.join(self.tmp, os.path.basename(source) + ".html")
        p = self.stormdb("report", source, "-o", out, *extra, with_dsn=False)
        self.assertExit(p, 0)
        self.assertEqual(p.stdout.strip(), f"report written to {out}")
        with open(out) as f:
            return out, f.read()

    def check_self_contained(self, html):
        self.assertNotRegex(html, r"https?://", "no reference to anything outside the file")
        self.assertNotRegex(html, r"<script|<link |<img |@import|url\((?!#)", "no scripts, links or fetches")
        self.assertNotRegex(html, r"\bNaN\b|\bnan\b|\binf\b|Infinity|\bnil\b")

    def test_study_report(self):
        out, html = self.report(os.path.join(DATA, "study.json"))
        self.check_self_contained(html)
        svgs = re.findall(r"<svg\b.*?</svg>", html, re.S)
        self.assertEqual(len(svgs), len(CHART_TITLES), "one <svg> per chart")
        for title, svg in zip(CHART_TITLES, svgs):
            self.assertIn(f"<title>{title.replace(chr(39), '&#39;')}</title>", svg)
        tps_svg = svgs[0]
        # every fitted model drawn, the USL peak marked
        for model in ("linear", "logarithmic", "exponential", "logistic", "usl"):
            self.assertRegex(tps_svg, rf">{model} \(R² [0-9.]+\)")
        self.assertIn("USL peak N* = ", tps_svg)
        self.assertGreaterEqual(tps_svg.count("<path d=\"M"), 5, "a curve per model")
        for text in ("Summary and optimal configuration", "optimal configuration", "Bands", "Server observation",
                     "Key figures per band", "Recommendations", "cpu_bound"):
            self.assertIn(text, html)
        self.screenshot(out)

    def test_csv_report_runs_the_analysis(self):
        _, html = self.report(os.path.join(DATA, "study.csv"), "--title", "from the CSV")
        self.check_self_contained(html)
        self.assertIn("<h1>from the CSV</h1>", html)
        self.assertIn("Throughput against workers", html)
        self.assertIn("usl (R² ", html, "the analysis was run again over the CSV's bands")
        self.assertNotIn("Latency distribution of each band", html, "a CSV has no histograms")

    def test_v02_report(self):
        _, html = self.report(os.path.join(DATA, "v02.json"))
        self.check_self_contained(html)
        self.assertIn("imdb_plugin", html)
        self.assertIn("io_bound", html, "the file's bottleneck analysis is kept")
        self.assertGreaterEqual(html.count("<svg"), 3)

    def test_bad_input(self):
        bad = self.script("bad.json", '{"bands": [{"workers": 1}]}\n')
        p = self.stormdb("report", bad, with_dsn=False)
        self.assertExit(p, 2)
        self.assertIn(f"stormdb report: {bad}: not a stormdb result: bands[1] has no performance object", p.stderr)
        p = self.stormdb("report", os.path.join(self.tmp, "missing.json"), with_dsn=False)
        self.assertExit(p, 2)
        self.assertIn("missing.json: cannot read", p.stderr)
        p = self.stormdb("report", with_dsn=False)
        self.assertExit(p, 2)
        p = self.stormdb("report", os.path.join(DATA, "study.json"), "-o", os.path.join(self.tmp, "no", "such.html"),
                         with_dsn=False)
        self.assertExit(p, 1)

    def screenshot(self, html_path):
        browser = chromium()
        if not browser:
            self.skipTest("chromium is not installed (Debian: apt-get install chromium; install-deps.sh does): "
                          "the page was checked, not rendered")
        png = os.path.join(self.tmp, "report.png")
        profile = tempfile.mkdtemp(prefix="chromium-", dir=self.tmp)
        p = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                            "--disable-background-networking", "--disable-component-update", "--disable-sync",
                            f"--user-data-dir={profile}", f"--screenshot={png}", "--window-size=1280,2400",
                            "file://" + os.path.abspath(html_path)],
                           capture_output=True, text=True, timeout=180)
        self.assertTrue(os.path.exists(png), f"no screenshot: {p.returncode}\n{p.stderr[-2000:]}")
        keep = os.environ.get("STORMDB_KEEP_SCREENSHOT")
        if keep:
            shutil.copy(png, keep)
        width, height, rows, bpp = png_pixels(png)
        self.assertEqual((width, height), (1280, 2400))
        colours, ink = set(), 0
        for row in rows[::4]:
            for x in range(0, width * bpp, 4 * bpp):
                px = row[x:x + 3]
                colours.add(px)
                if px[0] < 235 or px[1] < 235 or px[2] < 235:
                    ink += 1
        sampled = (height // 4) * (width // 4)
        self.assertGreater(ink / sampled, 0.05, "the page is not blank")
        self.assertGreater(len(colours), 50, "charts in several colours, text, shading")
        # the charts' colours are there: the USL's red, a model's blue, a region's green shading
        def near(rgb):
            return any(abs(c[0] - rgb[0]) < 30 and abs(c[1] - rgb[1]) < 30 and abs(c[2] - rgb[2]) < 30 for c in colours)
        self.assertTrue(near((214, 39, 40)), "the USL curve (red)")
        self.assertTrue(near((31, 119, 180)) or near((78, 121, 167)), "blue series")


if __name__ == "__main__":
    main()
