/*
 * stormdb.analysis.bottleneck and wait_class: the bottleneck classification
 * of analysis/bottleneck.c for Lua (docs/observation.md), registered into
 * the stormdb.analysis module by lua_bottleneck_register. The same table
 * rules as the rest of the binding (lua_table.h).
 */
#include "runtime/lua_analysis.h"

#include <lauxlib.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "runtime/lua_table.h"


/*
 * bottleneck(evidence) or bottleneck({evidence, evidence, ...}) -> the
 * classification (docs/observation.md). The evidence table has the groups
 * of struct analysis_bottleneck_evidence: top-level figures of the band,
 * and the optional tables activity, database, host, client, settings and
 * previous (the band before, same shape). An array of evidence tables is
 * merged first (analysis_bottleneck_merge).
 */

struct evidence_field {
    const char *group;   /* NULL: top level */
    const char *name;
    size_t offset;
};

#define EV(group, name, field) {group, name, offsetof(struct analysis_bottleneck_evidence, field)}
static const struct evidence_field evidence_doubles[] = {
    EV(NULL, "seconds", seconds),
    EV(NULL, "tps", tps),
    EV(NULL, "qps", qps),
    EV(NULL, "latency_ms", latency_ms),
    EV(NULL, "pool_wait_ms", pool_wait_ms),
    EV(NULL, "peak_workers", peak_workers),
    EV(NULL, "rtt_ms", rtt_ms),
    EV("activity", "rounds", rounds),
    EV("activity", "backends", backends),
    EV("activity", "active", active),
    EV("activity", "cpu", wait[ANALYSIS_WAIT_CPU]),
    EV("activity", "io", wait[ANALYSIS_WAIT_IO]),
    EV("activity", "lock", wait[ANALYSIS_WAIT_LOCK]),
    EV("activity", "lwlock", wait[ANALYSIS_WAIT_LWLOCK]),
    EV("activity", "ipc", wait[ANALYSIS_WAIT_IPC]),
    EV("activity", "client", wait[ANALYSIS_WAIT_CLIENT]),
    EV("activity", "other", wait[ANALYSIS_WAIT_OTHER]),
    EV("database", "blks_read", blks_read),
    EV("database", "blks_hit", blks_hit),
    EV("database", "temp_files", temp_files),
    EV("database", "temp_bytes", temp_bytes),
    EV("database", "xact_commit", xact_commit),
    EV("database", "deadlocks", deadlocks),
    EV("host", "cpu_busy", host_cpu_busy),
    EV("host", "iowait", host_iowait),
    EV("host", "steal", host_steal),
    EV("host", "mem_available", mem_available),
    EV("host", "context_switches", context_switches),
    EV("client", "cpu", client_cpu),
    EV("settings", "shared_buffers_bytes", shared_buffers_bytes),
    EV("settings", "work_mem_bytes", work_mem_bytes),
    EV("settings", "max_connections", max_connections),
    EV("settings", "effective_io_concurrency", effective_io_concurrency),
};
#undef EV

#define NEVIDENCE (sizeof evidence_doubles / sizeof evidence_doubles[0])
#define EVIDENCE_TOP                                                                                      \
    "workers, connections, threads, cores, seconds, tps, qps, latency_ms, pool_wait_ms, peak_workers, "  \
    "rtt_ms, region, activity, database, host, client, settings, previous"

static const char *evidence_fields_of(const char *group)
{
    if (strcmp(group, "activity") == 0)
        return "rounds, backends, active, cpu, io, lock, lwlock, ipc, client, other, events";
    if (strcmp(group, "database") == 0)
        return "blks_read, blks_hit, temp_files, temp_bytes, xact_commit, deadlocks";
    if (strcmp(group, "host") == 0)
        return "cpu_busy, iowait, steal, mem_available, context_switches";
    if (strcmp(group, "client") == 0)
        return "cpu";
    return "shared_buffers_bytes, work_mem_bytes, max_connections, effective_io_concurrency";
}

