/*
 * Linear, logarithmic, exponential and logistic fits, and the curves of all
 * models (see fit.h). The nonlinear fits run from several starting points
 * because Levenberg-Marquardt finds the minimum nearest its start: the best
 * stationary solution over sensible starts is far more robust than one guess.
 */
#include "analysis/fit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/common.h"
#include "analysis/lsq.h"

/* ---- the curves: value and gradient with respect to the parameters ---- */

static double curve_linear(double x, const double *p, double *g, const void *ctx)
{
    (void)ctx;
    if (g) {
        g[0] = x;
        g[1] = 1.0;
    }
    return p[0] * x + p[1];
}

static double curve_logarithmic(double x, const double *p, double *g, const void *ctx)
{
    (void)ctx;
    double lx = log(fmax(x, 1e-300));
    if (g) {
        g[0] = lx;
        g[1] = 1.0;
    }
    return p[0] * lx + p[1];
}

static double curve_exponential(double x, const double *p, double *g, const void *ctx)
{
    (void)ctx;
    double e = bounded_exp(p[1] * x);
    if (g) {
        g[0] = e;
        g[1] = p[0] * x * e;
    }
    return p[0] * e;
}

static double curve_logistic(double x, const double *p, double *g, const void *ctx)
{
    (void)ctx;
    double e = bounded_exp(-p[1] * (x - p[2]));
    double s = 1.0 / (1.0 + e);
    if (g) {
        g[0] = s;
        g[1] = p[0] * s * s * e * (x - p[2]);
        g[2] = -p[0] * s * s * e * p[1];
    }
    return p[0] * s;
}

/* The denominator is kept away from zero: during an unconstrained search
 * sigma or kappa may be negative for a step, and the value must stay finite. */
static double curve_usl(double x, const double *p, double *g, const void *ctx)
{
    (void)ctx;
    double d = 1.0 + p[0] * (x - 1.0) + p[1] * x * (x - 1.0);
    if (fabs(d) < 1e-12)
        d = 1e-12;
    if (g) {
        double q = p[2] * x / (d * d);
        g[0] = -q * (x - 1.0);
        g[1] = -q * x * (x - 1.0);
        g[2] = x / d;
    }
    return p[2] * x / d;
}

lsq_model_fn fit_model_fn(enum analysis_model model)
{
    switch (model) {
    case ANALYSIS_MODEL_LINEAR: return curve_linear;
    case ANALYSIS_MODEL_LOGARITHMIC: return curve_logarithmic;
    case ANALYSIS_MODEL_EXPONENTIAL: return curve_exponential;
    case ANALYSIS_MODEL_LOGISTIC: return curve_logistic;
    case ANALYSIS_MODEL_USL: return curve_usl;
    default: return NULL;
    }
}

/* ---- names ---- */

static const char *const model_names[ANALYSIS_MODEL_COUNT] = {
    "none", "linear", "logarithmic", "exponential", "logistic", "usl"};
static const char *const param_names[ANALYSIS_MODEL_COUNT][ANALYSIS_FIT_MAX_PARAMS] = {
    [ANALYSIS_MODEL_LINEAR] = {"a", "b"},
    [ANALYSIS_MODEL_LOGARITHMIC] = {"a", "b"},
    [ANALYSIS_MODEL_EXPONENTIAL] = {"a", "b"},
    [ANALYSIS_MODEL_LOGISTIC] = {"L", "k", "x0"},
    [ANALYSIS_MODEL_USL] = {"sigma", "kappa", "lambda"},
};

const char *analysis_model_name(enum analysis_model model)
{
    return (unsigned)model < ANALYSIS_MODEL_COUNT ? model_names[model] : "none";
}

size_t analysis_model_nparams(enum analysis_model model)
{
    size_t k = 0;
    while ((unsigned)model < ANALYSIS_MODEL_COUNT && k < ANALYSIS_FIT_MAX_PARAMS && param_names[model][k])
        k++;
    return k;
}

