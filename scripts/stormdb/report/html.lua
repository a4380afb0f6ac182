-- stormdb.report.html: a run as one self-contained HTML page (no network,
-- no scripts, no fonts to fetch): the summary and optimal configuration;
-- TPS against workers with every fitted model and the USL peak; latency
-- percentiles against workers; each band's latency distribution (from its
-- serialised histogram); the marginal gain per band over its scaling
-- region; the per-band table; the open loop's figures; the server's
-- observations (wait events per band, key deltas, the bottleneck) when the
-- run has them. Charts are inline SVG (stormdb.report.svg) and print in
-- colour or grey (every series also differs by dash or marker).
--
--   render(run [, opts]) -> html text
--     run   the result document (docs/results.md, docs/configuration.md):
--           metadata, configuration, bands[], analysis (optional),
--           bottleneck_analysis, rate_analysis, server_settings; nil
--           stands for a missing figure (denull a decoded file first)
--     opts  { title = "..." , source = "path it was read from" }
--
-- Used by the html reporter (live, rewritten after every band) and by
-- `stormdb report RESULT.json -o report.html`.

local svg = require "stormdb.report.svg"

local M = {}

local esc = svg.escape
local finite = svg.finite

local num = require("stormdb.report").num

-- TPS and rates: enough digits at any scale, with thousands separated.
local function rate(x)
  if not finite(x) then return "n/a" end
  local a = math.abs(x)
  local s = a >= 100 and string.format("%.1f", x) or a >= 1 and string.format("%.2f", x) or string.format("%.4g", x)
  local int, rest = s:match("^(%-?%d+)(.*)$")
  if int and #int > 4 then
    int = int:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^(%-?),", "%1")
    s = int .. rest
  end
  return s
end

local function ms(x)
  if not finite(x) then return "n/a" end
  local a = math.abs(x)
  if a >= 100 then return string.format("%.1f", x) end
  if a >= 1 then return string.format("%.2f", x) end
  return string.format("%.3f", x)
end

local function pct(x, fmt)
  if not finite(x) then return "n/a" end
  return string.format(fmt or "%.1f%%", 100 * x)
end

local function workers_text(x)
  if not finite(x) then return "n/a" end
  if x == math.floor(x) then return string.format("%d", x) end
  return string.format("%.2f", x)
end

local function tbl(x) return type(x) == "table" and x or nil end

-- ---- colours -------------------------------------------------------------------

local REGION = {
  baseline = { fill = "#e5e7eb", word = "baseline" },
  linear = { fill = "#c7ecd0", word = "linear scaling" },
  diminishing = { fill = "#fdf0b8", word = "diminishing returns" },
  saturation = { fill = "#fbd3a6", word = "saturation" },
  degradation = { fill = "#f6b8b8", word = "degradation" },
}
local REGION_ORDER = { "baseline", "linear", "diminishing", "saturation", "degradation" }

local MODEL_STYLE = {
  linear = { color = "#1f77b4", dash = "8 5", width = 1.8 },
  logarithmic = { color = "#2ca02c", dash = "2 4", width = 2.2 },
  exponential = { color = "#9467bd", dash = "12 4 2 4", width = 1.8 },
  logistic = { color = "#ff7f0e", dash = "16 6", width = 1.8 },
  usl = { color = "#d62728", width = 3 },
}
local MODELS = { "linear", "logarithmic", "exponential", "logistic", "usl" }

local WAITS = {
  { key = "cpu", label = "CPU (no wait)", color = "#4e79a7" },
  { key = "io", label = "IO", color = "#f28e2b" },
  { key = "lock", label = "Lock", color = "#e15759" },
  { key = "lwlock", label = "LWLock", color = "#b07aa1" },
  { key = "ipc", label = "IPC", color = "#76b7b2" },
  { key = "client", label = "Client", color = "#59a14f" },
  { key = "other", label = "other", color = "#bab0ac" },
}

