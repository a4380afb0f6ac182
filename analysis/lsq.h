/*
 * Internal: nonlinear least squares over GSL's trust-region solver, shared by
 * the exponential, logistic and USL fits (not part of the public contract).
 *
 * Why one place: every nonlinear fit needs the same care — GSL set up with
 * Levenberg-Marquardt (no geodesic acceleration) and More scaling, an
 * analytic Jacobian, a check that the answer is really a stationary point
 * (GSL can stop on a tiny step far from the optimum, or report "no progress"
 * when it starts exactly on it), and a covariance that detects singular
 * Jacobians instead of returning garbage.
 */
#ifndef STORMDB_ANALYSIS_LSQ_H
#define STORMDB_ANALYSIS_LSQ_H

#include <stdbool.h>
#include <stddef.h>

#include "analysis/fit.h"
#include "analysis/status.h"

#define LSQ_MAX_PARAMS ANALYSIS_FIT_MAX_PARAMS

/* Model value at x for `param`; when grad is not NULL also d(value)/d(param j)
 * for every j < p. Must return finite numbers for any finite param. */
typedef double (*lsq_model_fn)(double x, const double *param, double *grad, const void *ctx);

struct lsq_problem {
    const double *x, *y;
    size_t n;                  /* observations */
    size_t p;                  /* parameters, <= LSQ_MAX_PARAMS */
    const bool *fixed;         /* NULL, or fixed[j] keeps param j at its start value */
    lsq_model_fn model;
    const void *ctx;
};

/* Minimise the residual sum of squares from `start` (p values); on ok,
 * param receives the solution (fixed ones unchanged) and *rss its RSS. */
enum analysis_status lsq_fit(const struct lsq_problem *pb, const double *start, double *param, double *rss);

/* lsq_fit from each of `nstarts` starting points (row-major, p values each);
 * the stationary solution with the lowest RSS wins. Returns ok, or the
 * status of the last failure. */
enum analysis_status lsq_fit_best(const struct lsq_problem *pb, const double *starts, size_t nstarts,
                                  double *param, double *rss);

/* Residual sum of squares at param. */
double lsq_rss(const struct lsq_problem *pb, const double *param);

/* Unscaled covariance (J^T J)^-1 over all p parameters at param (fixed flags
 * ignored), row-major p x p. ok, or singular when J is rank-deficient. */
enum analysis_status lsq_covariance(const struct lsq_problem *pb, const double *param, double *cov);

/* The curve of a model as an lsq_model_fn (NULL for none); in fit.c. */
lsq_model_fn fit_model_fn(enum analysis_model model);

/* Start a fit: zero *fit, set model, k and n, and check the data: finite
 * values, workers >= 1, at least k + 1 distinct
 * worker counts, some variation in TPS. Returns fit->status. */
enum analysis_status lsq_begin(struct analysis_fit *fit, enum analysis_model model, const double *x,
                               const double *y, size_t n);

/* Give up on a fit: zero its numbers, set status and message. */
enum analysis_status lsq_fail(struct analysis_fit *fit, enum analysis_status status, const char *why);

/* Complete a fit from fit->param (problem in original units): RSS, R^2,
 * adjusted R^2, AIC, RSE, standard errors and 95% intervals. A singular
 * covariance fails the fit. Returns fit->status. */
enum analysis_status lsq_finish(struct analysis_fit *fit, const struct lsq_problem *pb);

#endif