const char *analysis_model_param_name(enum analysis_model model, size_t i)
{
    return i < analysis_model_nparams(model) ? param_names[model][i] : NULL;
}

double analysis_fit_predict(const struct analysis_fit *fit, double workers)
{
    lsq_model_fn fn = fit_model_fn(fit->model);
    if (!fn || fit->status != ANALYSIS_OK || !isfinite(workers))
        return 0.0;
    return finite_or(fn(workers, fit->param, NULL, NULL), 0.0);
}

/* ---- closed-form straight lines ---- */

/* Least-squares line y = a t + b through (t(x_i), y_i); centred sums. */
static void line_fit(const double *x, const double *y, size_t n, int logx, double *a, double *b)
{
    double mt = 0.0, my = 0.0, stt = 0.0, sty = 0.0;
    for (size_t i = 0; i < n; i++) {
        mt += (logx ? log(x[i]) : x[i]) / (double)n;
        my += y[i] / (double)n;
    }
    for (size_t i = 0; i < n; i++) {
        double dt = (logx ? log(x[i]) : x[i]) - mt;
        stt += dt * dt;
        sty += dt * (y[i] - my);
    }
    *a = safe_div(sty, stt, 0.0);
    *b = my - *a * mt;
}

static enum analysis_status fit_line(enum analysis_model model, const double *x, const double *y, size_t n,
                                     struct analysis_fit *fit)
{
    if (lsq_begin(fit, model, x, y, n) != ANALYSIS_OK)
        return fit->status;
    line_fit(x, y, n, model == ANALYSIS_MODEL_LOGARITHMIC, &fit->param[0], &fit->param[1]);
    struct lsq_problem pb = {.x = x, .y = y, .n = n, .p = 2, .model = fit_model_fn(model)};
    return lsq_finish(fit, &pb);
}

enum analysis_status analysis_fit_linear(const double *x, const double *y, size_t n, struct analysis_fit *fit)
{
    return fit_line(ANALYSIS_MODEL_LINEAR, x, y, n, fit);
}

enum analysis_status analysis_fit_logarithmic(const double *x, const double *y, size_t n,
                                              struct analysis_fit *fit)
{
    return fit_line(ANALYSIS_MODEL_LOGARITHMIC, x, y, n, fit);
}

/* ---- nonlinear fits ---- */

static void data_range(const double *x, const double *y, size_t n, double *xmin, double *xmax,
                       double *ymax, double *ymean)
{
    *xmin = INFINITY;
    *xmax = -INFINITY;
    *ymax = 0.0;
    *ymean = 0.0;
    for (size_t i = 0; i < n; i++) {
        *xmin = fmin(*xmin, x[i]);
        *xmax = fmax(*xmax, x[i]);
        *ymax = fmax(*ymax, y[i]);
        *ymean += y[i] / (double)n;
    }
}

/* Run the solver from the starts and finish the fit in original units. */
static enum analysis_status fit_nonlinear(struct analysis_fit *fit, const double *x, const double *y, size_t n,
                                          const double *starts, size_t nstarts)
{
    struct lsq_problem pb = {
        .x = x, .y = y, .n = n, .p = fit->nparams, .model = fit_model_fn(fit->model)};
    double rss;
    enum analysis_status st = lsq_fit_best(&pb, starts, nstarts, fit->param, &rss);
    if (st == ANALYSIS_NO_MEMORY)
        return lsq_fail(fit, st, "out of memory");
    if (st != ANALYSIS_OK)
        return lsq_fail(fit, ANALYSIS_NO_CONVERGENCE, "the fit did not converge from any starting point");
    return lsq_finish(fit, &pb);
}

/* Starting points for a e^(bW): the log-linear fit of the positive points
 * (a guess only; the fit itself is in original units), the line through the
 * first and last positive points, and a flat curve at the mean. */