-- Band colours from cool (few workers) to warm (many).
local function ramp(i, n)
  local t = n <= 1 and 0 or (i - 1) / (n - 1)
  local stops = { { 49, 54, 149 }, { 69, 117, 180 }, { 116, 173, 209 }, { 253, 174, 97 }, { 244, 109, 67 },
    { 165, 0, 38 } }
  local pos = t * (#stops - 1)
  local k = math.min(#stops - 2, math.floor(pos))
  local f = pos - k
  local a, b = stops[k + 1], stops[k + 2]
  return string.format("#%02x%02x%02x", math.floor(a[1] + (b[1] - a[1]) * f + 0.5),
    math.floor(a[2] + (b[2] - a[2]) * f + 0.5), math.floor(a[3] + (b[3] - a[3]) * f + 0.5))
end

-- ---- the models ------------------------------------------------------------------

-- X(N) of a fitted model from its parameters (docs/analysis.md, fits).
function M.model_value(name, f, n)
  if type(f) ~= "table" or f.status ~= "ok" then return nil end
  local y
  if name == "linear" then
    y = (f.a or 0) * n + (f.b or 0)
  elseif name == "logarithmic" then
    y = n > 0 and (f.a or 0) * math.log(n) + (f.b or 0) or nil
  elseif name == "exponential" then
    y = (f.a or 0) * math.exp((f.b or 0) * n)
  elseif name == "logistic" then
    y = (f.L or 0) / (1 + math.exp(-(f.k or 0) * (n - (f.x0 or 0))))
  elseif name == "usl" then
    local ok, analysis = pcall(require, "stormdb.analysis")
    if ok and type(analysis.usl_predict) == "function" then
      local rok, v = pcall(analysis.usl_predict, f, n)
      y = rok and v or nil
    else
      local d = 1 + (f.sigma or 0) * (n - 1) + (f.kappa or 0) * n * (n - 1)
      y = d > 0 and (f.lambda or 0) * n / d or nil
    end
  end
  if finite(y) then return y end
  return nil
end

-- ---- the bands -------------------------------------------------------------------

local function complete_bands(run)
  local out = {}
  for _, b in ipairs(tbl(run.bands) or {}) do
    local p = tbl(b.performance)
    if (b.status == nil or b.status == "complete") and p and finite(p.tps) and finite(b.workers) then
      out[#out + 1] = b
    end
  end
  return out
end

local function by_workers(bands)
  local sorted = {}
  for i, b in ipairs(bands) do sorted[i] = b end
  table.sort(sorted, function(a, b)
    if a.workers ~= b.workers then return a.workers < b.workers end
    if (a.connections or 0) ~= (b.connections or 0) then return (a.connections or 0) < (b.connections or 0) end
    return (a.band_number or 0) < (b.band_number or 0)
  end)
  return sorted
end

local function region_of(run, b, i)
  local a = tbl(b.analysis)
  if a and type(a.scaling_region) == "string" then return a.scaling_region end
  local an = tbl(run.analysis)
  local s = an and tbl(an.bands) and an.bands[i]
  return s and type(s.region) == "string" and s.region ~= "none" and s.region or nil
end

-- ---- sections --------------------------------------------------------------------

local CSS = [[
:root { color-scheme: light; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #1b1f24; background: #ffffff;
  margin: 0 auto; max-width: 1000px; padding: 18px 22px 40px; line-height: 1.4; font-size: 14px; }
h1 { font-size: 24px; margin: 4px 0 2px; }
h2 { font-size: 18px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 2px solid #d0d7de; }
h3 { font-size: 15px; margin: 16px 0 6px; }
p { margin: 6px 0; }
.sub { color: #57606a; margin: 0 0 12px; }
.banner { background: #fff8c5; border: 1px solid #d4a72c; padding: 8px 12px; border-radius: 6px; margin: 10px 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 10px; margin: 10px 0; }
.card { border: 1px solid #d0d7de; border-radius: 8px; padding: 10px 12px; background: #f6f8fa; }
.card .k { font-size: 12px; color: #57606a; text-transform: uppercase; letter-spacing: .04em; }
.card .v { font-size: 20px; font-weight: bold; margin-top: 2px; }
.card .d { font-size: 12px; color: #424a53; margin-top: 2px; }
.card.best { background: #dafbe1; border-color: #4ac26b; }
.card.warn { background: #fff1e5; border-color: #e16f24; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; font-size: 11.5px; }
th, td { border: 1px solid #d0d7de; padding: 3px 4px; text-align: right; }
td { white-space: nowrap; }
td small { display: block; color: #57606a; font-size: 10.5px; }
.tw { overflow-x: auto; }
th { background: #eaeef2; }
td.l, th.l { text-align: left; white-space: normal; }
tr.opt td { background: #dafbe1; font-weight: bold; }
.region { display: inline-block; padding: 0 6px; border-radius: 4px; border: 1px solid #aaa; }
.chart { width: 100%; height: auto; display: block; margin: 8px 0 4px; border: 1px solid #e5e7eb; }
.fig { break-inside: avoid; page-break-inside: avoid; margin-bottom: 14px; }
.fig p.cap { font-size: 12.5px; color: #424a53; }
ul, ol { margin: 6px 0 6px 20px; padding: 0; }
li { margin: 3px 0; }
code { font-family: "DejaVu Sans Mono", monospace; font-size: 12px; background: #f6f8fa; padding: 0 3px; }
footer { margin-top: 30px; color: #57606a; font-size: 12px; border-top: 1px solid #d0d7de; padding-top: 8px; }
@page { margin: 12mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  h2 { break-after: avoid; page-break-after: avoid; }
  table, .fig, .cards { break-inside: avoid; page-break-inside: avoid; }
  .card, th, tr.opt td, .banner { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .chart { border: none; }
  .tw { overflow: visible; }
}
]]

local function card(key, value, detail, class)
  return string.format('<div class="card%s"><div class="k">%s</div><div class="v">%s</div>%s</div>',
    class and (" " .. class) or "", esc(key), esc(value), detail and ('<div class="d">' .. esc(detail) .. "</div>") or "")
end

local function header(out, run, opts)
  local md = tbl(run.metadata) or {}
  local conf = tbl(run.configuration) or {}
  local title = opts.title or string.format("stormdb report: %s", md.test_name or md.workload or "run")
  out[#out + 1] = "<h1>" .. esc(title) .. "</h1>"
  local parts = {}
  if md.workload or md.workload_type then parts[#parts + 1] = "workload " .. (md.workload or md.workload_type) end
  if md.strategy or conf.strategy then parts[#parts + 1] = "strategy " .. (md.strategy or conf.strategy) end
  if finite(md.bands_tested) or tbl(run.bands) then
    parts[#parts + 1] = string.format("%d band%s", #(run.bands or {}), #(run.bands or {}) == 1 and "" or "s")
  end
  if md.timestamp then parts[#parts + 1] = md.timestamp end
  if md.server_version then parts[#parts + 1] = "PostgreSQL " .. md.server_version end
  if md.version then parts[#parts + 1] = "stormdb " .. md.version end
  if finite(md.seed) then parts[#parts + 1] = string.format("seed %d", md.seed) end
  out[#out + 1] = '<p class="sub">' .. esc(table.concat(parts, " · ")) .. "</p>"
  local conf_parts = {}
  if finite(conf.duration_seconds) then
    conf_parts[#conf_parts + 1] = string.format("measure %s s per band", num(conf.duration_seconds, "%.4g"))
  end
  if finite(conf.warmup_seconds) then conf_parts[#conf_parts + 1] = "warmup " .. num(conf.warmup_seconds, "%.4g") .. " s" end
  if finite(conf.cooldown_seconds) then
    conf_parts[#conf_parts + 1] = "cooldown " .. num(conf.cooldown_seconds, "%.4g") .. " s"
  end
  if finite(conf.min_workers) and finite(conf.max_workers) then
    conf_parts[#conf_parts + 1] = string.format("workers %d to %d", conf.min_workers, conf.max_workers)
  elseif finite(conf.workers) then
    conf_parts[#conf_parts + 1] = string.format("%d workers, %s connections", conf.workers,
      workers_text(conf.connections))
  end
  if finite(conf.min_connections) and finite(conf.max_connections) then
    conf_parts[#conf_parts + 1] = string.format("connections %d to %d", conf.min_connections, conf.max_connections)
  end
  if finite(md.duration_total_seconds) then
    conf_parts[#conf_parts + 1] = string.format("%s s in all", num(md.duration_total_seconds, "%.0f"))
  end
  if #conf_parts > 0 then out[#out + 1] = '<p class="sub">' .. esc(table.concat(conf_parts, " · ")) .. "</p>" end
  if opts.source then out[#out + 1] = '<p class="sub">from <code>' .. esc(opts.source) .. "</code></p>" end
  if md.status == "running" then
    local planned = run.study and run.study.plan and #run.study.plan or conf.bands_planned
    out[#out + 1] = string.format('<p class="banner">This study is still running: %d of %s bands done. The page ' ..
      "is rewritten after every band.</p>", #(run.bands or {}), planned and tostring(planned) or "?")
  elseif md.status and md.status ~= "complete" then
    out[#out + 1] = '<p class="banner">Study ' .. esc(md.status) ..
      (md.stop_reason and (": " .. esc(md.stop_reason)) or "") .. "</p>"
  elseif md.stop_reason then
    out[#out + 1] = '<p class="banner">' .. esc(md.stop_reason) .. "</p>"
  end
end

local function summary(out, run, done)
  local a = tbl(run.analysis) or {}
  local opt = tbl(a.optimal_configuration)
  local models = tbl(a.mathematical_models)
  local usl = models and tbl(models.models) and tbl(models.models.usl)
  local ba = tbl(run.bottleneck_analysis) or tbl(a.bottleneck_analysis)
  out[#out + 1] = "<h2>Summary and optimal configuration</h2>"
  local best
  for _, b in ipairs(done) do
    if not best or b.performance.tps > best.performance.tps then best = b end
  end
  local cards = {}
  if opt and opt.status == "ok" then
    cards[#cards + 1] = card("optimal configuration", string.format("%s workers / %s conns", workers_text(opt.workers),
      workers_text(opt.connections)), string.format("%s TPS, p95 %s ms, confidence %s", rate(opt.tps), ms(opt.p95_ms),
      num(opt.confidence, "%.2f")), "best")
  elseif best then
    cards[#cards + 1] = card("highest throughput", string.format("%s workers / %s conns", workers_text(best.workers),
      workers_text(best.connections)), string.format("%s TPS, p95 %s ms", rate(best.performance.tps),
      ms(best.performance.p95_latency_ms)), "best")
  end
  if best then
    cards[#cards + 1] = card("peak measured TPS", rate(best.performance.tps),
      string.format("band %s, %s workers", tostring(best.band_number or "?"), workers_text(best.workers)))
  end
  if models and models.best_fit and models.best_fit ~= "none" then
    cards[#cards + 1] = card("best model", tostring(models.best_fit), string.format("R² %s, adjusted %s",
      num(models.r_squared, "%.4f"), num(models.adj_r_squared, "%.4f")))
  end
  if usl and usl.status == "ok" then
    cards[#cards + 1] = card("USL", string.format("σ %s, κ %s", num(usl.sigma, "%.4g"), num(usl.kappa, "%.3g")),
      usl.peak_status == "ok" and string.format("N* = %s workers, X(N*) = %s TPS%s", num(usl.peak_workers, "%.1f"),
        rate(usl.peak_tps), usl.peak_extrapolated and " (extrapolated)" or "")
      or "no peak (κ = 0): throughput levels off")
  end
  if models and models.status == "ok" then
    local peak = models.peak_status == "ok" and string.format("%s TPS", rate(models.predicted_peak_tps))
      or models.peak_status == "unbounded" and "not reached" or "n/a"
    cards[#cards + 1] = card("predicted peak", peak, models.peak_status == "ok" and
      string.format("at %s workers (%s)", num(models.predicted_peak_workers, "%.1f"), tostring(models.best_fit))
      or models.peak_status == "unbounded" and string.format("still rising at %s workers",
        num(models.predicted_peak_workers, "%.4g")) or nil)
    cards[#cards + 1] = card("saturation threshold", models.saturation_status == "ok" and
      (workers_text(models.saturation_workers) .. " workers") or "n/a", "95% of the predicted peak")
  end
  if ba and ba.primary_bottleneck then
    cards[#cards + 1] = card("bottleneck", tostring(ba.primary_bottleneck),
      string.format("confidence %s", num(ba.confidence, "%.2f")), ba.primary_bottleneck ~= "none" and "warn" or nil)
  end
  if #cards > 0 then out[#out + 1] = '<div class="cards">' .. table.concat(cards) .. "</div>" end
  if opt and opt.reasoning then out[#out + 1] = "<p>" .. esc(opt.reasoning) .. "</p>" end
  if a.status and a.status ~= "ok" and a.message then
    out[#out + 1] = "<p>Analysis: " .. esc(a.status) .. ": " .. esc(a.message) .. "</p>"
  elseif not run.analysis and run.analysis_note then
    out[#out + 1] = "<p>Analysis " .. esc(run.analysis_note) .. "</p>"
  end
  if #done == 0 then out[#out + 1] = "<p>No band has completed yet.</p>" end
end

local function figure(out, title, svg_text, caption)
  out[#out + 1] = '<div class="fig">' .. (title and ("<h3>" .. esc(title) .. "</h3>") or "") .. svg_text ..
    (caption and ('<p class="cap">' .. esc(caption) .. "</p>") or "") .. "</div>"
end

-- The workers axis: logarithmic when the study spans a wide range.
local function workers_axis(done, extra_max)
  local lo, hi = math.huge, 0
  for _, b in ipairs(done) do lo, hi = math.min(lo, b.workers), math.max(hi, b.workers) end
  if extra_max then hi = math.max(hi, extra_max) end
  local log = lo > 0 and hi / lo >= 16
  return { label = "workers", log = log, min = (not log) and 0 or nil, pad = 0.04 }, lo, hi
end

local function tps_chart(out, run, done)
  if #done == 0 then return end
  local a = tbl(run.analysis) or {}
  local mm = tbl(a.mathematical_models)
  local fits = mm and tbl(mm.models) or {}
  local usl = tbl(fits.usl)
  local peak_w = usl and usl.status == "ok" and usl.peak_status == "ok" and finite(usl.peak_workers) and usl.peak_workers
  local _, lo, hi = workers_axis(done)
  local xmax = hi
  if peak_w and peak_w > hi then xmax = math.min(peak_w * 1.2, hi * 4) end
  local xaxis = workers_axis(done, xmax)
  local ymax = 0
  for _, b in ipairs(done) do ymax = math.max(ymax, b.performance.tps) end
  if peak_w and usl.peak_tps then ymax = math.max(ymax, usl.peak_tps) end
  local chart = svg.chart { title = "Throughput against workers", width = 900, height = 380,
    x = xaxis, y = { label = "transactions per second", min = 0, max = ymax * 1.15 },
    desc = "Measured TPS of each band with the fitted scalability models" }
  local xlo = xaxis.log and lo / 1.2 or math.max(0.5, math.min(1, lo))
  for _, name in ipairs(MODELS) do
    local f = tbl(fits[name])
    if f and f.status == "ok" then
      local pts = {}
      local steps = 160
      for i = 0, steps do
        local n
        if xaxis.log then
          n = math.exp(math.log(xlo) + (math.log(xmax * 1.02) - math.log(xlo)) * i / steps)
        else
          n = xlo + (xmax * 1.02 - xlo) * i / steps
        end
        local y = M.model_value(name, f, n)
        pts[#pts + 1] = { n, y and y <= ymax * 1.15 and y >= -ymax * 0.1 and y or nil }
      end
      local st = MODEL_STYLE[name]
      chart:line(pts, { color = st.color, dash = st.dash, width = st.width, no_range = true,
        label = string.format("%s (R² %s)%s", name, num(f.r_squared, "%.3f"), mm.best_fit == name and ", best" or "") })
    end
  end
  local pts = {}
  for _, b in ipairs(done) do pts[#pts + 1] = { b.workers, b.performance.tps } end
  chart:markers(pts, { color = "#111111", fill = "#111111", shape = "circle", size = 4.5, label = "measured" })
  if peak_w then
    chart:vline(peak_w, { color = "#d62728", dash = "4 3",
      label = string.format("USL peak N* = %s, %s TPS", num(peak_w, "%.1f"), rate(usl.peak_tps)) })
    chart:markers({ { peak_w, usl.peak_tps } }, { color = "#d62728", fill = "#ffffff", shape = "diamond", size = 6,
      label = "USL peak" })
  end
  local cap = "Black dots: measured bands. Lines: every model that could be fitted, drawn from its parameters."
  if peak_w then cap = cap .. " The red diamond marks the USL peak (N*, X(N*))." end
  if not mm then cap = cap .. " No analysis in this result: no models." end
  figure(out, nil, chart:render(), cap)
end

local function latency_chart(out, done)
  if #done == 0 then return end
  local sorted = by_workers(done)
  local series = {
    { key = "p50_latency_ms", label = "p50", color = "#2ca02c", shape = "circle", dash = nil },
    { key = "p95_latency_ms", label = "p95", color = "#ff7f0e", shape = "square", dash = "8 4" },
    { key = "p99_latency_ms", label = "p99", color = "#d62728", shape = "diamond", dash = "3 3" },
  }
  local lo, hi = math.huge, 0
  for _, b in ipairs(sorted) do
    for _, s in ipairs(series) do
      local v = b.performance[s.key]
      if finite(v) and v > 0 then lo, hi = math.min(lo, v), math.max(hi, v) end
    end
  end
  if hi == 0 then return end
  local ylog = hi / lo > 30
  local chart = svg.chart { title = "Latency percentiles against workers", width = 900, height = 340,
    x = workers_axis(done), y = { label = "latency, ms" .. (ylog and " (log scale)" or ""), log = ylog,
      min = (not ylog) and 0 or nil } }
  for _, s in ipairs(series) do
    local pts = {}
    for _, b in ipairs(sorted) do pts[#pts + 1] = { b.workers, b.performance[s.key] } end
    chart:line(pts, { color = s.color, dash = s.dash, width = 2 })
    chart:markers(pts, { color = s.color, shape = s.shape, size = 4, label = s.label })
  end
  figure(out, nil, chart:render(), "The latency a transaction held its connection for (pool wait apart), per band.")
end

-- A band's latency distribution from its histogram: the share of
-- transactions in each of 10 log-spaced bins per decade of milliseconds.
function M.distribution(text)
  local ok, histogram = pcall(require, "stormdb.histogram")
  if not ok or type(text) ~= "string" then return nil end
  local h = histogram.parse(text)
  if not h or h:count() == 0 then return nil end
  local per = 10
  local bins, total = {}, 0
  for _, bk in ipairs(h:buckets()) do
    local low, high, n = bk[1], bk[2], bk[3]
    local mid = math.sqrt(math.max(low, 1) * math.max(high, 1)) / 1e6 -- ms
    if mid > 0 and n > 0 then
      local k = math.floor(math.log10(mid) * per)
      bins[k] = (bins[k] or 0) + n
      total = total + n
    end
  end
  if total == 0 then return nil end
  local keys = {}
  for k in pairs(bins) do keys[#keys + 1] = k end
  table.sort(keys)
  local pts = {}
  for k = keys[1] - 1, keys[#keys] + 1 do
    pts[#pts + 1] = { 10 ^ ((k + 0.5) / per), 100 * (bins[k] or 0) / total }
  end
  return pts
end

local function distribution_chart(out, done)
  local sorted, curves = by_workers(done), {}
  for _, b in ipairs(sorted) do
    local pts = M.distribution(b.histogram)
    if pts then curves[#curves + 1] = { band = b, pts = pts } end
  end
  if #curves == 0 then return end
  local chart = svg.chart { title = "Latency distribution of each band", width = 900, height = 340,
    x = { label = "latency, ms (log scale)", log = true }, y = { label = "share of transactions, %", min = 0 } }
  local dashes = { nil, "7 3", "2 3", "10 3 2 3" }
  for i, c in ipairs(curves) do
    local b = c.band
    chart:line(c.pts, { color = ramp(i, #curves), width = 2, dash = dashes[(i - 1) % #dashes + 1],
      label = string.format("band %s: %s w", tostring(b.band_number or i), workers_text(b.workers)) })
  end
  figure(out, nil, chart:render(), "From each band's latency histogram (every transaction of the measure phase), " ..
    "in bins of a tenth of a decade: the height is the share of the band's transactions in the bin.")
end

local function gain_chart(out, run)
  local bands = tbl(run.bands) or {}
  local rows = {}
  for i, b in ipairs(bands) do
    if b.status ~= "failed" and tbl(b.performance) then
      rows[#rows + 1] = { band = b, region = region_of(run, b, #rows + 1), index = i }
    end
  end
  if #rows == 0 then return end
  local a = tbl(run.analysis)
  -- regions from the analysis' per-band statistics are indexed by analysed
  -- (complete) band; fall back to that order
  if a and tbl(a.bands) then
    local k = 0
    for _, r in ipairs(rows) do
      if r.band.status == nil or r.band.status == "complete" then
        k = k + 1
        if not r.region then
          local s = a.bands[k]
          r.region = s and type(s.region) == "string" and s.region ~= "none" and s.region or nil
        end
      end
    end
  end
  local n = #rows
  local cats, bars, any = {}, {}, false
  for i, r in ipairs(rows) do
    local b = r.band
    local g = tbl(b.analysis) and b.analysis.marginal_gain_tps_per_worker
    cats[i] = { x = i, label = "band " .. tostring(b.band_number or i), sub = workers_text(b.workers) .. " w" }
    if finite(g) then
      any = true
      bars[#bars + 1] = { x0 = i - 0.32, x1 = i + 0.32, y = g, label = svg.short(g),
        color = g >= 0 and "#4e79a7" or "#c0392b" }
    end
  end
  local chart = svg.chart { title = "Marginal gain per band, over its scaling region", width = 900, height = 320,
    x = { min = 0.5, max = n + 0.5, categories = cats }, y = { label = "TPS per added worker" } }
  local seen = {}
  for i, r in ipairs(rows) do
    local reg = REGION[r.region or ""]
    if reg then
      chart:shade(i - 0.5, i + 0.5, { fill = reg.fill })
      if not seen[r.region] then seen[r.region] = true end
    end
  end
  for _, name in ipairs(REGION_ORDER) do
    if seen[name] then chart:key(REGION[name].word, { fill = REGION[name].fill, color = "#999999" }) end
  end
  if any then
    local lo, hi = 0, 0
    for _, b in ipairs(bars) do lo, hi = math.min(lo, b.y), math.max(hi, b.y) end
    chart.ys[#chart.ys + 1] = hi + 0.12 * (hi - lo)
    if lo < 0 then chart.ys[#chart.ys + 1] = lo - 0.12 * (hi - lo) end
    chart:bars(bars, { color = "#4e79a7", label = "marginal gain (TPS per worker added)" })
  else
    chart.ys[#chart.ys + 1], chart.ys[#chart.ys + 2] = 0, 1
  end
  chart:hline(0, { color = "#444444", dash = "1 0" })
  figure(out, nil, chart:render(), "Marginal gain = (TPS − TPS of the previous complete band) / (workers added); " ..
    "the background is the band's scaling region (docs/analysis.md). The first band has no gain.")
end

local function band_table(out, run)
  local bands = tbl(run.bands) or {}
  if #bands == 0 then return end
  local a = tbl(run.analysis)
  local opt = a and tbl(a.optimal_configuration)
  out[#out + 1] = "<h2>Bands</h2><div class=\"tw\"><table><tr><th>band</th><th>workers</th><th>conns</th><th>seconds</th>" ..
    "<th>TPS</th><th>avg ms</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>sd ms</th><th>errors</th>" ..
    "<th>TPS per worker</th><th>gain per worker</th><th class=\"l\">region</th><th class=\"l\">bottleneck</th>" ..
    "<th class=\"l\">status</th></tr>"
  local k = 0
  for _, b in ipairs(bands) do
    local p, ba = tbl(b.performance) or {}, tbl(b.analysis) or {}
    if b.status == nil or b.status == "complete" then k = k + 1 end
    local region = region_of(run, b, k) or ""
    local is_opt = opt and opt.status == "ok" and opt.band and (b.status == nil or b.status == "complete") and
      opt.band == k
    local gain = finite(ba.marginal_gain_tps_per_worker) and (rate(ba.marginal_gain_tps_per_worker) ..
      (ba.marginal_gain_rating and ("<small>" .. esc(ba.marginal_gain_rating) .. "</small>") or "")) or ""
    local reg = REGION[region]
    out[#out + 1] = string.format("<tr%s><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>" ..
      "<td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td class=\"l\">%s</td>" ..
      "<td class=\"l\">%s</td><td class=\"l\">%s</td></tr>", is_opt and ' class="opt"' or "",
      esc(tostring(b.band_number or "")), workers_text(b.workers), workers_text(b.connections),
      num(b.duration_seconds, "%.1f"), rate(p.tps), ms(p.avg_latency_ms), ms(p.p50_latency_ms), ms(p.p95_latency_ms),
      ms(p.p99_latency_ms), ms(p.std_dev_latency), finite(p.errors) and string.format("%d", p.errors) or "n/a",
      rate(ba.efficiency_tps_per_worker), gain,
      reg and string.format('<span class="region" style="background:%s">%s</span>', reg.fill, esc(region)) or
        esc(region), esc(ba.bottleneck_type or b.bottleneck_type or ""),
      (b.status == nil or b.status == "complete") and "" or
        (esc(tostring(b.status)) .. (b.error and ("<small>" .. esc(b.error) .. "</small>") or "")))
  end
  out[#out + 1] = "</table></div>"
  if opt and opt.status == "ok" then out[#out + 1] = '<p class="sub">The highlighted row is the optimal configuration.</p>' end
  -- warnings
  local warns = {}
  for _, b in ipairs(bands) do
    for _, w in ipairs(tbl(b.warnings) or {}) do
      warns[#warns + 1] = "<li>band " .. esc(tostring(b.band_number)) .. ": " .. esc(w) .. "</li>"
    end
  end
  if #warns > 0 then out[#out + 1] = "<h3>Warnings</h3><ul>" .. table.concat(warns) .. "</ul>" end
end

local function models_table(out, run)
  local a = tbl(run.analysis)
  local mm = a and tbl(a.mathematical_models)
  local fits = mm and tbl(mm.models)
  if not fits then return end
  out[#out + 1] = "<h3>Fitted models</h3><table><tr><th class=\"l\">model</th><th>R²</th><th>adj R²</th>" ..
    "<th>AIC</th><th class=\"l\">parameters</th></tr>"
  local params = { linear = { "a", "b" }, logarithmic = { "a", "b" }, exponential = { "a", "b" },
    logistic = { "L", "k", "x0" }, usl = { "sigma", "kappa", "lambda" } }
  for _, name in ipairs(MODELS) do
    local f = tbl(fits[name]) or {}
    if f.status == "ok" then
      local ps = {}
      for _, pn in ipairs(params[name]) do
        local ci = tbl(f[pn .. "_ci"])
        ps[#ps + 1] = string.format("%s = %s%s", pn, num(f[pn], "%.4g"),
          ci and string.format(" [%s, %s]", num(ci[1], "%.4g"), num(ci[2], "%.4g")) or "")
      end
      out[#out + 1] = string.format("<tr><td class=\"l\">%s%s</td><td>%s</td><td>%s</td><td>%s</td>" ..
        "<td class=\"l\">%s</td></tr>", esc(name), mm.best_fit == name and " (best)" or "", num(f.r_squared, "%.4f"),
        num(f.adj_r_squared, "%.4f"), num(f.aic, "%.1f"), esc(table.concat(ps, ", ")))
    else
      out[#out + 1] = string.format("<tr><td class=\"l\">%s</td><td>n/a</td><td>n/a</td><td>n/a</td>" ..
        "<td class=\"l\">%s</td></tr>", esc(name), esc(tostring(f.status or "n/a") .. ": " .. tostring(f.message or "")))
    end
  end
  out[#out + 1] = "</table><p class=\"sub\">95% confidence intervals in brackets.</p>"
end

local function rate_section(out, run)
  local rows = {}
  for _, b in ipairs(tbl(run.bands) or {}) do
    if tbl(b.rate) then rows[#rows + 1] = b end
  end
  if #rows == 0 then return end
  out[#out + 1] = "<h2>Open loop (rate mode)</h2><table><tr><th>band</th><th>workers</th><th>target/s</th>" ..
    "<th>achieved/s</th><th>lag p50 ms</th><th>lag p99 ms</th><th>lag max ms</th><th>late</th><th>skipped</th>" ..
    "<th>service avg ms</th><th>service p99 ms</th></tr>"
  for _, b in ipairs(rows) do
    local r = b.rate
    out[#out + 1] = string.format("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>" ..
      "<td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>", esc(tostring(b.band_number or "")),
      workers_text(b.workers), rate(r.target), rate(r.achieved), ms(r.lag_p50_ms), ms(r.lag_p99_ms),
      ms(r.lag_max_ms), num(r.late, "%d"), num(r.skipped, "%d"), ms(r.service_avg_ms), ms(r.service_p99_ms))
  end
  out[#out + 1] = "</table><p class=\"sub\">Latency in rate mode runs from each transaction's scheduled start; " ..
    "the service time from its actual start; the lag is the difference.</p>"
  local ra = tbl(run.rate_analysis)
  if ra and tbl(ra.points) and #ra.points >= 2 then
    local chart = svg.chart { title = "Achieved against offered rate", width = 900, height = 320,
      x = { label = "offered transactions per second", min = 0 }, y = { label = "achieved per second", min = 0 } }
    local pts, hi = {}, 0
    for _, pnt in ipairs(ra.points) do
      pts[#pts + 1] = { pnt.offered, pnt.achieved }
      hi = math.max(hi, pnt.offered or 0)
    end
    chart:line({ { 0, 0 }, { hi, hi } }, { color = "#999999", dash = "4 4", label = "achieved = offered" })
    chart:line(pts, { color = "#1f77b4", width = 2 })
    chart:markers(pts, { color = "#1f77b4", label = "achieved" })
    if tbl(ra.knee) and finite(ra.knee.offered) then
      chart:vline(ra.knee.offered, { color = "#d62728", label = "knee: " .. rate(ra.knee.offered) .. "/s" })
    end
    figure(out, nil, chart:render(), ra.summary)
  elseif ra and ra.summary then
    out[#out + 1] = "<p>" .. esc(ra.summary) .. "</p>"
  end
end

local function metrics_section(out, run)
  local rows = {}
  for _, b in ipairs(tbl(run.bands) or {}) do
    local names = {}
    for name, m in pairs(tbl(b.metrics) or {}) do
      if type(m) == "table" then names[#names + 1] = tostring(name) end
    end
    table.sort(names)
    for _, name in ipairs(names) do
      local m = b.metrics[name]
      rows[#rows + 1] = string.format("<tr><td>%s</td><td class=\"l\">%s</td><td>%s</td><td>%s</td><td>%s</td>" ..
        "<td>%s</td><td>%s</td><td>%s</td></tr>", esc(tostring(b.band_number or "")), esc(name), num(m.count, "%d"),
        ms(m.avg_ms), ms(m.p50_ms), ms(m.p95_ms), ms(m.p99_ms), ms(m.max_ms))
    end
  end
  if #rows == 0 then return end
  out[#out + 1] = "<h2>Workload metrics</h2><table><tr><th>band</th><th class=\"l\">metric</th><th>count</th>" ..
    "<th>avg ms</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>max ms</th></tr>" .. table.concat(rows) ..
    "</table><p class=\"sub\">The workload's own figures (<code>w:record</code>) and connection times " ..
    "(<code>w:connect</code>).</p>"
end

local function big(x)
  if not finite(x) then return "n/a" end
  return svg.short(x)
end

local function server_section(out, run)
  local observed = {}
  for _, b in ipairs(tbl(run.bands) or {}) do
    local s = tbl(b.server)
    if s and s.observed ~= false then observed[#observed + 1] = b end
  end
  local ba = tbl(run.bottleneck_analysis) or (tbl(run.analysis) and tbl(run.analysis.bottleneck_analysis))
  if #observed == 0 and not ba then return end
  out[#out + 1] = "<h2>Server observation</h2>"
  if ba then
    out[#out + 1] = string.format("<p><b>Bottleneck: %s</b> (confidence %s)%s</p>", esc(ba.primary_bottleneck or "none"),
      num(ba.confidence, "%.2f"), ba.basis and (", from " .. esc(ba.basis) .. (tbl(ba.bands) and #ba.bands > 0 and
        (": band " .. esc(table.concat(ba.bands, ", "))) or "")) or "")
    local items = {}
    for _, r in ipairs(tbl(ba.reasons) or {}) do items[#items + 1] = "<li>" .. esc(r) .. "</li>" end
    for _, f in ipairs(tbl(ba.secondary_factors) or {}) do
      items[#items + 1] = string.format("<li>secondary: %s (score %s)</li>", esc(f.type or ""), num(f.score, "%.2f"))
    end
    if #items > 0 then out[#out + 1] = "<ul>" .. table.concat(items) .. "</ul>" end
    local recs = {}
    for _, r in ipairs(tbl(ba.recommendations) or {}) do
      recs[#recs + 1] = "<li>" .. esc(r.suggestion or "") .. (r.action and (" <code>" .. esc(r.action) .. "</code>") or "")
        .. "</li>"
    end
    if #recs > 0 then out[#out + 1] = "<h3>What to do</h3><ol>" .. table.concat(recs) .. "</ol>" end
  end
  -- wait-event shares per band, as stacked bars
  local with_waits = {}
  for _, b in ipairs(observed) do
    local act = tbl(b.server.activity)
    if act and tbl(act.wait_shares) then with_waits[#with_waits + 1] = b end
  end
  if #with_waits > 0 then
    local n = #with_waits
    local cats = {}
    for i, b in ipairs(with_waits) do
      cats[i] = { x = i, label = "band " .. tostring(b.band_number or i), sub = workers_text(b.workers) .. " w" }
    end
    local chart = svg.chart { title = "What the workload's active backends waited on, per band", width = 900,
      height = 320, x = { min = 0.5, max = n + 0.5, categories = cats },
      y = { label = "share of active samples, %", min = 0, max = 100 } }
    for _, w in ipairs(WAITS) do chart:key(w.label, { fill = w.color, color = "#555555" }) end
    local bars = {}
    for i, b in ipairs(with_waits) do
      local shares, acc = b.server.activity.wait_shares, 0
      for _, w in ipairs(WAITS) do
        local v = finite(shares[w.key]) and shares[w.key] or 0
        if v > 0 then
          bars[#bars + 1] = { x0 = i - 0.3, x1 = i + 0.3, y0 = acc * 100, y = (acc + v) * 100, color = w.color }
          acc = acc + v
        end
      end
    end
    -- stacked: draw each segment as its own bar from its base
    local segs = {}
    for _, s in ipairs(bars) do segs[#segs + 1] = s end
    table.sort(segs, function(p, q) return p.y > q.y end)
    chart:bars(segs, { stroke = "#ffffff" })
    figure(out, nil, chart:render(), "From pg_stat_activity samples of the workload's sessions during the measure " ..
      "phase (docs/observation.md): CPU means active with no wait event.")
  end
  -- key deltas
  if #observed > 0 then
    out[#out + 1] = "<h3>Key figures per band</h3><div class=\"tw\"><table><tr><th>band</th><th>workers</th><th>commits</th>" ..
      "<th>hit ratio</th><th>blocks read</th><th>temp files</th><th>WAL bytes</th><th>host CPU</th>" ..
      "<th>stormdb CPU</th><th>round trip ms</th><th class=\"l\">top wait event</th><th class=\"l\">bottleneck</th></tr>"
    for _, b in ipairs(observed) do
      local s = b.server
      local db, wal, host, client = tbl(s.database) or {}, tbl(s.wal) or {}, tbl(s.host) or {}, tbl(s.client) or {}
      local act, rtt = tbl(s.activity) or {}, tbl(s.rtt) or {}
      local top = tbl(act.top_wait_events) and act.top_wait_events[1]
      local bn = tbl(s.bottleneck)
      out[#out + 1] = string.format("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>" ..
        "<td>%s</td><td>%s</td><td>%s</td><td>%s</td><td class=\"l\">%s</td><td class=\"l\">%s</td></tr>",
        esc(tostring(b.band_number or "")), workers_text(b.workers), big(db.xact_commit), pct(db.hit_ratio, "%.2f%%"),
        big(db.blks_read), big(db.temp_files), big(wal.wal_bytes), pct(host.cpu_busy), pct(client.cpu),
        ms(rtt.median_ms), top and (esc(tostring(top.event)) .. "<small>" .. pct(top.share, "%.0f%%") ..
          " of active</small>") or "",
        bn and (esc(tostring(bn.type or "none")) .. "<small>confidence " .. num(bn.confidence, "%.2f") ..
          "</small>") or esc(b.bottleneck_type or ""))
    end
    out[#out + 1] = "</table></div><p class=\"sub\">Differences of pg_stat_database and pg_stat_wal over the measure " ..
      "phase; host and stormdb CPU as shares of the machine (host figures only when the server runs on this " ..
      "host).</p>"
    -- top statements of the band with the most workers
    local last = observed[#observed]
    local tops = tbl(last.server.top_statements)
    if tops and #tops > 0 then
      out[#out + 1] = string.format("<h3>Top statements (band %s)</h3><table><tr><th class=\"l\">query</th>" ..
        "<th>calls</th><th>total ms</th><th>mean ms</th><th>rows</th></tr>", esc(tostring(last.band_number or "")))
      for i = 1, math.min(5, #tops) do
        local t = tbl(tops[i]) or {}
        out[#out + 1] = string.format("<tr><td class=\"l\"><code>%s</code></td><td>%s</td><td>%s</td><td>%s</td>" ..
          "<td>%s</td></tr>", esc(t.query or ""), big(t.calls), ms(t.total_ms), ms(t.mean_ms), big(t.rows))
      end
      out[#out + 1] = "</table>"
    end
  end
  local notes = {}
  for _, n in ipairs(ba and tbl(ba.notes) or {}) do notes[#notes + 1] = "<li>" .. esc(n) .. "</li>" end
  if #notes > 0 then out[#out + 1] = "<h3>Notes</h3><ul>" .. table.concat(notes) .. "</ul>" end
end

local function recommendations(out, run)
  local a = tbl(run.analysis)
  local recs = a and tbl(a.recommendations) or {}
  local regions = a and tbl(a.scaling_regions)
  if regions and regions.status == "ok" then
    out[#out + 1] = "<h2>Scaling regions</h2><ul>"
    for _, key in ipairs { "linear_scaling", "diminishing_returns", "saturation", "degradation" } do
      local r = tbl(regions[key])
      if r then
        out[#out + 1] = string.format("<li><b>%s</b>: %s</li>", esc((key:gsub("_", " "))), esc(r.description or ""))
      end
    end
    out[#out + 1] = "</ul>"
  end
  if #recs == 0 then return end
  out[#out + 1] = "<h2>Recommendations</h2><ol>"
  for _, r in ipairs(recs) do
    out[#out + 1] = string.format("<li><b>[%s] %s</b>: %s <span class=\"sub\">(%s; expected gain %s, " ..
      "confidence %s)</span></li>", esc(r.priority_name or tostring(r.priority or "")), esc(r.category or ""),
      esc(r.suggestion or ""), esc(r.type or ""), finite(r.expected_gain) and r.expected_gain > 0 and
        ("+" .. pct(r.expected_gain)) or "n/a", num(r.confidence, "%.2f"))
  end
  out[#out + 1] = "</ol>"
end

function M.render(run, opts)
  opts = opts or {}
  run = run or {}
  local done = complete_bands(run)
  local md = tbl(run.metadata) or {}
  local out = {}
  out[#out + 1] = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
  out[#out + 1] = "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
  out[#out + 1] = "<title>" .. esc(opts.title or ("stormdb report: " .. tostring(md.test_name or md.workload or "run")))
    .. "</title><style>" .. CSS .. "</style></head><body>"
  header(out, run, opts)
  summary(out, run, done)
  out[#out + 1] = "<h2>Throughput</h2>"
  tps_chart(out, run, done)
  models_table(out, run)
  out[#out + 1] = "<h2>Latency</h2>"
  latency_chart(out, done)
  distribution_chart(out, done)
  out[#out + 1] = "<h2>Marginal gain</h2>"
  gain_chart(out, run)
  band_table(out, run)
  rate_section(out, run)
  metrics_section(out, run)
  server_section(out, run)
  recommendations(out, run)
  out[#out + 1] = string.format("<footer>Written by stormdb %s%s. Figures: docs/results.md; method: " ..
    "docs/analysis.md; server observation: docs/observation.md.</footer></body></html>\n",
    esc(md.version or ""), md.timestamp and (" for the run of " .. esc(md.timestamp)) or "")
  return table.concat(out, "\n")
end

-- Writes the page atomically (PATH.tmp, then a rename): true, or nil and a message.
M.write = require("stormdb.resultfile").write_atomic

return M
