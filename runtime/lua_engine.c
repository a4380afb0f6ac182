/*
 * stormdb.engine: the engine as the controller's Lua sees it. run(spec,
 * on_progress) runs one band or one setup/cleanup/check call and returns a
 * plain table of what was measured (histograms as stormdb.histogram
 * objects); the Lua runner turns it into the result schema.
 */
#include "runtime/lua_engine.h"

#include <lauxlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runtime/clock.h"
#include "runtime/embedded.h"
#include "runtime/engine.h"
#include "runtime/lua_env.h"
#include "runtime/lua_modules.h"
#include "runtime/schedule.h"

static double opt_seconds(lua_State *L, int t, const char *key, double def)
{
    lua_getfield(L, t, key);
    double v = lua_isnil(L, -1) ? def : luaL_checknumber(L, -1);
    lua_pop(L, 1);
    return v;
}

static const char *opt_string(lua_State *L, int t, const char *key)
{
    lua_getfield(L, t, key);
    const char *v = lua_tostring(L, -1); /* kept alive by the spec table */
    lua_pop(L, 1);
    return v;
}

static uint64_t ns(double seconds) { return seconds > 0 ? (uint64_t)(seconds * 1e9 + 0.5) : 0; }

/* The Lua callbacks: a table {progress=, phase=, sample=} at stack index
 * `callbacks` (or a bare progress function). */
struct progress_ctx {
    lua_State *L;
    int callbacks;
    bool failed;
};

/* Pushes callback `name`, or returns false. */
static bool push_callback(struct progress_ctx *pc, const char *name)
{
    lua_State *L = pc->L;
    if (pc->failed)
        return false;
    if (lua_isfunction(L, pc->callbacks)) {
        if (strcmp(name, "progress") != 0)
            return false;
        lua_pushvalue(L, pc->callbacks);
        return true;
    }
    if (!lua_istable(L, pc->callbacks))
        return false;
    lua_getfield(L, pc->callbacks, name);
    if (lua_isfunction(L, -1))
        return true;
    lua_pop(L, 1);
    return false;
}

/* A failing callback must not stop a band: say so once and drop them. */
static void call_callback(struct progress_ctx *pc, int nargs)
{
    if (luaenv_pcall(pc->L, nargs, 0) != 0) {
        fprintf(stderr, "stormdb: a reporter failed during the band (it is now ignored): %s\n",
                lua_tostring(pc->L, -1));
        lua_pop(pc->L, 1);
        pc->failed = true;
    }
}

static void on_phase(void *ctx, const char *phase)
{
    struct progress_ctx *pc = ctx;
    if (!push_callback(pc, "phase"))
        return;
    lua_pushstring(pc->L, phase);
    call_callback(pc, 1);
}

static void on_sample(void *ctx)
{
    struct progress_ctx *pc = ctx;
    if (push_callback(pc, "sample"))
        call_callback(pc, 0);
}

