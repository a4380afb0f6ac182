/*
 * Per-band statistics, the series of points and the discrete derivatives:
 * hand-computed answers, both latency input forms, duplicate worker counts,
 * validation messages, exact second differences on uneven steps and an
 * inflection found where a cubic's curvature changes sign.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "analysis/derivatives.h"
#include "analysis/describe.h"
#include "analysis/series.h"

#define assert_near(actual, expected, tol)                                                            \
    do {                                                                                              \
        double a_ = (actual), e_ = (expected);                                                        \
        if (!(fabs(a_ - e_) <= (tol))) {                                                              \
            print_error("%s = %.15g, expected %.15g (tol %g)\n", #actual, a_, e_, (double)(tol));    \
            fail();                                                                                   \
        }                                                                                             \
    } while (0)

/* Latencies 10, 12, 14, 16, 18 ms: mean 14, sample variance 10. */
static struct analysis_band five_samples(void)
{
    return (struct analysis_band){.workers = 4, .connections = 2, .seconds = 10.0, .tps = 100.0, .count = 5,
                                  .latency_sum_ms = 70.0, .latency_sumsq_ms2 = 1020.0, .p95_ms = 18.0,
                                  .busy_seconds = 15.0};
}

static void describe_from_sums(void **state)
{
    (void)state;
    struct analysis_band b = five_samples();
    struct analysis_band_stats s;
    assert_int_equal(analysis_describe_band(&b, &s), ANALYSIS_OK);
    assert_near(s.latency_mean_ms, 14.0, 1e-12);
    assert_near(s.latency_variance_ms2, 10.0, 1e-12);
    assert_near(s.latency_sd_ms, sqrt(10.0), 1e-12);
    assert_near(s.latency_cv, sqrt(10.0) / 14.0, 1e-12);
    double half = 2.7764451051977987 * sqrt(10.0) / sqrt(5.0);   /* t(0.975, 4) sd / sqrt(n) */
    assert_near(s.latency_ci_low_ms, 14.0 - half, 1e-9);
    assert_near(s.latency_ci_high_ms, 14.0 + half, 1e-9);
    assert_near(s.latency_ci_rel, half / 14.0, 1e-9);
    assert_near(s.tps_per_worker, 25.0, 1e-12);
    assert_near(s.tps_per_connection, 50.0, 1e-12);
    assert_near(s.connection_utilisation, 0.75, 1e-12);   /* 15 / (2 x 10) */
}

static void describe_from_mean_and_sd(void **state)
{
    (void)state;
    struct analysis_band b = five_samples();
    b.latency_sum_ms = 0.0;
    b.latency_sumsq_ms2 = 0.0;
    b.latency_mean_ms = 14.0;
    b.latency_sd_ms = sqrt(10.0);
    struct analysis_band_stats s;
    assert_int_equal(analysis_describe_band(&b, &s), ANALYSIS_OK);
    assert_near(s.latency_mean_ms, 14.0, 1e-12);
    assert_near(s.latency_variance_ms2, 10.0, 1e-12);
    assert_near(s.latency_ci_high_ms, 14.0 + 2.7764451051977987 * sqrt(2.0), 1e-9);
    /* a large sample: the t quantile tends to the normal 1.96 */
    b.count = 1e7;
    analysis_describe_band(&b, &s);
    assert_near(s.latency_ci_high_ms - 14.0, 1.959963984540054 * sqrt(10.0) / sqrt(1e7), 1e-9);
}

static void describe_degenerate(void **state)
{
    (void)state;
    struct analysis_band b = five_samples();
    struct analysis_band_stats s;
    b.count = 0;
    b.latency_sum_ms = 0;
    b.latency_sumsq_ms2 = 0;
    assert_int_equal(analysis_describe_band(&b, &s), ANALYSIS_NO_DATA);
    assert_near(s.tps_per_worker, 25.0, 1e-12);   /* still known */
    assert_near(s.latency_mean_ms, 0.0, 0.0);
    b = five_samples();
    b.count = 1;
    b.latency_sum_ms = 7.0;
    b.latency_sumsq_ms2 = 49.0;
    assert_int_equal(analysis_describe_band(&b, &s), ANALYSIS_TOO_FEW_POINTS);
    assert_near(s.latency_mean_ms, 7.0, 0.0);
    assert_near(s.latency_sd_ms, 0.0, 0.0);
    /* identical latencies: rounding must not make the variance negative */
    b = five_samples();
    b.count = 3;
    b.latency_sum_ms = 0.3;
    b.latency_sumsq_ms2 = 0.03;
    assert_int_equal(analysis_describe_band(&b, &s), ANALYSIS_OK);
    assert_true(s.latency_variance_ms2 >= 0.0 && isfinite(s.latency_sd_ms));
}

