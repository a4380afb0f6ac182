/*
 * stormdb.analysis: the analysis library (analysis/) for Lua, as functions
 * over plain tables (see lua_analysis.h for the list, docs/analysis.md for
 * every field).
 *
 * Why a binding and not a Lua port: the fits, intervals and queueing figures
 * must be the same numbers whether they come from a run, from `stormdb
 * analyze FILE` or from a user's reporter, so there is one implementation
 * (C over GSL) and this file only translates.
 *
 * Translation rules, in one place:
 *  - Input fields have the names of struct analysis_band; a field of the
 *    wrong type, an unknown field or an unknown option is a programming error
 *    and raises a Lua error naming it. A wrong *value* (NaN, negative, zero
 *    workers) is data: the library reports it as status invalid_input.
 *  - Output tables have the shape of the analysis JSON (docs/analysis.md),
 *    so cjson.encode(analysis.run(...)) is that JSON. Statuses are the
 *    snake_case names of analysis_status_name, with the part's message.
 *  - The library zeroes the numbers it could not compute; here they are left
 *    out (nil), so a reader cannot mistake "not computed" for 0. Any number
 *    that is not finite is left out too (the library never produces one).
 *  - Bands, in Lua as everywhere in the user's view, count from 1.
 *  - Every array carries the metatable analysis.array_mt, so an encoder can
 *    tell an empty array ([]) from an empty object ({}).
 *
 * The result of analysis_run lives in a userdata with a __gc until it has
 * been translated, so a Lua error (out of memory) while building the tables
 * cannot leak it.
 */
#include "runtime/lua_analysis.h"

#include <lauxlib.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "runtime/lua_table.h"

#define RESULT_MT "stormdb.analysis.result"

/* ---- reading input ----------------------------------------------------- */

struct double_field {
    const char *name;
    size_t offset;
};

static const struct double_field band_doubles[] = {
    {"seconds", offsetof(struct analysis_band, seconds)},
    {"tps", offsetof(struct analysis_band, tps)},
    {"count", offsetof(struct analysis_band, count)},
    {"latency_sum_ms", offsetof(struct analysis_band, latency_sum_ms)},
    {"latency_sumsq_ms2", offsetof(struct analysis_band, latency_sumsq_ms2)},
    {"latency_mean_ms", offsetof(struct analysis_band, latency_mean_ms)},
    {"latency_sd_ms", offsetof(struct analysis_band, latency_sd_ms)},
    {"p95_ms", offsetof(struct analysis_band, p95_ms)},
    {"errors", offsetof(struct analysis_band, errors)},
    {"busy_seconds", offsetof(struct analysis_band, busy_seconds)},
    {"pool_wait_mean_ms", offsetof(struct analysis_band, pool_wait_mean_ms)},
};

#define NDOUBLES (sizeof band_doubles / sizeof band_doubles[0])
#define BAND_FIELDS                                                                                  \
    "workers, connections, seconds, tps, count, latency_sum_ms, latency_sumsq_ms2, latency_mean_ms, " \
    "latency_sd_ms, p95_ms, errors, busy_seconds, pool_wait_mean_ms"


/* The table at idx as a band; `label` names it in errors ("band 3"). */
static void read_band(lua_State *L, int idx, const char *fn, const char *label, struct analysis_band *b)
{
    memset(b, 0, sizeof *b);
    if (lua_type(L, idx) != LUA_TTABLE)
        luaL_error(L, "%s: %s is a %s, not a table", fn, label, luaL_typename(L, idx));
    bool have_workers = false, have_connections = false, have_tps = false, have_seconds = false;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "%s: %s has a key that is not a field name (fields: %s)", fn, label, BAND_FIELDS);
        const char *key = lua_tostring(L, -2);
        if (lua_type(L, -1) != LUA_TNUMBER)
            luaL_error(L, "%s: %s: %s must be a number, not a %s", fn, label, key, luaL_typename(L, -1));
        lua_Number x = lua_tonumber(L, -1);
        char what[96];
        snprintf(what, sizeof what, "%s: %s", label, key);
        if (strcmp(key, "workers") == 0) {
            b->workers = lt_whole_int(L, x, fn, what);
            have_workers = true;
        } else if (strcmp(key, "connections") == 0) {
            b->connections = lt_whole_int(L, x, fn, what);
            have_connections = true;
        } else {
            size_t i = 0;
            while (i < NDOUBLES && strcmp(key, band_doubles[i].name) != 0)
                i++;
            if (i == NDOUBLES)
                luaL_error(L, "%s: %s: unknown field '%s' (fields: %s)", fn, label, key, BAND_FIELDS);
            *(double *)((char *)b + band_doubles[i].offset) = (double)x;
            have_tps = have_tps || strcmp(key, "tps") == 0;
            have_seconds = have_seconds || strcmp(key, "seconds") == 0;
        }
        lua_pop(L, 1);
    }
    if (!have_workers)
        luaL_error(L, "%s: %s has no workers", fn, label);
    if (!have_tps)
        luaL_error(L, "%s: %s has no tps", fn, label);
    if (!have_connections)
        b->connections = b->workers;
    if (!have_seconds) {
        /* seconds only scales busy_seconds into a utilisation */
        if (b->busy_seconds != 0.0)
            luaL_error(L, "%s: %s has busy_seconds but no seconds", fn, label);
        b->seconds = 1.0;
    }
}

