-- simple: one table, point reads and updates by primary key over the whole
-- key range of the scale. The smallest workload that still touches the
-- buffer pool, the WAL and row locks; a first thing to run.
local db = require "stormdb.db"

local ROWS_PER_SCALE = 100000

local read = db.prepare("SELECT v FROM simple WHERE id = $1")
local write = db.prepare("UPDATE simple SET v = v + 1 WHERE id = $1")

return {
  name = "simple",
  description = "point SELECT and UPDATE by primary key on one table",
  options = {
    scale = { default = 1, min = 1, max = 100000, help = "100 000 rows per unit" },
    read_ratio = { default = 50, min = 0, max = 100, help = "percentage of reads in the mix" },
  },

  setup = function(ctx)
    local rows = ctx.opt.scale * ROWS_PER_SCALE
    ctx.db:exec("DROP TABLE IF EXISTS simple")
    ctx.db:exec("CREATE TABLE simple (id bigint NOT NULL, v bigint NOT NULL, pad text NOT NULL)")
    local parts = math.min(4, ctx.opt.scale)
    ctx:parallel(parts, function(task, part)
      local copy = task.db:copy("COPY simple (id, v, pad) FROM STDIN")
      for id = part, rows, parts do
        copy:row(id, 0, "x")
      end
      copy:finish()
    end)
    ctx.db:exec("ALTER TABLE simple ADD PRIMARY KEY (id)")
    ctx.db:exec("ANALYZE simple")
  end,

  cleanup = function(ctx)
    ctx.db:exec("DROP TABLE IF EXISTS simple")
  end,

  init = function(w)
    w.rows = w.opt.scale * ROWS_PER_SCALE
  end,

  transactions = {
    {
      name = "read",
      weight = function(opt) return opt.read_ratio end,
      run = function(w) w.db:exec(read, w.rand:uniform(1, w.rows)) end,
    },
    {
      name = "write",
      weight = function(opt) return 100 - opt.read_ratio end,
      run = function(w) w.db:exec(write, w.rand:uniform(1, w.rows)) end,
    },
  },
}
