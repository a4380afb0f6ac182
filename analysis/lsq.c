/*
 * Nonlinear least squares over gsl_multifit_nlinear (see lsq.h).
 */
#include "analysis/lsq.h"

#include <math.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_vector.h>

#include "analysis/common.h"

/* The free parameters are GSL's unknowns; fixed ones stay in `full`. */
struct lsq_call {
    const struct lsq_problem *pb;
    size_t nfree;
    size_t index[LSQ_MAX_PARAMS];   /* free parameter k is full parameter index[k] */
    double full[LSQ_MAX_PARAMS];
};

static void unpack(struct lsq_call *c, const gsl_vector *v)
{
    for (size_t k = 0; k < c->nfree; k++)
        c->full[c->index[k]] = gsl_vector_get(v, k);
}

static int residuals(const gsl_vector *v, void *data, gsl_vector *f)
{
    struct lsq_call *c = data;
    unpack(c, v);
    for (size_t i = 0; i < c->pb->n; i++) {
        double r = c->pb->model(c->pb->x[i], c->full, NULL, c->pb->ctx) - c->pb->y[i];
        if (!isfinite(r))
            return GSL_EDOM;
        gsl_vector_set(f, i, r);
    }
    return GSL_SUCCESS;
}

static int jacobian(const gsl_vector *v, void *data, gsl_matrix *J)
{
    struct lsq_call *c = data;
    double grad[LSQ_MAX_PARAMS];
    unpack(c, v);
    for (size_t i = 0; i < c->pb->n; i++) {
        c->pb->model(c->pb->x[i], c->full, grad, c->pb->ctx);
        for (size_t k = 0; k < c->nfree; k++) {
            if (!isfinite(grad[c->index[k]]))
                return GSL_EDOM;
            gsl_matrix_set(J, i, k, grad[c->index[k]]);
        }
    }
    return GSL_SUCCESS;
}

double lsq_rss(const struct lsq_problem *pb, const double *param)
{
    double rss = 0.0;
    for (size_t i = 0; i < pb->n; i++) {
        double r = pb->model(pb->x[i], param, NULL, pb->ctx) - pb->y[i];
        rss += r * r;
    }
    return isfinite(rss) ? rss : INFINITY;
}

/*
 * Is `param` a least-squares solution? At a stationary point the residual
 * vector is orthogonal to every column of the Jacobian; we test the cosine
 * of the angle, which does not depend on the units of x, y or the
 * parameters. A residual that is zero to rounding (exact data) also counts.
 */
static bool is_stationary(const struct lsq_problem *pb, const struct lsq_call *c)
{
    double ynorm = 0.0, fnorm = 0.0;
    double dot[LSQ_MAX_PARAMS] = {0}, colnorm[LSQ_MAX_PARAMS] = {0};
    double grad[LSQ_MAX_PARAMS];
    for (size_t i = 0; i < pb->n; i++) {
        double r = pb->model(pb->x[i], c->full, grad, pb->ctx) - pb->y[i];
        ynorm += pb->y[i] * pb->y[i];
        fnorm += r * r;
        for (size_t k = 0; k < c->nfree; k++) {
            double g = grad[c->index[k]];
            dot[k] += g * r;
            colnorm[k] += g * g;
        }
    }
    if (!isfinite(fnorm))
        return false;
    if (fnorm <= 1e-24 * ynorm)
        return true;
    /* Each residual carries a rounding error of about eps |y|, so the cosine
     * cannot be resolved below ~eps |y| / |f| for nearly exact data. */
    double tol = fmax(1e-6, 1e-13 * sqrt(safe_div(ynorm, fnorm, 0.0)));
    for (size_t k = 0; k < c->nfree; k++) {
        double cosine = safe_div(fabs(dot[k]), sqrt(colnorm[k] * fnorm), 1.0);
        if (cosine > tol)
            return false;
    }
    return true;
}

