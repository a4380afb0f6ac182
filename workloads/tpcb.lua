-- tpcb: pgbench's built-in "TPC-B (sort of)" workload, statement for
-- statement, on pgbench's own schema, so that a stormdb run and a
-- `pgbench -M prepared` run against the same database do the same work
-- (docs/workloads.md shows the equality and how it was checked with
-- pg_stat_statements). The tables are the ones `pgbench -i` creates, so
-- either tool may initialise them and either may then run against them.
--
-- What pgbench does and we do alike:
--   schema     pgbench_branches/tellers/accounts/history, same column types,
--              fillfactor 100 (-F), aid bigint from scale 20000 on
--   data       1 branch, 10 tellers, 100 000 accounts per scale unit;
--              balances 0; accounts.filler '' (blank-padded to 84), the
--              other fillers NULL; history empty
--   keys       primary keys on branches(bid), tellers(tid), accounts(aid)
--   random     aid 1..100000*scale, bid 1..scale, tid 1..10*scale,
--              delta -5000..5000, uniform, drawn in that order
--   statements the text of the built-in scripts, prepared once per
--              connection as -M prepared does, BEGIN and END included
-- The load (setup) is pgbench -i's: one COPY FREEZE per table in the
-- transaction that created them, then primary keys, then VACUUM ANALYZE.
-- --load-connections=N splits pgbench_accounts over N connections instead
-- (no FREEZE possible then); on PostgreSQL 15 concurrent COPY into one table
-- contends on the relation extension lock, and it was slower where we
-- measured it, so it is not the default (docs/workloads.md has the figures).
local db = require "stormdb.db"

local ACCOUNTS, TELLERS, BRANCHES = 100000, 10, 1
local BIGINT_SCALE = 20000 -- pgbench's SCALE_32BIT_THRESHOLD

-- The built-in scripts with pgbench's variables numbered as -M prepared
-- numbers them ($1 for the first variable in the statement, and so on).
local begin_tx = db.prepare("BEGIN")
local update_account = db.prepare("UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2")
local select_account = db.prepare("SELECT abalance FROM pgbench_accounts WHERE aid = $1")
local update_teller = db.prepare("UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2")
local update_branch = db.prepare("UPDATE pgbench_branches SET bbalance = bbalance + $1 WHERE bid = $2")
local insert_history = db.prepare(
  "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, $4, CURRENT_TIMESTAMP)")
local end_tx = db.prepare("END")

local TABLES = "pgbench_history, pgbench_tellers, pgbench_accounts, pgbench_branches"

local function create_tables(ctx)
  local opt = ctx.opt
  local aid = opt.scale >= BIGINT_SCALE and "bigint" or "int"
  local ff = string.format(" WITH (fillfactor=%d)", opt.fillfactor)
  ctx.db:exec("DROP TABLE IF EXISTS " .. TABLES)
  ctx.db:exec("CREATE TABLE pgbench_history (tid int, bid int, aid " .. aid ..
    ", delta int, mtime timestamp, filler char(22))")
  ctx.db:exec("CREATE TABLE pgbench_tellers (tid int not null, bid int, tbalance int, filler char(84))" .. ff)
  ctx.db:exec("CREATE TABLE pgbench_accounts (aid " .. aid ..
    " not null, bid int, abalance int, filler char(84))" .. ff)
  ctx.db:exec("CREATE TABLE pgbench_branches (bid int not null, bbalance int, filler char(88))" .. ff)
end

-- Accounts first..last in one COPY (FREEZE when the table was created in
-- the same transaction).
local function load_accounts(d, first, last, freeze)
  local copy = d:copy("COPY pgbench_accounts (aid, bid, abalance, filler) FROM STDIN" ..
    (freeze and " WITH (FREEZE)" or ""))
  local row = copy.row
  for aid = first, last do
    row(copy, aid, math.floor((aid - 1) / ACCOUNTS) + 1, 0, "")
  end
  copy:finish()
end

local function load_small_tables(d, scale, freeze)
  local with = freeze and " WITH (FREEZE)" or ""
  local copy = d:copy("COPY pgbench_branches (bid, bbalance, filler) FROM STDIN" .. with)
  for bid = 1, BRANCHES * scale do copy:row(bid, 0, nil) end
  copy:finish()
  copy = d:copy("COPY pgbench_tellers (tid, bid, tbalance, filler) FROM STDIN" .. with)
  for tid = 1, TELLERS * scale do copy:row(tid, math.floor((tid - 1) / TELLERS) + 1, 0, nil) end
  copy:finish()
end

