/*
 * Descriptive statistics of one band (see describe.h).
 */
#include "analysis/describe.h"

#include <math.h>
#include <string.h>

#include "analysis/common.h"

static int bad_number(double x)
{
    return !isfinite(x) || x < 0.0;
}

enum analysis_status analysis_band_validate(const struct analysis_band *b, char *message)
{
    char scratch[ANALYSIS_MESSAGE_MAX];
    char *msg = message ? message : scratch;
    const struct {
        const char *name;
        double value;
    } fields[] = {
        {"seconds", b->seconds},
        {"tps", b->tps},
        {"count", b->count},
        {"latency_sum_ms", b->latency_sum_ms},
        {"latency_sumsq_ms2", b->latency_sumsq_ms2},
        {"latency_mean_ms", b->latency_mean_ms},
        {"latency_sd_ms", b->latency_sd_ms},
        {"p95_ms", b->p95_ms},
        {"errors", b->errors},
        {"busy_seconds", b->busy_seconds},
        {"pool_wait_mean_ms", b->pool_wait_mean_ms},
    };

    if (b->workers < 1) {
        set_message(msg, "workers is %d; a band needs at least one worker", b->workers);
        return ANALYSIS_INVALID_INPUT;
    }
    if (b->connections < 1) {
        set_message(msg, "connections is %d; a band needs at least one connection", b->connections);
        return ANALYSIS_INVALID_INPUT;
    }
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (bad_number(fields[i].value)) {
            set_message(msg, "%s is %s", fields[i].name,
                        isnan(fields[i].value) ? "NaN"
                        : isinf(fields[i].value) ? "infinite"
                                                 : "negative");
            return ANALYSIS_INVALID_INPUT;
        }
    }
    if (b->seconds == 0.0) {
        set_message(msg, "seconds is 0; the band has no measured time");
        return ANALYSIS_INVALID_INPUT;
    }
    set_message(msg, "valid");
    return ANALYSIS_OK;
}

double analysis_band_latency_mean_ms(const struct analysis_band *b)
{
    double mean = b->latency_sum_ms > 0.0 ? safe_div(b->latency_sum_ms, b->count, 0.0)
                                          : b->latency_mean_ms;
    return isfinite(mean) && mean > 0.0 ? mean : 0.0;
}

double analysis_band_response_ms(const struct analysis_band *b)
{
    double wait = isfinite(b->pool_wait_mean_ms) && b->pool_wait_mean_ms > 0.0 ? b->pool_wait_mean_ms : 0.0;
    return analysis_band_latency_mean_ms(b) + wait;
}

/* Sample variance from whichever latency form the band carries. */
static double latency_variance(const struct analysis_band *b)
{
    double var;
    if (b->latency_sum_ms > 0.0) {
        /* (sumsq - sum^2 / n) / (n - 1); the difference can come out slightly
         * negative from rounding when every latency is the same. */
        double n = b->count;
        var = safe_div(b->latency_sumsq_ms2 - b->latency_sum_ms * safe_div(b->latency_sum_ms, n, 0.0),
                       n - 1.0, 0.0);
    } else {
        var = b->latency_sd_ms * b->latency_sd_ms;
    }
    return isfinite(var) && var > 0.0 ? var : 0.0;
}

static void describe_efficiency(const struct analysis_band *b, struct analysis_band_stats *s)
{
    s->workers = b->workers;
    s->connections = b->connections;
    s->tps = finite_or(b->tps, 0.0);
    s->tps_per_worker = safe_div(s->tps, (double)b->workers, 0.0);
    s->tps_per_connection = safe_div(s->tps, (double)b->connections, 0.0);
    s->connection_utilisation = safe_div(b->busy_seconds, (double)b->connections * b->seconds, 0.0);
}

enum analysis_status analysis_describe_band(const struct analysis_band *b, struct analysis_band_stats *s)
{
    memset(s, 0, sizeof *s);
    s->status = analysis_band_validate(b, s->message);
    if (s->status != ANALYSIS_OK) {
        s->workers = b->workers;
        s->connections = b->connections;
        return s->status;
    }
    describe_efficiency(b, s);

    double n = b->count;
    if (!(n >= 1.0)) {
        s->status = ANALYSIS_NO_DATA;
        set_message(s->message, "no latency samples");
        return s->status;
    }
    double mean = analysis_band_latency_mean_ms(b);
    s->latency_mean_ms = mean;
    s->latency_ci_low_ms = mean;
    s->latency_ci_high_ms = mean;
    if (n < 2.0) {
        s->status = ANALYSIS_TOO_FEW_POINTS;
        set_message(s->message, "one latency sample: no spread or confidence interval");
        return s->status;
    }
    double var = latency_variance(b);
    double sd = sqrt(var);
    double half = t95(n - 1.0) * sd / sqrt(n);
    s->latency_variance_ms2 = var;
    s->latency_sd_ms = sd;
    s->latency_cv = safe_div(sd, mean, 0.0);
    s->latency_ci_low_ms = fmax(0.0, finite_or(mean - half, mean)); /* latency is never negative */
    s->latency_ci_high_ms = finite_or(mean + half, mean);
    s->latency_ci_rel = safe_div(half, mean, 0.0);
    s->status = ANALYSIS_OK;
    set_message(s->message, "ok");
    return s->status;
}