static enum analysis_status run_solver(struct lsq_call *c, double *param)
{
    const struct lsq_problem *pb = c->pb;
    gsl_multifit_nlinear_parameters fp = gsl_multifit_nlinear_default_parameters();
    fp.trs = gsl_multifit_nlinear_trs_lm;          /* plain LM: geodesic acceleration off */
    fp.scale = gsl_multifit_nlinear_scale_more;    /* invariant to parameter units */
    fp.solver = gsl_multifit_nlinear_solver_qr;

    gsl_multifit_nlinear_workspace *w =
        gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &fp, pb->n, c->nfree);
    gsl_vector *x0 = gsl_vector_alloc(c->nfree);
    if (!w || !x0) {
        if (w)
            gsl_multifit_nlinear_free(w);
        if (x0)
            gsl_vector_free(x0);
        return ANALYSIS_NO_MEMORY;
    }
    gsl_multifit_nlinear_fdf fdf = {
        .f = residuals, .df = jacobian, .fvv = NULL, .n = pb->n, .p = c->nfree, .params = c};
    for (size_t k = 0; k < c->nfree; k++)
        gsl_vector_set(x0, k, param[c->index[k]]);

    enum analysis_status st = ANALYSIS_NO_CONVERGENCE;
    int info = 0;
    if (gsl_multifit_nlinear_init(x0, &fdf, w) == GSL_SUCCESS) {
        /* The driver's status is advisory: a "no progress" or iteration-limit
         * stop can still sit on the optimum (exact data), and a small-step
         * stop can sit off it. is_stationary() decides. */
        (void)gsl_multifit_nlinear_driver(500, 1e-12, 1e-12, 0.0, NULL, NULL, &info, w);
        unpack(c, gsl_multifit_nlinear_position(w));
        bool finite = true;
        for (size_t j = 0; j < pb->p; j++)
            finite = finite && isfinite(c->full[j]);
        if (finite && is_stationary(pb, c)) {
            memcpy(param, c->full, pb->p * sizeof *param);
            st = ANALYSIS_OK;
        }
    }
    gsl_vector_free(x0);
    gsl_multifit_nlinear_free(w);
    return st;
}

enum analysis_status lsq_fit(const struct lsq_problem *pb, const double *start, double *param, double *rss)
{
    analysis_init();
    struct lsq_call c = {.pb = pb};
    for (size_t j = 0; j < pb->p; j++) {
        c.full[j] = start[j];
        if (!pb->fixed || !pb->fixed[j])
            c.index[c.nfree++] = j;
        if (!isfinite(start[j]))
            return ANALYSIS_NO_CONVERGENCE;
    }
    memcpy(param, start, pb->p * sizeof *param);
    if (pb->n <= c.nfree)
        return ANALYSIS_TOO_FEW_POINTS;

    enum analysis_status st;
    if (c.nfree == 0) {
        st = ANALYSIS_OK;  /* nothing to fit: the start is the answer */
    } else {
        st = run_solver(&c, param);
    }
    *rss = st == ANALYSIS_OK ? lsq_rss(pb, param) : 0.0;
    if (st == ANALYSIS_OK && !isfinite(*rss)) {
        *rss = 0.0;
        st = ANALYSIS_NO_CONVERGENCE;
    }
    return st;
}

enum analysis_status lsq_fit_best(const struct lsq_problem *pb, const double *starts, size_t nstarts,
                                  double *param, double *rss)
{
    enum analysis_status result = ANALYSIS_NO_CONVERGENCE;
    double best = INFINITY;
    for (size_t s = 0; s < nstarts; s++) {
        double trial[LSQ_MAX_PARAMS], trial_rss;
        enum analysis_status st = lsq_fit(pb, &starts[s * pb->p], trial, &trial_rss);
        if (st == ANALYSIS_OK && trial_rss < best) {
            best = trial_rss;
            memcpy(param, trial, pb->p * sizeof *param);
            *rss = trial_rss;
            result = ANALYSIS_OK;
        } else if (result != ANALYSIS_OK) {
            result = st;
        }
    }
    return result;
}

