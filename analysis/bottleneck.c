/*
 * Bottleneck classification from observed evidence (see bottleneck.h; the
 * rules, thresholds and formulas are documented in docs/observation.md,
 * which must change with this file).
 *
 * Shape of every rule: a score in [0, 1] built from ramps, ramp(x, lo, hi)
 * = 0 at lo or below, 1 at hi or above, linear between, so a figure just
 * past a threshold moves the score a little rather than flipping the answer.
 * Scores of causes inside the server (all but the pool and the client) are
 * multiplied by the latency share latency / (latency + pool wait): that is
 * the part of a worker's response time the server can explain.
 */
#include "analysis/bottleneck.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "analysis/common.h"
#include "analysis/queueing.h"

static const char *const type_names[ANALYSIS_BOTTLENECK_COUNT] = {
    "none",         "connection_pool",  "lock_contention", "io_bound",    "memory_bound",
    "cpu_bound",    "over_provisioned", "network_bound",   "client_bound",
};

static const char *const class_names[ANALYSIS_WAIT_COUNT] = {"cpu", "io", "lock", "lwlock", "ipc", "client",
                                                             "other"};

const char *analysis_bottleneck_type_name(enum analysis_bottleneck_type type)
{
    return (unsigned)type < ANALYSIS_BOTTLENECK_COUNT ? type_names[type] : "none";
}

const char *analysis_wait_class_name(enum analysis_wait_class c)
{
    return (unsigned)c < ANALYSIS_WAIT_COUNT ? class_names[c] : "other";
}

enum analysis_wait_class analysis_wait_class_of(const char *t)
{
    if (!t || !t[0])
        return ANALYSIS_WAIT_CPU;
    if (strcmp(t, "IO") == 0)
        return ANALYSIS_WAIT_IO;
    if (strcmp(t, "Lock") == 0 || strcmp(t, "BufferPin") == 0)
        return ANALYSIS_WAIT_LOCK;
    if (strcmp(t, "LWLock") == 0 || strcmp(t, "LWLockNamed") == 0 || strcmp(t, "LWLockTranche") == 0)
        return ANALYSIS_WAIT_LWLOCK;
    if (strcmp(t, "IPC") == 0)
        return ANALYSIS_WAIT_IPC;
    if (strcmp(t, "Client") == 0)
        return ANALYSIS_WAIT_CLIENT;
    return ANALYSIS_WAIT_OTHER;
}

/* The class of an event named "Type:event". */
static enum analysis_wait_class event_class(const char *name)
{
    char type[ANALYSIS_WAIT_EVENT_NAME_MAX];
    size_t n = strcspn(name, ":");
    if (n >= sizeof type)
        n = sizeof type - 1;
    memcpy(type, name, n);
    type[n] = '\0';
    return analysis_wait_class_of(type);
}

void analysis_bottleneck_evidence_init(struct analysis_bottleneck_evidence *e)
{
    memset(e, 0, sizeof *e);
    e->region = ANALYSIS_REGION_NONE;
    e->previous = NULL;
}

/* ---- validation ---------------------------------------------------------- */

struct number_ref {
    const char *name;
    double value;
    bool fraction;   /* must also be <= 1 */
};

/* Returns false and writes the message for the first bad figure. */
static bool validate(const struct analysis_bottleneck_evidence *e, const char *which, char *message)
{
    const struct number_ref nums[] = {
        {"seconds", e->seconds, false},
        {"tps", e->tps, false},
        {"qps", e->qps, false},
        {"latency_ms", e->latency_ms, false},
        {"pool_wait_ms", e->pool_wait_ms, false},
        {"peak_workers", e->peak_workers, false},
        {"rtt_ms", e->rtt_ms, false},
        {"rounds", e->rounds, false},
        {"backends", e->backends, false},
        {"active", e->active, false},
        {"wait.cpu", e->wait[ANALYSIS_WAIT_CPU], false},
        {"wait.io", e->wait[ANALYSIS_WAIT_IO], false},
        {"wait.lock", e->wait[ANALYSIS_WAIT_LOCK], false},
        {"wait.lwlock", e->wait[ANALYSIS_WAIT_LWLOCK], false},
        {"wait.ipc", e->wait[ANALYSIS_WAIT_IPC], false},
        {"wait.client", e->wait[ANALYSIS_WAIT_CLIENT], false},
        {"wait.other", e->wait[ANALYSIS_WAIT_OTHER], false},
        {"blks_read", e->blks_read, false},
        {"blks_hit", e->blks_hit, false},
        {"temp_files", e->temp_files, false},
        {"temp_bytes", e->temp_bytes, false},
        {"xact_commit", e->xact_commit, false},
        {"deadlocks", e->deadlocks, false},
        {"host_cpu_busy", e->host_cpu_busy, true},
        {"host_iowait", e->host_iowait, true},
        {"host_steal", e->host_steal, true},
        {"mem_available", e->mem_available, true},
        {"context_switches", e->context_switches, false},
        {"client_cpu", e->client_cpu, true},
        {"shared_buffers_bytes", e->shared_buffers_bytes, false},
        {"work_mem_bytes", e->work_mem_bytes, false},
        {"max_connections", e->max_connections, false},
        {"effective_io_concurrency", e->effective_io_concurrency, false},
    };
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        double x = nums[i].value;
        if (!isfinite(x)) {
            set_message(message, "%s%s is not a finite number", which, nums[i].name);
            return false;
        }
        if (x < 0.0) {
            set_message(message, "%s%s is negative", which, nums[i].name);
            return false;
        }
        if (nums[i].fraction && x > 1.0 + 1e-6) {
            set_message(message, "%s%s is a fraction and must be at most 1", which, nums[i].name);
            return false;
        }
    }
    if (e->workers < 0 || e->connections < 0 || e->threads < 0 || e->cores < 0) {
        set_message(message, "%sworkers, connections, threads and cores must not be negative", which);
        return false;
    }
    if (e->nevents > ANALYSIS_BOTTLENECK_EVENTS) {
        set_message(message, "%sat most %d wait events", which, ANALYSIS_BOTTLENECK_EVENTS);
        return false;
    }
    for (size_t i = 0; i < e->nevents; i++) {
        if (!isfinite(e->events[i].samples) || e->events[i].samples < 0.0) {
            set_message(message, "%swait event %s: samples must be finite and not negative", which,
                        e->events[i].name);
            return false;
        }
    }
    if ((unsigned)e->region >= ANALYSIS_REGION_COUNT) {
        set_message(message, "%sregion is not a region", which);
        return false;
    }
    return true;
}

