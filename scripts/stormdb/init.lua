-- stormdb: what a workload may require besides its w (docs/lua-api.md).
--   stormdb.sleep(seconds)   yields the worker; never blocks its thread
--   stormdb.version
local M = { version = require("stormdb.build").version }

function M.sleep(seconds)
  local ok, rt = pcall(require, "stormdb.rt")
  if not ok then
    error("stormdb.sleep() is only available to workers", 2)
  end
  return rt.sleep(seconds)
end

-- stormdb.now(): seconds on the engine's monotonic clock (workers only).
function M.now()
  local ok, rt = pcall(require, "stormdb.rt")
  if not ok then
    error("stormdb.now() is only available to workers", 2)
  end
  return rt.now()
end

return M
