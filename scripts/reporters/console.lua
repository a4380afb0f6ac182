-- The console reporter: a progress line on stderr while a band runs, and the
-- band's summary on stdout when it is done (pgbench-like, with percentiles,
-- errors by SQLSTATE and per-transaction figures).
local engine = require "stormdb.engine"

local R = { description = "progress on stderr and a summary on stdout (default)" }
R.__index = R

function R.new(opts)
  local self = setmetatable({}, R)
  self.out = opts and opts.out or io.stdout
  self.tty = engine.isatty(2)
  return self
end

local function num(x, fmt)
  if x == nil or x ~= x then return "n/a" end
  return string.format(fmt or "%.3f", x)
end

function R:on_run_start(run)
  self.run = run
  local c = run.configuration
  self.out:write(string.format("stormdb %s: workload %s, %d workers, %d connections, %d threads, " ..
    "duration %s, warmup %s, seed %d\n", run.metadata.version, run.metadata.workload, c.workers,
    c.connections, c.threads, c.duration_text, c.warmup_text, run.metadata.seed))
  self.out:flush()
end

function R:on_progress(p)
  local line = string.format("[%-7s %6.1f/%.0fs] tps %9.1f  p95 %8s ms  p99 %8s ms  errors %d",
    p.phase, p.elapsed_s, p.total_s, p.tps, num(p.p95_ms), num(p.p99_ms), p.errors)
  if self.tty then
    io.stderr:write("\r", line, "\27[K")
    self.pending_cr = true
  else
    io.stderr:write(line, "\n")
  end
  io.stderr:flush()
end

local function clear(self)
  if self.pending_cr then
    io.stderr:write("\r\27[K")
    self.pending_cr = false
  end
end

function R:on_band(band)
  clear(self)
  local p = band.performance
  local o = self.out
  if band.status ~= "complete" then
    o:write(string.format("band %d INTERRUPTED after %.1fs of measurement: figures cover that part only\n",
      band.band_number, band.duration_seconds))
  end
  o:write(string.format("transactions: %d in %.3fs (%.1f tps), statements: %d (%.1f qps)\n",
    p.transactions, band.duration_seconds, p.tps, p.statements, p.qps))
  o:write(string.format("latency ms: avg %s  sd %s  p50 %s  p90 %s  p95 %s  p99 %s  p99.9 %s  max %s\n",
    num(p.avg_latency_ms), num(p.std_dev_latency), num(p.p50_latency_ms), num(p.p90_latency_ms),
    num(p.p95_latency_ms), num(p.p99_latency_ms), num(p.p999_latency_ms), num(p.max_latency_ms)))
  o:write(string.format("errors: %d  retries: %d  reconnects: %d  pool wait: avg %s ms, p95 %s ms\n",
    p.errors, p.retries, p.reconnects, num(p.pool_wait_avg_ms), num(p.pool_wait_p95_ms)))
  local states = {}
  for s in pairs(band.errors_by_sqlstate) do states[#states + 1] = s end
  table.sort(states)
  for _, s in ipairs(states) do
    o:write(string.format("  SQLSTATE %s: %d%s\n", s, band.errors_by_sqlstate[s],
      s == "LUA" and " (script errors, first one printed above)" or ""))
  end
  local extra = {}
  for k in pairs(band.workload_figures or {}) do extra[#extra + 1] = k end
  table.sort(extra)
  for _, k in ipairs(extra) do
    o:write(string.format("%s: %s\n", k, num(band.workload_figures[k], "%.1f")))
  end
  local names = {}
  for name in pairs(band.transactions) do names[#names + 1] = name end
  table.sort(names)
  if #names > 1 then
    o:write(string.format("%-20s %10s %10s %10s %10s %10s %8s %8s\n", "transaction", "count", "tps",
      "avg ms", "p95 ms", "p99 ms", "errors", "retries"))
    for _, name in ipairs(names) do
      local t = band.transactions[name]
      o:write(string.format("%-20s %10d %10.1f %10s %10s %10s %8d %8d\n", name, t.transactions, t.tps,
        num(t.avg_latency_ms), num(t.p95_latency_ms), num(t.p99_latency_ms), t.errors, t.retries))
    end
  end
  o:flush()
end

function R:on_run_done(run)
  clear(self)
  for _, path in ipairs(run.exports or {}) do
    self.out:write("result written to ", path, "\n")
  end
  self.out:flush()
end

return R
