/*
 * The single entry point over whole runs: realistic runs give coherent
 * parts and recommendations; degenerate runs (0, 1 or 2 bands, equal TPS,
 * zeros, negative or NaN figures, duplicated or identical worker counts,
 * too many bands, absurd magnitudes) give a clear status -- and in every
 * case every double in the result is finite.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "analysis/analysis.h"

/* ---- every double in a result is finite ---- */

static int nonfinite;

#define F(x)                                                                                          \
    do {                                                                                              \
        if (!isfinite(x)) {                                                                           \
            print_error("not finite: %s = %g\n", #x, (double)(x));                                   \
            nonfinite++;                                                                              \
        }                                                                                             \
    } while (0)

static void check_band(const struct analysis_band *b)
{
    F(b->seconds); F(b->tps); F(b->count); F(b->latency_sum_ms); F(b->latency_sumsq_ms2);
    F(b->latency_mean_ms); F(b->latency_sd_ms); F(b->p95_ms); F(b->errors); F(b->busy_seconds);
    F(b->pool_wait_mean_ms);
}

static void check_stats(const struct analysis_band_stats *s)
{
    F(s->tps); F(s->latency_mean_ms); F(s->latency_sd_ms); F(s->latency_variance_ms2); F(s->latency_cv);
    F(s->latency_ci_low_ms); F(s->latency_ci_high_ms); F(s->latency_ci_rel); F(s->tps_per_worker);
    F(s->tps_per_connection); F(s->connection_utilisation);
}

static void check_queueing(const struct analysis_queueing *q)
{
    F(q->response_ms); F(q->littles_workers); F(q->littles_ratio); F(q->arrival_rate); F(q->service_rate);
    F(q->offered_load); F(q->utilisation); F(q->p_wait); F(q->predicted_wait_ms); F(q->measured_wait_ms);
    F(q->wait_ratio);
}

static void check_fit(const struct analysis_fit *f)
{
    for (int j = 0; j < ANALYSIS_FIT_MAX_PARAMS; j++) {
        F(f->param[j]); F(f->param_se[j]); F(f->param_ci_low[j]); F(f->param_ci_high[j]);
    }
    F(f->rss); F(f->r_squared); F(f->adj_r_squared); F(f->aic); F(f->rse);
}

static void check_models(const struct analysis_models *m)
{
    check_fit(&m->linear); check_fit(&m->logarithmic); check_fit(&m->exponential); check_fit(&m->logistic);
    check_fit(&m->usl.fit);
    F(m->usl.peak_workers); F(m->usl.peak_tps); F(m->usl.min_workers); F(m->usl.max_workers);
    F(m->r_squared); F(m->adj_r_squared); F(m->predicted_peak_tps); F(m->predicted_peak_workers);
    F(m->saturation_workers); F(m->min_workers); F(m->max_workers);
}

static void check_answer(const struct analysis_capacity_answer *a)
{
    F(a->target); F(a->workers); F(a->tps); F(a->latency_ms);
}

static void check_result(const struct analysis_result *r)
{
    nonfinite = 0;
    F(r->options.p95_objective_ms); F(r->options.target_tps); F(r->options.target_latency_ms);
    F(r->options.regions.linear); F(r->options.regions.diminishing); F(r->options.regions.saturation);
    for (size_t i = 0; i < ANALYSIS_MAX_BANDS; i++) {
        check_band(&r->input[i]);
        check_stats(&r->bands[i]);
        check_queueing(&r->queueing[i]);
        F(r->series.workers[i]); F(r->series.tps[i]); F(r->series.points[i].tps);
        F(r->derivatives.gains[i].gain); F(r->derivatives.gains[i].efficiency);
        F(r->derivatives.curvature[i].d2); F(r->derivatives.inflections[i].workers);
        F(r->regions.point_efficiency[i]);
    }
    F(r->derivatives.baseline_tps_per_worker);
    check_models(&r->models);
    F(r->regions.thresholds.linear); F(r->regions.thresholds.diminishing); F(r->regions.thresholds.saturation);
    const struct analysis_optimum *o = &r->optimum;
    F(o->tps); F(o->efficiency); F(o->p95_ms); F(o->p95_objective_ms); F(o->usl_peak_workers);
    F(o->usl_peak_tps); F(o->fit_quality); F(o->noise); F(o->confidence);
    F(r->p95_ratio);
    check_answer(&r->workers_for_tps);
    check_answer(&r->tps_under_latency);
    for (size_t i = 0; i < ANALYSIS_MAX_RECOMMENDATIONS; i++) {
        F(r->recommendations[i].expected_gain); F(r->recommendations[i].confidence);
    }
    assert_int_equal(nonfinite, 0);
    assert_true(r->message[0] != '\0');
    assert_true(o->confidence >= 0.0 && o->confidence <= 1.0);
}

/* ---- bands ---- */

static double usl(double n, double sigma, double kappa, double lambda)
{
    return lambda * n / (1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0));
}