/* ---- metrics ------------------------------------------------------------- */

static double ramp(double x, double lo, double hi)
{
    return clamp01(safe_div(x - lo, hi - lo, 0.0));
}

/* Transactions in the band: stormdb's own count when known (the workload's
 * alone), else the server's commits. */
static double transactions(const struct analysis_bottleneck_evidence *e)
{
    double tx = e->tps * e->seconds;
    return tx > 0.0 ? tx : e->xact_commit;
}

static double active_total(const struct analysis_bottleneck_evidence *e)
{
    double sum = 0.0;
    for (int c = 0; c < ANALYSIS_WAIT_COUNT; c++)
        sum += e->wait[c];
    return fmax(e->active, sum);
}

static void metrics_of(const struct analysis_bottleneck_evidence *e, struct analysis_bottleneck_metrics *m)
{
    const double k = ANALYSIS_BOTTLENECK_PRIOR_SAMPLES;
    memset(m, 0, sizeof *m);
    double tx = transactions(e);

    if (e->backends > 0.0) {
        double active = fmin(active_total(e), e->backends);
        m->activity = true;
        m->active_share = clamp01(active / (e->backends + k));
        for (int c = 0; c < ANALYSIS_WAIT_COUNT; c++)
            m->share[c] = clamp01(e->wait[c] / (active + k));
        m->client_wait_share = clamp01((e->backends - active + e->wait[ANALYSIS_WAIT_CLIENT]) / (e->backends + k));
        m->avg_active = safe_div(active, e->rounds, 0.0);
    }

    if (e->has_database) {
        m->database = true;
        double blocks = e->blks_hit + e->blks_read;
        m->hit_ratio = blocks > 0.0 ? clamp01(e->blks_hit / blocks) : 1.0;
        m->reads_per_tx = safe_div(e->blks_read, tx, 0.0);
        m->temp_files_per_tx = safe_div(e->temp_files, tx, 0.0);
        m->temp_bytes_per_s = safe_div(e->temp_bytes, e->seconds, 0.0);
    }

    if (e->has_host) {
        m->host = true;
        m->host_cpu_busy = clamp01(e->host_cpu_busy);
        m->host_iowait = clamp01(e->host_iowait);
        m->host_steal = clamp01(e->host_steal);
        m->mem_available = clamp01(e->mem_available);
        m->context_switches_per_tx = safe_div(e->context_switches, tx, 0.0);
    }

    if (e->has_client) {
        m->client = true;
        m->client_cpu = clamp01(e->client_cpu);
        int cores = e->cores > 0 ? e->cores : 1;
        int threads = e->threads > 0 && e->threads < cores ? e->threads : cores;
        m->client_saturation = clamp01(m->client_cpu * (double)cores / (double)threads);
    }

    if (e->latency_ms > 0.0) {
        double response = e->latency_ms + e->pool_wait_ms;
        m->latency = true;
        m->latency_share = clamp01(e->latency_ms / response);
        m->pool_wait_share = clamp01(e->pool_wait_ms / response);
        m->pool_wait_ratio = safe_div(e->pool_wait_ms, e->latency_ms, 0.0);
        if (e->workers > e->connections && e->connections >= 1 && e->tps > 0.0) {
            double p = 0.0;
            enum analysis_status st = analysis_erlang_c(e->connections, e->tps * e->latency_ms / 1000.0, &p);
            m->p_wait = st == ANALYSIS_INVALID_INPUT ? 0.0 : p;
            m->pool_unstable = st == ANALYSIS_UNSTABLE;
        }
        if (e->workers > 0 && e->tps > 0.0)
            m->littles_ratio = finite_or(e->tps * response / 1000.0 / (double)e->workers, 0.0);
    }

    if (e->rtt_ms > 0.0) {
        m->rtt = true;
        m->rtt_ms = e->rtt_ms;
        m->statements_per_tx = e->qps > 0.0 && e->tps > 0.0 ? fmax(1.0, e->qps / e->tps) : 1.0;
        m->rtt_share = e->latency_ms > 0.0 ? clamp01(e->rtt_ms * m->statements_per_tx / e->latency_ms) : 0.0;
    }
}

