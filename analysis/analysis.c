/*
 * The single entry point: every analysis over an array of bands into one
 * result (see analysis.h). The order matters only where one part reads
 * another: regions read the derivatives, the optimum and capacity read the
 * models, recommendations read everything.
 */
#include "analysis/analysis.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/common.h"

void analysis_options_default(struct analysis_options *o)
{
    memset(o, 0, sizeof *o);
    analysis_region_thresholds_default(&o->regions);
    o->target_latency_kind = ANALYSIS_LATENCY_MEAN;
}

/* Options as used: a NaN, infinite or negative objective or target means
 * "not set" (0), and non-finite thresholds become 0 (which the regions then
 * reject), so nothing non-finite is stored in the result. */
static void sanitize_options(struct analysis_options *o)
{
    double *nonneg[] = {&o->p95_objective_ms, &o->target_tps, &o->target_latency_ms};
    for (size_t i = 0; i < sizeof nonneg / sizeof nonneg[0]; i++)
        if (!isfinite(*nonneg[i]) || *nonneg[i] < 0.0)
            *nonneg[i] = 0.0;
    o->regions.linear = finite_or(o->regions.linear, 0.0);
    o->regions.diminishing = finite_or(o->regions.diminishing, 0.0);
    o->regions.saturation = finite_or(o->regions.saturation, 0.0);
    if (o->target_latency_kind != ANALYSIS_LATENCY_P95)
        o->target_latency_kind = ANALYSIS_LATENCY_MEAN;
}

static void per_band(struct analysis_result *r, const struct analysis_band *bands, size_t n)
{
    r->nbands = n;
    for (size_t i = 0; i < n; i++) {
        analysis_describe_band(&bands[i], &r->bands[i]);
        analysis_queueing_band(&bands[i], &r->queueing[i]);
    }
}

static void capacity(struct analysis_result *r)
{
    const struct analysis_options *o = &r->options;
    r->p95_ratio = analysis_capacity_p95_ratio(r->input, r->nbands);
    analysis_capacity_workers_for_tps(&r->models.usl, o->target_tps, &r->workers_for_tps);
    double scale = o->target_latency_kind == ANALYSIS_LATENCY_P95 ? r->p95_ratio : 1.0;
    analysis_capacity_tps_under_latency(&r->models.usl, o->target_latency_ms, scale, &r->tps_under_latency);
}

/* The run-level status: the most basic thing that limited the analysis. */
static void overall_status(struct analysis_result *r)
{
    if (r->series.n < 3) {
        r->status = ANALYSIS_TOO_FEW_POINTS;
        set_message(r->message, "%zu distinct worker count%s: per-band figures only; curves need at least 3",
                    r->series.n, r->series.n == 1 ? "" : "s");
    } else if (r->models.status == ANALYSIS_NO_VARIATION) {
        r->status = ANALYSIS_NO_VARIATION;
        set_message(r->message, "TPS is the same at every worker count: nothing to fit");
    } else {
        r->status = ANALYSIS_OK;
        set_message(r->message, "%zu bands, %zu worker counts, best fit %s", r->nbands, r->series.n,
                    analysis_model_name(r->models.best));
    }
}

struct analysis_result *analysis_run(const struct analysis_band *bands, size_t n,
                                     const struct analysis_options *options)
{
    analysis_init();
    struct analysis_result *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (options)
        r->options = *options;
    else
        analysis_options_default(&r->options);
    sanitize_options(&r->options);

    if (analysis_series_build(bands, n, &r->series) != ANALYSIS_OK) {
        r->status = r->series.status;
        set_message(r->message, "%s", r->series.message);
        if (r->status == ANALYSIS_INVALID_INPUT)
            per_band(r, bands, n);   /* each band says what is wrong with it; input[] stays empty */
        return r;
    }
    memcpy(r->input, bands, n * sizeof *bands);   /* validated: no NaN or Inf is copied */
    per_band(r, bands, n);
    analysis_derivatives(&r->series, &r->derivatives);
    analysis_models_fit(r->series.workers, r->series.tps, r->series.n, &r->models);
    analysis_regions_classify(&r->series, &r->derivatives, &r->options.regions, &r->regions);
    analysis_optimum_choose(r->input, r->bands, n, r->models.status == ANALYSIS_OK ? &r->models : NULL,
                            r->options.p95_objective_ms, &r->optimum);
    capacity(r);
    overall_status(r);
    r->nrecommendations = analysis_recommend(r, r->recommendations, ANALYSIS_MAX_RECOMMENDATIONS);
    return r;
}

void analysis_result_free(struct analysis_result *r)
{
    free(r);
}
