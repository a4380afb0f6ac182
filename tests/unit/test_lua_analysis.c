/*
 * stormdb.analysis from Lua: a state made as the runtime makes it
 * (luaenv_new), the module required by name, and the figures read back from
 * the tables it returns. Exact USL data (sigma = kappa = 0.02, lambda = 1 at
 * N = 1, 2, 4, 6, 8, 10) must come back with its parameters, N* = 7 and
 * regions in order; degenerate input must come back as a status string with
 * no NaN, Inf or zeros standing in for figures that were not computed; type
 * errors must raise; the result must encode as JSON; and the text report
 * must never print nan, inf or nil.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <string.h>

#include "runtime/lua_env.h"

static int setup(void **state)
{
    lua_State *L = luaenv_new(NULL);
    if (!L)
        return -1;
    *state = L;
    return 0;
}

static int teardown(void **state)
{
    lua_close(*state);
    return 0;
}

/* Runs a chunk that returns one value; fails the test with the Lua error. */
static void eval(lua_State *L, const char *code)
{
    if (luaL_loadstring(L, code) != 0 || luaenv_pcall(L, 0, 1) != 0)
        fail_msg("Lua error: %s", lua_tostring(L, -1));
}

/* The number at t[path...] for the table on top (NULL-terminated keys);
 * NAN when absent or not a number. Leaves the stack as it was. */
static double number_at(lua_State *L, ...)
{
    va_list ap;
    va_start(ap, L);
    int top = lua_gettop(L);
    lua_pushvalue(L, -1);
    const char *key;
    while ((key = va_arg(ap, const char *)) != NULL) {
        if (!lua_istable(L, -1)) {
            lua_settop(L, top);
            va_end(ap);
            return NAN;
        }
        if (key[0] == '#')
            lua_rawgeti(L, -1, key[1] - '0');
        else
            lua_getfield(L, -1, key);
        lua_remove(L, -2);
    }
    va_end(ap);
    double x = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : NAN;
    lua_settop(L, top);
    return x;
}

static const char *string_at(lua_State *L, const char *a, const char *b)
{
    static char buf[256];
    int top = lua_gettop(L);
    lua_getfield(L, -1, a);
    if (b && lua_istable(L, -1))
        lua_getfield(L, -1, b);
    const char *s = lua_tostring(L, -1);
    snprintf(buf, sizeof buf, "%s", s ? s : "(nil)");
    lua_settop(L, top);
    return buf;
}

