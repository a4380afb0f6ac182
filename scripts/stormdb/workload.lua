-- stormdb.workload: finding, loading and checking a workload script, and its
-- options (declared in the script, set with --name=value on the command line).
--
-- A workload is a Lua file returning a table (docs/lua-api.md):
--   { name, description, options = {name = {default=, help=, min=, max=, choices=}},
--     setup(ctx), cleanup(ctx), check(ctx), init(w),
--     transactions = {{name=, weight=, run=function(w) end, connection=true}, ...} }
-- `run = function(w) end` alone is a one-transaction workload.

local M = {}

local function is_path(spec)
  return spec:find("/", 1, true) ~= nil or spec:match("%.lua$") ~= nil
end

-- The chunk of a workload given by path or bundled name (--lua-path first).
function M.locate(spec)
  if is_path(spec) then
    local f = io.open(spec, "r")
    if not f then
      return nil, string.format("cannot open workload file %s", spec)
    end
    f:close()
    return loadfile(spec)
  end
  if not spec:match("^[%w_%-]+$") then
    return nil, string.format("'%s' is neither a bundled workload nor a path to a .lua file", spec)
  end
  local loader = package.loaders[2] -- stormdb's: --lua-path, then bundled
  local chunk = loader("workloads." .. spec)
  if type(chunk) == "function" then
    return chunk
  end
  local names = {}
  for _, b in ipairs(M.bundled("workloads")) do
    names[#names + 1] = b
  end
  return nil, string.format("no workload named '%s' (bundled: %s; or give a path to a .lua file)",
    spec, table.concat(names, ", "))
end

-- Names of bundled modules under a prefix ("workloads", "strategies", ...).
function M.bundled(prefix)
  local ok, engine = pcall(require, "stormdb.engine")
  local names = {}
  if ok then
    for _, b in ipairs(engine.bundled()) do
      local name = b.module:match("^" .. prefix .. "%.([%w_]+)$")
      if name then names[#names + 1] = name end
    end
  end
  table.sort(names)
  return names
end

function M.valid_weight(w)
  return type(w) == "number" and w >= 0 and w == math.floor(w) and w <= 1e9
end

-- The mix for given options: weights may be functions of the options
-- (simple's read_ratio). Returns {{name=, weight=, connection=}} or nil, message.
function M.mix(wl, opt)
  local mix, total = {}, 0
  for i, t in ipairs(wl.transactions or {}) do
    local weight = t.weight
    if type(weight) == "function" then weight = weight(opt) end
    if not M.valid_weight(weight) then
      return nil, string.format("workload %s: transaction '%s': weight(opt) returned %s, not a whole number >= 0",
        wl.name, t.name, tostring(weight))
    end
    mix[i] = { name = t.name, weight = weight, connection = t.connection }
    total = total + weight
  end
  if wl.transactions and total == 0 then
    return nil, string.format("workload %s: every transaction has weight 0", wl.name)
  end
  return mix
end

-- Checks the table a workload returned and fills in defaults, so the rest
-- of stormdb can rely on its shape. Returns the table or nil, message.
local function normalise(wl, spec)
  if type(wl) ~= "table" then
    return nil, string.format("%s: a workload must return a table (got %s)", spec, type(wl))
  end
  if wl.transactions == nil and type(wl.run) == "function" then
    wl.transactions = { { name = wl.name or "transaction", weight = 1, run = wl.run } }
  end
  local txs = wl.transactions
  if txs ~= nil then
    if type(txs) ~= "table" or #txs == 0 then
      return nil, string.format("%s: transactions must be a non-empty array", spec)
    end
    local seen = {}
    for i, t in ipairs(txs) do
      if type(t) ~= "table" then
        return nil, string.format("%s: transactions[%d] must be a table", spec, i)
      end
      t.name = t.name or ("tx" .. i)
      if type(t.name) ~= "string" or seen[t.name] then
        return nil, string.format("%s: transactions[%d]: name must be a unique string", spec, i)
      end
      seen[t.name] = true
      if type(t.run) ~= "function" then
        return nil, string.format("%s: transaction '%s' has no run function", spec, t.name)
      end
      t.weight = t.weight == nil and 1 or t.weight
      if type(t.weight) ~= "function" and not M.valid_weight(t.weight) then
        return nil, string.format("%s: transaction '%s': weight must be a whole number >= 0, or a " ..
          "function(opt) returning one", spec, t.name)
      end
      if t.connection == nil then t.connection = true end
    end
  end
  wl.options = wl.options or {}
  if type(wl.options) ~= "table" then
    return nil, string.format("%s: options must be a table", spec)
  end
  for name, o in pairs(wl.options) do
    if type(o) ~= "table" then
      return nil, string.format("%s: option '%s' must be a table {default=, help=}", spec, tostring(name))
    end
  end
  wl.name = wl.name or spec:match("([^/]+)%.lua$") or spec
  return wl
end

-- Loads a workload. Its globals go through a proxy whose target the engine
-- switches to each worker's own table as it resumes that worker, so globals
-- a script sets while running are per worker; globals set while the file
-- itself runs land in `shared`, which every worker falls back to.
-- Returns wl, env_mt, shared (or nil, message).
function M.load(spec)
  local chunk, err = M.locate(spec)
  if not chunk then
    return nil, err
  end
  local shared = setmetatable({}, { __index = _G })
  local env_mt = { __index = shared, __newindex = shared }
  setfenv(chunk, setmetatable({}, env_mt))
  local ok, wl = xpcall(chunk, debug.traceback)
  if not ok then
    return nil, wl
  end
  wl, err = normalise(wl, spec)
  if not wl then
    return nil, err
  end
  return wl, env_mt, shared
end

-- --- options ----------------------------------------------------------------

local function option_type(o)
  if o.type then return o.type end
  local d = o.default
  if type(d) == "number" then
    return d == math.floor(d) and "integer" or "number"
  end
  return type(d) == "boolean" and "boolean" or "string"
end

local function convert(name, o, value)
  local t = option_type(o)
  if t == "boolean" then
    if value == true or value == "true" or value == "on" or value == "1" then return true end
    if value == "false" or value == "off" or value == "0" then return false end
    return nil, string.format("--%s=%s: expected true or false", name, tostring(value))
  end
  if value == true then
    return nil, string.format("--%s needs a value: --%s=VALUE", name, name)
  end
  if t == "integer" or t == "number" then
    local n = tonumber(value)
    if not n or n ~= n or n == math.huge or n == -math.huge or (t == "integer" and n ~= math.floor(n)) then
      return nil, string.format("--%s=%s: expected %s", name, value, t == "integer" and "a whole number" or "a number")
    end
    if (o.min and n < o.min) or (o.max and n > o.max) then
      return nil, string.format("--%s=%s: expected a value from %s to %s", name, value,
        tostring(o.min or "-inf"), tostring(o.max or "inf"))
    end
    return n
  end
  if t == "duration" then
    local s, err = require("stormdb.duration").parse(value)
    if not s then return nil, string.format("--%s=%s: %s", name, value, err) end
    return s
  end
  if o.choices then
    for _, c in ipairs(o.choices) do
      if c == value then return value end
    end
    return nil, string.format("--%s=%s: expected one of %s", name, value, table.concat(o.choices, ", "))
  end
  return value
end

local function sorted_names(options)
  local names = {}
  for k in pairs(options) do names[#names + 1] = k end
  table.sort(names)
  return names
end

-- Applies --name=value pairs (a list of {name, value}) over the declared
-- defaults. Returns the options table, or nil and every problem found.
function M.options(wl, given)
  local opts, problems = {}, {}
  for name, o in pairs(wl.options) do
    if o.default ~= nil then
      if option_type(o) == "duration" and type(o.default) == "string" then
        opts[name] = require("stormdb.duration").parse(o.default)
      else
        opts[name] = o.default
      end
    end
  end
  for _, pair in ipairs(given or {}) do
    local name = pair[1]:gsub("-", "_")
    local o = wl.options[name]
    if not o then
      local known = sorted_names(wl.options)
      problems[#problems + 1] = string.format("unknown option --%s for workload %s (%s)", pair[1], wl.name,
        #known > 0 and ("its options: --" .. table.concat(known, ", --"):gsub("_", "-")) or "it has no options")
    else
      local v, err = convert(pair[1], o, pair[2])
      if err then problems[#problems + 1] = err else opts[name] = v end
    end
  end
  if #problems > 0 then
    return nil, table.concat(problems, "\n")
  end
  return opts
end

-- The text of `stormdb run WORKLOAD --help`.
function M.help(wl)
  local lines = { string.format("workload %s: %s", wl.name, wl.description or "(no description)") }
  if wl.transactions then
    local mix = {}
    for _, t in ipairs(wl.transactions) do
      mix[#mix + 1] = string.format("%s (%s)", t.name,
        type(t.weight) == "function" and "set by options" or tostring(t.weight))
    end
    lines[#lines + 1] = "transactions (weight): " .. table.concat(mix, ", ")
  end
  local names = sorted_names(wl.options)
  if #names > 0 then
    lines[#lines + 1] = ""
    lines[#lines + 1] = "workload options (--name=value):"
    for _, name in ipairs(names) do
      local o = wl.options[name]
      local flag = "--" .. name:gsub("_", "-")
      local extra = ""
      if o.default ~= nil then extra = string.format(" (default %s)", tostring(o.default)) end
      if o.choices then extra = extra .. " one of: " .. table.concat(o.choices, ", ") end
      lines[#lines + 1] = string.format("  %-24s %s%s", flag, o.help or "", extra)
    end
  end
  return table.concat(lines, "\n")
end

return M
