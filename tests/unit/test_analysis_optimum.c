/*
 * The optimal configuration (latency objective, zero-error constraint,
 * confidence from fit quality and noise) and the capacity questions on exact
 * USL data (fewest workers for a TPS target, highest TPS under a latency
 * target, extrapolation flags).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "analysis/analysis.h"

#define assert_near(actual, expected, tol)                                                            \
    do {                                                                                              \
        double a_ = (actual), e_ = (expected);                                                        \
        if (!(fabs(a_ - e_) <= (tol))) {                                                              \
            print_error("%s = %.15g, expected %.15g (tol %g)\n", #actual, a_, e_, (double)(tol));    \
            fail();                                                                                   \
        }                                                                                             \
    } while (0)

static double usl(double n, double sigma, double kappa, double lambda)
{
    return lambda * n / (1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0));
}

/* A closed-loop band consistent with Little's law: latency = workers / TPS. */
static struct analysis_band band(int workers, double tps, double p95_ms, double errors)
{
    double mean_ms = 1000.0 * workers / tps;
    double count = tps * 60.0;
    double sd = 0.3 * mean_ms;
    return (struct analysis_band){
        .workers = workers, .connections = workers, .seconds = 60.0, .tps = tps, .count = count,
        .latency_sum_ms = mean_ms * count, .latency_sumsq_ms2 = (sd * sd + mean_ms * mean_ms) * count,
        .p95_ms = p95_ms, .errors = errors, .busy_seconds = workers * 60.0 * 0.9};
}

static const int WORKERS[] = {1, 2, 4, 8, 16, 24, 32, 48, 64};
enum { NB = sizeof WORKERS / sizeof WORKERS[0] };

static void usl_bands(struct analysis_band *b, double noise, unsigned long seed)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    for (int i = 0; i < NB; i++) {
        double tps = usl(WORKERS[i], 0.02, 0.0005, 100.0);
        if (noise > 0.0)
            tps += gsl_ran_gaussian(rng, noise * 1000.0);
        b[i] = band(WORKERS[i], tps, 2.0 * 1000.0 * WORKERS[i] / tps, 0.0);
    }
    gsl_rng_free(rng);
}

static void objective_is_respected(void **state)
{
    (void)state;
    struct analysis_band b[NB];
    usl_bands(b, 0.0, 1);
    struct analysis_options o;
    analysis_options_default(&o);
    struct analysis_result *r = analysis_run(b, NB, &o);
    assert_non_null(r);
    assert_int_equal(r->optimum.status, ANALYSIS_OK);
    assert_int_equal(r->optimum.workers, 48);   /* highest measured TPS, near N* = 44 */
    assert_true(r->optimum.usl_peak);
    assert_near(r->optimum.usl_peak_workers, sqrt(0.98 / 0.0005), 1e-4);
    analysis_result_free(r);

    o.p95_objective_ms = 30.0;   /* p95 = 2 N / X(N) s: 8 workers 23 ms, 16 workers 28 ms, 24 workers 35 ms */
    r = analysis_run(b, NB, &o);
    assert_int_equal(r->optimum.status, ANALYSIS_OK);
    assert_int_equal(r->optimum.workers, 16);
    assert_true(r->optimum.p95_ms <= 30.0);
    assert_int_equal(r->optimum.candidates, 5);
    assert_non_null(strstr(r->optimum.reasoning, "p95 <= 30 ms"));
    analysis_result_free(r);

    o.p95_objective_ms = 5.0;    /* below even one worker's p95 (20 ms) */
    r = analysis_run(b, NB, &o);
    assert_int_equal(r->optimum.status, ANALYSIS_OBJECTIVE_UNMET);
    assert_int_equal(r->optimum.band, -1);
    assert_near(r->optimum.tps, 0.0, 0.0);
    assert_non_null(strstr(r->optimum.reasoning, "No band meets"));
    bool advised = false;
    for (size_t i = 0; i < r->nrecommendations; i++)
        advised |= r->recommendations[i].type == ANALYSIS_REC_MEET_LATENCY &&
                   r->recommendations[i].priority == ANALYSIS_PRIORITY_HIGH;
    assert_true(advised);
    analysis_result_free(r);
}