/* ---- scores -------------------------------------------------------------- */

/* Everything a rule reads: the band's metrics and its previous band's. */
struct ctx {
    const struct analysis_bottleneck_evidence *e;
    struct analysis_bottleneck_metrics m;
    bool has_prev;
    struct analysis_bottleneck_metrics prev;
    double server_part;   /* latency share, 1 when latency is not known */
    double host_sat;      /* ramp(host CPU busy, 0.6, 0.9); 0 when not known */
};

static double host_saturation(const struct analysis_bottleneck_metrics *m)
{
    return m->host ? ramp(m->host_cpu_busy, 0.6, 0.9) : 0.0;
}

static double score_pool(const struct ctx *c)
{
    const struct analysis_bottleneck_evidence *e = c->e;
    if (!c->m.latency || e->connections < 1 || e->workers <= e->connections)
        return 0.0;
    double erlang = c->m.pool_unstable || c->m.p_wait >= 0.5 ? 1.0 : 0.75;
    return ramp(c->m.pool_wait_share, 0.2, 0.6) * erlang * (1.0 - 0.5 * c->host_sat);
}

static double lwlock_as_lock(const struct ctx *c)
{
    /* Past the peak, LWLock waits are the coordination cost of too many
     * backends: they count for over_provisioned instead. */
    return c->e->region == ANALYSIS_REGION_DEGRADATION ? 0.0 : c->m.share[ANALYSIS_WAIT_LWLOCK];
}

static double score_lock(const struct ctx *c)
{
    if (!c->m.activity)
        return 0.0;
    return c->server_part * clamp01(c->m.share[ANALYSIS_WAIT_LOCK] + lwlock_as_lock(c));
}

static double miss_factor(const struct ctx *c)
{
    return c->m.database ? ramp(1.0 - c->m.hit_ratio, 0.01, 0.10) : 0.0;
}

static double score_io(const struct ctx *c)
{
    if (!c->m.activity)
        return 0.0;
    double iowait = c->m.host ? ramp(c->m.host_iowait, 0.05, 0.25) : 0.0;
    return c->server_part * c->m.share[ANALYSIS_WAIT_IO] * (0.7 + 0.3 * fmax(miss_factor(c), iowait));
}

/* 1: the hit ratio fell by half a point or more and reads per transaction
 * rose by 20% or more since the previous band; 0.5: a previous band showed
 * no such trend; 0.7: no previous band to compare with. */
static double memory_trend(const struct ctx *c)
{
    if (!c->has_prev || !c->prev.database)
        return 0.7;
    bool falling = c->prev.hit_ratio - c->m.hit_ratio >= 0.005 &&
                   c->m.reads_per_tx > 1.2 * c->prev.reads_per_tx;
    return falling ? 1.0 : 0.5;
}

static double reads_per_s(const struct ctx *c)
{
    return safe_div(c->e->blks_read, c->e->seconds, 0.0);
}

static double memory_parts(const struct ctx *c, double *misses, double *spills, double *pressure)
{
    *misses = *spills = *pressure = 0.0;
    if (c->m.database) {
        *misses = miss_factor(c) * ramp(reads_per_s(c), 10.0, 100.0) * memory_trend(c);
        *spills = ramp(c->m.temp_files_per_tx, 0.001, 0.05);
    }
    if (c->m.host && c->m.mem_available > 0.0)
        *pressure = ramp(1.0 - c->m.mem_available, 0.85, 0.95);
    return fmax(*misses, fmax(*spills, *pressure));
}

static double score_memory(const struct ctx *c)
{
    double a, b, d;
    return c->server_part * memory_parts(c, &a, &b, &d);
}

/*
 * With the host's figures, saturated CPUs are the evidence: pg_stat_activity
 * cannot show CPU queueing on short statements (a backend that waits for a
 * core after its client's message arrived still reads as idle), so the
 * samples only rule causes out: waits on IO, locks and IPC in active samples
 * lower the score, and so does a load generator that takes most of the busy
 * CPU itself. Without them, backends busy most of the time with no wait
 * event are the only sign of a CPU limit, and a weaker one.
 */
