/*
 * Best-model choice, predicted peak and saturation (see models.h).
 */
#include "analysis/models.h"

#include <math.h>
#include <string.h>

#include "analysis/common.h"

#define PEAK_GRID 2000   /* points of the curve examined over a range */

const struct analysis_fit *analysis_models_get(const struct analysis_models *m, enum analysis_model model)
{
    switch (model) {
    case ANALYSIS_MODEL_LINEAR: return &m->linear;
    case ANALYSIS_MODEL_LOGARITHMIC: return &m->logarithmic;
    case ANALYSIS_MODEL_EXPONENTIAL: return &m->exponential;
    case ANALYSIS_MODEL_LOGISTIC: return &m->logistic;
    case ANALYSIS_MODEL_USL: return &m->usl.fit;
    default: return NULL;
    }
}

double analysis_models_predict(const struct analysis_models *m, double workers)
{
    const struct analysis_fit *f = analysis_models_get(m, m->best);
    return f ? analysis_fit_predict(f, workers) : 0.0;
}

/* Is a better than b under the rule in models.h? */
static bool better(const struct analysis_fit *a, const struct analysis_fit *b)
{
    if (fabs(a->adj_r_squared - b->adj_r_squared) > ANALYSIS_BEST_ADJ_R2_TIE)
        return a->adj_r_squared > b->adj_r_squared;
    if (a->aic != b->aic)
        return a->aic < b->aic;
    return a->nparams < b->nparams;
}

static void choose_best(struct analysis_models *m)
{
    const struct analysis_fit *best = NULL;
    /* Two passes: the tie window is relative to the highest adjusted R^2. */
    double top = -INFINITY;
    for (int k = ANALYSIS_MODEL_LINEAR; k < ANALYSIS_MODEL_COUNT; k++) {
        const struct analysis_fit *f = analysis_models_get(m, (enum analysis_model)k);
        if (f->status == ANALYSIS_OK)
            top = fmax(top, f->adj_r_squared);
    }
    for (int k = ANALYSIS_MODEL_LINEAR; k < ANALYSIS_MODEL_COUNT; k++) {
        const struct analysis_fit *f = analysis_models_get(m, (enum analysis_model)k);
        if (f->status != ANALYSIS_OK || top - f->adj_r_squared > ANALYSIS_BEST_ADJ_R2_TIE)
            continue;
        if (!best || better(f, best))
            best = f;
    }
    if (best) {
        m->best = best->model;
        m->r_squared = best->r_squared;
        m->adj_r_squared = best->adj_r_squared;
    }
}

/* Maximum of the best curve over [lo, hi]; unbounded when it is still
 * rising at hi. */
static void peak_in_range(struct analysis_models *m, double lo, double hi)
{
    double best_x = lo, best_y = analysis_models_predict(m, lo);
    for (int i = 1; i <= PEAK_GRID; i++) {
        double x = lo + (hi - lo) * i / PEAK_GRID;
        double y = analysis_models_predict(m, x);
        if (y > best_y) {
            best_x = x;
            best_y = y;
        }
    }
    m->predicted_peak_workers = best_x;
    m->predicted_peak_tps = best_y;
    double step = (hi - lo) / PEAK_GRID;
    bool rising = best_x >= hi && analysis_models_predict(m, hi) > analysis_models_predict(m, hi - step);
    m->peak_status = rising ? ANALYSIS_UNBOUNDED : ANALYSIS_OK;
}

static void compute_peak(struct analysis_models *m)
{
    if (m->best == ANALYSIS_MODEL_USL && m->usl.peak_status == ANALYSIS_OK) {
        m->predicted_peak_workers = m->usl.peak_workers;
        m->predicted_peak_tps = m->usl.peak_tps;
        m->peak_extrapolated = m->usl.peak_extrapolated;
        m->peak_status = ANALYSIS_OK;
        return;
    }
    peak_in_range(m, m->min_workers, m->max_workers);
}

/* Smallest whole W up to the peak with curve(W) >= 95% of the peak:
 * a grid finds the first crossing, bisection pins it down. */
static void compute_saturation(struct analysis_models *m)
{
    double target = ANALYSIS_SATURATION_FRACTION * m->predicted_peak_tps;
    /* a USL peak below the measured range (sigma >= 1) saturates below it too */
    double lo = fmin(m->min_workers, fmax(1.0, m->predicted_peak_workers));
    double hi = fmax(m->predicted_peak_workers, lo);
    if (!(m->predicted_peak_tps > 0.0)) {
        m->saturation_status = ANALYSIS_NO_DATA;
        return;
    }
    double x = lo;
    if (analysis_models_predict(m, lo) < target) {
        double prev = lo;
        for (int i = 1; i <= PEAK_GRID; i++) {
            x = lo + (hi - lo) * i / PEAK_GRID;
            if (analysis_models_predict(m, x) >= target)
                break;
            prev = x;
        }
        double a = prev, b = x;   /* curve(a) < target <= curve(b) */
        for (int i = 0; i < 100 && b - a > 1e-9 * fmax(1.0, b); i++) {
            double mid = 0.5 * (a + b);
            if (analysis_models_predict(m, mid) >= target)
                b = mid;
            else
                a = mid;
        }
        x = b;
    }
    /* whole workers; the tolerance keeps an exact integer crossing from
     * rounding up past itself */
    m->saturation_workers = fmax(lo, ceil(x - 1e-6));
    m->saturation_status = ANALYSIS_OK;
}

static enum analysis_status models_fail(struct analysis_models *m)
{
    /* Report why nothing fitted: the most basic reason, which every fit shares. */
    m->status = m->linear.status != ANALYSIS_OK ? m->linear.status : m->usl.fit.status;
    if (m->status == ANALYSIS_OK)
        m->status = ANALYSIS_NO_CONVERGENCE;
    set_message(m->message, "no model fitted: %s", m->linear.status != ANALYSIS_OK ? m->linear.message
                                                                                   : "no fit converged");
    m->peak_status = m->status;
    m->saturation_status = m->status;
    return m->status;
}

enum analysis_status analysis_models_fit(const double *x, const double *y, size_t n, struct analysis_models *m)
{
    memset(m, 0, sizeof *m);
    analysis_fit_linear(x, y, n, &m->linear);
    analysis_fit_logarithmic(x, y, n, &m->logarithmic);
    analysis_fit_exponential(x, y, n, &m->exponential);
    analysis_fit_logistic(x, y, n, &m->logistic);
    analysis_usl_fit(x, y, n, &m->usl);
    choose_best(m);
    if (m->best == ANALYSIS_MODEL_NONE)
        return models_fail(m);

    m->min_workers = INFINITY;
    for (size_t i = 0; i < n; i++) {
        m->min_workers = fmin(m->min_workers, x[i]);
        m->max_workers = fmax(m->max_workers, x[i]);
    }
    compute_peak(m);
    compute_saturation(m);
    m->status = ANALYSIS_OK;
    set_message(m->message, "best fit %s (adjusted R^2 %.4f)", analysis_model_name(m->best), m->adj_r_squared);
    return m->status;
}
