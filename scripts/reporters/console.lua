-- The console reporter: a progress line on stderr while a band runs, and the
-- band's summary on stdout when it is done (pgbench-like, with percentiles,
-- errors by SQLSTATE and per-transaction figures). In a progressive study
-- (run.study set): a header with the plan, each band's phases and, when it
-- is done, its TPS, latency, marginal gain, efficiency and warnings; the
-- progress line adds the whole study's progress and ETA; at the end a table
-- of the bands, the analysis and the exported files.
local engine = require "stormdb.engine"

local R = { description = "progress on stderr and a summary on stdout (default)" }
R.__index = R
local clear_line

function R.new(opts)
  local self = setmetatable({}, R)
  self.out = opts and opts.out or io.stdout
  self.tty = engine.isatty(2)
  return self
end

local function num(x, fmt)
  if x == nil or x ~= x then return "n/a" end
  return string.format(fmt or "%.3f", x)
end

local function secs(s)
  if s == nil then return "?" end
  return require("stormdb.duration").format(s)
end

local RULE = string.rep("=", 78)

local function study_start(self, run)
  local o, st, c = self.out, run.study, run.configuration
  local plan = st.plan
  local minc, maxc = math.huge, 0
  for _, b in ipairs(plan) do
    minc, maxc = math.min(minc, b.connections), math.max(maxc, b.connections)
  end
  local per = st.phases.warmup + st.phases.measure + st.phases.cooldown
  o:write(string.format("stormdb %s: progressive study of workload %s, strategy %s (%s dialect), seed %d\n",
    run.metadata.version, run.metadata.workload, st.strategy, c.dialect, run.metadata.seed))
  o:write(string.format("  %d band%s planned: workers %d -> %d, connections %d -> %d%s\n", #plan,
    #plan == 1 and "" or "s", plan[1].workers, plan[#plan].workers, minc, maxc,
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
    "duration %s, warmup %s, seed %d\n", run.metadata.version, run.metadata.workload, c.workers,
    c.connections, c.threads, c.duration_text, c.warmup_text, run.metadata.seed))
  self.out:flush()
end

function R:on_band_start(info)
  local o = self.out
  o:write(string.format("band %d/%d: %d worker%s, %d connection%s — warmup %s, measure %s, cooldown %s%s\n",
    info.band_number, info.bands_planned, info.workers, info.workers == 1 and "" or "s", info.connections,
    info.connections == 1 and "" or "s", secs(info.warmup), secs(info.measure), secs(info.cooldown),
    info.note and (" (" .. info.note .. ")") or ""))
  o:flush()
end

function R:on_note(text)
  clear_line(self)
  self.out:write("note: ", text, "\n")
  self.out:flush()
end

function R:on_progress(p)
  local line = string.format("[%-7s %6.1f/%.0fs] tps %9.1f  p95 %8s ms  p99 %8s ms  errors %d",
    p.phase, p.elapsed_s, p.total_s, p.tps, num(p.p95_ms), num(p.p99_ms), p.errors)
  if p.study then
    line = string.format("[band %d/%d %-7s %5.1f/%.0fs] tps %9.1f  p95 %8s ms  errors %d | study %3.0f%%, ETA %s",
      p.study.band, p.study.bands, p.phase, p.elapsed_s, p.total_s, p.tps, num(p.p95_ms), p.errors,
      100 * p.study.fraction, secs(math.floor(p.study.eta_s + 0.5)))
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