static int by_event_samples(const void *pa, const void *pb)
{
    const struct analysis_wait_event *a = pa, *b = pb;
    if (a->samples != b->samples)
        return a->samples > b->samples ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* activity.events: an array of {name = "Type:event", samples = n}; the
 * ANALYSIS_BOTTLENECK_EVENTS with the most samples are kept. */
static void read_events(lua_State *L, int idx, const char *fn, const char *label,
                        struct analysis_bottleneck_evidence *e)
{
    if (lua_type(L, idx) != LUA_TTABLE)
        luaL_error(L, "%s: %sactivity.events must be an array, not a %s", fn, label, luaL_typename(L, idx));
    size_t n = lua_objlen(L, idx);
    struct analysis_wait_event *all = lua_newuserdata(L, (n ? n : 1) * sizeof *all);
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, idx, (int)i + 1);
        if (lua_type(L, -1) != LUA_TTABLE)
            luaL_error(L, "%s: %sactivity.events[%d] must be a table {name=, samples=}", fn, label, (int)i + 1);
        lua_getfield(L, -1, "name");
        lua_getfield(L, -2, "samples");
        if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TNUMBER)
            luaL_error(L, "%s: %sactivity.events[%d] needs name (a string) and samples (a number)", fn, label,
                       (int)i + 1);
        snprintf(all[i].name, sizeof all[i].name, "%s", lua_tostring(L, -2));
        all[i].samples = (double)lua_tonumber(L, -1);
        lua_pop(L, 3);
    }
    qsort(all, n, sizeof *all, by_event_samples);
    e->nevents = n < ANALYSIS_BOTTLENECK_EVENTS ? n : ANALYSIS_BOTTLENECK_EVENTS;
    memcpy(e->events, all, e->nevents * sizeof *all);
    lua_pop(L, 1);
}

/* The numbers of one group (the table at idx). */
static void read_evidence_group(lua_State *L, int idx, const char *group, const char *fn, const char *label,
                                struct analysis_bottleneck_evidence *e)
{
    if (lua_type(L, idx) != LUA_TTABLE)
        luaL_error(L, "%s: %s%s must be a table, not a %s", fn, label, group, luaL_typename(L, idx));
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        if (key && strcmp(group, "activity") == 0 && strcmp(key, "events") == 0) {
            read_events(L, lua_gettop(L), fn, label, e);
            lua_pop(L, 1);
            continue;
        }
        size_t i = 0;
        while (key && i < NEVIDENCE &&
               !(evidence_doubles[i].group && strcmp(evidence_doubles[i].group, group) == 0 &&
                 strcmp(evidence_doubles[i].name, key) == 0))
            i++;
        if (!key || i == NEVIDENCE)
            luaL_error(L, "%s: %s%s: unknown field '%s' (fields: %s)", fn, label, group, key ? key : "(not a string)",
                       evidence_fields_of(group));
        if (lua_type(L, -1) != LUA_TNUMBER)
            luaL_error(L, "%s: %s%s.%s must be a number, not a %s", fn, label, group, key, luaL_typename(L, -1));
        *(double *)((char *)e + evidence_doubles[i].offset) = (double)lua_tonumber(L, -1);
        lua_pop(L, 1);
    }
}

/* The evidence table at idx. `previous` is where its previous band goes
 * (NULL: a previous is not allowed here). */