/*
 * Covariance via gsl_multifit_nlinear_covar on a column-scaled Jacobian, so
 * that its rank test (|R_kk| <= epsrel |R_11|) compares directions, not
 * units: a USL kappa column is ~N^2 while sigma's is ~N.
 */
enum analysis_status lsq_covariance(const struct lsq_problem *pb, const double *param, double *cov)
{
    analysis_init();
    size_t p = pb->p;
    memset(cov, 0, p * p * sizeof *cov);
    gsl_matrix *J = gsl_matrix_alloc(pb->n, p);
    gsl_matrix *C = gsl_matrix_alloc(p, p);
    if (!J || !C) {
        if (J)
            gsl_matrix_free(J);
        if (C)
            gsl_matrix_free(C);
        return ANALYSIS_NO_MEMORY;
    }
    double grad[LSQ_MAX_PARAMS], scale[LSQ_MAX_PARAMS] = {0};
    for (size_t i = 0; i < pb->n; i++) {
        pb->model(pb->x[i], param, grad, pb->ctx);
        for (size_t j = 0; j < p; j++) {
            gsl_matrix_set(J, i, j, grad[j]);
            scale[j] += grad[j] * grad[j];
        }
    }
    enum analysis_status st = ANALYSIS_OK;
    for (size_t j = 0; j < p; j++) {
        scale[j] = sqrt(scale[j]);
        if (!(scale[j] > 0.0) || !isfinite(scale[j]))
            st = ANALYSIS_SINGULAR;   /* a parameter the data does not see at all */
    }
    if (st == ANALYSIS_OK) {
        for (size_t i = 0; i < pb->n; i++)
            for (size_t j = 0; j < p; j++)
                gsl_matrix_set(J, i, j, gsl_matrix_get(J, i, j) / scale[j]);
        if (gsl_multifit_nlinear_covar(J, 1e-10, C) != GSL_SUCCESS)
            st = ANALYSIS_SINGULAR;
    }
    for (size_t j = 0; st == ANALYSIS_OK && j < p; j++) {
        double d = gsl_matrix_get(C, j, j);
        if (!(d > 0.0) || !isfinite(d))
            st = ANALYSIS_SINGULAR;   /* column dropped by the rank test */
    }
    for (size_t a = 0; st == ANALYSIS_OK && a < p; a++)
        for (size_t b = 0; b < p; b++)
            cov[a * p + b] = gsl_matrix_get(C, a, b) / (scale[a] * scale[b]);
    if (st != ANALYSIS_OK)
        memset(cov, 0, p * p * sizeof *cov);
    gsl_matrix_free(J);
    gsl_matrix_free(C);
    return st;
}

enum analysis_status lsq_fail(struct analysis_fit *fit, enum analysis_status status, const char *why)
{
    enum analysis_model model = fit->model;
    size_t n = fit->n, k = fit->nparams;
    memset(fit, 0, sizeof *fit);
    fit->model = model;
    fit->n = n;
    fit->nparams = k;
    fit->status = status;
    set_message(fit->message, "%s", why);
    return status;
}

static size_t count_distinct(const double *x, size_t n)
{
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < i && x[j] != x[i])
            j++;
        distinct += j == i;
    }
    return distinct;
}

/* Total sum of squares about the mean, in units of max|y|^2 so that it
 * neither overflows nor underflows for extreme TPS; *ymax receives max|y|. */
static double scaled_tss(const double *y, size_t n, double *ymax)
{
    double m = 0.0, mean = 0.0, tss = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(y[i]));
    *ymax = m;
    if (!(m > 0.0))
        return 0.0;
    for (size_t i = 0; i < n; i++)
        mean += y[i] / m / (double)n;
    for (size_t i = 0; i < n; i++)
        tss += (y[i] / m - mean) * (y[i] / m - mean);
    return tss;
}