static void bands_with_errors_are_excluded(void **state)
{
    (void)state;
    struct analysis_band b[NB];
    usl_bands(b, 0.0, 1);
    b[7].errors = 3;   /* 48 workers, the best TPS */
    struct analysis_result *r = analysis_run(b, NB, NULL);
    assert_int_equal(r->optimum.status, ANALYSIS_OK);
    assert_int_equal(r->optimum.workers, 32);   /* the next best: X(32) = 1512 > X(64) = 1497 */
    assert_true(r->optimum.errors_excluded);
    assert_false(r->optimum.all_bands_had_errors);
    analysis_result_free(r);

    for (int i = 0; i < NB; i++)
        b[i].errors = 1;   /* all had errors: none can be excluded */
    r = analysis_run(b, NB, NULL);
    assert_int_equal(r->optimum.workers, 48);
    assert_true(r->optimum.all_bands_had_errors);
    assert_false(r->optimum.errors_excluded);
    assert_int_equal(r->recommendations[0].type, ANALYSIS_REC_FIX_ERRORS);
    analysis_result_free(r);
}

static void noisy_data_lowers_confidence(void **state)
{
    (void)state;
    struct analysis_band clean[NB], noisy[NB];
    usl_bands(clean, 0.0, 1);
    usl_bands(noisy, 0.03, 5);
    struct analysis_result *rc = analysis_run(clean, NB, NULL);
    struct analysis_result *rn = analysis_run(noisy, NB, NULL);
    assert_int_equal(rc->optimum.status, ANALYSIS_OK);
    assert_int_equal(rn->optimum.status, ANALYSIS_OK);
    assert_true(rc->optimum.confidence > 0.9);
    assert_true(rn->optimum.confidence < rc->optimum.confidence - 0.05);
    assert_true(rn->optimum.confidence > 0.0 && rn->optimum.confidence <= 1.0);
    assert_true(rn->optimum.noise > rc->optimum.noise);
    analysis_result_free(rc);
    analysis_result_free(rn);

    assert_near(analysis_confidence(1.0, 0.0), 1.0, 0.0);
    assert_near(analysis_confidence(1.0, 0.05), 0.5, 1e-12);
    assert_near(analysis_confidence(0.9, 0.01), 0.9 / 1.04, 1e-12);
    assert_near(analysis_confidence(-3.0, NAN), 0.0, 0.0);
}

/* sigma = kappa = 0.02, lambda = 1 at N = 1, 2, 4, 6, 8, 10: X(4) = 3.077,
 * X(5) = 3.378, X(6) = 3.529, peak X(7) = 3.571; R(N) = N / X(N) s. */
static void fit_exact(const double *n, size_t count, struct analysis_usl *u)
{
    double y[10];
    for (size_t i = 0; i < count; i++)
        y[i] = usl(n[i], 0.02, 0.02, 1.0);
    assert_int_equal(analysis_usl_fit(n, y, count, u), ANALYSIS_OK);
}

static void fewest_workers_for_a_target(void **state)
{
    (void)state;
    const double n[] = {1, 2, 4, 6, 8, 10};
    struct analysis_usl u;
    struct analysis_capacity_answer a;
    fit_exact(n, 6, &u);
    assert_int_equal(analysis_capacity_workers_for_tps(&u, 3.2, &a), ANALYSIS_OK);
    assert_near(a.workers, 5.0, 0.0);
    assert_near(a.tps, 5.0 / 1.48, 1e-6);
    assert_false(a.extrapolated);
    assert_int_equal(analysis_capacity_workers_for_tps(&u, 3.0, &a), ANALYSIS_OK);
    assert_near(a.workers, 4.0, 0.0);
    assert_int_equal(analysis_capacity_workers_for_tps(&u, 0.5, &a), ANALYSIS_OK);
    assert_near(a.workers, 1.0, 0.0);
    assert_int_equal(analysis_capacity_workers_for_tps(&u, 7.0 / 1.96, &a), ANALYSIS_OK);  /* the peak itself */
    assert_near(a.workers, 7.0, 0.0);
    assert_int_equal(analysis_capacity_workers_for_tps(&u, 4.0, &a), ANALYSIS_UNREACHABLE);
    assert_near(a.workers, 0.0, 0.0);
    assert_int_equal(analysis_capacity_workers_for_tps(&u, 0.0, &a), ANALYSIS_NOT_REQUESTED);

    /* measured only up to 4 workers: 3.5 TPS needs 6, beyond the range */
    const double few[] = {1, 2, 3, 4};
    fit_exact(few, 4, &u);
    assert_int_equal(analysis_capacity_workers_for_tps(&u, 3.5, &a), ANALYSIS_OK);
    assert_near(a.workers, 6.0, 0.0);
    assert_true(a.extrapolated);
    assert_int_equal(analysis_capacity_workers_for_tps(&u, 2.0, &a), ANALYSIS_OK);
    assert_false(a.extrapolated);
}

