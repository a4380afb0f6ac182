/*
 * The across-band series: bands reduced to points (workers, TPS) sorted by
 * workers ascending, one point per distinct worker count.
 *
 * Why: derivatives, fits and regions are functions of the worker count, so
 * they need strictly increasing, distinct worker counts. Bands with the same
 * worker count (a repeated band, or a strategy that varies only the
 * connections) are averaged into one point: TPS is the mean of their TPS and
 * the connections are those of the first such band in run order. The
 * per-band figures (describe, queueing, optimum) still see every band.
 */
#ifndef STORMDB_ANALYSIS_SERIES_H
#define STORMDB_ANALYSIS_SERIES_H

#include <stddef.h>

#include "analysis/describe.h"
#include "analysis/status.h"

/* Most bands one analysis takes; more gives ANALYSIS_TOO_MANY_BANDS. */
#define ANALYSIS_MAX_BANDS 512

struct analysis_point {
    int workers;
    int connections;      /* of the first band with this worker count */
    double tps;           /* mean TPS of the bands with this worker count */
    int nbands;           /* how many bands were averaged into this point */
    int first_band;       /* index (run order) of the first of them */
};

struct analysis_series {
    enum analysis_status status;  /* ok, invalid_input, too_many_bands, too_few_points (< 1 band) */
    char message[ANALYSIS_MESSAGE_MAX];
    size_t n;                     /* number of points */
    size_t nbands;                /* number of input bands */
    struct analysis_point points[ANALYSIS_MAX_BANDS];
    double workers[ANALYSIS_MAX_BANDS];  /* points[i].workers as doubles, for the fits */
    double tps[ANALYSIS_MAX_BANDS];      /* points[i].tps */
    int band_point[ANALYSIS_MAX_BANDS];  /* for each input band, the index of its point */
};

/* Validate every band and build the series. On invalid input the message
 * names the band (run order, from 0) and the field. Returns out->status. */
enum analysis_status analysis_series_build(const struct analysis_band *bands, size_t nbands,
                                           struct analysis_series *out);

/* Build a series straight from arrays (for tests and for callers that have no
 * bands): workers must be >= 1, tps finite and >= 0. connections are set to
 * the workers. */
enum analysis_status analysis_series_from_arrays(const double *workers, const double *tps, size_t n,
                                                 struct analysis_series *out);

#endif
