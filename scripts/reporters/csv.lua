-- The CSV reporter: one row per band of a progressive study, in the v0.2
-- column order (docs/configuration.md), appended and flushed as each band
-- ends, so Ctrl-C or a crash never loses a finished band. At the end of the
-- study the file is rewritten once, atomically, so every row carries the
-- final analysis' scaling region. A missing figure is an empty cell, never
-- nan, inf or nil. bottleneck_type is the band's classification from server
-- observation (docs/observation.md), empty when the server was not observed.
local R = { description = "a study's bands as CSV rows, appended after every band", extension = "csv" }
R.__index = R

R.columns = {
  "band", "workers", "connections", "duration_seconds", "tps", "avg_latency_ms", "p50_latency_ms",
  "p95_latency_ms", "p99_latency_ms", "std_dev_latency", "errors", "efficiency_tps_per_worker",
  "marginal_gain_tps_per_worker", "scaling_region", "bottleneck_type",
  -- extra columns, after the v0.2 ones
  "qps", "p999_latency_ms", "retries", "pool_wait_p95_ms", "status",
  -- open-loop bands (--rate, min_rate/max_rate, slo_search): band.rate's figures
  "rate_target", "rate_achieved", "rate_lag_p99_ms", "rate_service_p99_ms", "rate_late", "rate_skipped",
}

function R.new(opts)
  assert(opts and opts.path, "csv reporter: a path is required")
  return setmetatable({ path = opts.path }, R)
end

local function cell(v)
  if v == nil then return "" end
  if type(v) == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return "" end
    if v == math.floor(v) and math.abs(v) < 1e15 then return string.format("%d", v) end
    return string.format("%.3f", v)
  end
  local s = tostring(v)
  if s:find('[,"\n]') then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

function R.row(band)
  local p, a, r = band.performance or {}, band.analysis or {}, band.rate or {}
  local values = {
    band = band.band_number, workers = band.workers, connections = band.connections,
    duration_seconds = band.duration_seconds, tps = p.tps, avg_latency_ms = p.avg_latency_ms,
    p50_latency_ms = p.p50_latency_ms, p95_latency_ms = p.p95_latency_ms, p99_latency_ms = p.p99_latency_ms,
    std_dev_latency = p.std_dev_latency, errors = p.errors,
    efficiency_tps_per_worker = a.efficiency_tps_per_worker,
    marginal_gain_tps_per_worker = a.marginal_gain_tps_per_worker,
    scaling_region = a.scaling_region, bottleneck_type = a.bottleneck_type or band.bottleneck_type,
    qps = p.qps, p999_latency_ms = p.p999_latency_ms, retries = p.retries,
    pool_wait_p95_ms = p.pool_wait_p95_ms, status = band.status,
    rate_target = r.target, rate_achieved = r.achieved, rate_lag_p99_ms = r.lag_p99_ms,
    rate_service_p99_ms = r.service_p99_ms, rate_late = r.late, rate_skipped = r.skipped,
  }
  local cells = {}
  for i, c in ipairs(R.columns) do cells[i] = cell(values[c]) end
  return table.concat(cells, ",")
end

-- io's messages start with the path; ours say it once.
local function reason(path, err)
  err = tostring(err)
  if err:sub(1, #path + 2) == path .. ": " then err = err:sub(#path + 3) end
  return err
end

-- Writes text to path (mode "w" or "a"), checking every step: a full disk
-- shows at the write, the flush or the close. Raises "cannot write PATH:
-- reason".
local function put(path, mode, text)
  local f, err = io.open(path, mode)
  if not f then error(string.format("cannot write %s: %s", path, reason(path, err)), 0) end
  local ok, werr = f:write(text)
  if ok then ok, werr = f:flush() end
  local closed, cerr = f:close()
  if not ok or not closed then
    error(string.format("cannot write %s: %s", path, reason(path, werr or cerr)), 0)
  end
end

function R:on_run_start(run)
  put(self.path, "w", table.concat(R.columns, ",") .. "\n")
  run.exports = run.exports or {}
  table.insert(run.exports, self.path)
end

function R:on_band(band)
  put(self.path, "a", R.row(band) .. "\n")
end

-- The final rewrite goes through a temporary file that replaces the CSV
-- only when it was written whole: a failure leaves the rows already there.
function R:on_run_done(run)
  local tmp = self.path .. ".tmp"
  local lines = { table.concat(R.columns, ",") }
  for _, band in ipairs(run.bands) do lines[#lines + 1] = R.row(band) end
  local ok, err = pcall(put, tmp, "w", table.concat(lines, "\n") .. "\n")
  if not ok then
    os.remove(tmp)
    error(err, 0)
  end
  local renamed, rerr = os.rename(tmp, self.path)
  if not renamed then
    os.remove(tmp)
    error(string.format("cannot write %s: %s", self.path, tostring(rerr)), 0)
  end
end

return R
