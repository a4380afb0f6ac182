/*
 * Bottleneck classification: what limited a band, read from evidence the
 * runtime collected while it ran (server observation, scripts/stormdb/
 * observe.lua), not from the throughput curve alone.
 *
 * Why a separate module: the curve says *that* a system stops scaling; the
 * evidence says *why* (backends queueing on a row lock, on the CPU, on
 * storage, workers queueing for a pool connection, the load generator out of
 * CPU). Each candidate cause gets a score in [0, 1] from simple, documented
 * rules over the evidence; the highest score above ANALYSIS_BOTTLENECK_MIN_SCORE
 * wins, and the confidence says how clearly it beat the runner-up. The rules,
 * thresholds and formulas are listed in docs/observation.md and are the
 * contract of this file.
 *
 * Evidence that was not collected is marked absent (a group's has_ flag
 * false, or 0 for a single figure) and every rule that needs it scores 0 or
 * falls back as documented. Nothing here does I/O; nothing returned is NaN
 * or Inf.
 */
#ifndef STORMDB_ANALYSIS_BOTTLENECK_H
#define STORMDB_ANALYSIS_BOTTLENECK_H

#include <stdbool.h>
#include <stddef.h>

#include "analysis/recommend.h"
#include "analysis/regions.h"
#include "analysis/status.h"

/* A score must reach this for its type to be named; below it the band is
 * "none": no resource stands out. */
#define ANALYSIS_BOTTLENECK_MIN_SCORE 0.3

/* Pseudo-samples added to the denominators of sample shares, so a handful of
 * samples cannot produce a share of 1 (see docs/observation.md). */
#define ANALYSIS_BOTTLENECK_PRIOR_SAMPLES 5.0

#define ANALYSIS_BOTTLENECK_EVENTS 8        /* wait events kept per evidence */
#define ANALYSIS_WAIT_EVENT_NAME_MAX 64      /* "LWLock:BufferContent" */
#define ANALYSIS_BOTTLENECK_MAX_REASONS 6
#define ANALYSIS_BOTTLENECK_MAX_ADVICE 4

/* The types, in order of precedence: a tie between scores goes to the type
 * listed first (direct configuration fixes before resource limits). */
enum analysis_bottleneck_type {
    ANALYSIS_BOTTLENECK_NONE = 0,
    ANALYSIS_BOTTLENECK_CONNECTION_POOL,   /* workers queue for a pool connection */
    ANALYSIS_BOTTLENECK_LOCK_CONTENTION,   /* backends wait on heavyweight locks or LWLocks */
    ANALYSIS_BOTTLENECK_IO,                /* backends wait on storage */
    ANALYSIS_BOTTLENECK_MEMORY,            /* working set beyond shared_buffers / work_mem / host memory */
    ANALYSIS_BOTTLENECK_CPU,               /* backends run on saturated CPUs */
    ANALYSIS_BOTTLENECK_OVER_PROVISIONED,  /* past the peak: coordination costs of too many backends */
    ANALYSIS_BOTTLENECK_NETWORK,           /* round trips dominate while the server idles */
    ANALYSIS_BOTTLENECK_CLIENT,            /* the load generator is out of CPU */
    ANALYSIS_BOTTLENECK_COUNT
};

/* Classes of pg_stat_activity.wait_event_type for an active backend. */
enum analysis_wait_class {
    ANALYSIS_WAIT_CPU = 0,   /* active with no wait event */
    ANALYSIS_WAIT_IO,        /* IO */
    ANALYSIS_WAIT_LOCK,      /* Lock, BufferPin */
    ANALYSIS_WAIT_LWLOCK,    /* LWLock */
    ANALYSIS_WAIT_IPC,       /* IPC */
    ANALYSIS_WAIT_CLIENT,    /* Client (ClientRead, ClientWrite) */
    ANALYSIS_WAIT_OTHER,     /* Activity, Extension, Timeout, anything newer */
    ANALYSIS_WAIT_COUNT
};

struct analysis_wait_event {
    char name[ANALYSIS_WAIT_EVENT_NAME_MAX];   /* "type:event", e.g. "Lock:transactionid" */
    double samples;                            /* active samples in it */
};

/*
 * What was observed over one band (or several merged). Counts are totals
 * over the band; fractions are in [0, 1]. Every figure must be finite and
 * not negative; 0 in a single figure means "not measured" where noted.
 */
struct analysis_bottleneck_evidence {
    /* The band and stormdb's own figures (0 = not known). */
    int workers, connections;
    int threads;                 /* engine threads of the load generator */
    int cores;                   /* CPUs of the machine stormdb runs on */
    double seconds;              /* length of the measure phase */
    double tps, qps;             /* committed transactions and statements per second */
    double latency_ms;           /* mean transaction latency (connection held) */
    double pool_wait_ms;         /* mean wait for a pool connection per transaction */
    enum analysis_region region; /* from the analysis; ANALYSIS_REGION_NONE when not known */
    double peak_workers;         /* the USL's N* when it has one, else 0 */
    double rtt_ms;               /* median round trip of SELECT 1 on the observer's connection; 0 = not measured */

    /* pg_stat_activity samples of the workload's backends. */
    double rounds;                         /* sampling rounds */
    double backends;                       /* backend samples, any state */
    double active;                         /* state active */
    double wait[ANALYSIS_WAIT_COUNT];      /* active samples by class */
    size_t nevents;
    struct analysis_wait_event events[ANALYSIS_BOTTLENECK_EVENTS];   /* by samples, most first */

    /* pg_stat_database deltas over the band. */
    bool has_database;
    double blks_read, blks_hit, temp_files, temp_bytes, xact_commit, deadlocks;

