-- The console reporter (the default): a progress line on stderr while a band
-- runs, and the band's summary on stdout when it is done (pgbench-like, with
-- percentiles, errors by SQLSTATE, per-transaction figures, the open loop's
-- rate figures, the workload's own metrics). In a progressive study
-- (run.study set): a header with the plan, each band's phases and, when it
-- is done, its TPS, latency, marginal gain with its word, efficiency,
-- bottleneck and warnings; the progress line adds the whole study's
-- progress and ETA; at the end a table of the bands, the analysis (OPTIMAL
-- CONFIGURATION, SCALING ANALYSIS, MATHEMATICAL MODELS, ...), the
-- BOTTLENECK CLASSIFICATION when the server was observed, and the exported
-- files.
--
-- Colour and emoji only when stdout is a terminal and NO_COLOR is unset;
-- plain ASCII otherwise (what a log file or a CI job sees). A missing figure
-- prints as "n/a", never nan, inf or nil.
local engine = require "stormdb.engine"
local report = require "stormdb.report"

local R = { description = "progress on stderr and a summary on stdout (default)" }
R.__index = R
local clear_line
local num, finite = report.num, report.finite

function R.new(opts)
  local self = setmetatable({}, R)
  self.out = opts and opts.out or io.stdout
  self.tty = engine.isatty(2)
  -- colour and emoji on stdout only for a person at a terminal
  self.fancy = opts and opts.fancy
  if self.fancy == nil then self.fancy = self.out == io.stdout and report.colour_ok(1) end
  return self
end

local COLOURS = { bold = "1", red = "31", green = "32", yellow = "33", blue = "34", cyan = "36", dim = "2" }

-- text in colour when allowed
function R:paint(colour, text)
  if not self.fancy then return text end
  return "\27[" .. COLOURS[colour] .. "m" .. text .. "\27[0m"
end

-- an emoji and a space when allowed, else nothing
function R:icon(e)
  return self.fancy and (e .. " ") or ""
end

local function secs(s)
  if s == nil then return "?" end
  return require("stormdb.duration").format(s)
end

local function count(x)
  x = finite(x)
  if not x then return "n/a" end
  return string.format("%d", x)
end

local RULE = string.rep("=", 78)

