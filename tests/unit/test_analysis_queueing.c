/*
 * Queueing: Erlang C against textbook values to 1e-9 (and against the
 * direct factorial formula in long double), Erlang B, the unstable case,
 * Little's law and the M/M/c view of a band.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>

#include "analysis/queueing.h"

#define assert_near(actual, expected, tol)                                                            \
    do {                                                                                              \
        double a_ = (actual), e_ = (expected);                                                        \
        if (!(fabs(a_ - e_) <= (tol))) {                                                              \
            print_error("%s = %.15g, expected %.15g (tol %g)\n", #actual, a_, e_, (double)(tol));    \
            fail();                                                                                   \
        }                                                                                             \
    } while (0)

/* Erlang C straight from its definition:
 * C = (a^c / c!) (c / (c - a)) / (sum_{k<c} a^k / k! + (a^c / c!) (c / (c - a))). */
static long double erlang_c_direct(int c, long double a)
{
    long double term = 1.0L, sum = 0.0L;
    for (int k = 0; k < c; k++) {
        sum += term;
        term = term * a / (k + 1);
    }
    long double top = term * c / (c - a);
    return top / (sum + top);
}

static void erlang_c_textbook(void **state)
{
    (void)state;
    double p;
    assert_int_equal(analysis_erlang_c(2, 1.0, &p), ANALYSIS_OK);   /* c = 2, rho = 0.5 */
    assert_near(p, 1.0 / 3.0, 1e-9);
    assert_int_equal(analysis_erlang_c(1, 0.5, &p), ANALYSIS_OK);   /* M/M/1: P(wait) = rho */
    assert_near(p, 0.5, 1e-9);
    assert_int_equal(analysis_erlang_c(5, 4.0, &p), ANALYSIS_OK);   /* 5 servers, 4 erlangs: 0.5541 */
    assert_near(p, (double)erlang_c_direct(5, 4.0L), 1e-9);
    assert_near(p, 0.5541, 5e-5);
    assert_int_equal(analysis_erlang_c(100, 90.0, &p), ANALYSIS_OK);
    assert_near(p, (double)erlang_c_direct(100, 90.0L), 1e-9);
    assert_int_equal(analysis_erlang_c(3, 0.0, &p), ANALYSIS_OK);
    assert_near(p, 0.0, 0.0);
}

static void erlang_b_recursion(void **state)
{
    (void)state;
    /* B(2, 1) = (1/2) / (1 + 1 + 1/2) = 0.2 */
    assert_near(analysis_erlang_b(2, 1.0), 0.2, 1e-12);
    assert_near(analysis_erlang_b(0, 3.0), 1.0, 0.0);
    /* thousands of servers: no overflow, no NaN */
    double b = analysis_erlang_b(5000, 4900.0);
    assert_true(isfinite(b) && b > 0.0 && b < 1.0);
    double p;
    assert_int_equal(analysis_erlang_c(5000, 4900.0, &p), ANALYSIS_OK);
    assert_true(isfinite(p) && p > 0.0 && p < 1.0);
}

static void unstable_and_invalid(void **state)
{
    (void)state;
    double p;
    assert_int_equal(analysis_erlang_c(2, 2.0, &p), ANALYSIS_UNSTABLE);
    assert_near(p, 1.0, 0.0);
    assert_int_equal(analysis_erlang_c(2, 5.0, &p), ANALYSIS_UNSTABLE);
    assert_near(p, 1.0, 0.0);
    assert_int_equal(analysis_erlang_c(0, 1.0, &p), ANALYSIS_INVALID_INPUT);
    assert_int_equal(analysis_erlang_c(2, NAN, &p), ANALYSIS_INVALID_INPUT);
    assert_int_equal(analysis_erlang_c(2, -1.0, &p), ANALYSIS_INVALID_INPUT);
    assert_near(p, 0.0, 0.0);
}

