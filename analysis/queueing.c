/*
 * Little's law and Erlang C (see queueing.h).
 */
#include "analysis/queueing.h"

#include <math.h>
#include <string.h>

#include "analysis/common.h"

double analysis_erlang_b(int c, double a)
{
    if (c < 0 || !isfinite(a) || a < 0.0)
        return 0.0;
    /* B(k) = a B(k-1) / (k + a B(k-1)): every term is in [0, 1], no factorials */
    double b = 1.0;
    for (int k = 1; k <= c; k++)
        b = a * b / ((double)k + a * b);
    return finite_or(b, 0.0);
}

enum analysis_status analysis_erlang_c(int c, double a, double *p_wait)
{
    *p_wait = 0.0;
    if (c < 1 || !isfinite(a) || a < 0.0)
        return ANALYSIS_INVALID_INPUT;
    double rho = a / (double)c;
    if (rho >= 1.0) {
        *p_wait = 1.0;
        return ANALYSIS_UNSTABLE;
    }
    double b = analysis_erlang_b(c, a);
    *p_wait = clamp01(safe_div(b, 1.0 - rho * (1.0 - b), 0.0));
    return ANALYSIS_OK;
}

static void littles_law(const struct analysis_band *band, struct analysis_queueing *q)
{
    q->response_ms = analysis_band_response_ms(band);
    q->littles_workers = finite_or(band->tps * q->response_ms / 1000.0, 0.0);
    q->littles_ratio = safe_div(q->littles_workers, (double)band->workers, 0.0);
}

enum analysis_status analysis_queueing_band(const struct analysis_band *band, struct analysis_queueing *q)
{
    memset(q, 0, sizeof *q);
    q->workers = band->workers;
    q->connections = band->connections;
    q->status = analysis_band_validate(band, q->message);
    if (q->status != ANALYSIS_OK)
        return q->status;

    littles_law(band, q);
    double service_ms = analysis_band_latency_mean_ms(band);
    q->measured_wait_ms = band->pool_wait_mean_ms;
    q->arrival_rate = band->tps;
    if (!(band->tps > 0.0) || !(service_ms > 0.0)) {
        q->status = ANALYSIS_NO_DATA;
        set_message(q->message, "no TPS or no latency: no queueing model");
        return q->status;
    }
    q->service_rate = 1000.0 / service_ms;
    q->offered_load = finite_or(q->arrival_rate / q->service_rate, 0.0);
    q->utilisation = q->offered_load / (double)band->connections;
    if (band->workers <= band->connections) {
        /* A closed population no larger than the pool never queues, however
         * busy the connections are; M/M/c (open arrivals) would say otherwise. */
        q->status = ANALYSIS_OK;
        set_message(q->message, "workers <= connections: no worker can wait for a connection");
        return q->status;
    }
    q->status = analysis_erlang_c(band->connections, q->offered_load, &q->p_wait);
    if (q->status == ANALYSIS_UNSTABLE) {
        set_message(q->message, "pool utilisation %.3f >= 1: every transaction waits for a connection",
                    q->utilisation);
        return q->status;
    }
    double spare = (double)band->connections * q->service_rate - q->arrival_rate;  /* c mu - lambda > 0 */
    q->predicted_wait_ms = finite_or(1000.0 * safe_div(q->p_wait, spare, 0.0), 0.0);
    q->wait_ratio = safe_div(q->measured_wait_ms, q->predicted_wait_ms, 0.0);
    set_message(q->message, "pool utilisation %.3f, P(wait) %.3f", q->utilisation, q->p_wait);
    return q->status;
}
