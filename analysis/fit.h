/*
 * Fits of TPS against workers: linear, logarithmic, exponential, logistic
 * (the Universal Scalability Law is in usl.h and shares struct analysis_fit).
 *
 * Why several: each shape tells a different story. Linear means the system
 * is not yet contended; logarithmic, steady diminishing returns; exponential,
 * growth or decay that compounds; logistic, an S-curve that flattens at a
 * ceiling L; USL, contention plus coherency with a real peak. models.h picks
 * the one the data supports best.
 *
 * Every fit reports its parameters with standard errors and 95% confidence
 * intervals (covariance s^2 (J^T J)^-1 times the t quantile with n - k
 * degrees of freedom), R^2, adjusted R^2, AIC (least-squares form
 * n ln(RSS/n) + 2k) and the residual standard error. Nonlinear fits minimise
 * squared residuals in the original units (no log transform). A fit whose
 * status is not ok has every number zeroed: do not use them.
 */
#ifndef STORMDB_ANALYSIS_FIT_H
#define STORMDB_ANALYSIS_FIT_H

#include <stddef.h>

#include "analysis/status.h"

enum analysis_model {
    ANALYSIS_MODEL_NONE = 0,
    ANALYSIS_MODEL_LINEAR,       /* a W + b */
    ANALYSIS_MODEL_LOGARITHMIC,  /* a ln W + b */
    ANALYSIS_MODEL_EXPONENTIAL,  /* a e^(b W) */
    ANALYSIS_MODEL_LOGISTIC,     /* L / (1 + e^(-k (W - x0))) */
    ANALYSIS_MODEL_USL,          /* lambda N / (1 + sigma (N - 1) + kappa N (N - 1)) */
    ANALYSIS_MODEL_COUNT
};

#define ANALYSIS_FIT_MAX_PARAMS 3

/* Parameter indexes into analysis_fit.param for each model. */
enum { ANALYSIS_LIN_A = 0, ANALYSIS_LIN_B = 1 };            /* linear and logarithmic */
enum { ANALYSIS_EXP_A = 0, ANALYSIS_EXP_B = 1 };
enum { ANALYSIS_LOGISTIC_L = 0, ANALYSIS_LOGISTIC_K = 1, ANALYSIS_LOGISTIC_X0 = 2 };
enum { ANALYSIS_USL_SIGMA = 0, ANALYSIS_USL_KAPPA = 1, ANALYSIS_USL_LAMBDA = 2 };

struct analysis_fit {
    enum analysis_model model;
    enum analysis_status status;      /* ok, too_few_points, no_variation, invalid_input,
                                         no_convergence, singular */
    char message[ANALYSIS_MESSAGE_MAX];
    size_t n;                         /* points fitted */
    size_t nparams;                   /* k */
    double param[ANALYSIS_FIT_MAX_PARAMS];
    double param_se[ANALYSIS_FIT_MAX_PARAMS];      /* standard error */
    double param_ci_low[ANALYSIS_FIT_MAX_PARAMS];  /* 95% confidence interval */
    double param_ci_high[ANALYSIS_FIT_MAX_PARAMS];
    double rss;                       /* residual sum of squares, TPS^2 */
    double r_squared;                 /* 1 - RSS/TSS (can be < 0 for a bad nonlinear fit) */
    double adj_r_squared;             /* 1 - (1 - R^2)(n - 1)/(n - k) */
    double aic;                       /* n ln(max(RSS, floor)/n) + 2k, see docs/analysis.md */
    double rse;                       /* residual standard error sqrt(RSS/(n - k)), TPS */
};

/* "linear", "logarithmic", "exponential", "logistic", "usl", "none". */
const char *analysis_model_name(enum analysis_model model);

/* Name of parameter i of a model ("a", "b", "L", "k", "x0", "sigma",
 * "kappa", "lambda"), or NULL past the last. */
const char *analysis_model_param_name(enum analysis_model model, size_t i);

/* Number of parameters of a model (0 for none). */
size_t analysis_model_nparams(enum analysis_model model);

/* The fitted curve at `workers`; 0 when the fit's status is not ok. Always
 * finite. */
double analysis_fit_predict(const struct analysis_fit *fit, double workers);

/*
 * The fits. workers[i] >= 1 (any order, distinct values needed: at least
 * k + 1 of them), tps[i] finite. Each returns out->status.
 */
enum analysis_status analysis_fit_linear(const double *workers, const double *tps, size_t n,
                                         struct analysis_fit *out);
enum analysis_status analysis_fit_logarithmic(const double *workers, const double *tps, size_t n,
                                              struct analysis_fit *out);
enum analysis_status analysis_fit_exponential(const double *workers, const double *tps, size_t n,
                                              struct analysis_fit *out);
enum analysis_status analysis_fit_logistic(const double *workers, const double *tps, size_t n,
                                           struct analysis_fit *out);

#endif