enum analysis_status analysis_fit_exponential(const double *x, const double *y, size_t n,
                                              struct analysis_fit *fit)
{
    if (lsq_begin(fit, ANALYSIS_MODEL_EXPONENTIAL, x, y, n) != ANALYSIS_OK)
        return fit->status;
    double xmin, xmax, ymax, ymean;
    data_range(x, y, n, &xmin, &xmax, &ymax, &ymean);

    double starts[3][2];
    size_t nstarts = 0;
    double *lx = malloc(n * sizeof *lx), *ly = malloc(n * sizeof *ly);
    if (!lx || !ly) {
        free(lx);
        free(ly);
        return lsq_fail(fit, ANALYSIS_NO_MEMORY, "out of memory");
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (y[i] > 0.0) {
            lx[m] = x[i];
            ly[m++] = log(y[i]);
        }
    }
    if (m >= 2) {
        double slope, intercept;
        line_fit(lx, ly, m, 0, &slope, &intercept);
        starts[nstarts][0] = bounded_exp(intercept);
        starts[nstarts++][1] = slope;
        size_t lo = 0, hi = 0;
        for (size_t i = 1; i < m; i++) {
            lo = lx[i] < lx[lo] ? i : lo;
            hi = lx[i] > lx[hi] ? i : hi;
        }
        double b = safe_div(ly[hi] - ly[lo], lx[hi] - lx[lo], 0.0);
        starts[nstarts][0] = bounded_exp(ly[lo] - b * lx[lo]);
        starts[nstarts++][1] = b;
    }
    free(lx);
    free(ly);
    starts[nstarts][0] = ymean != 0.0 ? ymean : 1.0;
    starts[nstarts++][1] = safe_div(0.1, xmax, 0.0);
    return fit_nonlinear(fit, x, y, n, &starts[0][0], nstarts);
}

/* Starting points for L / (1 + e^(-k (W - x0))): for several ceilings L
 * above the largest TPS, the logit ln(y / (L - y)) is a straight line
 * k W - k x0 through the points with 0 < y < L; plus a generic S-curve
 * centred in the measured range. */
enum analysis_status analysis_fit_logistic(const double *x, const double *y, size_t n, struct analysis_fit *fit)
{
    if (lsq_begin(fit, ANALYSIS_MODEL_LOGISTIC, x, y, n) != ANALYSIS_OK)
        return fit->status;
    double xmin, xmax, ymax, ymean;
    data_range(x, y, n, &xmin, &xmax, &ymax, &ymean);
    if (!(ymax > 0.0))
        return lsq_fail(fit, ANALYSIS_NO_DATA, "no positive TPS: a logistic curve has nothing to rise to");

    static const double ceilings[] = {1.02, 1.2, 2.0, 4.0};
    enum { NCEIL = sizeof ceilings / sizeof ceilings[0] };
    double starts[NCEIL + 1][3];
    size_t nstarts = 0;
    double *lx = malloc(n * sizeof *lx), *lz = malloc(n * sizeof *lz);
    if (!lx || !lz) {
        free(lx);
        free(lz);
        return lsq_fail(fit, ANALYSIS_NO_MEMORY, "out of memory");
    }
    for (size_t c = 0; c < NCEIL; c++) {
        double L = ceilings[c] * ymax;
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            if (y[i] > 0.0 && y[i] < L) {
                lx[m] = x[i];
                lz[m++] = log(y[i] / (L - y[i]));
            }
        }
        double k, intercept;
        if (m < 2)
            continue;
        line_fit(lx, lz, m, 0, &k, &intercept);
        if (k == 0.0)
            continue;
        starts[nstarts][0] = L;
        starts[nstarts][1] = k;
        starts[nstarts++][2] = safe_div(-intercept, k, 0.5 * (xmin + xmax));
    }
    free(lx);
    free(lz);
    starts[nstarts][0] = ymax;
    starts[nstarts][1] = safe_div(4.0, xmax - xmin, 1.0);
    starts[nstarts++][2] = 0.5 * (xmin + xmax);
    return fit_nonlinear(fit, x, y, n, &starts[0][0], nstarts);
}
