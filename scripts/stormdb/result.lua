-- stormdb.result: turns what the engine measured in a band into the one
-- result schema all of stormdb uses (docs/results.md): figures in ms and per
-- second, never NaN or Inf, histograms serialised so results merge exactly.

local histogram = require "stormdb.histogram"

local M = { schema_version = 1 }

local function finite(x)
  if x == nil or x ~= x or x == math.huge or x == -math.huge then return nil end
  return x
end

local function ms(ns) return finite(ns / 1e6) end

local function rate(n, seconds)
  if not seconds or seconds <= 0 then return nil end
  return finite(n / seconds)
end

-- Figures of one latency histogram plus its counters.
local function figures(h, count, errors, retries, seconds)
  local has = h:count() > 0
  return {
    transactions = count,
    tps = rate(count, seconds) or 0,
    avg_latency_ms = has and ms(h:mean()) or nil,
    p50_latency_ms = has and ms(h:percentile(50)) or nil,
    p90_latency_ms = has and ms(h:percentile(90)) or nil,
    p95_latency_ms = has and ms(h:percentile(95)) or nil,
    p99_latency_ms = has and ms(h:percentile(99)) or nil,
    p999_latency_ms = has and ms(h:percentile(99.9)) or nil,
    min_latency_ms = has and ms(h:min()) or nil,
    max_latency_ms = has and ms(h:max()) or nil,
    std_dev_latency = has and ms(h:stddev()) or nil,
    errors = errors,
    retries = retries,
  }
end

-- band{raw = engine.run result, workers=, connections=, band_number=, weights=}
function M.band(raw, spec)
  local seconds = raw.measured_seconds
  local all = histogram.new()
  local count, errors, retries = 0, 0, 0
  local per_tx = {}
  for _, t in ipairs(raw.transactions or {}) do
    all:merge(t.latency)
    count = count + t.count
    errors = errors + t.errors
    retries = retries + t.retries
    local f = figures(t.latency, t.count, t.errors, t.retries, seconds)
    f.histogram = t.latency:serialise()
    per_tx[t.name] = f
  end
  local perf = figures(all, count, errors, retries, seconds)
  perf.qps = rate(raw.queries or 0, seconds) or 0
  perf.statements = raw.queries or 0
  perf.reconnects = raw.reconnects or 0
  local pw = raw.pool_wait
  perf.pool_wait_p95_ms = pw and pw:count() > 0 and ms(pw:percentile(95)) or 0
  perf.pool_wait_avg_ms = pw and pw:count() > 0 and ms(pw:mean()) or 0

  local by_state = {}
  for _, e in ipairs(raw.errors or {}) do
    by_state[e.sqlstate] = (by_state[e.sqlstate] or 0) + e.count
    local t = e.transaction and per_tx[e.transaction]
    if t then
      t.errors_by_sqlstate = t.errors_by_sqlstate or {}
      t.errors_by_sqlstate[e.sqlstate] = (t.errors_by_sqlstate[e.sqlstate] or 0) + e.count
    end
  end
  perf.late = raw.late or 0
  local rate
  if spec.rate and spec.rate > 0 then
    local lag, service = raw.lag, raw.service
    local has_lag, has_service = lag and lag:count() > 0, service and service:count() > 0
    rate = {
      target = spec.rate,
      achieved = perf.tps,
      arrival = spec.arrival or "poisson",
      lag_p50_ms = has_lag and ms(lag:percentile(50)) or nil,
      lag_p99_ms = has_lag and ms(lag:percentile(99)) or nil,
      lag_max_ms = has_lag and ms(lag:max()) or nil,
      service_avg_ms = has_service and ms(service:mean()) or nil,
      service_p50_ms = has_service and ms(service:percentile(50)) or nil,
      service_p95_ms = has_service and ms(service:percentile(95)) or nil,
      service_p99_ms = has_service and ms(service:percentile(99)) or nil,
      late = raw.late or 0,
      skipped = raw.skipped or 0,
      lag_histogram = has_lag and lag:serialise() or nil,
      service_histogram = has_service and service:serialise() or nil,
    }
  end
  local metrics = {}
  for name, h in pairs(raw.metrics or {}) do
    metrics[name] = {
      count = h:count(),
      avg_ms = ms(h:mean()), p50_ms = ms(h:percentile(50)), p95_ms = ms(h:percentile(95)),
      p99_ms = ms(h:percentile(99)), max_ms = ms(h:max()),
      histogram = h:serialise(),
    }
  end
  return {
    band_number = spec.band_number or 1,
    metrics = metrics,
    rate = rate,
    workers = spec.workers,
    connections = spec.connections,
    threads = raw.threads,
    duration_seconds = seconds,
    status = raw.status == "ok" and "complete" or "interrupted",
    performance = perf,
    transactions = per_tx,
    errors_by_sqlstate = by_state,
    histogram = all:serialise(),
    pool_wait_histogram = pw and pw:serialise() or nil,
  }
end

-- A workload may add figures of its own (tpcc's tpmC) with
-- summary(band, opt) returning {name = number}. They land in
-- band.workload_figures. Returns an error message if summary() failed.
function M.add_workload_figures(band, wl, opt)
  if type(wl.summary) ~= "function" then return nil end
  local ok, figures = pcall(wl.summary, band, opt)
  if not ok then return "workload summary() failed: " .. tostring(figures) end
  if type(figures) ~= "table" then return "workload summary() must return a table" end
  local clean = {}
  for k, v in pairs(figures) do
    if type(k) == "string" and type(v) == "number" then clean[k] = finite(v) end
  end
  band.workload_figures = clean
  return nil
end

return M