/* An optional number field of the options table on top. */
static double opt_number(lua_State *L, int idx, const char *key, double fallback)
{
    lua_getfield(L, idx, key);
    double x = fallback;
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TNUMBER)
            luaL_error(L, "analysis.run: option %s must be a number, not a %s", key, luaL_typename(L, -1));
        x = (double)lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    return x;
}

static void check_keys(lua_State *L, int idx, const char *what, const char *const *allowed, const char *list)
{
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        bool known = false;
        for (const char *const *a = allowed; key && *a; a++)
            known = known || strcmp(key, *a) == 0;
        if (!known)
            luaL_error(L, "analysis.run: unknown %s '%s' (known: %s)", what, key ? key : "(not a string)", list);
        lua_pop(L, 1);
    }
}

static void read_options(lua_State *L, int idx, struct analysis_options *o)
{
    analysis_options_default(o);
    if (lua_isnoneornil(L, idx))
        return;
    luaL_checktype(L, idx, LUA_TTABLE);
    static const char *const keys[] = {"slo_p95_ms", "target_tps", "max_latency_ms", "latency_kind", "thresholds",
                                       NULL};
    check_keys(L, idx, "option", keys, "slo_p95_ms, target_tps, max_latency_ms, latency_kind, thresholds");
    o->p95_objective_ms = opt_number(L, idx, "slo_p95_ms", 0.0);
    o->target_tps = opt_number(L, idx, "target_tps", 0.0);
    o->target_latency_ms = opt_number(L, idx, "max_latency_ms", 0.0);
    lua_getfield(L, idx, "latency_kind");
    if (!lua_isnil(L, -1)) {
        const char *kind = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
        if (strcmp(kind, "mean") == 0)
            o->target_latency_kind = ANALYSIS_LATENCY_MEAN;
        else if (strcmp(kind, "p95") == 0)
            o->target_latency_kind = ANALYSIS_LATENCY_P95;
        else
            luaL_error(L, "analysis.run: option latency_kind must be \"mean\" or \"p95\"");
    }
    lua_pop(L, 1);
    lua_getfield(L, idx, "thresholds");
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TTABLE)
            luaL_error(L, "analysis.run: option thresholds must be a table");
        int t = lua_gettop(L);
        static const char *const tkeys[] = {"linear", "diminishing", "saturation", NULL};
        check_keys(L, t, "threshold", tkeys, "linear, diminishing, saturation");
        o->regions.linear = opt_number(L, t, "linear", o->regions.linear);
        o->regions.diminishing = opt_number(L, t, "diminishing", o->regions.diminishing);
        o->regions.saturation = opt_number(L, t, "saturation", o->regions.saturation);
    }
    lua_pop(L, 1);
}

/* An array of numbers at idx into a userdata-owned buffer (freed by the GC,
 * so an error halfway cannot leak it). Returns its length. */
static size_t read_numbers(lua_State *L, int idx, const char *fn, const char *name, double **out)
{
    if (lua_type(L, idx) != LUA_TTABLE)
        luaL_error(L, "%s: %s must be an array of numbers, not a %s", fn, name, luaL_typename(L, idx));
    size_t n = lua_objlen(L, idx);
    if (n > ANALYSIS_MAX_BANDS)
        luaL_error(L, "%s: %s has %d points; at most %d are analysed", fn, name, (int)n, ANALYSIS_MAX_BANDS);
    double *x = lua_newuserdata(L, (n ? n : 1) * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, idx, (int)i + 1);
        if (lua_type(L, -1) != LUA_TNUMBER)
            luaL_error(L, "%s: %s[%d] must be a number, not a %s", fn, name, (int)i + 1, luaL_typename(L, -1));
        x[i] = (double)lua_tonumber(L, -1);
        lua_pop(L, 1);
    }
    *out = x;
    return n;
}