enum analysis_status lsq_begin(struct analysis_fit *fit, enum analysis_model model, const double *x,
                               const double *y, size_t n)
{
    memset(fit, 0, sizeof *fit);
    fit->model = model;
    fit->n = n;
    fit->nparams = analysis_model_nparams(model);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]) || !isfinite(y[i]) || x[i] < 1.0)
            return lsq_fail(fit, ANALYSIS_INVALID_INPUT, "workers must be >= 1 and TPS finite");
    size_t distinct = count_distinct(x, n);
    if (distinct < fit->nparams + 1) {
        char why[ANALYSIS_MESSAGE_MAX];
        set_message(why, "%zu distinct worker counts; the %s fit needs at least %zu", distinct,
                    analysis_model_name(model), fit->nparams + 1);
        return lsq_fail(fit, ANALYSIS_TOO_FEW_POINTS, why);
    }
    double ymax;
    if (!(scaled_tss(y, n, &ymax) > 1e-24 * (double)n))
        return lsq_fail(fit, ANALYSIS_NO_VARIATION, "TPS is the same at every worker count");
    fit->status = ANALYSIS_OK;
    return ANALYSIS_OK;
}

/* AIC needs ln(RSS/n); an exact fit has RSS = 0. The floor is the rounding
 * level of the data, (1e-10 max|TPS|)^2 per point, so exact fits of
 * different models tie on RSS and differ by 2k. */
static double aic_of(double rss, size_t n, size_t k, double ymax)
{
    double floor = 1e-20 * fmax(ymax * ymax, 1e-300);
    double per_point = fmax(rss / (double)n, floor);
    return finite_or((double)n * log(per_point) + 2.0 * (double)k, 0.0);
}

enum analysis_status lsq_finish(struct analysis_fit *fit, const struct lsq_problem *pb)
{
    size_t n = pb->n, k = fit->nparams;
    for (size_t j = 0; j < k; j++)
        if (!isfinite(fit->param[j]))
            return lsq_fail(fit, ANALYSIS_NO_CONVERGENCE, "the fit diverged");
    double ymax;
    double tss = scaled_tss(pb->y, n, &ymax);
    double rss = lsq_rss(pb, fit->param);
    if (!isfinite(rss))
        return lsq_fail(fit, ANALYSIS_NO_CONVERGENCE, "the fitted curve overflows");

    double cov[LSQ_MAX_PARAMS * LSQ_MAX_PARAMS];
    if (lsq_covariance(pb, fit->param, cov) != ANALYSIS_OK)
        return lsq_fail(fit, ANALYSIS_SINGULAR,
                        "singular covariance: the data cannot tell the parameters apart");

    double dof = (double)(n - k);
    double s2 = rss / dof;
    double t = t95(dof);
    fit->rss = rss;
    fit->r_squared = finite_or(1.0 - safe_div(rss / ymax / ymax, tss, 0.0), 0.0);
    fit->adj_r_squared = finite_or(1.0 - (1.0 - fit->r_squared) * ((double)n - 1.0) / dof, 0.0);
    fit->aic = aic_of(rss, n, k, ymax);
    fit->rse = finite_or(sqrt(s2), 0.0);
    for (size_t j = 0; j < k; j++) {
        double se = finite_or(sqrt(fmax(0.0, s2 * cov[j * k + j])), 0.0);
        fit->param_se[j] = se;
        fit->param_ci_low[j] = finite_or(fit->param[j] - t * se, fit->param[j]);
        fit->param_ci_high[j] = finite_or(fit->param[j] + t * se, fit->param[j]);
    }
    fit->status = ANALYSIS_OK;
    set_message(fit->message, "R^2 %.4f over %zu points", fit->r_squared, n);
    return ANALYSIS_OK;
}
