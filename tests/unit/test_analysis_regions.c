/*
 * Scaling regions: a straight line is linear after the baseline; a curve
 * with a clear peak and decline walks through baseline, linear,
 * diminishing, saturation and degradation in that order; thresholds are
 * configurable and checked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "analysis/regions.h"

static void classify(const double *w, const double *tps, size_t n, const struct analysis_region_thresholds *t,
                     struct analysis_regions *r)
{
    static struct analysis_series s;
    static struct analysis_derivatives d;
    assert_int_equal(analysis_series_from_arrays(w, tps, n, &s), ANALYSIS_OK);
    analysis_derivatives(&s, &d);
    analysis_regions_classify(&s, &d, t, r);
}

static void straight_line_is_linear(void **state)
{
    (void)state;
    const double w[] = {1, 2, 4, 8, 16, 32, 64};
    double tps[7];
    for (int i = 0; i < 7; i++)
        tps[i] = 250.0 * w[i];
    static struct analysis_regions r;
    classify(w, tps, 7, NULL, &r);
    assert_int_equal(r.status, ANALYSIS_OK);
    assert_int_equal(r.point_region[0], ANALYSIS_REGION_BASELINE);
    for (int i = 1; i < 7; i++)
        assert_int_equal(r.point_region[i], ANALYSIS_REGION_LINEAR);
    assert_int_equal(r.linear_scaling.count, 6);
    assert_int_equal(r.diminishing_returns.count, 0);
    assert_int_equal(r.saturation.count, 0);
    assert_int_equal(r.degradation.count, 0);
    assert_string_equal(r.saturation.description, "not reached");
    assert_non_null(strstr(r.linear_scaling.description, "2, 4, 8, 16, 32 and 64 workers"));
}

/* USL lambda 100, sigma 0.02, kappa 0.0005 (peak at N* = 44): efficiencies
 * 0.96 0.90 | 0.77 0.55 0.32 | 0.16 0.03 -0.04 | -0.07. */
static void peak_and_decline_in_order(void **state)
{
    (void)state;
    const double w[] = {1, 2, 4, 8, 16, 24, 32, 48, 64, 96};
    double tps[10];
    for (int i = 0; i < 10; i++)
        tps[i] = 100.0 * w[i] / (1.0 + 0.02 * (w[i] - 1.0) + 0.0005 * w[i] * (w[i] - 1.0));
    static struct analysis_regions r;
    classify(w, tps, 10, NULL, &r);
    assert_int_equal(r.status, ANALYSIS_OK);
    const enum analysis_region expect[] = {
        ANALYSIS_REGION_BASELINE,    ANALYSIS_REGION_LINEAR,      ANALYSIS_REGION_LINEAR,
        ANALYSIS_REGION_DIMINISHING, ANALYSIS_REGION_DIMINISHING, ANALYSIS_REGION_DIMINISHING,
        ANALYSIS_REGION_SATURATION,  ANALYSIS_REGION_SATURATION,  ANALYSIS_REGION_SATURATION,
        ANALYSIS_REGION_DEGRADATION};
    for (int i = 0; i < 10; i++) {
        if (r.point_region[i] != expect[i]) {
            print_error("%g workers: %s, expected %s\n", w[i], analysis_region_name(r.point_region[i]),
                        analysis_region_name(expect[i]));
            fail();
        }
    }
    /* every region present, never going back to an earlier one */
    for (int i = 1; i < 10; i++)
        assert_true(r.point_region[i] >= r.point_region[i - 1]);
    assert_true(r.linear_scaling.count > 0 && r.diminishing_returns.count > 0 && r.saturation.count > 0 &&
                r.degradation.count > 0);
    assert_int_equal(r.degradation.workers[0], 96);
    assert_non_null(strstr(r.degradation.description, "96 workers"));
    assert_int_equal(r.nbands, 10);
    assert_int_equal(r.band_region[9], ANALYSIS_REGION_DEGRADATION);
}

static void thresholds_are_configurable(void **state)
{
    (void)state;
    const double w[] = {1, 2, 4, 8}, tps[] = {100, 190, 360, 680};   /* efficiencies 0.9, 0.85, 0.8 */
    static struct analysis_regions r;
    struct analysis_region_thresholds t;
    analysis_region_thresholds_default(&t);
    classify(w, tps, 4, &t, &r);
    assert_int_equal(r.linear_scaling.count, 3);
    t.linear = 0.86;
    classify(w, tps, 4, &t, &r);
    assert_int_equal(r.linear_scaling.count, 1);
    assert_int_equal(r.diminishing_returns.count, 2);
    t.diminishing = 0.9;   /* not below linear: rejected */
    classify(w, tps, 4, &t, &r);
    assert_int_equal(r.status, ANALYSIS_INVALID_INPUT);
    assert_int_equal(r.point_region[1], ANALYSIS_REGION_NONE);
    t.diminishing = NAN;
    assert_false(analysis_region_thresholds_valid(&t));
}

static void degenerate_series(void **state)
{
    (void)state;
    static struct analysis_regions r;
    const double w1[] = {8}, t1[] = {100};
    classify(w1, t1, 1, NULL, &r);
    assert_int_equal(r.status, ANALYSIS_TOO_FEW_POINTS);
    const double w2[] = {1, 2}, t2[] = {0, 100};
    classify(w2, t2, 2, NULL, &r);
    assert_int_equal(r.status, ANALYSIS_NO_DATA);
    const double w3[] = {1, 2, 4}, t3[] = {100, 100, 100};
    classify(w3, t3, 3, NULL, &r);
    assert_int_equal(r.status, ANALYSIS_OK);
    assert_int_equal(r.saturation.count, 2);   /* flat: saturated from the start */
    assert_string_equal(analysis_region_name(ANALYSIS_REGION_DIMINISHING), "diminishing");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(straight_line_is_linear),
        cmocka_unit_test(peak_and_decline_in_order),
        cmocka_unit_test(thresholds_are_configurable),
        cmocka_unit_test(degenerate_series),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
