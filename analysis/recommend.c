/*
 * Recommendation rules over an analysis result (see recommend.h; the rules
 * and thresholds are listed in docs/analysis.md).
 */
#include "analysis/recommend.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "analysis/common.h"

#define POOL_WAIT_SHARE 0.10     /* pool wait >= 10% of latency is worth acting on */
#define POOL_TARGET_P_WAIT 0.20  /* size the pool so Erlang C P(wait) <= 20% */
#define LITTLE_LOW 0.80          /* workers busy < 80% of the time */
#define FIT_POOR 0.90            /* best adjusted R^2 below this: the curve is not trustworthy */
#define NOISE_HIGH 0.05          /* relative noise above this */

struct recs {
    struct analysis_recommendation *out;
    size_t n, max;
};

static void add(struct recs *rs, enum analysis_rec_type type, enum analysis_rec_priority priority,
                enum analysis_rec_category category, double gain, double confidence, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
static void add(struct recs *rs, enum analysis_rec_type type, enum analysis_rec_priority priority,
                enum analysis_rec_category category, double gain, double confidence, const char *fmt, ...)
{
    if (rs->n >= rs->max)
        return;
    struct analysis_recommendation *r = &rs->out[rs->n++];
    memset(r, 0, sizeof *r);
    r->type = type;
    r->priority = priority;
    r->category = category;
    r->expected_gain = fmax(0.0, finite_or(gain, 0.0));
    r->confidence = clamp01(finite_or(confidence, 0.0));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->suggestion, sizeof r->suggestion, fmt, ap);
    va_end(ap);
}

static double usl_quality(const struct analysis_result *res)
{
    return clamp01(res->models.usl.fit.adj_r_squared);
}

/* The band with the most workers (last point of the series). */
static const struct analysis_point *largest(const struct analysis_result *res)
{
    return &res->series.points[res->series.n - 1];
}

/* Past the peak: the USL's N* when it fits, else the best measured band. */
static void rule_reduce_workers(const struct analysis_result *res, struct recs *rs)
{
    const struct analysis_point *top = largest(res);
    const struct analysis_usl *u = &res->models.usl;
    if (u->peak_status == ANALYSIS_OK && u->peak_workers * 1.1 < top->workers) {
        double target = fmax(1.0, round(u->peak_workers));
        double gain = safe_div(analysis_usl_predict(u, target), top->tps, 1.0) - 1.0;
        if (gain > 0.02 || res->regions.degradation.count > 0)
            add(rs, ANALYSIS_REC_REDUCE_WORKERS, ANALYSIS_PRIORITY_HIGH, ANALYSIS_CATEGORY_WORKERS, gain,
                usl_quality(res) * (u->peak_significant ? 1.0 : 0.5),
                "Run about %.0f workers (the USL peak N* = %.1f) rather than %d: past N* coherency costs "
                "outweigh added concurrency; predicted %.1f TPS against %.1f measured at %d workers.",
                target, u->peak_workers, top->workers, analysis_usl_predict(u, target), top->tps, top->workers);
        return;
    }
    if (res->regions.degradation.count > 0 && res->optimum.status == ANALYSIS_OK &&
        res->optimum.workers < top->workers) {
        double gain = safe_div(res->optimum.tps, top->tps, 1.0) - 1.0;
        add(rs, ANALYSIS_REC_REDUCE_WORKERS, ANALYSIS_PRIORITY_HIGH, ANALYSIS_CATEGORY_WORKERS, gain, 0.6,
            "Run %d workers rather than %d: throughput fell as workers were added beyond it (%.1f against "
            "%.1f TPS).",
            res->optimum.workers, top->workers, res->optimum.tps, top->tps);
    }
}

/* Pool size to suggest for a band: the smallest with Erlang C
 * P(wait) <= POOL_TARGET_P_WAIT at the measured load, and at least one more
 * than now; never more than the workers (extra connections would idle). */
static int pool_size_for(const struct analysis_band *b, const struct analysis_queueing *q)
{
    int c = b->connections + 1;
    for (; c < b->workers; c++) {
        double p;
        if (analysis_erlang_c(c, q->offered_load, &p) == ANALYSIS_OK && p <= POOL_TARGET_P_WAIT)
            break;
    }
    return c < b->workers ? c : b->workers;
}

/* The band most worth fixing: the chosen band if it queues, else the one
 * whose pool wait is the largest share of its latency. -1 when none queues. */
static int queued_band(const struct analysis_result *res, double *share_out)
{
    int pick = -1;
    double pick_share = 0.0;
    for (size_t i = 0; i < res->nbands; i++) {
        const struct analysis_band *b = &res->input[i];
        double share = safe_div(b->pool_wait_mean_ms, analysis_band_latency_mean_ms(b), 0.0);
        bool queued = share >= POOL_WAIT_SHARE ||
                      (res->queueing[i].status == ANALYSIS_UNSTABLE && b->pool_wait_mean_ms > 0.0);
        if (b->workers <= b->connections || !queued)
            continue;
        if ((int)i == res->optimum.band) {
            *share_out = share;
            return (int)i;
        }
        if (pick < 0 || share > pick_share) {
            pick = (int)i;
            pick_share = share;
        }
    }
    *share_out = pick_share;
    return pick;
}

