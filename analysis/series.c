/*
 * Bands to points: validation, sorting by workers, averaging duplicates
 * (see series.h).
 */
#include "analysis/series.h"

#include <math.h>
#include <string.h>

#include "analysis/common.h"

/* Insert-or-merge one (workers, connections, tps) into the sorted points;
 * returns the point index. n is small (<= ANALYSIS_MAX_BANDS), so insertion
 * keeps this obvious. */
static size_t series_add(struct analysis_series *s, int workers, int connections, double tps, int band)
{
    size_t i = 0;
    while (i < s->n && s->points[i].workers < workers)
        i++;
    if (i < s->n && s->points[i].workers == workers) {
        struct analysis_point *p = &s->points[i];
        p->nbands++;
        p->tps += (tps - p->tps) / p->nbands; /* running mean */
        return i;
    }
    memmove(&s->points[i + 1], &s->points[i], (s->n - i) * sizeof s->points[0]);
    s->points[i] = (struct analysis_point){
        .workers = workers, .connections = connections, .tps = tps, .nbands = 1, .first_band = band};
    s->n++;
    return i;
}

/* After all inserts: the double arrays for the fits. */
static void series_finish(struct analysis_series *s, size_t nbands)
{
    for (size_t i = 0; i < s->n; i++) {
        s->workers[i] = s->points[i].workers;
        s->tps[i] = s->points[i].tps;
    }
    s->nbands = nbands;
    s->status = ANALYSIS_OK;
    set_message(s->message, "%zu points from %zu bands", s->n, nbands);
}

/* Record which point band b (with `workers`) went into. */
static void series_map(struct analysis_series *s, size_t b, int workers)
{
    size_t i = 0;
    while (i + 1 < s->n && s->points[i].workers != workers)
        i++;
    s->band_point[b] = (int)i;
}

static enum analysis_status series_check_count(size_t n, struct analysis_series *s)
{
    memset(s, 0, sizeof *s);
    if (n > ANALYSIS_MAX_BANDS) {
        s->status = ANALYSIS_TOO_MANY_BANDS;
        set_message(s->message, "%zu bands; at most %d are analysed", n, ANALYSIS_MAX_BANDS);
    } else if (n == 0) {
        s->status = ANALYSIS_TOO_FEW_POINTS;
        set_message(s->message, "no bands");
    } else {
        s->status = ANALYSIS_OK;
    }
    return s->status;
}

enum analysis_status analysis_series_build(const struct analysis_band *bands, size_t nbands,
                                           struct analysis_series *s)
{
    if (series_check_count(nbands, s) != ANALYSIS_OK)
        return s->status;
    for (size_t b = 0; b < nbands; b++) {
        char why[ANALYSIS_MESSAGE_MAX];
        if (analysis_band_validate(&bands[b], why) != ANALYSIS_OK) {
            memset(s, 0, sizeof *s);
            s->status = ANALYSIS_INVALID_INPUT;
            set_message(s->message, "band %zu: %s", b, why);
            return s->status;
        }
    }
    for (size_t b = 0; b < nbands; b++)
        series_add(s, bands[b].workers, bands[b].connections, bands[b].tps, (int)b);
    series_finish(s, nbands);
    for (size_t b = 0; b < nbands; b++)
        series_map(s, b, bands[b].workers);
    return s->status;
}

enum analysis_status analysis_series_from_arrays(const double *workers, const double *tps, size_t n,
                                                 struct analysis_series *s)
{
    if (series_check_count(n, s) != ANALYSIS_OK)
        return s->status;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(workers[i]) || workers[i] < 1.0 || workers[i] > 1e9 || !isfinite(tps[i]) || tps[i] < 0.0) {
            memset(s, 0, sizeof *s);
            s->status = ANALYSIS_INVALID_INPUT;
            set_message(s->message, "point %zu: workers must be >= 1 and tps finite and >= 0", i);
            return s->status;
        }
    }
    for (size_t i = 0; i < n; i++) {
        int w = round_to_int(workers[i], 1, 1000000000);
        series_add(s, w, w, tps[i], (int)i);
    }
    series_finish(s, n);
    for (size_t b = 0; b < n; b++)
        series_map(s, b, round_to_int(workers[b], 1, 1000000000));
    return s->status;
}