static struct analysis_band band(int workers, int connections, double tps, double latency_ms, double wait_ms)
{
    return (struct analysis_band){.workers = workers, .connections = connections, .seconds = 60.0, .tps = tps,
                                  .count = tps * 60.0, .latency_mean_ms = latency_ms, .latency_sd_ms = 1.0,
                                  .p95_ms = 2.0 * latency_ms, .pool_wait_mean_ms = wait_ms};
}

/* 10 workers, 1000 TPS, 8 ms latency + 2 ms pool wait: N = X R = 10. */
static void littles_law(void **state)
{
    (void)state;
    struct analysis_band b = band(10, 8, 1000.0, 8.0, 2.0);
    struct analysis_queueing q;
    analysis_queueing_band(&b, &q);
    assert_near(q.response_ms, 10.0, 1e-12);
    assert_near(q.littles_workers, 10.0, 1e-9);
    assert_near(q.littles_ratio, 1.0, 1e-12);
    /* half the workers' time unaccounted for: ratio 0.5 */
    b = band(20, 8, 1000.0, 8.0, 2.0);
    analysis_queueing_band(&b, &q);
    assert_near(q.littles_ratio, 0.5, 1e-12);
}

/* One transaction per second, one second each, two connections: the M/M/2
 * with rho = 0.5: P(wait) = 1/3, W_q = C / (c mu - lambda) = 1/3 s. */
static void mmc_view_of_a_band(void **state)
{
    (void)state;
    struct analysis_band b = band(4, 2, 1.0, 1000.0, 250.0);
    struct analysis_queueing q;
    assert_int_equal(analysis_queueing_band(&b, &q), ANALYSIS_OK);
    assert_near(q.arrival_rate, 1.0, 1e-12);
    assert_near(q.service_rate, 1.0, 1e-12);
    assert_near(q.offered_load, 1.0, 1e-12);
    assert_near(q.utilisation, 0.5, 1e-12);
    assert_near(q.p_wait, 1.0 / 3.0, 1e-9);
    assert_near(q.predicted_wait_ms, 1000.0 / 3.0, 1e-6);
    assert_near(q.measured_wait_ms, 250.0, 0.0);
    assert_near(q.wait_ratio, 0.75, 1e-9);
}

static void saturated_pool_is_unstable(void **state)
{
    (void)state;
    /* 8 connections busy 10 ms each can serve 800 TPS; 1000 measured means rho >= 1 */
    struct analysis_band b = band(64, 8, 1000.0, 10.0, 50.0);
    struct analysis_queueing q;
    assert_int_equal(analysis_queueing_band(&b, &q), ANALYSIS_UNSTABLE);
    assert_near(q.p_wait, 1.0, 0.0);
    assert_near(q.predicted_wait_ms, 0.0, 0.0);
    assert_near(q.wait_ratio, 0.0, 0.0);
    assert_near(q.utilisation, 1.25, 1e-12);
    assert_true(q.message[0] != '\0');
}

static void degenerate_bands(void **state)
{
    (void)state;
    struct analysis_queueing q;
    struct analysis_band b = band(4, 2, 0.0, 0.0, 0.0);   /* nothing ran */
    assert_int_equal(analysis_queueing_band(&b, &q), ANALYSIS_NO_DATA);
    assert_near(q.littles_ratio, 0.0, 0.0);
    b = band(4, 2, NAN, 1.0, 0.0);
    assert_int_equal(analysis_queueing_band(&b, &q), ANALYSIS_INVALID_INPUT);
    b = band(4, 0, 10.0, 1.0, 0.0);
    assert_int_equal(analysis_queueing_band(&b, &q), ANALYSIS_INVALID_INPUT);
    b = band(4, 2, 10.0, 1.0, -3.0);
    assert_int_equal(analysis_queueing_band(&b, &q), ANALYSIS_INVALID_INPUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(erlang_c_textbook),
        cmocka_unit_test(erlang_b_recursion),
        cmocka_unit_test(unstable_and_invalid),
        cmocka_unit_test(littles_law),
        cmocka_unit_test(mmc_view_of_a_band),
        cmocka_unit_test(saturated_pool_is_unstable),
        cmocka_unit_test(degenerate_bands),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
