/*
 * Scaling regions: where each band sits on the throughput curve.
 *
 * The region of a band is read from the marginal gain of the step that
 * reached it (from the previous worker count), as an efficiency relative to
 * the first band's TPS per worker: 1 means the added workers were as
 * productive as the first ones.
 *
 *   baseline     the first band (nothing to compare with)
 *   linear       efficiency >= linear       (default 0.8)
 *   diminishing  efficiency >= diminishing  (default 0.3)
 *   saturation   efficiency >  saturation   (default -0.05): TPS about flat
 *   degradation  otherwise: adding workers lost throughput
 *
 * The thresholds are configurable; they must satisfy
 * linear > diminishing > saturation (analysis_region_thresholds_valid).
 * Bands with the same worker count share a region (see series.h).
 */
#ifndef STORMDB_ANALYSIS_REGIONS_H
#define STORMDB_ANALYSIS_REGIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "analysis/derivatives.h"
#include "analysis/series.h"
#include "analysis/status.h"

#define ANALYSIS_DESCRIPTION_MAX 200

enum analysis_region {
    ANALYSIS_REGION_NONE = 0,   /* not classified (status not ok) */
    ANALYSIS_REGION_BASELINE,
    ANALYSIS_REGION_LINEAR,
    ANALYSIS_REGION_DIMINISHING,
    ANALYSIS_REGION_SATURATION,
    ANALYSIS_REGION_DEGRADATION,
    ANALYSIS_REGION_COUNT
};

struct analysis_region_thresholds {
    double linear;        /* default 0.8 */
    double diminishing;   /* default 0.3 */
    double saturation;    /* default -0.05 */
};

/* One region across the run: the worker counts in it and a sentence. */
struct analysis_region_summary {
    enum analysis_region region;
    size_t count;
    int workers[ANALYSIS_MAX_BANDS];   /* ascending */
    char description[ANALYSIS_DESCRIPTION_MAX];
};

struct analysis_regions {
    enum analysis_status status;       /* ok; too_few_points (< 2 worker counts); no_data (first TPS 0) */
    char message[ANALYSIS_MESSAGE_MAX];
    struct analysis_region_thresholds thresholds;
    size_t npoints;
    enum analysis_region point_region[ANALYSIS_MAX_BANDS];   /* per point of the series */
    double point_efficiency[ANALYSIS_MAX_BANDS];             /* efficiency of the step into it; 1 for baseline */
    size_t nbands;
    enum analysis_region band_region[ANALYSIS_MAX_BANDS];    /* per input band, run order */
    struct analysis_region_summary linear_scaling;
    struct analysis_region_summary diminishing_returns;
    struct analysis_region_summary saturation;
    struct analysis_region_summary degradation;
};

void analysis_region_thresholds_default(struct analysis_region_thresholds *t);
bool analysis_region_thresholds_valid(const struct analysis_region_thresholds *t);

/* "baseline", "linear", "diminishing", "saturation", "degradation", "none". */
const char *analysis_region_name(enum analysis_region region);

/* Region of one efficiency value (never baseline). */
enum analysis_region analysis_region_of(double efficiency, const struct analysis_region_thresholds *t);

/*
 * Classify every point and band. derivatives must come from the same series.
 * thresholds NULL means the defaults; invalid thresholds give invalid_input.
 * Returns out->status.
 */
enum analysis_status analysis_regions_classify(const struct analysis_series *series,
                                               const struct analysis_derivatives *derivatives,
                                               const struct analysis_region_thresholds *thresholds,
                                               struct analysis_regions *out);

#endif
