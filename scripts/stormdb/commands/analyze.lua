-- stormdb analyze FILE: the scalability analysis of a saved result (stormdb's
-- result JSON or a CSV with workers and tps columns), printed as the analysis
-- section of the console report and, with --json OUT, written as JSON
-- (docs/analysis.md). runtime/main.c calls main(argv) with the arguments
-- after "analyze". Exit status: 0 analysed, 1 the JSON could not be written,
-- 2 bad input (arguments, a missing or malformed file, no bands).

local analysis = require "stormdb.analysis"
local resultfile = require "stormdb.resultfile"
local text = require "stormdb.analysis_text"

local M = {}

local EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2

M.usage = [==[
usage: stormdb analyze FILE [--json OUT] [--slo-p95-ms X] [--target-tps X]
                            [--max-latency-ms Y [--latency-kind mean|p95]]
                            [--region-linear E] [--region-diminishing E]
                            [--region-saturation E]

Fits scalability models (linear, logarithmic, exponential, logistic and the
Universal Scalability Law) to the bands of a saved result and says where the
system stops scaling, which configuration to run, and why.

FILE is a result JSON written by `stormdb run --json` (docs/results.md) or a
CSV whose header has at least `workers` and `tps` columns; connections,
duration_seconds, avg_latency_ms, p95_latency_ms, std_dev_latency, errors,
transactions and pool_wait_avg_ms are used when present, other columns are
ignored.

options:
  --json OUT           also write the analysis as JSON to OUT (atomically)
  --slo-p95-ms X       choose the optimum among bands with p95 latency <= X ms
  --target-tps X       how many workers does X TPS take? (from the USL)
  --max-latency-ms Y   the most TPS with predicted latency <= Y ms (from the USL)
  --latency-kind K     is Y a mean (default) or a p95 latency?
  --region-linear E    region thresholds on a step's efficiency e (its gain
  --region-diminishing E   per added worker / the first band's TPS per
  --region-saturation E    worker): linear e >= 0.8, diminishing e >= 0.3,
                       saturation e > -0.05, degradation below (defaults)
  --help               this text

Answers outside the measured worker range are marked "extrapolation".
Exit status: 0 analysed, 1 the JSON could not be written, 2 bad input.
The method and every figure: docs/analysis.md.

examples:
  stormdb analyze result.json
  stormdb analyze bands.csv --target-tps 5000 --max-latency-ms 20 --json analysis.json
]==]

local function fail(status, fmt, ...)
  io.stderr:write("stormdb analyze: ", string.format(fmt, ...), "\n")
  return status
end

local NUMBER_OPTIONS = {
  ["slo-p95-ms"] = "slo_p95_ms", ["target-tps"] = "target_tps", ["max-latency-ms"] = "max_latency_ms",
}

local THRESHOLD_OPTIONS = {
  ["region-linear"] = "linear", ["region-diminishing"] = "diminishing", ["region-saturation"] = "saturation",
}

-- "12", "2.5", "1e3" -> the number when finite and > 0 (no hex, no inf)
local function positive_number(s)
  local mantissa = s:match("^([%d%.]+)[eE][+-]?%d+$") or s
  if not (mantissa:match("^%d+%.?%d*$") or mantissa:match("^%.%d+$")) then return nil end
  local x = tonumber(s)
  if not x or x ~= x or x <= 0 or x == math.huge then return nil end
  return x
end

-- "-0.05", "+1", "5e-2" -> the number (no hex, no inf, no nan)
local function decimal(s)
  local mantissa = s:match("^(.-)[eE][+-]?%d+$") or s
  if not (mantissa:match("^[+-]?%d+%.?%d*$") or mantissa:match("^[+-]?%.%d+$")) then return nil end
  return tonumber(s)
end

