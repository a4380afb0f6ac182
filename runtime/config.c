/* The configuration and its option table (see config.h). */
#include "runtime/config.h"

#include <errno.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/clock.h"
#include "runtime/duration.h"

#define OPT(name, type, field, min, max, arg, help) {name, type, offsetof(struct config, field), min, max, arg, help}

const struct config_option config_options[] = {
    OPT("workers", CFG_INT, workers, 1, 1000000, "N", "virtual clients (default 1)"),
    OPT("connections", CFG_INT, connections, 1, 100000, "N", "connections in the pool (default: = workers)"),
    OPT("threads", CFG_INT, threads, 1, 1024, "N", "engine threads (default: min(cores, workers))"),
    OPT("duration", CFG_DURATION, duration_ns, 0, 0, "D", "measure phase length (default 10s)"),
    OPT("warmup", CFG_DURATION, warmup_ns, 0, 0, "D", "load before measuring, not counted (default 0)"),
    OPT("cooldown", CFG_DURATION, cooldown_ns, 0, 0, "D", "idle time after the band (default 0)"),
    OPT("progress", CFG_DURATION, progress_ns, 0, 0, "D", "progress line interval, 0 = none (default 1s)"),
    OPT("seed", CFG_SEED, seed, 0, 0, "N", "random seed; the same seed repeats the same run (default: random)"),
    OPT("max-tries", CFG_INT, max_tries, 1, 1000, "N",
        "runs of a transaction on serialization failure or deadlock (default 10)"),
    OPT("rate", CFG_NUMBER, rate, 0, 100000000, "TPS",
        "open loop: start transactions on a schedule at this total rate (default: closed loop)"),
    OPT("arrival", CFG_STRING, arrival, 0, 0, "KIND", "schedule of --rate: poisson (default) or uniform"),
    OPT("latency-limit", CFG_DURATION, latency_limit_ns, 0, 0, "D",
        "transactions slower than D count as late; with --rate, ones already late are skipped"),
    OPT("tx-timeout", CFG_DURATION, tx_timeout_ns, 0, 0, "D", "cancel a transaction running longer than D"),
    OPT("json", CFG_STRING, json, 0, 0, "FILE", "write the result as JSON (see docs/results.md)"),
    OPT("dsn", CFG_STRING, dsn, 0, 0, "CONNINFO", "libpq conninfo or URI; default: PG* environment or a throwaway server"),
    OPT("keep", CFG_BOOL, keep, 0, 0, NULL, "leave the throwaway server running and print its conninfo"),
    OPT("server-max-connections", CFG_INT, max_connections_server, 10, 10000, "N",
        "max_connections of the throwaway server (default 300)"),
    OPT("lua-path", CFG_STRING, lua_path, 0, 0, "DIR", "look for Lua modules here before the bundled ones"),
    OPT("log-level", CFG_STRING, log_level, 0, 0, "LEVEL", "error, warn, info or debug (or STORMDB_LOG_LEVEL)"),
    OPT("check", CFG_BOOL, check, 0, 0, NULL, "run the workload's consistency checks instead of its load"),
    OPT("help", CFG_BOOL, help, 0, 0, NULL, "this help; with a script, the script's options too"),
    {NULL, 0, 0, 0, 0, NULL, NULL},
};

void config_init(struct config *c)
{
    memset(c, 0, sizeof *c);
    c->workers = 1;
    c->max_tries = 10;
    c->duration_ns = 10 * NS_PER_SEC;
    c->progress_ns = NS_PER_SEC;
    c->drain_ns = 5 * NS_PER_SEC;
}

void config_free(struct config *c)
{
    for (const struct config_option *o = config_options; o->name; o++)
        if (o->type == CFG_STRING)
            free(*(char **)((char *)c + o->offset));
    for (int i = 0; i < c->nscript; i++) {
        free(c->script_names[i]);
        free(c->script_values[i]);
    }
    free(c->script_names);
    free(c->script_values);
}

const struct config_option *config_find(const char *name)
{
    for (const struct config_option *o = config_options; o->name; o++)
        if (strcmp(o->name, name) == 0)
            return o;
    return NULL;
}

bool config_given(const struct config *c, const char *name)
{
    const struct config_option *o = config_find(name);
    return o && (c->given & (1ull << (o - config_options)));
}