static void validation_names_the_field(void **state)
{
    (void)state;
    char msg[ANALYSIS_MESSAGE_MAX];
    struct analysis_band b = five_samples();
    assert_int_equal(analysis_band_validate(&b, msg), ANALYSIS_OK);
    b.tps = NAN;
    assert_int_equal(analysis_band_validate(&b, msg), ANALYSIS_INVALID_INPUT);
    assert_non_null(strstr(msg, "tps is NaN"));
    b = five_samples();
    b.p95_ms = -1.0;
    assert_int_equal(analysis_band_validate(&b, msg), ANALYSIS_INVALID_INPUT);
    assert_non_null(strstr(msg, "p95_ms is negative"));
    b = five_samples();
    b.workers = 0;
    assert_int_equal(analysis_band_validate(&b, msg), ANALYSIS_INVALID_INPUT);
    assert_non_null(strstr(msg, "workers"));
    b = five_samples();
    b.seconds = 0.0;
    assert_int_equal(analysis_band_validate(&b, NULL), ANALYSIS_INVALID_INPUT);
    b = five_samples();
    b.busy_seconds = INFINITY;
    assert_int_equal(analysis_band_validate(&b, msg), ANALYSIS_INVALID_INPUT);
    assert_non_null(strstr(msg, "infinite"));
}

static struct analysis_band wb(int workers, int connections, double tps)
{
    return (struct analysis_band){.workers = workers, .connections = connections, .seconds = 30.0, .tps = tps};
}

static void series_sorts_and_averages_duplicates(void **state)
{
    (void)state;
    const struct analysis_band bands[] = {wb(4, 4, 400.0), wb(1, 1, 100.0), wb(4, 8, 420.0), wb(2, 2, 190.0)};
    struct analysis_series s;
    assert_int_equal(analysis_series_build(bands, 4, &s), ANALYSIS_OK);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.nbands, 4);
    assert_int_equal(s.points[0].workers, 1);
    assert_int_equal(s.points[1].workers, 2);
    assert_int_equal(s.points[2].workers, 4);
    assert_near(s.tps[2], 410.0, 1e-12);
    assert_int_equal(s.points[2].nbands, 2);
    assert_int_equal(s.points[2].connections, 4);    /* the first band's */
    assert_int_equal(s.points[2].first_band, 0);
    assert_int_equal(s.band_point[0], 2);
    assert_int_equal(s.band_point[1], 0);
    assert_int_equal(s.band_point[2], 2);
    assert_int_equal(s.band_point[3], 1);

    struct analysis_band bad[] = {wb(1, 1, 100.0), wb(2, 2, -5.0)};
    assert_int_equal(analysis_series_build(bad, 2, &s), ANALYSIS_INVALID_INPUT);
    assert_non_null(strstr(s.message, "band 1"));
    assert_int_equal(analysis_series_build(bad, 0, &s), ANALYSIS_TOO_FEW_POINTS);
    assert_int_equal(analysis_series_build(bad, ANALYSIS_MAX_BANDS + 1, &s), ANALYSIS_TOO_MANY_BANDS);
}

static void gains_and_efficiency(void **state)
{
    (void)state;
    const double w[] = {1, 2, 4, 8}, tps[] = {100, 200, 360, 560};
    struct analysis_series s;
    struct analysis_derivatives d;
    analysis_series_from_arrays(w, tps, 4, &s);
    assert_int_equal(analysis_derivatives(&s, &d), ANALYSIS_OK);
    assert_int_equal(d.ngains, 3);
    assert_near(d.baseline_tps_per_worker, 100.0, 0.0);
    assert_near(d.gains[0].gain, 100.0, 1e-12);
    assert_near(d.gains[1].gain, 80.0, 1e-12);
    assert_near(d.gains[2].gain, 50.0, 1e-12);
    assert_near(d.gains[1].efficiency, 0.8, 1e-12);
    assert_int_equal(d.gains[2].from_workers, 4);
    assert_int_equal(d.gains[2].to_workers, 8);
    /* uneven steps: 2 [h0 y+ - (h0 + h1) y + h1 y-] / (h0 h1 (h0 + h1)) */
    assert_int_equal(d.ncurvature, 2);
    assert_near(d.curvature[0].d2, -40.0 / 3.0, 1e-9);
    assert_near(d.curvature[1].d2, -10.0, 1e-9);
    assert_int_equal(d.ninflections, 0);
}