static void read_evidence(lua_State *L, int idx, const char *fn, const char *label,
                          struct analysis_bottleneck_evidence *e, struct analysis_bottleneck_evidence *previous)
{
    analysis_bottleneck_evidence_init(e);
    if (lua_type(L, idx) != LUA_TTABLE)
        luaL_error(L, "%s: %sevidence must be a table, not a %s", fn, label, luaL_typename(L, idx));
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "%s: %sevidence has a key that is not a field name (fields: %s)", fn, label, EVIDENCE_TOP);
        const char *key = lua_tostring(L, -2);
        int v = lua_gettop(L);
        if (strcmp(key, "activity") == 0 || strcmp(key, "database") == 0 || strcmp(key, "host") == 0 ||
            strcmp(key, "client") == 0 || strcmp(key, "settings") == 0) {
            read_evidence_group(L, v, key, fn, label, e);
            e->has_database = e->has_database || strcmp(key, "database") == 0;
            e->has_host = e->has_host || strcmp(key, "host") == 0;
            e->has_client = e->has_client || strcmp(key, "client") == 0;
        } else if (strcmp(key, "previous") == 0) {
            if (!previous)
                luaL_error(L, "%s: %sprevious: a previous band cannot have a previous band of its own", fn, label);
            char plabel[64];
            snprintf(plabel, sizeof plabel, "%sprevious: ", label);
            read_evidence(L, v, fn, plabel, previous, NULL);
            e->previous = previous;
        } else if (strcmp(key, "region") == 0) {
            const char *name = lua_type(L, v) == LUA_TSTRING ? lua_tostring(L, v) : "";
            int r = ANALYSIS_REGION_NONE;
            while (r < ANALYSIS_REGION_COUNT && strcmp(name, analysis_region_name((enum analysis_region)r)) != 0)
                r++;
            if (r == ANALYSIS_REGION_COUNT)
                luaL_error(L, "%s: %sregion must be baseline, linear, diminishing, saturation, degradation or none",
                           fn, label);
            e->region = (enum analysis_region)r;
        } else {
            if (lua_type(L, v) != LUA_TNUMBER)
                luaL_error(L, "%s: %s%s must be a number, not a %s", fn, label, key, luaL_typename(L, v));
            lua_Number x = lua_tonumber(L, v);
            char what[96];
            snprintf(what, sizeof what, "%s%s", label, key);
            if (strcmp(key, "workers") == 0)
                e->workers = lt_whole_int(L, x, fn, what);
            else if (strcmp(key, "connections") == 0)
                e->connections = lt_whole_int(L, x, fn, what);
            else if (strcmp(key, "threads") == 0)
                e->threads = lt_whole_int(L, x, fn, what);
            else if (strcmp(key, "cores") == 0)
                e->cores = lt_whole_int(L, x, fn, what);
            else {
                size_t i = 0;
                while (i < NEVIDENCE &&
                       !(evidence_doubles[i].group == NULL && strcmp(evidence_doubles[i].name, key) == 0))
                    i++;
                if (i == NEVIDENCE)
                    luaL_error(L, "%s: %sunknown field '%s' (fields: %s)", fn, label, key, EVIDENCE_TOP);
                *(double *)((char *)e + evidence_doubles[i].offset) = (double)x;
            }
        }
        lua_settop(L, v - 1);
    }
}

static void push_bottleneck_metrics(lua_State *L, const struct analysis_bottleneck_evidence *e,
                                    const struct analysis_bottleneck_metrics *m)
{
    lua_newtable(L);
    if (m->activity) {
        lt_set_number(L, "active_share", m->active_share);
        lt_set_number(L, "client_wait_share", m->client_wait_share);
        for (int c = 0; c < ANALYSIS_WAIT_COUNT; c++) {
            char key[32];
            snprintf(key, sizeof key, "%s_share", analysis_wait_class_name((enum analysis_wait_class)c));
            lt_set_number(L, key, m->share[c]);
        }
        lt_set_number(L, "avg_active_backends", m->avg_active);
    }
    if (m->database) {
        lt_set_number(L, "hit_ratio", m->hit_ratio);
        lt_set_number(L, "reads_per_tx", m->reads_per_tx);
        lt_set_number(L, "temp_files_per_tx", m->temp_files_per_tx);
        lt_set_number(L, "temp_bytes_per_s", m->temp_bytes_per_s);
    }
    if (m->host) {
        lt_set_number(L, "host_cpu_busy", m->host_cpu_busy);
        lt_set_number(L, "host_iowait", m->host_iowait);
        lt_set_number(L, "host_steal", m->host_steal);
        if (m->mem_available > 0.0)
            lt_set_number(L, "mem_available", m->mem_available);
        lt_set_number(L, "context_switches_per_tx", m->context_switches_per_tx);
    }
    if (m->client) {
        lt_set_number(L, "client_cpu", m->client_cpu);
        lt_set_number(L, "client_saturation", m->client_saturation);
    }
    if (m->latency) {
        lt_set_number(L, "latency_share", m->latency_share);
        lt_set_number(L, "pool_wait_share", m->pool_wait_share);
        lt_set_number(L, "pool_wait_ratio", m->pool_wait_ratio);
        if (e->workers > e->connections && e->connections >= 1 && e->tps > 0.0) {
            lt_set_number(L, "p_wait", m->p_wait);
            lt_set_bool(L, "pool_unstable", m->pool_unstable);
        }
        if (m->littles_ratio > 0.0)
            lt_set_number(L, "littles_ratio", m->littles_ratio);
    }
    if (m->rtt) {
        lt_set_number(L, "rtt_ms", m->rtt_ms);
        lt_set_number(L, "statements_per_tx", m->statements_per_tx);
        if (m->rtt_share > 0.0)
            lt_set_number(L, "rtt_share", m->rtt_share);
    }
}