/* workers and tps arrays at 1 + shift and 2 + shift, of equal length. */
static size_t read_xy(lua_State *L, int shift, const char *fn, double **x, double **y)
{
    size_t n = read_numbers(L, 1 + shift, fn, "workers", x);
    size_t m = read_numbers(L, 2 + shift, fn, "tps", y);
    if (n != m)
        luaL_error(L, "%s: workers has %d values but tps has %d", fn, (int)n, (int)m);
    return n;
}

/* ---- pushing results --------------------------------------------------- */

static void push_band_stats(lua_State *L, const struct analysis_band_stats *s, int band)
{
    lua_newtable(L);
    if (band > 0)
        lt_set_number(L, "band", band);
    lt_set_status(L, s->status, s->message);
    lt_set_number(L, "workers", s->workers);
    lt_set_number(L, "connections", s->connections);
    if (s->status == ANALYSIS_INVALID_INPUT)
        return;
    lt_set_number(L, "tps", s->tps);
    lt_set_number(L, "tps_per_worker", s->tps_per_worker);
    lt_set_number(L, "tps_per_connection", s->tps_per_connection);
    lt_set_number(L, "connection_utilisation", s->connection_utilisation);
    if (s->status == ANALYSIS_NO_DATA)
        return;
    lt_set_number(L, "latency_mean_ms", s->latency_mean_ms);
    lt_set_number(L, "latency_ci_low_ms", s->latency_ci_low_ms);
    lt_set_number(L, "latency_ci_high_ms", s->latency_ci_high_ms);
    lt_set_number(L, "latency_ci_rel", s->latency_ci_rel);
    if (s->status != ANALYSIS_OK)
        return;
    lt_set_number(L, "latency_sd_ms", s->latency_sd_ms);
    lt_set_number(L, "latency_variance_ms2", s->latency_variance_ms2);
    lt_set_number(L, "latency_cv", s->latency_cv);
}

static void push_queueing(lua_State *L, const struct analysis_queueing *q, int band)
{
    lua_newtable(L);
    if (band > 0)
        lt_set_number(L, "band", band);
    lt_set_status(L, q->status, q->message);
    lt_set_number(L, "workers", q->workers);
    lt_set_number(L, "connections", q->connections);
    if (q->status == ANALYSIS_INVALID_INPUT)
        return;
    lt_set_number(L, "response_ms", q->response_ms);
    lt_set_number(L, "littles_workers", q->littles_workers);
    lt_set_number(L, "littles_ratio", q->littles_ratio);
    lt_set_number(L, "arrival_rate", q->arrival_rate);
    lt_set_number(L, "measured_wait_ms", q->measured_wait_ms);
    if (q->status == ANALYSIS_NO_DATA)
        return;
    lt_set_number(L, "service_rate", q->service_rate);
    lt_set_number(L, "offered_load", q->offered_load);
    lt_set_number(L, "utilisation", q->utilisation);
    lt_set_number(L, "p_wait", q->p_wait);
    if (q->status != ANALYSIS_OK)
        return; /* unstable: no finite predicted wait */
    lt_set_number(L, "predicted_wait_ms", q->predicted_wait_ms);
    if (q->predicted_wait_ms > 0.0)
        lt_set_number(L, "wait_ratio", q->wait_ratio);
}

static void push_fit(lua_State *L, const struct analysis_fit *f)
{
    lua_newtable(L);
    lt_set_string(L, "model", analysis_model_name(f->model));
    lt_set_status(L, f->status, f->message);
    if (f->status != ANALYSIS_OK)
        return;
    lt_set_number(L, "n", (double)f->n);
    for (size_t j = 0; j < f->nparams && j < ANALYSIS_FIT_MAX_PARAMS; j++) {
        const char *name = analysis_model_param_name(f->model, j);
        if (!name)
            break;
        char key[32];
        lt_set_number(L, name, f->param[j]);
        snprintf(key, sizeof key, "%s_ci", name);
        lt_set_interval(L, key, f->param_ci_low[j], f->param_ci_high[j]);
        snprintf(key, sizeof key, "%s_se", name);
        lt_set_number(L, key, f->param_se[j]);
    }
    lt_set_number(L, "r_squared", f->r_squared);
    lt_set_number(L, "adj_r_squared", f->adj_r_squared);
    lt_set_number(L, "aic", f->aic);
    lt_set_number(L, "rse", f->rse);
    lt_set_number(L, "rss", f->rss);
}

