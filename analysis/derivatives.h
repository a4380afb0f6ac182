/*
 * Discrete derivatives of TPS against workers across the series: marginal
 * gain, curvature (second difference) and inflection points.
 *
 * Why: the marginal gain says what the last step of workers bought, in TPS
 * per added worker; relative to the first band's TPS per worker it is the
 * scaling efficiency the regions are read from. The curvature says whether
 * the gains are shrinking (concave, < 0) or growing (convex, > 0), and a
 * change of its sign is an inflection point: typically where contention
 * turns into coherency loss, or where a collapse levels off.
 */
#ifndef STORMDB_ANALYSIS_DERIVATIVES_H
#define STORMDB_ANALYSIS_DERIVATIVES_H

#include <stddef.h>

#include "analysis/series.h"
#include "analysis/status.h"

/* The step from one point to the next. */
struct analysis_gain {
    int from_workers, to_workers;
    double gain;        /* (TPS_to - TPS_from) / (to_workers - from_workers) */
    double efficiency;  /* gain / (TPS per worker of the first point); 1 = perfectly linear */
};

/* Second difference at an interior point, for uneven steps:
 * f'' ~ 2 [h0 f(i+1) - (h0 + h1) f(i) + h1 f(i-1)] / (h0 h1 (h0 + h1)),
 * h0 = W(i) - W(i-1), h1 = W(i+1) - W(i). */
struct analysis_curvature {
    int workers;
    double d2;          /* TPS per worker^2 */
    int sign;           /* -1, 0 or +1; 0 when |d2| is within rounding of zero */
};

enum analysis_inflection_direction {
    ANALYSIS_CONCAVE_TO_CONVEX = 1,   /* d2 goes from < 0 to > 0 */
    ANALYSIS_CONVEX_TO_CONCAVE = -1   /* d2 goes from > 0 to < 0 */
};

struct analysis_inflection {
    double workers;                   /* where d2 crosses zero, linearly interpolated */
    int from_workers, to_workers;     /* the two interior points it lies between */
    enum analysis_inflection_direction direction;
};

struct analysis_derivatives {
    enum analysis_status status;      /* ok (>= 3 points), too_few_points, no_data */
    char message[ANALYSIS_MESSAGE_MAX];
    double baseline_tps_per_worker;   /* TPS / workers of the first point */
    size_t ngains;                    /* n - 1 when n >= 2 */
    struct analysis_gain gains[ANALYSIS_MAX_BANDS];
    size_t ncurvature;                /* n - 2 when n >= 3 */
    struct analysis_curvature curvature[ANALYSIS_MAX_BANDS];
    size_t ninflections;
    struct analysis_inflection inflections[ANALYSIS_MAX_BANDS];
};

/*
 * Fill *out from a series with status ok. Gains are filled from 2 points
 * (status too_few_points: no curvature yet), curvature from 3, inflections
 * need curvature of both signs. When the first point has zero TPS the
 * efficiencies are 0 and status is no_data. Returns out->status.
 */
enum analysis_status analysis_derivatives(const struct analysis_series *series,
                                          struct analysis_derivatives *out);

#endif