static double score_cpu(const struct ctx *c)
{
    const struct analysis_bottleneck_metrics *m = &c->m;
    if (m->host) {
        double waits = m->share[ANALYSIS_WAIT_IO] + m->share[ANALYSIS_WAIT_LOCK] + m->share[ANALYSIS_WAIT_LWLOCK] +
                       m->share[ANALYSIS_WAIT_IPC];
        double server = m->client ? ramp(1.0 - safe_div(m->client_cpu, m->host_cpu_busy, 0.0), 0.2, 0.5) : 1.0;
        return c->server_part * c->host_sat * (1.0 - clamp01(waits)) * server;
    }
    if (!m->activity)
        return 0.0;
    return c->server_part * m->share[ANALYSIS_WAIT_CPU] * 0.8 * m->active_share;
}

static double coherency_share(const struct analysis_bottleneck_metrics *m)
{
    return m->share[ANALYSIS_WAIT_LWLOCK] + m->share[ANALYSIS_WAIT_IPC];
}

static double rising_coordination(const struct ctx *c)
{
    if (!c->has_prev)
        return 0.0;
    double rising = 0.0;
    if (c->m.activity && c->prev.activity)
        rising = ramp(coherency_share(&c->m) - coherency_share(&c->prev), 0.0, 0.1);
    if (c->m.host && c->prev.host && c->prev.context_switches_per_tx > 0.0)
        rising = fmax(rising, ramp(c->m.context_switches_per_tx / c->prev.context_switches_per_tx, 1.1, 1.5));
    return rising;
}

static double score_over(const struct ctx *c)
{
    if (c->e->region != ANALYSIS_REGION_DEGRADATION)
        return 0.0;
    double coherency = c->m.activity ? ramp(coherency_share(&c->m), 0.05, 0.3) : 0.0;
    return c->server_part * (0.5 + 0.5 * fmax(coherency, rising_coordination(c)));
}

static double client_saturation_factor(const struct ctx *c)
{
    return c->m.client ? ramp(c->m.client_saturation, 0.7, 0.95) : 0.0;
}

static double score_network(const struct ctx *c)
{
    if (!c->m.rtt || !c->m.activity)
        return 0.0;
    return c->server_part * c->m.client_wait_share * ramp(c->m.rtt_share, 0.2, 0.6) * (1.0 - c->host_sat) *
           (1.0 - client_saturation_factor(c));
}

static double score_client(const struct ctx *c)
{
    if (!c->m.client)
        return 0.0;
    double server_waits = c->m.activity ? c->m.client_wait_share : 0.5;
    return client_saturation_factor(c) * (0.5 + 0.5 * server_waits);
}

/* ---- reasons and advice -------------------------------------------------- */

static void add_reason(struct analysis_bottleneck *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_reason(struct analysis_bottleneck *out, const char *fmt, ...)
{
    if (out->nreasons >= ANALYSIS_BOTTLENECK_MAX_REASONS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->reasons[out->nreasons++], ANALYSIS_SUGGESTION_MAX, fmt, ap);
    va_end(ap);
}

static void add_advice(struct analysis_bottleneck *out, enum analysis_bottleneck_type type, const char *action,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void add_advice(struct analysis_bottleneck *out, enum analysis_bottleneck_type type, const char *action,
                       const char *fmt, ...)
{
    if (out->nadvice >= ANALYSIS_BOTTLENECK_MAX_ADVICE)
        return;
    struct analysis_bottleneck_advice *a = &out->advice[out->nadvice++];
    a->type = type;
    snprintf(a->action, sizeof a->action, "%s", action);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->suggestion, sizeof a->suggestion, fmt, ap);
    va_end(ap);
}

/* Up to three events of the given classes (a bit mask) as
 * "Lock:transactionid 80%, Lock:tuple 6%" (shares of active samples);
 * "no single event" when none. */
static const char *top_events(const struct ctx *c, unsigned classes, char *buf, size_t size)
{
    const struct analysis_bottleneck_evidence *e = c->e;
    double active = fmin(active_total(e), e->backends) + ANALYSIS_BOTTLENECK_PRIOR_SAMPLES;
    size_t used = 0, n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < e->nevents && n < 3; i++) {
        if (!(classes & (1u << event_class(e->events[i].name))) || !(e->events[i].samples > 0.0))
            continue;
        int w = snprintf(buf + used, size - used, "%s%s %.0f%%", n ? ", " : "", e->events[i].name,
                         100.0 * clamp01(e->events[i].samples / active));
        if (w < 0 || (size_t)w >= size - used)
            break;
        used += (size_t)w;
        n++;
    }
    if (n == 0)
        snprintf(buf, size, "no single event");
    return buf;
}

#define CLASS(c) (1u << (c))

/* "128MB" style, for settings in sentences. */
static const char *bytes_text(double bytes, char *buf, size_t size)
{
    if (!(bytes > 0.0))
        snprintf(buf, size, "its current value");
    else if (bytes >= 1024.0 * 1024.0 * 1024.0)
        snprintf(buf, size, "%.3gGB", bytes / (1024.0 * 1024.0 * 1024.0));
    else if (bytes >= 1024.0 * 1024.0)
        snprintf(buf, size, "%.3gMB", bytes / (1024.0 * 1024.0));
    else
        snprintf(buf, size, "%.3gkB", bytes / 1024.0);
    return buf;
}

