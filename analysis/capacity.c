/*
 * Capacity questions from the USL (see capacity.h).
 */
#include "analysis/capacity.h"

#include <math.h>
#include <string.h>

#include "analysis/common.h"

#define MAX_WORKERS 1e9   /* beyond this an answer says more about the model than the system */

static bool begin(const struct analysis_usl *usl, double target, struct analysis_capacity_answer *a)
{
    memset(a, 0, sizeof *a);
    a->target = finite_or(target, 0.0);
    if (!isfinite(target) || target <= 0.0) {
        a->status = ANALYSIS_NOT_REQUESTED;
        set_message(a->message, "no target");
        return false;
    }
    if (usl->fit.status != ANALYSIS_OK) {
        a->status = usl->fit.status;
        set_message(a->message, "no USL fit: %s", usl->fit.message);
        return false;
    }
    return true;
}

static void finish(const struct analysis_usl *usl, double workers, double scale, struct analysis_capacity_answer *a)
{
    a->workers = workers;
    a->tps = analysis_usl_predict(usl, workers);
    a->latency_ms = finite_or(analysis_usl_response_ms(usl, workers) * scale, 0.0);
    a->extrapolated = workers < usl->min_workers || workers > usl->max_workers;
    a->status = ANALYSIS_OK;
}

/* Smallest x in [lo, hi] with pred(x) true, pred monotone false -> true and
 * pred(hi) true. */
static double bisect(const struct analysis_usl *usl, double lo, double hi, double target, bool latency,
                     double scale)
{
    for (int i = 0; i < 200 && hi - lo > 1e-9 * fmax(1.0, hi); i++) {
        double mid = 0.5 * (lo + hi);
        bool past = latency ? analysis_usl_response_ms(usl, mid) * scale > target
                            : analysis_usl_predict(usl, mid) >= target;
        if (past)
            hi = mid;
        else
            lo = mid;
    }
    return latency ? lo : hi;
}

enum analysis_status analysis_capacity_workers_for_tps(const struct analysis_usl *usl, double target,
                                                       struct analysis_capacity_answer *a)
{
    if (!begin(usl, target, a))
        return a->status;
    /* The rising side: [1, N*] with a peak, else grow until X reaches the target. */
    double hi = usl->peak_status == ANALYSIS_OK ? usl->peak_workers : 1.0;
    if (usl->peak_status != ANALYSIS_OK)
        while (hi < MAX_WORKERS && analysis_usl_predict(usl, hi) < target)
            hi *= 2.0;
    /* targets within rounding of the peak count as reached */
    double top = analysis_usl_predict(usl, hi);
    if (top < target * (1.0 - 1e-9)) {
        a->status = ANALYSIS_UNREACHABLE;
        set_message(a->message, "the USL %s %.1f TPS, below the target %.1f TPS",
                    usl->peak_status == ANALYSIS_OK ? "peaks at" : "never exceeds", top, target);
        return a->status;
    }
    target = fmin(target, top);
    double n = analysis_usl_predict(usl, 1.0) >= target ? 1.0 : bisect(usl, 1.0, hi, target, false, 1.0);
    double whole = ceil(n - 1e-6);
    /* A target just under a peak between two whole numbers may be reached by neither. */
    if (analysis_usl_predict(usl, whole) < target * (1.0 - 1e-9)) {
        a->status = ANALYSIS_UNREACHABLE;
        set_message(a->message, "the target is reached only between whole worker counts");
        return a->status;
    }
    finish(usl, whole, 1.0, a);
    set_message(a->message, "%.0f workers for %.1f TPS%s", whole, target, a->extrapolated ? " (extrapolated)" : "");
    return a->status;
}

enum analysis_status analysis_capacity_tps_under_latency(const struct analysis_usl *usl, double target_ms,
                                                         double scale, struct analysis_capacity_answer *a)
{
    if (!begin(usl, target_ms, a))
        return a->status;
    if (!isfinite(scale) || scale <= 0.0) {
        a->status = ANALYSIS_NO_DATA;
        set_message(a->message, "no p95/mean ratio measured to scale the predicted latency");
        return a->status;
    }
    if (analysis_usl_response_ms(usl, 1.0) * scale > target_ms) {
        a->status = ANALYSIS_UNREACHABLE;
        set_message(a->message, "even one worker is predicted at %.3g ms, above %.3g ms",
                    analysis_usl_response_ms(usl, 1.0) * scale, target_ms);
        return a->status;
    }
    /* R(N) rises with N (sigma, kappa >= 0); find the last N under the target. */
    double hi = 2.0;
    while (hi < MAX_WORKERS && analysis_usl_response_ms(usl, hi) * scale <= target_ms)
        hi *= 2.0;
    if (hi >= MAX_WORKERS) {
        a->status = ANALYSIS_UNBOUNDED;
        set_message(a->message, "the USL predicts latency that does not grow with workers");
        return a->status;
    }
    double nmax = floor(bisect(usl, hi / 2.0, hi, target_ms, true, scale) + 1e-9);
    /* X rises up to N* and falls after: the best whole N <= nmax. */
    double best = nmax;
    if (usl->peak_status == ANALYSIS_OK && usl->peak_workers < nmax) {
        double below = fmax(1.0, floor(usl->peak_workers)), above = ceil(usl->peak_workers);
        best = analysis_usl_predict(usl, above) > analysis_usl_predict(usl, below) ? above : below;
    }
    finish(usl, best, scale, a);
    set_message(a->message, "%.1f TPS at %.0f workers within %.3g ms%s", a->tps, best, target_ms,
                a->extrapolated ? " (extrapolated)" : "");
    return a->status;
}

double analysis_capacity_p95_ratio(const struct analysis_band *bands, size_t n)
{
    double ratio = 0.0;
    for (size_t i = 0; i < n; i++) {
        double mean = analysis_band_latency_mean_ms(&bands[i]);
        if (mean > 0.0 && isfinite(bands[i].p95_ms) && bands[i].p95_ms > 0.0)
            ratio = fmax(ratio, bands[i].p95_ms / mean);
    }
    return finite_or(ratio, 0.0);
}
