/*
 * Small C modules for Lua: stormdb.rand (per-worker random streams),
 * stormdb.histogram (the latency histogram, for reporters and `analyze`),
 * stormdb.duration (the one duration syntax), and their registration in
 * package.preload.
 */
#include "runtime/lua_modules.h"

#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/duration.h"
#include "runtime/lua_analysis.h"

#define RAND_MT "stormdb.rand"
#define HIST_MT "stormdb.histogram"

/* --- stormdb.rand ---------------------------------------------------------- */

struct lrand {
    struct rand_state state;
    uint64_t seed;
};

struct rand_state *lrand_push(lua_State *L, uint64_t seed, uint64_t stream)
{
    struct lrand *r = lua_newuserdata(L, sizeof *r);
    rand_seed(&r->state, seed, stream);
    r->seed = seed;
    luaL_getmetatable(L, RAND_MT);
    lua_setmetatable(L, -2);
    return &r->state;
}

/* Methods carry the metatable as upvalue 1: checking self against it avoids
 * luaL_checkudata's registry lookup by name on every draw. */
static struct lrand *check_rand(lua_State *L)
{
    void *p = lua_touserdata(L, 1);
    if (p && lua_getmetatable(L, 1)) {
        int same = lua_rawequal(L, -1, lua_upvalueindex(1));
        lua_pop(L, 1);
        if (same)
            return p;
    }
    luaL_typerror(L, 1, "rand");
    return NULL;
}

static int64_t check_int(lua_State *L, int idx)
{
    lua_Number x = luaL_checknumber(L, idx);
    if (x != floor(x) || fabs(x) > 9.007199254740992e15)
        luaL_argerror(L, idx, "an integer is expected");
    return (int64_t)x;
}

static int rand_l_uniform(lua_State *L)
{
    struct lrand *r = check_rand(L);
    int64_t lo = check_int(L, 2), hi = check_int(L, 3);
    lua_pushnumber(L, (lua_Number)rand_uniform(&r->state, lo, hi));
    return 1;
}

static int rand_l_double(lua_State *L)
{
    lua_pushnumber(L, rand_double(&check_rand(L)->state));
    return 1;
}

static int rand_l_gaussian(lua_State *L)
{
    struct lrand *r = check_rand(L);
    lua_pushnumber(L, rand_gaussian(&r->state, luaL_optnumber(L, 2, 0), luaL_optnumber(L, 3, 1)));
    return 1;
}

static int rand_l_exponential(lua_State *L)
{
    struct lrand *r = check_rand(L);
    lua_pushnumber(L, rand_exponential(&r->state, luaL_checknumber(L, 2)));
    return 1;
}

/* The run-time constant C of NURand for a given A: fixed by the seed, so a
 * run is repeatable, and the same for every worker (TPC-C clause 2.1.6). */
static int64_t nurand_c(uint64_t seed, int64_t a)
{
    struct rand_state s;
    rand_seed(&s, seed, 0x4e55524e41ull ^ (uint64_t)a);
    return rand_uniform(&s, 0, a);
}

static int rand_l_nurand(lua_State *L)
{
    struct lrand *r = check_rand(L);
    int64_t a = check_int(L, 2), x = check_int(L, 3), y = check_int(L, 4);
    int64_t c = lua_isnoneornil(L, 5) ? nurand_c(r->seed, a) : check_int(L, 5);
    lua_pushnumber(L, (lua_Number)rand_nurand(&r->state, a, x, y, c));
    return 1;
}

/* zipf(n, theta): the zeta constants are O(n) to compute, so they are cached
 * per (n, theta) in the Lua state. */
static int rand_l_zipf(lua_State *L)
{
    struct lrand *r = check_rand(L);
    int64_t n = check_int(L, 2);
    double theta = luaL_optnumber(L, 3, 0.99);
    lua_getfield(L, LUA_REGISTRYINDEX, "stormdb.zipf_cache");
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, "stormdb.zipf_cache");
    }
    lua_pushfstring(L, "%f:%f", (double)n, theta);
    lua_pushvalue(L, -1);
    lua_rawget(L, -3);
    struct zipf *z = lua_touserdata(L, -1);
    if (!z) {
        lua_pop(L, 1);
        z = lua_newuserdata(L, sizeof *z);
        if (zipf_init(z, n, theta) != 0)
            return luaL_error(L, "zipf(%d, %f): n must be >= 1 and theta in (0, 1)", (int)n, theta);
        lua_rawset(L, -3);
    }
    lua_pushnumber(L, (lua_Number)rand_zipf(&r->state, z));
    return 1;
}

