/* The configuration as the Lua runner sees it: a plain table, durations in
 * seconds, option names with underscores, `given` and `where` beside the
 * values so messages can name the place to fix, passwords left out. */
#include "runtime/config.h"

#include <lauxlib.h>
#include <stdio.h>
#include <string.h>

static void lua_key(const char *name, char *key, size_t size)
{
    snprintf(key, size, "%s", name);
    for (char *p = key; *p; p++)
        if (*p == '-')
            *p = '_';
}

static void push_study(lua_State *L, const struct config *c)
{
    const struct config_study *s = &c->study;
    lua_createtable(L, 0, 32);
#define SETB(k, v) (lua_pushboolean(L, v), lua_setfield(L, -2, k))
#define SETN(k, v) (lua_pushnumber(L, (lua_Number)(v)), lua_setfield(L, -2, k))
#define SETS(k, v) ((v) ? (lua_pushstring(L, v), lua_setfield(L, -2, k)) : (void)0)
    SETB("enabled", s->enabled);
    SETS("dialect", s->step_dialect ? "step" : "duration");
    SETS("strategy", s->strategy);
    SETN("min_workers", c->min_workers);
    if (config_given(c, "max-workers"))
        SETN("max_workers", c->max_workers);
    if (!s->connections_follow) {
        SETN("min_connections", c->min_connections);
        SETN("max_connections", c->max_connections);
    }
    SETB("connections_follow_workers", s->connections_follow);
    if (config_given(c, "step-workers"))
        SETN("step_workers", c->step_workers);
    if (config_given(c, "step-connections"))
        SETN("step_connections", c->step_connections);
    SETN("bands", c->bands);
    if (s->per_band)
        SETN("band_seconds", (double)s->band_ns / 1e9);
    else
        SETN("test_duration_seconds", (double)s->study_ns / 1e9);
    SETN("warmup_seconds", (double)s->warmup_ns / 1e9);
    SETN("cooldown_seconds", (double)s->cooldown_ns / 1e9);
    SETB("export_csv", s->export_csv);
    SETB("export_json", s->export_json);
    SETS("export_path", c->export_path);
    SETB("enable_analysis", c->enable_analysis);
    SETB("grid", c->grid);
    SETB("stop_on_degradation", c->stop_on_degradation);
    SETN("max_unreachable_seconds", (double)c->max_unreachable_ns / 1e9);
    if (config_given(c, "min-rate"))
        SETN("min_rate", c->min_rate);
    if (config_given(c, "max-rate"))
        SETN("max_rate", c->max_rate);
    lua_createtable(L, 0, 3);
    if (config_given(c, "slo-p99-ms"))
        SETN("p99_ms", c->slo_p99_ms);
    if (config_given(c, "slo-p95-ms"))
        SETN("p95_ms", c->slo_p95_ms);
    SETN("precision", config_given(c, "slo-precision") ? c->slo_precision : 0.05);
    lua_setfield(L, -2, "slo");
    lua_createtable(L, 0, 2);
    lua_createtable(L, 0, 3);
    SETN("linear", c->region_linear);
    SETN("diminishing", c->region_diminishing);
    SETN("saturation", c->region_saturation);
    lua_setfield(L, -2, "thresholds");
    lua_createtable(L, 0, 2);
    SETN("achieved_ratio", c->knee_achieved_ratio);
    SETN("latency_factor", c->knee_latency_factor);
    lua_setfield(L, -2, "knee");
    lua_setfield(L, -2, "analysis");
#undef SETB
#undef SETN
#undef SETS
}

void config_push(lua_State *L, const struct config *c)
{
    lua_createtable(L, 0, 64);
    for (const struct config_option *o = config_options; o->name; o++) {
        if (o->flags & CFG_SECRET)
            continue;
        const void *field = (const char *)c + o->offset;
        char key[64];
        lua_key(o->name, key, sizeof key);
        switch (o->type) {
        case CFG_INT:
            lua_pushinteger(L, *(const int *)field);
            break;
        case CFG_SEED:
            lua_pushnumber(L, (lua_Number)*(const uint64_t *)field);
            break;
        case CFG_NUMBER:
            lua_pushnumber(L, *(const double *)field);
            break;
        case CFG_DURATION:
            lua_pushnumber(L, (lua_Number)*(const uint64_t *)field / 1e9);
            break;
        case CFG_STRING:
            lua_pushstring(L, *(char *const *)field);
            break;
        case CFG_BOOL:
            lua_pushboolean(L, *(const bool *)field);
            break;
        case CFG_LIST: {
            const char *list = *(char *const *)field;
            if (!list) {
                lua_pushnil(L);
                break;
            }
            lua_createtable(L, 4, 0);
            int n = 0;
            for (const char *p = list; *p;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t)(nl - p) : strlen(p);
                if (len > 0) {
                    lua_pushlstring(L, p, len);
                    lua_rawseti(L, -2, ++n);
                }
                p += len + (nl ? 1 : 0);
            }
            break;
        }
        }
        lua_setfield(L, -2, key);
    }
    lua_createtable(L, 0, 0);
    for (const struct config_option *o = config_options; o->name; o++) {
        if (c->origin[config_index(o)].source != CFG_DEFAULT) {
            lua_pushboolean(L, 1);
            lua_setfield(L, -2, o->name);
        }
    }
    lua_setfield(L, -2, "given");
    lua_createtable(L, 0, 0);
    for (const struct config_option *o = config_options; o->name; o++) {
        char key[64], w[512];
        lua_key(o->name, key, sizeof key);
        lua_pushstring(L, config_where(c, o, w, sizeof w));
        lua_setfield(L, -2, key);
    }
    lua_setfield(L, -2, "where");
    push_study(L, c);
    lua_setfield(L, -2, "study");
    lua_pushstring(L, c->command);
    lua_setfield(L, -2, "command");
    lua_pushstring(L, c->script);
    lua_setfield(L, -2, "script");
    lua_pushnumber(L, (lua_Number)c->drain_ns / 1e9);
    lua_setfield(L, -2, "drain");
    lua_createtable(L, c->nscript, 0);
    for (int i = 0; i < c->nscript; i++) {
        lua_createtable(L, 3, 0);
        lua_pushstring(L, c->script_names[i]);
        lua_rawseti(L, -2, 1);
        if (c->script_values[i])
            lua_pushstring(L, c->script_values[i]);
        else
            lua_pushboolean(L, 1);
        lua_rawseti(L, -2, 2);
        if (c->script_lines[i] > 0) {
            char w[512];
            snprintf(w, sizeof w, "%s:%d: workload_options.%s", c->config_file, c->script_lines[i],
                     c->script_names[i]);
            lua_pushstring(L, w);
            lua_setfield(L, -2, "where");
        }
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "script_options");
}
