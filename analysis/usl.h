/*
 * The Universal Scalability Law (Gunther):
 *
 *     X(N) = lambda N / (1 + sigma (N - 1) + kappa N (N - 1))
 *
 * N is workers, X throughput. lambda is the throughput of one worker alone,
 * sigma the contention (serialised fraction: locks, a single WAL writer),
 * kappa the coherency cost (every worker waiting on every other: cache-line
 * and buffer-lock ping-pong, lock-manager fan-out). With kappa > 0 throughput
 * peaks at N* = sqrt((1 - sigma) / kappa) and falls beyond it; with kappa = 0
 * it rises towards lambda / sigma (Amdahl) and has no peak.
 *
 * sigma and kappa are fitted subject to sigma, kappa >= 0 (see usl.c for
 * how); lambda is free. Confidence intervals come from the covariance of the
 * full three-parameter model at the solution; the lower ends of sigma's and
 * kappa's intervals are clamped at 0.
 */
#ifndef STORMDB_ANALYSIS_USL_H
#define STORMDB_ANALYSIS_USL_H

#include <stdbool.h>
#include <stddef.h>

#include "analysis/fit.h"
#include "analysis/status.h"

struct analysis_usl {
    struct analysis_fit fit;          /* model usl; param[ANALYSIS_USL_SIGMA/KAPPA/LAMBDA] */
    bool sigma_pinned;                /* the unconstrained optimum had sigma < 0; held at 0 */
    bool kappa_pinned;                /* likewise for kappa */
    enum analysis_status peak_status; /* ok; no_peak when kappa = 0; the fit's status when it failed */
    double peak_workers;              /* N* (>= 1; 1 when sigma >= 1) */
    double peak_tps;                  /* X(N*) */
    bool peak_extrapolated;           /* N* outside the measured worker range */
    bool peak_significant;            /* kappa's 95% interval excludes 0 */
    double min_workers, max_workers;  /* the measured range */
};

/* Fit the USL to (workers, tps): at least 4 distinct worker counts. Returns
 * out->fit.status. */
enum analysis_status analysis_usl_fit(const double *workers, const double *tps, size_t n,
                                      struct analysis_usl *out);

/* X(N) from a USL with status ok; 0 otherwise. */
double analysis_usl_predict(const struct analysis_usl *usl, double workers);

/* Closed-loop response time R(N) = N / X(N) in milliseconds (Little's law
 * with no think time): what the USL implies a worker waits per transaction,
 * pool wait included. 0 when the USL is not ok. */
double analysis_usl_response_ms(const struct analysis_usl *usl, double workers);

#endif
