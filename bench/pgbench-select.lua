-- pgbench's built-in "select-only" script (pgbench -S), statement for
-- statement, as a stormdb workload: one prepared point SELECT per
-- transaction, aid uniform over the accounts of the scale. With
-- db.prepare it matches `pgbench -M prepared`. Tables come from `pgbench -i`.
local db = require "stormdb.db"

local select_balance = db.prepare("SELECT abalance FROM pgbench_accounts WHERE aid = $1")

return {
  name = "pgbench-select",
  description = "pgbench -S -M prepared, in Lua (tables from pgbench -i)",
  options = { scale = { default = 1, min = 1, help = "the scale pgbench -i was run with" } },
  init = function(w) w.accounts = 100000 * w.opt.scale end,
  run = function(w) w.db:exec(select_balance, w.rand:uniform(1, w.accounts)) end,
}