-- Region thresholds t, completed with the defaults: t, or nil and what is wrong.
-- flag(name) is how the message names a threshold.
local function complete_thresholds(t, flag)
  for k, v in pairs(analysis.REGION_THRESHOLDS) do t[k] = t[k] or v end
  for _, k in ipairs({ "linear", "diminishing", "saturation" }) do
    local v = t[k]
    if type(v) ~= "number" or v ~= v or math.abs(v) > 10 then
      return nil, string.format("%s must be a number from -10 to 10", flag(k))
    end
  end
  if not (t.linear > t.diminishing and t.diminishing > t.saturation) then
    return nil, string.format("the region thresholds must keep %s (%g) > %s (%g) > %s (%g)", flag("linear"), t.linear,
      flag("diminishing"), t.diminishing, flag("saturation"), t.saturation)
  end
  if not (t.diminishing > 0) then
    return nil, string.format("%s %g: expected above 0 (a step gaining less than that is saturation)",
      flag("diminishing"), t.diminishing)
  end
  return t
end

-- argv -> {file=, json=, options={...}} or nil, message
function M.parse(argv)
  local args = { options = {} }
  local i = 1
  while i <= #argv do
    local a = argv[i]
    local name, value = a:match("^%-%-([%w%-]+)=(.*)$")
    if not name then name = a:match("^%-%-([%w%-]+)$") end
    if a == "-h" or name == "help" then
      args.help = true
    elseif name then
      if name ~= "json" and name ~= "latency-kind" and not NUMBER_OPTIONS[name] and not THRESHOLD_OPTIONS[name] then
        return nil, string.format("unknown option '%s' (see stormdb analyze --help)", a)
      end
      if not value then
        i = i + 1
        value = argv[i]
        if value == nil then return nil, string.format("--%s needs a value", name) end
      end
      if name == "json" then
        if value == "" then return nil, "--json needs a file name" end
        args.json = value
      elseif name == "latency-kind" then
        if value ~= "mean" and value ~= "p95" then
          return nil, string.format("--latency-kind is mean or p95, not '%s'", value)
        end
        args.options.latency_kind = value
      elseif THRESHOLD_OPTIONS[name] then
        local x = decimal(value)
        if not x or math.abs(x) > 10 then
          return nil, string.format("--%s needs an efficiency from -10 to 10, not '%s'", name, value)
        end
        args.options.thresholds = args.options.thresholds or {}
        args.options.thresholds[THRESHOLD_OPTIONS[name]] = x
      else
        local x = positive_number(value)
        if not x then
          return nil, string.format("--%s needs a positive number of %s, not '%s'", name,
            name == "target-tps" and "transactions per second" or "milliseconds", value)
        end
        args.options[NUMBER_OPTIONS[name]] = x
      end
    elseif a:sub(1, 1) == "-" and a ~= "-" then
      return nil, string.format("unknown option '%s' (see stormdb analyze --help)", a)
    else
      if args.file then
        return nil, string.format("one file at a time ('%s' and '%s')", args.file, a)
      end
      args.file = a
    end
    i = i + 1
  end
  if args.help then return args end
  if not args.file then return nil, "which file? (stormdb analyze FILE; see --help)" end
  if args.options.latency_kind and not args.options.max_latency_ms then
    return nil, "--latency-kind goes with --max-latency-ms"
  end
  if args.options.thresholds then
    local t, terr = complete_thresholds(args.options.thresholds, function(k) return "--region-" .. k end)
    if not t then return nil, terr end
  end
  return args
end

-- A result-file band as the analysis's input (docs/analysis.md, "From a
-- result file"). Returns nil when the band has no measured time.
function M.analysis_band(b)
  local t = { workers = b.workers, connections = b.connections or b.workers, tps = b.tps,
              errors = b.errors, p95_ms = b.p95_latency_ms, pool_wait_mean_ms = b.pool_wait_avg_ms }
  local seconds = b.duration_seconds
  if seconds == 0 then return nil end
  t.seconds = seconds
  -- latency samples: the histogram's count, else the committed transactions,
  -- else TPS x duration
  local n = b.latency_count or b.transactions
  if not n and seconds then n = math.floor(b.tps * seconds + 0.5) end
  if b.latency_sum_ms and b.latency_sum_ms > 0 and n and n > 0 then
    t.count, t.latency_sum_ms, t.latency_sumsq_ms2 = n, b.latency_sum_ms, b.latency_sumsq_ms2
  elseif b.avg_latency_ms and n and n > 0 then
    t.count, t.latency_mean_ms = n, b.avg_latency_ms
    -- files carry the population sd; the analysis takes the sample sd
    if b.std_dev_latency then
      t.latency_sd_ms = n > 1 and b.std_dev_latency * math.sqrt(n / (n - 1)) or b.std_dev_latency
    end
  end
  if seconds and t.count then
    -- connection-seconds in transactions = the sum of their latencies
    t.busy_seconds = (t.latency_sum_ms or t.count * t.latency_mean_ms) / 1000
  end
  return t
