-- stormdb.observe: what the server (and the machine) did during each band,
-- and what that says about the bottleneck (docs/observation.md).
--
-- One extra connection per study, the observer, with its own
-- application_name ('stormdb-observer'), so it never counts among the
-- workload's sessions. Around each band's measure phase it snapshots the
-- cumulative statistics views (pg_stat_database, pg_stat_bgwriter,
-- pg_stat_checkpointer, pg_stat_wal, pg_stat_io, pg_stat_statements: those
-- the server's version has) and diffs them; during the measure phase it
-- samples pg_stat_activity for the workload's backends and times a trivial
-- round trip; on this host it reads /proc for the CPU and memory, and it
-- always reads the load generator's own CPU time. The classification
-- itself is C (stormdb.analysis.bottleneck, analysis/bottleneck.c).
--
-- Use from a runner (about ten lines):
--
--   local obs, note = require("stormdb.observe").new(dsn, { interval = 0.1 })
--   if not obs then report(note) end              -- a study runs without it
--   run.server_settings = obs and obs:study_settings()
--   for each band:
--     if obs then obs:band_start() end
--     local raw = engine.run(spec, obs and obs:callbacks(callbacks) or callbacks)
--     local band = result.band(raw, ...)
--     if obs then obs:band_end(band) end          -- band.server, band.bottleneck_type
--   run.bottleneck_analysis = obs and obs:study(run.bands, run.analysis)
--   if obs then obs:close() end
--
-- What a server does not allow (a view that is missing, permission denied,
-- pg_stat_statements not installed) becomes a note, once, and is skipped:
-- observation never fails a band. Every figure is a finite number or absent.

local pg = require "stormdb.pg"
local engine = require "stormdb.engine"
local analysis = require "stormdb.analysis"
local conninfo = require "stormdb.conninfo"
local host = require "stormdb.host"

local M = {}
M.APPLICATION_NAME = "stormdb-observer"

-- Every statement of the observer carries this comment, so its own
-- statements can be left out of pg_stat_statements' top list.
local TAG = "/* stormdb-observer */ "

local array_mt = analysis.array_mt
local function array(t) return setmetatable(t or {}, array_mt) end

local function finite(x)
  if type(x) ~= "number" or x ~= x or x == math.huge or x == -math.huge then return nil end
  return x
end

local function ratio(a, b)
  if not finite(a) or not finite(b) or b == 0 then return nil end
  return finite(a / b)
end

local function clamp01(x)
  x = finite(x)
  if not x then return nil end
  return math.max(0, math.min(1, x))
end

-- ---- the observer ----------------------------------------------------------------

local Obs = {}
Obs.__index = Obs

local DEFAULTS = {
  interval = 0.1,          -- seconds between pg_stat_activity samples
  statements = true,       -- top statements from pg_stat_statements
  create_extension = true, -- CREATE EXTENSION IF NOT EXISTS pg_stat_statements where allowed
  top = 10,                -- statements in a band's top list
  probe_every = 10,        -- a SELECT 1 round trip every this many samples (and at the first three)
  query_chars = 160,       -- statement text kept in the top list
  host = nil,              -- true/false overrides the local-server test
  application_name = M.APPLICATION_NAME,
  on_note = nil,           -- function(message) for each note, as it happens
}

-- observe.new(dsn [, options]) -> observer, or nil and a note saying why.
function M.new(dsn, opts)
  local self = setmetatable({}, Obs)
  self.opts = {}
  for k, v in pairs(DEFAULTS) do self.opts[k] = v end
  for k, v in pairs(opts or {}) do
    if DEFAULTS[k] == nil and k ~= "host" and k ~= "on_note" then
      error("observe.new: unknown option '" .. tostring(k) .. "'", 2)
    end
    self.opts[k] = v
  end
  self.dsn = dsn or ""
  self.conninfo = conninfo.with_application_name(self.dsn, self.opts.application_name or M.APPLICATION_NAME)
  self.workload_app = conninfo.application_name(self.dsn)
  if self.opts.host ~= nil then self.host_local = self.opts.host and true or false
  else self.host_local = conninfo.is_local(self.dsn) end
  self.cores = engine.cores()
  self.notes, self.noted, self.disabled = array(), {}, {}
  self.queries, self.spent = 0, 0
  local ok, err = self:_connect()
  if not ok then return nil, "server observation is off: cannot connect: " .. tostring(err) end
  if self.version < 100000 then
    self:close()
    return nil, string.format("server observation is off: PostgreSQL %d is older than 10", self.version)
  end
  if not self.host_local then
    self:_note("the server runs on another host: host CPU and memory are not observed")
  end
  self:_setup_statements()
  self:band_start()
  return self
end

-- observe.offline([settings]) -> an observer without a connection, for
-- classifying bands that were observed before (a saved result's
-- band.server): study() and classify_band() work; nothing is sampled.
function M.offline(settings)
  local self = setmetatable({}, Obs)
  self.opts = {}
  for k, v in pairs(DEFAULTS) do self.opts[k] = v end
  self.notes, self.noted, self.disabled = array(), {}, {}
  self.queries, self.spent = 0, 0
  self.settings = settings or {}
  self.cores = engine.cores()
  self:band_start()
  return self
end

function Obs:_connect()
  local conn, err = pg.connect(self.conninfo)
  if not conn then return nil, err end
  self.conn = conn
  self.version = conn:server_version()
  local rows = conn:query(TAG .. "SELECT pg_backend_pid() AS pid")
  self.backend_pid = rows and rows[1] and rows[1].pid
  -- The observer must never hold up a band or wait on the workload's locks.
  conn:query("SET statement_timeout = '5s'")
  conn:query("SET lock_timeout = '1s'")
  return true
end

-- A note, once per study: kept in the study's and the band's lists.
function Obs:_note(message)
  if self.noted[message] then return end
  self.noted[message] = true
  self.notes[#self.notes + 1] = message
  if self.band_notes then self.band_notes[#self.band_notes + 1] = message end
  if type(self.opts.on_note) == "function" then pcall(self.opts.on_note, message) end
end

-- Runs one observer statement for `what`. A failure other than a lost
-- connection disables `what` for the rest of the study with a note.
function Obs:_query(what, sql, ...)
  if not self.conn or self.disabled[what] then return nil end
  local t0 = engine.now()
  local rows, err, state = self.conn:query(TAG .. sql, ...)
  self.spent = self.spent + (engine.now() - t0)
  self.queries = self.queries + 1
  if rows then return rows end
  if state and state:sub(1, 2) == "08" or not state then
    self:_note("the observer lost its connection (" .. tostring(err) .. "): observation resumes at the next band")
    self.conn:close()
    self.conn = nil
    return nil
  end
  if state == "57014" then
    -- statement_timeout on a very busy server: this time only
    self:_note(string.format("%s took longer than the observer's 5 s statement timeout: skipped where it did",
      what))
    return nil
  end
  self.disabled[what] = true
  self:_note(string.format("%s: %s (SQLSTATE %s): skipped", what, tostring(err), tostring(state)))
  return nil
end

function Obs:_setup_statements()
  if not self.opts.statements then
    self.disabled.statements = true
    return
  end
  if self.opts.create_extension then
    local rows = self.conn:query(TAG .. "SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")
    local preload = self.conn:query(TAG .. "SELECT 1 WHERE current_setting('shared_preload_libraries') " ..
      "~ 'pg_stat_statements'")
    if rows and #rows == 0 and preload and #preload == 0 then
      self:_note("pg_stat_statements is not in shared_preload_libraries: no top statements")
      self.disabled.statements = true
      return
    end
    if rows and #rows == 0 then
      local ok, err, state = self.conn:query(TAG .. "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
      if ok then
        self.created_extension = true
      else
        self:_note(string.format("pg_stat_statements could not be created (%s, SQLSTATE %s): no top statements",
          tostring(err), tostring(state)))
        self.disabled.statements = true
        return
      end
    end
  end
  local rows, err, state = self.conn:query(TAG .. "SELECT 1 FROM pg_stat_statements LIMIT 1")
  if not rows then
    self:_note(string.format("pg_stat_statements is not available (%s, SQLSTATE %s): no top statements",
      tostring(err), tostring(state)))
    self.disabled.statements = true
    -- An extension the observer created but the server cannot use (the
    -- library is not in shared_preload_libraries) is dropped again.
    if self.created_extension then self.conn:query(TAG .. "DROP EXTENSION IF EXISTS pg_stat_statements") end
  end
end

local SETTINGS = { "server_version", "server_version_num", "max_connections", "shared_buffers", "work_mem",
  "synchronous_commit", "effective_io_concurrency", "effective_cache_size", "max_wal_size" }

local UNIT_BYTES = { B = 1, kB = 1024, MB = 1024 ^ 2, GB = 1024 ^ 3, TB = 1024 ^ 4, ["8kB"] = 8192,
  ["16kB"] = 16384, ["32kB"] = 32768, ["16MB"] = 16 * 1024 ^ 2 }

-- The server's key settings, once per study: {name = value as SHOW prints
-- it}, plus name_bytes for memory settings, numbers for counts, whether the
-- server is on this host and whether pg_stat_statements is read.
function Obs:study_settings()
  if self.settings then return self.settings end
  local s = {
    host_local = self.host_local,
    pg_stat_statements = not self.disabled.statements,
    observer_application_name = self.opts.application_name,
    workload_application_name = self.workload_app,
    sample_interval_seconds = self.opts.interval,
  }
  local list = {}
  for i, name in ipairs(SETTINGS) do list[i] = "'" .. name .. "'" end
  local rows = self:_query("pg_settings", "SELECT name, setting, unit, current_setting(name) AS value " ..
    "FROM pg_settings WHERE name IN (" .. table.concat(list, ", ") .. ")")
  for _, r in ipairs(rows or {}) do
    local n = tonumber(r.setting)
    if r.name == "server_version_num" or r.name == "max_connections" or r.name == "effective_io_concurrency" then
      s[r.name] = finite(n)
    else
      s[r.name] = r.value
    end
    if r.unit and UNIT_BYTES[r.unit] and n then s[r.name .. "_bytes"] = finite(n * UNIT_BYTES[r.unit]) end
  end
  s.server_version_num = s.server_version_num or self.version
  self.settings = s
  return s
end

-- ---- snapshots -------------------------------------------------------------------

-- The numeric columns of a row (skip: names not to take).
local function numbers(row, skip)
  local t = {}
  for k, v in pairs(row or {}) do
    if not (skip and skip[k]) then t[k] = finite(tonumber(v)) end
  end
  return t
end

-- after - before per counter; gauges are taken as they are after.
local function diff(before, after, gauges)
  if not before or not after then return nil end
  local d = {}
  for k, a in pairs(after) do
    if gauges and gauges[k] then d[k] = a
    elseif before[k] then d[k] = finite(a - before[k]) end
  end
  return d
end

local DB_SKIP = { datid = true }
local DB_GAUGES = { numbackends = true }
local IO_KEYS = { backend_type = true, object = true, context = true }

function Obs:_snapshot()
  local snap = { t = engine.now(), cpu = host.process_cpu_seconds(), main_cpu = host.main_thread_cpu_seconds() }
  if self.host_local then
    snap.stat = host.cpu()
    snap.mem = host.memory()
    snap.observer_cpu = self.backend_pid and host.cpu_seconds("/proc/" .. self.backend_pid .. "/stat")
  end
  if not self.conn then return snap end
  self:_query("pg_stat_clear_snapshot", "SELECT pg_stat_clear_snapshot()")
  local rows = self:_query("pg_stat_database",
    "SELECT * FROM pg_stat_database WHERE datname = current_database()")
  snap.database = rows and rows[1] and numbers(rows[1], DB_SKIP)
  rows = self:_query("pg_stat_bgwriter", "SELECT * FROM pg_stat_bgwriter")
  snap.bgwriter = rows and rows[1] and numbers(rows[1])
  if self.version >= 170000 then
    rows = self:_query("pg_stat_checkpointer", "SELECT * FROM pg_stat_checkpointer")
    snap.checkpointer = rows and rows[1] and numbers(rows[1])
  end
  if self.version >= 140000 then
    rows = self:_query("pg_stat_wal", "SELECT * FROM pg_stat_wal")
    snap.wal = rows and rows[1] and numbers(rows[1])
  end
  if self.version >= 160000 then
    rows = self:_query("pg_stat_io", "SELECT * FROM pg_stat_io")
    if rows then
      snap.io = {}
      for _, r in ipairs(rows) do
        snap.io[table.concat({ r.backend_type or "", r.object or "", r.context or "" }, "/")] =
          { key = r, n = numbers(r, IO_KEYS) }
      end
    end
  end
  if not self.disabled.statements then
    local total = self.version >= 130000 and "total_exec_time" or "total_time"
    local toplevel = self.version >= 140000 and ", toplevel" or ""
    rows = self:_query("statements", string.format(
      "SELECT userid, queryid%s, calls, %s AS total_ms, rows, shared_blks_hit, shared_blks_read " ..
      "FROM pg_stat_statements WHERE queryid IS NOT NULL " ..
      "AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())", toplevel, total))
    if rows then
      snap.statements = {}
      for _, r in ipairs(rows) do
        snap.statements[r.userid .. "/" .. r.queryid .. "/" .. (r.toplevel or "")] = {
          queryid = r.queryid, calls = tonumber(r.calls) or 0, total_ms = tonumber(r.total_ms) or 0,
          rows = tonumber(r.rows) or 0, hit = tonumber(r.shared_blks_hit) or 0,
          read = tonumber(r.shared_blks_read) or 0,
        }
      end
    end
  end
  return snap
end

-- ---- a band ------------------------------------------------------------------------

-- Before engine.run: a fresh band (reconnects when the connection was lost).
function Obs:band_start()
  if not self.conn and self.conninfo then
    local ok, err = self:_connect()
    if ok then
      self:_note("the observer reconnected")
    else
      self:_note("the observer cannot reconnect (" .. tostring(err) .. "): only the host and the client are observed")
    end
  end
  self.band_notes = array()
  self.before, self.after, self.sampling = nil, nil, false
  self.rounds, self.backends, self.active, self.ticks = 0, 0, 0, 0
  self.queries, self.spent = 0, 0
  self.classes = { cpu = 0, io = 0, lock = 0, lwlock = 0, ipc = 0, client = 0, other = 0 }
  self.states, self.events, self.rtts = {}, {}, {}
  self.mem_low = nil
end

function Obs:_probe()
  if not self.conn then return end
  local t0 = engine.now()
  local rows = self:_query("round trip", "SELECT 1")
  local t1 = engine.now()
  if rows then self.rtts[#self.rtts + 1] = (t1 - t0) * 1000 end
  if self.host_local then
    local mem = host.memory()
    if mem and (not self.mem_low or mem.available < self.mem_low.available) then self.mem_low = mem end
  end
end

local ACTIVITY_SQL = "SELECT coalesce(state, '') AS state, coalesce(wait_event_type, '') AS wtype, " ..
  "coalesce(wait_event, '') AS wevent, count(*) AS n FROM pg_stat_activity " ..
  "WHERE application_name = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid() " ..
  "GROUP BY 1, 2, 3"

function Obs:_sample()
  if not self.sampling or not self.conn then return end
  local rows = self:_query("pg_stat_activity", ACTIVITY_SQL, self.workload_app)
  if rows then
    self.rounds = self.rounds + 1
    for _, r in ipairs(rows) do
      local n = tonumber(r.n) or 0
      if r.state == "" then
        -- another role's sessions, without pg_read_all_stats: no state, no waits
        self:_note("pg_stat_activity hides the state of the workload's sessions from the observer's role " ..
          "(grant it pg_read_all_stats): they are not sampled")
      else
        self.backends = self.backends + n
        self.states[r.state] = (self.states[r.state] or 0) + n
        if r.state == "active" then
          self.active = self.active + n
          local class = analysis.wait_class(r.wtype)
          self.classes[class] = self.classes[class] + n
          if r.wtype ~= "" then
            local name = r.wtype .. ":" .. r.wevent
            self.events[name] = (self.events[name] or 0) + n
          end
        end
      end
    end
  end
  self.ticks = self.ticks + 1
  local k = self.ticks
  if k <= 3 or k % self.opts.probe_every == 0 then self:_probe() end
end

function Obs:_phase(name)
  if name == "measure" then
    self.before = self:_snapshot()
    self.sampling = true
  elseif name == "drained" then
    self.sampling = false
    if self.before then self.after = self:_snapshot() end
  end
end

-- The callbacks for engine.run: the caller's (a progress function or a
-- table {progress=, phase=, sample=}) with the observer's phase and sample
-- wrapped in. The observer's own failures never reach the engine.
function Obs:callbacks(existing)
  local cb = {}
  if type(existing) == "function" then
    cb.progress = existing
  elseif type(existing) == "table" then
    for k, v in pairs(existing) do cb[k] = v end
  end
  local phase, sample = cb.phase, cb.sample
  cb.phase = function(name)
    local ok, err = pcall(self._phase, self, name)
    if not ok then self:_note("observation failed at phase " .. tostring(name) .. ": " .. tostring(err)) end
    if phase then phase(name) end
  end
  cb.sample = function()
    if not self.failed then
      local ok, err = pcall(self._sample, self)
      if not ok then
        self.failed = true
        self:_note("sampling failed (" .. tostring(err) .. "): no more samples this band")
      end
    end
    if sample then sample() end
  end
  cb.sample_interval = self.opts.interval
  return cb
end

local function median(list)
  if #list == 0 then return nil end
  local s = {}
  for i, v in ipairs(list) do s[i] = v end
  table.sort(s)
  local n = #s
  if n % 2 == 1 then return s[(n + 1) / 2] end
  return (s[n / 2] + s[n / 2 + 1]) / 2
end

local function shorten(text, n)
  text = (text or ""):gsub("%s+", " "):gsub("^ ", "")
  if #text > n then text = text:sub(1, n - 3) .. "..." end
  return text
end

function Obs:_top_statements(before, after)
  if not before or not after then return nil end
  local list = {}
  for key, a in pairs(after) do
    local b = before[key]
    local d = {
      queryid = a.queryid, calls = a.calls - (b and b.calls or 0), total_ms = a.total_ms - (b and b.total_ms or 0),
      rows = a.rows - (b and b.rows or 0), hit = a.hit - (b and b.hit or 0), read = a.read - (b and b.read or 0),
    }
    -- an entry evicted and created again in the band: its counts are the band's
    if d.calls < 0 or d.total_ms < 0 then
      d.calls, d.total_ms, d.rows, d.hit, d.read = a.calls, a.total_ms, a.rows, a.hit, a.read
    end
    if d.calls > 0 then list[#list + 1] = d end
  end
  table.sort(list, function(x, y) return x.total_ms > y.total_ms end)
  -- The texts of the leading entries (a few spare for the observer's own).
  local want, ids = {}, {}
  for i = 1, math.min(#list, self.opts.top + 5) do
    if not want[list[i].queryid] then
      want[list[i].queryid] = true
      ids[#ids + 1] = list[i].queryid
    end
  end
  if #ids == 0 then return nil end
  local rows = self:_query("statements", "SELECT DISTINCT ON (queryid) queryid, query FROM pg_stat_statements " ..
    "WHERE queryid = ANY($1::bigint[])", "{" .. table.concat(ids, ",") .. "}")
  local text = {}
  for _, r in ipairs(rows or {}) do text[r.queryid] = r.query end
  local top = array()
  for _, d in ipairs(list) do
    if #top >= self.opts.top then break end
    local q = text[d.queryid]
    if want[d.queryid] and not (q and q:find("stormdb-observer", 1, true)) then
      top[#top + 1] = {
        query = q and shorten(q, self.opts.query_chars) or nil, queryid = d.queryid,
        calls = d.calls, total_ms = finite(d.total_ms), mean_ms = ratio(d.total_ms, d.calls),
        rows = d.rows, shared_blks_hit = d.hit, shared_blks_read = d.read,
      }
    end
  end
  return #top > 0 and top or nil
end

local function io_diff(before, after)
  if not before or not after then return nil end
  local out = array()
  for key, a in pairs(after) do
    local b = before[key]
    local d = b and diff(b.n, a.n, { op_bytes = true }) or nil
    local any = false
    for k, v in pairs(d or {}) do
      if k ~= "op_bytes" and v ~= 0 then any = true end
    end
    if any then
      d.backend_type, d.object, d.context = a.key.backend_type, a.key.object, a.key.context
      out[#out + 1] = d
    end
  end
  table.sort(out, function(x, y)
    return (x.backend_type .. x.object .. x.context) < (y.backend_type .. y.object .. y.context)
  end)
  return #out > 0 and out or nil
end

function Obs:_activity()
  if self.rounds == 0 then return nil end
  local shares, active = {}, self.active
  for class, n in pairs(self.classes) do shares[class] = active > 0 and finite(n / active) or 0 end
  local states = {}
  for state, n in pairs(self.states) do states[state] = ratio(n, self.backends) end
  local events = {}
  for name, n in pairs(self.events) do events[#events + 1] = { name = name, samples = n } end
  table.sort(events, function(a, b) return a.samples > b.samples or (a.samples == b.samples and a.name < b.name) end)
  local top = array()
  for i = 1, math.min(#events, 5) do
    top[i] = { event = events[i].name, samples = events[i].samples, share = ratio(events[i].samples, active) }
  end
  local samples = { rounds = self.rounds, backends = self.backends, active = self.active, events = array() }
  for class, n in pairs(self.classes) do samples[class] = n end
  for i = 1, math.min(#events, 8) do samples.events[i] = events[i] end
  return {
    rounds = self.rounds,
    interval_seconds = self.opts.interval,
    backends_avg = ratio(self.backends, self.rounds),
    active_avg = ratio(self.active, self.rounds),
    states = states,
    wait_shares = shares,
    top_wait_events = #top > 0 and top or nil,
    samples = samples,
  }
end

function Obs:_host(before, after, seconds)
  if not self.host_local or not before or not after or not before.stat or not after.stat then return nil end
  local b, a = before.stat, after.stat
  local total = a.total - b.total
  if not (total > 0) then return nil end
  local function share(k) return clamp01((a[k] - b[k]) / total) end
  local h = {
    cpu_busy = clamp01((a.user - b.user + a.system - b.system + a.steal - b.steal) / total),
    user = share("user"), system = share("system"), iowait = share("iowait"), steal = share("steal"),
    idle = share("idle"), cores = self.cores,
  }
  if a.ctxt and b.ctxt then
    h.context_switches = a.ctxt - b.ctxt
    h.context_switches_per_s = ratio(h.context_switches, seconds)
  end
  local mem = after.mem
  local low = self.mem_low
  if mem then
    if not low or mem.available < low.available then low = mem end
    if before.mem and before.mem.available < low.available then low = before.mem end
    h.mem_total_bytes = mem.total
    h.mem_available_bytes = low.available
    h.mem_available = clamp01(low.available / mem.total)
    h.page_cache_bytes = mem.cached
  end
  return h
end

function Obs:_client(band, before, after, seconds)
  if not before.cpu or not after.cpu or not (seconds > 0) then return nil end
  local used = after.cpu - before.cpu
  local threads = band.threads or self.cores
  return {
    cpu_seconds = finite(used),
    cpu_cores = ratio(used, seconds),
    cpu = clamp01(used / (seconds * self.cores)),
    cores = self.cores,
    threads = band.threads,
    saturation = clamp01(used / (seconds * math.max(1, math.min(threads, self.cores)))),
  }
end

-- After engine.run, with the band's result (stormdb.result.band): fills
-- band.server (the figures, the notes and band.server.bottleneck, the
-- classification) and band.bottleneck_type. Returns band.server.
function Obs:band_end(band)
  if self.before and not self.after then
    -- no "drained" (an interrupted or failed band): what was seen until now
    self.sampling = false
    self.after = self:_snapshot()
  end
  local before, after = self.before, self.after
  local server = {}
  if before and after then
    local seconds = after.t - before.t
    server.observed = true
    server.window_seconds = finite(seconds)
    server.database = diff(before.database, after.database, DB_GAUGES)
    if server.database then
      local d = server.database
      local blocks = (d.blks_hit or 0) + (d.blks_read or 0)
      d.hit_ratio = blocks > 0 and finite(d.blks_hit / blocks) or nil
    end
    server.bgwriter = diff(before.bgwriter, after.bgwriter)
    server.checkpointer = diff(before.checkpointer, after.checkpointer)
    server.wal = diff(before.wal, after.wal)
    server.io = io_diff(before.io, after.io)
    server.top_statements = self:_top_statements(before.statements, after.statements)
    server.activity = self:_activity()
    if #self.rtts > 0 then
      local lo = math.huge
      for _, v in ipairs(self.rtts) do lo = math.min(lo, v) end
      server.rtt = { median_ms = finite(median(self.rtts)), min_ms = finite(lo), probes = #self.rtts }
    end
    server.host = self:_host(before, after, seconds)
    server.client = self:_client(band, before, after, seconds)
    -- what observing cost: the observer's statements and the time the
    -- controller's thread waited for them (measure phase and snapshots)
    local backend_cpu = after.observer_cpu and before.observer_cpu and after.observer_cpu - before.observer_cpu
    local main_cpu = after.main_cpu and before.main_cpu and after.main_cpu - before.main_cpu
    server.observer = { queries = self.queries, seconds = finite(self.spent),
      share_of_window = ratio(self.spent, seconds),
      backend_cpu_seconds = finite(backend_cpu), controller_cpu_seconds = finite(main_cpu),
      cpu_share_of_machine = backend_cpu and main_cpu and
        clamp01((backend_cpu + main_cpu) / (seconds * self.cores)) or nil }
  else
    server.observed = false
    self:_note(string.format("band %s: no measure phase was observed", tostring(band.band_number or "?")))
  end
  if #self.band_notes > 0 then server.notes = self.band_notes end
  band.server = server
  self.seen = self.seen or {}
  self:classify_band(band, M.previous_of(band, self.seen))
  if server.observed then self.seen[#self.seen + 1] = band end
  self.failed = false
  return server
end

-- ---- classification -----------------------------------------------------------

-- The baseline for a band's trends: of the observed bands in `list`, the
-- one with the most workers below the band's (the latest of equals); nil
-- when there is none.
function M.previous_of(band, list)
  local best
  for _, b in ipairs(list) do
    if b ~= band and b.server and b.server.observed and (b.workers or 0) < (band.workers or 0) and
        (not best or b.workers >= best.workers) then
      best = b
    end
  end
  return best
end

local function copy_numbers(src, keys)
  if not src then return nil end
  local t = {}
  for dst, key in pairs(keys) do t[dst] = finite(src[key]) end
  return t
end

-- A band's evidence for stormdb.analysis.bottleneck, from band.server and
-- band.performance. ctx: {region=, peak_workers=, settings=, previous=band
-- (the baseline for trends, see previous_of)}.
function M.evidence(band, ctx)
  ctx = ctx or {}
  local s = band.server or {}
  local p = band.performance or {}
  local client = s.client
  local e = {
    workers = band.workers, connections = band.connections, threads = band.threads,
    cores = (client and client.cores) or (s.host and s.host.cores) or nil,
    seconds = finite(band.duration_seconds), tps = finite(p.tps), qps = finite(p.qps),
    latency_ms = finite(p.avg_latency_ms), pool_wait_ms = finite(p.pool_wait_avg_ms),
    rtt_ms = s.rtt and finite(s.rtt.median_ms),
    peak_workers = finite(ctx.peak_workers),
  }
  local region = ctx.region or (type(band.analysis) == "table" and band.analysis.scaling_region)
  if type(region) == "string" then e.region = region end
  local a = s.activity and s.activity.samples
  if a then
    e.activity = copy_numbers(a, { rounds = "rounds", backends = "backends", active = "active", cpu = "cpu",
      io = "io", lock = "lock", lwlock = "lwlock", ipc = "ipc", client = "client", other = "other" })
    e.activity.events = {}
    for i, ev in ipairs(a.events or {}) do e.activity.events[i] = { name = ev.name, samples = ev.samples } end
  end
  if s.database then
    e.database = copy_numbers(s.database, { blks_read = "blks_read", blks_hit = "blks_hit",
      temp_files = "temp_files", temp_bytes = "temp_bytes", xact_commit = "xact_commit", deadlocks = "deadlocks" })
  end
  if s.host then
    e.host = copy_numbers(s.host, { cpu_busy = "cpu_busy", iowait = "iowait", steal = "steal",
      mem_available = "mem_available", context_switches = "context_switches" })
  end
  if client and client.cpu then e.client = { cpu = client.cpu } end
  if ctx.settings then
    e.settings = copy_numbers(ctx.settings, { shared_buffers_bytes = "shared_buffers_bytes",
      work_mem_bytes = "work_mem_bytes", max_connections = "max_connections",
      effective_io_concurrency = "effective_io_concurrency" })
  end
  if ctx.previous and ctx.previous.server and ctx.previous.server.observed then
    e.previous = M.evidence(ctx.previous, { settings = ctx.settings })
  end
  return e
end

local function nonempty(t) return type(t) == "table" and next(t) ~= nil and t or nil end

-- The classification as it goes into a band: status and message only when
-- not ok, and no empty arrays (band.server is written by every reporter,
-- and an encoder without array marks would write [] as {}).
local function clean(b)
  local out = {
    type = b.type, confidence = b.confidence, runner_up = b.runner_up, scores = b.scores,
    reasons = nonempty(b.reasons), recommendations = nonempty(b.recommendations), metrics = nonempty(b.metrics),
  }
  if b.status ~= "ok" then out.status, out.message = b.status, b.message end
  return out
end

-- Classifies one band (again, e.g. once its region is known). Sets
-- band.server.bottleneck and band.bottleneck_type.
function Obs:classify_band(band, previous, region, peak_workers)
  local s = band.server
  if not s then return nil end
  local ok, b = pcall(analysis.bottleneck, M.evidence(band, {
    previous = previous, region = region, peak_workers = peak_workers, settings = self.settings,
  }))
  if not ok then
    self:_note("classification failed: " .. tostring(b))
    return nil
  end
  s.bottleneck = clean(b)
  band.bottleneck_type = b.type
  if type(band.analysis) == "table" then band.analysis.bottleneck_type = b.type end
  return s.bottleneck
end

-- The scaling region of each band from the analysis (progressive.analyse
-- writes band.analysis.scaling_region; the analysis' bands are the complete
-- bands in run order).
local function regions_of(bands, result)
  local regions = {}
  local i = 0
  for _, b in ipairs(bands) do
    local region = type(b.analysis) == "table" and b.analysis.scaling_region or nil
    if b.status == "complete" and b.performance and finite(b.performance.tps) and (b.duration_seconds or 0) > 0 then
      i = i + 1
      local s = type(result) == "table" and type(result.bands) == "table" and result.bands[i]
      if not region and type(s) == "table" and s.workers == b.workers and type(s.region) == "string" then
        region = s.region
      end
    end
    if region and region ~= "none" then regions[b] = region end
  end
  return regions
end

local function usl_peak(result)
  local usl = type(result) == "table" and type(result.mathematical_models) == "table" and
      type(result.mathematical_models.models) == "table" and result.mathematical_models.models.usl
  if type(usl) == "table" and usl.peak_status == "ok" then return finite(usl.peak_workers) end
  return nil
end

-- The study's bottleneck: the evidence of the bands past the knee
-- (saturation and degradation regions; without regions, the band with the
-- most workers) merged and classified, with the band before them as the
-- baseline for trends. Each band is classified again with its region.
-- Returns {primary_bottleneck, confidence, basis, bands[], scores{},
-- secondary_factors[], utilization_metrics{}, reasons[],
-- recommendations[], per_band[], notes[]}.
function Obs:study(bands, result)
  local settings = self.settings or self:study_settings()
  local regions = regions_of(bands or {}, result)
  local peak = usl_peak(result)
  local observed = {}
  for _, b in ipairs(bands or {}) do
    if b.server and b.server.observed then observed[#observed + 1] = b end
  end
  for _, b in ipairs(observed) do self:classify_band(b, M.previous_of(b, observed), regions[b], peak) end
  local out = {
    primary_bottleneck = "none", confidence = 0, bands = array(), secondary_factors = array(),
    recommendations = array(), reasons = array(), per_band = array(),
  }
  if #self.notes > 0 then out.notes = self.notes end
  if #observed == 0 then
    out.basis = "no band was observed"
    return out
  end
  for _, b in ipairs(observed) do
    local c = b.server.bottleneck or {}
    out.per_band[#out.per_band + 1] = { band = b.band_number, workers = b.workers, connections = b.connections,
      type = c.type or "none", confidence = c.confidence or 0, region = regions[b] }
  end
  local chosen = {}
  for _, b in ipairs(observed) do
    if regions[b] == "saturation" or regions[b] == "degradation" then chosen[#chosen + 1] = b end
  end
  if #chosen > 0 then
    out.basis = "the bands past the knee of the curve (saturation and degradation regions)"
  else
    local most = 0
    for _, b in ipairs(observed) do most = math.max(most, b.workers or 0) end
    for _, b in ipairs(observed) do if b.workers == most then chosen[#chosen + 1] = b end end
    out.basis = "the band with the most workers (no band reached saturation, or there is no analysis)"
  end
  local fewest = { workers = math.huge }
  for _, b in ipairs(chosen) do
    if (b.workers or 0) < fewest.workers then fewest = b end
  end
  local before = M.previous_of(fewest, observed)
  local evidence = {}
  for i, b in ipairs(chosen) do
    out.bands[i] = b.band_number
    evidence[i] = M.evidence(b, { region = regions[b], peak_workers = peak, settings = settings })
  end
  if before then
    evidence[1].previous = M.evidence(before, { settings = settings })
  end
  local ok, res = pcall(analysis.bottleneck, evidence)
  if not ok then
    self:_note("study classification failed: " .. tostring(res))
    out.basis = "classification failed"
    return out
  end
  out.primary_bottleneck, out.confidence = res.type, res.confidence
  out.scores = res.scores
  out.utilization_metrics = res.metrics
  out.reasons = res.reasons
  out.recommendations = res.recommendations
  if res.status ~= "ok" then out.status, out.message = res.status, res.message end
  -- Secondary factors: other types that scored at least the minimum over
  -- those bands, or that were some band's own classification.
  local secondary, by_type = {}, {}
  local function factor(t)
    if t == "none" or t == out.primary_bottleneck then return nil end
    if not by_type[t] then
      by_type[t] = { type = t, score = (res.scores or {})[t] or 0, bands = array() }
      secondary[#secondary + 1] = by_type[t]
    end
    return by_type[t]
  end
  for t, score in pairs(res.scores or {}) do
    if score >= analysis.BOTTLENECK_MIN_SCORE then factor(t) end
  end
  for _, pb in ipairs(out.per_band) do
    local f = factor(pb.type)
    if f then f.bands[#f.bands + 1] = pb.band end
  end
  table.sort(secondary, function(x, y) return x.score > y.score or (x.score == y.score and x.type < y.type) end)
  for i, f in ipairs(secondary) do out.secondary_factors[i] = f end
  return out
end

-- The notes so far (array of strings).
function Obs:notes() return self.notes end

function Obs:close()
  if self.conn then self.conn:close() end
  self.conn = nil
end

return M
