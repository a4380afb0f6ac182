-- slo_search: the highest arrival rate at which a latency objective holds.
-- Every probe is an open-loop band (latency from scheduled starts) at
-- max_workers: first the rate doubles from min_rate (default 10/s) until a
-- band misses the objective (or max_rate passes), then the bracket between
-- the last rate that held and the first that did not is bisected until it is
-- narrower than slo.precision (default 5%) of the rate.
--
--   progressive: { strategy: slo_search, max_workers: 16, min_rate: 50, max_rate: 5000 }
--   slo: { p99_ms: 20 }
local M = {
  description = "open-loop probes: the highest arrival rate at which a latency objective (slo:) holds",
  stops_itself = true,
}

-- The objective: a percentile and its limit in ms.
local function objective(study)
  local slo = study.slo or {}
  if slo.p99_ms then return "p99_latency_ms", slo.p99_ms, "p99" end
  if slo.p95_ms then return "p95_latency_ms", slo.p95_ms, "p95" end
  error("slo_search needs a latency objective: slo: {p99_ms: N} (or p95_ms), or --slo-p99-ms N", 0)
end

-- Did the band meet the objective? A band that could not keep up with its
-- schedule (achieved well below offered) misses it too, whatever its
-- latency: it skipped or queued work.
function M.held(band, study)
  local field, limit = objective(study)
  local perf = band.performance
  if band.status ~= "complete" or not perf then return false end
  local latency = perf[field]
  if latency == nil or latency > limit then return false end
  local rate = band.rate
  if rate and rate.target and rate.achieved and rate.achieved < 0.9 * rate.target then return false end
  return (perf.errors or 0) == 0 or (perf.errors or 0) < 0.01 * (perf.transactions or 0)
end

-- lo: highest rate that held; hi: lowest that did not (nil when none yet).
function M.bracket(history, study)
  local lo, hi
  for _, b in ipairs(history) do
    local r = b.rate and b.rate.target
    if r then
      if M.held(b, study) then
        if not lo or r > lo then lo = r end
      elseif not hi or r < hi then
        hi = r
      end
    end
  end
  if lo and hi and lo >= hi then lo = nil end -- noise: a lower rate failed after a higher one held
  return lo, hi
end

function M.next(study, history)
  objective(study) -- fails early, at plan time, without an objective
  local workers = study.max_workers or study.min_workers
  local connections = study.max_connections or workers
  local start = study.min_rate or 10
  local cap = study.max_rate or 1e7
  local precision = (study.slo and study.slo.precision) or 0.05
  local function band(rate)
    return { workers = workers, connections = connections, rate = math.min(rate, cap) }
  end
  local last = history[#history]
  if last and last.status == "planned" then
    -- The plan (--dry-run, the header): the doubling probes up to max_rate.
    local r = last.rate * 2
    if last.rate >= cap then return nil end
    return band(r)
  end
  if #history == 0 then return band(start) end
  local lo, hi = M.bracket(history, study)
  if not hi then
    -- still bracketing: double from the highest rate that held
    local top = lo or start
    if top >= cap then return nil end
    return band(top * 2)
  end
  if not lo then
    -- even the first rate missed the objective: halve until one holds
    if hi <= 1 then return nil end
    return band(math.max(1, hi / 2))
  end
  if (hi - lo) / lo <= precision then return nil end
  return band((lo + hi) / 2)
end

-- What the search found, for the report (run.strategy_summary).
function M.summary(study, history)
  local field, limit, name = objective(study)
  local lo, hi = M.bracket(history, study)
  return {
    objective = string.format("%s <= %g ms", name, limit),
    objective_field = field,
    objective_ms = limit,
    highest_rate_held = lo,
    lowest_rate_missed = hi,
    probes = #history,
    precision = (study.slo and study.slo.precision) or 0.05,
    conclusion = lo and string.format("the objective holds up to %.1f transactions/s%s", lo,
      hi and string.format(" and is missed at %.1f", hi) or " (the highest rate probed)")
      or "the objective was not met at any rate probed",
  }
end

return M