    /* The server's host, when it is the machine stormdb runs on. */
    bool has_host;
    double host_cpu_busy;        /* user + nice + system + irq + softirq + steal, of all CPU time */
    double host_iowait, host_steal;
    double mem_available;        /* lowest MemAvailable / MemTotal seen */
    double context_switches;     /* host-wide, over the band */

    /* The load generator itself. */
    bool has_client;
    double client_cpu;           /* its CPU seconds / (wall seconds x cores): share of the machine */

    /* Server settings, for the recommendations (0 = not known). */
    double shared_buffers_bytes, work_mem_bytes, max_connections, effective_io_concurrency;

    /* The band before (fewer workers), for trends: falling hit ratio, rising
     * reads, rising LWLock/IPC waits and context switches. NULL = none. Its
     * own previous is not read. */
    const struct analysis_bottleneck_evidence *previous;
};

/* Figures derived from the evidence: what the rules read. A group's flag
 * says whether its figures were measured; its numbers are 0 when not. */
struct analysis_bottleneck_metrics {
    bool activity;
    double active_share;         /* active / backend samples */
    double client_wait_share;    /* idle, idle in transaction or Client waits / backend samples */
    double share[ANALYSIS_WAIT_COUNT];   /* of active samples */
    double avg_active;           /* active backends per sampling round */

    bool database;
    double hit_ratio;            /* blks_hit / (blks_hit + blks_read); 1 with no block access */
    double reads_per_tx;         /* blks_read / xact_commit (or tps x seconds) */
    double temp_files_per_tx;
    double temp_bytes_per_s;

    bool host;
    double host_cpu_busy, host_iowait, host_steal, mem_available;
    double context_switches_per_tx;

    bool client;
    double client_cpu;           /* share of the machine */
    double client_saturation;    /* CPU used / min(threads, cores): 1 = every engine thread busy */

    bool latency;
    double latency_share;        /* latency / (latency + pool wait): the part the server explains */
    double pool_wait_share;      /* pool wait / (latency + pool wait) */
    double pool_wait_ratio;      /* pool wait / latency */
    double p_wait;               /* Erlang C P(wait) of the pool (1 when unstable); 0 with workers <= connections */
    bool pool_unstable;          /* Erlang C: utilisation >= 1 */
    double littles_ratio;        /* TPS x (latency + wait) / workers; 0 when not known */

    bool rtt;
    double rtt_ms;
    double statements_per_tx;    /* qps / tps; 1 when not known */
    double rtt_share;            /* rtt x statements per tx / latency, at most 1 */
};

struct analysis_bottleneck_advice {
    enum analysis_bottleneck_type type;
    char action[32];                          /* "raise_connections", "work_mem", ... */
    char suggestion[ANALYSIS_SUGGESTION_MAX];
};

struct analysis_bottleneck {
    enum analysis_status status;     /* ok; no_data (no evidence at all); invalid_input */
    char message[ANALYSIS_MESSAGE_MAX];
    enum analysis_bottleneck_type type;        /* NONE below the minimum score */
    enum analysis_bottleneck_type runner_up;   /* the second highest score (NONE when all are 0) */
    double confidence;                         /* [0, 1], see analysis_bottleneck_classify */
    double score[ANALYSIS_BOTTLENECK_COUNT];   /* [NONE] is always 0 */
    struct analysis_bottleneck_metrics metrics;
    size_t nreasons;
    char reasons[ANALYSIS_BOTTLENECK_MAX_REASONS][ANALYSIS_SUGGESTION_MAX];
    size_t nadvice;
    struct analysis_bottleneck_advice advice[ANALYSIS_BOTTLENECK_MAX_ADVICE];
};

/* "none", "connection_pool", "lock_contention", "io_bound", "memory_bound",
 * "cpu_bound", "over_provisioned", "network_bound", "client_bound". */
const char *analysis_bottleneck_type_name(enum analysis_bottleneck_type type);

/* "cpu", "io", "lock", "lwlock", "ipc", "client", "other". */
const char *analysis_wait_class_name(enum analysis_wait_class c);

/* The class of an active backend's wait_event_type: NULL or "" is CPU. */
enum analysis_wait_class analysis_wait_class_of(const char *wait_event_type);

/* Zeroed evidence with region NONE and no previous band. */
void analysis_bottleneck_evidence_init(struct analysis_bottleneck_evidence *e);

/*
 * Classify one band's evidence. Scores every type (docs/observation.md),
 * names the highest if it reaches ANALYSIS_BOTTLENECK_MIN_SCORE (ties go to
 * the type first in enum order), and sets
 *
 *   confidence = s1 - s2                         (the lead over the runner-up)
 *   confidence = coverage x (1 - s1 / MIN_SCORE) (type none; coverage = share of
 *                                                 the six evidence groups measured:
 *                                                 activity, database, host, client,
 *                                                 latency, round trip)
 *   confidence = 0                               (no evidence: status no_data;
 *                                                 invalid input)
 *
 * Reasons state the figures behind the leading scores; advice names the
 * setting or action for the type (and for other types scoring >= 0.5).
 * Returns out->status.
 */
enum analysis_status analysis_bottleneck_classify(const struct analysis_bottleneck_evidence *e,
                                                  struct analysis_bottleneck *out);

/*
 * Several bands' evidence as one (the bands past the knee of a study):
 * counts and samples add up; rates, latencies and host fractions are
 * weighted by each band's seconds (latencies by its transactions); the
 * configuration, region and N* are those of the band with the most workers
 * (the worst region wins); wait events merge by name; previous is that of
 * the first band. Input that would be invalid is copied as is so that
 * classify reports it.
 */
void analysis_bottleneck_merge(const struct analysis_bottleneck_evidence *bands, size_t n,
                               struct analysis_bottleneck_evidence *out);

#endif