/*
 * Workers queue for connections. In a closed loop X = N / (latency + wait),
 * so removing the wait could raise TPS by up to wait / latency (capped at
 * +100%): an upper bound, since more connections also load the server.
 * Confidence is higher when Erlang C agrees that the pool is saturated.
 */
static void rule_raise_connections(const struct analysis_result *res, struct recs *rs)
{
    double share;
    int pick = queued_band(res, &share);
    if (pick < 0)
        return;
    const struct analysis_band *b = &res->input[pick];
    const struct analysis_queueing *q = &res->queueing[pick];
    bool erlang_agrees = q->status == ANALYSIS_UNSTABLE || q->p_wait >= 0.5;
    add(rs, ANALYSIS_REC_RAISE_CONNECTIONS,
        pick == res->optimum.band ? ANALYSIS_PRIORITY_HIGH : ANALYSIS_PRIORITY_MEDIUM, ANALYSIS_CATEGORY_CONNECTIONS,
        fmin(1.0, share), erlang_agrees ? 0.7 : 0.4,
        "Raise connections from %d towards %d at %d workers: transactions waited %.3g ms for a connection "
        "(%.0f%% of their %.3g ms latency); pool utilisation %.2f, Erlang C P(wait) %.2f%s.",
        b->connections, pool_size_for(b, q), b->workers, b->pool_wait_mean_ms, 100.0 * share,
        analysis_band_latency_mean_ms(b), q->utilisation, q->p_wait,
        erlang_agrees ? "" : " (Erlang C does not see a saturated pool: check for connection churn too)");
}

static void rule_test_more_workers(const struct analysis_result *res, struct recs *rs)
{
    const struct analysis_regions *rg = &res->regions;
    const struct analysis_point *top = largest(res);
    bool all_linear = rg->status == ANALYSIS_OK && rg->linear_scaling.count >= 2 &&
                      rg->linear_scaling.count + 1 == rg->npoints;
    bool unbounded = res->models.status == ANALYSIS_OK && res->models.peak_status == ANALYSIS_UNBOUNDED;
    bool peak_beyond = res->models.usl.peak_status == ANALYSIS_OK && res->models.usl.peak_workers > top->workers;
    if (!all_linear && !unbounded && !peak_beyond)
        return;
    double gain = 0.0, quality = clamp01(res->models.adj_r_squared);
    if (res->models.usl.fit.status == ANALYSIS_OK) {
        double next = peak_beyond ? fmin(res->models.usl.peak_workers, 2.0 * top->workers) : 2.0 * top->workers;
        gain = safe_div(analysis_usl_predict(&res->models.usl, next), top->tps, 1.0) - 1.0;
    } else if (rg->status == ANALYSIS_OK) {
        gain = rg->point_efficiency[rg->npoints - 1];   /* per doubling, if the last step's efficiency held */
    }
    add(rs, ANALYSIS_REC_TEST_MORE_WORKERS, ANALYSIS_PRIORITY_MEDIUM, ANALYSIS_CATEGORY_WORKERS, gain,
        0.5 * (quality > 0.0 ? quality : 0.5),
        "Test more than %d workers: throughput %s at the largest band, so the peak has not been measured%s.",
        top->workers, all_linear ? "scaled linearly all the way" : "was still rising",
        peak_beyond ? " (the USL puts it further out; that figure is an extrapolation)" : "");
}

static void rule_errors(const struct analysis_result *res, struct recs *rs)
{
    size_t bad = 0, first = 0;
    double total = 0.0;
    for (size_t i = res->nbands; i-- > 0;) {
        if (res->input[i].errors > 0.0) {
            bad++;
            first = i;
            total += res->input[i].errors;
        }
    }
    if (bad == 0)
        return;
    add(rs, ANALYSIS_REC_FIX_ERRORS, bad == res->nbands ? ANALYSIS_PRIORITY_HIGH : ANALYSIS_PRIORITY_MEDIUM,
        ANALYSIS_CATEGORY_ERRORS, 0.0, 1.0,
        "%zu of %zu bands had failed transactions (%.0f in all, first at %d workers); %s",
        bad, res->nbands, total, res->input[first].workers,
        bad == res->nbands ? "every band failed some, so the optimum could not exclude them: fix the errors "
                             "before trusting the figures."
                           : "those bands were left out of the optimum.");
}

static void rule_latency(const struct analysis_result *res, struct recs *rs)
{
    if (res->optimum.status != ANALYSIS_OBJECTIVE_UNMET)
        return;
    add(rs, ANALYSIS_REC_MEET_LATENCY, ANALYSIS_PRIORITY_HIGH, ANALYSIS_CATEGORY_LATENCY, 0.0, 1.0,
        "No band met p95 <= %.3g ms: test fewer workers than %d, or relax the objective.",
        res->optimum.p95_objective_ms, res->series.points[0].workers);
}

