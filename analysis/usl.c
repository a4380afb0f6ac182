/*
 * Fitting the Universal Scalability Law (see usl.h).
 *
 * The constraint sigma, kappa >= 0, and why not a reparametrisation:
 * writing sigma = u^2 (or softplus(u)) keeps the search feasible, but the
 * Jacobian column d X / d u = 2u d X / d sigma vanishes as sigma -> 0, so the
 * covariance-based interval collapses to zero width exactly when the
 * parameter is small -- the case where an honest interval matters most --
 * and LM steps crawl near the boundary. Instead we solve the bound-
 * constrained problem by its active sets: fit the unconstrained model, then
 * the model with sigma held at 0, with kappa held at 0, and with both; the
 * feasible candidate with the lowest residual sum of squares is the
 * constrained optimum (a constrained minimum is an unconstrained minimum of
 * the face it lies on). When the optimum is interior, nothing is pinned and
 * the intervals are the textbook ones; when a parameter is pinned at 0 its
 * interval is [0, t se] from the full Jacobian at the solution.
 */
#include "analysis/usl.h"

#include <math.h>
#include <string.h>

#include "analysis/common.h"
#include "analysis/lsq.h"

/*
 * Starting sigma and kappa for a given lambda: lambda N / X(N) - 1 =
 * sigma (N - 1) + kappa N (N - 1) is linear in (sigma, kappa), so a small
 * least-squares solve gives them (exactly, for exact data and the right
 * lambda). Pinned parameters stay 0; negative answers are clamped to 0.
 */
static void linear_guess(const double *x, const double *y, size_t n, double lambda, const bool *pinned,
                         double *sigma, double *kappa)
{
    double a11 = 0.0, a12 = 0.0, a22 = 0.0, b1 = 0.0, b2 = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!(y[i] > 0.0))
            continue;
        double z = lambda * x[i] / y[i] - 1.0;
        double u = x[i] - 1.0, v = x[i] * (x[i] - 1.0);
        a11 += u * u;
        a12 += u * v;
        a22 += v * v;
        b1 += u * z;
        b2 += v * z;
    }
    double s = 0.0, k = 0.0;
    if (!pinned[0] && !pinned[1]) {
        double det = a11 * a22 - a12 * a12;
        s = safe_div(b1 * a22 - b2 * a12, det, 0.0);
        k = safe_div(a11 * b2 - a12 * b1, det, 0.0);
    } else if (!pinned[0]) {
        s = safe_div(b1, a11, 0.0);
    } else if (!pinned[1]) {
        k = safe_div(b2, a22, 0.0);
    }
    *sigma = fmax(0.0, s);
    *kappa = fmax(0.0, k);
}

/* Best fit on one face of the constraint set (pinned parameters held at 0).
 * Starting lambdas: the best TPS per worker (the first band's, normally),
 * and that of the smallest worker count. */
static enum analysis_status fit_face(const double *x, const double *y, size_t n, const bool *pinned,
                                     double *param, double *rss)
{
    size_t lo = 0;
    double best_rate = 0.0;
    for (size_t i = 0; i < n; i++) {
        lo = x[i] < x[lo] ? i : lo;
        best_rate = fmax(best_rate, safe_div(y[i], x[i], 0.0));
    }
    double lambdas[2] = {best_rate, safe_div(y[lo], x[lo], 0.0)};
    double starts[3][3];
    size_t nstarts = 0;
    for (size_t i = 0; i < 2; i++) {
        double *s = starts[nstarts++];
        s[ANALYSIS_USL_LAMBDA] = lambdas[i] > 0.0 ? lambdas[i] : 1.0;
        linear_guess(x, y, n, s[ANALYSIS_USL_LAMBDA], pinned, &s[ANALYSIS_USL_SIGMA], &s[ANALYSIS_USL_KAPPA]);
    }
    double *s = starts[nstarts++];   /* a generic mildly contended system */
    s[ANALYSIS_USL_SIGMA] = pinned[0] ? 0.0 : 0.05;
    s[ANALYSIS_USL_KAPPA] = pinned[1] ? 0.0 : 1e-4;
    s[ANALYSIS_USL_LAMBDA] = best_rate > 0.0 ? best_rate : 1.0;

    bool fixed[3] = {pinned[0], pinned[1], false};
    struct lsq_problem pb = {.x = x, .y = y, .n = n, .p = 3, .fixed = fixed, .model = fit_model_fn(ANALYSIS_MODEL_USL)};
    return lsq_fit_best(&pb, &starts[0][0], nstarts, param, rss);
}