static void highest_tps_under_latency(void **state)
{
    (void)state;
    const double n[] = {1, 2, 4, 6, 8, 10};
    struct analysis_usl u;
    struct analysis_capacity_answer a;
    fit_exact(n, 6, &u);
    /* R(5) = 1480 ms, R(6) = 1700 ms */
    assert_int_equal(analysis_capacity_tps_under_latency(&u, 1500.0, 1.0, &a), ANALYSIS_OK);
    assert_near(a.workers, 5.0, 0.0);
    assert_near(a.tps, 5.0 / 1.48, 1e-6);
    assert_near(a.latency_ms, 1480.0, 1e-3);
    assert_false(a.extrapolated);
    /* R(10) = 2980 ms allows 10 workers, but X peaks at 7 */
    assert_int_equal(analysis_capacity_tps_under_latency(&u, 3000.0, 1.0, &a), ANALYSIS_OK);
    assert_near(a.workers, 7.0, 0.0);
    assert_near(a.tps, 7.0 / 1.96, 1e-6);
    /* a p95 target scaled by a p95/mean ratio of 2: mean <= 1500 ms */
    assert_int_equal(analysis_capacity_tps_under_latency(&u, 3000.0, 2.0, &a), ANALYSIS_OK);
    assert_near(a.workers, 5.0, 0.0);
    assert_near(a.latency_ms, 2960.0, 1e-3);
    assert_int_equal(analysis_capacity_tps_under_latency(&u, 900.0, 1.0, &a), ANALYSIS_UNREACHABLE);
    assert_int_equal(analysis_capacity_tps_under_latency(&u, 1500.0, 0.0, &a), ANALYSIS_NO_DATA);

    const double few[] = {1, 2, 3, 4};
    fit_exact(few, 4, &u);
    assert_int_equal(analysis_capacity_tps_under_latency(&u, 1500.0, 1.0, &a), ANALYSIS_OK);
    assert_near(a.workers, 5.0, 0.0);
    assert_true(a.extrapolated);

    struct analysis_usl none;
    memset(&none, 0, sizeof none);
    none.fit.status = ANALYSIS_TOO_FEW_POINTS;
    assert_int_equal(analysis_capacity_tps_under_latency(&none, 1500.0, 1.0, &a), ANALYSIS_TOO_FEW_POINTS);
}

/* Through the entry point: options ask the questions, p95 targets use the
 * measured p95/mean ratio. */
static void capacity_through_run(void **state)
{
    (void)state;
    struct analysis_band b[NB];
    usl_bands(b, 0.0, 1);
    struct analysis_options o;
    analysis_options_default(&o);
    o.target_tps = 1000.0;
    o.target_latency_ms = 60.0;
    o.target_latency_kind = ANALYSIS_LATENCY_P95;
    struct analysis_result *r = analysis_run(b, NB, &o);
    assert_near(r->p95_ratio, 2.0, 1e-9);
    assert_int_equal(r->workers_for_tps.status, ANALYSIS_OK);
    int expect = 1;
    while (usl(expect, 0.02, 0.0005, 100.0) < 1000.0)
        expect++;
    assert_near(r->workers_for_tps.workers, expect, 0.0);
    /* p95 <= 60 ms means mean <= 30 ms: R(46) = 29.35 ms, R(47) = 30.01 ms, so
     * up to 46 workers are allowed; TPS peaks at N* = 44.3 -> 44 workers */
    assert_int_equal(r->tps_under_latency.status, ANALYSIS_OK);
    assert_near(r->tps_under_latency.workers, 44.0, 0.0);
    assert_near(r->tps_under_latency.tps, usl(44.0, 0.02, 0.0005, 100.0), 1e-6);
    assert_true(r->tps_under_latency.latency_ms <= 60.0);
    assert_false(r->tps_under_latency.extrapolated);
    analysis_result_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(objective_is_respected),
        cmocka_unit_test(bands_with_errors_are_excluded),
        cmocka_unit_test(noisy_data_lowers_confidence),
        cmocka_unit_test(fewest_workers_for_a_target),
        cmocka_unit_test(highest_tps_under_latency),
        cmocka_unit_test(capacity_through_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
