/*
 * The bottleneck classification from Lua, and the parts of the observation
 * that need no server: stormdb.analysis.bottleneck (tables in, tables out,
 * type errors raise), stormdb.conninfo (reading and amending a conninfo in
 * every form libpq takes), and stormdb.observe's evidence, baseline and
 * offline study classification built from saved bands.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <lauxlib.h>
#include <lua.h>

#include "runtime/lua_engine.h"
#include "runtime/lua_env.h"
#include "runtime/lua_server.h"

/* Runs a chunk in a controller-like state (stormdb.engine and stormdb.pg
 * preloaded); the chunk asserts, and returns nothing or an error. */
static void lua_check(const char *code)
{
    lua_State *L = luaenv_new(NULL);
    assert_non_null(L);
    luaenv_preload(L, "stormdb.engine", luaopen_stormdb_engine);
    luaenv_preload(L, "stormdb.pg", luaopen_stormdb_pg);
    if (luaL_loadstring(L, code) != 0 || luaenv_pcall(L, 0, 0) != 0) {
        print_error("Lua: %s\n", lua_tostring(L, -1));
        lua_close(L);
        fail();
    }
    lua_close(L);
}

static void lua_binding(void **state)
{
    (void)state;
    lua_check(
        "local a = require 'stormdb.analysis'\n"
        "local function finite(t, path)\n"
        "  for k, v in pairs(t) do\n"
        "    if type(v) == 'number' then assert(v == v and v ~= math.huge and v ~= -math.huge, path .. '.' .. k)\n"
        "    elseif type(v) == 'table' then finite(v, path .. '.' .. k) end\n"
        "  end\n"
        "end\n"
        "local lock = { workers = 8, connections = 8, threads = 2, cores = 2, seconds = 3, tps = 5000,\n"
        "  qps = 15000, latency_ms = 1.6, pool_wait_ms = 0, region = 'saturation', rtt_ms = 0.1,\n"
        "  activity = { rounds = 30, backends = 240, active = 200, cpu = 20, lock = 170, lwlock = 10,\n"
        "    events = { { name = 'Lock:tuple', samples = 30 }, { name = 'Lock:transactionid', samples = 140 } } },\n"
        "  database = { blks_hit = 1e6, blks_read = 5, xact_commit = 15000 },\n"
        "  host = { cpu_busy = 0.5, iowait = 0, mem_available = 0.5 }, client = { cpu = 0.1 },\n"
        "  settings = { shared_buffers_bytes = 134217728 } }\n"
        "local b = a.bottleneck(lock)\n"
        "assert(b.status == 'ok' and b.type == 'lock_contention', b.message)\n"
        "assert(b.confidence > 0.5 and b.confidence <= 1)\n"
        "assert(b.scores.lock_contention > 0.5 and b.scores.cpu_bound)\n"
        "assert(b.reasons[1]:find('Lock:transactionid', 1, true), b.reasons[1])\n"
        "assert(b.recommendations[1].action == 'reduce_lock_contention')\n"
        "assert(b.metrics.lock_share and b.metrics.hit_ratio and b.metrics.rtt_ms == 0.1)\n"
        "assert(b.metrics.p_wait == nil, 'no pool figures with workers = connections')\n"
        "assert(getmetatable(b.reasons) == a.array_mt)\n"
        "finite(b, 'b')\n"
        /* a previous band and the array (merged) form */
        "lock.previous = { workers = 4, connections = 4, tps = 4000, seconds = 3, latency_ms = 1 }\n"
        "assert(a.bottleneck(lock).type == 'lock_contention')\n"
        "lock.previous = nil\n"
        "local m = a.bottleneck({ lock, lock })\n"
        "assert(m.type == 'lock_contention' and math.abs(m.confidence - b.confidence) < 0.05)\n"
        /* empty evidence: none, no_data, finite confidence */
        "local e = a.bottleneck({})\n"
        "assert(e.type == 'none' and e.status == 'no_data' and e.confidence == 0)\n"
        "finite(e, 'e')\n"
        /* a wrong value is data */
        "local bad = a.bottleneck({ tps = 0/0, workers = 1 })\n"
        "assert(bad.status == 'invalid_input' and bad.type == 'none' and bad.confidence == 0 and not bad.scores)\n"
        /* wrong types and unknown fields raise, naming them */
        "local function raises(t, text)\n"
        "  local ok, err = pcall(a.bottleneck, t)\n"
        "  assert(not ok and err:find(text, 1, true), tostring(err))\n"
        "end\n"
        "raises({ tps = 'x' }, 'tps must be a number')\n"
        "raises({ nope = 1 }, \"unknown field 'nope'\")\n"
        "raises({ activity = { waits = 1 } }, \"activity: unknown field 'waits'\")\n"
        "raises({ host = 3 }, 'host must be a table')\n"
        "raises({ region = 'steep' }, 'region must be')\n"
        "raises({ workers = 1.5 }, 'workers must be a whole number')\n"
        "raises({ previous = { previous = {} } }, 'cannot have a previous band')\n"
        "raises({ { tps = 'x' } }, 'band 1: tps must be a number')\n"
        "assert(a.wait_class('LWLock') == 'lwlock' and a.wait_class(nil) == 'cpu' and a.wait_class('') == 'cpu')\n"
        "assert(a.BOTTLENECK_MIN_SCORE == 0.3)\n");
}

