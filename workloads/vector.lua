-- vector: nearest-neighbour search over embeddings with pgvector. Vectors
-- are drawn around a few hundred cluster centres (real embeddings cluster;
-- uniform noise would make every index look bad), searched with ORDER BY
-- distance LIMIT k through an HNSW or IVFFlat index, while a configurable
-- share of the workers insert new vectors. `stormdb run vector --check`
-- measures recall@k of the index against exact search on a sample.
--
-- pgvector is a separate extension: setup stops with instructions when the
-- server does not have it (Debian 12's archive has no pgvector package for
-- PostgreSQL 15; the PGDG apt repository has postgresql-15-pgvector).
--
-- Tables (schema "vector"; cleanup drops it, and the extension too if this
-- workload created it): items.
local db = require "stormdb.db"
local rand = require "stormdb.rand"

local PER_SCALE = 10000
local CLUSTERS = 200
local CENTRES_SEED = 20240607 -- fixed: setup and workers must agree on the centres
local METRICS = {
  l2 = { op = "<->", ops = "vector_l2_ops" },
  cosine = { op = "<=>", ops = "vector_cosine_ops" },
  inner_product = { op = "<#>", ops = "vector_ip_ops" },
}

-- The cluster centres, the same in every Lua state for given dimensions.
local centres_cache = {}
local function centres(dims)
  if centres_cache[dims] then return centres_cache[dims] end
  local r = rand.new(CENTRES_SEED, dims)
  local cs = {}
  for c = 1, CLUSTERS do
    local v = {}
    for i = 1, dims do v[i] = r:double() * 2 - 1 end
    cs[c] = v
  end
  centres_cache[dims] = cs
  return cs
end

-- A vector near a random centre, in pgvector's text form "[x,y,...]".
local function embedding(r, dims, spread)
  local c = centres(dims)[r:uniform(1, CLUSTERS)]
  local parts = {}
  for i = 1, dims do parts[i] = string.format("%.5f", c[i] + r:gaussian(0, spread)) end
  return "[" .. table.concat(parts, ",") .. "]"
end

local function statements(opt)
  local op = METRICS[opt.metric].op
  return {
    search = db.prepare("SELECT id FROM vector.items ORDER BY embedding " .. op .. " $1::vector LIMIT $2"),
    insert = db.prepare("INSERT INTO vector.items (category, embedding) VALUES ($1, $2::vector)"),
  }
end