/* The pool to suggest: the smallest with Erlang C P(wait) <= 20% for the
 * load the workers would offer with no wait (latency / (latency + time
 * outside transactions) of each worker, from Little's law), at least one
 * more connection than now, at most one per worker; never above the USL's
 * N* when there is one (more connections than that cost throughput). */
static int pool_target(const struct ctx *c)
{
    const struct analysis_bottleneck_evidence *e = c->e;
    double cycle_ms = safe_div(1000.0 * (double)e->workers, e->tps, 0.0);
    double outside_ms = fmax(0.0, cycle_ms - e->latency_ms - e->pool_wait_ms);
    double demand = (double)e->workers * safe_div(e->latency_ms, e->latency_ms + outside_ms, 1.0);
    int target = e->connections + 1;
    for (; target < e->workers; target++) {
        double p;
        if (analysis_erlang_c(target, demand, &p) == ANALYSIS_OK && p <= 0.2)
            break;
    }
    if (target > e->workers)
        target = e->workers;
    if (e->peak_workers >= 1.0 && target > (int)lround(e->peak_workers) && lround(e->peak_workers) > e->connections)
        target = (int)lround(e->peak_workers);
    return target;
}

static void explain_pool(const struct ctx *c, struct analysis_bottleneck *out, bool advise)
{
    const struct analysis_bottleneck_evidence *e = c->e;
    add_reason(out,
               "pool wait: %.0f%% of response time (%.3g ms waiting for a connection, %.3g ms in the transaction) "
               "at %d workers / %d connections; Erlang C P(wait) %.2f%s",
               100.0 * c->m.pool_wait_share, e->pool_wait_ms, e->latency_ms, e->workers, e->connections,
               c->m.p_wait, c->m.pool_unstable ? " (the pool is saturated)" : "");
    if (!advise)
        return;
    int target = pool_target(c);
    char ratio[48];
    if (c->m.pool_wait_ratio >= 2.0)
        snprintf(ratio, sizeof ratio, "%.1fx the transaction latency", c->m.pool_wait_ratio);
    else
        snprintf(ratio, sizeof ratio, "%.0f%% of the transaction latency", 100.0 * c->m.pool_wait_ratio);
    add_advice(out, ANALYSIS_BOTTLENECK_CONNECTION_POOL, "raise_connections",
               "Pool wait is %.0f%% of the response time (%s) at %d workers / %d connections: raise connections "
               "to about %d%s, or put a pooler (PgBouncer) in front of the server.",
               100.0 * c->m.pool_wait_share, ratio, e->workers, e->connections, target,
               e->peak_workers >= 1.0 && target == (int)lround(e->peak_workers) ? " (the USL peak N*)" : "");
}

/* What the leading lock event usually means. */
static const char *lock_hint(const char *event)
{
    static const struct {
        const char *prefix, *hint;
    } hints[] = {
        {"Lock:transactionid", "many transactions update the same rows: spread the hot rows (shard a counter "
                               "over several rows), keep transactions short, update rows in a consistent order"},
        {"Lock:tuple", "many transactions update the same rows: spread the hot rows, keep transactions short"},
        {"Lock:relation", "table-level locks (DDL, LOCK TABLE, lock upgrades): keep them out of the hot path"},
        {"Lock:advisory", "the application's advisory locks serialise the work: narrow what they cover"},
        {"LWLock:WAL", "WAL insertion and flushes: larger wal_buffers, commit_delay, a faster WAL device"},
        {"LWLock:Lock", "the lock manager: touch fewer relations and partitions per transaction"},
        {"LWLock:lock_manager", "the lock manager: touch fewer relations and partitions per transaction"},
        {"LWLock:Buffer", "hot pages that every backend touches: spread the hot rows over more pages"},
        {"LWLock:buffer", "hot pages that every backend touches: spread the hot rows over more pages"},
        {"LWLock:ProcArray", "snapshots and commits of many backends: fewer concurrent connections"},
        {"LWLock:XactSLRU", "commit status lookups: shorter transactions, fewer subtransactions"},
        {"LWLock:SubtransSLRU", "subtransactions (SAVEPOINT, exception blocks): use fewer of them"},
    };
    for (size_t i = 0; event && i < sizeof hints / sizeof hints[0]; i++)
        if (strncmp(event, hints[i].prefix, strlen(hints[i].prefix)) == 0)
            return hints[i].hint;
    return "shorten transactions and spread the work that everyone contends on; more workers only add waiters";
}

/* The first event of the given classes, or NULL. */
static const char *first_event(const struct ctx *c, unsigned classes)
{
    for (size_t i = 0; i < c->e->nevents; i++)
        if ((classes & (1u << event_class(c->e->events[i].name))) && c->e->events[i].samples > 0.0)
            return c->e->events[i].name;
    return NULL;
}

