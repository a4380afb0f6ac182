-- stormdb.resultfile: reads a saved result -- stormdb's result JSON
-- (docs/results.md, also the v0.2 progressive JSON, which has the same band
-- fields) or any CSV with at least `workers` and `tps` columns -- into one
-- normalised table, and writes JSON atomically. Used by `stormdb analyze`,
-- and meant for `report` and `compare` too, so it knows nothing about
-- analysis.
--
--   read(path) -> doc | nil, message
--     doc.source         "json" or "csv"
--     doc.path           the path as given
--     doc.bands[i]       normalised band (fields below), in file order: the
--                        measured ones; a band that could not run (status
--                        "failed", no figures) is in doc.failed_bands
--                        instead ({band_number, workers, connections, error})
--     doc.raw            JSON: the decoded document; CSV: {header = {names},
--                        rows = {{cell strings..., line = N}}}
--     doc.metadata, doc.configuration, doc.schema_version   (JSON, when present)
--
--   A normalised band has the names of docs/results.md, flattened:
--     band_number, workers, connections, threads, duration_seconds, status,
--     transactions, tps, qps, statements, avg_latency_ms, min_latency_ms,
--     max_latency_ms, p50_latency_ms, p90_latency_ms, p95_latency_ms,
--     p99_latency_ms, p999_latency_ms, std_dev_latency, errors, retries,
--     reconnects, pool_wait_avg_ms, pool_wait_p95_ms;
--   from a JSON histogram: latency_count, latency_sum_ms, latency_sumsq_ms2
--   (exact); histogram (its text) and workload_figures when present; and
--     where   "results.csv:7" or "results.json: bands[3]", for messages.
--   A figure the file does not have is nil; never NaN or Inf. workers is a
--   whole number >= 1, connections and threads too when present, every
--   other figure is >= 0.
--
--   Messages name the file, the line (CSV, JSON syntax) or the JSON path,
--   and what is wrong:
--     results.csv:7: column tps: 'abc' is not a number
--     results.csv:1: the header has no 'workers' column
--     results.json: not a stormdb result: bands[2] has no performance.tps
--
--   encode(value) -> JSON text (cjson, NaN/Inf refused; tables whose
--   metatable has __jsontype = "array" -- M.array_mt, stormdb.analysis's
--   arrays -- are written as arrays even when empty)
--   write_json(path, value) -> true | nil, message   (tmp file + rename)
--   array(t) -> t marked as an array

local cjson = require "cjson"

local M = {}

M.array_mt = { __jsontype = "array" }

function M.array(t)
  return setmetatable(t or {}, M.array_mt)
end

-- ---- numbers -------------------------------------------------------------

local function finite(x)
  return type(x) == "number" and x == x and x ~= math.huge and x ~= -math.huge
end

-- A decimal number as written in CSV: digits, an optional fraction and
-- exponent. No hex, no inf/nan, no leading '+' games beyond one sign.
local function parse_number(s)
  local body = s:match("^[+-]?(.*)$")
  local mantissa, exp = body:match("^([%d%.]+)([eE][+-]?%d+)$")
  if not mantissa then mantissa, exp = body, "" end
  if not (mantissa:match("^%d+%.?%d*$") or mantissa:match("^%.%d+$")) then return nil end
  local x = tonumber(s)
  if not finite(x) then return nil end
  return x
end

-- Band figures: where each comes from in the result JSON, and what values
-- it may take. "whole" means a whole number >= 1.
local FIELDS = {
  -- name              JSON location            kind
  { "band_number",      "band",                  "count" },
  { "workers",          "band",                  "whole" },
  { "connections",      "band",                  "whole" },
  { "threads",          "band",                  "whole" },
  { "duration_seconds", "band",                  "figure" },
  { "transactions",     "performance",           "figure" },
  { "tps",              "performance",           "figure" },
  { "qps",              "performance",           "figure" },
  { "statements",       "performance",           "figure" },
  { "avg_latency_ms",   "performance",           "figure" },
  { "min_latency_ms",   "performance",           "figure" },
  { "max_latency_ms",   "performance",           "figure" },
  { "p50_latency_ms",   "performance",           "figure" },
  { "p90_latency_ms",   "performance",           "figure" },
  { "p95_latency_ms",   "performance",           "figure" },
  { "p99_latency_ms",   "performance",           "figure" },
  { "p999_latency_ms",  "performance",           "figure" },
  { "std_dev_latency",  "performance",           "figure" },
  { "errors",           "performance",           "figure" },
  { "retries",          "performance",           "figure" },
  { "reconnects",       "performance",           "figure" },
  { "pool_wait_avg_ms", "performance",           "figure" },
  { "pool_wait_p95_ms", "performance",           "figure" },
}