/* A closed-loop band: latency + pool wait = workers / TPS (Little's law). */
static struct analysis_band band(int workers, int connections, double tps, double wait_ms)
{
    double response = tps > 0.0 ? 1000.0 * workers / tps : 0.0;
    double mean = response > wait_ms ? response - wait_ms : response;
    double count = tps * 60.0, sd = 0.4 * mean;
    return (struct analysis_band){
        .workers = workers, .connections = connections, .seconds = 60.0, .tps = tps, .count = count,
        .latency_sum_ms = mean * count, .latency_sumsq_ms2 = (sd * sd + mean * mean) * count,
        .p95_ms = 1.8 * mean + wait_ms, .busy_seconds = tps * 60.0 * mean / 1000.0,
        .pool_wait_mean_ms = wait_ms};
}

static struct analysis_result *run(const struct analysis_band *b, size_t n, const struct analysis_options *o)
{
    struct analysis_result *r = analysis_run(b, n, o);
    assert_non_null(r);
    check_result(r);
    return r;
}

static bool has_rec(const struct analysis_result *r, enum analysis_rec_type type)
{
    for (size_t i = 0; i < r->nrecommendations; i++)
        if (r->recommendations[i].type == type)
            return true;
    return false;
}

/* A run past its peak, with a pool smaller than the workers at the top. */
static void realistic_run(void **state)
{
    (void)state;
    const int w[] = {1, 2, 4, 8, 16, 24, 32, 48, 64, 96};
    struct analysis_band b[10];
    for (int i = 0; i < 10; i++) {
        int conns = w[i] < 32 ? w[i] : 32;
        double wait = w[i] > 32 ? 0.5 * 1000.0 * w[i] / usl(w[i], 0.02, 0.0005, 100.0) : 0.0;
        b[i] = band(w[i], conns, usl(w[i], 0.02, 0.0005, 100.0), wait);
    }
    struct analysis_result *r = run(b, 10, NULL);
    assert_int_equal(r->status, ANALYSIS_OK);
    assert_int_equal(r->nbands, 10);
    assert_int_equal(r->series.n, 10);
    assert_int_equal(r->models.best, ANALYSIS_MODEL_USL);
    assert_true(fabs(r->models.predicted_peak_workers - sqrt(0.98 / 0.0005)) < 1e-3);
    assert_int_equal(r->regions.status, ANALYSIS_OK);
    assert_int_equal(r->regions.band_region[0], ANALYSIS_REGION_BASELINE);
    assert_int_equal(r->regions.band_region[9], ANALYSIS_REGION_DEGRADATION);
    assert_int_equal(r->optimum.workers, 48);
    assert_true(r->optimum.confidence > 0.9);
    assert_true(strlen(r->optimum.reasoning) > 100);
    assert_true(has_rec(r, ANALYSIS_REC_REDUCE_WORKERS));
    assert_true(has_rec(r, ANALYSIS_REC_RAISE_CONNECTIONS));
    assert_false(has_rec(r, ANALYSIS_REC_TEST_MORE_WORKERS));
    assert_false(has_rec(r, ANALYSIS_REC_FIX_ERRORS));
    for (size_t i = 0; i + 1 < r->nrecommendations; i++)
        assert_true(r->recommendations[i].priority <= r->recommendations[i + 1].priority);
    for (size_t i = 0; i < r->nrecommendations; i++) {
        assert_true(r->recommendations[i].suggestion[0] != '\0');
        assert_string_not_equal(analysis_rec_type_name(r->recommendations[i].type), "unknown");
    }
    assert_true(r->queueing[0].littles_ratio > 0.99 && r->queueing[0].littles_ratio < 1.01);
    analysis_result_free(r);
}

