/*
 * Scaling regions from marginal efficiencies (see regions.h).
 */
#include "analysis/regions.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "analysis/common.h"

void analysis_region_thresholds_default(struct analysis_region_thresholds *t)
{
    t->linear = 0.8;
    t->diminishing = 0.3;
    t->saturation = -0.05;
}

bool analysis_region_thresholds_valid(const struct analysis_region_thresholds *t)
{
    return isfinite(t->linear) && isfinite(t->diminishing) && isfinite(t->saturation) &&
           t->linear > t->diminishing && t->diminishing > t->saturation;
}

const char *analysis_region_name(enum analysis_region r)
{
    static const char *const names[ANALYSIS_REGION_COUNT] = {
        "none", "baseline", "linear", "diminishing", "saturation", "degradation"};
    return (unsigned)r < ANALYSIS_REGION_COUNT ? names[r] : "none";
}

enum analysis_region analysis_region_of(double e, const struct analysis_region_thresholds *t)
{
    if (e >= t->linear)
        return ANALYSIS_REGION_LINEAR;
    if (e >= t->diminishing)
        return ANALYSIS_REGION_DIMINISHING;
    if (e > t->saturation)
        return ANALYSIS_REGION_SATURATION;
    return ANALYSIS_REGION_DEGRADATION;
}

static struct analysis_region_summary *summary_of(struct analysis_regions *r, enum analysis_region region)
{
    switch (region) {
    case ANALYSIS_REGION_LINEAR: return &r->linear_scaling;
    case ANALYSIS_REGION_DIMINISHING: return &r->diminishing_returns;
    case ANALYSIS_REGION_SATURATION: return &r->saturation;
    case ANALYSIS_REGION_DEGRADATION: return &r->degradation;
    default: return NULL;
    }
}

/* The worker counts of a region as "2, 4 and 8 workers" (the first few and
 * a count when there are many). */
static void list_workers(const struct analysis_region_summary *s, char *out, size_t size)
{
    enum { SHOWN = 6 };
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < s->count && i < SHOWN && len < size; i++) {
        const char *sep = i == 0 ? "" : (i + 1 == s->count ? " and " : ", ");
        int w = snprintf(out + len, size - len, "%s%d", sep, s->workers[i]);
        len += w > 0 ? (size_t)w : 0;
    }
    if (len < size && s->count > SHOWN)
        snprintf(out + len, size - len, ", ... (%zu in all)", s->count);
}

/* "2, 4 and 8 workers: each added worker brought at least 80% of ..." */
static void describe(struct analysis_region_summary *s, const struct analysis_region_thresholds *t)
{
    char range[96];
    if (s->count == 0) {
        snprintf(s->description, sizeof s->description, "not reached");
        return;
    }
    list_workers(s, range, sizeof range - 8);
    strcat(range, " workers");
    const char *fmt;
    double a = 0.0, b = 0.0;
    switch (s->region) {
    case ANALYSIS_REGION_LINEAR:
        fmt = "%s: each added worker brought at least %.0f%% of the first band's TPS per worker";
        a = 100.0 * t->linear;
        break;
    case ANALYSIS_REGION_DIMINISHING:
        fmt = "%s: added workers brought %.0f%% to %.0f%% of the first band's TPS per worker";
        a = 100.0 * t->diminishing;
        b = 100.0 * t->linear;
        break;
    case ANALYSIS_REGION_SATURATION:
        fmt = "%s: throughput about flat; added workers brought less than %.0f%% of the first band's TPS "
              "per worker";
        a = 100.0 * t->diminishing;
        break;
    default:
        if (t->saturation < 0.0) {
            fmt = "%s: throughput fell as workers were added (more than %.0f%% of the first band's TPS per "
                  "worker lost per added worker)";
            a = -100.0 * t->saturation;
        } else {
            /* a threshold at or above 0 (configurable): "fell" would not be true */
            fmt = "%s: throughput stalled or fell (added workers brought %.0f%% or less of the first band's TPS "
                  "per worker)";
            a = 100.0 * t->saturation + 0.0; /* + 0.0: never "-0" */
        }
        break;
    }
    snprintf(s->description, sizeof s->description, fmt, range, a, b);
}

enum analysis_status analysis_regions_classify(const struct analysis_series *series,
                                               const struct analysis_derivatives *d,
                                               const struct analysis_region_thresholds *thresholds,
                                               struct analysis_regions *r)
{
    memset(r, 0, sizeof *r);
    if (thresholds)
        r->thresholds = *thresholds;
    else
        analysis_region_thresholds_default(&r->thresholds);
    r->linear_scaling.region = ANALYSIS_REGION_LINEAR;
    r->diminishing_returns.region = ANALYSIS_REGION_DIMINISHING;
    r->saturation.region = ANALYSIS_REGION_SATURATION;
    r->degradation.region = ANALYSIS_REGION_DEGRADATION;

    if (!analysis_region_thresholds_valid(&r->thresholds)) {
        r->status = ANALYSIS_INVALID_INPUT;
        set_message(r->message, "region thresholds must be finite with linear > diminishing > saturation");
    } else if (series->status != ANALYSIS_OK || series->n < 2 || d->ngains + 1 != series->n) {
        r->status = series->status != ANALYSIS_OK ? series->status : ANALYSIS_TOO_FEW_POINTS;
        set_message(r->message, "regions need at least two worker counts");
    } else if (!(d->baseline_tps_per_worker > 0.0)) {
        r->status = ANALYSIS_NO_DATA;
        set_message(r->message, "the first band has no TPS: no baseline efficiency");
    } else {
        r->status = ANALYSIS_OK;
    }
    if (r->status != ANALYSIS_OK) {
        for (int k = ANALYSIS_REGION_LINEAR; k < ANALYSIS_REGION_COUNT; k++)
            describe(summary_of(r, (enum analysis_region)k), &r->thresholds);
        return r->status;
    }

    r->npoints = series->n;
    r->point_region[0] = ANALYSIS_REGION_BASELINE;
    r->point_efficiency[0] = 1.0;
    for (size_t i = 1; i < series->n; i++) {
        double e = d->gains[i - 1].efficiency;
        enum analysis_region region = analysis_region_of(e, &r->thresholds);
        r->point_region[i] = region;
        r->point_efficiency[i] = e;
        struct analysis_region_summary *s = summary_of(r, region);
        s->workers[s->count++] = series->points[i].workers;
    }
    r->nbands = series->nbands;
    for (size_t b = 0; b < series->nbands; b++)
        r->band_region[b] = r->point_region[series->band_point[b]];
    for (int k = ANALYSIS_REGION_LINEAR; k < ANALYSIS_REGION_COUNT; k++)
        describe(summary_of(r, (enum analysis_region)k), &r->thresholds);
    set_message(r->message, "%zu linear, %zu diminishing, %zu saturation, %zu degradation", r->linear_scaling.count,
                r->diminishing_returns.count, r->saturation.count, r->degradation.count);
    return r->status;
}