static void explain_lock(const struct ctx *c, struct analysis_bottleneck *out, bool advise)
{
    char ev[200];
    unsigned classes = CLASS(ANALYSIS_WAIT_LOCK) | CLASS(ANALYSIS_WAIT_LWLOCK);
    add_reason(out, "lock waits: %.0f%% Lock and %.0f%% LWLock of active backend samples (top: %s)%s",
               100.0 * c->m.share[ANALYSIS_WAIT_LOCK], 100.0 * c->m.share[ANALYSIS_WAIT_LWLOCK],
               top_events(c, classes, ev, sizeof ev),
               c->m.database && c->e->deadlocks > 0.0 ? "; deadlocks were detected" : "");
    if (!advise)
        return;
    const char *first = first_event(c, classes);
    add_advice(out, ANALYSIS_BOTTLENECK_LOCK_CONTENTION, "reduce_lock_contention",
               "Backends queue on %s: %s.", first ? first : "locks", lock_hint(first));
}

static void explain_io(const struct ctx *c, struct analysis_bottleneck *out, bool advise)
{
    char ev[200], iowait[48] = "";
    if (c->m.host)
        snprintf(iowait, sizeof iowait, "; host iowait %.0f%%", 100.0 * c->m.host_iowait);
    add_reason(out, "IO waits: %.0f%% of active backend samples (top: %s)%s", 100.0 * c->m.share[ANALYSIS_WAIT_IO],
               top_events(c, CLASS(ANALYSIS_WAIT_IO), ev, sizeof ev), iowait);
    if (c->m.database)
        add_reason(out, "block reads: %.1f%% of block accesses missed shared_buffers (%.3g reads per transaction)",
                   100.0 * (1.0 - c->m.hit_ratio), c->m.reads_per_tx);
    if (!advise)
        return;
    const char *first = first_event(c, CLASS(ANALYSIS_WAIT_IO));
    char sb[32];
    if (first && strncmp(first, "IO:WAL", 6) == 0) {
        add_advice(out, ANALYSIS_BOTTLENECK_IO, "wal_io",
                   "Backends wait on WAL writes (%s): a faster WAL device, commit_delay to group commits, or "
                   "synchronous_commit = off where losing the last commits on a crash is acceptable.",
                   first);
        return;
    }
    add_advice(out, ANALYSIS_BOTTLENECK_IO, "reduce_reads",
               "Backends wait on storage (%s): raise shared_buffers (now %s) if the host has memory, add indexes "
               "that cut the blocks read per transaction, or use faster storage%s.",
               first ? first : "IO", bytes_text(c->e->shared_buffers_bytes, sb, sizeof sb),
               c->e->effective_io_concurrency > 0.0 && c->e->effective_io_concurrency <= 1.0
                   ? "; effective_io_concurrency = 1 leaves prefetching off"
                   : "");
}

static void explain_memory(const struct ctx *c, struct analysis_bottleneck *out, bool advise)
{
    double misses, spills, pressure;
    memory_parts(c, &misses, &spills, &pressure);
    char sb[32], wm[32];
    if (c->m.database) {
        char prev[96] = "";
        if (c->has_prev && c->prev.database)
            snprintf(prev, sizeof prev, " (%.2f%% and %.3g reads per transaction in the band before)",
                     100.0 * c->prev.hit_ratio, c->prev.reads_per_tx);
        add_reason(out, "memory: shared_buffers hit ratio %.2f%%, %.3g block reads per transaction%s; %.3g temp "
                   "files per 1000 transactions",
                   100.0 * c->m.hit_ratio, c->m.reads_per_tx, prev, 1000.0 * c->m.temp_files_per_tx);
    }
    if (c->m.host && c->m.mem_available > 0.0)
        add_reason(out, "host memory: %.0f%% available at the lowest", 100.0 * c->m.mem_available);
    if (!advise)
        return;
    if (spills >= misses && spills >= pressure && spills > 0.0)
        add_advice(out, ANALYSIS_BOTTLENECK_MEMORY, "work_mem",
                   "Raise work_mem from %s for this workload (SET work_mem per session or ALTER ROLE): %.0f temp "
                   "files (%s) spilled sorts or hashes to disk in the band.",
                   bytes_text(c->e->work_mem_bytes, wm, sizeof wm), c->e->temp_files,
                   bytes_text(c->e->temp_bytes, sb, sizeof sb));
    else if (pressure >= misses && pressure > 0.0)
        add_advice(out, ANALYSIS_BOTTLENECK_MEMORY, "host_memory",
                   "The host ran short of memory (%.0f%% available): lower shared_buffers or work_mem x "
                   "connections, or add memory.",
                   100.0 * c->m.mem_available);
    else
        add_advice(out, ANALYSIS_BOTTLENECK_MEMORY, "shared_buffers",
                   "Raise shared_buffers (now %s): the working set no longer fits (hit ratio %.2f%%, %.3g block "
                   "reads per transaction); or shrink it with better indexes.",
                   bytes_text(c->e->shared_buffers_bytes, sb, sizeof sb), 100.0 * c->m.hit_ratio,
                   c->m.reads_per_tx);
}

