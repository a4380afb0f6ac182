-- The JSON reporter: the whole run in the result schema (docs/results.md),
-- rewritten atomically (temporary file, then rename) after every band, so a
-- crash or Ctrl-C never leaves a half-written file or loses a finished band.
--
-- A progressive study writes the v0.2 structure -- metadata{test_name,
-- version, timestamp, duration_total_seconds, strategy, bands_tested,
-- workload_type}, configuration, bands[]{band_number, workers, connections,
-- duration_seconds, performance{...}, analysis{efficiency_tps_per_worker,
-- marginal_gain_tps_per_worker, scaling_region, bottleneck_type}},
-- analysis{optimal_configuration, mathematical_models, bottleneck_analysis,
-- scaling_regions} -- with every v0.2 field present (null when the figure
-- does not exist), extended, never renamed, with everything else the run
-- knows: histograms, per-transaction figures, server observations, the
-- rest of the analysis, the rate analysis (docs/configuration.md,
-- docs/reporters.md). Empty arrays are written [] (stormdb.resultfile.encode);
-- NaN or Inf is refused rather than written.
local cjson = require "cjson"
local resultfile = require "stormdb.resultfile"

local R = { description = "the run as JSON in the documented result schema, rewritten after every band",
  extension = "json" }
R.__index = R

function R.new(opts)
  assert(opts and opts.path, "json reporter: a path is required")
  return setmetatable({ path = opts.path }, R)
end

-- Run fields that are the runner's bookkeeping, not results.
local INTERNAL = { study = true, exports = true }

local V02 = {
  metadata = { "test_name", "version", "timestamp", "duration_total_seconds", "strategy", "bands_tested",
    "workload_type" },
  performance = { "tps", "avg_latency_ms", "p50_latency_ms", "p95_latency_ms", "p99_latency_ms", "std_dev_latency",
    "errors" },
  band_analysis = { "efficiency_tps_per_worker", "marginal_gain_tps_per_worker", "scaling_region", "bottleneck_type" },
  analysis = { "optimal_configuration", "mathematical_models", "bottleneck_analysis", "scaling_regions" },
}
R.V02 = V02

-- A shallow copy of t with keys set to null where t has nothing.
local function with_nulls(t, keys)
  local c = {}
  for k, v in pairs(type(t) == "table" and t or {}) do c[k] = v end
  for _, k in ipairs(keys) do
    if c[k] == nil then c[k] = cjson.null end
  end
  return setmetatable(c, getmetatable(t))
end

-- The document the file holds, from the run (no copy of the big parts:
-- histograms and server figures are shared, only the tables the v0.2 nulls
-- go into are copied, so the run itself is never changed).
function R.document(run)
  local doc = {
    schema_version = run.schema_version,
    metadata = run.metadata,
    configuration = run.configuration,
    analysis = run.analysis,
  }
  for k, v in pairs(run) do
    if not INTERNAL[k] and k ~= "bands" and doc[k] == nil then doc[k] = v end
  end
  -- the study's bottleneck analysis belongs under analysis{} too (v0.2)
  if run.bottleneck_analysis then
    if type(doc.analysis) == "table" then
      if doc.analysis.bottleneck_analysis == nil then
        doc.analysis = with_nulls(doc.analysis, {})
        doc.analysis.bottleneck_analysis = run.bottleneck_analysis
      end
      doc.bottleneck_analysis = nil
    end
  end
  local bands = resultfile.array {}
  for i, b in ipairs(run.bands or {}) do bands[i] = b end
  doc.bands = bands
  if run.study then
    doc.metadata = with_nulls(run.metadata, V02.metadata)
    for i, b in ipairs(run.bands or {}) do
      local band = with_nulls(b, {})
      band.performance = with_nulls(b.performance, V02.performance)
      band.analysis = with_nulls(b.analysis, V02.band_analysis)
      if band.analysis.bottleneck_type == cjson.null and b.bottleneck_type then
        band.analysis.bottleneck_type = b.bottleneck_type
      end
      bands[i] = band
    end
    if type(doc.analysis) == "table" then doc.analysis = with_nulls(doc.analysis, V02.analysis) end
  end
  return doc
end

function R:write(run)
  local ok, werr = resultfile.write_json(self.path, R.document(run))
  if not ok then
    error(tostring(werr), 0)
  end
end

function R:on_run_start(run)
  self:write(run)
  run.exports = run.exports or {}
  table.insert(run.exports, self.path)
end
function R:on_band(_, run) self:write(run) end
function R:on_run_done(run) self:write(run) end

return R