/* The active-set search described at the top of the file. */
static enum analysis_status fit_constrained(const double *x, const double *y, size_t n, struct analysis_usl *u)
{
    static const bool faces[4][2] = {{false, false}, {true, false}, {false, true}, {true, true}};
    double best_rss = INFINITY;
    enum analysis_status last = ANALYSIS_NO_CONVERGENCE;
    for (size_t f = 0; f < 4; f++) {
        double param[3], rss;
        enum analysis_status st = fit_face(x, y, n, faces[f], param, &rss);
        if (st != ANALYSIS_OK) {
            last = st;
            continue;
        }
        if (param[ANALYSIS_USL_SIGMA] < 0.0 || param[ANALYSIS_USL_KAPPA] < 0.0)
            continue;  /* infeasible: another face holds the constrained optimum */
        if (rss < best_rss) {
            best_rss = rss;
            memcpy(u->fit.param, param, sizeof param);
            u->sigma_pinned = faces[f][0];
            u->kappa_pinned = faces[f][1];
        }
    }
    return isfinite(best_rss) ? ANALYSIS_OK : last;
}

static void compute_peak(struct analysis_usl *u)
{
    double sigma = u->fit.param[ANALYSIS_USL_SIGMA];
    double kappa = u->fit.param[ANALYSIS_USL_KAPPA];
    if (sigma >= 1.0) {
        u->peak_workers = 1.0;   /* no gain from a second worker: X falls (or stays) from N = 1 */
    } else if (kappa > 0.0) {
        u->peak_workers = fmax(1.0, finite_or(sqrt((1.0 - sigma) / kappa), 1.0));
    } else {
        u->peak_status = ANALYSIS_NO_PEAK;
        set_message(u->fit.message, "kappa = 0: no coherency cost, so no peak (Amdahl's law)");
        return;
    }
    /* beyond ~1e12 workers the peak is a statement about the model, not the system */
    u->peak_workers = fmin(u->peak_workers, 1e12);
    u->peak_tps = analysis_usl_predict(u, u->peak_workers);
    u->peak_status = ANALYSIS_OK;
    u->peak_extrapolated = u->peak_workers < u->min_workers || u->peak_workers > u->max_workers;
    u->peak_significant = u->fit.param_ci_low[ANALYSIS_USL_KAPPA] > 0.0;
}

enum analysis_status analysis_usl_fit(const double *x, const double *y, size_t n, struct analysis_usl *u)
{
    memset(u, 0, sizeof *u);
    struct analysis_fit *fit = &u->fit;
    if (lsq_begin(fit, ANALYSIS_MODEL_USL, x, y, n) != ANALYSIS_OK) {
        u->peak_status = fit->status;
        return fit->status;
    }
    u->min_workers = INFINITY;
    u->max_workers = 0.0;
    for (size_t i = 0; i < n; i++) {
        u->min_workers = fmin(u->min_workers, x[i]);
        u->max_workers = fmax(u->max_workers, x[i]);
    }
    enum analysis_status st = fit_constrained(x, y, n, u);
    if (st != ANALYSIS_OK) {
        lsq_fail(fit, st == ANALYSIS_NO_MEMORY ? st : ANALYSIS_NO_CONVERGENCE,
                 st == ANALYSIS_NO_MEMORY ? "out of memory" : "the USL fit did not converge");
    } else {
        struct lsq_problem pb = {.x = x, .y = y, .n = n, .p = 3, .model = fit_model_fn(ANALYSIS_MODEL_USL)};
        lsq_finish(fit, &pb);
    }
    if (fit->status != ANALYSIS_OK) {
        u->peak_status = fit->status;
        return fit->status;
    }
    /* sigma and kappa live in [0, inf): their intervals do too */
    fit->param_ci_low[ANALYSIS_USL_SIGMA] = fmax(0.0, fit->param_ci_low[ANALYSIS_USL_SIGMA]);
    fit->param_ci_low[ANALYSIS_USL_KAPPA] = fmax(0.0, fit->param_ci_low[ANALYSIS_USL_KAPPA]);
    compute_peak(u);
    return fit->status;
}

double analysis_usl_predict(const struct analysis_usl *u, double workers)
{
    return analysis_fit_predict(&u->fit, workers);
}

double analysis_usl_response_ms(const struct analysis_usl *u, double workers)
{
    return safe_div(1000.0 * workers, analysis_usl_predict(u, workers), 0.0);
}