static void conninfo(void **state)
{
    (void)state;
    lua_check(
        "local c = require 'stormdb.conninfo'\n"
        "local p = c.params(\"host=/tmp/x port=5432 dbname='my db' application_name=app\")\n"
        "assert(p.host == '/tmp/x' and p.dbname == 'my db' and p.application_name == 'app')\n"
        "p = c.params('postgresql://u:pw@db1:5433,[::1]:5434/app?application_name=web&sslmode=require')\n"
        "assert(p.host == 'db1,::1' and p.dbname == 'app' and p.application_name == 'web', p.host)\n"
        "assert(c.params('mydb').dbname == 'mydb')\n"
        "assert(next(c.params('')) == nil)\n"
        /* another application_name, whatever the form */
        "local function w(dsn) return c.with_application_name(dsn, 'stormdb-observer') end\n"
        "assert(w('') == \"application_name='stormdb-observer'\")\n"
        "assert(w('host=/tmp dbname=x') == \"host=/tmp dbname=x application_name='stormdb-observer'\")\n"
        "assert(w(\"it's\") == \"dbname='it\\\\'s' application_name='stormdb-observer'\")\n"
        "assert(w('postgresql:///x') == 'postgresql:///x?application_name=stormdb-observer')\n"
        "assert(w('postgresql://h/x?application_name=a&sslmode=disable') ==\n"
        "  'postgresql://h/x?sslmode=disable&application_name=stormdb-observer')\n"
        "assert(c.application_name('host=/tmp') == (os.getenv('PGAPPNAME') or 'stormdb'))\n"
        "assert(c.application_name('application_name=mine') == 'mine')\n"
        /* this host: Unix sockets and loopback */
        "assert(c.is_local('host=/var/run/postgresql'))\n"
        "assert(c.is_local('host=localhost') and c.is_local('hostaddr=127.0.0.1'))\n"
        "assert(c.is_local('postgresql://[::1]/x'))\n"
        "assert(not c.is_local('host=db1') and not c.is_local('host=/tmp,db2'))\n");
}

static void evidence_and_baseline(void **state)
{
    (void)state;
    lua_check(
        "local o = require 'stormdb.observe'\n"
        /* evidence from a band: groups present only when observed */
        "local band = { workers = 64, connections = 2, threads = 2, duration_seconds = 3,\n"
        "  performance = { tps = 2000, qps = 2000, avg_latency_ms = 1, pool_wait_avg_ms = 31 },\n"
        "  server = { observed = true, rtt = { median_ms = 0.2 }, client = { cpu = 0.1, cores = 2 },\n"
        "    database = { blks_hit = 10, blks_read = 0, xact_commit = 6000, tup_returned = 5 },\n"
        "    activity = { samples = { rounds = 30, backends = 60, active = 10, cpu = 10, io = 0, lock = 0,\n"
        "      lwlock = 0, ipc = 0, client = 0, other = 0, events = {} } } } }\n"
        "local e = o.evidence(band, { region = 'linear', settings = { shared_buffers_bytes = 1 } })\n"
        "assert(e.workers == 64 and e.latency_ms == 1 and e.pool_wait_ms == 31 and e.region == 'linear')\n"
        "assert(e.cores == 2 and e.rtt_ms == 0.2 and e.database.xact_commit == 6000 and not e.host)\n"
        "local b = require('stormdb.analysis').bottleneck(e)\n"
        "assert(b.type == 'connection_pool', b.message)\n"
        /* the baseline for trends: most workers below the band's own */
        "local b1, b2, b3 = { workers = 4, server = { observed = true } }, { workers = 16, server = { observed = true } },\n"
        "  { workers = 8, server = { observed = true } }\n"
        "assert(o.previous_of(b2, { b1, b2, b3 }) == b3 and o.previous_of(b3, { b1, b2, b3 }) == b1)\n"
        "assert(o.previous_of(b1, { b1, b2, b3 }) == nil)\n");
}

