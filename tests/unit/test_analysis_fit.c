/*
 * Linear, logarithmic, exponential and logistic fits, their quality metrics,
 * and the best-model rule: exact data from each model is recovered and
 * chosen, noisy data is recovered within the reported intervals, metrics
 * match a hand computation, and unfit data says why.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "analysis/models.h"

#define assert_close(actual, expected, rel)                                                           \
    do {                                                                                              \
        double a_ = (actual), e_ = (expected);                                                        \
        if (!(fabs(a_ - e_) <= (rel) * fabs(e_))) {                                                   \
            print_error("%s = %.12g, expected %.12g (rel %g)\n", #actual, a_, e_, (double)(rel));    \
            fail();                                                                                   \
        }                                                                                             \
    } while (0)

static const double W[] = {1, 2, 4, 6, 8, 10, 12, 16};
enum { NW = sizeof W / sizeof W[0] };

static double f_linear(double w) { return 3.0 * w + 7.0; }
static double f_log(double w) { return 100.0 * log(w) + 20.0; }
static double f_exp(double w) { return 50.0 * exp(0.2 * w); }
static double f_logistic(double w) { return 1000.0 / (1.0 + exp(-0.8 * (w - 5.0))); }

static void fill(double (*f)(double), double *y)
{
    for (int i = 0; i < NW; i++)
        y[i] = f(W[i]);
}

static void exact_linear(void **state)
{
    (void)state;
    double y[NW];
    fill(f_linear, y);
    struct analysis_fit f;
    assert_int_equal(analysis_fit_linear(W, y, NW, &f), ANALYSIS_OK);
    assert_close(f.param[ANALYSIS_LIN_A], 3.0, 1e-9);
    assert_close(f.param[ANALYSIS_LIN_B], 7.0, 1e-9);
    assert_close(f.r_squared, 1.0, 1e-12);
    assert_int_equal(f.nparams, 2);
    assert_close(analysis_fit_predict(&f, 100.0), 307.0, 1e-9);
}

static void exact_logarithmic(void **state)
{
    (void)state;
    double y[NW];
    fill(f_log, y);
    struct analysis_fit f;
    assert_int_equal(analysis_fit_logarithmic(W, y, NW, &f), ANALYSIS_OK);
    assert_close(f.param[ANALYSIS_LIN_A], 100.0, 1e-9);
    assert_close(f.param[ANALYSIS_LIN_B], 20.0, 1e-9);
}

static void exact_exponential(void **state)
{
    (void)state;
    double y[NW];
    fill(f_exp, y);
    struct analysis_fit f;
    assert_int_equal(analysis_fit_exponential(W, y, NW, &f), ANALYSIS_OK);
    assert_close(f.param[ANALYSIS_EXP_A], 50.0, 1e-6);
    assert_close(f.param[ANALYSIS_EXP_B], 0.2, 1e-6);
    /* a decaying exponential too */
    for (int i = 0; i < NW; i++)
        y[i] = 900.0 * exp(-0.15 * W[i]);
    assert_int_equal(analysis_fit_exponential(W, y, NW, &f), ANALYSIS_OK);
    assert_close(f.param[ANALYSIS_EXP_A], 900.0, 1e-6);
    assert_close(f.param[ANALYSIS_EXP_B], -0.15, 1e-6);
}

static void exact_logistic(void **state)
{
    (void)state;
    double y[NW];
    fill(f_logistic, y);
    struct analysis_fit f;
    assert_int_equal(analysis_fit_logistic(W, y, NW, &f), ANALYSIS_OK);
    assert_close(f.param[ANALYSIS_LOGISTIC_L], 1000.0, 1e-6);
    assert_close(f.param[ANALYSIS_LOGISTIC_K], 0.8, 1e-6);
    assert_close(f.param[ANALYSIS_LOGISTIC_X0], 5.0, 1e-6);
    /* a ceiling well above the data: the start must not assume max TPS ~ L */
    for (int i = 0; i < NW; i++)
        y[i] = 5000.0 / (1.0 + exp(-0.3 * (W[i] - 14.0)));
    assert_int_equal(analysis_fit_logistic(W, y, NW, &f), ANALYSIS_OK);
    assert_close(f.param[ANALYSIS_LOGISTIC_L], 5000.0, 1e-5);
    assert_close(f.param[ANALYSIS_LOGISTIC_K], 0.3, 1e-5);
    assert_close(f.param[ANALYSIS_LOGISTIC_X0], 14.0, 1e-5);
}