static int push_string(lua_State *L, size_t (*gen)(struct rand_state *, char *, size_t, size_t))
{
    struct lrand *r = check_rand(L);
    int64_t lo = check_int(L, 2);
    int64_t hi = lua_isnoneornil(L, 3) ? lo : check_int(L, 3);
    if (lo < 0 || hi < lo || hi > 1 << 20)
        return luaL_error(L, "string length range [%d, %d] is not valid", (int)lo, (int)hi);
    char small[256];
    char *buf = (size_t)hi + 1 <= sizeof small ? small : malloc((size_t)hi + 1);
    if (!buf)
        return luaL_error(L, "out of memory");
    size_t len = gen(&r->state, buf, (size_t)lo, (size_t)hi);
    lua_pushlstring(L, buf, len);
    if (buf != small)
        free(buf);
    return 1;
}

static int rand_l_astring(lua_State *L) { return push_string(L, rand_astring); }
static int rand_l_nstring(lua_State *L) { return push_string(L, rand_nstring); }

/* pick(array): one element, uniformly. */
static int rand_l_pick(lua_State *L)
{
    struct lrand *r = check_rand(L);
    luaL_checktype(L, 2, LUA_TTABLE);
    int n = (int)lua_objlen(L, 2);
    if (n == 0)
        return luaL_error(L, "pick(): the array is empty");
    lua_rawgeti(L, 2, (int)rand_uniform(&r->state, 1, n));
    return 1;
}

/* rand.new(seed, stream): a stream of one's own (setup code, tests). */
static int rand_l_new(lua_State *L)
{
    lrand_push(L, (uint64_t)check_int(L, 1), (uint64_t)luaL_optnumber(L, 2, 0));
    return 1;
}

int luaopen_stormdb_rand(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"uniform", rand_l_uniform}, {"double", rand_l_double},   {"gaussian", rand_l_gaussian},
        {"exponential", rand_l_exponential}, {"nurand", rand_l_nurand}, {"zipf", rand_l_zipf},
        {"astring", rand_l_astring}, {"nstring", rand_l_nstring}, {"pick", rand_l_pick},
        {NULL, NULL},
    };
    if (luaL_newmetatable(L, RAND_MT)) {
        lua_newtable(L);
        lua_pushvalue(L, -2);
        luaL_setfuncs(L, methods, 1);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushcfunction(L, rand_l_new);
    lua_setfield(L, -2, "new");
    return 1;
}

/* --- stormdb.histogram ------------------------------------------------------- */

struct histogram *lhist_check(lua_State *L, int idx) { return luaL_checkudata(L, idx, HIST_MT); }

static struct histogram *new_hist(lua_State *L)
{
    struct histogram *h = lua_newuserdata(L, sizeof *h);
    hist_init(h);
    luaL_getmetatable(L, HIST_MT);
    lua_setmetatable(L, -2);
    return h;
}

void lhist_push(lua_State *L, const struct histogram *h) { *new_hist(L) = *h; }

static int hist_l_new(lua_State *L)
{
    new_hist(L);
    return 1;
}

static int hist_l_parse(lua_State *L)
{
    const char *text = luaL_checkstring(L, 1);
    struct histogram *h = new_hist(L);
    if (hist_parse(h, text) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, "not a stormdb histogram (expected the \"v1 ...\" text form)");
        return 2;
    }
    return 1;
}

static int hist_l_record(lua_State *L)
{
    struct histogram *h = lhist_check(L, 1);
    lua_Number ns = luaL_checknumber(L, 2);
    hist_record_n(h, ns > 0 ? (uint64_t)ns : 0, (uint64_t)luaL_optnumber(L, 3, 1));
    return 0;
}

static int hist_l_merge(lua_State *L)
{
    hist_merge(lhist_check(L, 1), lhist_check(L, 2));
    lua_settop(L, 1);
    return 1;
}

static int hist_l_percentile(lua_State *L)
{
    struct histogram *h = lhist_check(L, 1);
    double p = luaL_checknumber(L, 2);
    if (!(p >= 0 && p <= 100))
        return luaL_argerror(L, 2, "a percentile is between 0 and 100");
    lua_pushnumber(L, (lua_Number)hist_percentile(h, p));
    return 1;
}

static int hist_l_count(lua_State *L)
{
    lua_pushnumber(L, (lua_Number)lhist_check(L, 1)->count);
    return 1;
}

static int hist_l_min(lua_State *L)
{
    struct histogram *h = lhist_check(L, 1);
    lua_pushnumber(L, h->count ? (lua_Number)h->min : 0);
    return 1;
}

static int hist_l_max(lua_State *L)
{
    lua_pushnumber(L, (lua_Number)lhist_check(L, 1)->max);
    return 1;
}

static int hist_l_sum(lua_State *L)
{
    lua_pushnumber(L, (lua_Number)lhist_check(L, 1)->sum);
    return 1;
}

