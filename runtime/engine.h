/*
 * The engine runs one band (or one call of a workload's setup/cleanup/check)
 * on a set of engine threads and returns exactly what the measure phase
 * measured. It owns the timeline of a band:
 *
 *   threads start: Lua state, workload, connections, each worker's init()
 *   all ready ──► go: warmup (load, not measured)
 *                     measure (load, measured: a transaction counts when it
 *                              completes inside [measure_start, measure_end))
 *                     drain (no new transactions; in-flight ones finish)
 *                     cooldown (no load, connections still open)
 *   threads stop: connections closed, Lua states closed
 *
 * The caller's thread (main) sleeps in an event loop of its own, printing
 * progress through a callback and watching for Ctrl-C, which ends the measure
 * phase at once: what was measured until then is returned, marked
 * interrupted.
 */
#ifndef STORMDB_ENGINE_H
#define STORMDB_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/stats.h"

enum engine_mode { ENGINE_BAND, ENGINE_CALL };

struct engine_progress {
    const char *phase;          /* "warmup", "measure" */
    double elapsed_s, total_s;  /* since go; warmup + measure */
    double interval_s;
    uint64_t transactions, errors;   /* in the interval */
    double tps, p95_ms, p99_ms;      /* over the interval */
    uint64_t late, skipped;          /* in the interval */
    double lag_p99_ms;               /* open loop: start lag over the interval */
    int connections_up;
};

struct engine_spec {
    enum engine_mode mode;
    const char *workload;        /* bundled name or path to a Lua file */
    const char *options_json;    /* the workload's options, already validated */
    const char *call;            /* ENGINE_CALL: "setup", "cleanup", "check" */
    const char *lua_path;
    const char *const *conn_keys;    /* libpq keywords/values, NULL-terminated */
    const char *const *conn_values;
    int workers, connections, threads;
    uint64_t warmup_ns, duration_ns, cooldown_ns;
    uint64_t progress_ns;        /* 0: no progress callback */
    uint64_t drain_ns;           /* how long in-flight transactions may take to end */
    uint64_t seed;
    int max_tries;               /* runs of a transaction on 40001/40P01, >= 1 */
    uint64_t tx_timeout_ns;      /* cancel a transaction's statement after this; 0 = never */
    uint64_t unreachable_ns;     /* fail the band when no connection is up for this long; 0 = default 10 s */
    double rate;                 /* open loop: transactions/s over all threads; 0 = closed loop */
    int arrival;                 /* enum arrival_kind */
    uint64_t latency_limit_ns;   /* later than this counts as late; with rate, skip when already late */
    /* Called on the caller's thread (all optional, one shared ctx):
     * progress every progress_ns; phase("measure") when the measure phase
     * begins and phase("drained") when its figures are in; sample() every
     * sample_ns during the measure phase (server observation). */
    void (*progress)(void *ctx, const struct engine_progress *p);
    void (*phase)(void *ctx, const char *phase);
    void (*sample)(void *ctx);
    uint64_t sample_ns;
    void *progress_ctx;
};

enum engine_status { ENGINE_OK, ENGINE_INTERRUPTED, ENGINE_FAILED };

struct engine_result {
    enum engine_status status;
    char error[2048];            /* ENGINE_FAILED: why, for the user */
    int signal;                  /* ENGINE_INTERRUPTED: SIGINT or SIGTERM */
    int threads;
    uint64_t measured_ns;        /* length of the measure phase actually run */
    int ntx;
    char **tx_names;             /* ntx names, in the workload's order */
    struct stats *stats;         /* merged over threads */
    uint64_t script_errors_reported;
};

/* Runs the spec. Returns 0 when a result (possibly interrupted) is in *res,
 * -1 when the band could not run (reason in res->error). Free with
 * engine_result_free either way. */
int engine_run(const struct engine_spec *spec, struct engine_result *res);
void engine_result_free(struct engine_result *res);

/* Ctrl-C / SIGTERM: installed once by main; the engine and the controller
 * both look at it. */
void engine_install_signals(void);
int engine_interrupted(void);    /* 0, or the signal number received */

#endif
