/*
 * Every bundled strategy's band list, in both dialects, with the examples
 * docs/strategies.md promises (10..60 in 6 bands: linear 10,20,...,60,
 * exponential 10,14,20,29,42,60; fibonacci 10..68 in 5 bands 10,16,26,42,68;
 * step fibonacci 1..89), the pairing of lists of different lengths, the
 * grid, the adaptive stop and refinement, and the example strategy of
 * docs/strategies.md itself. The strategies are the embedded Lua, run in a
 * state made exactly as stormdb makes its own (luaenv_new).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/lua_env.h"

/* Helpers in Lua: plan(name, study) -> "w/c w/c ...", or "error: ...". */
static const char HELPERS[] =
    "progressive = require 'stormdb.progressive'\n"
    "function fmt(bands)\n"
    "  local t = {}\n"
    "  for i, b in ipairs(bands) do t[i] = b.workers .. '/' .. b.connections end\n"
    "  return table.concat(t, ' ')\n"
    "end\n"
    "function plan(name, study)\n"
    "  local mod, err = progressive.load_strategy(name)\n"
    "  if not mod then return 'error: ' .. err end\n"
    "  local p, perr = progressive.plan(mod, name, study)\n"
    "  if not p then return 'error: ' .. perr end\n"
    "  return fmt(p)\n"
    "end\n"
    "function workers(name, study)\n"
    "  local mod = assert(progressive.load_strategy(name))\n"
    "  local p, err = progressive.plan(mod, name, study)\n"
    "  if not p then return 'error: ' .. err end\n"
    "  local t = {}\n"
    "  for i, b in ipairs(p) do t[i] = b.workers end\n"
    "  return table.concat(t, ',')\n"
    "end\n"
    /* a measured band: workers, tps, noise */
    "function band(w, tps, noise)\n"
    "  return { workers = w, connections = w, status = 'complete', performance = { tps = tps },\n"
    "           analysis = { tps_ci_rel = noise } }\n"
    "end\n";

static int setup(void **state)
{
    lua_State *L = luaenv_new(NULL);
    assert_non_null(L);
    if (luaL_dostring(L, HELPERS) != 0)
        fail_msg("helpers: %s", lua_tostring(L, -1));
    *state = L;
    return 0;
}

static int teardown(void **state)
{
    lua_close(*state);
    return 0;
}

/* Evaluates a Lua expression that yields a string. */
static void expect(lua_State *L, const char *expr, const char *want)
{
    char code[4096];
    snprintf(code, sizeof code, "return %s", expr);
    if (luaL_dostring(L, code) != 0)
        fail_msg("%s: %s", expr, lua_tostring(L, -1));
    const char *got = lua_tostring(L, -1);
    if (!got || strcmp(got, want) != 0)
        fail_msg("%s\n  expected: %s\n  got:      %s", expr, want, got ? got : "(not a string)");
    lua_pop(L, 1);
}

#define DUR(extra) "{ dialect = 'duration', " extra " }"
#define STEP(extra) "{ dialect = 'step', " extra " }"

static void test_duration_dialect(void **state)
{
    lua_State *L = *state;
    expect(L, "workers('linear', " DUR("min_workers = 10, max_workers = 60, bands = 6") ")", "10,20,30,40,50,60");
    expect(L, "workers('exponential', " DUR("min_workers = 10, max_workers = 60, bands = 6") ")",
           "10,14,20,29,42,60");
    expect(L, "workers('fibonacci', " DUR("min_workers = 10, max_workers = 68, bands = 5") ")", "10,16,26,42,68");
    /* the other column of the table in docs/strategies.md */
    expect(L, "workers('linear', " DUR("min_workers = 10, max_workers = 68, bands = 5") ")", "10,25,39,54,68");
    expect(L, "workers('exponential', " DUR("min_workers = 10, max_workers = 68, bands = 5") ")", "10,16,26,42,68");
    /* endpoints exact, whatever the rounding in between */
    expect(L, "workers('exponential', " DUR("min_workers = 1, max_workers = 16, bands = 4") ")", "1,3,6,16");
    expect(L, "workers('fibonacci', " DUR("min_workers = 10, max_workers = 60, bands = 6") ")",
           "10,13,18,26,39,60");
    expect(L, "workers('linear', " DUR("min_workers = 4, max_workers = 128, bands = 2") ")", "4,128");
    /* duplicates after rounding are removed */
    expect(L, "workers('linear', " DUR("min_workers = 1, max_workers = 3, bands = 6") ")", "1,2,3");
    expect(L, "workers('exponential', " DUR("min_workers = 1, max_workers = 4, bands = 10") ")", "1,2,3,4");
    /* one band: the top of the range; min = max: one band */
    expect(L, "workers('linear', " DUR("min_workers = 10, max_workers = 60, bands = 1") ")", "60");
    expect(L, "workers('exponential', " DUR("min_workers = 8, max_workers = 8, bands = 5") ")", "8");
    /* connections follow workers when there is no connection range */
    expect(L, "plan('linear', " DUR("min_workers = 10, max_workers = 30, bands = 3") ")", "10/10 20/20 30/30");
    /* connections have their own range, computed the same way */
    expect(L, "plan('linear', " DUR("min_workers = 10, max_workers = 60, min_connections = 20, max_connections = 120, bands = 6") ")",
           "10/20 20/40 30/60 40/80 50/100 60/120");
    expect(L, "plan('exponential', " DUR("min_workers = 10, max_workers = 60, min_connections = 5, max_connections = 5, bands = 6") ")",
           "10/5 14/5 20/5 29/5 42/5 60/5");
}

