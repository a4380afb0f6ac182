-- stormdb.db: the Lua half of w.db. The C half (stormdb.dbcore) sends a
-- command and yields; these wrappers turn its (ok, value) into a return
-- value or an error, so scripts read like synchronous code.
--
--   w.db:query(sql, ...)   -> array of rows ({column = value})
--   w.db:row(sql, ...)     -> first row or nil
--   w.db:value(sql, ...)   -> first column of the first row or nil
--   w.db:exec(sql, ...)    -> number of rows affected (or returned)
--   w.db:transaction(fn, ...) BEGIN; fn(db, ...); COMMIT (ROLLBACK on error)
--   w.db:copy(sql)         -> copier: copier:row(v1, v2, ...), copier:finish()
--   db.prepare(sql)        -> a statement prepared once per connection
-- sql is text with $1, $2 ... placeholders, or a prepared statement.
-- SQL errors are raised as tables {sqlstate, message, detail, hint, statement}.

local core = require "stormdb.dbcore"

local DB = core.methods
local Copier = core.copier
local send = DB._send
local ROWS, ROW, VALUE, COUNT, COPY = core.ROWS, core.ROW, core.VALUE, core.COUNT, core.COPY

local function check(ok, value)
  if ok then return value end
  error(value, 0)
end

-- exec is the hot path of most workloads: written out rather than through
-- check(), one Lua call less per statement.
function DB:exec(sql, ...)
  local ok, value = send(self, COUNT, sql, ...)
  if ok then return value end
  error(value, 0)
end

function DB:query(sql, ...) return check(send(self, ROWS, sql, ...)) end
function DB:row(sql, ...) return check(send(self, ROW, sql, ...)) end
function DB:value(sql, ...) return check(send(self, VALUE, sql, ...)) end
function DB:copy(sql) return check(send(self, COPY, sql)) end

local function pack(...) return { n = select("#", ...), ... } end

function DB:transaction(fn, ...)
  self:exec("BEGIN")
  local r = pack(pcall(fn, self, ...))
  if not r[1] then
    if self:in_transaction() then pcall(self.exec, self, "ROLLBACK") end
    error(r[2], 0)
  end
  self:exec("COMMIT")
  return unpack(r, 2, r.n)
end

function Copier:finish()
  self:_flush()
  return check(self:_end())
end

return { prepare = core.prepare, methods = DB }