/* The three-point formula is exact for a quadratic, even on uneven steps. */
static void second_difference_exact_for_quadratic(void **state)
{
    (void)state;
    const double w[] = {1, 3, 4, 7, 10};
    double tps[5];
    for (int i = 0; i < 5; i++)
        tps[i] = 50.0 + 60.0 * w[i] - 2.0 * w[i] * w[i];
    struct analysis_series s;
    struct analysis_derivatives d;
    analysis_series_from_arrays(w, tps, 5, &s);
    analysis_derivatives(&s, &d);
    for (size_t i = 0; i < d.ncurvature; i++) {
        assert_near(d.curvature[i].d2, -4.0, 1e-9);
        assert_int_equal(d.curvature[i].sign, -1);
    }
}

/* f = x^3 - 15 x^2 + 100 x: f'' = 6x - 30 changes sign at 5. */
static void inflection_of_a_cubic(void **state)
{
    (void)state;
    double w[9], tps[9];
    for (int i = 0; i < 9; i++) {
        w[i] = i + 1;
        tps[i] = w[i] * w[i] * w[i] - 15.0 * w[i] * w[i] + 100.0 * w[i];
    }
    struct analysis_series s;
    struct analysis_derivatives d;
    analysis_series_from_arrays(w, tps, 9, &s);
    analysis_derivatives(&s, &d);
    assert_int_equal(d.ninflections, 1);
    assert_near(d.inflections[0].workers, 5.0, 1e-9);
    assert_int_equal(d.inflections[0].direction, ANALYSIS_CONCAVE_TO_CONVEX);
    assert_int_equal(d.curvature[3].sign, 0);   /* at x = 5 itself */
}

/* Straight lines have no curvature: rounding must not invent inflections. */
static void straight_line_has_no_inflection(void **state)
{
    (void)state;
    const double w[] = {1, 3, 7, 8, 15, 16, 33, 64};
    double tps[8];
    for (int i = 0; i < 8; i++)
        tps[i] = 1234.567 * w[i] + 0.1;
    struct analysis_series s;
    struct analysis_derivatives d;
    analysis_series_from_arrays(w, tps, 8, &s);
    analysis_derivatives(&s, &d);
    assert_int_equal(d.ninflections, 0);
    for (size_t i = 0; i < d.ncurvature; i++)
        assert_int_equal(d.curvature[i].sign, 0);
}

static void derivatives_degenerate(void **state)
{
    (void)state;
    struct analysis_series s;
    struct analysis_derivatives d;
    const double one_w[] = {4}, one_t[] = {100};
    analysis_series_from_arrays(one_w, one_t, 1, &s);
    assert_int_equal(analysis_derivatives(&s, &d), ANALYSIS_TOO_FEW_POINTS);
    assert_int_equal(d.ngains, 0);
    const double two_w[] = {1, 2}, two_t[] = {100, 150};
    analysis_series_from_arrays(two_w, two_t, 2, &s);
    assert_int_equal(analysis_derivatives(&s, &d), ANALYSIS_TOO_FEW_POINTS);
    assert_int_equal(d.ngains, 1);
    assert_near(d.gains[0].efficiency, 0.5, 1e-12);
    const double z_w[] = {1, 2, 4}, z_t[] = {0, 150, 200};
    analysis_series_from_arrays(z_w, z_t, 3, &s);
    assert_int_equal(analysis_derivatives(&s, &d), ANALYSIS_NO_DATA);
    assert_near(d.gains[0].efficiency, 0.0, 0.0);
    const double dup_w[] = {2, 2, 2}, dup_t[] = {100, 110, 120};
    analysis_series_from_arrays(dup_w, dup_t, 3, &s);
    assert_int_equal(s.n, 1);
    assert_near(s.tps[0], 110.0, 1e-12);
    assert_int_equal(analysis_derivatives(&s, &d), ANALYSIS_TOO_FEW_POINTS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(describe_from_sums),
        cmocka_unit_test(describe_from_mean_and_sd),
        cmocka_unit_test(describe_degenerate),
        cmocka_unit_test(validation_names_the_field),
        cmocka_unit_test(series_sorts_and_averages_duplicates),
        cmocka_unit_test(gains_and_efficiency),
        cmocka_unit_test(second_difference_exact_for_quadratic),
        cmocka_unit_test(inflection_of_a_cubic),
        cmocka_unit_test(straight_line_has_no_inflection),
        cmocka_unit_test(derivatives_degenerate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
