/*
 * Marginal gain, second difference and inflection points (see
 * derivatives.h).
 */
#include "analysis/derivatives.h"

#include <math.h>
#include <string.h>

#include "analysis/common.h"

static void compute_gains(const struct analysis_series *s, struct analysis_derivatives *d)
{
    for (size_t i = 0; i + 1 < s->n; i++) {
        struct analysis_gain *g = &d->gains[d->ngains++];
        g->from_workers = s->points[i].workers;
        g->to_workers = s->points[i + 1].workers;
        g->gain = safe_div(s->tps[i + 1] - s->tps[i], s->workers[i + 1] - s->workers[i], 0.0);
        g->efficiency = safe_div(g->gain, d->baseline_tps_per_worker, 0.0);
    }
}

/* Curvature below this is rounding noise: the second difference of exactly
 * linear data comes out as a few ulps of TPS over the smallest step squared. */
static double curvature_tolerance(const struct analysis_series *s)
{
    double ymax = 0.0, hmin = INFINITY;
    for (size_t i = 0; i < s->n; i++)
        ymax = fmax(ymax, fabs(s->tps[i]));
    for (size_t i = 0; i + 1 < s->n; i++)
        hmin = fmin(hmin, s->workers[i + 1] - s->workers[i]);
    return safe_div(1e-9 * ymax, hmin * hmin, 0.0);
}

static void compute_curvature(const struct analysis_series *s, struct analysis_derivatives *d)
{
    double tol = curvature_tolerance(s);
    for (size_t i = 1; i + 1 < s->n; i++) {
        double h0 = s->workers[i] - s->workers[i - 1];
        double h1 = s->workers[i + 1] - s->workers[i];
        double num = 2.0 * (h0 * s->tps[i + 1] - (h0 + h1) * s->tps[i] + h1 * s->tps[i - 1]);
        struct analysis_curvature *c = &d->curvature[d->ncurvature++];
        c->workers = s->points[i].workers;
        c->d2 = safe_div(num, h0 * h1 * (h0 + h1), 0.0);
        c->sign = fabs(c->d2) <= tol ? 0 : (c->d2 > 0.0 ? 1 : -1);
        if (c->sign == 0)
            c->d2 = 0.0;
    }
}

/* An inflection between each pair of consecutive non-zero curvatures of
 * opposite sign (zeros in between are skipped: they are flat stretches). */
static void compute_inflections(struct analysis_derivatives *d)
{
    const struct analysis_curvature *prev = NULL;
    for (size_t i = 0; i < d->ncurvature; i++) {
        const struct analysis_curvature *c = &d->curvature[i];
        if (c->sign == 0)
            continue;
        if (prev && prev->sign != c->sign) {
            struct analysis_inflection *f = &d->inflections[d->ninflections++];
            double t = safe_div(prev->d2, prev->d2 - c->d2, 0.5); /* zero crossing, in [0, 1] */
            f->from_workers = prev->workers;
            f->to_workers = c->workers;
            f->workers = prev->workers + t * (c->workers - prev->workers);
            f->direction = c->sign > 0 ? ANALYSIS_CONCAVE_TO_CONVEX : ANALYSIS_CONVEX_TO_CONCAVE;
        }
        prev = c;
    }
}

enum analysis_status analysis_derivatives(const struct analysis_series *s, struct analysis_derivatives *d)
{
    memset(d, 0, sizeof *d);
    if (s->status != ANALYSIS_OK || s->n < 2) {
        d->status = s->status != ANALYSIS_OK ? s->status : ANALYSIS_TOO_FEW_POINTS;
        set_message(d->message, "%s", s->status != ANALYSIS_OK ? s->message
                                      : "one worker count: no marginal gain");
        return d->status;
    }
    d->baseline_tps_per_worker = safe_div(s->tps[0], s->workers[0], 0.0);
    compute_gains(s, d);
    compute_curvature(s, d);
    compute_inflections(d);

    if (s->n < 3) {
        d->status = ANALYSIS_TOO_FEW_POINTS;
        set_message(d->message, "two worker counts: a marginal gain but no curvature");
    } else if (d->baseline_tps_per_worker <= 0.0) {
        d->status = ANALYSIS_NO_DATA;
        set_message(d->message, "the first band has no TPS: efficiencies are undefined");
    } else {
        d->status = ANALYSIS_OK;
        set_message(d->message, "%zu gains, %zu inflection points", d->ngains, d->ninflections);
    }
    return d->status;
}