static void push_usl(lua_State *L, const struct analysis_usl *u)
{
    push_fit(L, &u->fit);
    if (u->fit.status != ANALYSIS_OK)
        return;
    lt_set_string(L, "peak_status", analysis_status_name(u->peak_status));
    if (u->peak_status == ANALYSIS_OK) {
        lt_set_number(L, "peak_workers", u->peak_workers);
        lt_set_number(L, "peak_tps", u->peak_tps);
        lt_set_bool(L, "peak_extrapolated", u->peak_extrapolated);
    }
    lt_set_bool(L, "peak_significant", u->peak_significant);
    lt_set_bool(L, "sigma_pinned", u->sigma_pinned);
    lt_set_bool(L, "kappa_pinned", u->kappa_pinned);
    lt_set_number(L, "min_workers", u->min_workers);
    lt_set_number(L, "max_workers", u->max_workers);
}

static void push_models(lua_State *L, const struct analysis_models *m)
{
    lua_newtable(L);
    lt_set_status(L, m->status, m->message);
    lt_set_string(L, "best_fit", analysis_model_name(m->best));
    if (m->status == ANALYSIS_OK) {
        lt_set_number(L, "r_squared", m->r_squared);
        lt_set_number(L, "adj_r_squared", m->adj_r_squared);
        lt_set_string(L, "peak_status", analysis_status_name(m->peak_status));
        if (m->peak_status == ANALYSIS_OK || m->peak_status == ANALYSIS_UNBOUNDED) {
            lt_set_number(L, "predicted_peak_tps", m->predicted_peak_tps);
            lt_set_number(L, "predicted_peak_workers", m->predicted_peak_workers);
            lt_set_bool(L, "peak_extrapolated", m->peak_extrapolated);
        }
        lt_set_string(L, "saturation_status", analysis_status_name(m->saturation_status));
        if (m->saturation_status == ANALYSIS_OK)
            lt_set_number(L, "saturation_workers", m->saturation_workers);
    }
    lua_newtable(L);
    push_fit(L, &m->linear);
    lua_setfield(L, -2, "linear");
    push_fit(L, &m->logarithmic);
    lua_setfield(L, -2, "logarithmic");
    push_fit(L, &m->exponential);
    lua_setfield(L, -2, "exponential");
    push_fit(L, &m->logistic);
    lua_setfield(L, -2, "logistic");
    push_usl(L, &m->usl);
    lua_setfield(L, -2, "usl");
    lua_setfield(L, -2, "models");
}

static void push_derivatives(lua_State *L, const struct analysis_derivatives *d)
{
    bool efficiencies = d->baseline_tps_per_worker > 0.0;
    lt_new_array(L, (int)d->ngains);
    for (size_t i = 0; i < d->ngains; i++) {
        const struct analysis_gain *g = &d->gains[i];
        lua_newtable(L);
        lt_set_number(L, "from_workers", g->from_workers);
        lt_set_number(L, "to_workers", g->to_workers);
        lt_set_number(L, "gain", g->gain);
        if (efficiencies)
            lt_set_number(L, "efficiency", g->efficiency);
        lt_append(L);
    }
    lua_setfield(L, -2, "marginal_gains");

    lt_new_array(L, (int)d->ncurvature);
    for (size_t i = 0; i < d->ncurvature; i++) {
        const struct analysis_curvature *c = &d->curvature[i];
        lua_newtable(L);
        lt_set_number(L, "workers", c->workers);
        lt_set_number(L, "d2", c->d2);
        lt_set_number(L, "sign", c->sign);
        lt_append(L);
    }
    lua_setfield(L, -2, "curvature");

    lt_new_array(L, (int)d->ninflections);
    for (size_t i = 0; i < d->ninflections; i++) {
        const struct analysis_inflection *f = &d->inflections[i];
        lua_newtable(L);
        lt_set_number(L, "workers", f->workers);
        lt_set_number(L, "from_workers", f->from_workers);
        lt_set_number(L, "to_workers", f->to_workers);
        lt_set_string(L, "direction",
                   f->direction == ANALYSIS_CONCAVE_TO_CONVEX ? "concave_to_convex" : "convex_to_concave");
        lt_append(L);
    }
    lua_setfield(L, -2, "inflection_points");
}

static void push_region_summary(lua_State *L, const char *key, const struct analysis_region_summary *s)
{
    lua_newtable(L);
    lt_new_array(L, (int)s->count);
    for (size_t i = 0; i < s->count; i++) {
        lua_pushnumber(L, s->workers[i]);
        lua_rawseti(L, -2, (int)i + 1);
    }
    lua_setfield(L, -2, "bands");
    if (s->description[0])
        lt_set_string(L, "description", s->description);
    lua_setfield(L, -2, key);
}

