-- stormdb report RESULT [-o OUT.html]: the HTML report of a saved result
-- (docs/reporters.md): stormdb's result JSON, the v0.2 progressive JSON, or
-- a CSV with workers and tps columns (stormdb.resultfile reads them all).
-- When the file carries stormdb's analysis it is drawn as it is; otherwise
-- (a CSV, a plain run, another tool's JSON) the analysis is run here, as
-- `stormdb analyze` would. runtime/main.c calls main(argv) with the
-- arguments after "report". Exit status: 0 written, 1 the page could not be
-- written, 2 bad input.

local resultfile = require "stormdb.resultfile"
local report = require "stormdb.report"
local page = require "stormdb.report.html"

local M = {}

local EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2

M.usage = [==[
usage: stormdb report RESULT [-o OUT.html] [--title TEXT]

Writes a self-contained HTML report of a saved result: the summary and the
optimal configuration, throughput against workers with every fitted model
and the USL peak, latency percentiles, each band's latency distribution,
the marginal gain per band over its scaling region, the table of bands,
the open loop's figures and the server's observations when the result has
them. Charts are inline SVG: the page needs no network and prints as it
shows.

RESULT is a JSON written by a study or `stormdb run --json` (docs/results.md),
the v0.2 progressive JSON, or a CSV with at least workers and tps columns.

options:
  -o, --output OUT   where to write (default: RESULT with .html instead of
                     its extension); written atomically
  --title TEXT       the page's title
  --help             this text

Exit status: 0 written, 1 the page could not be written, 2 bad input.
]==]

local function fail(status, fmt, ...)
  io.stderr:write("stormdb report: ", string.format(fmt, ...), "\n")
  return status
end

function M.parse(argv)
  local args = {}
  local i = 1
  while i <= #argv do
    local a = argv[i]
    local name, value = a:match("^%-%-([%w%-]+)=(.*)$")
    if not name then name = a:match("^%-%-([%w%-]+)$") end
    if a == "-o" then name = "output" end
    if a == "-h" or name == "help" then
      args.help = true
    elseif name == "output" or name == "title" then
      if not value then
        i = i + 1
        value = argv[i]
        if value == nil then return nil, string.format("%s needs a value", a) end
      end
      if value == "" then return nil, string.format("%s needs a value", a) end
      args[name] = value
    elseif a:sub(1, 1) == "-" and a ~= "-" then
      return nil, string.format("unknown option '%s' (see stormdb report --help)", a)
    else
      if args.file then return nil, string.format("one result at a time ('%s' and '%s')", args.file, a) end
      args.file = a
    end
    i = i + 1
  end
  if args.help then return args end
  if not args.file then return nil, "which result? (stormdb report RESULT.json -o report.html; see --help)" end
  if not args.output then
    args.output = (args.file:gsub("%.[%w]+$", "")) .. ".html"
    if args.output == args.file then args.output = args.file .. ".html" end
  end
  return args
end

local PERF = { "transactions", "tps", "qps", "statements", "avg_latency_ms", "min_latency_ms", "max_latency_ms",
  "p50_latency_ms", "p90_latency_ms", "p95_latency_ms", "p99_latency_ms", "p999_latency_ms", "std_dev_latency",
  "errors", "retries", "reconnects", "pool_wait_avg_ms", "pool_wait_p95_ms" }

-- A CSV's bands in the result schema's shape (band, performance, analysis).
local function csv_run(doc)
  local header = doc.raw.header
  local col = {}
  for i, name in ipairs(header) do col[name] = i end
  local function cell(row, name)
    local i = col[name]
    local v = i and row[i] and row[i]:match("^%s*(.-)%s*$")
    return v ~= "" and v or nil
  end
  local bands = {}
  for i, b in ipairs(doc.bands) do
    local row = doc.raw.rows[i] or {}
    local perf = {}
    for _, k in ipairs(PERF) do perf[k] = b[k] end
    bands[i] = {
      band_number = b.band_number, workers = b.workers, connections = b.connections or b.workers,
      threads = b.threads, duration_seconds = b.duration_seconds, status = cell(row, "status") or "complete",
      performance = perf,
      analysis = {
        efficiency_tps_per_worker = tonumber(cell(row, "efficiency_tps_per_worker") or ""),
        marginal_gain_tps_per_worker = tonumber(cell(row, "marginal_gain_tps_per_worker") or ""),
        scaling_region = cell(row, "scaling_region"), bottleneck_type = cell(row, "bottleneck_type"),
      },
    }
  end
  return { metadata = { test_name = doc.path:match("([^/]+)$") }, configuration = {}, bands = bands }
end

-- Whether the document's analysis is stormdb's (what analysis.run returns).
local function ours(a)
  return type(a) == "table" and type(a.status) == "string" and
    (a.mathematical_models == nil or type(a.mathematical_models.models) == "table" or a.mathematical_models.status)
end

-- Runs the analysis over the file's complete bands, as `stormdb analyze`
-- does, and writes each band's scaling region. Returns the analysis or nil.
local function analyse(doc, run)
  local ok, analysis = pcall(require, "stormdb.analysis")
  if not ok then return nil end
  local analyze = require "stormdb.commands.analyze"
  local input, which = {}, {}
  for i, b in ipairs(doc.bands) do
    local status = run.bands[i] and run.bands[i].status
    if status == nil or status == "complete" then
      local t = analyze.analysis_band(b)
      if t then
        input[#input + 1] = t
        which[#which + 1] = run.bands[i]
      end
    end
  end
  if #input == 0 or #input > analysis.MAX_BANDS then return nil end
  local rok, res = pcall(analysis.run, input, {})
  if not rok or type(res) ~= "table" or res.status == "invalid_input" then return nil end
  for j, band in ipairs(which) do
    local s = res.bands and res.bands[j]
    band.analysis = band.analysis or {}
    if type(s) == "table" and type(s.region) == "string" and s.region ~= "none" then
      band.analysis.scaling_region = s.region
    end
  end
  return res
end

-- The result as a run the page can draw: bands with performance and the
-- per-band study figures, and stormdb's analysis.
function M.load(path)
  local doc, err = resultfile.read(path)
  if not doc then return nil, err end
  if #doc.bands == 0 then return nil, path .. ": no bands to report" end
  local run
  if doc.source == "json" then
    run = report.denull(doc.raw)
    run.metadata = type(run.metadata) == "table" and run.metadata or {}
    run.configuration = type(run.configuration) == "table" and run.configuration or {}
  else
    run = csv_run(doc)
  end
  -- per-band efficiency and marginal gain where the file has none (a plain run)
  local progressive = require "stormdb.progressive"
  local history = {}
  for i, b in ipairs(run.bands) do
    b.band_number = b.band_number or i
    b.connections = b.connections or b.workers
    history[i] = b
    if type(b.analysis) ~= "table" or b.analysis.efficiency_tps_per_worker == nil then
      local extra = progressive.band_analysis(b, history, {})
      b.analysis = type(b.analysis) == "table" and b.analysis or {}
      for k, v in pairs(extra) do if b.analysis[k] == nil then b.analysis[k] = v end end
    end
  end
  if not ours(run.analysis) then
    local kept = type(run.analysis) == "table" and run.analysis.bottleneck_analysis or nil
    run.analysis = analyse(doc, run)
    if run.analysis and kept then run.analysis.bottleneck_analysis = kept end
    if not run.analysis then run.analysis_note = "could not be run over this file's bands" end
  end
  return run
end

function M.main(argv)
  local args, err = M.parse(argv or {})
  if not args then return fail(EXIT_BAD_INPUT, "%s", err) end
  if args.help then
    io.stdout:write(M.usage)
    return EXIT_OK
  end
  local run, lerr = M.load(args.file)
  if not run then return fail(EXIT_BAD_INPUT, "%s", lerr) end
  local ok, html = pcall(page.render, run, { title = args.title, source = args.file })
  if not ok then return fail(EXIT_FAILED, "%s: cannot render the report: %s", args.file, tostring(html)) end
  local written, werr = page.write(args.output, html)
  if not written then return fail(EXIT_FAILED, "%s", werr) end
  io.stdout:write("report written to ", args.output, "\n")
  return EXIT_OK
end

return M