static void rule_client(const struct analysis_result *res, struct recs *rs)
{
    int b = res->optimum.band;
    if (b < 0 || res->queueing[b].status == ANALYSIS_INVALID_INPUT || res->queueing[b].littles_ratio <= 0.0)
        return;
    double ratio = res->queueing[b].littles_ratio;
    if (ratio >= LITTLE_LOW)
        return;
    add(rs, ANALYSIS_REC_CHECK_CLIENT, ANALYSIS_PRIORITY_MEDIUM, ANALYSIS_CATEGORY_CLIENT,
        fmin(1.0, safe_div(1.0, ratio, 1.0) - 1.0), 0.5,
        "At %d workers Little's law gives only %.1f busy workers (TPS x response time, ratio %.2f): workers "
        "spend %.0f%% of their time outside transactions. Unless the workload has think time or a rate limit, "
        "the load generator is the bottleneck: give it more threads or CPU.",
        res->input[b].workers, res->queueing[b].littles_workers, ratio, 100.0 * (1.0 - ratio));
}

static void rule_measurement(const struct analysis_result *res, struct recs *rs)
{
    if (res->series.n < 4) {
        add(rs, ANALYSIS_REC_MORE_BANDS, ANALYSIS_PRIORITY_MEDIUM, ANALYSIS_CATEGORY_MEASUREMENT, 0.0, 1.0,
            "Measure at least 4 distinct worker counts (this run has %zu) so the scalability law can be fitted "
            "and the peak located.",
            res->series.n);
        return;
    }
    bool poor_fit = res->models.status == ANALYSIS_OK && res->models.adj_r_squared < FIT_POOR;
    bool noisy = res->optimum.status == ANALYSIS_OK && res->optimum.noise > NOISE_HIGH;
    if (!poor_fit && !noisy)
        return;
    add(rs, ANALYSIS_REC_REPEAT_MEASUREMENT, ANALYSIS_PRIORITY_LOW, ANALYSIS_CATEGORY_MEASUREMENT, 0.0,
        1.0 - res->optimum.confidence,
        "Repeat with longer bands (or a longer warmup): %s%s%s.",
        poor_fit ? "no model fits the throughput curve well" : "", poor_fit && noisy ? " and " : "",
        noisy ? "the chosen band's figures are noisy" : "");
}

static int by_priority(const void *pa, const void *pb)
{
    const struct analysis_recommendation *a = pa, *b = pb;
    if (a->priority != b->priority)
        return (int)a->priority - (int)b->priority;
    return (int)a->type - (int)b->type;
}

size_t analysis_recommend(const struct analysis_result *res, struct analysis_recommendation *out, size_t max)
{
    struct recs rs = {.out = out, .n = 0, .max = max};
    if (res->nbands == 0 || res->series.status != ANALYSIS_OK || res->series.n == 0)
        return 0;
    rule_errors(res, &rs);
    rule_latency(res, &rs);
    rule_reduce_workers(res, &rs);
    rule_raise_connections(res, &rs);
    rule_test_more_workers(res, &rs);
    rule_client(res, &rs);
    rule_measurement(res, &rs);
    qsort(out, rs.n, sizeof *out, by_priority);
    return rs.n;
}

const char *analysis_rec_type_name(enum analysis_rec_type type)
{
    static const char *const names[ANALYSIS_REC_TYPE_COUNT] = {
        [ANALYSIS_REC_FIX_ERRORS] = "fix_errors",
        [ANALYSIS_REC_MEET_LATENCY] = "meet_latency",
        [ANALYSIS_REC_REDUCE_WORKERS] = "reduce_workers",
        [ANALYSIS_REC_RAISE_CONNECTIONS] = "raise_connections",
        [ANALYSIS_REC_TEST_MORE_WORKERS] = "test_more_workers",
        [ANALYSIS_REC_CHECK_CLIENT] = "check_client",
        [ANALYSIS_REC_MORE_BANDS] = "more_bands",
        [ANALYSIS_REC_REPEAT_MEASUREMENT] = "repeat_measurement",
    };
    return (unsigned)type < ANALYSIS_REC_TYPE_COUNT ? names[type] : "unknown";
}

const char *analysis_rec_category_name(enum analysis_rec_category category)
{
    static const char *const names[ANALYSIS_CATEGORY_COUNT] = {"workers", "connections", "errors",
                                                               "latency", "client",      "measurement"};
    return (unsigned)category < ANALYSIS_CATEGORY_COUNT ? names[category] : "unknown";
}

const char *analysis_rec_priority_name(enum analysis_rec_priority priority)
{
    switch (priority) {
    case ANALYSIS_PRIORITY_HIGH: return "high";
    case ANALYSIS_PRIORITY_MEDIUM: return "medium";
    case ANALYSIS_PRIORITY_LOW: return "low";
    default: return "unknown";
    }
}