/* t as {linear, diminishing, saturation}, set as key of the table on top. */
static void set_thresholds(lua_State *L, const char *key, const struct analysis_region_thresholds *t)
{
    lua_newtable(L);
    lt_set_number(L, "linear", t->linear);
    lt_set_number(L, "diminishing", t->diminishing);
    lt_set_number(L, "saturation", t->saturation);
    lua_setfield(L, -2, key);
}

static void push_regions(lua_State *L, const struct analysis_regions *r)
{
    lua_newtable(L);
    lt_set_status(L, r->status, r->message);
    set_thresholds(L, "thresholds", &r->thresholds);
    push_region_summary(L, "linear_scaling", &r->linear_scaling);
    push_region_summary(L, "diminishing_returns", &r->diminishing_returns);
    push_region_summary(L, "saturation", &r->saturation);
    push_region_summary(L, "degradation", &r->degradation);
}

static void push_optimum(lua_State *L, const struct analysis_optimum *o)
{
    lua_newtable(L);
    lt_set_status(L, o->status, o->message);
    if (o->p95_objective_ms > 0.0)
        lt_set_number(L, "p95_objective_ms", o->p95_objective_ms);
    if (o->reasoning[0])
        lt_set_string(L, "reasoning", o->reasoning);
    if (o->status != ANALYSIS_OK && o->status != ANALYSIS_OBJECTIVE_UNMET)
        return;
    lt_set_number(L, "candidates", (double)o->candidates);
    lt_set_bool(L, "errors_excluded", o->errors_excluded);
    lt_set_bool(L, "all_bands_had_errors", o->all_bands_had_errors);
    if (o->usl_peak) {
        lt_set_number(L, "usl_peak_workers", o->usl_peak_workers);
        lt_set_number(L, "usl_peak_tps", o->usl_peak_tps);
        lt_set_bool(L, "usl_peak_extrapolated", o->usl_peak_extrapolated);
    }
    if (o->status != ANALYSIS_OK)
        return;
    lt_set_number(L, "band", o->band + 1);
    lt_set_number(L, "workers", o->workers);
    lt_set_number(L, "connections", o->connections);
    lt_set_number(L, "tps", o->tps);
    lt_set_number(L, "efficiency", o->efficiency);
    if (o->p95_ms > 0.0) /* 0: the band had no p95 */
        lt_set_number(L, "p95_ms", o->p95_ms);
    lt_set_number(L, "confidence", o->confidence);
    lt_set_number(L, "fit_quality", o->fit_quality);
    lt_set_number(L, "noise", o->noise);
}

static void push_recommendations(lua_State *L, const struct analysis_recommendation *recs, size_t n)
{
    lt_new_array(L, (int)n);
    for (size_t i = 0; i < n; i++) {
        const struct analysis_recommendation *r = &recs[i];
        lua_newtable(L);
        lt_set_string(L, "type", analysis_rec_type_name(r->type));
        lt_set_number(L, "priority", (double)r->priority);
        lt_set_string(L, "priority_name", analysis_rec_priority_name(r->priority));
        lt_set_string(L, "category", analysis_rec_category_name(r->category));
        lt_set_string(L, "suggestion", r->suggestion);
        lt_set_number(L, "expected_gain", r->expected_gain);
        lt_set_number(L, "confidence", r->confidence);
        lt_append(L);
    }
}

static void push_answer(lua_State *L, const char *key, const struct analysis_capacity_answer *a,
                        const char *latency_kind)
{
    lua_newtable(L);
    lt_set_status(L, a->status, a->message);
    lt_set_number(L, "target", a->target);
    if (latency_kind)
        lt_set_string(L, "latency_kind", latency_kind);
    if (a->status == ANALYSIS_OK) {
        lt_set_number(L, "workers", a->workers);
        lt_set_number(L, "tps", a->tps);
        lt_set_number(L, "latency_ms", a->latency_ms);
        lt_set_bool(L, "extrapolated", a->extrapolated);
    }
    lua_setfield(L, -2, key);
}

static const char *latency_kind_name(enum analysis_latency_kind k)
{
    return k == ANALYSIS_LATENCY_P95 ? "p95" : "mean";
}