static void test_step_dialect(void **state)
{
    lua_State *L = *state;
    expect(L, "workers('linear', " STEP("min_workers = 10, max_workers = 50, step_workers = 10") ")",
           "10,20,30,40,50");
    /* max is the last band even when the steps miss it */
    expect(L, "workers('linear', " STEP("min_workers = 10, max_workers = 50, step_workers = 15") ")", "10,25,40,50");
    expect(L, "workers('exponential', " STEP("min_workers = 1, max_workers = 128, step_workers = 1") ")",
           "1,2,4,8,16,32,64,128");
    expect(L, "workers('exponential', " STEP("min_workers = 3, max_workers = 100, step_workers = 1") ")",
           "3,6,12,24,48,96,100");
    expect(L, "workers('fibonacci', " STEP("min_workers = 1, max_workers = 89, step_workers = 1") ")",
           "1,2,3,5,8,13,21,34,55,89");
    expect(L, "workers('fibonacci', " STEP("min_workers = 4, max_workers = 40, step_workers = 1") ")",
           "5,8,13,21,34");
    expect(L, "workers('fibonacci', " STEP("min_workers = 6, max_workers = 7, step_workers = 1") ")",
           "error: strategy fibonacci failed: no Fibonacci number lies between 6 and 7");
    expect(L, "plan('linear', " STEP("min_workers = 10, max_workers = 30, step_workers = 10, min_connections = 20, max_connections = 60, step_connections = 20") ")",
           "10/20 20/40 30/60");
    /* the adaptive plan, before anything is measured, is the exponential list */
    expect(L, "workers('adaptive', " STEP("min_workers = 2, max_workers = 20, step_workers = 1") ")", "2,4,8,16,20");
}

static void test_pairing_and_grid(void **state)
{
    lua_State *L = *state;
    /* 3 worker counts, 6 connection counts: proportional index */
    expect(L, "fmt(progressive.pair({1, 2, 3}, {10, 20, 30, 40, 50, 60}))", "1/10 1/20 2/30 2/40 3/50 3/60");
    expect(L, "fmt(progressive.pair({1, 2, 3, 4, 5}, {8, 16}))", "1/8 2/8 3/16 4/16 5/16");
    expect(L, "fmt(progressive.pair({7}, {8, 16}))", "7/8 7/16");
    expect(L, "plan('linear', " DUR("min_workers = 1, max_workers = 3, min_connections = 10, max_connections = 60, bands = 6") ")",
           "1/10 1/20 2/30 2/40 3/50 3/60");
    expect(L, "plan('linear', " DUR("min_workers = 1, max_workers = 4, min_connections = 2, max_connections = 8, bands = 2, grid = true") ")",
           "1/2 1/8 4/2 4/8");
    expect(L, "plan('exponential', " STEP("min_workers = 1, max_workers = 4, step_workers = 1, min_connections = 2, max_connections = 4, step_connections = 1, grid = true") ")",
           "1/2 1/4 2/2 2/4 4/2 4/4");
}