#define assert_close(x, want, tol)                                                                   \
    do {                                                                                             \
        double x_ = (x), w_ = (want);                                                                \
        if (!(fabs(x_ - w_) <= (tol)))                                                               \
            fail_msg("%s = %.12g, expected %.12g (tolerance %g)", #x, x_, w_, (double)(tol));        \
    } while (0)

#define USL_BANDS                                                                                    \
    "local bands = {}\n"                                                                             \
    "for _, n in ipairs{1, 2, 4, 6, 8, 10} do\n"                                                     \
    "  local x = n / (1 + 0.02 * (n - 1) + 0.02 * n * (n - 1))\n"                                    \
    "  bands[#bands + 1] = {workers = n, connections = n, seconds = 60, tps = x, count = x * 60,\n"  \
    "    latency_mean_ms = 1000 * n / x, latency_sd_ms = 100, p95_ms = 1500 * n / x}\n"             \
    "end\n"

static void exact_usl_is_recovered(void **state)
{
    lua_State *L = *state;
    eval(L, USL_BANDS "return require('stormdb.analysis').run(bands)");
    assert_true(lua_istable(L, -1));
    assert_string_equal(string_at(L, "status", NULL), "ok");
    assert_string_equal(string_at(L, "mathematical_models", "best_fit"), "usl");
    assert_string_equal(string_at(L, "mathematical_models", "status"), "ok");

    /* sigma and kappa to 3 significant figures as the C fit promises (exact
     * data: in practice far better), N* = sqrt(0.98 / 0.02) = 7 */
    assert_close(number_at(L, "mathematical_models", "models", "usl", "sigma", NULL), 0.02, 2e-5);
    assert_close(number_at(L, "mathematical_models", "models", "usl", "kappa", NULL), 0.02, 2e-5);
    assert_close(number_at(L, "mathematical_models", "models", "usl", "lambda", NULL), 1.0, 1e-6);
    assert_close(number_at(L, "mathematical_models", "models", "usl", "peak_workers", NULL), 7.0, 1e-6);
    assert_close(number_at(L, "mathematical_models", "models", "usl", "peak_tps", NULL), 7.0 / 1.96, 1e-9);
    assert_close(number_at(L, "mathematical_models", "models", "usl", "r_squared", NULL), 1.0, 1e-9);
    assert_close(number_at(L, "mathematical_models", "predicted_peak_workers", NULL), 7.0, 1e-6);
    assert_close(number_at(L, "mathematical_models", "r_squared", NULL), 1.0, 1e-9);
    /* intervals are [low, high] arrays around the value */
    double lo = number_at(L, "mathematical_models", "models", "usl", "sigma_ci", "#1", NULL);
    double hi = number_at(L, "mathematical_models", "models", "usl", "sigma_ci", "#2", NULL);
    assert_true(lo <= 0.02 + 1e-9 && hi >= 0.02 - 1e-9 && hi - lo < 1e-6);
    /* saturation: the smallest whole N with X(N) >= 95% of X(7) = 3.393; X(5) = 3.378, X(6) = 3.529 */
    assert_close(number_at(L, "mathematical_models", "saturation_workers", NULL), 6.0, 0);

    /* the measured optimum is the 8-worker band (X(8) = 3.5398 > X(6) = 3.5294), band 5 counting from 1 */
    assert_close(number_at(L, "optimal_configuration", "workers", NULL), 8, 0);
    assert_close(number_at(L, "optimal_configuration", "band", NULL), 5, 0);
    assert_close(number_at(L, "optimal_configuration", "tps", NULL), 8.0 / 2.26, 1e-12);

    /* regions: baseline, linear, diminishing, saturation x2, degradation */
    eval(L, USL_BANDS
         "local r = require('stormdb.analysis').run(bands)\n"
         "local got = {}\n"
         "for i, b in ipairs(r.bands) do got[i] = b.region end\n"
         "return table.concat(got, ' ') .. '|' .. table.concat(r.scaling_regions.saturation.bands, ',')\n"
         "  .. '|' .. table.concat(r.scaling_regions.degradation.bands, ',')");
    assert_string_equal(lua_tostring(L, -1),
                        "baseline linear diminishing saturation saturation degradation|6,8|10");
    lua_pop(L, 2);
}

/* lambda = 1 at N = 1, 2, 4, 6, 8, 10 through the standalone helpers too. */
static void helpers(void **state)
{
    lua_State *L = *state;
    eval(L, "local a = require 'stormdb.analysis'\n"
            "local w, x = {}, {}\n"
            "for i, n in ipairs{1, 2, 4, 6, 8, 10} do w[i] = n; x[i] = n / (1 + 0.02 * (n - 1) + 0.02 * n * (n - 1)) end\n"
            "local u = a.usl_fit(w, x)\n"
            "assert(u.status == 'ok' and u.model == 'usl', u.message)\n"
            "assert(math.abs(u.peak_workers - 7) < 1e-6, 'N* ' .. tostring(u.peak_workers))\n"
            "assert(math.abs(a.usl_predict(u, 7) - 7 / 1.96) < 1e-9)\n"
            "assert(a.fit('usl', w, x).peak_workers == u.peak_workers)\n"
            "local m = a.models_fit(w, x)\n"
            "assert(m.best_fit == 'usl' and m.models.linear.status == 'ok' and m.models.linear.a_ci[2] > m.models.linear.a_ci[1])\n"
            "local lin = a.fit('linear', {1, 2, 3}, {10, 20, 30})\n"
            "assert(math.abs(lin.a - 10) < 1e-9 and math.abs(lin.b) < 1e-9, 'linear fit')\n"
            "-- Erlang C textbook values: c = 2, rho = 0.5 -> 1/3; c = 1, rho = 0.5 -> 0.5\n"
            "local e = a.erlang_c(2, 1)\n"
            "assert(e.status == 'ok' and math.abs(e.p_wait - 1 / 3) < 1e-12 and e.utilisation == 0.5)\n"
            "e = a.erlang_c(0.5, 1, 1)   -- lambda, mu, c: W_q = C / (c mu - lambda) = 0.5 / 0.5\n"
            "assert(math.abs(e.p_wait - 0.5) < 1e-12 and math.abs(e.mean_wait - 1) < 1e-12)\n"
            "e = a.erlang_c(2, 3)\n"
            "assert(e.status == 'unstable' and e.p_wait == 1 and e.mean_wait == nil)\n"
            "e = a.erlang_c(0, 1)\n"
            "assert(e.status == 'invalid_input' and e.p_wait == nil)\n"
            "assert(math.abs(a.erlang_b(1, 1) - 0.5) < 1e-12)\n"
            "local l = a.little(1000, 8, 10)   -- 1000 TPS x 8 ms = 8 in the system, of 10 workers\n"
            "assert(math.abs(l.littles_workers - 8) < 1e-12 and math.abs(l.littles_ratio - 0.8) < 1e-12)\n"
            "local q = a.queueing{workers = 4, connections = 2, tps = 100, latency_mean_ms = 10, count = 100}\n"
            "assert(q.status == 'ok' and math.abs(q.offered_load - 1) < 1e-12 and math.abs(q.p_wait - 1 / 3) < 1e-12)\n"
            "local d = a.describe{workers = 1, tps = 10, count = 0}\n"
            "assert(d.status == 'no_data' and d.latency_mean_ms == nil and d.tps == 10)\n"
            "assert(a.status_text('no_peak'):find('peak'))\n"
            "assert(a.status_text('nonsense') == nil and a.MAX_BANDS == 512)\n"
            "return true");
    assert_true(lua_toboolean(L, -1));
    lua_pop(L, 1);
}

/* Walks every value of a result: no NaN or Inf anywhere, statuses are
 * strings, and parts that were not computed are absent rather than 0. */
#define CHECK_FINITE                                                                                 \
    "local function walk(v, path)\n"                                                                 \
    "  if type(v) == 'number' then\n"                                                                \
    "    assert(v == v and v ~= math.huge and v ~= -math.huge, 'not finite at ' .. path)\n"          \
    "  elseif type(v) == 'table' then\n"                                                             \
    "    for k, x in pairs(v) do walk(x, path .. '.' .. tostring(k)) end\n"                          \
    "  end\n"                                                                                        \
    "end\n"

static void degenerate_input(void **state)
{
    lua_State *L = *state;
    eval(L, CHECK_FINITE
         "local a = require 'stormdb.analysis'\n"
         "local text = require 'stormdb.analysis_text'\n"
         "local cjson = require 'cjson'\n"
         "cjson.encode_invalid_numbers(false)\n"
         "local nan, inf = 0 / 0, math.huge\n"
         "local cases = {\n"
         "  { {}, 'too_few_points' },\n"
         "  { {{workers = 4, tps = 100}}, 'too_few_points' },\n"
         "  { {{workers = 1, tps = 100}, {workers = 2, tps = 150}}, 'too_few_points' },\n"
         "  { {{workers = 1, tps = 100}, {workers = 2, tps = 100}, {workers = 4, tps = 100}, {workers = 8, tps = 100}}, 'no_variation' },\n"
         "  { {{workers = 1, tps = 0}, {workers = 2, tps = 0}, {workers = 4, tps = 0}}, 'no_variation' },\n"
         "  { {{workers = 1, tps = nan}, {workers = 2, tps = 10}}, 'invalid_input' },\n"
         "  { {{workers = 1, tps = 10}, {workers = 2, tps = inf}}, 'invalid_input' },\n"
         "  { {{workers = 1, tps = -1}}, 'invalid_input' },\n"
         "  { {{workers = 0, tps = 1}}, 'invalid_input' },\n"
         "  { {{workers = 1, tps = 1, seconds = 0}}, 'invalid_input' },\n"
         "  { {{workers = 1, tps = 1, latency_mean_ms = nan, count = 5}}, 'invalid_input' },\n"
         "  { {{workers = 1, tps = 0}, {workers = 2, tps = 10}, {workers = 4, tps = 30}, {workers = 8, tps = 20}}, 'ok' },\n"
         "  { {{workers = 1, tps = 1e-300}, {workers = 2, tps = 1e300}, {workers = 3, tps = 1e-300}, {workers = 4, tps = 1e300}}, nil },\n"
         "  { {{workers = 2, tps = 5}, {workers = 2, tps = 7}, {workers = 2, tps = 6}}, 'too_few_points' },\n"
         "}\n"
         "local many = {}\n"
         "for i = 1, 513 do many[i] = {workers = i, tps = i} end\n"
         "cases[#cases + 1] = { many, 'too_many_bands' }\n"
         "for i, c in ipairs(cases) do\n"
         "  local r = a.run(c[1], {slo_p95_ms = 10, target_tps = 50, max_latency_ms = 5, latency_kind = 'p95'})\n"
         "  assert(type(r.status) == 'string' and type(r.message) == 'string', 'case ' .. i)\n"
         "  assert(c[2] == nil or r.status == c[2], 'case ' .. i .. ': ' .. r.status .. ' ' .. r.message)\n"
         "  walk(r, 'case ' .. i)\n"
         "  assert(cjson.encode(r))\n"
         "  if r.status == 'invalid_input' or r.status == 'too_many_bands' or #c[1] == 0 then\n"
         "    assert(r.mathematical_models == nil and r.optimal_configuration == nil, 'case ' .. i .. ': parts not computed are absent')\n"
         "  end\n"
         "  if r.mathematical_models and r.mathematical_models.models.usl.status ~= 'ok' then\n"
         "    assert(r.mathematical_models.models.usl.sigma == nil, 'case ' .. i .. ': no numbers for a failed fit')\n"
         "  end\n"
         "  for _, ascii in ipairs{true, false} do\n"
         "    local out = text.render(r, {ascii = ascii})\n"
         "    -- as printf and tostring spell them (the library's messages may say 'tps is NaN' of the input)\n"
         "    for _, bad in ipairs{'nan', 'inf', 'nil'} do\n"
         "      assert(not out:find('%f[%w]' .. bad .. '%f[%W]'), 'case ' .. i .. ': text has ' .. bad .. ':\\n' .. out)\n"
         "    end\n"
         "    if ascii then assert(not out:find('[\\128-\\255]'), 'case ' .. i .. ': ASCII text has other bytes') end\n"
         "  end\n"
         "end\n"
         "-- the first invalid band is named counting from 1, as Lua counts\n"
         "local r = a.run{{workers = 1, tps = 1}, {workers = 2, tps = nan}}\n"
         "assert(r.message == 'band 2: tps is NaN', r.message)\n"
         "assert(r.bands[2].status == 'invalid_input' and r.bands[1].status ~= 'invalid_input')\n"
         "return true");
    assert_true(lua_toboolean(L, -1));
    lua_pop(L, 1);
}

static void errors_raise(void **state)
{
    lua_State *L = *state;
    static const struct {
        const char *code, *message;
    } cases[] = {
        {"a.run{{workers = 1, tps = 'x'}}", "analysis.run: band 1: tps must be a number, not a string"},
        {"a.run{{workers = 1, tps = 1}, {workers = 2.5, tps = 1}}", "band 2: workers must be a whole number"},
        {"a.run{{tps = 1}}", "band 1 has no workers"},
        {"a.run{{workers = 1}}", "band 1 has no tps"},
        {"a.run{{workers = 1, tps = 1, p95 = 3}}", "band 1: unknown field 'p95'"},
        {"a.run{{workers = 1, tps = 1, busy_seconds = 3}}", "busy_seconds but no seconds"},
        {"a.run({}, {slo = 3})", "unknown option 'slo'"},
        {"a.run({}, {target_tps = '5'})", "option target_tps must be a number"},
        {"a.run({}, {latency_kind = 'p99'})", "latency_kind must be \"mean\" or \"p95\""},
        {"a.run({}, {thresholds = {linear = 0.9, flat = 0}})", "unknown threshold 'flat'"},
        {"a.run{7}", "band 1 is a number, not a table"},
        {"a.fit('cubic', {}, {})", "unknown model 'cubic'"},
        {"a.usl_fit({1, 2}, {1})", "workers has 2 values but tps has 1"},
        {"a.usl_fit({1, 'x'}, {1, 2})", "workers[2] must be a number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char code[512];
        snprintf(code, sizeof code,
                 "local a = require 'stormdb.analysis'\n"
                 "local ok, err = pcall(function() return %s end)\n"
                 "return ok and 'no error' or err",
                 cases[i].code);
        eval(L, code);
        const char *err = lua_tostring(L, -1);
        if (!err || !strstr(err, cases[i].message))
            fail_msg("%s: got \"%s\", expected \"%s\"", cases[i].code, err ? err : "(nil)", cases[i].message);
        lua_pop(L, 1);
    }
}

/* cjson.encode(run(...)) is the analysis JSON: arrays are arrays (also
 * empty ones through resultfile.encode), objects are objects. */
static void encodes_as_json(void **state)
{
    lua_State *L = *state;
    eval(L, USL_BANDS
         "local a = require 'stormdb.analysis'\n"
         "local cjson = require 'cjson'\n"
         "local resultfile = require 'stormdb.resultfile'\n"
         "local r = a.run(bands, {target_tps = 3})\n"
         "assert(getmetatable(r.marginal_gains) == a.array_mt and getmetatable(r.inflection_points) == a.array_mt)\n"
         "assert(#r.inflection_points == 0 and #r.marginal_gains == 5 and #r.queueing == 6)\n"
         "local text = resultfile.encode(r)\n"
         "assert(text:find('\"inflection_points\":[]', 1, true), 'empty array written as []')\n"
         "local back = cjson.decode(text)\n"
         "assert(back.capacity.workers_for_tps.workers == 4, 'X(4) = 3.077 >= 3 > X(3) = 2.586')\n"
         "assert(back.capacity.workers_for_tps.extrapolated == false)\n"
         "assert(back.recommendations[1].type == 'reduce_workers' and back.recommendations[1].priority == 1)\n"
         "assert(back.scaling_regions.linear_scaling.bands[1] == 2)\n"
         "assert(back.optimal_configuration.reasoning:find('N%* = 7.0'))\n"
         "return true");
    assert_true(lua_toboolean(L, -1));
    lua_pop(L, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(exact_usl_is_recovered, setup, teardown),
        cmocka_unit_test_setup_teardown(helpers, setup, teardown),
        cmocka_unit_test_setup_teardown(degenerate_input, setup, teardown),
        cmocka_unit_test_setup_teardown(errors_raise, setup, teardown),
        cmocka_unit_test_setup_teardown(encodes_as_json, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
