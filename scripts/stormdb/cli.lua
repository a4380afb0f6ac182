-- stormdb.cli: the controller. main(config) is called by runtime/main.c with
-- the validated configuration (command line and --config file); it finds the
-- database (or starts the throwaway server), runs the workload's setup when
-- needed, runs one band or a progressive study (stormdb.progressive) through
-- the engine, and hands every event to the reporters. Returns the exit
-- status: 0 done, 1 failed, 2 bad input, 3 done but the script raised errors
-- in transactions, 130/143 interrupted (SIGINT/SIGTERM).

local cjson = require "cjson"
local engine = require "stormdb.engine"
local workload = require "stormdb.workload"
local result = require "stormdb.result"
local duration = require "stormdb.duration"
local progressive = require "stormdb.progressive"

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
-- needs_connections: the most connections a band will open (a study), so
-- a throwaway server gets room for them.
local function database(cfg, needs_connections)
  if cfg.dsn then return cfg.dsn end
  if os.getenv("PGHOST") or os.getenv("PGDATABASE") or os.getenv("PGSERVICE") then
    return ""
  end
  io.stderr:write("stormdb: no database given: starting a throwaway PostgreSQL (see --dsn, --keep)\n")
  local max_connections = cfg.given["server-max-connections"] and cfg.server_max_connections or nil
  if not max_connections and needs_connections and needs_connections + 20 > 300 then
    max_connections = needs_connections + 20
  end
  local server, err = require("stormdb.server").start {
    max_connections = max_connections,
    keep = cfg.keep,
  }
  if not server then return nil, err end
  return server:conninfo(), server
end

-- --json FILE must be writable before anything runs (exit status 2, not a
-- lost result at the end).
local function json_writable(cfg)
  if not cfg.json or cfg.dry_run then return nil end
  local probe = cfg.json .. ".tmp"
  local f, err = io.open(probe, "w")
  if not f then return string.format("%s: cannot write %s: %s", cfg.where.json or "--json", cfg.json, err) end
  f:close()
  os.remove(probe)
  return nil
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
    tx_timeout = cfg.tx_timeout, latency_limit = cfg.latency_limit, rate = cfg.rate, arrival = cfg.arrival,
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

-- The server observer of a run (docs/observation.md), or nil when it is
-- turned off or cannot connect; either way the run goes on.
local function observer(cfg, dsn, note)
  if not cfg.observe or cfg.no_observe then return nil end
  local obs, why = require("stormdb.observe").new(dsn, {
    interval = cfg.observe_interval, statements = cfg.pg_stat_statements,
    on_note = function(m) note("server observation: " .. m) end,
  })
  if not obs then note("server observation is off: " .. tostring(why)) end
  return obs
end