end

-- The per-band part of the JSON: the measured figures and their statistics.
local BAND_FIGURES = { "band_number", "workers", "connections", "duration_seconds", "tps", "transactions",
  "avg_latency_ms", "p50_latency_ms", "p95_latency_ms", "p99_latency_ms", "std_dev_latency", "errors",
  "pool_wait_avg_ms" }

local function json_document(bands, result)
  local out = resultfile.array {}
  for i, b in ipairs(bands) do
    local band = {}
    for _, k in ipairs(BAND_FIGURES) do band[k] = b[k] end
    band.statistics = result.bands[i]
    out[i] = band
  end
  local doc = { bands = out, analysis = {} }
  for k, v in pairs(result) do
    if k ~= "bands" then doc.analysis[k] = v end
  end
  return doc
end

function M.main(argv)
  local args, err = M.parse(argv or {})
  if not args then return fail(EXIT_BAD_INPUT, "%s", err) end
  if args.help then
    io.stdout:write(M.usage)
    return EXIT_OK
  end
  local doc, rerr = resultfile.read(args.file)
  if not doc then return fail(EXIT_BAD_INPUT, "%s", rerr) end

  local measured, input = {}, {}
  for _, b in ipairs(doc.bands) do
    local band = M.analysis_band(b)
    if band then
      measured[#measured + 1] = b
      input[#input + 1] = band
    else
      io.stderr:write(string.format("stormdb analyze: %s: skipped: no measured time (duration_seconds 0)\n", b.where))
    end
  end
  if #input == 0 then
    return fail(EXIT_BAD_INPUT, "%s: no bands to analyse", args.file)
  end
  if #input > analysis.MAX_BANDS then
    return fail(EXIT_BAD_INPUT, "%s: %d bands; at most %d are analysed", args.file, #input, analysis.MAX_BANDS)
  end
  -- A study's file keeps the thresholds it was analysed with; without
  -- --region-* flags the same regions come back.
  local saved = type(doc.raw) == "table" and type(doc.raw.analysis) == "table" and
      type(doc.raw.analysis.options) == "table" and doc.raw.analysis.options.thresholds
  if not args.options.thresholds and type(saved) == "table" then
    local copy = { linear = saved.linear, diminishing = saved.diminishing, saturation = saved.saturation }
    local t, terr = complete_thresholds(copy, function(k) return "analysis.options.thresholds." .. k end)
    if not t then return fail(EXIT_BAD_INPUT, "%s: %s", args.file, terr) end
    args.options.thresholds = t
  end
  local result = analysis.run(input, args.options)
  if result.status == "invalid_input" then
    -- the reader checks every figure, so this names what it let through
    for i, s in ipairs(result.bands) do
      if s.status == "invalid_input" then
        return fail(EXIT_BAD_INPUT, "%s: %s", measured[i].where, s.message)
      end
    end
    return fail(EXIT_BAD_INPUT, "%s: %s", args.file, result.message)
  end

  local ok_engine, engine = pcall(require, "stormdb.engine")
  local tty = ok_engine and engine.isatty(1)
  io.stdout:write(text.render(result, { ascii = not tty, bands = measured, title = args.file }))
  if args.json then
    local written, werr = resultfile.write_json(args.json, json_document(measured, result))
    if not written then return fail(EXIT_FAILED, "%s", werr) end
    io.stdout:write("\nanalysis written to ", args.json, "\n")
  end
  io.stdout:flush()
  return EXIT_OK
end

return M