static void push_bottleneck(lua_State *L, const struct analysis_bottleneck_evidence *e,
                            const struct analysis_bottleneck *b)
{
    lua_newtable(L);
    lt_set_status(L, b->status, b->message);
    lt_set_string(L, "type", analysis_bottleneck_type_name(b->type));
    lt_set_number(L, "confidence", b->confidence);
    if (b->status == ANALYSIS_INVALID_INPUT)
        return;
    if (b->runner_up != ANALYSIS_BOTTLENECK_NONE)
        lt_set_string(L, "runner_up", analysis_bottleneck_type_name(b->runner_up));
    lua_newtable(L);
    for (int t = 1; t < ANALYSIS_BOTTLENECK_COUNT; t++)
        lt_set_number(L, analysis_bottleneck_type_name((enum analysis_bottleneck_type)t), b->score[t]);
    lua_setfield(L, -2, "scores");
    push_bottleneck_metrics(L, e, &b->metrics);
    lua_setfield(L, -2, "metrics");
    lt_new_array(L, (int)b->nreasons);
    for (size_t i = 0; i < b->nreasons; i++) {
        lua_pushstring(L, b->reasons[i]);
        lt_append(L);
    }
    lua_setfield(L, -2, "reasons");
    lt_new_array(L, (int)b->nadvice);
    for (size_t i = 0; i < b->nadvice; i++) {
        lua_newtable(L);
        lt_set_string(L, "type", analysis_bottleneck_type_name(b->advice[i].type));
        lt_set_string(L, "action", b->advice[i].action);
        lt_set_string(L, "suggestion", b->advice[i].suggestion);
        lt_append(L);
    }
    lua_setfield(L, -2, "recommendations");
}

static int l_bottleneck(lua_State *L)
{
    const char *fn = "analysis.bottleneck";
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    lua_rawgeti(L, 1, 1);
    bool list = lua_istable(L, -1);
    lua_pop(L, 1);
    /* Evidence structs live in userdata, so an error halfway cannot leak. */
    struct analysis_bottleneck_evidence *merged = lua_newuserdata(L, 2 * sizeof *merged);
    struct analysis_bottleneck *b = lua_newuserdata(L, sizeof *b);
    if (!list) {
        read_evidence(L, 1, fn, "", &merged[0], &merged[1]);
    } else {
        size_t n = lua_objlen(L, 1);
        if (n > ANALYSIS_MAX_BANDS)
            luaL_error(L, "%s: %d bands of evidence; at most %d are merged", fn, (int)n, ANALYSIS_MAX_BANDS);
        struct analysis_bottleneck_evidence *all = lua_newuserdata(L, 2 * n * sizeof *all);
        for (size_t i = 0; i < n; i++) {
            char label[32];
            snprintf(label, sizeof label, "band %d: ", (int)i + 1);
            lua_rawgeti(L, 1, (int)i + 1);
            read_evidence(L, lua_gettop(L), fn, label, &all[i], &all[n + i]);
            lua_pop(L, 1);
        }
        analysis_bottleneck_merge(all, n, &merged[0]);
    }
    analysis_bottleneck_classify(&merged[0], b);
    push_bottleneck(L, &merged[0], b);
    return 1;
}

/* wait_class("LWLock") -> "lwlock"; nil or "" -> "cpu" */
static int l_wait_class(lua_State *L)
{
    const char *t = luaL_optstring(L, 1, NULL);
    lua_pushstring(L, analysis_wait_class_name(analysis_wait_class_of(t)));
    return 1;
}

void lua_bottleneck_register(lua_State *L)
{
    lua_pushcfunction(L, l_bottleneck);
    lua_setfield(L, -2, "bottleneck");
    lua_pushcfunction(L, l_wait_class);
    lua_setfield(L, -2, "wait_class");
    lua_pushnumber(L, ANALYSIS_BOTTLENECK_MIN_SCORE);
    lua_setfield(L, -2, "BOTTLENECK_MIN_SCORE");
}