static void push_options(lua_State *L, const struct analysis_options *o)
{
    lua_newtable(L);
    if (o->p95_objective_ms > 0.0)
        lt_set_number(L, "slo_p95_ms", o->p95_objective_ms);
    if (o->target_tps > 0.0)
        lt_set_number(L, "target_tps", o->target_tps);
    if (o->target_latency_ms > 0.0) {
        lt_set_number(L, "max_latency_ms", o->target_latency_ms);
        lt_set_string(L, "latency_kind", latency_kind_name(o->target_latency_kind));
    }
    set_thresholds(L, "thresholds", &o->regions);
    lua_setfield(L, -2, "options");
}

/* Per-band statistics with the band's region and efficiencies. */
static void push_bands(lua_State *L, const struct analysis_result *r, bool computed)
{
    double baseline = computed && r->series.n > 0 ? r->series.tps[0] / r->series.workers[0] : 0.0;
    bool regions = computed && r->regions.status == ANALYSIS_OK;
    lt_new_array(L, (int)r->nbands);
    for (size_t i = 0; i < r->nbands; i++) {
        push_band_stats(L, &r->bands[i], (int)i + 1);
        if (computed && r->bands[i].status != ANALYSIS_INVALID_INPUT && baseline > 0.0)
            lt_set_number(L, "scaling_efficiency", r->bands[i].tps_per_worker / baseline);
        if (regions && r->regions.band_region[i] != ANALYSIS_REGION_NONE) {
            lt_set_string(L, "region", analysis_region_name(r->regions.band_region[i]));
            lt_set_number(L, "step_efficiency", r->regions.point_efficiency[r->series.band_point[i]]);
        }
        lt_append(L);
    }
    lua_setfield(L, -2, "bands");
}

static void push_result(lua_State *L, const struct analysis_result *r)
{
    /* series_build failing means nothing past the per-band figures ran, and
     * the zeroed parts would read as status ok: leave them out. */
    bool computed = r->series.status == ANALYSIS_OK;
    lua_newtable(L);
    lt_set_status(L, r->status, r->message);
    if (r->status == ANALYSIS_INVALID_INPUT) {
        for (size_t i = 0; i < r->nbands; i++) {
            if (r->bands[i].status == ANALYSIS_INVALID_INPUT) {
                lua_pushfstring(L, "band %d: %s", (int)i + 1, r->bands[i].message);
                lua_setfield(L, -2, "message");
                break;
            }
        }
    }
    push_options(L, &r->options);
    push_bands(L, r, computed);
    lt_new_array(L, (int)r->nbands);
    for (size_t i = 0; i < r->nbands; i++) {
        push_queueing(L, &r->queueing[i], (int)i + 1);
        lt_append(L);
    }
    lua_setfield(L, -2, "queueing");
    if (!computed)
        return;
    push_optimum(L, &r->optimum);
    lua_setfield(L, -2, "optimal_configuration");
    push_models(L, &r->models);
    lua_setfield(L, -2, "mathematical_models");
    push_derivatives(L, &r->derivatives);
    push_regions(L, &r->regions);
    lua_setfield(L, -2, "scaling_regions");
    push_recommendations(L, r->recommendations, r->nrecommendations);
    lua_setfield(L, -2, "recommendations");
    if (r->options.target_tps > 0.0 || r->options.target_latency_ms > 0.0) {
        lua_newtable(L);
        if (r->p95_ratio > 0.0)
            lt_set_number(L, "p95_ratio", r->p95_ratio);
        if (r->options.target_tps > 0.0)
            push_answer(L, "workers_for_tps", &r->workers_for_tps, NULL);
        if (r->options.target_latency_ms > 0.0)
            push_answer(L, "tps_under_latency", &r->tps_under_latency,
                        latency_kind_name(r->options.target_latency_kind));
        lua_setfield(L, -2, "capacity");
    }
}

/* ---- the functions ----------------------------------------------------- */

struct result_box {
    struct analysis_result *r;
};

static int result_gc(lua_State *L)
{
    struct result_box *box = luaL_checkudata(L, 1, RESULT_MT);
    analysis_result_free(box->r);
    box->r = NULL;
    return 0;
}

