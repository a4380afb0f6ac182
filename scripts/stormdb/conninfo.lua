-- stormdb.conninfo: reading and amending a libpq connection string (a
-- URI, key=value pairs, or a bare database name) without connecting: its
-- parameters, a copy with another application_name, and whether the
-- server is on this machine. The empty conninfo means libpq's defaults and
-- the PG* environment.

local M = {}

local function is_uri(dsn) return dsn:match("^postgres://") or dsn:match("^postgresql://") end

local function unescape_uri(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- key = value pairs with libpq's quoting ('...' with \' and \\).
local function parse_pairs(dsn)
  local t, i, n = {}, 1, #dsn
  while true do
    local s = dsn:find("[^%s]", i)
    if not s then break end
    local eq = dsn:find("=", s, true)
    if not eq then return t end
    local key = dsn:sub(s, eq - 1):match("^(.-)%s*$")
    local j = eq + 1
    while j <= n and dsn:sub(j, j):match("%s") do j = j + 1 end
    local quoted = dsn:sub(j, j) == "'"
    if quoted then j = j + 1 end
    local value = {}
    while j <= n do
      local ch = dsn:sub(j, j)
      if ch == "\\" then
        value[#value + 1] = dsn:sub(j + 1, j + 1)
        j = j + 2
      elseif (quoted and ch == "'") or (not quoted and ch:match("%s")) then
        j = j + 1
        break
      else
        value[#value + 1] = ch
        j = j + 1
      end
    end
    t[key] = table.concat(value)
    i = j
  end
  return t
end

-- postgresql://[user[:password]@][host[:port][,...]][/dbname][?key=value&...]
local function parse_uri(dsn)
  local t = {}
  local rest = dsn:gsub("^%a+://", "")
  local query = rest:match("%?(.*)$")
  rest = rest:gsub("%?.*$", "")
  local authority, path = rest:match("^([^/]*)/?(.*)$")
  local hostpart = authority:match("@(.*)$") or authority
  local hosts = {}
  for h in (hostpart .. ","):gmatch("([^,]*),") do
    local v6 = h:match("^%[(.-)%]")
    hosts[#hosts + 1] = unescape_uri(v6 or (h:gsub(":%d*$", "")))
  end
  t.host = table.concat(hosts, ",")
  if t.host == "" then t.host = nil end
  if path and path ~= "" then t.dbname = unescape_uri(path) end
  for k, v in (query or ""):gmatch("([^&=]+)=([^&]*)") do t[unescape_uri(k)] = unescape_uri(v) end
  return t
end

-- The conninfo's parameters as a table (a URI, key=value pairs, or a bare
-- database name); {} for the empty conninfo (libpq's defaults and PG*).
function M.params(dsn)
  if dsn == nil or dsn == "" then return {} end
  if is_uri(dsn) then return parse_uri(dsn) end
  if dsn:find("=", 1, true) then return parse_pairs(dsn) end
  return { dbname = dsn }
end

local function quote(v) return "'" .. v:gsub("\\", "\\\\"):gsub("'", "\\'") .. "'" end

-- The conninfo with application_name set to app, whatever its form (a
-- later keyword wins in libpq; a URI's own application_name is replaced).
function M.with_application_name(dsn, app)
  if dsn == nil or dsn == "" then return "application_name=" .. quote(app) end
  if is_uri(dsn) then
    local base = dsn:gsub("([?&])application_name=[^&]*&?", "%1"):gsub("[?&]$", "")
    local encoded = app:gsub("[^%w%-_.~]", function(c) return string.format("%%%02X", c:byte()) end)
    return base .. (base:find("?", 1, true) and "&" or "?") .. "application_name=" .. encoded
  end
  if dsn:find("=", 1, true) then return dsn .. " application_name=" .. quote(app) end
  return "dbname=" .. quote(dsn) .. " application_name=" .. quote(app)
end

-- The application_name of the workload's sessions: the conninfo's, else
-- PGAPPNAME, else the engine's fallback 'stormdb'.
function M.application_name(dsn)
  return M.params(dsn).application_name or os.getenv("PGAPPNAME") or "stormdb"
end

-- Whether the server runs on this machine: a Unix socket (no host, a host
-- that starts with '/' or '@') or a loopback address (localhost, 127.x,
-- ::1). With several hosts, all must be local.
function M.is_local(dsn)
  local p = M.params(dsn)
  local hosts = p.hostaddr or p.host or os.getenv("PGHOSTADDR") or os.getenv("PGHOST") or ""
  if hosts == "" then return true end
  for h in (hosts .. ","):gmatch("([^,]*),") do
    local local_host = h == "" or h:sub(1, 1) == "/" or h:sub(1, 1) == "@" or h == "localhost" or
        h:match("^127%.%d+%.%d+%.%d+$") or h == "::1"
    if not local_host then return false end
  end
  return true
end

return M