M.fields = {}
for i, f in ipairs(FIELDS) do M.fields[i] = f[1] end

-- CSV header names that mean a field (besides the field's own name).
local CSV_ALIASES = { band = "band_number" }

-- Checks a parsed value against its kind; returns nil or what is wrong.
local function check_kind(x, kind)
  if kind == "whole" then
    if x ~= math.floor(x) or x < 1 then return "is not a whole number >= 1" end
  elseif kind == "count" then
    if x ~= math.floor(x) or x < 0 then return "is not a whole number" end
  elseif x < 0 then
    return "is negative"
  end
  return nil
end

-- ---- CSV -----------------------------------------------------------------

-- RFC 4180 records from text: fields separated by commas, records by CRLF
-- or LF; a field in double quotes may hold commas, line breaks and "" for a
-- quote. Returns {{fields..., line = first line, quoted = {...}}} or nil,
-- line, message.
local function csv_records(text)
  local records = {}
  local pos, len, line = 1, #text, 1
  while pos <= len do
    local fields, start_line = {}, line
    while true do
      local c = text:sub(pos, pos)
      local value
      if c == '"' then
        local parts, p = {}, pos + 1
        while true do
          local q = text:find('"', p, true)
          if not q then
            return nil, start_line, "a quoted field is not closed (it opens on this line)"
          end
          local chunk = text:sub(p, q - 1)
          local _, nl = chunk:gsub("\n", "")
          line = line + nl
          parts[#parts + 1] = chunk
          if text:sub(q + 1, q + 1) == '"' then
            parts[#parts + 1] = '"'
            p = q + 2
          else
            pos = q + 1
            break
          end
        end
        value = table.concat(parts)
        local nc = text:sub(pos, pos)
        if nc == "\r" and text:sub(pos + 1, pos + 1) == "\n" then nc = "\n" end
        if nc ~= "," and nc ~= "\n" and nc ~= "" then
          return nil, line, "text after the closing quote of a field"
        end
      else
        local e = text:find("[,\r\n]", pos)
        while e and text:sub(e, e) == "\r" and text:sub(e + 1, e + 1) ~= "\n" do
          e = text:find("[,\r\n]", e + 1)   -- a lone CR is data
        end
        value = text:sub(pos, (e or len + 1) - 1)
        if value:find('"', 1, true) then
          return nil, line, "a quote inside an unquoted field (quote the whole field and double the quote)"
        end
        pos = e or len + 1
      end
      fields[#fields + 1] = value
      local sep = text:sub(pos, pos)
      if sep == "," then
        pos = pos + 1
      else
        if sep == "\r" then pos = pos + 1 end
        if text:sub(pos, pos) == "\n" then pos = pos + 1 end
        line = line + 1
        break
      end
    end
    fields.line = start_line
    -- a blank line is no record
    if not (#fields == 1 and fields[1]:match("^%s*$")) then
      records[#records + 1] = fields
    end
  end
  return records
end

local function trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end

local function read_csv(path, text)
  local records, bad_line, why = csv_records(text)
  if not records then return nil, string.format("%s:%d: %s", path, bad_line, why) end
  if #records == 0 then return nil, path .. ": the file has no header and no rows" end
  local header = records[1]
  local names, column = {}, {}
  for i, cell in ipairs(header) do
    local name = trim(cell):lower()
    names[i] = name
    if name ~= "" then
      if column[name] then
        return nil, string.format("%s:%d: the header names column '%s' twice (columns %d and %d)",
          path, header.line, name, column[name], i)
      end
      column[name] = i
    end
  end
  for _, required in ipairs { "workers", "tps" } do
    if not column[required] then
      return nil, string.format("%s:%d: the header has no '%s' column (it needs at least workers and tps; " ..
        "it has: %s)", path, header.line, required, table.concat(names, ", "))
    end
  end
  -- which column feeds each field
  local sources = {}
  for _, f in ipairs(FIELDS) do
    local col = column[f[1]]
    for alias, target in pairs(CSV_ALIASES) do
      if target == f[1] and not col then col = column[alias] end
    end
    if col then sources[#sources + 1] = { name = f[1], kind = f[3], col = col } end
  end
  local bands, rows = {}, {}
  for r = 2, #records do
    local rec = records[r]
    rows[#rows + 1] = rec
    if #rec ~= #header then
      return nil, string.format("%s:%d: %d field%s, but the header has %d", path, rec.line, #rec,
        #rec == 1 and "" or "s", #header)
    end
    local band = { where = string.format("%s:%d", path, rec.line) }
    for _, s in ipairs(sources) do
      local cell = trim(rec[s.col])
      if cell ~= "" then
        local x = parse_number(cell)
        if not x then
          return nil, string.format("%s:%d: column %s: '%s' is not a number", path, rec.line, names[s.col], cell)
        end
        local bad = check_kind(x, s.kind)
        if bad then
          return nil, string.format("%s:%d: column %s: '%s' %s", path, rec.line, names[s.col], cell, bad)
        end
        band[s.name] = x
      end
    end
    for _, required in ipairs { "workers", "tps" } do
      if band[required] == nil then
        return nil, string.format("%s:%d: column %s is empty", path, rec.line, required)
      end
    end
    band.band_number = band.band_number or #bands + 1
    bands[#bands + 1] = band
  end
  return { source = "csv", path = path, bands = bands, raw = { header = names, rows = rows } }
end

-- ---- JSON ----------------------------------------------------------------

local function json_type(v)
  if v == cjson.null then return "null" end
  local t = type(v)
  if t == "table" then return "object or array" end
  return t
end

-- The histogram header "v1 COUNT MIN MAX SUM SUMSQ ..." (nanoseconds).
local function histogram_sums(text)
  local count, sum, sumsq = text:match("^v1 (%d+) %d+ %d+ (%d+) (%S+)")
  count, sum, sumsq = tonumber(count), tonumber(sum), tonumber(sumsq)
  if not (finite(count) and finite(sum) and finite(sumsq)) then return nil end
  return count, sum / 1e6, sumsq / 1e12
end

local function json_band(path, i, b)
  local at = string.format("bands[%d]", i)
  if type(b) ~= "table" then
    return nil, string.format("%s: not a stormdb result: %s is a %s, not an object", path, at, json_type(b))
  end
  local perf = b.performance
  if perf == nil or perf == cjson.null then
    return nil, string.format("%s: not a stormdb result: %s has no performance object", path, at)
  end
  if type(perf) ~= "table" then
    return nil, string.format("%s: not a stormdb result: %s.performance is a %s, not an object", path, at,
      json_type(perf))
  end
  local band = { where = string.format("%s: %s", path, at) }
  for _, f in ipairs(FIELDS) do
    local name, loc, kind = f[1], f[2], f[3]
    local container = loc == "band" and b or perf
    local v = container[name]
    local field = loc == "band" and (at .. "." .. name) or (at .. ".performance." .. name)
    if v ~= nil and v ~= cjson.null then
      if type(v) == "number" and not finite(v) then
        return nil, string.format("%s: %s: %s is not a finite number", path, field, tostring(v))
      elseif not finite(v) then
        return nil, string.format("%s: %s: %s is not a number", path, field,
          type(v) == "string" and ("'" .. v .. "'") or json_type(v))
      end
      local bad = check_kind(v, kind)
      if bad then return nil, string.format("%s: %s: %s %s", path, field, tostring(v), bad) end
      band[name] = v
    end
  end
  if band.workers == nil then
    return nil, string.format("%s: not a stormdb result: %s has no workers", path, at)
  end
  if band.tps == nil then
    return nil, string.format("%s: not a stormdb result: %s has no performance.tps", path, at)
  end
  if type(b.status) == "string" then band.status = b.status end
  local h = b.histogram
  if h ~= nil and h ~= cjson.null then
    local ok = type(h) == "string" and require("stormdb.histogram").parse(h)
    local count, sum_ms, sumsq_ms2
    if ok then count, sum_ms, sumsq_ms2 = histogram_sums(h) end
    if not count then
      return nil, string.format("%s: %s.histogram: not a stormdb histogram (expected the \"v1 ...\" text form)",
        path, at)
    end
    band.histogram = h
    band.latency_count, band.latency_sum_ms, band.latency_sumsq_ms2 = count, sum_ms, sumsq_ms2
  end
  if type(b.workload_figures) == "table" then band.workload_figures = b.workload_figures end
  band.band_number = band.band_number or i
  return band
end

-- "Expected ... at character 45" -> line of character 45
local function json_error(path, text, err)
  err = tostring(err)
  local at = tonumber(err:match("at character (%d+)"))
  if at then
    local _, nl = text:sub(1, at - 1):gsub("\n", "")
    return string.format("%s:%d: invalid JSON: %s", path, nl + 1, err)
  end
  return string.format("%s: invalid JSON: %s", path, err)
end

local function read_json(path, text)
  local ok, doc = pcall(cjson.decode, text)
  if not ok then return nil, json_error(path, text, doc) end
  if type(doc) ~= "table" or doc[1] ~= nil then
    return nil, string.format("%s: not a stormdb result: the top level is %s, not an object with bands", path,
      type(doc) == "table" and "an array" or "a " .. json_type(doc))
  end
  local sv = doc.schema_version
  if sv ~= nil and sv ~= cjson.null and sv ~= 1 then
    return nil, string.format("%s: schema_version %s is not one this stormdb reads (1)", path, tostring(sv))
  end
  local list = doc.bands
  if list == nil or list == cjson.null then
    return nil, string.format("%s: not a stormdb result: there is no bands array", path)
  end
  if type(list) ~= "table" or (next(list) ~= nil and list[1] == nil) then
    return nil, string.format("%s: not a stormdb result: bands is a %s, not an array", path,
      type(list) == "table" and "object" or json_type(list))
  end
  -- A band that could not run (status "failed": the server was gone) has
  -- no figures: it is kept apart, so every reader sees measured bands only.
  local bands, failed = {}, {}
  for i = 1, #list do
    local b = list[i]
    if type(b) == "table" and b.status == "failed" and (b.performance == nil or b.performance == cjson.null) then
      failed[#failed + 1] = {
        band_number = tonumber(b.band_number) or i, workers = tonumber(b.workers),
        connections = tonumber(b.connections), status = "failed",
        error = type(b.error) == "string" and b.error or nil,
      }
    else
      local band, err = json_band(path, i, b)
      if not band then return nil, err end
      bands[#bands + 1] = band
    end
  end
  local function opt(v) if v ~= cjson.null then return v end end
  if #bands == 0 and #failed > 0 then
    return nil, string.format("%s: every band of this result failed; there is nothing to read", path)
  end
  return {
    source = "json", path = path, bands = bands, failed_bands = failed, raw = doc,
    schema_version = opt(doc.schema_version), metadata = opt(doc.metadata), configuration = opt(doc.configuration),
  }
end

-- ---- reading -------------------------------------------------------------

function M.read(path)
  local f, err = io.open(path, "rb")
  if not f then
    -- io.open says "PATH: reason"; keep the reason
    local reason = tostring(err)
    if reason:sub(1, #path + 2) == path .. ": " then reason = reason:sub(#path + 3) end
    return nil, string.format("%s: cannot read: %s", path, reason)
  end
  local text = f:read("*a")
  f:close()
  if not text then return nil, path .. ": cannot read (is it a directory?)" end
  text = text:gsub("^\239\187\191", "")   -- a UTF-8 byte order mark
  local first = text:match("^%s*(%S)")
  if not first then return nil, path .. ": the file is empty" end
  if first == "{" or first == "[" then return read_json(path, text) end
  return read_csv(path, text)
end

-- ---- writing -------------------------------------------------------------

-- An empty array would be written {} by cjson, which cannot tell it from an
-- empty object; marked arrays go through as this placeholder instead and
-- become [] in the text. It is a string no result holds (a control
-- character, which cjson writes escaped).
local EMPTY_ARRAY = "\1stormdb-empty-array\1"
local EMPTY_ARRAY_JSON = cjson.encode(EMPTY_ARRAY)

local function is_array(t)
  local mt = getmetatable(t)
  return type(mt) == "table" and mt.__jsontype == "array"
end

local function prepare(v, depth)
  if type(v) ~= "table" then return v end
  if depth > 100 then error("cannot encode as JSON: nested deeper than 100 levels", 0) end
  if is_array(v) and next(v) == nil then return EMPTY_ARRAY end
  local copy = {}
  for k, x in pairs(v) do copy[k] = prepare(x, depth + 1) end
  return copy
end

function M.encode(value)
  cjson.encode_invalid_numbers(false)
  local text = cjson.encode(prepare(value, 0))
  return (text:gsub(EMPTY_ARRAY_JSON:gsub("%p", "%%%0"), "[]"))
end

-- Writes text to path atomically: a temporary PATH.tmp, then a rename, so a
-- reader never sees half a file. true, or nil and "cannot write ...".
function M.write_atomic(path, text)
  local tmp = path .. ".tmp"
  local f, err = io.open(tmp, "w")
  if not f then return nil, "cannot write " .. tostring(err) end
  local written, werr = f:write(text)
  local closed, cerr = f:close()
  if not written or not closed then
    os.remove(tmp)
    return nil, string.format("cannot write %s: %s", tmp, tostring(werr or cerr))
  end
  local renamed, rerr = os.rename(tmp, path)
  if not renamed then
    os.remove(tmp)
    return nil, "cannot write " .. tostring(rerr)
  end
  return true
end

function M.write_json(path, value)
  local ok, text = pcall(M.encode, value)
  if not ok then return nil, "cannot encode as JSON: " .. tostring(text) end
  return M.write_atomic(path, text .. "\n")
end

return M