/* run(bands [, options]) -> the analysis object */
static int l_run(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    struct analysis_options options;
    read_options(L, 2, &options);
    /* More than ANALYSIS_MAX_BANDS is the library's to report (too_many_bands). */
    size_t n = lua_objlen(L, 1);
    struct analysis_band *bands = lua_newuserdata(L, (n ? n : 1) * sizeof *bands);
    for (size_t i = 0; i < n; i++) {
        char label[32];
        snprintf(label, sizeof label, "band %d", (int)i + 1);
        lua_rawgeti(L, 1, (int)i + 1);
        read_band(L, lua_gettop(L), "analysis.run", label, &bands[i]);
        lua_pop(L, 1);
    }
    struct result_box *box = lua_newuserdata(L, sizeof *box);
    box->r = NULL;
    luaL_getmetatable(L, RESULT_MT);
    lua_setmetatable(L, -2);
    box->r = analysis_run(bands, n, &options);
    if (!box->r)
        return luaL_error(L, "analysis.run: out of memory");
    push_result(L, box->r);
    analysis_result_free(box->r);
    box->r = NULL;
    return 1;
}

/* describe(band) -> band statistics */
static int l_describe(lua_State *L)
{
    struct analysis_band b;
    read_band(L, 1, "analysis.describe", "the band", &b);
    struct analysis_band_stats s;
    analysis_describe_band(&b, &s);
    push_band_stats(L, &s, 0);
    return 1;
}

/* queueing(band) -> Little's law and the M/M/c view */
static int l_queueing(lua_State *L)
{
    struct analysis_band b;
    read_band(L, 1, "analysis.queueing", "the band", &b);
    struct analysis_queueing q;
    analysis_queueing_band(&b, &q);
    push_queueing(L, &q, 0);
    return 1;
}

/* fit(model, workers, tps) -> one fit */
static int l_fit(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    enum analysis_model model = ANALYSIS_MODEL_NONE;
    for (int k = ANALYSIS_MODEL_LINEAR; k < ANALYSIS_MODEL_COUNT; k++)
        if (strcmp(name, analysis_model_name((enum analysis_model)k)) == 0)
            model = (enum analysis_model)k;
    if (model == ANALYSIS_MODEL_NONE)
        return luaL_error(L, "analysis.fit: unknown model '%s' (linear, logarithmic, exponential, logistic, usl)",
                          name);
    double *x, *y;
    size_t n = read_xy(L, 1, "analysis.fit", &x, &y);
    if (model == ANALYSIS_MODEL_USL) {
        struct analysis_usl u;
        analysis_usl_fit(x, y, n, &u);
        push_usl(L, &u);
        return 1;
    }
    struct analysis_fit f;
    switch (model) {
    case ANALYSIS_MODEL_LINEAR: analysis_fit_linear(x, y, n, &f); break;
    case ANALYSIS_MODEL_LOGARITHMIC: analysis_fit_logarithmic(x, y, n, &f); break;
    case ANALYSIS_MODEL_EXPONENTIAL: analysis_fit_exponential(x, y, n, &f); break;
    default: analysis_fit_logistic(x, y, n, &f); break;
    }
    push_fit(L, &f);
    return 1;
}

/* usl_fit(workers, tps) -> the USL fit */
static int l_usl_fit(lua_State *L)
{
    double *x, *y;
    size_t n = read_xy(L, 0, "analysis.usl_fit", &x, &y);
    struct analysis_usl u;
    analysis_usl_fit(x, y, n, &u);
    push_usl(L, &u);
    return 1;
}

/* models_fit(workers, tps) -> the five fits and the choice (heap: the
 * struct is large) */
static int l_models_fit(lua_State *L)
{
    double *x, *y;
    size_t n = read_xy(L, 0, "analysis.models_fit", &x, &y);
    struct analysis_models *m = lua_newuserdata(L, sizeof *m);
    analysis_models_fit(x, y, n, m);
    push_models(L, m);
    return 1;
}

static double field_number(lua_State *L, int idx, const char *fn, const char *key)
{
    lua_getfield(L, idx, key);
    if (lua_type(L, -1) != LUA_TNUMBER)
        luaL_error(L, "%s: %s must be a number, not a %s", fn, key, luaL_typename(L, -1));
    double x = (double)lua_tonumber(L, -1);
    lua_pop(L, 1);
    return x;
}

/* usl_predict({sigma=, kappa=, lambda=}, workers) -> X(workers), or nil */
static int l_usl_predict(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    double sigma = field_number(L, 1, "analysis.usl_predict", "sigma");
    double kappa = field_number(L, 1, "analysis.usl_predict", "kappa");
    double lambda = field_number(L, 1, "analysis.usl_predict", "lambda");
    double n = (double)luaL_checknumber(L, 2);
    double den = 1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0);
    double x = lambda * n / den;
    if (!(den > 0.0) || !isfinite(x))
        lua_pushnil(L);
    else
        lua_pushnumber(L, (lua_Number)x);
    return 1;
}