static void on_progress(void *ctx, const struct engine_progress *p)
{
    struct progress_ctx *pc = ctx;
    lua_State *L = pc->L;
    if (!push_callback(pc, "progress"))
        return;
    lua_createtable(L, 0, 14);
    lua_pushstring(L, p->phase);
    lua_setfield(L, -2, "phase");
#define NUM(field)                              \
    lua_pushnumber(L, (lua_Number)p->field);    \
    lua_setfield(L, -2, #field)
    NUM(elapsed_s);
    NUM(total_s);
    NUM(interval_s);
    NUM(transactions);
    NUM(errors);
    NUM(tps);
    NUM(p95_ms);
    NUM(p99_ms);
    NUM(connections_up);
    NUM(late);
    NUM(skipped);
    NUM(lag_p99_ms);
#undef NUM
    call_callback(pc, 1);
}

static void push_result(lua_State *L, const struct engine_result *res)
{
    lua_createtable(L, 0, 12);
    lua_pushstring(L, res->status == ENGINE_OK ? "ok" : "interrupted");
    lua_setfield(L, -2, "status");
    if (res->signal) {
        lua_pushinteger(L, res->signal);
        lua_setfield(L, -2, "signal");
    }
    lua_pushinteger(L, res->threads);
    lua_setfield(L, -2, "threads");
    lua_pushnumber(L, (lua_Number)res->measured_ns / 1e9);
    lua_setfield(L, -2, "measured_seconds");
    const struct stats *s = res->stats;
    if (!s)
        return;
    lua_createtable(L, res->ntx, 0);
    for (int i = 0; i < res->ntx; i++) {
        lua_createtable(L, 0, 5);
        lua_pushstring(L, res->tx_names[i]);
        lua_setfield(L, -2, "name");
        lua_pushnumber(L, (lua_Number)s->tx[i].count);
        lua_setfield(L, -2, "count");
        lua_pushnumber(L, (lua_Number)s->tx[i].errors);
        lua_setfield(L, -2, "errors");
        lua_pushnumber(L, (lua_Number)s->tx[i].retries);
        lua_setfield(L, -2, "retries");
        lhist_push(L, &s->tx[i].latency);
        lua_setfield(L, -2, "latency");
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "transactions");
    lhist_push(L, &s->pool_wait);
    lua_setfield(L, -2, "pool_wait");
    lhist_push(L, &s->lag);
    lua_setfield(L, -2, "lag");
    lhist_push(L, &s->service);
    lua_setfield(L, -2, "service");
    lua_pushnumber(L, (lua_Number)s->late);
    lua_setfield(L, -2, "late");
    lua_pushnumber(L, (lua_Number)s->skipped);
    lua_setfield(L, -2, "skipped");
    lua_pushnumber(L, (lua_Number)s->queries);
    lua_setfield(L, -2, "queries");
    lua_pushnumber(L, (lua_Number)s->reconnects);
    lua_setfield(L, -2, "reconnects");
    lua_createtable(L, s->nerrors, 0);
    for (int i = 0; i < s->nerrors; i++) {
        lua_createtable(L, 0, 3);
        if (s->errors[i].tx >= 0 && s->errors[i].tx < res->ntx) {
            lua_pushstring(L, res->tx_names[s->errors[i].tx]);
            lua_setfield(L, -2, "transaction");
        }
        lua_pushstring(L, s->errors[i].sqlstate);
        lua_setfield(L, -2, "sqlstate");
        lua_pushnumber(L, (lua_Number)s->errors[i].count);
        lua_setfield(L, -2, "count");
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "errors");
    lua_createtable(L, 0, s->nmetrics);
    for (int i = 0; i < s->nmetrics; i++) {
        lhist_push(L, &s->metrics[i].values);
        lua_setfield(L, -2, s->metrics[i].name);
    }
    lua_setfield(L, -2, "metrics");
}

/* engine.run(spec, on_progress) -> result | nil, message */
static int l_run(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    struct engine_spec spec;
    memset(&spec, 0, sizeof spec);
    const char *mode = opt_string(L, 1, "mode");
    spec.mode = mode && strcmp(mode, "call") == 0 ? ENGINE_CALL : ENGINE_BAND;
    spec.workload = opt_string(L, 1, "workload");
    spec.options_json = opt_string(L, 1, "options_json");
    spec.call = opt_string(L, 1, "call");
    spec.lua_path = opt_string(L, 1, "lua_path");
    const char *dsn = opt_string(L, 1, "dsn");
    if (!spec.workload || !dsn)
        return luaL_error(L, "engine.run: workload and dsn are required");
    const char *keys[] = {"dbname", "fallback_application_name", NULL};
    const char *values[] = {dsn, "stormdb", NULL};
    spec.conn_keys = keys;
    spec.conn_values = values;
    spec.workers = (int)opt_seconds(L, 1, "workers", 1);
    spec.connections = (int)opt_seconds(L, 1, "connections", spec.workers);
    spec.threads = (int)opt_seconds(L, 1, "threads", 1);
    spec.warmup_ns = ns(opt_seconds(L, 1, "warmup", 0));
    spec.duration_ns = ns(opt_seconds(L, 1, "duration", 10));
    spec.cooldown_ns = ns(opt_seconds(L, 1, "cooldown", 0));
    spec.progress_ns = ns(opt_seconds(L, 1, "progress", 0));
    spec.drain_ns = ns(opt_seconds(L, 1, "drain", 5));
    spec.seed = (uint64_t)opt_seconds(L, 1, "seed", 0);
    spec.max_tries = (int)opt_seconds(L, 1, "max_tries", 10);
    spec.tx_timeout_ns = ns(opt_seconds(L, 1, "tx_timeout", 0));
    spec.unreachable_ns = ns(opt_seconds(L, 1, "unreachable", 0));
    spec.latency_limit_ns = ns(opt_seconds(L, 1, "latency_limit", 0));
    spec.rate = opt_seconds(L, 1, "rate", 0);
    const char *arrival = opt_string(L, 1, "arrival");
    spec.arrival = arrival && strcmp(arrival, "uniform") == 0 ? ARRIVAL_UNIFORM : ARRIVAL_POISSON;
    if (spec.max_tries < 1)
        spec.max_tries = 1;
    struct progress_ctx pc = {L, 2, false};
    if (lua_isfunction(L, 2) || lua_istable(L, 2)) {
        spec.progress = on_progress;
        spec.phase = on_phase;
        spec.sample = on_sample;
        spec.progress_ctx = &pc;
        if (lua_istable(L, 2)) {
            lua_getfield(L, 2, "sample_interval");
            spec.sample_ns = ns(luaL_optnumber(L, -1, 0.1));
            lua_pop(L, 1);
        }
    }
    struct engine_result res;
    if (engine_run(&spec, &res) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, res.error);
        engine_result_free(&res);
        return 2;
    }
    push_result(L, &res);
    engine_result_free(&res);
    return 1;
}

static int l_interrupted(lua_State *L)
{
    int sig = engine_interrupted();
    if (!sig)
        return 0;
    lua_pushinteger(L, sig);
    return 1;
}

static int l_cores(lua_State *L)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    lua_pushinteger(L, n > 0 ? n : 1);
    return 1;
}

static int l_now(lua_State *L)
{
    lua_pushnumber(L, (lua_Number)clock_now_ns() / 1e9);
    return 1;
}

static int l_isatty(lua_State *L)
{
    lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
    return 1;
}

/* bundled() -> {{module=, path=}, ...}: what `stormdb list` shows. */
static int l_bundled(lua_State *L)
{
    lua_newtable(L);
    int n = 0;
    for (const struct embedded_script *s = embedded_scripts; s->module; s++) {
        lua_createtable(L, 0, 2);
        lua_pushstring(L, s->module);
        lua_setfield(L, -2, "module");
        lua_pushstring(L, s->path);
        lua_setfield(L, -2, "path");
        lua_rawseti(L, -2, ++n);
    }
    return 1;
}

int luaopen_stormdb_engine(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"run", l_run}, {"interrupted", l_interrupted}, {"cores", l_cores}, {"now", l_now},
        {"isatty", l_isatty}, {"bundled", l_bundled}, {NULL, NULL},
    };
    lua_newtable(L);
    luaL_setfuncs(L, fns, 0);
    return 1;
}
