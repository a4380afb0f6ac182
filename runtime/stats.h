/*
 * What one engine thread measured: per transaction name (count, errors,
 * retries, latency histogram), the pool wait, statements sent, errors by
 * SQLSTATE. A thread is the only writer of its own stats, so recording takes
 * no lock; the engine merges threads' stats when a phase ends. The smaller
 * `interval` is what the progress line shows: it is handed over to the engine
 * under a mutex a few times a second, never per transaction.
 */
#ifndef STORMDB_STATS_H
#define STORMDB_STATS_H

#include <stdint.h>

#include "runtime/histogram.h"

struct tx_stats {
    uint64_t count;     /* completed (committed or not failed) */
    uint64_t errors;    /* failed after any retries */
    uint64_t retries;   /* re-runs after 40001 / 40P01 */
    struct histogram latency;
};

struct error_count {
    int tx;             /* transaction index, -1 outside the mix */
    char sqlstate[6];   /* "40001", or "LUA" for a script error */
    uint64_t count;
};

#define STATS_METRIC_NAME 32

/* A workload's own figure (w:record, the connect time of w:connect). */
struct metric {
    char name[STATS_METRIC_NAME];
    struct histogram values;
};

struct stats {
    int ntx;
    struct tx_stats *tx;
    struct histogram pool_wait;
    uint64_t queries;
    uint64_t reconnects;
    int nerrors, caperrors;
    struct error_count *errors;
    int nmetrics, capmetrics;
    struct metric *metrics;
    /* Latency limit and open loop (--latency-limit, --rate). */
    uint64_t late;               /* completed later than the limit */
    uint64_t skipped;            /* already late when due: never started */
    struct histogram lag;        /* actual start - scheduled start */
    struct histogram service;    /* completion - actual start */
};

struct interval {
    uint64_t count, errors, late, skipped;
    struct histogram latency;
    struct histogram lag;
};

struct stats *stats_new(int ntx);
void stats_free(struct stats *s);
void stats_merge(struct stats *dst, const struct stats *src);
void stats_count_error(struct stats *s, int tx, const char *sqlstate);
/* Records ns under the named metric (created on first use). */
void stats_record_metric(struct stats *s, const char *name, uint64_t ns);

void interval_reset(struct interval *iv);
void interval_merge(struct interval *dst, const struct interval *src);

#endif