-- Checks the largest band (of a study, or the one band of a run) against
-- the server's max_connections before the first band; `where` names the
-- setting to change. Returns true or nil, message.
local function check_server_connections(cfg, dsn, plan, where)
  local most, band = 0, nil
  for _, b in ipairs(plan) do
    if b.connections > most then most, band = b.connections, b end
  end
  local conn, err = require("stormdb.pg").connect(dsn)
  if not conn then return nil, "cannot connect to the server: " .. tostring(err) end
  local function show(name)
    local rows = conn:query("SHOW " .. name)
    return rows and rows[1] and tonumber(rows[1][name]) or nil
  end
  local max = show("max_connections")
  local reserved = (show("superuser_reserved_connections") or 0) + (show("reserved_connections") or 0)
  local rows = conn:query("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
  local super = rows and rows[1] and rows[1].rolsuper == "t"
  rows = conn:query("SELECT count(*) AS n FROM pg_stat_activity WHERE backend_type = 'client backend' " ..
    "AND pid <> pg_backend_pid()")
  local others = rows and rows[1] and tonumber(rows[1].n) or 0
  conn:close()
  if not max then return true end
  local limit = super and max or max - reserved
  where = where or (cfg.study.min_connections and cfg.where.max_connections or cfg.where.max_workers)
  if most > limit then
    return nil, string.format("%s: band %d needs %d connections but the server allows %d (SHOW max_connections: %d%s); " ..
      "lower the connections or raise max_connections", where, band.band_number, most, limit, max,
      (not super and reserved > 0) and string.format(", %d reserved for superusers", reserved) or "")
  end
  if most + others > limit then
    io.stderr:write(string.format("stormdb: warning: %d other sessions are connected; band %d's %d connections " ..
      "may not all fit in the server's %d\n", others, band.band_number, most, limit))
  end
  return true
end

local function run_band(cfg, dsn, opts, wl, server)
  local spec = engine_spec(cfg, dsn, opts)
  local version, verr = server_version(dsn)
  if not version then return fail(EXIT_FAILED, "cannot connect to the server: %s", verr) end
  local fits, ferr = check_server_connections(cfg, dsn,
    { { band_number = 1, workers = spec.workers, connections = spec.connections } },
    cfg.given.connections and cfg.where.connections or cfg.where.workers)
  if not fits then return fail(EXIT_BAD_INPUT, "%s", ferr) end
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
  local reporters, berr = require("stormdb.report").build(cfg)
  if not reporters then return fail(EXIT_BAD_INPUT, "%s", berr) end
  local obs = observer(cfg, dsn, function(m) each(reporters, "on_note", m, run) end)
  run.server_settings = obs and obs:study_settings()
  local ok, err = pcall(each, reporters, "on_run_start", run)
  if not ok then return fail(EXIT_FAILED, "%s", tostring(err)) end
  local function on_progress(p) each(reporters, "on_progress", p) end
  if obs then obs:band_start() end
  local raw, rerr = engine.run(spec, obs and obs:callbacks(on_progress) or on_progress)
  if not raw then
    if obs then obs:close() end
    return fail(interrupted_status() or EXIT_FAILED, "%s", rerr)
  end
  local band = result.band(raw, { band_number = 1, workers = spec.workers, connections = spec.connections,
    rate = cfg.rate, arrival = cfg.arrival })
  local serr = result.add_workload_figures(band, wl, opts)
  if serr then io.stderr:write("stormdb: ", serr, "\n") end
  if obs then
    obs:band_end(band)
    run.bottleneck_analysis = obs:study({ band }, nil)
    obs:close()
  end
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
  if require("stormdb.report").failed(reporters) then return EXIT_FAILED end
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

-- Edit distance, for "did you mean" on a file's workload_options.
local function distance(a, b)
  local d = {}
  for i = 0, #a do d[i] = { [0] = i } end
  for j = 0, #b do d[0][j] = j end
  for i = 1, #a do
    for j = 1, #b do
      local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
      d[i][j] = math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
    end
  end
  return d[#a][#b]
end

-- The workload's options: its defaults, then the file's workload_options,
-- then --name=value (the C side already dropped file entries the command
-- line overrides). Problems from the file name its line.
local function workload_options(cfg, wl)
  local problems, list = {}, {}
  for _, pair in ipairs(cfg.script_options) do
    if pair.where then
      local name = pair[1]:gsub("-", "_")
      if not wl.options[name] then
        local known, best, best_d = {}, nil, 3
        for k in pairs(wl.options) do
          known[#known + 1] = k
          local d = distance(name, k)
          if d < best_d then best, best_d = k, d end
        end
        table.sort(known)
        problems[#problems + 1] = string.format("%s: unknown option of workload %s%s (%s)", pair.where, wl.name,
          best and ("; did you mean " .. best .. "?") or "",
          #known > 0 and ("its options: " .. table.concat(known, ", ")) or "it has no options")
      else
        local _, err = workload.options(wl, { pair })
        if err then
          local prefix = string.format("--%s=%s: ", pair[1], tostring(pair[2]))
          if err:sub(1, #prefix) == prefix then err = tostring(pair[2]) .. ": " .. err:sub(#prefix + 1) end
          problems[#problems + 1] = pair.where .. ": " .. err
        else
          list[#list + 1] = pair
        end
      end
    else
      list[#list + 1] = pair
    end
  end
  local opts, err = workload.options(wl, list)
  if err then problems[#problems + 1] = err end
  if #problems > 0 then return nil, table.concat(problems, "\n") end
  return opts
end

local function fmt_seconds(s) return duration.format(s) end

-- --dry-run: the plan, without connecting to anything.
local function dry_run(cfg, plan, phases, strategy_name)
  local per = phases.warmup + phases.measure + phases.cooldown
  local total = per * #plan
  local out = io.stdout
  if strategy_name then
    out:write(string.format("plan: workload %s, strategy %s (%s dialect), %d band%s\n", cfg.script, strategy_name,
      cfg.study.dialect, #plan, #plan == 1 and "" or "s"))
  else
    out:write(string.format("plan: workload %s, one band\n", cfg.script))
  end
  out:write(string.format("each band: warmup %s + measure %s + cooldown %s = %s\n", fmt_seconds(phases.warmup),
    fmt_seconds(phases.measure), fmt_seconds(phases.cooldown), fmt_seconds(per)))
  local rated = plan[1] and plan[1].rate
  out:write(string.format("%5s %8s %12s%s %10s %10s\n", "band", "workers", "connections", rated and "     rate/s" or "",
    "time", "ends at"))
  for i, b in ipairs(plan) do
    out:write(string.format("%5d %8d %12d%s %10s %10s%s\n", i, b.workers, b.connections,
      rated and string.format(" %11.1f", b.rate or 0) or "", fmt_seconds(per), fmt_seconds(per * i),
      b.note and ("  " .. b.note) or ""))
  end
  out:write(string.format("total: %s (estimated: setup and connection time not included)\n", fmt_seconds(total)))
  if cfg.json then
    local bands = {}
    for i, b in ipairs(plan) do bands[i] = { workers = b.workers, connections = b.connections, rate = b.rate } end
    local f, err = io.open(cfg.json, "w")
    if not f then return fail(EXIT_BAD_INPUT, "cannot write %s: %s", cfg.json, err) end
    f:write(cjson.encode({ bands = bands, estimated_seconds = total }), "\n")
    f:close()
    out:write("plan written to ", cfg.json, "\n")
  end
  return 0
end

local ffi_ok, ffi = pcall(require, "ffi")
if ffi_ok then
  pcall(ffi.cdef, "int mkdir(const char *path, unsigned int mode);")
  pcall(ffi.cdef, "char *strerror(int errnum);")
end

-- mkdir -p; returns true or nil, message.
local function make_dirs(path)
  if not ffi_ok then
    local ok = os.execute("mkdir -p '" .. path:gsub("'", "'\\''") .. "'")
    return (ok == 0 or ok == true) or nil, "cannot create the directory"
  end
  local so_far = path:sub(1, 1) == "/" and "/" or ""
  for part in path:gmatch("[^/]+") do
    so_far = so_far .. part
    if ffi.C.mkdir(so_far, tonumber("755", 8)) ~= 0 then
      local e = ffi.errno()
      if e ~= 17 then -- EEXIST
        return nil, string.format("cannot create %s: %s", so_far, ffi.string(ffi.C.strerror(e)))
      end
    end
    so_far = so_far .. "/"
  end
  return true
end

-- The export files' base path (no extension), after checking the directory
-- can be created and written. Returns base or nil, message.
local function export_base(study)
  local dir = study.export_path
  local ok, err = make_dirs(dir)
  local probe = dir .. "/.stormdb-write-test"
  local f, ferr = io.open(probe, "w")
  if not f then
    return nil, string.format("export path %s is not writable: %s", dir, ok and ferr or err)
  end
  f:close()
  os.remove(probe)
  local stamp = os.date("%Y%m%d_%H%M%S")
  local base = string.format("%s/progressive_scaling_results_%s", dir, stamp)
  local n = 1
  while io.open(base .. ".csv", "r") or io.open(base .. ".json", "r") do
    n = n + 1
    base = string.format("%s/progressive_scaling_results_%s_%d", dir, stamp, n)
  end
  return base
end

local function strategy_label(name)
  return name:match("([^/]+)%.lua$") or name
end

local function study_main(cfg, wl, opts)
  local study = cfg.study
  local label = strategy_label(study.strategy)
  local strategy, err = progressive.load_strategy(study.strategy)
  if not strategy then return fail(EXIT_BAD_INPUT, "%s: %s", cfg.where.strategy, err) end
  local plan, perr = progressive.plan(strategy, label, study)
  if not plan then return fail(EXIT_BAD_INPUT, "%s", perr) end
  local phases = {
    warmup = study.warmup_seconds, measure = progressive.measure_seconds(study, #plan),
    cooldown = study.cooldown_seconds,
  }
  if cfg.dry_run then return dry_run(cfg, plan, phases, label) end
  if not cfg.given.seed then cfg.seed = random_seed() end

  -- the reporters (docs/reporters.md): found and started before connecting
  local reporters, berr = require("stormdb.report").build(cfg, function() return export_base(study) end)
  if not reporters then return fail(EXIT_BAD_INPUT, "%s", berr) end
  local most = 0
  for _, b in ipairs(plan) do most = math.max(most, b.connections) end
  local jerr = json_writable(cfg)
  if jerr then return fail(EXIT_BAD_INPUT, "%s", jerr) end
  local dsn, server = database(cfg, most)
  if not dsn then return fail(interrupted_status() or EXIT_FAILED, "%s", server) end
  local function stop_server(status)
    if server then
      if cfg.keep then
        io.stderr:write("stormdb: the throwaway server keeps running: ", server:conninfo(), "\n")
      end
      local ok, serr = server:stop()
      if not ok then io.stderr:write("stormdb: ", serr, "\n") end
    end
    return status
  end
  local version, verr = server_version(dsn)
  if not version then return stop_server(fail(EXIT_FAILED, "cannot connect to the server: %s", verr)) end
  local ok, cerr = check_server_connections(cfg, dsn, plan)
  if not ok then return stop_server(fail(EXIT_BAD_INPUT, "%s", cerr)) end
  if server or cfg.setup then
    local sok, serr = call(cfg, dsn, opts, "setup")
    if not sok then
      return stop_server(fail(interrupted_status() or EXIT_FAILED, "setup failed: %s", serr))
    end
  end

  local config_name = cfg.config and cfg.config:match("([^/]+)$")
  local run = {
    schema_version = result.schema_version,
    metadata = {
      test_name = config_name and config_name:gsub("%.ya?ml$", "") or "progressive_scaling",
      version = require("stormdb").version,
      timestamp = os.date("!%Y-%m-%dT%H:%M:%SZ"),
      workload = wl.name,
      workload_type = wl.name,
      strategy = label,
      seed = cfg.seed,
      server_version = version,
    },
    configuration = {
      strategy = label, dialect = study.dialect,
      min_workers = study.min_workers, max_workers = study.max_workers,
      min_connections = study.min_connections, max_connections = study.max_connections,
      connections_follow_workers = study.connections_follow_workers or nil,
      step_workers = study.step_workers, step_connections = study.step_connections,
      bands = study.dialect == "duration" and study.bands or nil,
      bands_planned = #plan, grid = study.grid, stop_on_degradation = study.stop_on_degradation,
      test_duration_seconds = study.test_duration_seconds,
      duration_seconds = phases.measure, warmup_seconds = phases.warmup, cooldown_seconds = phases.cooldown,
      max_unreachable_seconds = study.max_unreachable_seconds, enable_analysis = study.enable_analysis,
      export_path = (study.export_csv or study.export_json) and study.export_path or nil,
      threads = cfg.given.threads and cfg.threads or nil,
      options = opts,
    },
    bands = {},
    study = { strategy = label, plan = plan, phases = phases, export_files = {} },
    exports = {},
  }
  run.study.export_files = require("stormdb.report").files(reporters)
  local progress_interval = cfg.progress > 0 and cfg.progress or 1
  local options_json = cjson.encode(opts)
  local obs = observer(cfg, dsn, function(m) each(reporters, "on_note", m, run) end)
  run.server_settings = obs and obs:study_settings()
  local status
  local rok, rerr = pcall(function()
    status = progressive.run {
      strategy = strategy, strategy_name = label, study = study, plan = plan, run = run,
      reporters = reporters, dsn = dsn, workload = wl, options = opts, observer = obs,
      band_extra = { rate = cfg.rate, arrival = cfg.arrival },
      progress = cfg.progress, progress_interval = progress_interval,
      spec = function(workers, connections, measure, rate)
        return {
          mode = "band", workload = cfg.script, options_json = options_json, lua_path = cfg.lua_path,
          dsn = dsn, workers = workers, connections = connections,
          threads = cfg.given.threads and cfg.threads or math.min(engine.cores(), workers),
          warmup = study.warmup_seconds, duration = measure, cooldown = study.cooldown_seconds,
          progress = progress_interval, drain = cfg.drain, seed = cfg.seed, max_tries = cfg.max_tries,
          tx_timeout = cfg.tx_timeout, latency_limit = cfg.latency_limit, rate = rate or cfg.rate,
          arrival = cfg.arrival,
        }
      end,
    }
  end)
  if obs then obs:close() end
  if not rok then status = fail(EXIT_FAILED, "%s", tostring(rerr)) end
  if status == 0 and require("stormdb.report").failed(reporters) then status = EXIT_FAILED end
  return stop_server(status)
end

function M.main(cfg)
  if cfg.command == "list" then return list() end
  local wl, err = workload.load(cfg.script)
  if not wl then
    if cfg.given.workload and cfg.config and cfg.where.workload:find(":%d+:") then
      return fail(EXIT_BAD_INPUT, "%s: %s", cfg.where.workload, err)
    end
    return fail(EXIT_BAD_INPUT, "%s", err)
  end
  if cfg.help then
    print(workload.help(wl))
    return 0
  end
  local opts, oerr = workload_options(cfg, wl)
  if not opts then return fail(EXIT_BAD_INPUT, "%s", oerr) end
  local _, merr = workload.mix(wl, opts)
  if merr then return fail(EXIT_BAD_INPUT, "%s", merr) end
  if cfg.check and not wl.check then
    return fail(EXIT_BAD_INPUT, "workload %s has no check", wl.name)
  end
  if cfg.command == "run" and not cfg.check and not wl.transactions then
    return fail(EXIT_BAD_INPUT, "workload %s has no transactions to run", wl.name)
  end
  if cfg.command == "run" and cfg.study.enabled then return study_main(cfg, wl, opts) end
  if cfg.command == "run" and cfg.dry_run and not cfg.check then
    local connections = cfg.given.connections and cfg.connections or cfg.workers
    return dry_run(cfg, { { workers = cfg.workers, connections = connections } },
      { warmup = cfg.warmup, measure = cfg.duration, cooldown = cfg.cooldown })
  end
  if not cfg.given.seed then cfg.seed = random_seed() end

  local jerr = json_writable(cfg)
  if jerr then return fail(EXIT_BAD_INPUT, "%s", jerr) end
  local dsn, server = database(cfg)
  if not dsn then return fail(interrupted_status() or EXIT_FAILED, "%s", server) end
  local status
  if cfg.command == "run" and cfg.check then
    local ok, cerr = call(cfg, dsn, opts, "check")
    status = ok and 0 or fail(interrupted_status() or EXIT_FAILED, "check failed: %s", cerr)
  elseif cfg.command == "run" then
    local ok, cerr = true, nil
    if server or cfg.setup then ok, cerr = call(cfg, dsn, opts, "setup") end
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
