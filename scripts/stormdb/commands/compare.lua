-- stormdb compare BASELINE CURRENT: a regression gate for CI pipelines
-- (docs/compare.md). Both results are read with stormdb.resultfile (stormdb's
-- JSON, the v0.2 JSON, or a CSV), their bands matched by workers and
-- connections, and each pair's TPS, p95 and p99 latency and errors shown
-- side by side with the change and whether it exceeds the noise of the two
-- measurements. The exit status says whether a threshold was crossed, so a
-- pipeline needs no script of its own: 0 no threshold crossed, 1 at least
-- one crossed, 2 bad input (arguments, a file that cannot be read or parsed,
-- no band in common). runtime/main.c calls main(argv) with the arguments
-- after "compare".

local resultfile = require "stormdb.resultfile"

local M = {}

local EXIT_OK, EXIT_CROSSED, EXIT_BAD_INPUT = 0, 1, 2

M.DEFAULT_MAX_TPS_DROP = 0.05
M.DEFAULT_MAX_P95_RISE = 0.10
M.PERCENTILE_RESOLUTION = 0.004 -- histogram percentiles are within 0.4% (docs/results.md)

M.usage = [==[
usage: stormdb compare BASELINE CURRENT [--max-tps-drop 5%] [--max-p95-rise 10%]
                       [--max-p99-rise PCT] [--significant-only] [--json OUT]

Compares two results band by band (bands matched by workers and
connections) and exits 1 when a threshold is crossed, 0 otherwise, 2 on bad
input: a regression gate for CI pipelines.

BASELINE and CURRENT are result JSON files (a study's export or `stormdb run
--json`), v0.2 JSON, or CSV files with at least workers and tps columns.

options:
  --max-tps-drop P     fail when a band's TPS fell by more than P (default 5%)
  --max-p95-rise P     fail when a band's p95 latency rose by more than P
                       (default 10%)
  --max-p99-rise P     fail when a band's p99 latency rose by more than P
                       (default: not checked)
  --significant-only   fail only on changes that also exceed the noise of
                       the two measurements
  --json OUT           also write the comparison as JSON (atomically)
  --help               this text

P is a percentage (5%, 5 or 2.5%), or "off" to skip that check. A change
"exceeds noise" (marked *) when it is larger than the two bands' 95%
confidence intervals together; how they are estimated: docs/compare.md.
Exit status: 0 no threshold crossed, 1 a threshold crossed, 2 bad input.
]==]

local function fail(status, fmt, ...)
  io.stderr:write("stormdb compare: ", string.format(fmt, ...), "\n")
  return status
end

local function finite(x)
  return type(x) == "number" and x == x and x ~= math.huge and x ~= -math.huge
end

-- "5%", "5", "2.5%" -> 0.05, 0.05, 0.025; "off" -> false; nil when bad
local function percentage(s)
  if s == "off" or s == "none" then return false end
  local body = s:match("^(.-)%%?$")
  if not body or not (body:match("^%d+%.?%d*$") or body:match("^%.%d+$")) then return nil end
  local x = tonumber(body)
  if not finite(x) or x < 0 or x > 1000 then return nil end
  return x / 100
end

local PCT_OPTIONS = { ["max-tps-drop"] = "tps", ["max-p95-rise"] = "p95", ["max-p99-rise"] = "p99" }

function M.parse(argv)
  local args = { files = {}, limits = { tps = M.DEFAULT_MAX_TPS_DROP, p95 = M.DEFAULT_MAX_P95_RISE, p99 = false } }
  local i = 1
  while i <= #argv do
    local a = argv[i]
    local name, value = a:match("^%-%-([%w%-]+)=(.*)$")
    if not name then name = a:match("^%-%-([%w%-]+)$") end
    if a == "-h" or name == "help" then
      args.help = true
    elseif name == "significant-only" then
      if value then return nil, "--significant-only takes no value" end
      args.significant_only = true
    elseif name and (PCT_OPTIONS[name] or name == "json") then
      if not value then
        i = i + 1
        value = argv[i]
        if value == nil then return nil, string.format("--%s needs a value", name) end
      end
      if name == "json" then
        if value == "" then return nil, "--json needs a file name" end
        args.json = value
      else
        local p = percentage(value)
        if p == nil then
          return nil, string.format("--%s needs a percentage (5%%, 2.5 or off), not '%s'", name, value)
        end
        args.limits[PCT_OPTIONS[name]] = p
      end
    elseif a:sub(1, 1) == "-" and a ~= "-" then
      return nil, string.format("unknown option '%s' (see stormdb compare --help)", a)
    else
      args.files[#args.files + 1] = a
    end
    i = i + 1
  end
  if args.help then return args end
  if #args.files ~= 2 then
    return nil, string.format("two results are compared: BASELINE and CURRENT (%d given; see --help)", #args.files)
  end
  return args
end

-- ---- noise ---------------------------------------------------------------------

-- Student t quantile t(0.975, df).
local function t975(df)
  local ok, progressive = pcall(require, "stormdb.progressive")
  if ok and progressive.t975 then return progressive.t975(df) or 1.96 end
  return 1.96
end

-- The number of transactions a band measured.
local function samples(b)
  local n = b.latency_count or b.transactions
  if not n and finite(b.tps) and finite(b.duration_seconds) then n = math.floor(b.tps * b.duration_seconds + 0.5) end
  return n
end

-- Relative half-width of the 95% interval of a band's TPS (docs/compare.md):
-- from the per-second TPS samples when the study kept them
-- (analysis.tps_ci_rel), else from the transaction count and the latency:
-- max(1.96/sqrt(n), the relative interval of the mean latency).
function M.tps_noise(b)
  if finite(b.tps_ci_rel) then return b.tps_ci_rel, "per-second samples" end
  local n = samples(b)
  if not (n and n > 1) then return nil, "no transaction count" end
  local poisson = 1.96 / math.sqrt(n)
  local lat
  local mean = b.latency_sum_ms and b.latency_sum_ms / n or b.avg_latency_ms
  local sd
  if b.latency_sum_ms and b.latency_sumsq_ms2 then
    local var = (b.latency_sumsq_ms2 - b.latency_sum_ms ^ 2 / n) / (n - 1)
    sd = var > 0 and math.sqrt(var) or 0
  elseif b.std_dev_latency then
    sd = b.std_dev_latency * math.sqrt(n / (n - 1))
  end
  if finite(mean) and mean > 0 and finite(sd) then lat = t975(n - 1) * sd / (math.sqrt(n) * mean) end
  return math.max(poisson, lat or 0), "transaction count and latency"
end

-- Relative half-width of the 95% interval of a band's percentile p (0..1):
-- from the histogram, the values at ranks n*p -/+ 1.96*sqrt(n*p*(1-p))
-- (the order-statistic interval, which needs no assumption about the
-- distribution), plus the histogram's resolution; without a histogram the
-- mean latency's relative interval stands in for it.
function M.percentile_noise(b, p, value)
  if not (finite(value) and value > 0) then return nil end
  local n = samples(b)
  if b.histogram and n and n > 0 then
    local ok, histogram = pcall(require, "stormdb.histogram")
    local h = ok and histogram.parse(b.histogram)
    if h and h:count() > 0 then
      local half = 1.96 * math.sqrt(p * (1 - p) / h:count())
      local lo = h:percentile(math.max(0, 100 * (p - half))) / 1e6
      local hi = h:percentile(math.min(100, 100 * (p + half))) / 1e6
      local r = math.max(value - lo, hi - value) / value
      if finite(r) then return r + M.PERCENTILE_RESOLUTION end
    end
  end
  local lat
  if n and n > 1 and finite(b.avg_latency_ms) and b.avg_latency_ms > 0 and finite(b.std_dev_latency) then
    lat = 1.96 * b.std_dev_latency / (math.sqrt(n) * b.avg_latency_ms)
  end
  if lat then return lat + M.PERCENTILE_RESOLUTION end
  return nil
end

-- ---- matching ------------------------------------------------------------------

-- The bands to compare from a read result: complete ones with measured
-- time, each keyed "workers/connections#k" (the k-th band of that
-- configuration in the file). Also the per-band tps_ci_rel of a study's JSON.
local function comparable(doc)
  local out, skipped, seen = {}, {}, {}
  local raw_bands = doc.source == "json" and type(doc.raw.bands) == "table" and doc.raw.bands or {}
  for i, b in ipairs(doc.bands) do
    local raw = raw_bands[i]
    local a = type(raw) == "table" and type(raw.analysis) == "table" and raw.analysis or {}
    b.tps_ci_rel = finite(a.tps_ci_rel) and a.tps_ci_rel or nil
    if (b.status == nil or b.status == "complete") and (b.duration_seconds == nil or b.duration_seconds > 0) then
      local conns = b.connections or b.workers
      local base = string.format("%d/%d", b.workers, conns)
      seen[base] = (seen[base] or 0) + 1
      b.key = base .. "#" .. seen[base]
      b.config = base
      out[#out + 1] = b
    else
      skipped[#skipped + 1] = b
    end
  end
  return out, skipped
end

local function change(base, cur)
  if not (finite(base) and finite(cur)) then return nil end
  if base == 0 then return cur == 0 and 0 or nil end
  return (cur - base) / base
end

-- One figure of a pair: {base, cur, change, noise, beyond, crossed}.
-- direction: -1 when a fall is bad (TPS), +1 when a rise is (latency).
local function figure(base, cur, noise_a, noise_b, limit, direction, significant_only)
  local f = { base = base, cur = cur, change = change(base, cur) }
  if noise_a and noise_b then f.noise = noise_a + noise_b end
  if f.change and f.noise then f.beyond = math.abs(f.change) > f.noise end
  if f.change and limit then
    local bad = direction * f.change
    f.crossed = bad > limit + 1e-12 and (not significant_only or f.beyond == true)
  end
  return f
end

function M.compare(base_doc, cur_doc, args)
  local base, base_skipped = comparable(base_doc)
  local cur, cur_skipped = comparable(cur_doc)
  local by_key = {}
  for _, b in ipairs(base) do by_key[b.key] = b end
  local pairs_, only_cur, matched = {}, {}, {}
  for _, c in ipairs(cur) do
    local b = by_key[c.key]
    if b then
      matched[b.key] = true
      local lim = args.limits
      local tn_b, tn_c = M.tps_noise(b), M.tps_noise(c)
      local p = {
        workers = c.workers, connections = c.connections or c.workers, key = c.key,
        base_band = b.band_number, cur_band = c.band_number,
        tps = figure(b.tps, c.tps, tn_b, tn_c, lim.tps or nil, -1, args.significant_only),
        p95 = figure(b.p95_latency_ms, c.p95_latency_ms, M.percentile_noise(b, 0.95, b.p95_latency_ms),
          M.percentile_noise(c, 0.95, c.p95_latency_ms), lim.p95 or nil, 1, args.significant_only),
        p99 = figure(b.p99_latency_ms, c.p99_latency_ms, M.percentile_noise(b, 0.99, b.p99_latency_ms),
          M.percentile_noise(c, 0.99, c.p99_latency_ms), lim.p99 or nil, 1, args.significant_only),
        errors = { base = b.errors, cur = c.errors },
      }
      p.crossed = {}
      for _, k in ipairs { "tps", "p95", "p99" } do
        if p[k].crossed then p.crossed[#p.crossed + 1] = k end
      end
      pairs_[#pairs_ + 1] = p
    else
      only_cur[#only_cur + 1] = c
    end
  end
  local only_base = {}
  for _, b in ipairs(base) do
    if not matched[b.key] then only_base[#only_base + 1] = b end
  end
  table.sort(pairs_, function(x, y)
    if x.workers ~= y.workers then return x.workers < y.workers end
    if x.connections ~= y.connections then return x.connections < y.connections end
    return x.key < y.key
  end)
  local crossed = 0
  for _, p in ipairs(pairs_) do if #p.crossed > 0 then crossed = crossed + 1 end end
  return {
    pairs = pairs_, only_baseline = only_base, only_current = only_cur, crossed = crossed,
    compared = { #base, #cur },
    skipped_baseline = base_skipped, skipped_current = cur_skipped,
  }
end

-- ---- output --------------------------------------------------------------------

local num = require("stormdb.report").num

local function tps_text(x)
  if not finite(x) then return "n/a" end
  if math.abs(x) >= 100 then return num(x, "%.1f") end
  return num(x, "%.2f")
end

local function ms_text(x)
  if not finite(x) then return "n/a" end
  if math.abs(x) >= 100 then return num(x, "%.1f") end
  if math.abs(x) >= 1 then return num(x, "%.2f") end
  return num(x, "%.3f")
end

local function change_text(f)
  if not f.change then return "n/a" end
  local text = math.abs(f.change) < 0.0005 and "0.0" or num(100 * f.change, "%+.1f")
  return text .. "%" .. (f.beyond and "*" or "")
end

local function noise_text(f)
  if not f.noise then return "n/a" end
  return "±" .. num(100 * f.noise, "%.1f") .. "%"
end

local function limit_text(x, word)
  if not x then return word .. ": not checked" end
  return string.format("%s > %s%%", word, num(100 * x, "%.4g"))
end

function M.render(res, args, names)
  local out = {}
  local function w(fmt, ...) out[#out + 1] = string.format(fmt, ...) end
  w("stormdb compare: baseline %s, current %s\n", names[1], names[2])
  w("thresholds: %s, %s, %s%s\n", limit_text(args.limits.tps, "TPS drop"), limit_text(args.limits.p95, "p95 rise"),
    limit_text(args.limits.p99, "p99 rise"), args.significant_only and " (only changes beyond noise count)" or "")
  w("\n")
  local row = "%-9s | %10s %10s %8s %7s | %9s %9s %8s %7s | %8s | %9s | %s\n"
  w(row, "band", "TPS base", "TPS cur", "change", "noise", "p95 base", "p95 cur", "change", "noise", "p99 chg",
    "errors", "result")
  w("%s\n", string.rep("-", 118))
  for _, p in ipairs(res.pairs) do
    local result
    if #p.crossed > 0 then
      local what = {}
      for _, k in ipairs(p.crossed) do
        local f = p[k]
        what[#what + 1] = string.format("%s %s", k == "tps" and "TPS" or k, num(100 * f.change, "%+.1f") .. "%")
      end
      result = "REGRESSION: " .. table.concat(what, ", ")
    else
      local better = (p.tps.beyond and p.tps.change and p.tps.change > 0) or
        (p.p95.beyond and p.p95.change and p.p95.change < 0)
      local worse = (p.tps.beyond and p.tps.change and p.tps.change < 0) or
        (p.p95.beyond and p.p95.change and p.p95.change > 0)
      result = worse and "worse, within threshold" or better and "better" or "ok"
    end
    local errors = string.format("%s->%s", p.errors.base and string.format("%d", p.errors.base) or "n/a",
      p.errors.cur and string.format("%d", p.errors.cur) or "n/a")
    local label = string.format("%d/%d", p.workers, p.connections)
    local k = tonumber(p.key:match("#(%d+)$"))
    if k and k > 1 then label = label .. "#" .. k end
    w(row, label, tps_text(p.tps.base), tps_text(p.tps.cur), change_text(p.tps), noise_text(p.tps),
      ms_text(p.p95.base), ms_text(p.p95.cur), change_text(p.p95), noise_text(p.p95), change_text(p.p99), errors,
      result)
  end
  w("%s\n", string.rep("-", 118))
  w("band: workers/connections. change: current against baseline; * = beyond noise (larger than the two\n" ..
    "bands' 95%% confidence intervals together, the noise column). Latency in ms.\n")
  for _, b in ipairs(res.only_baseline) do
    w("only in the baseline: %d/%d (%s)\n", b.workers, b.connections or b.workers, b.where)
  end
  for _, b in ipairs(res.only_current) do
    w("only in the current result: %d/%d (%s)\n", b.workers, b.connections or b.workers, b.where)
  end
  for _, b in ipairs(res.skipped_baseline) do
    w("not compared (%s): %s\n", b.status or "nothing measured", b.where)
  end
  for _, b in ipairs(res.skipped_current) do
    w("not compared (%s): %s\n", b.status or "nothing measured", b.where)
  end
  if res.crossed > 0 then
    w("\nresult: REGRESSION: %d of %d bands crossed a threshold (exit status 1)\n", res.crossed, #res.pairs)
  else
    w("\nresult: no threshold crossed in %d band%s (exit status 0)\n", #res.pairs, #res.pairs == 1 and "" or "s")
  end
  return table.concat(out)
end

local function json_document(res, args, names)
  local function fig(f)
    return { baseline = f.base, current = f.cur, change = f.change, noise = f.noise, beyond_noise = f.beyond,
      threshold_crossed = f.crossed }
  end
  local list = resultfile.array {}
  for i, p in ipairs(res.pairs) do
    local crossed = resultfile.array {}
    for j, k in ipairs(p.crossed) do crossed[j] = k end
    list[i] = { workers = p.workers, connections = p.connections, baseline_band = p.base_band,
      current_band = p.cur_band, tps = fig(p.tps), p95_latency_ms = fig(p.p95), p99_latency_ms = fig(p.p99),
      errors = { baseline = p.errors.base, current = p.errors.cur }, crossed = crossed }
  end
  local function configs(bands)
    local l = resultfile.array {}
    for i, b in ipairs(bands) do l[i] = { workers = b.workers, connections = b.connections or b.workers } end
    return l
  end
  return {
    baseline = names[1], current = names[2],
    thresholds = { max_tps_drop = args.limits.tps or nil, max_p95_rise = args.limits.p95 or nil,
      max_p99_rise = args.limits.p99 or nil, significant_only = args.significant_only or false },
    bands = list, only_baseline = configs(res.only_baseline), only_current = configs(res.only_current),
    regression = res.crossed > 0, bands_crossed = res.crossed,
  }
end

function M.main(argv)
  local args, err = M.parse(argv or {})
  if not args then return fail(EXIT_BAD_INPUT, "%s", err) end
  if args.help then
    io.stdout:write(M.usage)
    return EXIT_OK
  end
  local docs = {}
  for i, path in ipairs(args.files) do
    local doc, rerr = resultfile.read(path)
    if not doc then return fail(EXIT_BAD_INPUT, "%s", rerr) end
    if #doc.bands == 0 then return fail(EXIT_BAD_INPUT, "%s: no bands to compare", path) end
    docs[i] = doc
  end
  local res = M.compare(docs[1], docs[2], args)
  for i = 1, 2 do
    if res.compared[i] == 0 then
      return fail(EXIT_BAD_INPUT, "%s: no complete band with measured time to compare", args.files[i])
    end
  end
  if #res.pairs == 0 then
    return fail(EXIT_BAD_INPUT, "no band of %s matches a band of %s by workers and connections (%s has %s; %s has %s)",
      args.files[2], args.files[1], args.files[1], M.configs(docs[1]), args.files[2], M.configs(docs[2]))
  end
  io.stdout:write(M.render(res, args, args.files))
  if args.json then
    local ok, werr = resultfile.write_json(args.json, json_document(res, args, args.files))
    if not ok then return fail(EXIT_BAD_INPUT, "%s", werr) end
    io.stdout:write("comparison written to ", args.json, "\n")
  end
  io.stdout:flush()
  return res.crossed > 0 and EXIT_CROSSED or EXIT_OK
end

-- "1/1, 2/2, 4/4": a file's configurations, for messages.
function M.configs(doc)
  local list = {}
  for i, b in ipairs(doc.bands) do
    if i > 8 then
      list[#list + 1] = "..."
      break
    end
    list[#list + 1] = string.format("%d/%d", b.workers, b.connections or b.workers)
  end
  return table.concat(list, ", ")
end

return M
