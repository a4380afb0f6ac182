-- stormdb.report: the reporters of a run (docs/reporters.md). Reporters are
-- Lua modules that receive the run's events with plain tables and write
-- something: the console, CSV, JSON, HTML, or whatever a user's file does.
-- This module decides which reporters a run has, loads and starts them, and
-- shields the run from them: an error in a reporter is said once, that
-- reporter gets no more events, and the run goes on (its exit status then
-- says 1). It also holds the small helpers reporters share.
--
--   build(cfg [, base]) -> reporters | nil, message
--     cfg    the configuration (runtime/config.c pushes it): reporters (the
--            file's list), reporter (--reporter, added), json, study, where
--     base   a function returning the export files' base path (no
--            extension) or nil, message; called once, and only when a
--            reporter writes a file (a study passes its own; a single run
--            gets stormdb_results_YYYYMMDD_HHMMSS in export_path)
--   names(cfg) -> {{name =, where =}, ...}   the list build() loads
--   load(name) -> module | nil, message       a bundled name or a Lua file
--   files(reporters) -> {path, ...}           the files the reporters write
--   failed(reporters) -> true when a reporter failed during the run
--
-- The events, in order (every argument a plain table; docs/reporters.md):
--   on_run_start(run)  on_band_start(info, run)  on_progress(p)
--   on_band(band, run)  on_note(text, run)  on_run_done(run)

local M = {}

M.EVENTS = { "on_run_start", "on_band_start", "on_progress", "on_band", "on_note", "on_run_done" }

-- ---- helpers for reporters -----------------------------------------------------

function M.finite(x)
  if type(x) ~= "number" or x ~= x or x == math.huge or x == -math.huge then return nil end
  return x
end
local finite = M.finite

-- x with fmt, or "n/a": never nan, inf or nil on a console.
function M.num(x, fmt)
  x = finite(x)
  if not x then return "n/a" end
  local s = string.format(fmt or "%.3f", x)
  if s:match("^%-0%.?0*$") then s = s:sub(2) end
  return s
end

