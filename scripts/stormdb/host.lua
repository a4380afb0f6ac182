-- stormdb.host: this machine's CPU and memory, and CPU time of processes
-- and threads, from /proc (Linux). A figure that cannot be read is nil.

local M = {}

local function read_file(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

-- Host CPU time (clock ticks) and context switches from /proc/stat.
function M.cpu()
  local s = read_file("/proc/stat")
  local line = s and s:match("^cpu%s+([^\n]+)")
  if not line then return nil end
  local v = {}
  for x in line:gmatch("%d+") do v[#v + 1] = tonumber(x) end
  local t = {
    user = (v[1] or 0) + (v[2] or 0), system = (v[3] or 0) + (v[6] or 0) + (v[7] or 0),
    idle = v[4] or 0, iowait = v[5] or 0, steal = v[8] or 0,
  }
  t.total = t.user + t.system + t.idle + t.iowait + t.steal
  t.ctxt = tonumber(s:match("\nctxt%s+(%d+)"))
  return t
end

function M.memory()
  local s = read_file("/proc/meminfo")
  if not s then return nil end
  local function kb(name)
    local v = tonumber(s:match("\n?" .. name .. ":%s+(%d+)"))
    return v and v * 1024 or nil
  end
  local total, available = kb("MemTotal"), kb("MemAvailable")
  if not total or not available then return nil end
  return { total = total, available = available, cached = (kb("Cached") or 0) + (kb("Buffers") or 0) }
end

local clock_ticks = 100
do
  local ok, ffi = pcall(require, "ffi")
  if ok then
    pcall(ffi.cdef, "long sysconf(int name);")
    local got, v = pcall(function() return tonumber(ffi.C.sysconf(2)) end) -- _SC_CLK_TCK
    if got and v and v > 0 then clock_ticks = v end
  end
end

-- CPU seconds (user + system) from a /proc/.../stat file: a process (all
-- its threads) or one thread (/proc/PID/task/TID/stat).
function M.cpu_seconds(path)
  local s = read_file(path)
  local after = s and s:match("%)%s+(.*)$")
  if not after then return nil end
  local f = {}
  for x in after:gmatch("%S+") do f[#f + 1] = x end
  local utime, stime = tonumber(f[12]), tonumber(f[13])
  if not utime or not stime then return nil end
  return (utime + stime) / clock_ticks
end

function M.process_cpu_seconds() return M.cpu_seconds("/proc/self/stat") end

-- The controller's own thread (the main thread: its id is the process id),
-- where the observer runs while engine threads run the load.
local self_pid = (read_file("/proc/self/stat") or ""):match("^(%d+)")
function M.main_thread_cpu_seconds()
  return self_pid and M.cpu_seconds("/proc/self/task/" .. self_pid .. "/stat") or nil
end

return M
