-- connection: connection churn, as an application without a pool (or
-- pgbench -C) does it: each transaction opens a connection of its own, runs
-- one small query, and closes it. What it stresses is the server's
-- connection path: fork of a backend, authentication, catalog cache warm-up,
-- and the exit. The time to connect is measured apart, as the metric
-- "connect" (band.metrics.connect: count, avg/p50/p95/p99/max ms); the
-- transaction's latency is connect + query + close. A "pooled" transaction
-- (weight --pooled-percent, default 0) runs the same query on a pooled
-- connection, for comparison in the same run.
--
-- Tables (schema "connection"; cleanup drops it): kv.
local db = require "stormdb.db"

local ROWS = 1000
local QUERY = "SELECT v FROM connection.kv WHERE k = $1"
local pooled_query = db.prepare(QUERY)

return {
  name = "connection",
  description = "connection churn: connect, one small query, disconnect (connect latency reported apart)",
  options = {
    queries = { default = 1, min = 1, max = 10000, help = "queries per connection before it is closed" },
    pooled_percent = { default = 0, min = 0, max = 100,
      help = "percentage of transactions that run the query on a pooled connection instead" },
  },

  setup = function(ctx)
    ctx.db:exec("DROP SCHEMA IF EXISTS connection CASCADE")
    ctx.db:exec("CREATE SCHEMA connection")
    ctx.db:exec("CREATE TABLE connection.kv (k int NOT NULL, v text NOT NULL)")
    local copy = ctx.db:copy("COPY connection.kv (k, v) FROM STDIN")
    for k = 1, ROWS do copy:row(k, ctx.rand:astring(10, 40)) end
    copy:finish()
    ctx.db:exec("ALTER TABLE connection.kv ADD PRIMARY KEY (k)")
    ctx.db:exec("VACUUM ANALYZE connection.kv")
  end,

  cleanup = function(ctx)
    ctx.db:exec("DROP SCHEMA IF EXISTS connection CASCADE")
  end,

  init = function(w)
    if not w.db:value("SELECT to_regclass('connection.kv') IS NOT NULL") then
      error("connection: no table connection.kv (run stormdb setup connection first)", 0)
    end
  end,

  transactions = {
    {
      -- A connection of its own, outside the pool: connection = false, so
      -- the worker takes none from the pool for this transaction.
      name = "churn",
      connection = false,
      weight = function(opt) return 100 - opt.pooled_percent end,
      run = function(w)
        local c = w:connect()
        -- Unprepared: a new connection has no prepared statements, and
        -- preparing one for a single execution would only add a round trip.
        local ok, err = pcall(function()
          for _ = 1, w.opt.queries do c:value(QUERY, w.rand:uniform(1, ROWS)) end
        end)
        c:close()
        if not ok then error(err, 0) end
      end,
    },
    {
      name = "pooled",
      weight = function(opt) return opt.pooled_percent end,
      run = function(w)
        for _ = 1, w.opt.queries do w.db:value(pooled_query, w.rand:uniform(1, ROWS)) end
      end,
    },
  },

  summary = function(band)
    local m = band.metrics and band.metrics.connect
    if not m then return {} end
    return {
      connects_per_second = band.duration_seconds > 0 and m.count / band.duration_seconds or 0,
      connect_avg_ms = m.avg_ms,
      connect_p95_ms = m.p95_ms,
    }
  end,
}