static void test_degradation(void **state)
{
    lua_State *L = *state;
    /* two drops in a row beyond the 5% floor: degrading */
    expect(L, "tostring(progressive.degrading({ band(1, 100), band(2, 190), band(4, 170), band(8, 150) }))", "true");
    /* one drop only */
    expect(L, "tostring(progressive.degrading({ band(1, 100), band(2, 190), band(4, 170), band(8, 171) }))", "false");
    /* drops within noise: 3% each, under the 5% floor */
    expect(L, "tostring(progressive.degrading({ band(1, 100), band(2, 100), band(4, 97), band(8, 94.1) }))", "false");
    /* 8% drops, but the bands' own noise is 5% each: 10% tolerance */
    expect(L, "tostring(progressive.degrading({ band(1, 100, .05), band(2, 92, .05), band(4, 84.6, .05) }))",
           "false");
    expect(L, "tostring(progressive.degrading({ band(1, 100, .01), band(2, 92, .01), band(4, 84.6, .01) }))", "true");
    /* failed bands do not count: the comparison is between complete bands */
    expect(L, "tostring(progressive.degrading({ band(1, 100), { workers = 2, connections = 2, status = 'failed' },"
              " band(4, 90), band(8, 80) }))",
           "true");
    expect(L, "select(2, progressive.degrading({ band(1, 100), band(2, 90), band(4, 80) }))",
           "throughput fell twice in a row beyond noise: 1 -> 2 workers -10.0% (noise 5.0%), 2 -> 4 workers -11.1% "
           "(noise 5.0%)");
    expect(L, "progressive.rating(0.9) .. ' ' .. progressive.rating(0.6) .. ' ' .. progressive.rating(0.4) .. ' ' .."
              " progressive.rating(0) .. ' ' .. progressive.rating(-0.2)",
           "excellent good diminishing saturation degradation");
}

static void test_adaptive(void **state)
{
    lua_State *L = *state;
    if (luaL_dostring(L, "adaptive = assert(progressive.load_strategy('adaptive'))\n"
                         "study = { dialect = 'duration', min_workers = 1, max_workers = 64, bands = 7 }\n"
                         "function nxt(h) local b = adaptive.next(study, h)\n"
                         "  return b and (b.workers .. '/' .. b.connections .. (b.refinement and ' refine' or ''))"
                         " or 'stop' end") != 0)
        fail_msg("%s", lua_tostring(L, -1));
    expect(L, "workers('adaptive', study)", "1,2,4,8,16,32,64");
    expect(L, "nxt({ band(1, 100), band(2, 200) })", "4/4");
    /* peak at 8, then two drops beyond noise: refine between 8 and the better neighbour (16) */
    expect(L, "nxt({ band(1, 100), band(2, 200), band(4, 390), band(8, 700), band(16, 600), band(32, 400) })",
           "12/12 refine");
    /* after the refinement band: stop */
    expect(L, "nxt({ band(1, 100), band(2, 200), band(4, 390), band(8, 700), band(16, 600), band(32, 400),"
              " { workers = 12, connections = 12, status = 'complete', refinement = true, performance = { tps = 720 } } })",
           "stop");
    /* the better neighbour is the lower one */
    expect(L, "nxt({ band(1, 100), band(2, 200), band(4, 650), band(8, 700), band(16, 500), band(32, 400) })",
           "6/6 refine");
    /* no degradation: the whole list, then no refinement when the best band is the last */
    expect(L, "nxt({ band(1, 100), band(2, 200), band(4, 390), band(8, 700), band(16, 1300), band(32, 2500),"
              " band(64, 4000) })",
           "stop");
    /* neighbours one worker apart: nothing between them */
    expect(L, "tostring(progressive.refinement({ band(1, 100), band(2, 200), band(3, 150), band(4, 100) }))", "nil");
}

/* The knee of a rate study (first rate whose achieved share or p99 crosses
 * the limits), with the default and with configured limits; and a gain's
 * word on configured region thresholds. */