local function study_band(self, band)
  local o, p, a = self.out, band.performance, band.analysis or {}
  if band.status == "failed" then
    o:write(string.format("band %d FAILED: %s\n", band.band_number, tostring(band.error)))
    o:flush()
    return
  end
  local head = band.status == "complete" and "complete" or "INTERRUPTED"
  o:write(string.format("band %d %s: %s tps | avg %s ms | p95 %s ms\n", band.band_number, head,
    num(p.tps, "%.1f"), num(p.avg_latency_ms), num(p.p95_latency_ms)))
  if a.marginal_gain_tps_per_worker then
    o:write(string.format("  marginal gain: %+.1f tps/worker (%s)\n", a.marginal_gain_tps_per_worker,
      a.marginal_gain_rating or "n/a"))
  elseif band.band_number == 1 or not self.seen_complete then
    o:write("  marginal gain: n/a (baseline)\n")
  else
    o:write("  marginal gain: n/a (same workers as the band before)\n")
  end
  o:write(string.format("  efficiency: %s tps/worker%s\n", num(a.efficiency_tps_per_worker, "%.1f"),
    a.tps_ci_rel and string.format(", noise ±%.1f%%", 100 * a.tps_ci_rel) or ""))
  for _, w in ipairs(band.warnings or {}) do o:write("  warning: ", w, "\n") end
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
      band.band_number, band.duration_seconds))
  end
  o:write(string.format("transactions: %d in %.3fs (%.1f tps), statements: %d (%.1f qps)\n",
    p.transactions, band.duration_seconds, p.tps, p.statements, p.qps))
  o:write(string.format("latency ms: avg %s  sd %s  p50 %s  p90 %s  p95 %s  p99 %s  p99.9 %s  max %s\n",
    num(p.avg_latency_ms), num(p.std_dev_latency), num(p.p50_latency_ms), num(p.p90_latency_ms),
    num(p.p95_latency_ms), num(p.p99_latency_ms), num(p.p999_latency_ms), num(p.max_latency_ms)))
  o:write(string.format("errors: %d  retries: %d  reconnects: %d  pool wait: avg %s ms, p95 %s ms\n",
    p.errors, p.retries, p.reconnects, num(p.pool_wait_avg_ms), num(p.pool_wait_p95_ms)))
  local states = {}
  for s in pairs(band.errors_by_sqlstate) do states[#states + 1] = s end
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
  local names = {}
  for name in pairs(band.transactions) do names[#names + 1] = name end
  table.sort(names)
  if #names > 1 then
    o:write(string.format("%-20s %10s %10s %10s %10s %10s %8s %8s\n", "transaction", "count", "tps",
      "avg ms", "p95 ms", "p99 ms", "errors", "retries"))
    for _, name in ipairs(names) do
      local t = band.transactions[name]
      o:write(string.format("%-20s %10d %10.1f %10s %10s %10s %8d %8d\n", name, t.transactions, t.tps,
        num(t.avg_latency_ms), num(t.p95_latency_ms), num(t.p99_latency_ms), t.errors, t.retries))
    end
  end
  o:flush()
end

-- The analysis as text: stormdb.analysis_text when the build has it, else
-- the headline figures straight from the analysis table.
local function analysis_text(a, run)
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
    local rok, text = pcall(mod.render, a, { ascii = not engine.isatty(1), bands = measured,
      title = string.format("the %s study of %s", run.study.strategy, run.metadata.workload) })
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
    lines[#lines + 1] = string.format("best fit: %s (R² %s), predicted peak %s tps at %s workers", m.best_fit,
      num(m.r_squared, "%.4f"), num(m.predicted_peak_tps, "%.1f"), num(m.predicted_peak_workers, "%.1f"))
  end
  if type(a.scaling_regions) == "table" then
    for _, key in ipairs { "linear_scaling", "diminishing_returns", "saturation", "degradation" } do
      local r = a.scaling_regions[key]
      if type(r) == "table" and r.description and type(r.bands) == "table" and #r.bands > 0 then
        lines[#lines + 1] = string.format("%s: %s", key:gsub("_", " "), r.description)
      end
    end
  end
  for _, rec in ipairs(type(a.recommendations) == "table" and a.recommendations or {}) do
    if rec.suggestion then lines[#lines + 1] = "recommendation: " .. rec.suggestion end
  end
  return table.concat(lines, "\n")
end

local function study_done(self, run)
  local o = self.out
  o:write(RULE, "\n")
  local state = run.metadata.status
  o:write(string.format("study %s: %d band%s in %s\n", state, #run.bands, #run.bands == 1 and "" or "s",
    secs(math.floor((run.metadata.duration_total_seconds or 0) + 0.5))))
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
    o:write("\n", analysis_text(run.analysis, run), "\n")
  elseif run.analysis_note then
    o:write("\nanalysis ", run.analysis_note, "\n")
  end
  if #(run.exports or {}) > 0 then
    o:write("\nresults written to:\n")
    for _, path in ipairs(run.exports) do o:write("  ", path, "\n") end
  end
  o:flush()
end

function R:on_run_done(run)
  clear(self)
  if run.study then return study_done(self, run) end
  for _, path in ipairs(run.exports or {}) do
    self.out:write("result written to ", path, "\n")
  end
  self.out:flush()
end

return R