/* erlang_c(c, a) or erlang_c(lambda, mu, c) -> {status, message, servers,
 * offered_load, utilisation, p_wait [, mean_wait]} */
static int l_erlang_c(lua_State *L)
{
    bool rates = lua_gettop(L) >= 3;
    double lambda = 0.0, mu = 0.0, a;
    int c;
    if (rates) {
        lambda = (double)luaL_checknumber(L, 1);
        mu = (double)luaL_checknumber(L, 2);
        c = lt_whole_int(L, luaL_checknumber(L, 3), "analysis.erlang_c", "c (servers)");
        a = mu > 0.0 ? lambda / mu : NAN;
    } else {
        c = lt_whole_int(L, luaL_checknumber(L, 1), "analysis.erlang_c", "c (servers)");
        a = (double)luaL_checknumber(L, 2);
    }
    double p = 0.0;
    enum analysis_status st = analysis_erlang_c(c, a, &p);
    lua_newtable(L);
    lt_set_string(L, "status", analysis_status_name(st));
    lt_set_string(L, "message", st == ANALYSIS_OK         ? "ok"
                             : st == ANALYSIS_UNSTABLE ? "utilisation >= 1: the queue grows without bound"
                                                       : "needs c >= 1 and a finite offered load >= 0 (mu > 0)");
    lt_set_number(L, "servers", c);
    if (st == ANALYSIS_INVALID_INPUT)
        return 1;
    lt_set_number(L, "offered_load", a);
    lt_set_number(L, "utilisation", a / c);
    lt_set_number(L, "p_wait", p);
    if (rates && st == ANALYSIS_OK && c * mu > lambda)
        lt_set_number(L, "mean_wait", p / (c * mu - lambda));
    return 1;
}

/* erlang_b(c, a) -> blocking probability */
static int l_erlang_b(lua_State *L)
{
    int c = lt_whole_int(L, luaL_checknumber(L, 1), "analysis.erlang_b", "c (servers)");
    double b = analysis_erlang_b(c, (double)luaL_checknumber(L, 2));
    lua_pushnumber(L, isfinite(b) ? b : 0.0);
    return 1;
}

/* little(tps, response_ms [, workers]) -> {littles_workers [, littles_ratio]} */
static int l_little(lua_State *L)
{
    double tps = (double)luaL_checknumber(L, 1);
    double response_ms = (double)luaL_checknumber(L, 2);
    lua_newtable(L);
    double n = tps * response_ms / 1000.0;
    lt_set_number(L, "littles_workers", n);
    if (!lua_isnoneornil(L, 3)) {
        double workers = (double)luaL_checknumber(L, 3);
        if (workers > 0.0)
            lt_set_number(L, "littles_ratio", n / workers);
    }
    return 1;
}

/* status_text("too_few_points") -> the sentence, or nil */
static int l_status_text(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    for (int s = ANALYSIS_OK; s <= ANALYSIS_NO_MEMORY; s++) {
        if (strcmp(name, analysis_status_name((enum analysis_status)s)) == 0) {
            lua_pushstring(L, analysis_status_text((enum analysis_status)s));
            return 1;
        }
    }
    lua_pushnil(L);
    return 1;
}

int luaopen_stormdb_analysis(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"run", l_run},
        {"describe", l_describe},
        {"queueing", l_queueing},
        {"fit", l_fit},
        {"usl_fit", l_usl_fit},
        {"models_fit", l_models_fit},
        {"usl_predict", l_usl_predict},
        {"erlang_c", l_erlang_c},
        {"erlang_b", l_erlang_b},
        {"little", l_little},
        {"status_text", l_status_text},
        {NULL, NULL},
    };
    analysis_init();
    if (luaL_newmetatable(L, RESULT_MT)) {
        lua_pushcfunction(L, result_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    if (luaL_newmetatable(L, LUA_TABLE_ARRAY_MT)) {
        lua_pushstring(L, "array");
        lua_setfield(L, -2, "__jsontype");
    }
    lua_pop(L, 1);

    lua_newtable(L);
    luaL_setfuncs(L, fns, 0);
    luaL_getmetatable(L, LUA_TABLE_ARRAY_MT);
    lua_setfield(L, -2, "array_mt");
    lua_pushnumber(L, ANALYSIS_MAX_BANDS);
    lua_setfield(L, -2, "MAX_BANDS");
    struct analysis_region_thresholds defaults;
    analysis_region_thresholds_default(&defaults);
    set_thresholds(L, "REGION_THRESHOLDS", &defaults);
    lua_bottleneck_register(L);
    return 1;
}
