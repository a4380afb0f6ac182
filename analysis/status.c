/*
 * Names and sentences for the analysis status codes (see status.h).
 */
#include "analysis/status.h"

#include <stddef.h>

struct status_info {
    const char *name;
    const char *text;
};

static const struct status_info status_table[] = {
    [ANALYSIS_OK] = {"ok", "computed"},
    [ANALYSIS_INVALID_INPUT] = {"invalid_input",
                                "a band has a NaN, infinite or negative figure, fewer than one worker "
                                "or connection, or no measured time"},
    [ANALYSIS_TOO_MANY_BANDS] = {"too_many_bands", "more bands than the analysis holds"},
    [ANALYSIS_TOO_FEW_POINTS] = {"too_few_points",
                                 "too few distinct worker counts (or samples) for this method"},
    [ANALYSIS_NO_VARIATION] = {"no_variation", "TPS is the same at every worker count"},
    [ANALYSIS_NO_DATA] = {"no_data", "the band has no data for this figure"},
    [ANALYSIS_NO_CONVERGENCE] = {"no_convergence", "the fit did not converge"},
    [ANALYSIS_SINGULAR] = {"singular",
                           "the fit's covariance is singular: its parameters cannot be told apart"},
    [ANALYSIS_NO_PEAK] = {"no_peak", "the fitted model has no peak (kappa = 0)"},
    [ANALYSIS_UNBOUNDED] = {"unbounded",
                            "the model still rises at the largest measured worker count"},
    [ANALYSIS_UNSTABLE] = {"unstable",
                           "utilisation is at or above 1: the queue grows without bound"},
    [ANALYSIS_UNREACHABLE] = {"unreachable", "the fitted model never reaches the target"},
    [ANALYSIS_OBJECTIVE_UNMET] = {"objective_unmet", "no band meets the latency objective"},
    [ANALYSIS_NOT_REQUESTED] = {"not_requested", "not asked for"},
    [ANALYSIS_NO_MEMORY] = {"no_memory", "out of memory"},
};

static const struct status_info *status_lookup(enum analysis_status status)
{
    size_t i = (size_t)status;
    if (i >= sizeof status_table / sizeof status_table[0] || status_table[i].name == NULL)
        return NULL;
    return &status_table[i];
}

const char *analysis_status_name(enum analysis_status status)
{
    const struct status_info *info = status_lookup(status);
    return info ? info->name : "unknown";
}

const char *analysis_status_text(enum analysis_status status)
{
    const struct status_info *info = status_lookup(status);
    return info ? info->text : "unknown status";
}