-- Whether stdout may carry colour and emoji: a terminal, and NO_COLOR unset
-- (https://no-color.org: any non-empty value turns colour off).
function M.colour_ok(fd)
  local ok, engine = pcall(require, "stormdb.engine")
  if not ok or not engine.isatty(fd or 1) then return false end
  local nc = os.getenv("NO_COLOR")
  return nc == nil or nc == ""
end

-- A document value from JSON: cjson.null becomes nil, recursively (a copy).
function M.denull(v, depth)
  depth = depth or 0
  local ok, cjson = pcall(require, "cjson")
  local null = ok and cjson.null or nil
  if v == null then return nil end
  if type(v) ~= "table" or depth > 60 then return v end
  local out = {}
  for k, x in pairs(v) do
    if x ~= null then out[k] = M.denull(x, depth + 1) end
  end
  return setmetatable(out, getmetatable(v))
end

-- ---- which reporters ---------------------------------------------------------------

local function is_path(name) return name:find("/", 1, true) or name:match("%.lua$") end

-- The run's reporters by name: the file's reporters: list, else the default
-- (console; in a study csv and json as export_format / export_csv /
-- export_json say), then each --reporter; a name given twice counts once.
function M.names(cfg)
  local list, seen = {}, {}
  local function add(name, where)
    if name == "" or seen[name] then return end
    seen[name] = true
    list[#list + 1] = { name = name, where = where }
  end
  local where = cfg.where or {}
  if cfg.reporters then
    for _, name in ipairs(cfg.reporters) do add(name, where.reporters or "reporters") end
  else
    add("console", "default")
    local study = cfg.study or {}
    if study.enabled then
      if study.export_csv then add("csv", where.export_format or "default") end
      if study.export_json then add("json", where.export_format or "default") end
    end
  end
  for _, name in ipairs(cfg.reporter or {}) do add(name, "--reporter " .. name) end
  return list
end

-- A message raised on purpose (error(msg, 0)) shows as it is; a bug
-- (file.lua:N: ...) gets its traceback.
local function traceback(e)
  if type(e) == "string" and e:match("^[^\n]-%.lua:%d+:") then return debug.traceback(e, 2) end
  return tostring(e)
end

-- The module of a reporter: scripts/reporters/NAME.lua (or --lua-path's
-- DIR/reporters/NAME.lua), or a Lua file. Returns module or nil, message.
function M.load(name)
  local mod
  if is_path(name) then
    local chunk, err = loadfile(name)
    if not chunk then return nil, tostring(err) end
    local ok, m = xpcall(chunk, traceback)
    if not ok then return nil, string.format("%s failed to load: %s", name, tostring(m)) end
    mod = m
  else
    if not name:match("^[%w_%-]+$") then
      return nil, string.format("'%s' is neither a reporter's name nor a path to a .lua file", name)
    end
    local ok, m = pcall(require, "reporters." .. name)
    if not ok then
      if tostring(m):find("module 'reporters." .. name .. "' not found", 1, true) then
        return nil, string.format("no reporter named '%s' (stormdb list shows the bundled ones; or give a path " ..
          "to a .lua file)", name)
      end
      return nil, tostring(m)
    end
    mod = m
  end
  if type(mod) ~= "table" then
    return nil, string.format("reporter %s must return a table (with on_run_start, on_band, ... or new)", name)
  end
  local any = type(mod.new) == "function"
  for _, e in ipairs(M.EVENTS) do any = any or type(mod[e]) == "function" end
  if not any then
    return nil, string.format("reporter %s has neither new() nor any event function (%s)", name,
      table.concat(M.EVENTS, ", "))
  end
  return mod
end

local function label(name) return name:match("([^/]+)$") or name end

-- Wraps a reporter so an error in an event is caught: on_run_start's error
-- stops the run (nothing has been measured yet: the user fixes it and runs
-- again); any later one is said once on stderr and the reporter is dropped.
-- It also keeps the order the contract promises: a note that comes before
-- on_run_start (the server observer connects first) is held and delivered
-- right after it.
local function shield(name, obj, path)
  local proxy = { name = name, target = obj, path = path, held = {} }
  -- calls the reporter's own function for event, catching its error
  function proxy.deliver(self, event, ...)
    local fn = obj[event]
    if type(fn) ~= "function" then return end
    local args, n = { ... }, select("#", ...)
    local ok, err = xpcall(function() return fn(obj, unpack(args, 1, n)) end, traceback)
    if ok then return end
    if event == "on_run_start" then
      error(string.format("reporter %s: %s", label(name), tostring(err)), 0)
    end
    self.failed = tostring(err)
    io.stderr:write(string.format("stormdb: reporter %s failed in %s (it gets no more events): %s\n", label(name),
      event, tostring(err)))
    io.stderr:flush()
  end
  for _, event in ipairs(M.EVENTS) do
    proxy[event] = function(self, ...)
      if self.failed then return end
      if event == "on_note" and not self.started then
        self.held[#self.held + 1] = { ... }
        return
      end
      if event == "on_run_start" then
        self.started = true
        local run = ...
        -- run.exports is always there for a reporter to list its file in
        if type(run) == "table" and run.exports == nil then run.exports = {} end
      end
      self:deliver(event, ...)
      if event == "on_run_start" then
        local held = self.held
        self.held = {}
        for _, args in ipairs(held) do self:on_note(args[1], args[2]) end
      end
    end
  end
  return proxy
end

-- Base path for a single run's export files, like a study's: the directory
-- created (mkdir -p), stormdb_results_YYYYMMDD_HHMMSS (_2, _3 ... if taken).
local function single_run_base(cfg)
  local dir = cfg.export_path or "./results"
  local quoted = "'" .. dir:gsub("'", "'\\''") .. "'"
  os.execute("mkdir -p " .. quoted .. " 2>/dev/null")
  local probe = dir .. "/.stormdb-write-test"
  local f, err = io.open(probe, "w")
  if not f then return nil, string.format("export path %s is not writable: %s", dir, tostring(err)) end
  f:close()
  os.remove(probe)
  local stamp = os.date("%Y%m%d_%H%M%S")
  local base, n = string.format("%s/stormdb_results_%s", dir, stamp), 1
  local function taken(b)
    for _, ext in ipairs { "csv", "json", "html" } do
      local h = io.open(b .. "." .. ext, "r")
      if h then h:close() return true end
    end
    return false
  end
  while taken(base) do
    n = n + 1
    base = string.format("%s/stormdb_results_%s_%d", dir, stamp, n)
  end
  return base
end

function M.build(cfg, base_fn)
  local list = M.names(cfg)
  local out = {}
  local base, berr
  local function get_base()
    if base == nil and berr == nil then
      if base_fn then base, berr = base_fn() else base, berr = single_run_base(cfg) end
      if not base then
        berr = string.format("%s: %s", (cfg.where and cfg.where.export_path) or "--export-path", tostring(berr))
      end
    end
    return base, berr
  end
  local mods = {}
  for i, r in ipairs(list) do
    local mod, err = M.load(r.name)
    if not mod then
      return nil, string.format("%s: %s", r.where, err)
    end
    mods[i] = mod
  end
  for i, r in ipairs(list) do
    local mod = mods[i]
    local opts = { name = r.name, config = cfg }
    if mod.extension then
      local b, err = get_base()
      if not b then return nil, err end
      opts.base = b
      opts.path = b .. "." .. tostring(mod.extension)
    end
    local obj = mod
    if type(mod.new) == "function" then
      local ok, o = xpcall(mod.new, traceback, opts)
      if not ok then return nil, string.format("%s: reporter %s: new() failed: %s", r.where, label(r.name), o) end
      if type(o) ~= "table" then
        return nil, string.format("%s: reporter %s: new() returned %s, not a table", r.where, label(r.name), type(o))
      end
      obj = o
    end
    out[#out + 1] = shield(r.name, obj, opts.path)
  end
  -- --json FILE: the result there too, besides whatever the list says
  if cfg.json and not (cfg.study and cfg.dry_run) then
    local mod = require "reporters.json"
    out[#out + 1] = shield("json", mod.new { path = cfg.json, name = "json", config = cfg }, cfg.json)
  end
  return out
end

function M.files(reporters)
  local files = {}
  for _, r in ipairs(reporters or {}) do
    if r.path then files[#files + 1] = r.path end
  end
  return files
end

function M.failed(reporters)
  for _, r in ipairs(reporters or {}) do
    if r.failed then return true end
  end
  return false
end

return M
