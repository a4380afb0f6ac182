/*
 * Per-band input figures and the descriptive statistics computed from them.
 *
 * Why: a band is summarised by the runtime as a handful of exact figures
 * (count, sum and sum of squares of latency, TPS, ...). Everything the
 * analysis says about one band — mean, spread, the 95% confidence interval
 * of the mean latency, efficiency, connection utilisation — is computed here,
 * from those figures alone, so the runtime and `stormdb analyze FILE` (which
 * reads them back from JSON) get the same answers.
 *
 * Units: latency in milliseconds, time in seconds, rates per second.
 */
#ifndef STORMDB_ANALYSIS_DESCRIBE_H
#define STORMDB_ANALYSIS_DESCRIBE_H

#include "analysis/status.h"

/*
 * What the runtime measured in one band's measure phase. Counts are doubles
 * so that the Lua binding can pass numbers straight through; every field
 * must be finite and >= 0 (see analysis_band_validate).
 *
 * Latency is given either as exact sums (latency_sum_ms and
 * latency_sumsq_ms2, with count) or, when latency_sum_ms is 0, as
 * latency_mean_ms and latency_sd_ms (sample standard deviation). Latency is a
 * transaction's time holding its connection; the wait for a pool connection
 * is separate (pool_wait_mean_ms), as the runtime measures them.
 */
struct analysis_band {
    int workers;               /* virtual clients, >= 1 */
    int connections;           /* connections in the pool, >= 1 */
    double seconds;            /* length of the measure phase, > 0 */
    double tps;                /* committed transactions per second */
    double count;              /* latency samples (transactions measured) */
    double latency_sum_ms;     /* sum of latencies */
    double latency_sumsq_ms2;  /* sum of squared latencies */
    double latency_mean_ms;    /* used only when latency_sum_ms == 0 */
    double latency_sd_ms;      /* sample sd; used only when latency_sum_ms == 0 */
    double p95_ms;             /* 95th percentile latency */
    double errors;             /* failed transactions (not retried successfully) */
    double busy_seconds;       /* connection-seconds spent in transactions, all connections */
    double pool_wait_mean_ms;  /* mean wait for a pool connection per transaction */
};

/* Descriptive statistics of one band. When status is not ANALYSIS_OK the
 * figures that could not be computed are 0: with no samples all latency
 * figures; with one sample the spread (the mean and a zero-width interval are
 * kept). Efficiency and utilisation are filled for any valid band. */
struct analysis_band_stats {
    enum analysis_status status;      /* ok, no_data (no samples), too_few_points (1 sample) */
    char message[ANALYSIS_MESSAGE_MAX];
    int workers, connections;
    double tps;
    double latency_mean_ms;
    double latency_sd_ms;             /* sample standard deviation (n - 1) */
    double latency_variance_ms2;
    double latency_cv;                /* sd / mean; 0 when the mean is 0 */
    double latency_ci_low_ms;         /* 95% CI of the mean: mean -/+ t(0.975, n-1) sd / sqrt(n) */
    double latency_ci_high_ms;
    double latency_ci_rel;            /* CI half-width / mean: relative measurement noise */
    double tps_per_worker;
    double tps_per_connection;
    double connection_utilisation;    /* busy_seconds / (connections * seconds) */
};

/*
 * Check one band's figures. Returns ANALYSIS_OK or ANALYSIS_INVALID_INPUT
 * with a message naming the offending field (message may be NULL).
 */
enum analysis_status analysis_band_validate(const struct analysis_band *band, char *message);

/* Descriptive statistics of a band (validated or not: an invalid band gives
 * status invalid_input and zeros). Returns out->status. */
enum analysis_status analysis_describe_band(const struct analysis_band *band,
                                            struct analysis_band_stats *out);

/* Mean latency including pool wait (ms): the response time a worker sees. */
double analysis_band_response_ms(const struct analysis_band *band);

/* Mean latency of a band from whichever form it was given in (ms, >= 0). */
double analysis_band_latency_mean_ms(const struct analysis_band *band);

#endif