static void explain_cpu(const struct ctx *c, struct analysis_bottleneck *out, bool advise)
{
    char host[160] = "; the host's CPU was not observed (the server runs elsewhere)";
    if (c->m.host)
        snprintf(host, sizeof host, "; host CPU %.0f%% busy", 100.0 * c->m.host_cpu_busy);
    if (c->m.host && c->m.client)
        snprintf(host, sizeof host, "; host CPU %.0f%% busy, %.0f%% of it used by the load generator",
                 100.0 * c->m.host_cpu_busy, 100.0 * safe_div(c->m.client_cpu, c->m.host_cpu_busy, 0.0));
    add_reason(out, "CPU: backends ran with no wait event in %.0f%% of active samples (%.1f active per sample)%s",
               100.0 * c->m.share[ANALYSIS_WAIT_CPU], c->m.avg_active, host);
    if (!advise)
        return;
    bool shared = c->m.host && c->m.client && c->m.client_cpu >= 0.2;
    char away[120] = "";
    if (shared)
        snprintf(away, sizeof away, "; run stormdb on another host: it used %.0f%% of these cores",
                 100.0 * c->m.client_cpu);
    add_advice(out, ANALYSIS_BOTTLENECK_CPU, "reduce_cpu",
               "The CPUs are saturated, so more workers will not add throughput: cut the CPU per transaction (the "
               "top statements: plans, indexes, rows touched) or add cores%s.",
               away);
}

static void explain_over(const struct ctx *c, struct analysis_bottleneck *out, bool advise)
{
    char ev[200], prev[64] = "";
    if (c->has_prev && c->prev.activity)
        snprintf(prev, sizeof prev, " against %.0f%% in the band before", 100.0 * coherency_share(&c->prev));
    add_reason(out, "past the peak (degradation region): LWLock and IPC waits %.0f%% of active samples%s (top: %s)",
               100.0 * coherency_share(&c->m), prev,
               top_events(c, CLASS(ANALYSIS_WAIT_LWLOCK) | CLASS(ANALYSIS_WAIT_IPC), ev, sizeof ev));
    if (!advise)
        return;
    char n[64] = "";
    if (c->e->peak_workers >= 1.0)
        snprintf(n, sizeof n, " (about %.0f, the USL peak N*)", c->e->peak_workers);
    add_advice(out, ANALYSIS_BOTTLENECK_OVER_PROVISIONED, "reduce_workers",
               "Run fewer workers%s than %d: past the peak each added backend costs more in coordination than it "
               "adds; with many more clients than cores, a pooler keeping a few connections per core helps.",
               n, c->e->workers);
}

static void explain_network(const struct ctx *c, struct analysis_bottleneck *out, bool advise)
{
    add_reason(out,
               "network: backends waited on the client in %.0f%% of samples; a round trip (SELECT 1) took %.3g ms, "
               "x %.1f statements per transaction = %.0f%% of the %.3g ms latency",
               100.0 * c->m.client_wait_share, c->m.rtt_ms, c->m.statements_per_tx, 100.0 * c->m.rtt_share,
               c->e->latency_ms);
    if (!advise)
        return;
    add_advice(out, ANALYSIS_BOTTLENECK_NETWORK, "reduce_round_trips",
               "Each statement costs a %.3g ms round trip: send fewer statements per transaction (%.1f now: "
               "functions, CTEs, pipeline mode) or run the client nearer the server.",
               c->m.rtt_ms, c->m.statements_per_tx);
}

static void explain_client(const struct ctx *c, struct analysis_bottleneck *out, bool advise)
{
    const struct analysis_bottleneck_evidence *e = c->e;
    int cores = e->cores > 0 ? e->cores : 1;
    int threads = e->threads > 0 && e->threads < cores ? e->threads : cores;
    add_reason(out,
               "load generator: %.0f%% of its %d threads' CPU (%.0f%% of the machine); backends waited on it in "
               "%.0f%% of samples",
               100.0 * c->m.client_saturation, threads, 100.0 * c->m.client_cpu, 100.0 * c->m.client_wait_share);
    if (!advise)
        return;
    if (threads < cores)
        add_advice(out, ANALYSIS_BOTTLENECK_CLIENT, "client_capacity",
                   "The load generator is the limit: give it more threads (--threads %d) or run it on a separate "
                   "host; its %d threads were %.0f%% busy.",
                   cores, threads, 100.0 * c->m.client_saturation);
    else
        add_advice(out, ANALYSIS_BOTTLENECK_CLIENT, "client_capacity",
                   "The load generator is the limit: run it on a host with more cores, or on a host of its own; "
                   "its %d threads were %.0f%% busy.",
                   threads, 100.0 * c->m.client_saturation);
}

typedef void (*explain_fn)(const struct ctx *, struct analysis_bottleneck *, bool);

static const explain_fn explainers[ANALYSIS_BOTTLENECK_COUNT] = {
    NULL,         explain_pool, explain_lock,    explain_io,     explain_memory,
    explain_cpu,  explain_over, explain_network, explain_client,
};

/* ---- classification ------------------------------------------------------ */

static bool any_evidence(const struct analysis_bottleneck_metrics *m)
{
    return m->activity || m->database || m->host || m->client || m->latency || m->rtt;
}