/* Hand-computed least squares: y = 1.97 x + 0.09, RSS 0.091 over 5 points. */
static void metrics_match_hand_computation(void **state)
{
    (void)state;
    const double x[] = {1, 2, 3, 4, 5}, y[] = {2, 4.1, 5.9, 8.2, 9.8};
    struct analysis_fit f;
    assert_int_equal(analysis_fit_linear(x, y, 5, &f), ANALYSIS_OK);
    assert_close(f.param[0], 1.97, 1e-12);
    assert_close(f.param[1], 0.09, 1e-9);
    assert_close(f.rss, 0.091, 1e-9);
    assert_close(f.r_squared, 0.9976606683804627, 1e-12);
    assert_close(f.adj_r_squared, 0.9968808911739503, 1e-12);
    assert_close(f.aic, -16.03166842449697, 1e-9);            /* 5 ln(0.091/5) + 4 */
    assert_close(f.rse, 0.17416467303484118, 1e-9);
    assert_close(f.param_se[0], 0.055075705472860836, 1e-7);
    assert_close(f.param_se[1], 0.18266545011760282, 1e-7);
    double t = 3.182446305284263;                              /* t(0.975, 3) */
    assert_close(f.param_ci_high[0], 1.97 + t * 0.055075705472860836, 1e-7);
    assert_close(f.param_ci_low[0], 1.97 - t * 0.055075705472860836, 1e-7);
}

static void check_covers(const struct analysis_fit *f, const double *truth)
{
    assert_int_equal(f->status, ANALYSIS_OK);
    for (size_t j = 0; j < f->nparams; j++) {
        if (!(f->param_ci_low[j] <= truth[j] && truth[j] <= f->param_ci_high[j])) {
            print_error("%s %s = %g, interval [%g, %g] misses %g\n", analysis_model_name(f->model),
                        analysis_model_param_name(f->model, j), f->param[j], f->param_ci_low[j],
                        f->param_ci_high[j], truth[j]);
            fail();
        }
    }
}

/* Gaussian noise with sd 2% of the mean TPS (homoscedastic: the assumption
 * behind least squares and its intervals). */
static void add_noise(gsl_rng *rng, double (*f)(double), const double *x, double *y, int n)
{
    double mean = 0.0;
    for (int i = 0; i < n; i++)
        mean += f(x[i]) / n;
    for (int i = 0; i < n; i++)
        y[i] = f(x[i]) + gsl_ran_gaussian(rng, 0.02 * mean);
}

struct noisy_case {
    double (*f)(double);
    enum analysis_status (*fit)(const double *, const double *, size_t, struct analysis_fit *);
    double truth[3];
};

static const struct noisy_case noisy_cases[] = {
    {f_linear, analysis_fit_linear, {3.0, 7.0}},
    {f_log, analysis_fit_logarithmic, {100.0, 20.0}},
    {f_exp, analysis_fit_exponential, {50.0, 0.2}},
    {f_logistic, analysis_fit_logistic, {1000.0, 0.8, 5.0}},
};

/* Fixed seed: every fit's 95% intervals hold the truth. */
static void noisy_data_within_intervals(void **state)
{
    (void)state;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 1);
    double x[16], y[16];
    for (int i = 0; i < 16; i++)
        x[i] = i + 1;
    for (size_t c = 0; c < sizeof noisy_cases / sizeof noisy_cases[0]; c++) {
        struct analysis_fit f;
        add_noise(rng, noisy_cases[c].f, x, y, 16);
        noisy_cases[c].fit(x, y, 16, &f);
        check_covers(&f, noisy_cases[c].truth);
    }
    gsl_rng_free(rng);
}

/* ... and that is calibration, not a lucky seed: over many seeds each
 * interval covers the truth in 92% to 98% of runs. */
static void interval_coverage_is_near_nominal(void **state)
{
    (void)state;
    enum { RUNS = 400 };
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 99);
    double x[16], y[16];
    for (int i = 0; i < 16; i++)
        x[i] = i + 1;
    for (size_t c = 0; c < sizeof noisy_cases / sizeof noisy_cases[0]; c++) {
        int cover[3] = {0};
        size_t k = 0;
        for (int r = 0; r < RUNS; r++) {
            struct analysis_fit f;
            add_noise(rng, noisy_cases[c].f, x, y, 16);
            assert_int_equal(noisy_cases[c].fit(x, y, 16, &f), ANALYSIS_OK);
            k = f.nparams;
            for (size_t j = 0; j < k; j++)
                cover[j] += f.param_ci_low[j] <= noisy_cases[c].truth[j] && noisy_cases[c].truth[j] <= f.param_ci_high[j];
        }
        for (size_t j = 0; j < k; j++) {
            double rate = (double)cover[j] / RUNS;
            if (rate < 0.92 || rate > 0.98) {
                print_error("case %zu parameter %zu covered in %.3f of runs\n", c, j, rate);
                fail();
            }
        }
    }
    gsl_rng_free(rng);
}

static double f_usl(double w) { return 100.0 * w / (1.0 + 0.02 * (w - 1.0) + 0.001 * w * (w - 1.0)); }

