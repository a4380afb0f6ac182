-- stormdb.worker: what runs inside an engine thread. setup() loads the
-- workload into the thread's Lua state and returns what the C side needs:
-- the coroutine body every worker runs, the transaction mix, a constructor
-- for worker objects (w), and the metatable of the workload's global proxy.
--
-- A band's worker body:
--   init(w)                        (may query; errors end the band)
--   rt.ready()                     parks until every worker is ready
--   loop: rt.next_tx()             picks a transaction and takes its connection
--         run(w)                   under xpcall; serialization failures and
--                                  deadlocks re-run with the same random state
--         rt.finish_tx(ok, err)    measures, counts, gives the connection back

local cjson = require "cjson"
local workload = require "stormdb.workload"
local rt = require "stormdb.rt"
require "stormdb.db"

local M = {}

local Worker = {}
Worker.__index = Worker

-- ctx:log(fmt, ...): progress from setup/cleanup, on stderr.
function Worker:log(fmt, ...)
  io.stderr:write(string.format("[%s] ", os.date("%H:%M:%S")), string.format(fmt, ...), "\n")
end

-- ctx:parallel(n, fn): runs fn(task, i) for i = 1..n concurrently, each task
-- with its own connection (task.db), and waits for all of them. The first
-- error among them is raised here.
function Worker:parallel(n, fn)
  assert(type(n) == "number" and n >= 1, "parallel(n, fn): n must be >= 1")
  assert(type(fn) == "function", "parallel(n, fn): fn must be a function")
  for i = 1, n do
    rt.spawn(fn, i)
  end
  local err = rt.join()
  if err then error(err, 0) end
end

function Worker:sleep(seconds) return rt.sleep(seconds) end

-- w:connect(): a new connection of the worker's own, outside the pool (for
-- connection churn); its connect time is recorded as the metric "connect".
-- Close it with db:close().
function Worker:connect()
  local ok, db = self.db:_connect()
  if ok then return db end
  error(db, 0)
end

-- w:record(name, seconds): a figure of the workload's own, reported with
-- its count and percentiles under band.metrics[name].
function Worker:record(name, seconds) return rt.record(name, seconds) end

local function on_error(e)
  if type(e) == "table" then return e end -- SQL errors carry their own context
  return debug.traceback(tostring(e), 1)
end

local function retryable(err)
  return type(err) == "table" and (err.sqlstate == "40001" or err.sqlstate == "40P01")
end

local function abort(w)
  if w.db:in_transaction() then
    pcall(w.db.exec, w.db, "ROLLBACK")
  end
end

local function band_body(wl)
  local init = wl.init
  local runs = {}
  for i, t in ipairs(wl.transactions) do runs[i] = t.run end
  local next_tx, finish_tx, retry = rt.next_tx, rt.finish_tx, rt.retry
  return function(w)
    if init then init(w) end
    if not rt.ready() then return end
    while true do
      local i = next_tx()
      if not i then break end
      local run = runs[i]
      local ok, err = xpcall(run, on_error, w, i)
      while not ok do
        abort(w)
        if not (retryable(err) and retry()) then break end
        ok, err = xpcall(run, on_error, w, i)
      end
      finish_tx(ok, err)
    end
  end
end

local function call_body(wl, name)
  return function(w)
    local fn = wl[name]
    if fn == nil then return end
    if type(fn) ~= "function" then
      error(string.format("workload %s: %s must be a function", wl.name, name), 0)
    end
    fn(w)
  end
end

function M.setup(spec, options_json, mode)
  local wl, env_mt, shared = workload.load(spec)
  if not wl then error(env_mt, 0) end
  -- Until a worker assigns a global, every worker reads the shared ones and
  -- the engine need not switch anything per resume; the first assignment
  -- turns per-worker globals on (see rt.own_globals).
  env_mt.__newindex = function(_, k, v)
    rawset(rt.own_globals(), k, v)
  end
  if mode == "band" and not wl.transactions then
    error(string.format("workload %s has no transactions to run", wl.name), 0)
  end
  local opt = cjson.decode(options_json)
  local transactions, err = workload.mix(wl, opt)
  if not transactions then error(err, 0) end
  return {
    env_mt = env_mt,
    transactions = transactions,
    body = mode == "band" and band_body(wl) or call_body(wl, mode),
    new_worker = function(id, db, rand)
      local w = setmetatable({ id = id, db = db, rand = rand, opt = opt }, Worker)
      return w, setmetatable({}, { __index = shared })
    end,
  }
end

return M
