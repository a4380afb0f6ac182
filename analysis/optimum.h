/*
 * The optimal configuration: which measured band to run, why, and how sure
 * the analysis is.
 *
 * Choice: the band with the highest TPS among the candidates, ties going to
 * fewer workers, then fewer connections. Candidates are the bands with no
 * errors (every band, if every band had errors) whose p95 latency meets the
 * objective when one is set. When the USL fits with a peak, its N* is
 * reported beside the measured choice: the measured band is what was seen,
 * N* is what the curve says between and beyond the bands.
 *
 * Confidence in [0, 1] = fit_quality * noise_factor, where
 *   fit_quality  = the best model's adjusted R^2 clamped to [0, 1], or 0.5
 *                  when no model fits (fewer than 3 worker counts: unknown);
 *   noise        = the larger of the chosen band's relative 95% CI
 *                  half-width of mean latency and the best model's residual
 *                  standard error relative to the chosen TPS;
 *   noise_factor = 1 / (1 + (noise / 0.05)^2): 1% noise -> 0.96, 5% -> 0.5.
 */
#ifndef STORMDB_ANALYSIS_OPTIMUM_H
#define STORMDB_ANALYSIS_OPTIMUM_H

#include <stdbool.h>
#include <stddef.h>

#include "analysis/describe.h"
#include "analysis/models.h"
#include "analysis/status.h"

#define ANALYSIS_REASONING_MAX 768
#define ANALYSIS_NOISE_SCALE 0.05

struct analysis_optimum {
    enum analysis_status status;      /* ok; objective_unmet; too_few_points (no bands); invalid_input */
    char message[ANALYSIS_MESSAGE_MAX];
    int band;                         /* chosen band, run order from 0; -1 when none */
    int workers, connections;
    double tps;
    double efficiency;                /* (TPS / workers) / (TPS / workers of the smallest worker count) */
    double p95_ms;
    double p95_objective_ms;          /* 0 when none was set */
    size_t candidates;                /* bands that met the constraints */
    bool errors_excluded;             /* some bands were left out for errors */
    bool all_bands_had_errors;        /* so none could be left out */
    bool usl_peak;                    /* the USL fitted with a peak: the next three are set */
    double usl_peak_workers;          /* N* */
    double usl_peak_tps;
    bool usl_peak_extrapolated;
    double fit_quality;               /* terms of the confidence, see above */
    double noise;
    double confidence;
    char reasoning[ANALYSIS_REASONING_MAX];
};

/*
 * Choose among bands[0..n) (already validated; stats[i] from
 * analysis_describe_band, models may be NULL when not fitted).
 * p95_objective_ms <= 0 means no latency objective. Returns out->status.
 */
enum analysis_status analysis_optimum_choose(const struct analysis_band *bands,
                                             const struct analysis_band_stats *stats, size_t n,
                                             const struct analysis_models *models, double p95_objective_ms,
                                             struct analysis_optimum *out);

/* The confidence formula above, exposed for tests and reporters. */
double analysis_confidence(double fit_quality, double noise);

#endif
