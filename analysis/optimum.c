/*
 * Optimal configuration, its reasoning and its confidence (see optimum.h).
 */
#include "analysis/optimum.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "analysis/common.h"

double analysis_confidence(double fit_quality, double noise)
{
    double r = safe_div(fmax(0.0, noise), ANALYSIS_NOISE_SCALE, 0.0);
    return clamp01(clamp01(fit_quality) / (1.0 + r * r));
}

/* Append to the reasoning paragraph; silently truncates at the buffer end. */
static void say(struct analysis_optimum *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct analysis_optimum *o, const char *fmt, ...)
{
    size_t len = strlen(o->reasoning);
    if (len + 1 >= sizeof o->reasoning)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->reasoning + len, sizeof o->reasoning - len, fmt, ap);
    va_end(ap);
}

static bool meets_objective(const struct analysis_band *b, double objective)
{
    return objective <= 0.0 || b->p95_ms <= objective;
}

static bool preferred(const struct analysis_band *a, const struct analysis_band *b)
{
    if (a->tps != b->tps)
        return a->tps > b->tps;
    if (a->workers != b->workers)
        return a->workers < b->workers;
    return a->connections < b->connections;
}

/* TPS per worker at the smallest worker count (mean over repeated bands). */
static double baseline_rate(const struct analysis_band *bands, size_t n)
{
    int wmin = bands[0].workers;
    for (size_t i = 1; i < n; i++)
        wmin = bands[i].workers < wmin ? bands[i].workers : wmin;
    double sum = 0.0;
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        if (bands[i].workers == wmin) {
            sum += bands[i].tps;
            count++;
        }
    }
    return safe_div(sum / count, (double)wmin, 0.0);
}

/* The chosen band, or -1: highest TPS among the candidates. */
static int choose(const struct analysis_band *bands, size_t n, double objective, struct analysis_optimum *o)
{
    size_t clean = 0;
    for (size_t i = 0; i < n; i++)
        clean += bands[i].errors == 0.0;
    o->all_bands_had_errors = clean == 0;
    o->errors_excluded = clean > 0 && clean < n;
    int best = -1;
    for (size_t i = 0; i < n; i++) {
        if (clean > 0 && bands[i].errors > 0.0)
            continue;
        if (!meets_objective(&bands[i], objective))
            continue;
        o->candidates++;
        if (best < 0 || preferred(&bands[i], &bands[best]))
            best = (int)i;
    }
    return best;
}

static void explain_unmet(const struct analysis_band *bands, size_t n, struct analysis_optimum *o)
{
    size_t low = 0;
    for (size_t i = 1; i < n; i++)
        low = bands[i].p95_ms < bands[low].p95_ms ? i : low;
    say(o, "No band meets the objective p95 <= %.3g ms%s. The lowest p95 measured was %.3g ms, at %d workers "
           "and %d connections (%.1f TPS); a lower latency needs fewer workers than were tested or a "
           "faster system.",
        o->p95_objective_ms, o->all_bands_had_errors || !o->errors_excluded ? "" : " without errors",
        bands[low].p95_ms, bands[low].workers, bands[low].connections, bands[low].tps);
}

static void explain_choice(const struct analysis_band *b, size_t n, struct analysis_optimum *o)
{
    say(o, "%d workers and %d connections gave the highest throughput, %.1f TPS", b->workers, b->connections,
        b->tps);
    if (b->p95_ms > 0.0) /* 0: the input had no p95 (a CSV without the column) */
        say(o, " (p95 %.3g ms)", b->p95_ms);
    say(o, ", among %zu of %zu bands", o->candidates, n);
    if (o->p95_objective_ms > 0.0 && o->errors_excluded)
        say(o, " with no errors and p95 <= %.3g ms", o->p95_objective_ms);
    else if (o->p95_objective_ms > 0.0)
        say(o, " with p95 <= %.3g ms", o->p95_objective_ms);
    else if (o->errors_excluded)
        say(o, " with no errors");
    say(o, "%s. ", o->all_bands_had_errors ? " (every band had errors, so none was excluded for them)" : "");
    if (o->usl_peak) {
        const char *where = o->usl_peak_extrapolated ? "outside the measured range, an extrapolation"
                                                     : "within the measured range";
        say(o, "The USL fit puts the throughput peak at N* = %.1f workers and %.1f TPS, %s; ", o->usl_peak_workers,
            o->usl_peak_tps, where);
        if (o->usl_peak_workers < b->workers)
            say(o, "beyond N* added workers cost throughput. ");
        else if (o->usl_peak_extrapolated)
            say(o, "testing more workers could find more throughput. ");
        else
            say(o, "the chosen band is at or below it. ");
    }
    say(o, "Confidence %.2f, from fit quality %.2f and measurement noise %.1f%%.", o->confidence, o->fit_quality,
        100.0 * o->noise);
}

static void fill_confidence(const struct analysis_band_stats *s, const struct analysis_models *m,
                            struct analysis_optimum *o)
{
    double noise = s->latency_ci_rel;
    if (m && m->status == ANALYSIS_OK) {
        const struct analysis_fit *f = analysis_models_get(m, m->best);
        o->fit_quality = clamp01(m->adj_r_squared);
        noise = fmax(noise, safe_div(f->rse, o->tps, 0.0));
    } else {
        o->fit_quality = 0.5;   /* unknown: too few worker counts to judge a curve */
    }
    o->noise = finite_or(noise, 0.0);
    o->confidence = analysis_confidence(o->fit_quality, o->noise);
}

enum analysis_status analysis_optimum_choose(const struct analysis_band *bands,
                                             const struct analysis_band_stats *stats, size_t n,
                                             const struct analysis_models *m, double objective,
                                             struct analysis_optimum *o)
{
    memset(o, 0, sizeof *o);
    o->band = -1;
    o->p95_objective_ms = isfinite(objective) && objective > 0.0 ? objective : 0.0;
    if (n == 0) {
        o->status = ANALYSIS_TOO_FEW_POINTS;
        set_message(o->message, "no bands");
        return o->status;
    }
    for (size_t i = 0; i < n; i++) {
        if (analysis_band_validate(&bands[i], NULL) != ANALYSIS_OK) {
            o->status = ANALYSIS_INVALID_INPUT;
            set_message(o->message, "band %zu is invalid", i);
            return o->status;
        }
    }
    if (m && m->usl.peak_status == ANALYSIS_OK) {
        o->usl_peak = true;
        o->usl_peak_workers = m->usl.peak_workers;
        o->usl_peak_tps = m->usl.peak_tps;
        o->usl_peak_extrapolated = m->usl.peak_extrapolated;
    }
    int best = choose(bands, n, o->p95_objective_ms, o);
    if (best < 0) {
        o->status = ANALYSIS_OBJECTIVE_UNMET;
        set_message(o->message, "no band has p95 <= %.3g ms", o->p95_objective_ms);
        explain_unmet(bands, n, o);
        return o->status;
    }
    const struct analysis_band *b = &bands[best];
    o->band = best;
    o->workers = b->workers;
    o->connections = b->connections;
    o->tps = b->tps;
    o->p95_ms = b->p95_ms;
    o->efficiency = safe_div(safe_div(b->tps, b->workers, 0.0), baseline_rate(bands, n), 0.0);
    fill_confidence(&stats[best], m, o);
    explain_choice(b, n, o);
    o->status = ANALYSIS_OK;
    set_message(o->message, "%d workers, %d connections, %.1f TPS", o->workers, o->connections, o->tps);
    return o->status;
}