/* Linear all the way: test more workers. */
static void linear_run_asks_for_more(void **state)
{
    (void)state;
    struct analysis_band b[6];
    for (int i = 0; i < 6; i++)
        b[i] = band(1 << i, 1 << i, 150.0 * (1 << i), 0.0);
    struct analysis_result *r = run(b, 6, NULL);
    assert_int_equal(r->status, ANALYSIS_OK);
    assert_int_equal(r->regions.linear_scaling.count, 5);
    assert_true(has_rec(r, ANALYSIS_REC_TEST_MORE_WORKERS));
    assert_false(has_rec(r, ANALYSIS_REC_REDUCE_WORKERS));
    assert_int_equal(r->models.peak_status, ANALYSIS_UNBOUNDED);
    analysis_result_free(r);
}

static void no_bands_one_band_two_bands(void **state)
{
    (void)state;
    struct analysis_band b[2] = {band(4, 4, 400.0, 0.0), band(8, 8, 700.0, 0.0)};
    struct analysis_result *r = run(b, 0, NULL);
    assert_int_equal(r->status, ANALYSIS_TOO_FEW_POINTS);
    assert_int_equal(r->nrecommendations, 0);
    analysis_result_free(r);

    r = run(b, 1, NULL);
    assert_int_equal(r->status, ANALYSIS_TOO_FEW_POINTS);
    assert_int_equal(r->bands[0].status, ANALYSIS_OK);
    assert_int_equal(r->models.status, ANALYSIS_TOO_FEW_POINTS);
    assert_int_equal(r->models.usl.fit.status, ANALYSIS_TOO_FEW_POINTS);
    assert_int_equal(r->derivatives.status, ANALYSIS_TOO_FEW_POINTS);
    assert_int_equal(r->regions.status, ANALYSIS_TOO_FEW_POINTS);
    assert_int_equal(r->optimum.status, ANALYSIS_OK);   /* one band is still a choice */
    assert_int_equal(r->optimum.workers, 4);
    assert_true(r->optimum.fit_quality == 0.5);
    assert_true(has_rec(r, ANALYSIS_REC_MORE_BANDS));
    analysis_result_free(r);

    r = run(b, 2, NULL);
    assert_int_equal(r->status, ANALYSIS_TOO_FEW_POINTS);
    assert_int_equal(r->derivatives.ngains, 1);
    assert_int_equal(r->regions.status, ANALYSIS_OK);
    assert_int_equal(r->optimum.workers, 8);
    analysis_result_free(r);
}

static void equal_tps_and_zeros(void **state)
{
    (void)state;
    struct analysis_band b[5];
    for (int i = 0; i < 5; i++)
        b[i] = band(1 << i, 1 << i, 500.0, 0.0);
    struct analysis_result *r = run(b, 5, NULL);
    assert_int_equal(r->status, ANALYSIS_NO_VARIATION);
    assert_int_equal(r->models.status, ANALYSIS_NO_VARIATION);
    assert_int_equal(r->models.best, ANALYSIS_MODEL_NONE);
    assert_int_equal(r->regions.saturation.count, 4);
    assert_int_equal(r->optimum.workers, 1);   /* equal TPS: the fewest workers */
    analysis_result_free(r);

    memset(b, 0, sizeof b);
    for (int i = 0; i < 5; i++) {
        b[i].workers = b[i].connections = 1 << i;
        b[i].seconds = 10.0;
    }
    r = run(b, 5, NULL);
    assert_int_equal(r->status, ANALYSIS_NO_VARIATION);
    assert_int_equal(r->bands[0].status, ANALYSIS_NO_DATA);
    assert_int_equal(r->queueing[0].status, ANALYSIS_NO_DATA);
    assert_int_equal(r->regions.status, ANALYSIS_NO_DATA);
    analysis_result_free(r);
}