static int parse_int(const char *s, long long min, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int config_set(struct config *c, const char *name, const char *value, char *err, size_t errlen)
{
    const struct config_option *o = config_find(name);
    if (!o) {
        snprintf(err, errlen, "unknown option --%s", name);
        return -1;
    }
    void *field = (char *)c + o->offset;
    if (o->type != CFG_BOOL && !value) {
        snprintf(err, errlen, "--%s needs a value (%s)", name, o->arg);
        return -1;
    }
    switch (o->type) {
    case CFG_INT: {
        long long v;
        if (parse_int(value, o->min, o->max, &v) != 0) {
            snprintf(err, errlen, "--%s %s: expected a whole number from %lld to %lld", name, value, o->min, o->max);
            return -1;
        }
        *(int *)field = (int)v;
        break;
    }
    case CFG_NUMBER: {
        char *end;
        errno = 0;
        double v = strtod(value, &end);
        if (errno || end == value || *end || !(v >= (double)o->min && v <= (double)o->max)) {
            snprintf(err, errlen, "--%s %s: expected a number from %lld to %lld", name, value, o->min, o->max);
            return -1;
        }
        *(double *)field = v;
        break;
    }
    case CFG_SEED: {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(value, &end, 10);
        /* 32 bits: a seed must survive JSON and Lua numbers exactly. */
        if (errno || end == value || *end || value[0] == '-' || v > 4294967295ull) {
            snprintf(err, errlen, "--%s %s: expected a whole number from 0 to 4294967295", name, value);
            return -1;
        }
        *(uint64_t *)field = v;
        break;
    }
    case CFG_DURATION: {
        const char *why = NULL;
        if (duration_parse(value, (uint64_t *)field, &why) != 0) {
            snprintf(err, errlen, "--%s %s: %s", name, value, why ? why : "not a duration");
            return -1;
        }
        break;
    }
    case CFG_STRING:
        free(*(char **)field);
        *(char **)field = strdup(value);
        break;
    case CFG_BOOL:
        if (!value || strcmp(value, "true") == 0 || strcmp(value, "on") == 0 || strcmp(value, "1") == 0) {
            *(bool *)field = true;
        } else if (strcmp(value, "false") == 0 || strcmp(value, "off") == 0 || strcmp(value, "0") == 0) {
            *(bool *)field = false;
        } else {
            snprintf(err, errlen, "--%s=%s: expected true or false", name, value);
            return -1;
        }
        break;
    }
    c->given |= 1ull << (o - config_options);
    return 0;
}

int config_validate(const struct config *c, char *err, size_t errlen)
{
    int n = 0;
    size_t used = 0;
#define PROBLEM(...)                                                          \
    do {                                                                      \
        if (used < errlen)                                                    \
            used += (size_t)snprintf(err + used, errlen - used, __VA_ARGS__); \
        if (used < errlen)                                                    \
            used += (size_t)snprintf(err + used, errlen - used, "\n");        \
        n++;                                                                  \
    } while (0)
    if (errlen)
        err[0] = '\0';
    if (c->duration_ns == 0 && c->command && strcmp(c->command, "run") == 0)
        PROBLEM("--duration must be longer than 0");
    if (c->log_level && strcmp(c->log_level, "error") && strcmp(c->log_level, "warn") &&
        strcmp(c->log_level, "info") && strcmp(c->log_level, "debug"))
        PROBLEM("--log-level %s: expected error, warn, info or debug", c->log_level);
    if (c->lua_path && access(c->lua_path, R_OK | X_OK) != 0)
        PROBLEM("--lua-path %s: not a readable directory", c->lua_path);
    if (c->arrival && strcmp(c->arrival, "poisson") != 0 && strcmp(c->arrival, "uniform") != 0)
        PROBLEM("--arrival %s: expected poisson or uniform", c->arrival);
    if (c->arrival && c->rate <= 0)
        PROBLEM("--arrival applies to --rate only");
    if (c->keep && c->dsn)
        PROBLEM("--keep applies to the throwaway server only; it cannot be combined with --dsn");
#undef PROBLEM
    return n;
}

void config_push(lua_State *L, const struct config *c)
{
    lua_createtable(L, 0, 32);
    for (const struct config_option *o = config_options; o->name; o++) {
        const void *field = (const char *)c + o->offset;
        char key[64];
        snprintf(key, sizeof key, "%s", o->name);
        for (char *p = key; *p; p++)
            if (*p == '-')
                *p = '_';
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
        }
        lua_setfield(L, -2, key);
    }
    lua_createtable(L, 0, 0);
    for (const struct config_option *o = config_options; o->name; o++) {
        if (c->given & (1ull << (o - config_options))) {
            lua_pushboolean(L, 1);
            lua_setfield(L, -2, o->name);
        }
    }
    lua_setfield(L, -2, "given");
    lua_pushstring(L, c->command);
    lua_setfield(L, -2, "command");
    lua_pushstring(L, c->script);
    lua_setfield(L, -2, "script");
    lua_pushnumber(L, (lua_Number)c->drain_ns / 1e9);
    lua_setfield(L, -2, "drain");
    lua_createtable(L, c->nscript, 0);
    for (int i = 0; i < c->nscript; i++) {
        lua_createtable(L, 2, 0);
        lua_pushstring(L, c->script_names[i]);
        lua_rawseti(L, -2, 1);
        if (c->script_values[i])
            lua_pushstring(L, c->script_values[i]);
        else
            lua_pushboolean(L, 1);
        lua_rawseti(L, -2, 2);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "script_options");
}