return {
  name = "tpcb",
  description = "pgbench's TPC-B-like transaction (or -S, -N), statement for statement, on pgbench's tables",
  options = {
    scale = { default = 1, min = 1, max = 100000, help = "pgbench scale factor: 100 000 accounts, 10 tellers, 1 branch per unit" },
    fillfactor = { default = 100, min = 10, max = 100, help = "fillfactor of accounts, tellers and branches (pgbench -F)" },
    select_only = { default = false, help = "only the SELECT of an account balance (pgbench -S, builtin select-only)" },
    skip_some_updates = { default = false, help = "no updates of tellers and branches (pgbench -N, builtin simple-update)" },
    load_connections = { default = 1, min = 1, max = 4,
      help = "connections loading pgbench_accounts during setup; 1 uses COPY FREEZE (fastest on PostgreSQL 15, see docs)" },
  },

  -- Like `pgbench -i`: drop, create, load, primary keys, VACUUM ANALYZE.
  -- VACUUM, not a bare ANALYZE: after COPY FREEZE it costs almost nothing
  -- (the pages are already frozen and all-visible), and after a parallel
  -- load it sets the hint bits and visibility map FREEZE would have set, so
  -- the first run on fresh data does not pay for them: either way the
  -- tables start from the state pgbench -i leaves them in.
  setup = function(ctx)
    local opt = ctx.opt
    local total = ACCOUNTS * opt.scale
    local parts = opt.load_connections
    if parts == 1 then
      -- One transaction creates and fills the tables, so COPY may FREEZE
      -- (as pgbench -i does): VACUUM then finds nothing to do.
      ctx:log("tpcb: loading %d accounts with COPY FREEZE", total)
      ctx.db:transaction(function(d)
        create_tables(ctx)
        load_small_tables(d, opt.scale, true)
        load_accounts(d, 1, total, true)
      end)
    else
      create_tables(ctx)
      ctx:log("tpcb: loading %d accounts on %d connections", total, parts)
      ctx:parallel(parts, function(task, part)
        if part == 1 then load_small_tables(task.db, opt.scale, false) end
        load_accounts(task.db, math.floor(total * (part - 1) / parts) + 1, math.floor(total * part / parts), false)
      end)
    end
    ctx:log("tpcb: primary keys")
    ctx:parallel(3, function(task, i)
      local t = ({ "pgbench_branches", "pgbench_tellers", "pgbench_accounts" })[i]
      local key = ({ "bid", "tid", "aid" })[i]
      task.db:exec("ALTER TABLE " .. t .. " ADD PRIMARY KEY (" .. key .. ")")
    end)
    ctx:log("tpcb: vacuum analyze")
    ctx:parallel(4, function(task, i)
      local t = ({ "pgbench_branches", "pgbench_tellers", "pgbench_accounts", "pgbench_history" })[i]
      task.db:exec("VACUUM ANALYZE " .. t)
    end)
  end,

  cleanup = function(ctx)
    ctx.db:exec("DROP TABLE IF EXISTS " .. TABLES)
  end,

  -- TPC-B's consistency: every delta lands once in each of the four tables,
  -- so the sums of balances agree with each other and with the history.
  check = function(ctx)
    local r = ctx.db:row([[SELECT (SELECT coalesce(sum(abalance), 0) FROM pgbench_accounts) AS a,
      (SELECT coalesce(sum(tbalance), 0) FROM pgbench_tellers) AS t,
      (SELECT coalesce(sum(bbalance), 0) FROM pgbench_branches) AS b,
      (SELECT coalesce(sum(delta), 0) FROM pgbench_history) AS h,
      (SELECT count(*) FROM pgbench_branches) AS branches]])
    if r.branches ~= ctx.opt.scale then
      error(string.format("tpcb check: %d branches, expected %d (--scale)", r.branches, ctx.opt.scale), 0)
    end
    if not ctx.opt.skip_some_updates and not (r.a == r.t and r.t == r.b and r.b == r.h) then
      error(string.format("tpcb check: balances disagree: accounts %d, tellers %d, branches %d, history %d",
        r.a, r.t, r.b, r.h), 0)
    end
    if r.a ~= r.h then
      error(string.format("tpcb check: account balances %d differ from the history's deltas %d", r.a, r.h), 0)
    end
  end,

  -- pgbench takes the scale from the data; we check that --scale agrees
  -- with it, so that a run never covers only part of the accounts.
  init = function(w)
    local scale = w.opt.scale
    local branches = w.db:value("SELECT count(*) FROM pgbench_branches")
    if branches ~= scale then
      error(string.format("tpcb: pgbench_branches holds scale %d but --scale=%d (give --scale=%d, or run stormdb setup tpcb --scale=%d)",
        branches, scale, branches, scale), 0)
    end
    w.naccounts, w.nbranches, w.ntellers = ACCOUNTS * scale, BRANCHES * scale, TELLERS * scale
  end,

  transactions = {
    {
      -- builtin tpcb-like
      name = "tpcb",
      weight = function(opt) return (opt.select_only or opt.skip_some_updates) and 0 or 1 end,
      run = function(w)
        local r, d = w.rand, w.db
        local aid = r:uniform(1, w.naccounts)
        local bid = r:uniform(1, w.nbranches)
        local tid = r:uniform(1, w.ntellers)
        local delta = r:uniform(-5000, 5000)
        d:exec(begin_tx)
        d:exec(update_account, delta, aid)
        d:exec(select_account, aid)
        d:exec(update_teller, delta, tid)
        d:exec(update_branch, delta, bid)
        d:exec(insert_history, tid, bid, aid, delta)
        d:exec(end_tx)
      end,
    },
    {
      -- builtin simple-update (pgbench -N)
      name = "simple_update",
      weight = function(opt) return (opt.skip_some_updates and not opt.select_only) and 1 or 0 end,
      run = function(w)
        local r, d = w.rand, w.db
        local aid = r:uniform(1, w.naccounts)
        local bid = r:uniform(1, w.nbranches)
        local tid = r:uniform(1, w.ntellers)
        local delta = r:uniform(-5000, 5000)
        d:exec(begin_tx)
        d:exec(update_account, delta, aid)
        d:exec(select_account, aid)
        d:exec(insert_history, tid, bid, aid, delta)
        d:exec(end_tx)
      end,
    },
    {
      -- builtin select-only (pgbench -S)
      name = "select_only",
      weight = function(opt) return opt.select_only and 1 or 0 end,
      run = function(w)
        w.db:exec(select_account, w.rand:uniform(1, w.naccounts))
      end,
    },
  },
}
