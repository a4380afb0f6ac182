-- stormdb.cli: the controller. main(config) is called by runtime/main.c with
-- the parsed command line; it finds the database (or starts the throwaway
-- server), runs the workload's setup when needed, runs the band through the
-- engine, and hands every event to the reporters. Returns the exit status:
-- 0 done, 1 failed, 2 bad input, 3 done but the script raised errors in
-- transactions, 130/143 interrupted (SIGINT/SIGTERM).

local cjson = require "cjson"
local engine = require "stormdb.engine"
local workload = require "stormdb.workload"
local result = require "stormdb.result"
local duration = require "stormdb.duration"

local M = {}

-- The controller reads workloads (their options, description, mix) but
-- never runs their transactions: statements prepared while a workload file
-- loads are only recorded here.
package.preload["stormdb.dbcore"] = package.preload["stormdb.dbcore"] or function()
  return { methods = {}, copier = {}, prepare = function(sql) return { sql = sql } end }
end

local EXIT_FAILED, EXIT_BAD_INPUT, EXIT_SCRIPT_ERRORS = 1, 2, 3

local function fail(status, fmt, ...)
  io.stderr:write("stormdb: ", string.format(fmt, ...), "\n")
  return status
end

local function interrupted_status()
  local sig = engine.interrupted()
  return sig and 128 + sig or nil
end

-- A 32-bit seed from the kernel (the range --seed accepts).
local function random_seed()
  local f = io.open("/dev/urandom", "rb")
  local bytes = f and f:read(4) or tostring(os.time())
  if f then f:close() end
  local n = 0
  for i = 1, #bytes do n = (n * 256 + bytes:byte(i)) % 2 ^ 32 end
  return n
end

-- Where to connect: --dsn; else the PG* environment (libpq reads it); else
-- a throwaway server. Returns dsn, server (or nil), or nil, message.
local function database(cfg)
  if cfg.dsn then return cfg.dsn end
  if os.getenv("PGHOST") or os.getenv("PGDATABASE") or os.getenv("PGSERVICE") then
    return ""
  end
  io.stderr:write("stormdb: no database given: starting a throwaway PostgreSQL (see --dsn, --keep)\n")
  local server, err = require("stormdb.server").start {
    max_connections = cfg.given["server-max-connections"] and cfg.server_max_connections or nil,
    keep = cfg.keep,
  }
  if not server then return nil, err end
  return server:conninfo(), server
end

local function server_version(dsn)
  local conn, err = require("stormdb.pg").connect(dsn)
  if not conn then return nil, err end
  local rows = conn:query("SHOW server_version")
  conn:close()
  return rows and rows[1] and rows[1].server_version or "unknown"
end

local function engine_spec(cfg, dsn, opts)
  local connections = cfg.given.connections and cfg.connections or cfg.workers
  local threads = cfg.given.threads and cfg.threads or math.min(engine.cores(), cfg.workers)
  return {
    mode = "band", workload = cfg.script, options_json = cjson.encode(opts), lua_path = cfg.lua_path,
    dsn = dsn, workers = cfg.workers, connections = connections, threads = threads,
    warmup = cfg.warmup, duration = cfg.duration, cooldown = cfg.cooldown, progress = cfg.progress,
    drain = cfg.drain, seed = cfg.seed, max_tries = cfg.max_tries,
  }
end

local function call(cfg, dsn, opts, name)
  io.stderr:write(string.format("stormdb: %s of workload %s...\n", name, cfg.script))
  local started = engine.now()
  local res, err = engine.run({
    mode = "call", call = name, workload = cfg.script, options_json = cjson.encode(opts),
    lua_path = cfg.lua_path, dsn = dsn, connections = 4, seed = cfg.seed,
  })
  if not res then return nil, err end
  if res.status ~= "ok" then return nil, "interrupted" end
  io.stderr:write(string.format("stormdb: %s done in %.1fs\n", name, engine.now() - started))
  return true
end

local function each(reporters, event, ...)
  for _, r in ipairs(reporters) do
    if r[event] then r[event](r, ...) end
  end
end