/* The best-model rule picks the model that generated exact data. */
static void best_model_is_the_generator(void **state)
{
    (void)state;
    struct {
        double (*f)(double);
        enum analysis_model model;
    } cases[] = {
        {f_linear, ANALYSIS_MODEL_LINEAR},     {f_log, ANALYSIS_MODEL_LOGARITHMIC},
        {f_exp, ANALYSIS_MODEL_EXPONENTIAL},   {f_logistic, ANALYSIS_MODEL_LOGISTIC},
        {f_usl, ANALYSIS_MODEL_USL},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double y[NW];
        fill(cases[c].f, y);
        struct analysis_models m;
        assert_int_equal(analysis_models_fit(W, y, NW, &m), ANALYSIS_OK);
        if (m.best != cases[c].model) {
            print_error("data from %s: best %s\n", analysis_model_name(cases[c].model), analysis_model_name(m.best));
            fail();
        }
        assert_close(m.r_squared, 1.0, 1e-9);
    }
}

/* USL best with a peak in range: the prediction is N* and X(N*), and the
 * saturation point is the first whole worker count at 95% of it. */
static void peak_and_saturation_from_usl(void **state)
{
    (void)state;
    const double x[] = {1, 2, 4, 8, 16, 24, 32, 48, 64};
    double y[9];
    for (int i = 0; i < 9; i++)
        y[i] = 100.0 * x[i] / (1.0 + 0.02 * (x[i] - 1.0) + 0.0005 * x[i] * (x[i] - 1.0));
    struct analysis_models m;
    assert_int_equal(analysis_models_fit(x, y, 9, &m), ANALYSIS_OK);
    assert_int_equal(m.best, ANALYSIS_MODEL_USL);
    double nstar = sqrt(0.98 / 0.0005);
    assert_int_equal(m.peak_status, ANALYSIS_OK);
    assert_close(m.predicted_peak_workers, nstar, 1e-6);
    assert_false(m.peak_extrapolated);
    double peak = 100.0 * nstar / (1.0 + 0.02 * (nstar - 1.0) + 0.0005 * nstar * (nstar - 1.0));
    assert_close(m.predicted_peak_tps, peak, 1e-6);
    assert_int_equal(m.saturation_status, ANALYSIS_OK);
    /* brute force: first whole N with X(N) >= 0.95 peak */
    int expect = 1;
    while (100.0 * expect / (1.0 + 0.02 * (expect - 1.0) + 0.0005 * expect * (expect - 1.0)) < 0.95 * peak)
        expect++;
    assert_close(m.saturation_workers, expect, 0.0);
}

/* A rising straight line has no peak in range: marked unbounded. */
static void linear_peak_is_unbounded(void **state)
{
    (void)state;
    double y[NW];
    fill(f_linear, y);
    struct analysis_models m;
    assert_int_equal(analysis_models_fit(W, y, NW, &m), ANALYSIS_OK);
    assert_int_equal(m.peak_status, ANALYSIS_UNBOUNDED);
    assert_close(m.predicted_peak_workers, 16.0, 1e-12);
    assert_close(m.predicted_peak_tps, 55.0, 1e-9);
    /* 95% of 55 = 52.25 = 3 W + 7 at W = 15.08: the first whole count is 16 */
    assert_close(m.saturation_workers, 16.0, 0.0);
}

static void degenerate_inputs(void **state)
{
    (void)state;
    struct analysis_fit f;
    const double x2[] = {1, 2}, y2[] = {10, 20};
    assert_int_equal(analysis_fit_linear(x2, y2, 2, &f), ANALYSIS_TOO_FEW_POINTS);
    assert_int_equal(analysis_fit_logistic(x2, y2, 2, &f), ANALYSIS_TOO_FEW_POINTS);
    const double x3[] = {1, 2, 3}, flat[] = {5, 5, 5};
    assert_int_equal(analysis_fit_linear(x3, flat, 3, &f), ANALYSIS_NO_VARIATION);
    assert_true(f.r_squared == 0.0 && f.aic == 0.0);
    const double inf[] = {1, INFINITY, 3};
    assert_int_equal(analysis_fit_exponential(x3, inf, 3, &f), ANALYSIS_INVALID_INPUT);
    const double neg[] = {-5, -10, -20, -40};
    const double x4[] = {1, 2, 3, 4};
    assert_int_equal(analysis_fit_logistic(x4, neg, 4, &f), ANALYSIS_NO_DATA);
    struct analysis_models m;
    assert_int_equal(analysis_models_fit(x3, flat, 3, &m), ANALYSIS_NO_VARIATION);
    assert_int_equal(m.best, ANALYSIS_MODEL_NONE);
    assert_true(analysis_models_predict(&m, 2.0) == 0.0);
    assert_string_equal(analysis_model_param_name(ANALYSIS_MODEL_LOGISTIC, 2), "x0");
    assert_null(analysis_model_param_name(ANALYSIS_MODEL_LINEAR, 2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exact_linear),
        cmocka_unit_test(exact_logarithmic),
        cmocka_unit_test(exact_exponential),
        cmocka_unit_test(exact_logistic),
        cmocka_unit_test(metrics_match_hand_computation),
        cmocka_unit_test(noisy_data_within_intervals),
        cmocka_unit_test(interval_coverage_is_near_nominal),
        cmocka_unit_test(best_model_is_the_generator),
        cmocka_unit_test(peak_and_saturation_from_usl),
        cmocka_unit_test(linear_peak_is_unbounded),
        cmocka_unit_test(degenerate_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