static void negative_and_nan_figures(void **state)
{
    (void)state;
    struct analysis_band b[4];
    for (int i = 0; i < 4; i++)
        b[i] = band(1 << i, 1 << i, 100.0 * (1 << i), 0.0);
    b[2].tps = -1.0;
    struct analysis_result *r = run(b, 4, NULL);
    assert_int_equal(r->status, ANALYSIS_INVALID_INPUT);
    assert_non_null(strstr(r->message, "band 2"));
    assert_non_null(strstr(r->message, "tps is negative"));
    assert_int_equal(r->bands[2].status, ANALYSIS_INVALID_INPUT);
    assert_int_equal(r->bands[1].status, ANALYSIS_OK);
    assert_int_equal(r->nrecommendations, 0);
    analysis_result_free(r);

    b[2].tps = 400.0;
    b[3].latency_sum_ms = NAN;
    r = run(b, 4, NULL);
    assert_int_equal(r->status, ANALYSIS_INVALID_INPUT);
    assert_non_null(strstr(r->message, "latency_sum_ms is NaN"));
    analysis_result_free(r);

    b[3].latency_sum_ms = 10.0;
    b[0].workers = -3;
    r = run(b, 4, NULL);
    assert_int_equal(r->status, ANALYSIS_INVALID_INPUT);
    analysis_result_free(r);

    /* bad options are treated as not set, never stored */
    b[0].workers = 1;
    struct analysis_options o;
    analysis_options_default(&o);
    o.p95_objective_ms = NAN;
    o.target_tps = INFINITY;
    o.target_latency_ms = -5.0;
    o.regions.linear = NAN;
    r = run(b, 4, &o);
    assert_int_equal(r->status, ANALYSIS_OK);
    assert_int_equal(r->regions.status, ANALYSIS_INVALID_INPUT);
    assert_int_equal(r->workers_for_tps.status, ANALYSIS_NOT_REQUESTED);
    assert_int_equal(r->tps_under_latency.status, ANALYSIS_NOT_REQUESTED);
    analysis_result_free(r);
}

static void duplicated_and_identical_workers(void **state)
{
    (void)state;
    /* each worker count twice: averaged into one point */
    struct analysis_band b[10];
    for (int i = 0; i < 10; i++)
        b[i] = band(1 << (i / 2), 1 << (i / 2), usl(1 << (i / 2), 0.05, 0.01, 200.0) * (i % 2 ? 1.01 : 0.99), 0.0);
    struct analysis_result *r = run(b, 10, NULL);
    assert_int_equal(r->status, ANALYSIS_OK);
    assert_int_equal(r->series.n, 5);
    assert_int_equal(r->series.points[4].nbands, 2);
    assert_true(fabs(r->series.tps[4] - usl(16, 0.05, 0.01, 200.0)) < 1e-9);
    assert_int_equal(r->models.usl.fit.status, ANALYSIS_OK);
    assert_true(fabs(r->models.usl.fit.param[ANALYSIS_USL_KAPPA] - 0.01) < 1e-6);
    assert_int_equal(r->regions.band_region[8], r->regions.band_region[9]);
    analysis_result_free(r);

    /* a connection sweep at fixed workers: one point, per-band figures only */
    for (int i = 0; i < 4; i++)
        b[i] = band(32, 4 << i, 1000.0 + 100.0 * i, 0.0);
    r = run(b, 4, NULL);
    assert_int_equal(r->status, ANALYSIS_TOO_FEW_POINTS);
    assert_int_equal(r->series.n, 1);
    assert_int_equal(r->optimum.connections, 32);
    analysis_result_free(r);
}

static void too_many_bands(void **state)
{
    (void)state;
    size_t n = ANALYSIS_MAX_BANDS + 1;
    struct analysis_band *b = calloc(n, sizeof *b);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++)
        b[i] = band((int)i + 1, (int)i + 1, 10.0 * (double)(i + 1), 0.0);
    struct analysis_result *r = run(b, n, NULL);
    assert_int_equal(r->status, ANALYSIS_TOO_MANY_BANDS);
    analysis_result_free(r);
    r = run(b, ANALYSIS_MAX_BANDS, NULL);   /* the most allowed */
    assert_int_equal(r->status, ANALYSIS_OK);
    assert_int_equal(r->regions.linear_scaling.count, ANALYSIS_MAX_BANDS - 1);
    analysis_result_free(r);
    free(b);
}

/* Absurd magnitudes must not overflow into Inf anywhere. */
static void extreme_magnitudes(void **state)
{
    (void)state;
    struct analysis_band b[5];
    for (int i = 0; i < 5; i++) {
        b[i] = band(1 << i, 1 << i, 1e150 * (1 << i) * (i == 4 ? 0.5 : 1.0), 0.0);
        b[i].count = 1e300;
        b[i].latency_sum_ms = 1e300;
        b[i].latency_sumsq_ms2 = 1e300;
    }
    struct analysis_result *r = run(b, 5, NULL);
    analysis_result_free(r);

    for (int i = 0; i < 5; i++)
        b[i] = band(INT_MAX - 4 + i, INT_MAX, 1e-300 * (i + 1), 0.0);
    r = run(b, 5, NULL);
    analysis_result_free(r);

    for (int i = 0; i < 5; i++)
        b[i] = band(1 + i, 1, i == 2 ? 1e6 : 1.0, 0.0);   /* one wild outlier */
    r = run(b, 5, NULL);
    analysis_result_free(r);
}