static void test_knee_and_rating(void **state)
{
    lua_State *L = *state;
    if (luaL_dostring(L,
                      "function rated(offered, achieved, p99)\n"
                      "  return { status = 'complete', band_number = offered, rate = { target = offered,\n"
                      "    achieved = achieved }, performance = { p99_latency_ms = p99 } }\n"
                      "end\n"
                      "history = { rated(100, 100, 10), rated(200, 199, 15), rated(300, 290, 25),\n"
                      "            rated(400, 330, 80) }\n"
                      "function knee(limits)\n"
                      "  local r = progressive.rate_analysis(history, limits)\n"
                      "  return r.knee.offered .. ' ' .. r.rule.achieved_ratio .. ' ' .. r.rule.latency_factor\n"
                      "end\n") != 0)
        fail_msg("%s", lua_tostring(L, -1));
    /* 300: p99 25 ms is over twice the 10 ms at the lowest rate */
    expect(L, "knee()", "300 0.95 2");
    /* latency allowed to triple: 300 holds (96.7% achieved), 400 does not keep up */
    expect(L, "knee({ achieved_ratio = 0.95, latency_factor = 3 })", "400 0.95 3");
    /* a stricter share: 200 (99.5%) misses 0.999 */
    expect(L, "knee({ achieved_ratio = 0.999, latency_factor = 3 })", "200 0.999 3");
    expect(L, "progressive.rating(0.6)", "good");
    expect(L, "progressive.rating(0.6, { linear = 0.9, diminishing = 0.5, saturation = 0 })", "diminishing");
    expect(L, "progressive.rating(0.75, { linear = 0.9, diminishing = 0.5, saturation = 0 })", "good");
    expect(L, "progressive.rating(-0.01, { linear = 0.9, diminishing = 0.5, saturation = 0 })", "degradation");
}

static void test_bad_strategies(void **state)
{
    lua_State *L = *state;
    expect(L, "plan('no_such_strategy', {})",
           "error: no strategy named 'no_such_strategy' (stormdb list shows the bundled ones; or give a path to a "
           ".lua file)");
    expect(L, "plan('/no/such/file.lua', {})", "error: cannot open /no/such/file.lua: No such file or directory");
    if (luaL_dostring(L, "package.preload['strategies.broken'] = function() return { next = function() "
                         "return { workers = 0 } end } end\n"
                         "package.preload['strategies.nonext'] = function() return { description = 'x' } end") != 0)
        fail_msg("%s", lua_tostring(L, -1));
    expect(L, "plan('broken', {})",
           "error: strategy broken: next() returned workers=0, connections=nil: expected whole numbers >= 1");
    expect(L, "plan('nonext', {})",
           "error: strategy nonext must return a table with a next(study, history) function");
}

static void test_descriptions(void **state)
{
    lua_State *L = *state;
    const char *names[] = {"linear", "exponential", "fibonacci", "adaptive"};
    for (size_t i = 0; i < 4; i++) {
        char expr[256];
        snprintf(expr, sizeof expr,
                 "(function() local d = require('strategies.%s').description "
                 "return type(d) == 'string' and #d > 10 and not d:find('\\n') and 'ok' or 'bad' end)()",
                 names[i]);
        expect(L, expr, "ok");
    }
}

/* The example in docs/strategies.md, as a user would save it. */
static void test_docs_example(void **state)
{
    lua_State *L = *state;
    char path[1024];
    snprintf(path, sizeof path, "%s/../../docs/strategies.md", TEST_DATA_DIR);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char doc[65536];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[n] = '\0';
    const char *marker = strstr(doc, "<!-- example -->\n```lua\n");
    assert_non_null(marker);
    const char *code = marker + strlen("<!-- example -->\n```lua\n");
    const char *end = strstr(code, "```");
    assert_non_null(end);
    char tmp[] = "/tmp/stormdb-strategy-XXXXXX.lua";
    int fd = mkstemps(tmp, 4);
    assert_true(fd >= 0);
    FILE *out = fdopen(fd, "w");
    fwrite(code, 1, (size_t)(end - code), out);
    fclose(out);
    char expr[2048];
    snprintf(expr, sizeof expr, "plan('%s', { dialect = 'duration', min_workers = 1, max_workers = 48 })", tmp);
    expect(L, expr, "8/8 16/16 24/24 32/32 48/32");
    snprintf(expr, sizeof expr,
             "(function() local m = assert(progressive.load_strategy('%s'))\n"
             "  local h = { band(8, 1000), band(16, 1900) }\n"
             "  h[2].performance.p95_latency_ms = 80\n"
             "  return tostring(m.next({ min_workers = 1, max_workers = 48 }, h)) end)()",
             tmp);
    expect(L, expr, "nil");
    unlink(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_duration_dialect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_step_dialect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pairing_and_grid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_degradation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adaptive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_knee_and_rating, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_strategies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_descriptions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_docs_example, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
