-- The JSON reporter: the whole run in the result schema (docs/results.md),
-- rewritten atomically (temporary file, then rename) after every band, so a
-- crash or Ctrl-C never leaves a half-written file or loses a finished band.
-- A progressive study adds its metadata (test_name, strategy, bands_tested,
-- duration_total_seconds, status, ...), its configuration, each band's
-- `analysis` figures and, at the end, the run's `analysis`
-- (docs/configuration.md).
local cjson = require "cjson"

local R = { description = "the run as JSON in the documented result schema" }
R.__index = R

function R.new(opts)
  assert(opts and opts.path, "json reporter: a path is required")
  return setmetatable({ path = opts.path }, R)
end

-- cjson writes an empty table as {}; the analysis marks its arrays with a
-- metatable (__jsontype = "array"), so an empty one goes through as a
-- placeholder and becomes [] in the text.
local EMPTY_ARRAY = "\1stormdb-empty-array\1"

local function prepare(v, depth)
  if type(v) ~= "table" then return v end
  if depth > 100 then error("nested deeper than 100 levels", 0) end
  local mt = getmetatable(v)
  if next(v) == nil and type(mt) == "table" and mt.__jsontype == "array" then return EMPTY_ARRAY end
  local copy = {}
  for k, x in pairs(v) do copy[k] = prepare(x, depth + 1) end
  return copy
end

-- cjson writes NaN and Inf as invalid JSON; results never hold them, but a
-- user's reporter might, so refuse rather than write a file nobody can read.
local function encode(value)
  cjson.encode_invalid_numbers(false)
  if value.analysis then
    value.analysis = prepare(value.analysis, 0)
    local text = cjson.encode(value)
    return (text:gsub(cjson.encode(EMPTY_ARRAY):gsub("%p", "%%%0"), "[]"))
  end
  return cjson.encode(value)
end

function R:write(run)
  local doc = {
    schema_version = run.schema_version,
    metadata = run.metadata,
    configuration = run.configuration,
    bands = run.bands,
    analysis = run.analysis,
  }
  local tmp = self.path .. ".tmp"
  local f, err = io.open(tmp, "w")
  if not f then
    error(string.format("cannot write %s: %s", tmp, err), 0)
  end
  local ok, text = pcall(encode, doc)
  if not ok then
    f:close()
    os.remove(tmp)
    error("cannot encode the result as JSON: " .. tostring(text), 0)
  end
  f:write(text, "\n")
  f:close()
  local renamed, rerr = os.rename(tmp, self.path)
  if not renamed then
    error(string.format("cannot write %s: %s", self.path, rerr), 0)
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