/* Random runs: random shapes, sizes, noise, duplicates, zeros and the odd
 * invalid figure. Whatever comes in, nothing non-finite comes out. */
static void random_runs_stay_finite(void **state)
{
    (void)state;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 12345);
    static struct analysis_band b[40];
    for (int run_no = 0; run_no < 300; run_no++) {
        size_t n = gsl_rng_uniform_int(rng, 40);
        double sigma = gsl_rng_uniform(rng) * 0.5, kappa = gsl_rng_uniform(rng) * 0.01;
        double lambda = pow(10.0, gsl_rng_uniform(rng) * 8.0 - 2.0);
        double noise = gsl_rng_uniform(rng) * 0.5;
        for (size_t i = 0; i < n; i++) {
            int w = 1 + (int)gsl_rng_uniform_int(rng, 200);
            int c = 1 + (int)gsl_rng_uniform_int(rng, 200);
            double tps = usl(w, sigma, kappa, lambda) * fabs(1.0 + gsl_ran_gaussian(rng, noise));
            if (gsl_rng_uniform(rng) < 0.05)
                tps = 0.0;
            b[i] = band(w, c, tps, gsl_rng_uniform(rng) < 0.3 ? gsl_rng_uniform(rng) * 50.0 : 0.0);
            if (gsl_rng_uniform(rng) < 0.1)
                b[i].errors = gsl_rng_uniform_int(rng, 100);
            if (gsl_rng_uniform(rng) < 0.01)
                b[i].p95_ms = NAN;
        }
        struct analysis_options o;
        analysis_options_default(&o);
        o.p95_objective_ms = gsl_rng_uniform(rng) < 0.5 ? gsl_rng_uniform(rng) * 100.0 : 0.0;
        o.target_tps = gsl_rng_uniform(rng) * lambda * 50.0;
        o.target_latency_ms = gsl_rng_uniform(rng) * 200.0;
        o.target_latency_kind = gsl_rng_uniform(rng) < 0.5 ? ANALYSIS_LATENCY_MEAN : ANALYSIS_LATENCY_P95;
        struct analysis_result *r = analysis_run(b, n, &o);
        assert_non_null(r);
        check_result(r);
        analysis_result_free(r);
    }
    gsl_rng_free(rng);
}

static void names_are_stable(void **state)
{
    (void)state;
    assert_string_equal(analysis_status_name(ANALYSIS_OK), "ok");
    assert_string_equal(analysis_status_name(ANALYSIS_TOO_FEW_POINTS), "too_few_points");
    assert_string_equal(analysis_status_name(ANALYSIS_UNSTABLE), "unstable");
    assert_string_equal(analysis_status_name((enum analysis_status)999), "unknown");
    assert_true(strlen(analysis_status_text(ANALYSIS_SINGULAR)) > 10);
    assert_string_equal(analysis_rec_type_name(ANALYSIS_REC_RAISE_CONNECTIONS), "raise_connections");
    assert_string_equal(analysis_rec_category_name(ANALYSIS_CATEGORY_CONNECTIONS), "connections");
    assert_string_equal(analysis_rec_priority_name(ANALYSIS_PRIORITY_HIGH), "high");
    assert_string_equal(analysis_model_name(ANALYSIS_MODEL_USL), "usl");
}

int main(void)
{
    analysis_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(realistic_run),
        cmocka_unit_test(linear_run_asks_for_more),
        cmocka_unit_test(no_bands_one_band_two_bands),
        cmocka_unit_test(equal_tps_and_zeros),
        cmocka_unit_test(negative_and_nan_figures),
        cmocka_unit_test(duplicated_and_identical_workers),
        cmocka_unit_test(too_many_bands),
        cmocka_unit_test(extreme_magnitudes),
        cmocka_unit_test(random_runs_stay_finite),
        cmocka_unit_test(names_are_stable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
