/*
 * Capacity questions answered from the fitted USL and Little's law.
 *
 *  - Fewest workers for a target TPS: the smallest whole N with
 *    X(N) >= target on the rising side of the curve. Unreachable when the
 *    USL's peak (or, without a peak, its asymptote lambda / sigma) is below
 *    the target.
 *  - Highest TPS under a latency target: with no think time a closed loop
 *    obeys Little's law, so the USL implies a response time
 *    R(N) = N / X(N) = (1 + sigma (N - 1) + kappa N (N - 1)) / lambda, which
 *    grows with N. The answer is the whole N with R(N) * scale <= target
 *    that maximises X(N) (never past the peak), where scale is 1 for a mean
 *    latency target and the measured p95/mean ratio for a p95 target.
 *
 * An answer outside the measured worker range is marked extrapolated: the
 * curve has not been tested there.
 */
#ifndef STORMDB_ANALYSIS_CAPACITY_H
#define STORMDB_ANALYSIS_CAPACITY_H

#include <stdbool.h>
#include <stddef.h>

#include "analysis/describe.h"
#include "analysis/status.h"
#include "analysis/usl.h"

enum analysis_latency_kind {
    ANALYSIS_LATENCY_MEAN = 0,
    ANALYSIS_LATENCY_P95
};

struct analysis_capacity_answer {
    enum analysis_status status;   /* ok; not_requested; unreachable; unbounded (latency never grows);
                                      no_data (p95 ratio unknown); or the USL's failure */
    char message[ANALYSIS_MESSAGE_MAX];
    double target;                 /* TPS, or ms */
    double workers;                /* whole number */
    double tps;                    /* X(workers) */
    double latency_ms;             /* predicted mean or p95 (as asked) at workers */
    bool extrapolated;             /* workers outside the measured range */
};

/* Fewest workers predicted to reach target_tps. Returns out->status. */
enum analysis_status analysis_capacity_workers_for_tps(const struct analysis_usl *usl, double target_tps,
                                                       struct analysis_capacity_answer *out);

/* Highest TPS while predicted latency (mean * latency_scale) stays <=
 * target_ms. latency_scale is 1 for a mean target, p95/mean for a p95 target.
 * Returns out->status. */
enum analysis_status analysis_capacity_tps_under_latency(const struct analysis_usl *usl, double target_ms,
                                                         double latency_scale,
                                                         struct analysis_capacity_answer *out);

/* The p95/mean latency ratio to scale predicted means by: the largest ratio
 * measured over the bands (the cautious choice); 0 when no band has both. */
double analysis_capacity_p95_ratio(const struct analysis_band *bands, size_t n);

#endif