static int hist_l_mean(lua_State *L)
{
    lua_pushnumber(L, hist_mean(lhist_check(L, 1)));
    return 1;
}

static int hist_l_stddev(lua_State *L)
{
    lua_pushnumber(L, hist_stddev(lhist_check(L, 1)));
    return 1;
}

static int hist_l_serialise(lua_State *L)
{
    char *text = hist_serialise(lhist_check(L, 1));
    if (!text)
        return luaL_error(L, "out of memory");
    lua_pushstring(L, text);
    free(text);
    return 1;
}

/* buckets(): {{low_ns, high_ns, count}, ...} for non-empty buckets, for
 * distribution charts. */
static int hist_l_buckets(lua_State *L)
{
    struct histogram *h = lhist_check(L, 1);
    lua_newtable(L);
    int n = 0;
    for (size_t i = 0; i < HIST_COUNTS; i++) {
        if (!h->counts[i])
            continue;
        lua_createtable(L, 3, 0);
        lua_pushnumber(L, (lua_Number)hist_bucket_low(i));
        lua_rawseti(L, -2, 1);
        lua_pushnumber(L, (lua_Number)hist_bucket_high(i));
        lua_rawseti(L, -2, 2);
        lua_pushnumber(L, (lua_Number)h->counts[i]);
        lua_rawseti(L, -2, 3);
        lua_rawseti(L, -2, ++n);
    }
    return 1;
}

int luaopen_stormdb_histogram(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"record", hist_l_record}, {"merge", hist_l_merge}, {"percentile", hist_l_percentile},
        {"count", hist_l_count},   {"min", hist_l_min},     {"max", hist_l_max},
        {"sum", hist_l_sum},       {"mean", hist_l_mean},   {"stddev", hist_l_stddev},
        {"serialise", hist_l_serialise}, {"buckets", hist_l_buckets}, {NULL, NULL},
    };
    if (luaL_newmetatable(L, HIST_MT)) {
        lua_newtable(L);
        luaL_setfuncs(L, methods, 0);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushcfunction(L, hist_l_new);
    lua_setfield(L, -2, "new");
    lua_pushcfunction(L, hist_l_parse);
    lua_setfield(L, -2, "parse");
    return 1;
}

/* --- stormdb.duration ---------------------------------------------------------- */

/* parse(text) -> seconds, or nil and the message saying what is allowed */
static int dur_l_parse(lua_State *L)
{
    if (lua_type(L, 1) == LUA_TNUMBER) {
        lua_Number s = lua_tonumber(L, 1);
        if (s >= 0 && s <= 8640000) {
            lua_pushnumber(L, s);
            return 1;
        }
    }
    const char *text = luaL_checkstring(L, 1);
    uint64_t ns;
    const char *err = NULL;
    if (duration_parse(text, &ns, &err) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, err ? err : "not a duration");
        return 2;
    }
    lua_pushnumber(L, (lua_Number)ns / 1e9);
    return 1;
}

static int dur_l_format(lua_State *L)
{
    lua_Number s = luaL_checknumber(L, 1);
    char buf[DURATION_FORMAT_SIZE];
    lua_pushstring(L, duration_format(s > 0 ? (uint64_t)(s * 1e9 + 0.5) : 0, buf, sizeof buf));
    return 1;
}

int luaopen_stormdb_duration(lua_State *L)
{
    lua_newtable(L);
    lua_pushcfunction(L, dur_l_parse);
    lua_setfield(L, -2, "parse");
    lua_pushcfunction(L, dur_l_format);
    lua_setfield(L, -2, "format");
    return 1;
}

static int open_build(lua_State *L)
{
    lua_newtable(L);
    lua_pushstring(L, STORMDB_VERSION);
    lua_setfield(L, -2, "version");
    return 1;
}

void lua_modules_preload(lua_State *L)
{
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "preload");
    lua_pushcfunction(L, luaopen_stormdb_rand);
    lua_setfield(L, -2, "stormdb.rand");
    lua_pushcfunction(L, luaopen_stormdb_histogram);
    lua_setfield(L, -2, "stormdb.histogram");
    lua_pushcfunction(L, luaopen_stormdb_duration);
    lua_setfield(L, -2, "stormdb.duration");
    lua_pushcfunction(L, open_build);
    lua_setfield(L, -2, "stormdb.build");
    lua_pushcfunction(L, luaopen_stormdb_analysis);
    lua_setfield(L, -2, "stormdb.analysis");
    lua_pop(L, 2);
    /* Metatables exist before any userdata is made from C. */
    luaopen_stormdb_rand(L);
    luaopen_stormdb_histogram(L);
    lua_pop(L, 2);
}