local function run_band(cfg, dsn, opts, wl, server)
  local spec = engine_spec(cfg, dsn, opts)
  local version, verr = server_version(dsn)
  if not version then return fail(EXIT_FAILED, "cannot connect to the server: %s", verr) end
  local run = {
    schema_version = result.schema_version,
    metadata = {
      version = require("stormdb").version,
      timestamp = os.date("!%Y-%m-%dT%H:%M:%SZ"),
      workload = wl.name,
      seed = cfg.seed,
      server_version = version,
    },
    configuration = {
      workers = spec.workers, connections = spec.connections, threads = spec.threads,
      duration_seconds = spec.duration, warmup_seconds = spec.warmup, cooldown_seconds = spec.cooldown,
      duration_text = duration.format(spec.duration), warmup_text = duration.format(spec.warmup),
      options = opts,
    },
    bands = {},
  }
  local reporters = { require("reporters.console").new() }
  if cfg.json then
    reporters[#reporters + 1] = require("reporters.json").new { path = cfg.json }
  end
  local ok, err = pcall(each, reporters, "on_run_start", run)
  if not ok then return fail(EXIT_FAILED, "%s", tostring(err)) end
  local raw, rerr = engine.run(spec, function(p) each(reporters, "on_progress", p) end)
  if not raw then
    return fail(interrupted_status() or EXIT_FAILED, "%s", rerr)
  end
  local band = result.band(raw, { band_number = 1, workers = spec.workers, connections = spec.connections })
  local serr = result.add_workload_figures(band, wl, opts)
  if serr then io.stderr:write("stormdb: ", serr, "\n") end
  run.bands[1] = band
  run.configuration.duration_text, run.configuration.warmup_text = nil, nil
  ok, err = pcall(function()
    each(reporters, "on_band", band, run)
    each(reporters, "on_run_done", run)
  end)
  if not ok then return fail(EXIT_FAILED, "%s", tostring(err)) end
  if server and cfg.keep then
    io.stderr:write("stormdb: the throwaway server keeps running: ", server:conninfo(), "\n",
      "stormdb: stop it with: pg_ctl -D ", server:dir(), "/data stop\n")
  end
  if raw.status ~= "ok" then
    return interrupted_status() or 130
  end
  if (band.errors_by_sqlstate.LUA or 0) > 0 then
    return EXIT_SCRIPT_ERRORS
  end
  return 0
end

local function list()
  for _, kind in ipairs { "workloads", "strategies", "reporters" } do
    print(kind .. ":")
    for _, name in ipairs(workload.bundled(kind)) do
      local description = ""
      if kind == "workloads" then
        local wl = workload.load(name)
        description = wl and wl.description or ""
      else
        local ok, mod = pcall(require, kind .. "." .. name)
        description = ok and type(mod) == "table" and mod.description or ""
      end
      print(string.format("  %-14s %s", name, description))
    end
  end
  return 0
end

function M.main(cfg)
  if cfg.command == "list" then return list() end
  local wl, err = workload.load(cfg.script)
  if not wl then return fail(EXIT_BAD_INPUT, "%s", err) end
  if cfg.help then
    print(workload.help(wl))
    return 0
  end
  local opts, oerr = workload.options(wl, cfg.script_options)
  if not opts then return fail(EXIT_BAD_INPUT, "%s", oerr) end
  local _, merr = workload.mix(wl, opts)
  if merr then return fail(EXIT_BAD_INPUT, "%s", merr) end
  if cfg.check and not wl.check then
    return fail(EXIT_BAD_INPUT, "workload %s has no check", wl.name)
  end
  if cfg.command == "run" and not cfg.check and not wl.transactions then
    return fail(EXIT_BAD_INPUT, "workload %s has no transactions to run", wl.name)
  end
  if not cfg.given.seed then cfg.seed = random_seed() end

  local dsn, server = database(cfg)
  if not dsn then return fail(EXIT_FAILED, "%s", server) end
  local status
  if cfg.command == "run" and cfg.check then
    local ok, cerr = call(cfg, dsn, opts, "check")
    status = ok and 0 or fail(interrupted_status() or EXIT_FAILED, "check failed: %s", cerr)
  elseif cfg.command == "run" then
    local ok, cerr = true, nil
    if server then ok, cerr = call(cfg, dsn, opts, "setup") end
    if not ok then
      status = fail(interrupted_status() or EXIT_FAILED, "setup failed: %s", cerr)
    else
      status = run_band(cfg, dsn, opts, wl, server)
    end
  else
    local ok, cerr = call(cfg, dsn, opts, cfg.command)
    status = ok and 0 or fail(interrupted_status() or EXIT_FAILED, "%s failed: %s", cfg.command, cerr)
  end
  if server then
    local ok, serr = server:stop()
    if not ok then io.stderr:write("stormdb: ", serr, "\n") end
  end
  return status
end

return M
