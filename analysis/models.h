/*
 * All five fits of TPS against workers, the choice of the best one, and what
 * the best one predicts: the peak and the saturation point.
 *
 * Best model: among the fits with status ok, the highest adjusted R^2;
 * fits within ANALYSIS_BEST_ADJ_R2_TIE of the highest are a tie, broken by
 * the lowest AIC, then by fewer parameters. Adjusted R^2 screens out models
 * that plainly do not fit; AIC then decides between the ones that do by
 * their relative residuals, which adjusted R^2 compresses near 1.
 *
 * Predicted peak: for the USL (when it is best and has a peak) N* and X(N*),
 * even beyond the measured range (peak_extrapolated). For every other curve,
 * and a USL without a peak, the maximum of the curve over the measured
 * range; if the curve is still rising at the largest measured worker count,
 * peak_status is unbounded and the figures are those at that count.
 *
 * Saturation: the smallest whole number of workers at which the best curve
 * reaches ANALYSIS_SATURATION_FRACTION (95%) of the predicted peak TPS.
 */
#ifndef STORMDB_ANALYSIS_MODELS_H
#define STORMDB_ANALYSIS_MODELS_H

#include <stdbool.h>
#include <stddef.h>

#include "analysis/fit.h"
#include "analysis/status.h"
#include "analysis/usl.h"

#define ANALYSIS_BEST_ADJ_R2_TIE 0.001
#define ANALYSIS_SATURATION_FRACTION 0.95

struct analysis_models {
    enum analysis_status status;       /* ok when at least one model fitted; else why none did */
    char message[ANALYSIS_MESSAGE_MAX];
    struct analysis_fit linear;
    struct analysis_fit logarithmic;
    struct analysis_fit exponential;
    struct analysis_fit logistic;
    struct analysis_usl usl;
    enum analysis_model best;          /* none when no fit is ok */
    double r_squared;                  /* of the best model */
    double adj_r_squared;
    enum analysis_status peak_status;  /* ok, unbounded, or status when no model */
    double predicted_peak_tps;
    double predicted_peak_workers;     /* continuous: N* is not a whole number */
    bool peak_extrapolated;            /* beyond the measured range (USL only) */
    enum analysis_status saturation_status;
    double saturation_workers;         /* whole number */
    double min_workers, max_workers;   /* the measured range */
};

/* Run every fit on (workers, tps) and choose. Returns out->status. */
enum analysis_status analysis_models_fit(const double *workers, const double *tps, size_t n,
                                         struct analysis_models *out);

/* The fit for a model (the USL's is &usl.fit); NULL for none. */
const struct analysis_fit *analysis_models_get(const struct analysis_models *m, enum analysis_model model);

/* The best model's curve at workers; 0 when there is none. */
double analysis_models_predict(const struct analysis_models *m, double workers);

#endif