/* Share of the evidence groups that were measured (activity, database,
 * host, client, latency, round trip). */
static double coverage(const struct analysis_bottleneck_metrics *m)
{
    int n = (int)m->activity + (int)m->database + (int)m->host + (int)m->client + (int)m->latency + (int)m->rtt;
    return (double)n / 6.0;
}

enum analysis_status analysis_bottleneck_classify(const struct analysis_bottleneck_evidence *e,
                                                  struct analysis_bottleneck *out)
{
    memset(out, 0, sizeof *out);
    out->type = out->runner_up = ANALYSIS_BOTTLENECK_NONE;
    if (!validate(e, "", out->message) || (e->previous && !validate(e->previous, "previous band: ", out->message))) {
        out->status = ANALYSIS_INVALID_INPUT;
        return out->status;
    }

    struct ctx c;
    memset(&c, 0, sizeof c);
    c.e = e;
    metrics_of(e, &c.m);
    if (e->previous) {
        c.has_prev = true;
        metrics_of(e->previous, &c.prev);
    }
    c.server_part = c.m.latency ? c.m.latency_share : 1.0;
    c.host_sat = host_saturation(&c.m);
    out->metrics = c.m;

    if (!any_evidence(&c.m)) {
        out->status = ANALYSIS_NO_DATA;
        set_message(out->message, "no evidence: nothing was observed");
        add_reason(out, "nothing was observed, so nothing can be named");
        return out->status;
    }

    double *s = out->score;
    s[ANALYSIS_BOTTLENECK_CONNECTION_POOL] = score_pool(&c);
    s[ANALYSIS_BOTTLENECK_LOCK_CONTENTION] = score_lock(&c);
    s[ANALYSIS_BOTTLENECK_IO] = score_io(&c);
    s[ANALYSIS_BOTTLENECK_MEMORY] = score_memory(&c);
    s[ANALYSIS_BOTTLENECK_CPU] = score_cpu(&c);
    s[ANALYSIS_BOTTLENECK_OVER_PROVISIONED] = score_over(&c);
    s[ANALYSIS_BOTTLENECK_NETWORK] = score_network(&c);
    s[ANALYSIS_BOTTLENECK_CLIENT] = score_client(&c);
    for (int t = 0; t < ANALYSIS_BOTTLENECK_COUNT; t++)
        s[t] = clamp01(finite_or(s[t], 0.0));

    /* Ranking: strictly greater wins, so ties go to the earlier type. */
    int order[ANALYSIS_BOTTLENECK_COUNT - 1];
    int n = 0;
    for (int t = 1; t < ANALYSIS_BOTTLENECK_COUNT; t++) {
        int j = n++;
        while (j > 0 && s[t] > s[order[j - 1]]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = t;
    }
    double s1 = s[order[0]], s2 = s[order[1]];
    out->runner_up = s2 > 0.0 ? (enum analysis_bottleneck_type)order[1] : ANALYSIS_BOTTLENECK_NONE;
    if (s1 >= ANALYSIS_BOTTLENECK_MIN_SCORE) {
        out->type = (enum analysis_bottleneck_type)order[0];
        out->confidence = clamp01(s1 - s2);
        set_message(out->message, "%s (score %.2f, next %s %.2f)", analysis_bottleneck_type_name(out->type), s1,
                    analysis_bottleneck_type_name((enum analysis_bottleneck_type)order[1]), s2);
    } else {
        out->type = ANALYSIS_BOTTLENECK_NONE;
        out->runner_up = s1 > 0.0 ? (enum analysis_bottleneck_type)order[0] : ANALYSIS_BOTTLENECK_NONE;
        out->confidence = clamp01(coverage(&c.m) * (1.0 - s1 / ANALYSIS_BOTTLENECK_MIN_SCORE));
        set_message(out->message, "no bottleneck stands out (highest score %s %.2f < %.2f)",
                    analysis_bottleneck_type_name((enum analysis_bottleneck_type)order[0]), s1,
                    ANALYSIS_BOTTLENECK_MIN_SCORE);
        add_reason(out, "no resource stands out: the highest score is %s at %.2f, below %.2f",
                   analysis_bottleneck_type_name((enum analysis_bottleneck_type)order[0]), s1,
                   ANALYSIS_BOTTLENECK_MIN_SCORE);
    }

    /* Reasons for every type that reached the minimum, best first (for none,
     * the leading one if it scored at all); advice for the named type and
     * for any other scoring 0.5 or more. */
    for (int i = 0; i < ANALYSIS_BOTTLENECK_COUNT - 1; i++) {
        int t = order[i];
        bool named = s[t] >= ANALYSIS_BOTTLENECK_MIN_SCORE || (i == 0 && s[t] > 0.0);
        if (!named)
            break;
        bool advise = (t == (int)out->type && out->type != ANALYSIS_BOTTLENECK_NONE) || s[t] >= 0.5;
        explainers[t](&c, out, advise);
    }
    out->status = ANALYSIS_OK;
    return out->status;
}
