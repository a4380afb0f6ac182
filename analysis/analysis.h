/*
 * stormdb analysis: the whole contract in one header, and the one entry point
 * the runtime calls.
 *
 * analysis_run() takes the bands of a run (in run order), computes every
 * figure the analysis offers and returns them in one heap-allocated result
 * (free it with analysis_result_free). Nothing here does I/O, prints, or
 * keeps state between calls; no NaN or Inf is ever stored in a result. Each
 * part carries its own status and message, so a run with two bands still
 * gets its per-band figures and optimum while the fits say too_few_points.
 *
 * Read the parts' headers for what each field means, and docs/analysis.md
 * for the method and the JSON shape of `stormdb analyze --json`.
 */
#ifndef STORMDB_ANALYSIS_H
#define STORMDB_ANALYSIS_H

#include <stddef.h>

#include "analysis/bottleneck.h"
#include "analysis/capacity.h"
#include "analysis/derivatives.h"
#include "analysis/describe.h"
#include "analysis/fit.h"
#include "analysis/init.h"
#include "analysis/models.h"
#include "analysis/optimum.h"
#include "analysis/queueing.h"
#include "analysis/recommend.h"
#include "analysis/regions.h"
#include "analysis/series.h"
#include "analysis/status.h"
#include "analysis/usl.h"

struct analysis_options {
    double p95_objective_ms;                     /* optimum: p95 <= this; 0 = no objective */
    struct analysis_region_thresholds regions;   /* defaults 0.8, 0.3, -0.05 */
    double target_tps;                           /* capacity: fewest workers for this TPS; 0 = not asked */
    double target_latency_ms;                    /* capacity: highest TPS under this latency; 0 = not asked */
    enum analysis_latency_kind target_latency_kind;  /* is target_latency_ms a mean or a p95? */
};

struct analysis_result {
    /*
     * ok; invalid_input / too_many_bands (only bands[] and queueing[] are
     * filled, with their own statuses); too_few_points (fewer than 3
     * distinct worker counts: no curvature or fits); no_variation (TPS the
     * same everywhere: no fits).
     */
    enum analysis_status status;
    char message[ANALYSIS_MESSAGE_MAX];
    struct analysis_options options;                     /* as used (defaults filled in) */
    size_t nbands;
    struct analysis_band input[ANALYSIS_MAX_BANDS];      /* copy of the bands, run order (empty when invalid) */
    struct analysis_band_stats bands[ANALYSIS_MAX_BANDS];
    struct analysis_queueing queueing[ANALYSIS_MAX_BANDS];
    struct analysis_series series;                       /* points by workers ascending */
    struct analysis_derivatives derivatives;             /* marginal gains, curvature, inflections */
    struct analysis_models models;                       /* the five fits, best model, peak, saturation */
    struct analysis_regions regions;
    struct analysis_optimum optimum;
    double p95_ratio;                                    /* p95/mean used for p95 capacity questions */
    struct analysis_capacity_answer workers_for_tps;
    struct analysis_capacity_answer tps_under_latency;
    size_t nrecommendations;
    struct analysis_recommendation recommendations[ANALYSIS_MAX_RECOMMENDATIONS];
};

/* Defaults: no latency objective, default region thresholds, no capacity
 * questions. */
void analysis_options_default(struct analysis_options *options);

/*
 * Analyse bands[0..n). options may be NULL (defaults). Returns a result to
 * free with analysis_result_free, or NULL only when memory ran out. Invalid
 * input is reported in result->status, never by NULL.
 */
struct analysis_result *analysis_run(const struct analysis_band *bands, size_t n,
                                     const struct analysis_options *options);

void analysis_result_free(struct analysis_result *result);

#endif
