/*
 * Status codes shared by every analysis function.
 *
 * Why: the analysis never prints and never returns NaN or Inf. When a figure
 * cannot be computed (too few bands, a fit that does not converge, a queue
 * that is unstable) the function says so with one of these codes, zeroes the
 * numbers it could not compute and writes a one-line message for people.
 * Each code has a stable snake_case name, which is what the Lua binding and
 * the JSON export carry (`status = "too_few_points"`), and a sentence.
 */
#ifndef STORMDB_ANALYSIS_STATUS_H
#define STORMDB_ANALYSIS_STATUS_H

/* Size of every message buffer in the analysis structs, NUL included. */
#define ANALYSIS_MESSAGE_MAX 160

enum analysis_status {
    ANALYSIS_OK = 0,
    ANALYSIS_INVALID_INPUT,    /* NaN, Inf, a negative figure, workers or connections < 1, no band time */
    ANALYSIS_TOO_MANY_BANDS,   /* more than ANALYSIS_MAX_BANDS bands */
    ANALYSIS_TOO_FEW_POINTS,   /* fewer distinct worker counts (or samples) than the method needs */
    ANALYSIS_NO_VARIATION,     /* TPS is the same at every worker count: nothing to fit */
    ANALYSIS_NO_DATA,          /* the figure needs data the band does not have (no samples, zero TPS) */
    ANALYSIS_NO_CONVERGENCE,   /* a nonlinear fit did not converge from any starting point */
    ANALYSIS_SINGULAR,         /* the fit's covariance is singular: parameters not identifiable */
    ANALYSIS_NO_PEAK,          /* the model has no maximum (USL with kappa = 0) */
    ANALYSIS_UNBOUNDED,        /* the model is still rising at the largest measured worker count */
    ANALYSIS_UNSTABLE,         /* M/M/c with utilisation >= 1: the queue grows without bound */
    ANALYSIS_UNREACHABLE,      /* a capacity target the fitted model never reaches */
    ANALYSIS_OBJECTIVE_UNMET,  /* no band satisfies the latency objective */
    ANALYSIS_NOT_REQUESTED,    /* an optional question that was not asked */
    ANALYSIS_NO_MEMORY         /* allocation failed */
};

/* "ok", "invalid_input", ... : stable names for exports. Never NULL. */
const char *analysis_status_name(enum analysis_status status);

/* A sentence describing the code in general. Never NULL. */
const char *analysis_status_text(enum analysis_status status);

#endif