/* A study of saved bands, classified offline: the bands past the knee are
 * merged, the band below them is the baseline, regions come from the
 * analysis, and the output is finite. */
static void study_offline(void **state)
{
    (void)state;
    lua_check(
        "local o = require 'stormdb.observe'\n"
        "local function band(n, workers, lock, cpu, lw)\n"
        "  return { band_number = n, workers = workers, connections = workers, threads = 2, status = 'complete',\n"
        "    duration_seconds = 10, performance = { tps = 1000 * n, qps = 1000 * n, avg_latency_ms = workers / n,\n"
        "      pool_wait_avg_ms = 0 },\n"
        "    server = { observed = true, rtt = { median_ms = 0.05 },\n"
        "      database = { blks_hit = 1e6, blks_read = 1, xact_commit = 10000 * n },\n"
        "      host = { cpu_busy = 0.4, iowait = 0, steal = 0, mem_available = 0.5, cores = 2 },\n"
        "      client = { cpu = 0.05, cores = 2 },\n"
        "      activity = { samples = { rounds = 100, backends = 100 * workers, active = lock + cpu + lw, cpu = cpu,\n"
        "        io = 0, lock = lock, lwlock = lw, ipc = 0, client = 0, other = 0,\n"
        "        events = { { name = 'Lock:transactionid', samples = lock }, { name = 'LWLock:ProcArray', samples = lw } } } } } }\n"
        "end\n"
        "local bands = { band(1, 2, 0, 100, 0), band(2, 8, 300, 100, 10), band(3, 16, 1200, 100, 20),\n"
        "  band(4, 32, 2600, 100, 200) }\n"
        "local analysis = { bands = { { workers = 2, region = 'baseline' }, { workers = 8, region = 'linear' },\n"
        "  { workers = 16, region = 'saturation' }, { workers = 32, region = 'degradation' } },\n"
        "  mathematical_models = { models = { usl = { peak_status = 'ok', peak_workers = 14 } } } }\n"
        "local obs = o.offline({ shared_buffers_bytes = 134217728 })\n"
        "local s = obs:study(bands, analysis)\n"
        "assert(s.primary_bottleneck == 'lock_contention', s.primary_bottleneck)\n"
        "assert(#s.bands == 2 and s.bands[1] == 3 and s.bands[2] == 4)\n"
        "assert(s.basis:find('past the knee', 1, true))\n"
        "assert(s.confidence > 0 and s.confidence <= 1)\n"
        "assert(#s.per_band == 4 and s.per_band[1].type == 'none' and s.per_band[4].region == 'degradation')\n"
        "assert(bands[4].bottleneck_type == bands[4].server.bottleneck.type)\n"
        "assert(s.utilization_metrics.lock_share > 0.5)\n"
        "assert(s.recommendations[1].action == 'reduce_lock_contention')\n"
        "for _, f in ipairs(s.secondary_factors) do assert(f.type ~= s.primary_bottleneck and f.score) end\n"
        "local cjson = require 'cjson'\n"
        "cjson.encode_invalid_numbers(false)\n"
        "local text = require('stormdb.resultfile').encode({ bands = bands, bottleneck_analysis = s })\n"
        "assert(not text:find('nan') and not text:find('inf'))\n"
        /* nothing observed: none, confidence 0 */
        "local e = o.offline():study({ { workers = 1 } }, nil)\n"
        "assert(e.primary_bottleneck == 'none' and e.confidence == 0 and e.basis == 'no band was observed')\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lua_binding),
        cmocka_unit_test(conninfo),
        cmocka_unit_test(evidence_and_baseline),
        cmocka_unit_test(study_offline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