-- Session settings of the index's search (pgvector's defaults unless given).
local function tuning(opt)
  local sets = {}
  if opt.ef_search then sets[#sets + 1] = string.format("SET LOCAL hnsw.ef_search = %d", opt.ef_search) end
  if opt.probes then sets[#sets + 1] = string.format("SET LOCAL ivfflat.probes = %d", opt.probes) end
  return sets
end

local function missing_extension(ctx, err)
  local major = ctx.db:value("SELECT current_setting('server_version_num')::int / 10000") or 15
  return string.format(
    "vector: the pgvector extension is not available on this server (CREATE EXTENSION vector: %s).\n" ..
    "Install pgvector for PostgreSQL %d on the database server, then run stormdb setup vector again:\n" ..
    "  - Debian/Ubuntu with the PGDG apt repository (apt.postgresql.org): apt-get install postgresql-%d-pgvector\n" ..
    "    (Debian 12 bookworm's own archive has no pgvector package for PostgreSQL 15)\n" ..
    "  - from source: git clone https://github.com/pgvector/pgvector && cd pgvector && make && make install\n" ..
    "    (needs postgresql-server-dev-%d; see pgvector's README)\n" ..
    "  - managed services (RDS, Cloud SQL, Azure, ...) ship it: CREATE EXTENSION vector as an allowed user",
    type(err) == "table" and (err.message or tostring(err)) or tostring(err), major, major, major)
end

local function sizes(opt) return { rows = PER_SCALE * opt.scale } end

-- Search with the index, and exactly (no index: a sequential scan computes
-- every distance). Returns arrays of ids.
local function search(d, opt, stmt, vec, exact)
  d:exec("BEGIN")
  if exact then
    d:exec("SET LOCAL enable_indexscan = off")
    d:exec("SET LOCAL enable_bitmapscan = off")
  else
    for _, s in ipairs(tuning(opt)) do d:exec(s) end
  end
  local rows = d:query(stmt, vec, opt.k)
  d:exec("COMMIT")
  local ids = {}
  for i, row in ipairs(rows) do ids[i] = row.id end
  return ids
end

local S -- prepared per engine thread, once the options are known

return {
  name = "vector",
  description = "pgvector nearest-neighbour search (HNSW or IVFFlat) with inserts; recall@k by --check",
  options = {
    scale = { default = 1, min = 1, max = 100000, help = "10 000 vectors per unit" },
    dims = { default = 64, min = 2, max = 2000, help = "dimensions of the embeddings" },
    index = { default = "hnsw", choices = { "hnsw", "ivfflat", "none" }, help = "nearest-neighbour index" },
    metric = { default = "l2", choices = { "l2", "cosine", "inner_product" }, help = "distance (<->, <=>, <#>)" },
    k = { default = 10, min = 1, max = 1000, help = "neighbours per search (LIMIT k; recall@k)" },
    insert_percent = { default = 10, min = 0, max = 100, help = "percentage of inserts in the mix" },
    hnsw_m = { default = 16, min = 2, max = 100, help = "HNSW m (links per node)" },
    hnsw_ef_construction = { default = 64, min = 4, max = 1000, help = "HNSW ef_construction" },
    ivfflat_lists = { type = "integer", min = 1, max = 32768, help = "IVFFlat lists (default rows / 1000, at least 10)" },
    ef_search = { type = "integer", min = 1, max = 1000, help = "hnsw.ef_search for searches (default: the server's, 40)" },
    probes = { type = "integer", min = 1, max = 32768, help = "ivfflat.probes for searches (default: the server's, 1)" },
    spread = { default = 0.3, type = "number", min = 0, max = 10, help = "standard deviation of vectors around their cluster centre" },
    recall_queries = { default = 100, min = 1, max = 100000, help = "queries --check compares against exact search" },
    min_recall = { default = 0.8, type = "number", min = 0, max = 1, help = "--check fails below this recall@k" },
  },

  setup = function(ctx)
    local opt = ctx.opt
    local existed = ctx.db:value("SELECT count(*) FROM pg_extension WHERE extname = 'vector'") > 0
    if not existed then
      local ok, err = pcall(ctx.db.exec, ctx.db, "CREATE EXTENSION IF NOT EXISTS vector")
      if not ok then error(missing_extension(ctx, err), 0) end
    end
    local rows = sizes(opt).rows
    ctx.db:exec("DROP SCHEMA IF EXISTS vector CASCADE")
    ctx.db:exec("CREATE SCHEMA vector")
    ctx.db:exec(string.format("COMMENT ON SCHEMA vector IS 'stormdb vector: created_extension=%d'",
      existed and 0 or 1))
    ctx.db:exec(string.format([[CREATE TABLE vector.items (id bigint GENERATED BY DEFAULT AS IDENTITY,
      category int NOT NULL, embedding vector(%d) NOT NULL)]], opt.dims))
    ctx:log("vector: loading %d vectors of %d dimensions", rows, opt.dims)
    local parts = 4
    ctx:parallel(parts, function(task, part)
      local r = task.rand
      local copy = task.db:copy("COPY vector.items (id, category, embedding) FROM STDIN")
      for id = part, rows, parts do
        copy:row(id, r:uniform(1, 100), embedding(r, opt.dims, opt.spread))
      end
      copy:finish()
    end)
    ctx.db:exec("SELECT setval(pg_get_serial_sequence('vector.items', 'id'), $1)", rows)
    ctx.db:exec("ALTER TABLE vector.items ADD PRIMARY KEY (id)")
    local ops = METRICS[opt.metric].ops
    if opt.index == "hnsw" then
      ctx:log("vector: HNSW index (m=%d, ef_construction=%d)", opt.hnsw_m, opt.hnsw_ef_construction)
      ctx.db:exec(string.format("CREATE INDEX items_embedding ON vector.items USING hnsw (embedding %s) " ..
        "WITH (m = %d, ef_construction = %d)", ops, opt.hnsw_m, opt.hnsw_ef_construction))
    elseif opt.index == "ivfflat" then
      local lists = opt.ivfflat_lists or math.max(10, math.floor(rows / 1000))
      ctx:log("vector: IVFFlat index (lists=%d)", lists)
      ctx.db:exec(string.format("CREATE INDEX items_embedding ON vector.items USING ivfflat (embedding %s) " ..
        "WITH (lists = %d)", ops, lists))
    end
    ctx.db:exec("VACUUM ANALYZE vector.items")
  end,

  cleanup = function(ctx)
    local comment = ctx.db:value([[SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace
      WHERE nspname = 'vector']])
    ctx.db:exec("DROP SCHEMA IF EXISTS vector CASCADE")
    if comment and comment:match("created_extension=1") then
      -- Only if nothing else uses it by now.
      local ok = pcall(ctx.db.exec, ctx.db, "DROP EXTENSION IF EXISTS vector")
      if not ok then ctx:log("vector: the extension vector is in use elsewhere; left installed") end
    end
  end,

  -- Recall@k of the index: for a sample of queries, the share of the exact
  -- k nearest neighbours that the index returned.
  check = function(ctx)
    local opt = ctx.opt
    if not ctx.db:value("SELECT to_regclass('vector.items') IS NOT NULL") then
      error("vector check: no table vector.items (run stormdb setup vector first)", 0)
    end
    local stmt = statements(opt).search
    local found, wanted = 0, 0
    for _ = 1, opt.recall_queries do
      local vec = embedding(ctx.rand, opt.dims, opt.spread)
      local approx = search(ctx.db, opt, stmt, vec, false)
      local exact = search(ctx.db, opt, stmt, vec, true)
      local hit = {}
      for _, id in ipairs(approx) do hit[id] = true end
      for _, id in ipairs(exact) do
        if hit[id] then found = found + 1 end
      end
      wanted = wanted + #exact
    end
    local recall = wanted > 0 and found / wanted or 1
    ctx:log("vector: recall@%d = %.4f over %d queries (index %s)", opt.k, recall, opt.recall_queries, opt.index)
    if recall < opt.min_recall then
      error(string.format("vector check: recall@%d is %.4f, below --min-recall=%.2f", opt.k, recall,
        opt.min_recall), 0)
    end
  end,

  init = function(w)
    if not w.db:value("SELECT to_regclass('vector.items') IS NOT NULL") then
      error("vector: no table vector.items (run stormdb setup vector first; it needs the pgvector extension)", 0)
    end
    S = S or statements(w.opt)
    w.tuning = tuning(w.opt)
  end,

  transactions = {
    {
      name = "search",
      weight = function(opt) return 100 - opt.insert_percent end,
      run = function(w)
        local vec = embedding(w.rand, w.opt.dims, w.opt.spread)
        if #w.tuning > 0 then
          w.db:exec("BEGIN")
          for _, s in ipairs(w.tuning) do w.db:exec(s) end
          w.db:query(S.search, vec, w.opt.k)
          w.db:exec("COMMIT")
        else
          w.db:query(S.search, vec, w.opt.k)
        end
      end,
    },
    {
      name = "insert",
      weight = function(opt) return opt.insert_percent end,
      run = function(w)
        w.db:exec(S.insert, w.rand:uniform(1, 100), embedding(w.rand, w.opt.dims, w.opt.spread))
      end,
    },
  },
}