local function study_start(self, run)
  local o, st, c = self.out, run.study, run.configuration
  local plan = st.plan
  local minc, maxc = math.huge, 0
  local minr, maxr
  for _, b in ipairs(plan) do
    minc, maxc = math.min(minc, b.connections), math.max(maxc, b.connections)
    if b.rate then minr, maxr = math.min(minr or b.rate, b.rate), math.max(maxr or b.rate, b.rate) end
  end
  local per = st.phases.warmup + st.phases.measure + st.phases.cooldown
  o:write(self:icon("🎯"), self:paint("bold", string.format("stormdb %s: progressive study of workload %s, " ..
    "strategy %s (%s dialect), seed %s", run.metadata.version, run.metadata.workload, st.strategy, c.dialect,
    num(run.metadata.seed, "%d"))), "\n")
  o:write(string.format("  %d band%s planned: workers %d -> %d, connections %d -> %d%s%s\n", #plan,
    #plan == 1 and "" or "s", plan[1].workers, plan[#plan].workers, minc, maxc,
    minr and string.format(", rate %s -> %s/s", num(minr, "%.1f"), num(maxr, "%.1f")) or "",
    c.grid and " (grid)" or ""))
  o:write(string.format("  each band: warmup %s, measure %s, cooldown %s; about %s in all\n",
    secs(st.phases.warmup), secs(st.phases.measure), secs(st.phases.cooldown), secs(per * #plan)))
  for _, path in ipairs(st.export_files or {}) do
    o:write("  exports after every band: ", path, "\n")
  end
  o:write(RULE, "\n")
  o:flush()
end

function R:on_run_start(run)
  self.run = run
  if run.study then return study_start(self, run) end
  local c = run.configuration
  self.out:write(string.format("stormdb %s: workload %s, %d workers, %d connections, %d threads, " ..
    "duration %s, warmup %s, seed %s\n", run.metadata.version, run.metadata.workload, c.workers,
    c.connections, c.threads, c.duration_text or secs(c.duration_seconds), c.warmup_text or secs(c.warmup_seconds),
    num(run.metadata.seed, "%d")))
  self.out:flush()
end

function R:on_band_start(info)
  local o = self.out
  o:write(self:icon("🔄"), string.format("band %d/%d: %d worker%s, %d connection%s%s %s warmup %s, measure %s, " ..
    "cooldown %s%s\n", info.band_number, info.bands_planned, info.workers, info.workers == 1 and "" or "s",
    info.connections, info.connections == 1 and "" or "s",
    info.rate and string.format(", rate %s/s", num(info.rate, "%.1f")) or "", self.fancy and "—" or "-",
    secs(info.warmup), secs(info.measure), secs(info.cooldown), info.note and (" (" .. info.note .. ")") or ""))
  o:flush()
end

function R:on_note(text)
  clear_line(self)
  self.out:write(self:icon("📝"), "note: ", text, "\n")
  self.out:flush()
end

function R:on_progress(p)
  local lag = finite(p.lag_p99_ms) and p.lag_p99_ms > 0 and string.format("  lag p99 %s ms", num(p.lag_p99_ms)) or ""
  local line = string.format("[%-7s %6.1f/%.0fs] tps %9.1f  p95 %8s ms  p99 %8s ms  errors %d%s",
    p.phase, p.elapsed_s or 0, p.total_s or 0, finite(p.tps) or 0, num(p.p95_ms), num(p.p99_ms), p.errors or 0, lag)
  if p.study then
    line = string.format("[band %d/%d %-7s %5.1f/%.0fs] tps %9.1f  p95 %8s ms  errors %d%s | study %3.0f%%, ETA %s",
      p.study.band, p.study.bands, p.phase, p.elapsed_s or 0, p.total_s or 0, finite(p.tps) or 0, num(p.p95_ms),
      p.errors or 0, lag, 100 * (finite(p.study.fraction) or 0), secs(math.floor((finite(p.study.eta_s) or 0) + 0.5)))
  end
  if self.tty then
    io.stderr:write("\r", line, "\27[K")
    self.pending_cr = true
  else
    io.stderr:write(line, "\n")
  end
  io.stderr:flush()
end

local function clear(self)
  if self.pending_cr then
    io.stderr:write("\r\27[K")
    self.pending_cr = false
  end
end
clear_line = clear

-- The open loop's figures (band.rate), one line.
local function rate_lines(self, band, indent)
  local r = band.rate
  if type(r) ~= "table" then return end
  self.out:write(string.format("%s%srate: target %s/s, achieved %s/s (%s), lag p50 %s ms, p99 %s ms, max %s ms; " ..
    "late %s, skipped %s\n", indent, self:icon("⏱"), num(r.target, "%.1f"), num(r.achieved, "%.1f"),
    r.arrival or "poisson", num(r.lag_p50_ms), num(r.lag_p99_ms), num(r.lag_max_ms), count(r.late), count(r.skipped)))
  self.out:write(string.format("%s  service time (from the actual start): avg %s ms, p50 %s ms, p95 %s ms, " ..
    "p99 %s ms\n", indent, num(r.service_avg_ms), num(r.service_p50_ms), num(r.service_p95_ms), num(r.service_p99_ms)))
end

-- The workload's own figures (w:record) and connect times (w:connect).
local function metric_lines(self, band, indent)
  local names = {}
  for name in pairs(type(band.metrics) == "table" and band.metrics or {}) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    local m = band.metrics[name]
    self.out:write(string.format("%smetric %s: %s, avg %s ms, p50 %s ms, p95 %s ms, p99 %s ms, max %s ms\n", indent,
      name, count(m.count), num(m.avg_ms), num(m.p50_ms), num(m.p95_ms), num(m.p99_ms), num(m.max_ms)))
  end
end

-- The band's bottleneck from server observation, when there is one.
local function bottleneck_line(self, band, indent)
  local s = type(band.server) == "table" and band.server or nil
  local b = s and type(s.bottleneck) == "table" and s.bottleneck or nil
  local t = b and b.type or band.bottleneck_type or (band.analysis and band.analysis.bottleneck_type)
  if not t then return end
  local extra = ""
  if b and finite(b.confidence) then extra = string.format(" (confidence %s", num(b.confidence, "%.2f")) end
  if b and b.runner_up and b.runner_up ~= "none" then
    extra = extra .. (extra == "" and " (" or ", ") .. "runner-up " .. b.runner_up
  end
  if extra ~= "" then extra = extra .. ")" end
  local word = t == "none" and "none stands out" or t
  self.out:write(indent, self:icon("🔍"), "bottleneck: ", t == "none" and word or self:paint("yellow", word), extra,
    "\n")
  if s and s.activity and type(s.activity.wait_shares) == "table" then
    local w, parts = s.activity.wait_shares, {}
    for _, k in ipairs { "cpu", "io", "lock", "lwlock", "ipc", "client", "other" } do
      if finite(w[k]) and w[k] >= 0.005 then parts[#parts + 1] = string.format("%s %.0f%%", k, 100 * w[k]) end
    end
    if #parts > 0 then self.out:write(indent, "  active backends: ", table.concat(parts, ", "), "\n") end
  end
end

local function study_band(self, band)
  local o, p, a = self.out, band.performance, band.analysis or {}
  if band.status == "failed" then
    o:write(self:icon("❌"), self:paint("red", string.format("band %d FAILED: %s", band.band_number,
      tostring(band.error))), "\n")
    o:flush()
    return
  end
  p = p or {}
  local head = band.status == "complete" and "complete" or "INTERRUPTED"
  o:write(self:icon(band.status == "complete" and "✅" or "⚠️"), string.format("band %d %s: %s tps | avg %s ms | " ..
    "p95 %s ms\n", band.band_number, band.status == "complete" and self:paint("green", head) or
    self:paint("yellow", head), num(p.tps, "%.1f"), num(p.avg_latency_ms), num(p.p95_latency_ms)))
  if a.marginal_gain_tps_per_worker then
    local word = a.marginal_gain_rating or "n/a"
    local colour = (word == "excellent" or word == "good") and "green" or word == "degradation" and "red" or "yellow"
    o:write(string.format("  %smarginal gain: %+.1f tps/worker (%s)\n", self:icon("📈"), a.marginal_gain_tps_per_worker,
      self:paint(colour, word)))
  elseif band.band_number == 1 or not self.seen_complete then
    o:write("  ", self:icon("📈"), "marginal gain: n/a (baseline)\n")
  else
    o:write("  ", self:icon("📈"), "marginal gain: n/a (same workers as the band before)\n")
  end
  o:write(string.format("  %sefficiency: %s tps/worker%s\n", self:icon("🎯"), num(a.efficiency_tps_per_worker, "%.1f"),
    finite(a.tps_ci_rel) and string.format(", noise %s%.1f%%", self.fancy and "±" or "+/-", 100 * a.tps_ci_rel)
      or ""))
  rate_lines(self, band, "  ")
  metric_lines(self, band, "  ")
  bottleneck_line(self, band, "  ")
  for _, w in ipairs(band.warnings or {}) do o:write("  ", self:icon("⚠️"), self:paint("yellow", "warning: " .. w), "\n") end
  if band.status == "complete" then self.seen_complete = true end
  o:flush()
end

function R:on_band(band, run)
  clear(self)
  if run and run.study then return study_band(self, band) end
  local p = band.performance
  local o = self.out
  if band.status ~= "complete" then
    o:write(string.format("band %d INTERRUPTED after %.1fs of measurement: figures cover that part only\n",
      band.band_number, band.duration_seconds or 0))
  end
  o:write(string.format("transactions: %s in %ss (%s tps), statements: %s (%s qps)\n",
    count(p.transactions), num(band.duration_seconds), num(p.tps, "%.1f"), count(p.statements), num(p.qps, "%.1f")))
  o:write(string.format("latency ms: avg %s  sd %s  p50 %s  p90 %s  p95 %s  p99 %s  p99.9 %s  max %s\n",
    num(p.avg_latency_ms), num(p.std_dev_latency), num(p.p50_latency_ms), num(p.p90_latency_ms),
    num(p.p95_latency_ms), num(p.p99_latency_ms), num(p.p999_latency_ms), num(p.max_latency_ms)))
  o:write(string.format("errors: %s  retries: %s  reconnects: %s  pool wait: avg %s ms, p95 %s ms\n",
    count(p.errors), count(p.retries), count(p.reconnects), num(p.pool_wait_avg_ms), num(p.pool_wait_p95_ms)))
  local states = {}
  for s in pairs(band.errors_by_sqlstate or {}) do states[#states + 1] = s end
  table.sort(states)
  for _, s in ipairs(states) do
    o:write(string.format("  SQLSTATE %s: %d%s\n", s, band.errors_by_sqlstate[s],
      s == "LUA" and " (script errors, first one printed above)" or ""))
  end
  local extra = {}
  for k in pairs(band.workload_figures or {}) do extra[#extra + 1] = k end
  table.sort(extra)
  for _, k in ipairs(extra) do
    o:write(string.format("%s: %s\n", k, num(band.workload_figures[k], "%.1f")))
  end
  rate_lines(self, band, "")
  metric_lines(self, band, "")
  local names = {}
  for name in pairs(band.transactions or {}) do names[#names + 1] = name end
  table.sort(names)
  if #names > 1 then
    o:write(string.format("%-20s %10s %10s %10s %10s %10s %8s %8s\n", "transaction", "count", "tps",
      "avg ms", "p95 ms", "p99 ms", "errors", "retries"))
    for _, name in ipairs(names) do
      local t = band.transactions[name]
      o:write(string.format("%-20s %10s %10s %10s %10s %10s %8s %8s\n", name, count(t.transactions),
        num(t.tps, "%.1f"), num(t.avg_latency_ms), num(t.p95_latency_ms), num(t.p99_latency_ms), count(t.errors),
        count(t.retries)))
    end
  end
  bottleneck_line(self, band, "")
  o:flush()
end

-- Headings of the analysis text, with their emoji (the seed's layout).
local HEADINGS = {
  ["SCALABILITY ANALYSIS"] = "🔬", ["OPTIMAL CONFIGURATION"] = "🏆", ["SCALING ANALYSIS"] = "📊",
  ["MATHEMATICAL MODELS"] = "🧮", ["CAPACITY"] = "📐", ["RECOMMENDATIONS"] = "💡",
  ["BOTTLENECK CLASSIFICATION"] = "🎯", ["OFFERED LOAD"] = "⏱",
}

-- Colour and emoji on section headings, when allowed.
local function decorate(self, text)
  if not self.fancy then return text end
  local lines = {}
  for line in (text .. "\n"):gmatch("(.-)\n") do
    local word = line:match("^(%u[%u ]+%u)$") or line:match("^(SCALABILITY ANALYSIS)")
    if word and HEADINGS[word] then
      line = self:icon(HEADINGS[word]) .. self:paint("bold", line)
    elseif line:match("^[-─]+$") and #lines > 0 then
      line = self:paint("dim", line)
    end
    lines[#lines + 1] = line
  end
  return table.concat(lines, "\n")
end

-- The analysis as text: stormdb.analysis_text when the build has it, else
-- the headline figures straight from the analysis table.
local function analysis_text(self, a, run)
  local ok, mod = pcall(require, "stormdb.analysis_text")
  if ok and type(mod) == "table" and type(mod.render) == "function" then
    local measured = {}
    for _, b in ipairs(run.bands) do
      if b.status == "complete" and (b.duration_seconds or 0) > 0 then
        local p = b.performance
        measured[#measured + 1] = {
          band_number = b.band_number, workers = b.workers, connections = b.connections, tps = p.tps,
          avg_latency_ms = p.avg_latency_ms, p50_latency_ms = p.p50_latency_ms, p95_latency_ms = p.p95_latency_ms,
          p99_latency_ms = p.p99_latency_ms, errors = p.errors, duration_seconds = b.duration_seconds,
        }
      end
    end
    local title = run.study and string.format("the %s study of %s", run.study.strategy, run.metadata.workload)
      or run.metadata.workload
    local rok, text = pcall(mod.render, a, { ascii = not engine.isatty(1), bands = measured, title = title })
    if rok and type(text) == "string" then return (text:gsub("\n$", "")) end
  end
  local lines = {}
  local s = a.status and string.format("status %s%s", a.status, a.message and (": " .. a.message) or "")
  if s then lines[#lines + 1] = s end
  local opt = a.optimal_configuration
  if type(opt) == "table" and opt.workers then
    lines[#lines + 1] = string.format("optimal configuration: %s workers, %s connections, %s tps (confidence %s)",
      tostring(opt.workers), tostring(opt.connections), num(opt.tps, "%.1f"), num(opt.confidence, "%.2f"))
    if opt.reasoning then lines[#lines + 1] = "  " .. opt.reasoning end
  end
  local m = a.mathematical_models
  if type(m) == "table" and m.best_fit then
    lines[#lines + 1] = string.format("best fit: %s (R^2 %s), predicted peak %s tps at %s workers", m.best_fit,
      num(m.r_squared, "%.4f"), num(m.predicted_peak_tps, "%.1f"), num(m.predicted_peak_workers, "%.1f"))
  end
  return table.concat(lines, "\n")
end

-- Wraps text at 78 columns with an indent.
local function wrap(text, indent, first)
  local lines, line, empty = {}, first or indent, true
  for word in tostring(text):gmatch("%S+") do
    if not empty and #line + 1 + #word > 78 then
      lines[#lines + 1] = line
      line = indent .. word
    else
      line = line .. (empty and "" or " ") .. word
    end
    empty = false
  end
  lines[#lines + 1] = line
  return table.concat(lines, "\n") .. "\n"
end

local function bands_list(list)
  local out = {}
  for _, b in ipairs(type(list) == "table" and list or {}) do out[#out + 1] = tostring(b) end
  return table.concat(out, ", ")
end

-- BOTTLENECK CLASSIFICATION, from run.bottleneck_analysis (docs/observation.md).
local function bottleneck_section(self, run)
  local ba = run.bottleneck_analysis or (type(run.analysis) == "table" and run.analysis.bottleneck_analysis)
  if type(ba) ~= "table" then return end
  local o = self.out
  o:write("\n", decorate(self, "BOTTLENECK CLASSIFICATION\n-------------------------"), "\n")
  local primary = ba.primary_bottleneck or "none"
  if primary == "none" then
    o:write(string.format("  primary: none stands out (confidence %s)\n", num(ba.confidence, "%.2f")))
  else
    o:write(string.format("  primary: %s (confidence %s)\n", self:paint("yellow", primary),
      num(ba.confidence, "%.2f")))
  end
  if ba.basis then
    o:write(wrap(string.format("from %s%s", ba.basis,
      type(ba.bands) == "table" and #ba.bands > 0 and string.format(": band%s %s", #ba.bands == 1 and "" or "s",
        bands_list(ba.bands)) or ""), "    ", "  "))
  end
  for _, f in ipairs(type(ba.secondary_factors) == "table" and ba.secondary_factors or {}) do
    o:write(string.format("  secondary: %s (score %s%s)\n", tostring(f.type), num(f.score, "%.2f"),
      type(f.bands) == "table" and #f.bands > 0 and ("; band " .. bands_list(f.bands)) or ""))
  end
  for _, r in ipairs(type(ba.reasons) == "table" and ba.reasons or {}) do
    o:write(wrap(r, "    ", "  - "))
  end
  local per = type(ba.per_band) == "table" and ba.per_band or {}
  if #per > 0 then
    o:write(string.format("  %5s %8s %6s  %-18s %10s  %s\n", "band", "workers", "conns", "type", "confidence",
      "region"))
    for _, pb in ipairs(per) do
      o:write(string.format("  %5s %8s %6s  %-18s %10s  %s\n", tostring(pb.band or ""), tostring(pb.workers or ""),
        tostring(pb.connections or ""), tostring(pb.type or "none"), num(pb.confidence, "%.2f"), pb.region or ""))
    end
  end
  for i, rec in ipairs(type(ba.recommendations) == "table" and ba.recommendations or {}) do
    o:write(wrap(string.format("%s (%s)", tostring(rec.suggestion or ""), tostring(rec.action or rec.type or "")),
      "     ", string.format("  %d. ", i)))
  end
  for _, n in ipairs(type(ba.notes) == "table" and ba.notes or {}) do
    o:write(wrap(n, "    ", "  note: "))
  end
end

-- OFFERED LOAD: throughput against the offered rate (run.rate_analysis).
local function rate_section(self, run)
  local ra = run.rate_analysis
  if type(ra) ~= "table" or type(ra.points) ~= "table" then return end
  local o = self.out
  o:write("\n", decorate(self, "OFFERED LOAD\n------------"), "\n")
  o:write(string.format("  %5s %12s %12s %7s %12s %12s %8s\n", "band", "offered/s", "achieved/s", "ratio",
    "p99 ms", "lag p99 ms", "skipped"))
  for _, pt in ipairs(ra.points) do
    o:write(string.format("  %5s %12s %12s %7s %12s %12s %8s\n", tostring(pt.band or ""), num(pt.offered, "%.1f"),
      num(pt.achieved, "%.1f"), num(pt.ratio, "%.3f"), num(pt.p99_latency_ms), num(pt.lag_p99_ms), count(pt.skipped)))
  end
  if ra.summary then o:write(wrap(ra.summary, "    ", "  ")) end
end

local function files_section(self, run)
  if #(run.exports or {}) == 0 then return end
  local o = self.out
  o:write("\n", self:icon("📂"), "results written to:\n")
  for _, path in ipairs(run.exports) do o:write("  ", path, "\n") end
end

local function study_done(self, run)
  local o = self.out
  o:write(RULE, "\n")
  local state = run.metadata.status
  o:write(self:icon(state == "complete" and "✅" or "⚠️"), string.format("study %s: %d band%s in %s\n",
    state == "complete" and self:paint("green", state) or self:paint("yellow", tostring(state)), #run.bands,
    #run.bands == 1 and "" or "s", secs(math.floor((run.metadata.duration_total_seconds or 0) + 0.5))))
  o:write(string.format("%5s %8s %11s %11s %9s %9s %7s %11s %11s %12s\n", "band", "workers", "connections",
    "tps", "avg ms", "p95 ms", "errors", "tps/worker", "region", "status"))
  for _, b in ipairs(run.bands) do
    local p, a = b.performance or {}, b.analysis or {}
    o:write(string.format("%5d %8d %11d %11s %9s %9s %7s %11s %11s %12s\n", b.band_number, b.workers,
      b.connections, num(p.tps, "%.1f"), num(p.avg_latency_ms), num(p.p95_latency_ms),
      p.errors and tostring(p.errors) or "", num(a.efficiency_tps_per_worker, "%.1f"), a.scaling_region or "",
      b.status))
  end
  if run.analysis then
    o:write("\n", decorate(self, analysis_text(self, run.analysis, run)), "\n")
  elseif run.analysis_note then
    o:write("\nanalysis ", run.analysis_note, "\n")
  end
  rate_section(self, run)
  bottleneck_section(self, run)
  files_section(self, run)
  o:flush()
end

function R:on_run_done(run)
  clear(self)
  if run.study then return study_done(self, run) end
  bottleneck_section(self, run)
  for _, path in ipairs(run.exports or {}) do
    self.out:write("result written to ", path, "\n")
  end
  self.out:flush()
end

return R
