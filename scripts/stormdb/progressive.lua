-- stormdb.progressive: progressive studies. A study is a series of bands
-- chosen by a strategy (scripts/strategies/NAME.lua or the user's file),
-- each run through warmup, measure and cooldown by the engine, exported after
-- every band, and analysed at the end (docs/strategies.md,
-- docs/configuration.md).
--
-- The first half is pure arithmetic (band lists, pairing, the degradation
-- test), shared by the bundled strategies and unit-tested without a server;
-- the second half runs a study from the controller (cli.lua).

local M = {}

-- --- band lists ---------------------------------------------------------------

local function round(x) return math.floor(x + 0.5 + 1e-9) end

local function dedupe(list)
  local out, seen = {}, {}
  for _, v in ipairs(list) do
    if not seen[v] then
      seen[v] = true
      out[#out + 1] = v
    end
  end
  return out
end

-- Fractions f_0 = 0 .. f_(n-1) = 1 of the range, per kind (duration dialect).
local function fractions(kind, n)
  local f = {}
  if kind == "linear" then
    for i = 0, n - 1 do f[i + 1] = i / (n - 1) end
  elseif kind == "fibonacci" then
    -- increments proportional to 2, 3, 5, 8, 13, ...
    local a, b, sum, cum = 2, 3, 0, {}
    for i = 1, n - 1 do
      sum = sum + a
      cum[i] = sum
      a, b = b, a + b
    end
    f[1] = 0
    for i = 1, n - 1 do f[i + 1] = cum[i] / sum end
  else
    error("no fractions for " .. tostring(kind))
  end
  return f
end

-- Duration dialect: n values from lo to hi (endpoints exact, duplicates
-- after rounding removed). kind: linear, exponential or fibonacci.
function M.values(kind, lo, hi, n)
  assert(lo >= 1 and hi >= lo and n >= 1, "values: need 1 <= lo <= hi and n >= 1")
  if n == 1 or lo == hi then return { hi } end
  local out = {}
  if kind == "exponential" then
    for i = 0, n - 1 do out[i + 1] = round(lo * (hi / lo) ^ (i / (n - 1))) end
  else
    for i, f in ipairs(fractions(kind, n)) do out[i] = round(lo + f * (hi - lo)) end
  end
  out[1], out[#out] = lo, hi
  return dedupe(out)
end

-- Step dialect: linear steps from lo by step (hi added as the last band
-- when the steps miss it), exponential doubling from lo (hi the last band),
-- or the Fibonacci numbers inside [lo, hi].
function M.steps(kind, lo, hi, step)
  assert(lo >= 1 and hi >= lo, "steps: need 1 <= lo <= hi")
  local out = {}
  if kind == "linear" then
    step = step or (hi - lo)
    if step < 1 then step = 1 end
    local v = lo
    while v < hi do
      out[#out + 1] = v
      v = v + step
    end
    out[#out + 1] = hi
  elseif kind == "exponential" then
    local v = lo
    while v < hi do
      out[#out + 1] = v
      v = v * 2
    end
    out[#out + 1] = hi
  elseif kind == "fibonacci" then
    local a, b = 1, 2
    while a <= hi do
      if a >= lo then out[#out + 1] = a end
      a, b = b, a + b
    end
    if #out == 0 then
      error(string.format("no Fibonacci number lies between %d and %d", lo, hi), 0)
    end
  else
    error("no step rule for " .. tostring(kind))
  end
  return dedupe(out)
end

-- Pairs a worker list and a connection list into bands: lists of different
-- lengths pair by proportional index; grid = every combination.
function M.pair(workers, connections, grid, rates)
  local bands = {}
  rates = rates or {}
  if grid then
    for _, w in ipairs(workers) do
      for _, c in ipairs(connections) do
        if #rates == 0 then bands[#bands + 1] = { workers = w, connections = c } end
        for _, r in ipairs(rates) do bands[#bands + 1] = { workers = w, connections = c, rate = r } end
      end
    end
    return bands
  end
  local n = math.max(#workers, #connections, #rates)
  local function at(list, j)
    if #list == 0 then return nil end
    return list[(n == 1 and 0 or round(j * (#list - 1) / (n - 1))) + 1]
  end
  for j = 0, n - 1 do
    bands[#bands + 1] = { workers = at(workers, j), connections = at(connections, j), rate = at(rates, j) }
  end
  return bands
end

-- The whole band list of a study for kind (linear, exponential, fibonacci),
-- in its dialect. Connections follow workers when the study has no
-- connection range.
function M.list(kind, study)
  local max_w = study.max_workers or study.min_workers
  local workers, connections, rates
  if study.dialect == "step" then
    workers = M.steps(kind, study.min_workers, max_w, study.step_workers)
    if study.min_connections then
      connections = M.steps(kind, study.min_connections, study.max_connections, study.step_connections)
    end
  else
    workers = M.values(kind, study.min_workers, max_w, study.bands or 5)
    if study.min_connections then
      connections = M.values(kind, study.min_connections, study.max_connections, study.bands or 5)
    end
  end
  -- A study of the offered load: the rates follow the same rule, over as
  -- many bands (the worker list, or bands:), workers paired alongside.
  if study.min_rate then
    local n = study.dialect == "step" and math.max(#workers, 2) or (study.bands or 5)
    rates = M.values(kind, study.min_rate, study.max_rate, n)
  end
  if not connections and not rates then
    local bands = {}
    for i, w in ipairs(workers) do bands[i] = { workers = w, connections = w } end
    return bands
  end
  local bands = M.pair(workers, connections or workers, study.grid, rates)
  if not connections then
    for _, b in ipairs(bands) do b.connections = b.workers end
  end
  return bands
end

-- --- noise and degradation ----------------------------------------------------------

-- Student t quantile t(0.975, df), for the 95% interval of a band's TPS.
local T975 = { 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
  2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
  2.045, 2.042 }
function M.t975(df)
  if df < 1 then return nil end
  if df <= 30 then return T975[df] end
  if df <= 60 then return 2.042 - (df - 30) * (2.042 - 2.000) / 30 end
  if df <= 120 then return 2.000 - (df - 60) * (2.000 - 1.980) / 60 end
  return 1.960
end

-- Relative half-width of the 95% confidence interval of a band's TPS, from
-- the TPS of its measure-phase intervals (one per progress tick):
-- t(0.975, k-1) * sd / (mean * sqrt(k)). nil with fewer than 3 intervals.
function M.tps_noise(samples)
  local k = #samples
  if k < 3 then return nil end
  local sum = 0
  for _, x in ipairs(samples) do sum = sum + x end
  local mean = sum / k
  if mean <= 0 then return nil end
  local ss = 0
  for _, x in ipairs(samples) do ss = ss + (x - mean) ^ 2 end
  local sd = math.sqrt(ss / (k - 1))
  local r = M.t975(k - 1) * sd / (mean * math.sqrt(k))
  if r ~= r or r == math.huge then return nil end
  return r
end

-- A drop is beyond noise when it is larger than both NOISE_FLOOR and the
-- sum of the two bands' relative 95% intervals.
M.NOISE_FLOOR = 0.05

local function complete(history)
  local out = {}
  for _, b in ipairs(history) do
    if b.status == "complete" and b.performance and b.performance.tps then out[#out + 1] = b end
  end
  return out
end

local function noise_of(b) return b.analysis and b.analysis.tps_ci_rel or 0 end

-- Whether band b lost throughput beyond noise against band a. Returns
-- lost, relative drop, tolerance.
function M.lost(a, b)
  local ta, tb = a.performance.tps, b.performance.tps
  if not (ta > 0) then return false, 0, M.NOISE_FLOOR end
  local drop = (ta - tb) / ta
  local tol = math.max(M.NOISE_FLOOR, noise_of(a) + noise_of(b))
  return drop > tol, drop, tol
end

-- Degradation: the last two complete bands each lost throughput beyond
-- noise against the complete band before them. Returns true and a sentence,
-- or false.
function M.degrading(history)
  local done = complete(history)
  local n = #done
  if n < 3 then return false end
  local l1, d1, t1 = M.lost(done[n - 2], done[n - 1])
  local l2, d2, t2 = M.lost(done[n - 1], done[n])
  if not (l1 and l2) then return false end
  return true, string.format("throughput fell twice in a row beyond noise: %d -> %d workers -%.1f%% " ..
    "(noise %.1f%%), %d -> %d workers -%.1f%% (noise %.1f%%)", done[n - 2].workers, done[n - 1].workers,
    100 * d1, 100 * t1, done[n - 1].workers, done[n].workers, 100 * d2, 100 * t2)
end

-- One band between the best band (highest TPS) and the better of its two
-- neighbours by worker count, when they are at least 2 workers apart and the
-- point is new. nil otherwise, and nil when the best band has the most
-- workers (the peak is not inside the range measured).
function M.refinement(history)
  local done = complete(history)
  if #done < 2 then return nil end
  local best = done[1]
  for _, b in ipairs(done) do
    if b.performance.tps > best.performance.tps then best = b end
  end
  local lower, upper
  for _, b in ipairs(done) do
    if b.workers < best.workers and (not lower or b.workers > lower.workers) then lower = b end
    if b.workers > best.workers and (not upper or b.workers < upper.workers) then upper = b end
  end
  -- The best band at the top of the range says the peak lies beyond it:
  -- nothing to refine inside.
  if not upper then return nil end
  local nb = upper
  if lower and lower.performance.tps > upper.performance.tps then nb = lower end
  if math.abs(nb.workers - best.workers) < 2 then return nil end
  local band = {
    workers = round((best.workers + nb.workers) / 2),
    connections = round((best.connections + nb.connections) / 2),
    refinement = true,
  }
  for _, b in ipairs(history) do
    if b.workers == band.workers and b.connections == band.connections then return nil end
  end
  band.note = string.format("refinement between %d and %d workers", math.min(best.workers, nb.workers),
    math.max(best.workers, nb.workers))
  return band
end

-- The adaptive rule over a band list: the list in order until two bands in a
-- row lose throughput beyond noise (or the list ends), then one refinement
-- band, then stop.
function M.adaptive_next(list, history)
  local planned, refined = 0, false
  for _, b in ipairs(history) do
    if b.refinement then refined = true else planned = planned + 1 end
  end
  if refined then return nil end
  local measured = #complete(history) > 0
  local stop = M.degrading(history)
  if not stop and list[planned + 1] then return list[planned + 1] end
  if not measured then return nil end -- a plan (dry run) or nothing measured: no refinement
  return M.refinement(history)
end

-- --- strategies -------------------------------------------------------------------

local function is_path(name) return name:find("/", 1, true) or name:match("%.lua$") end

-- The strategy module for a name or a path. Returns module or nil, message.
function M.load_strategy(name)
  local mod
  if is_path(name) then
    local chunk, err = loadfile(name)
    if not chunk then return nil, err end
    local ok, m = xpcall(chunk, debug.traceback)
    if not ok then return nil, m end
    mod = m
  else
    if not name:match("^[%w_%-]+$") then
      return nil, string.format("'%s' is neither a strategy's name nor a path to a .lua file", name)
    end
    local ok, m = pcall(require, "strategies." .. name)
    if not ok then
      if tostring(m):find("module 'strategies." .. name .. "' not found", 1, true) then
        return nil, string.format("no strategy named '%s' (stormdb list shows the bundled ones; or give a path " ..
          "to a .lua file)", name)
      end
      return nil, m
    end
    mod = m
  end
  if type(mod) ~= "table" or type(mod.next) ~= "function" then
    return nil, string.format("strategy %s must return a table with a next(study, history) function", name)
  end
  return mod
end

local MAX_BANDS = 1000

-- A message raised on purpose (error(msg, 0)) is shown as it is; a bug
-- (file:line: ...) gets its traceback.
local function traceback(e)
  if type(e) == "string" and e:match("^[^\n]-%.lua:%d+:") then return debug.traceback(e, 2) end
  return tostring(e)
end

-- Checks what a strategy returned. Returns band or nil, message.
local function check_band(name, b)
  if type(b) ~= "table" then
    return nil, string.format("strategy %s: next() returned %s, not a table {workers=, connections=} or nil",
      name, type(b))
  end
  local w, c = b.workers, b.connections == nil and b.workers or b.connections
  local function whole(x) return type(x) == "number" and x >= 1 and x == math.floor(x) and x <= 1000000 end
  if not whole(w) or not whole(c) then
    return nil, string.format("strategy %s: next() returned workers=%s, connections=%s: expected whole numbers " ..
      ">= 1", name, tostring(b.workers), tostring(b.connections))
  end
  if b.rate ~= nil and not (type(b.rate) == "number" and b.rate > 0 and b.rate <= 1e8) then
    return nil, string.format("strategy %s: next() returned rate=%s: expected transactions per second > 0",
      name, tostring(b.rate))
  end
  return { workers = w, connections = c, rate = b.rate, refinement = b.refinement or nil, note = b.note }
end

-- Asks the strategy for the next band. Returns band, or nil (done), or
-- nil, message.
function M.next_band(strategy, name, study, history)
  if #history >= MAX_BANDS then return nil end
  local ok, b = xpcall(strategy.next, traceback, study, history)
  if not ok then return nil, string.format("strategy %s failed: %s", name, tostring(b)) end
  if b == nil then return nil end
  return check_band(name, b)
end

-- The plan: the bands the strategy would run if every band went as planned
-- (an adaptive strategy's largest plan). Returns list or nil, message.
function M.plan(strategy, name, study)
  local history = {}
  while true do
    local b, err = M.next_band(strategy, name, study, history)
    if err then return nil, err end
    if not b then break end
    b.band_number = #history + 1
    b.status = "planned"
    history[#history + 1] = b
  end
  if #history == 0 then return nil, string.format("strategy %s planned no band", name) end
  return history
end

-- Each band's measure phase: band_seconds, or the study's test_duration
-- divided evenly among the planned bands.
function M.measure_seconds(study, nplanned)
  if study.band_seconds then return study.band_seconds end
  return (study.test_duration_seconds or 1800) / math.max(1, nplanned)
end

-- --- the offered load -------------------------------------------------------------

local function finite(x)
  if type(x) ~= "number" or x ~= x or x == math.huge or x == -math.huge then return nil end
  return x
end


-- How many worker counts the complete bands measured.
function M.distinct_workers(history)
  local seen, n = {}, 0
  for _, b in ipairs(history) do
    if b.status == "complete" and not seen[b.workers] then
      seen[b.workers] = true
      n = n + 1
    end
  end
  return n
end

-- Throughput against offered load, over the complete open-loop bands, and
-- the knee: the first rate at which the server no longer keeps up (achieved
-- below knee.achieved_ratio of offered, default 0.95) or latency climbs (p99
-- above knee.latency_factor times the lowest rate's, default 2). nil when
-- no band had a rate.
function M.rate_analysis(history, knee)
  knee = knee or {}
  local min_ratio, factor = knee.achieved_ratio or 0.95, knee.latency_factor or 2
  local points = {}
  for _, b in ipairs(history) do
    local r, perf = b.rate, b.performance
    if b.status == "complete" and r and r.target and perf then
      points[#points + 1] = {
        band = b.band_number, offered = r.target, achieved = finite(r.achieved),
        ratio = finite((r.achieved or 0) / r.target), p99_latency_ms = finite(perf.p99_latency_ms),
        lag_p99_ms = finite(r.lag_p99_ms), skipped = r.skipped,
      }
    end
  end
  if #points == 0 then return nil end
  table.sort(points, function(a, b) return a.offered < b.offered end)
  local base = points[1].p99_latency_ms
  local found
  for _, p in ipairs(points) do
    local why
    if (p.ratio or 0) < min_ratio then
      why = string.format("achieved %.1f of %.1f offered", p.achieved or 0, p.offered)
    elseif base and p.p99_latency_ms and p.p99_latency_ms > factor * base then
      why = string.format("p99 %.3g ms, over %g times the %.3g ms at the lowest rate", p.p99_latency_ms, factor, base)
    end
    if why then
      found = { offered = p.offered, band = p.band, reason = why }
      break
    end
  end
  return {
    points = points,
    rule = { achieved_ratio = min_ratio, latency_factor = factor },
    knee = found,
    summary = found and string.format("the knee is at %.1f transactions/s offered: %s", found.offered, found.reason)
      or string.format("the server kept up with every rate offered, up to %.1f/s", points[#points].offered),
  }
end

-- --- running a study (controller only) -------------------------------------------

-- The word for a marginal gain, from its efficiency e = gain / (TPS per
-- worker of the first band): the added workers' productivity relative to
-- the first ones. Thresholds t are the analysis' regions (docs/analysis.md;
-- default linear >= 0.8, diminishing >= 0.3, saturation > -0.05), with the
-- diminishing region split at its middle (0.55) into good and diminishing.
function M.rating(e, t)
  if e == nil then return nil end
  t = t or require("stormdb.analysis").REGION_THRESHOLDS
  if e >= t.linear then return "excellent" end
  if e >= (t.linear + t.diminishing) / 2 then return "good" end
  if e >= t.diminishing then return "diminishing" end
  if e > t.saturation then return "saturation" end
  return "degradation"
end

-- Per-band figures the study adds (band.analysis): efficiency, marginal
-- gain against the previous complete band in run order, its rating (with
-- the region thresholds t, default as the analysis'), and the TPS noise.
-- scaling_region and bottleneck_type come later.
function M.band_analysis(band, history, samples, t)
  local perf = band.performance
  local a = { tps_ci_rel = M.tps_noise(samples) }
  if band.status ~= "failed" and perf then
    a.efficiency_tps_per_worker = finite(perf.tps / band.workers)
    local prev, first
    for _, b in ipairs(history) do
      if b ~= band and b.status == "complete" and b.performance then
        first = first or b
        prev = b
      end
    end
    if prev and prev.workers ~= band.workers and band.status == "complete" then
      a.marginal_gain_tps_per_worker = finite((perf.tps - prev.performance.tps) / (band.workers - prev.workers))
      local base = first.performance.tps / first.workers
      if a.marginal_gain_tps_per_worker and base > 0 then
        a.marginal_gain_rating = M.rating(a.marginal_gain_tps_per_worker / base, t)
      end
    end
  end
  return a
end

-- What went wrong in a band, in words (band.warnings; nil when nothing).
-- min_up: the fewest connections up at a progress tick.
function M.band_warnings(band, min_up)
  local w = {}
  local p = band.performance
  if band.status == "failed" or not p then return nil end
  if (p.errors or 0) > 0 then
    local states = {}
    for s, n in pairs(band.errors_by_sqlstate or {}) do states[#states + 1] = string.format("%s: %d", s, n) end
    table.sort(states)
    w[#w + 1] = string.format("%d failed transactions (SQLSTATE %s)", p.errors, table.concat(states, ", "))
  end
  if (p.transactions or 0) == 0 and (band.duration_seconds or 0) > 0 then
    w[#w + 1] = "no transaction completed in the measure phase"
  end
  if (p.reconnects or 0) > 0 then
    w[#w + 1] = string.format("%d connections lost and re-established", p.reconnects)
  end
  if min_up and min_up < band.connections then
    w[#w + 1] = string.format("at one point only %d of %d connections were up", min_up, band.connections)
  end
  if band.status == "interrupted" then
    w[#w + 1] = string.format("interrupted after %.1fs of measurement: the figures cover that part",
      band.duration_seconds or 0)
  end
  return #w > 0 and w or nil
end

-- The histogram header "v1 COUNT MIN MAX SUM SUMSQ ..." (nanoseconds):
-- the exact count, sum and sum of squares of a band's latencies.
local function histogram_sums(text)
  if type(text) ~= "string" then return nil end
  local count, sum, sumsq = text:match("^v1 (%d+) %d+ %d+ (%d+) (%S+)")
  count, sum, sumsq = tonumber(count), tonumber(sum), tonumber(sumsq)
  if not (finite(count) and finite(sum) and finite(sumsq)) then return nil end
  return count, sum / 1e6, sumsq / 1e12
end

-- A result band (docs/results.md) as the analysis' input (struct
-- analysis_band's fields, docs/analysis.md). nil without measured time.
function M.analysis_input(b)
  local p = b.performance
  if not p or not finite(p.tps) or not ((b.duration_seconds or 0) > 0) then return nil end
  local t = {
    workers = b.workers, connections = b.connections, seconds = b.duration_seconds, tps = p.tps,
    errors = finite(p.errors), p95_ms = finite(p.p95_latency_ms), pool_wait_mean_ms = finite(p.pool_wait_avg_ms),
  }
  local count, sum_ms, sumsq_ms2 = histogram_sums(b.histogram)
  if count and count > 0 then
    t.count, t.latency_sum_ms, t.latency_sumsq_ms2 = count, sum_ms, sumsq_ms2
    t.busy_seconds = sum_ms / 1000 -- connection-seconds spent in transactions
  end
  return t
end

-- The bands the analysis sees: the complete ones, in run order.
function M.analysed_bands(bands)
  local out, input = {}, {}
  for _, b in ipairs(bands) do
    local t = b.status == "complete" and M.analysis_input(b)
    if t then
      out[#out + 1] = b
      input[#input + 1] = t
    end
  end
  return out, input
end

-- Runs the analysis binding over the complete bands and writes each one's
-- scaling region into band.analysis. Returns the analysis table, or nil and
-- why ("not available in this build", "failed: ...").
function M.analyse(bands, options)
  local ok, mod = pcall(require, "stormdb.analysis")
  if not ok or type(mod) ~= "table" or type(mod.run) ~= "function" then
    return nil, "not available in this build"
  end
  local analysed, input = M.analysed_bands(bands)
  if #input == 0 then return nil, "skipped: no complete band to analyse" end
  local ran, res = pcall(mod.run, input, options or {})
  if not ran then return nil, "failed: " .. tostring(res) end
  if type(res) ~= "table" then return nil, "failed: the analysis returned " .. type(res) end
  for i, b in ipairs(analysed) do
    local s = type(res.bands) == "table" and res.bands[i]
    b.analysis = b.analysis or {}
    b.analysis.scaling_region = type(s) == "table" and type(s.region) == "string" and s.region ~= "none" and
      s.region or nil
  end
  return res
end

local ffi_ok, ffi = pcall(require, "ffi")
if ffi_ok then
  pcall(ffi.cdef, [[
    int poll(void *fds, unsigned long nfds, int timeout);
    int setenv(const char *name, const char *value, int overwrite);
    int unsetenv(const char *name);
  ]])
end

local function sleep(seconds)
  if ffi_ok then ffi.C.poll(nil, 0, math.floor(seconds * 1000)) else os.execute("sleep " .. seconds) end
end

-- After a failed band: waits until the server accepts a connection again,
-- at most limit seconds. Returns true when it does.
function M.wait_reachable(dsn, limit, engine, on_wait)
  local pg = require "stormdb.pg"
  local deadline = engine.now() + limit
  local set_timeout = ffi_ok and not os.getenv("PGCONNECT_TIMEOUT")
  if set_timeout then ffi.C.setenv("PGCONNECT_TIMEOUT", "5", 0) end
  local reachable, first = false, true
  while true do
    local conn = pg.connect(dsn)
    if conn then
      conn:close()
      reachable = true
      break
    end
    if engine.interrupted() or engine.now() >= deadline then break end
    if first and on_wait then on_wait() end
    first = false
    sleep(math.min(1, math.max(0.05, deadline - engine.now())))
  end
  if set_timeout then ffi.C.unsetenv("PGCONNECT_TIMEOUT") end
  return reachable
end

local function each(reporters, event, ...)
  for _, r in ipairs(reporters) do
    if r[event] then r[event](r, ...) end
  end
end

-- Runs the study. ctx: {strategy=, strategy_name=, study=, plan=, run=
-- (metadata, configuration, bands = {}), reporters=, dsn=, spec=
-- function(workers, connections, measure) -> engine spec, progress=
-- seconds between progress events (0: none shown), workload=, options=}.
-- Returns status: 0, 1 (a band failed or the server went away), 3 (script
-- errors), 128+signal.
function M.run(ctx)
  local engine = require "stormdb.engine"
  local result = require "stormdb.result"
  local study, run, reporters = ctx.study, ctx.run, ctx.reporters
  local measure = M.measure_seconds(study, #ctx.plan)
  local per_band = study.warmup_seconds + measure + study.cooldown_seconds
  local t0 = engine.now()
  local history = run.bands
  local status, stop = "complete", nil
  local failed, script_errors = 0, 0
  local noted = false
  local thresholds = study.analysis and study.analysis.thresholds
  local analysis_options = { thresholds = thresholds }

  local function finish_metadata()
    run.metadata.duration_total_seconds = finite(engine.now() - t0)
    run.metadata.bands_tested = #history
    run.metadata.status = status
  end

  finish_metadata()
  run.metadata.status = "running"
  each(reporters, "on_run_start", run)

  while true do
    if engine.interrupted() then
      status = "interrupted"
      break
    end
    if ctx.strategy.stops_itself and not ctx.strategy.summary and not noted then
      local degraded, why = M.degrading(history)
      if degraded then
        each(reporters, "on_note", string.format("%s: %s", ctx.strategy_name, why), run)
        noted = true
      end
    end
    if study.stop_on_degradation and not ctx.strategy.stops_itself then
      local degraded, why = M.degrading(history)
      if degraded then
        stop = "stopped on degradation: " .. why
        break
      end
    end
    local nb, err = M.next_band(ctx.strategy, ctx.strategy_name, study, history)
    if err then
      stop = err
      status = "failed"
      break
    end
    if not nb then break end
    local k = #history + 1
    local planned = math.max(#ctx.plan, k)
    local info = {
      band_number = k, bands_planned = planned, workers = nb.workers, connections = nb.connections,
      warmup = study.warmup_seconds, measure = measure, cooldown = study.cooldown_seconds, note = nb.note,
    }
    each(reporters, "on_band_start", info, run)
    local samples, min_up = {}, nil
    local function on_progress(p)
      if p.connections_up and (not min_up or p.connections_up < min_up) then min_up = p.connections_up end
      -- an interval that began before the measure phase mixes in warmup
      if p.phase == "measure" and p.interval_s > 0.5 * ctx.progress_interval and
          p.elapsed_s - p.interval_s >= study.warmup_seconds - 1e-3 then
        samples[#samples + 1] = p.tps
      end
      if ctx.progress > 0 then
        local band_left = math.max(0, p.total_s - p.elapsed_s) + study.cooldown_seconds
        local left = band_left + (planned - k) * per_band
        local elapsed = engine.now() - t0
        p.study = {
          band = k, bands = planned, eta_s = left, fraction = elapsed / math.max(1e-9, elapsed + left),
        }
        each(reporters, "on_progress", p)
      end
    end
    local obs = ctx.observer
    if obs then obs:band_start() end
    local raw, rerr = engine.run(ctx.spec(nb.workers, nb.connections, measure, nb.rate),
      obs and obs:callbacks(on_progress) or on_progress)
    local band
    if not raw then
      failed = failed + 1
      band = {
        band_number = k, workers = nb.workers, connections = nb.connections, duration_seconds = 0,
        status = "failed", error = rerr, refinement = nb.refinement,
        rate = nb.rate and { target = nb.rate } or nil,
      }
      band.analysis = {}
    else
      local extra = ctx.band_extra or {}
      band = result.band(raw, { band_number = k, workers = nb.workers, connections = nb.connections,
        rate = nb.rate or extra.rate, arrival = extra.arrival })
      band.refinement = nb.refinement
      local serr = require("stormdb.result").add_workload_figures(band, ctx.workload, ctx.options)
      if serr then io.stderr:write("stormdb: ", serr, "\n") end
      script_errors = script_errors + (band.errors_by_sqlstate.LUA or 0)
    end
    history[k] = band
    band.analysis = M.band_analysis(band, history, samples, thresholds)
    band.warnings = M.band_warnings(band, min_up)
    if obs and raw then obs:band_end(band) end
    if study.enable_analysis and band.status == "complete" then M.analyse(history, analysis_options) end
    finish_metadata()
    run.metadata.status = "running"
    each(reporters, "on_band", band, run)
    if band.status == "interrupted" or engine.interrupted() then
      status = "interrupted"
      break
    end
    if band.status == "failed" then
      local ok = M.wait_reachable(ctx.dsn, study.max_unreachable_seconds, engine, function()
        each(reporters, "on_note", string.format("band %d failed; waiting up to %s for the server",
          k, require("stormdb.duration").format(study.max_unreachable_seconds)), run)
      end)
      if engine.interrupted() then
        status = "interrupted"
        break
      end
      if not ok then
        status = "failed"
        stop = string.format("the server stayed unreachable for %s after band %d failed: the study stops here",
          require("stormdb.duration").format(study.max_unreachable_seconds), k)
        break
      end
    end
  end

  if ctx.strategy.summary then
    local ok, summary = pcall(ctx.strategy.summary, study, history)
    if ok and type(summary) == "table" then
      run.strategy_summary = summary
      if summary.conclusion then each(reporters, "on_note", ctx.strategy_name .. ": " .. summary.conclusion, run) end
    elseif not ok then
      each(reporters, "on_note", string.format("strategy %s: summary failed: %s", ctx.strategy_name, summary), run)
    end
  end
  if stop then each(reporters, "on_note", stop, run) end
  run.stop_reason = stop
  run.metadata.stop_reason = stop
  run.rate_analysis = M.rate_analysis(history, study.analysis and study.analysis.knee)
  if study.enable_analysis and run.rate_analysis and M.distinct_workers(history) < 2 then
    -- the study scaled the offered load at one worker count: a scalability
    -- fit over workers has nothing to say; the rate analysis does
    run.analysis_note = "the study scaled the offered load, not workers: " .. run.rate_analysis.summary
  elseif study.enable_analysis then
    local a, why = M.analyse(history, analysis_options)
    run.analysis = a
    run.analysis_note = why
  else
    run.analysis_note = "disabled (enable_analysis: false)"
  end
  if ctx.observer then
    run.bottleneck_analysis = ctx.observer:study(history, run.analysis)
    if run.analysis then run.analysis.bottleneck_analysis = run.bottleneck_analysis end
  end
  finish_metadata()
  each(reporters, "on_run_done", run)
  if status == "interrupted" then
    local sig = engine.interrupted()
    return sig and 128 + sig or 130
  end
  if status == "failed" or failed > 0 then return 1 end
  if script_errors > 0 then return 3 end
  return 0
end

return M
