/*
 * Bottleneck classification on synthetic evidence: each type from the
 * evidence that defines it (and not from a neighbour's), the confidence
 * formula, an exact tie (precedence order, confidence 0), empty evidence
 * (none, no_data, confidence 0), invalid input, merging bands, and random
 * evidence that must never produce a NaN, an Inf or a score outside [0, 1].
 * The Lua side (stormdb.analysis.bottleneck, stormdb.observe) is
 * test_lua_bottleneck.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "analysis/bottleneck.h"

#define assert_near(actual, expected, tol)                                                            \
    do {                                                                                              \
        double a_ = (actual), e_ = (expected);                                                        \
        if (!(fabs(a_ - e_) <= (tol))) {                                                              \
            print_error("%s = %.15g, expected %.15g (tol %g)\n", #actual, a_, e_, (double)(tol));    \
            fail();                                                                                   \
        }                                                                                             \
    } while (0)

#define assert_type(b, t)                                                                              \
    do {                                                                                               \
        if ((b)->type != (t)) {                                                                        \
            print_error("type %s, expected %s (%s)\n", analysis_bottleneck_type_name((b)->type),     \
                        analysis_bottleneck_type_name(t), (b)->message);                               \
            fail();                                                                                    \
        }                                                                                              \
    } while (0)

/* A healthy closed-loop band: 8 workers on 8 connections, 1000 TPS at 8 ms,
 * 100 sampling rounds with backends mostly idle between statements, a warm
 * cache, a quiet host and client. Each test adds the evidence of one cause. */
static void healthy(struct analysis_bottleneck_evidence *e)
{
    analysis_bottleneck_evidence_init(e);
    e->workers = 8;
    e->connections = 8;
    e->threads = 4;
    e->cores = 4;
    e->seconds = 10;
    e->tps = 1000;
    e->qps = 1000;
    e->latency_ms = 8;
    e->rounds = 100;
    e->backends = 800;
    e->active = 200;
    e->wait[ANALYSIS_WAIT_CPU] = 200;
    e->has_database = true;
    e->blks_hit = 1e6;
    e->blks_read = 10;
    e->xact_commit = 10000;
    e->has_host = true;
    e->host_cpu_busy = 0.3;
    e->host_iowait = 0.01;
    e->mem_available = 0.6;
    e->context_switches = 50000;
    e->has_client = true;
    e->client_cpu = 0.05;
    e->rtt_ms = 0.05;
    e->shared_buffers_bytes = 128.0 * 1024 * 1024;
    e->work_mem_bytes = 4.0 * 1024 * 1024;
}

static void add_event(struct analysis_bottleneck_evidence *e, const char *name, double samples)
{
    snprintf(e->events[e->nevents].name, sizeof e->events[0].name, "%s", name);
    e->events[e->nevents++].samples = samples;
}

static bool mentions(const struct analysis_bottleneck *b, const char *text)
{
    for (size_t i = 0; i < b->nreasons; i++)
        if (strstr(b->reasons[i], text))
            return true;
    for (size_t i = 0; i < b->nadvice; i++)
        if (strstr(b->advice[i].suggestion, text) || strcmp(b->advice[i].action, text) == 0)
            return true;
    return false;
}

static void assert_sane(const struct analysis_bottleneck *b)
{
    assert_true(isfinite(b->confidence) && b->confidence >= 0.0 && b->confidence <= 1.0);
    for (int t = 0; t < ANALYSIS_BOTTLENECK_COUNT; t++)
        assert_true(isfinite(b->score[t]) && b->score[t] >= 0.0 && b->score[t] <= 1.0);
    assert_near(b->score[ANALYSIS_BOTTLENECK_NONE], 0.0, 0.0);
    const struct analysis_bottleneck_metrics *m = &b->metrics;
    const double figures[] = {m->active_share, m->client_wait_share, m->avg_active, m->hit_ratio, m->reads_per_tx,
                              m->temp_files_per_tx, m->temp_bytes_per_s, m->host_cpu_busy, m->host_iowait,
                              m->host_steal, m->mem_available, m->context_switches_per_tx, m->client_cpu,
                              m->client_saturation, m->latency_share, m->pool_wait_share, m->pool_wait_ratio,
                              m->p_wait, m->littles_ratio, m->rtt_ms, m->statements_per_tx, m->rtt_share};
    for (size_t i = 0; i < sizeof figures / sizeof figures[0]; i++)
        assert_true(isfinite(figures[i]) && figures[i] >= 0.0);
    for (int c = 0; c < ANALYSIS_WAIT_COUNT; c++)
        assert_true(isfinite(m->share[c]) && m->share[c] >= 0.0 && m->share[c] <= 1.0);
    assert_true(b->message[0] != '\0');
    assert_true(b->nreasons <= ANALYSIS_BOTTLENECK_MAX_REASONS && b->nadvice <= ANALYSIS_BOTTLENECK_MAX_ADVICE);
    for (size_t i = 0; i < b->nreasons; i++) {
        assert_null(strstr(b->reasons[i], "nan"));
        assert_null(strstr(b->reasons[i], "inf"));
    }
    for (size_t i = 0; i < b->nadvice; i++) {
        assert_null(strstr(b->advice[i].suggestion, "nan"));
        assert_null(strstr(b->advice[i].suggestion, " inf"));
    }
}

static void classify(const struct analysis_bottleneck_evidence *e, struct analysis_bottleneck *b)
{
    assert_int_equal(analysis_bottleneck_classify(e, b), ANALYSIS_OK);
    assert_sane(b);
}

/* Confidence is the lead over the runner-up. */
static void assert_confidence_is_lead(const struct analysis_bottleneck *b)
{
    double s1 = 0.0, s2 = 0.0;
    for (int t = 1; t < ANALYSIS_BOTTLENECK_COUNT; t++) {
        if (b->score[t] > s1) {
            s2 = s1;
            s1 = b->score[t];
        } else if (b->score[t] > s2) {
            s2 = b->score[t];
        }
    }
    assert_near(b->confidence, s1 - s2, 1e-12);
    assert_near(b->score[b->type], s1, 0.0);
}

static void healthy_band_is_none(void **state)
{
    (void)state;
    struct analysis_bottleneck_evidence e;
    struct analysis_bottleneck b;
    healthy(&e);
    classify(&e, &b);
    assert_type(&b, ANALYSIS_BOTTLENECK_NONE);
    /* none with every group measured: confidence 1 - s1 / 0.3, all six groups */
    double s1 = 0.0;
    for (int t = 1; t < ANALYSIS_BOTTLENECK_COUNT; t++)
        s1 = fmax(s1, b.score[t]);
    assert_true(s1 < ANALYSIS_BOTTLENECK_MIN_SCORE);
    assert_near(b.confidence, 1.0 - s1 / ANALYSIS_BOTTLENECK_MIN_SCORE, 1e-12);
    assert_true(b.confidence > 0.5);
    assert_int_equal(b.nadvice, 0);
    assert_true(b.nreasons >= 1);
}

static void cpu_bound(void **state)
{
    (void)state;
    struct analysis_bottleneck_evidence e;
    struct analysis_bottleneck b;
    healthy(&e);
    e.workers = e.connections = 32;
    e.latency_ms = 32;
    e.backends = 3200;
    e.active = 2900;
    e.wait[ANALYSIS_WAIT_CPU] = 2800;
    e.wait[ANALYSIS_WAIT_LWLOCK] = 100;
    e.host_cpu_busy = 0.98;
    e.client_cpu = 0.1;
    classify(&e, &b);
    assert_type(&b, ANALYSIS_BOTTLENECK_CPU);
    assert_confidence_is_lead(&b);
    assert_true(b.confidence > 0.8);
    assert_true(mentions(&b, "reduce_cpu"));
    assert_true(mentions(&b, "host CPU 98% busy"));

    /* Short statements on saturated CPUs: backends read as idle between
     * statements (waiting for a core reads as waiting for the client), so
     * there are few active samples; the host's figures carry it. */
    healthy(&e);
    e.active = 3;
    e.wait[ANALYSIS_WAIT_CPU] = 3;
    e.host_cpu_busy = 0.99;
    e.client_cpu = 0.12;
    classify(&e, &b);
    assert_type(&b, ANALYSIS_BOTTLENECK_CPU);
    assert_true(b.confidence > 0.9);

    /* ... unless the load generator itself takes most of the busy CPU. */
    e.client_cpu = 0.85;
    classify(&e, &b);
    assert_near(b.score[ANALYSIS_BOTTLENECK_CPU], 0.0, 0.0);
    assert_type(&b, ANALYSIS_BOTTLENECK_CLIENT);

    /* The same backends on an idle host are not CPU bound: the host's
     * figures decide when they are known. */
    healthy(&e);
    e.workers = e.connections = 32;
    e.latency_ms = 32;
    e.backends = 3200;
    e.active = 2900;
    e.wait[ANALYSIS_WAIT_CPU] = 2800;
    e.wait[ANALYSIS_WAIT_LWLOCK] = 100;
    e.host_cpu_busy = 0.4;
    classify(&e, &b);
    assert_true(b.score[ANALYSIS_BOTTLENECK_CPU] < 0.01);

    /* Without host figures, busy backends with no wait still point at CPU,
     * more weakly (0.8 x active share). */
    e.has_host = false;
    classify(&e, &b);
    assert_type(&b, ANALYSIS_BOTTLENECK_CPU);
    assert_true(b.score[ANALYSIS_BOTTLENECK_CPU] < 0.8);
    assert_true(mentions(&b, "not observed"));
}

static void io_bound(void **state)
{
    (void)state;
    struct analysis_bottleneck_evidence e;
    struct analysis_bottleneck b;
    healthy(&e);
    e.active = 700;
    e.wait[ANALYSIS_WAIT_CPU] = 100;
    e.wait[ANALYSIS_WAIT_IO] = 600;
    add_event(&e, "IO:DataFileRead", 580);
    add_event(&e, "IO:WALWrite", 20);
    e.blks_hit = 80000;
    e.blks_read = 20000;
    e.host_iowait = 0.3;
    e.effective_io_concurrency = 1;
    classify(&e, &b);
    assert_type(&b, ANALYSIS_BOTTLENECK_IO);
    assert_confidence_is_lead(&b);
    assert_true(mentions(&b, "IO:DataFileRead"));
    assert_true(mentions(&b, "reduce_reads"));
    assert_true(mentions(&b, "shared_buffers (now 128MB)"));
    assert_true(mentions(&b, "effective_io_concurrency"));

    /* WAL waits get WAL advice. */
    e.nevents = 0;
    add_event(&e, "IO:WALSync", 590);
    classify(&e, &b);
    assert_type(&b, ANALYSIS_BOTTLENECK_IO);
    assert_true(mentions(&b, "wal_io"));
}

static void lock_contention(void **state)
{
    (void)state;
    struct analysis_bottleneck_evidence e;
    struct analysis_bottleneck b;
    healthy(&e);
    e.active = 760;
    e.wait[ANALYSIS_WAIT_CPU] = 60;
    e.wait[ANALYSIS_WAIT_LOCK] = 680;
    e.wait[ANALYSIS_WAIT_LWLOCK] = 20;
    add_event(&e, "Lock:transactionid", 600);
    add_event(&e, "Lock:tuple", 80);
    add_event(&e, "LWLock:WALWrite", 20);
    e.deadlocks = 2;
    classify(&e, &b);
    assert_type(&b, ANALYSIS_BOTTLENECK_LOCK_CONTENTION);
    assert_confidence_is_lead(&b);
    assert_true(b.confidence > 0.8);
    /* the top wait events are named, with their shares of active samples */
    assert_true(mentions(&b, "Lock:transactionid 78%"));
    assert_true(mentions(&b, "Lock:tuple"));
    assert_true(mentions(&b, "deadlocks"));
    assert_true(mentions(&b, "reduce_lock_contention"));
    assert_true(mentions(&b, "same rows"));

    /* LWLock waits alone are contention too, outside the degradation region. */
    memset(e.wait, 0, sizeof e.wait);
    e.wait[ANALYSIS_WAIT_CPU] = 100;
    e.wait[ANALYSIS_WAIT_LWLOCK] = 660;
    e.nevents = 0;
    add_event(&e, "LWLock:BufferContent", 640);
    classify(&e, &b);
    assert_type(&b, ANALYSIS_BOTTLENECK_LOCK_CONTENTION);
    assert_true(mentions(&b, "hot pages"));
}

static void connection_pool(void **state)
{
    (void)state;
    struct analysis_bottleneck_evidence e;
    struct analysis_bottleneck b;
    healthy(&e);
    e.workers = 64;
    e.connections = 2;
    e.tps = 2000;
    e.qps = 2000;
    e.latency_ms = 1.0;
    e.pool_wait_ms = 31.0;   /* 64 / 2000 s = 32 ms cycle: all of it waiting or in the transaction */
    e.backends = 200;
    e.active = 120;
    e.wait[ANALYSIS_WAIT_CPU] = 120;
    e.host_cpu_busy = 0.7;
    classify(&e, &b);
    assert_type(&b, ANALYSIS_BOTTLENECK_CONNECTION_POOL);
    assert_confidence_is_lead(&b);
    assert_true(b.metrics.pool_unstable);
    assert_near(b.metrics.pool_wait_share, 31.0 / 32.0, 1e-12);
    assert_true(mentions(&b, "raise_connections"));
    /* no time outside transactions: every worker wants a connection, so
     * the suggestion is one per worker */
    assert_true(mentions(&b, "at 64 workers / 2 connections: raise connections to about 64,"));
    assert_true(mentions(&b, "31.0x the transaction latency"));

    /* With a USL peak at 20 workers, no more than 20 connections. */
    e.peak_workers = 20;
    classify(&e, &b);
    assert_true(mentions(&b, "raise connections to about 20 (the USL peak N*)"));

    /* 40 workers on 20 connections, pool wait 60% of latency, server idle. */
    healthy(&e);
    e.workers = 40;
    e.connections = 20;
    e.tps = 2000;
    e.latency_ms = 10;
    e.pool_wait_ms = 6;   /* cycle 20 ms: 4 ms outside transactions */
    e.active = 300;
    e.wait[ANALYSIS_WAIT_CPU] = 300;
    classify(&e, &b);
    assert_type(&b, ANALYSIS_BOTTLENECK_CONNECTION_POOL);
    assert_true(mentions(&b, "60% of the transaction latency"));
    assert_true(mentions(&b, "at 40 workers / 20 connections"));

    /* Workers no more than connections: no pool score at all. */
    e.workers = 20;
    classify(&e, &b);
    assert_near(b.score[ANALYSIS_BOTTLENECK_CONNECTION_POOL], 0.0, 0.0);
}

static void memory_bound(void **state)
{
    (void)state;
    struct analysis_bottleneck_evidence e, prev;
    struct analysis_bottleneck b;

    /* Temp-file spills: a sort in every other transaction. */
    healthy(&e);
    e.temp_files = 5000;
    e.temp_bytes = 5000.0 * 8 * 1024 * 1024;
    classify(&e, &b);
    assert_type(&b, ANALYSIS_BOTTLENECK_MEMORY);
    assert_true(mentions(&b, "work_mem"));
    assert_true(mentions(&b, "from 4MB"));

    /* The working set outgrows shared_buffers: the hit ratio falls from the
     * band before while reads per transaction rise; reads come from the page
     * cache (few IO waits). */
    healthy(&prev);
    prev.workers = prev.connections = 4;
    healthy(&e);
    e.blks_hit = 900000;
    e.blks_read = 100000;
    e.active = 300;
    e.wait[ANALYSIS_WAIT_CPU] = 280;
    e.wait[ANALYSIS_WAIT_IO] = 20;
    e.previous = &prev;
    classify(&e, &b);
    assert_type(&b, ANALYSIS_BOTTLENECK_MEMORY);
    assert_near(b.score[ANALYSIS_BOTTLENECK_MEMORY], 1.0, 1e-12);
    assert_true(mentions(&b, "shared_buffers"));
    assert_true(mentions(&b, "in the band before"));

    /* The same misses without a falling trend score lower (0.5 against 1). */
    prev.blks_hit = 900000;
    prev.blks_read = 100000;
    classify(&e, &b);
    assert_near(b.score[ANALYSIS_BOTTLENECK_MEMORY], 0.5, 1e-12);

    /* Host memory pressure. */
    healthy(&e);
    e.mem_available = 0.03;
    classify(&e, &b);
    assert_type(&b, ANALYSIS_BOTTLENECK_MEMORY);
    assert_true(mentions(&b, "host_memory"));
}

static void network_bound(void **state)
{
    (void)state;
    struct analysis_bottleneck_evidence e;
    struct analysis_bottleneck b;
    healthy(&e);
    /* A remote server: 1.5 ms round trips, 3 statements per transaction,
     * 5 ms latency; backends idle waiting for the next statement. */
    e.has_host = false;
    e.tps = 1600;
    e.qps = 4800;
    e.latency_ms = 5.0;
    e.rtt_ms = 1.5;
    e.backends = 800;
    e.active = 60;
    e.wait[ANALYSIS_WAIT_CPU] = 50;
    e.wait[ANALYSIS_WAIT_CLIENT] = 10;
    add_event(&e, "Client:ClientWrite", 10);
    classify(&e, &b);
    assert_type(&b, ANALYSIS_BOTTLENECK_NETWORK);
    assert_confidence_is_lead(&b);
    assert_near(b.metrics.statements_per_tx, 3.0, 1e-12);
    assert_near(b.metrics.rtt_share, 0.9, 1e-12);
    assert_true(mentions(&b, "reduce_round_trips"));
    assert_true(mentions(&b, "1.5 ms round trip"));

    /* The same round trips on a saturated host are CPU queueing, not the
     * network: the network score needs idle CPUs. */
    e.has_host = true;
    e.host_cpu_busy = 0.95;
    classify(&e, &b);
    assert_near(b.score[ANALYSIS_BOTTLENECK_NETWORK], 0.0, 0.0);
}

static void client_bound(void **state)
{
    (void)state;
    struct analysis_bottleneck_evidence e;
    struct analysis_bottleneck b;
    healthy(&e);
    /* 2 engine threads on 4 cores, both busy: 2 of 4 cores = 0.5 of the
     * machine = 100% of the threads. Backends mostly idle. */
    e.threads = 2;
    e.client_cpu = 0.49;
    e.host_cpu_busy = 0.6;
    classify(&e, &b);
    assert_type(&b, ANALYSIS_BOTTLENECK_CLIENT);
    assert_confidence_is_lead(&b);
    assert_near(b.metrics.client_saturation, 0.98, 1e-12);
    assert_true(mentions(&b, "--threads 4"));

    /* The same CPU use spread over 4 threads is half of their capacity. */
    e.threads = 4;
    classify(&e, &b);
    assert_type(&b, ANALYSIS_BOTTLENECK_NONE);
}

static void over_provisioned(void **state)
{
    (void)state;
    struct analysis_bottleneck_evidence e, prev;
    struct analysis_bottleneck b;
    healthy(&prev);
    prev.workers = prev.connections = 32;
    prev.active = 600;
    prev.wait[ANALYSIS_WAIT_CPU] = 570;
    prev.wait[ANALYSIS_WAIT_LWLOCK] = 30;
    healthy(&e);
    e.workers = e.connections = 128;
    e.region = ANALYSIS_REGION_DEGRADATION;
    e.peak_workers = 40;
    e.backends = 12800;
    e.active = 9000;
    e.wait[ANALYSIS_WAIT_CPU] = 5500;
    e.wait[ANALYSIS_WAIT_LWLOCK] = 3000;
    e.wait[ANALYSIS_WAIT_IPC] = 500;
    add_event(&e, "LWLock:ProcArray", 2000);
    add_event(&e, "LWLock:LockManager", 1000);
    add_event(&e, "IPC:ProcArrayGroupUpdate", 500);
    e.host_cpu_busy = 0.5;
    e.previous = &prev;
    classify(&e, &b);
    assert_type(&b, ANALYSIS_BOTTLENECK_OVER_PROVISIONED);
    /* in the degradation region LWLock waits count here, not as lock contention */
    assert_near(b.score[ANALYSIS_BOTTLENECK_LOCK_CONTENTION], 0.0, 0.0);
    assert_true(mentions(&b, "LWLock:ProcArray"));
    assert_true(mentions(&b, "against 5% in the band before"));
    assert_true(mentions(&b, "about 40, the USL peak"));

    /* Outside the degradation region the same waits are lock contention. */
    e.region = ANALYSIS_REGION_SATURATION;
    classify(&e, &b);
    assert_type(&b, ANALYSIS_BOTTLENECK_LOCK_CONTENTION);
    assert_near(b.score[ANALYSIS_BOTTLENECK_OVER_PROVISIONED], 0.0, 0.0);

    /* Degradation with nothing else seen still scores 0.5. */
    healthy(&e);
    e.region = ANALYSIS_REGION_DEGRADATION;
    classify(&e, &b);
    assert_type(&b, ANALYSIS_BOTTLENECK_OVER_PROVISIONED);
    assert_near(b.score[ANALYSIS_BOTTLENECK_OVER_PROVISIONED], 0.5, 1e-12);
}

/* Every type leads when its evidence is present: the server-side scores are
 * scaled by the latency share, so the same waits behind a long pool wait
 * explain little of the response time. */
static void pool_wait_discounts_server_causes(void **state)
{
    (void)state;
    struct analysis_bottleneck_evidence e;
    struct analysis_bottleneck b;
    healthy(&e);
    e.wait[ANALYSIS_WAIT_CPU] = 20;
    e.wait[ANALYSIS_WAIT_LOCK] = 180;
    classify(&e, &b);
    double alone = b.score[ANALYSIS_BOTTLENECK_LOCK_CONTENTION];
    e.workers = 32;
    e.pool_wait_ms = 24;   /* latency share 8 / 32 */
    classify(&e, &b);
    assert_near(b.score[ANALYSIS_BOTTLENECK_LOCK_CONTENTION], alone * 0.25, 1e-12);
}

/* Two scores exactly equal: the type first in precedence order wins and the
 * confidence is 0. Temp spills (memory 1.0) against the degradation region
 * with heavy LWLock waits (over_provisioned 1.0). */
static void exact_tie(void **state)
{
    (void)state;
    struct analysis_bottleneck_evidence e;
    struct analysis_bottleneck b;
    healthy(&e);
    e.region = ANALYSIS_REGION_DEGRADATION;
    e.temp_files = 5000;
    e.active = 600;
    e.wait[ANALYSIS_WAIT_CPU] = 200;
    e.wait[ANALYSIS_WAIT_LWLOCK] = 400;
    classify(&e, &b);
    assert_near(b.score[ANALYSIS_BOTTLENECK_MEMORY], 1.0, 0.0);
    assert_near(b.score[ANALYSIS_BOTTLENECK_OVER_PROVISIONED], 1.0, 0.0);
    assert_type(&b, ANALYSIS_BOTTLENECK_MEMORY);
    assert_int_equal(b.runner_up, ANALYSIS_BOTTLENECK_OVER_PROVISIONED);
    assert_near(b.confidence, 0.0, 0.0);
    /* both are explained and advised */
    assert_true(mentions(&b, "work_mem"));
    assert_true(mentions(&b, "reduce_workers"));
}

/* Close scores: a named type, with a confidence near 0. */
static void near_tie_low_confidence(void **state)
{
    (void)state;
    struct analysis_bottleneck_evidence e;
    struct analysis_bottleneck b;
    healthy(&e);
    e.active = 700;
    e.wait[ANALYSIS_WAIT_CPU] = 100;
    e.wait[ANALYSIS_WAIT_LOCK] = 300;
    e.wait[ANALYSIS_WAIT_IO] = 300;
    e.host_iowait = 0.3;
    classify(&e, &b);
    assert_true(b.type == ANALYSIS_BOTTLENECK_LOCK_CONTENTION || b.type == ANALYSIS_BOTTLENECK_IO);
    assert_true(b.confidence < 0.01);
    assert_confidence_is_lead(&b);
}

static void empty_evidence(void **state)
{
    (void)state;
    struct analysis_bottleneck_evidence e;
    struct analysis_bottleneck b;
    analysis_bottleneck_evidence_init(&e);
    assert_int_equal(analysis_bottleneck_classify(&e, &b), ANALYSIS_NO_DATA);
    assert_type(&b, ANALYSIS_BOTTLENECK_NONE);
    assert_near(b.confidence, 0.0, 0.0);
    assert_sane(&b);
    assert_true(b.nreasons == 1);

    /* Configuration alone is no evidence either. */
    e.workers = 8;
    e.connections = 8;
    assert_int_equal(analysis_bottleneck_classify(&e, &b), ANALYSIS_NO_DATA);

    /* One group measured and nothing in it: none, with the confidence scaled
     * by the evidence measured (1 of 6 groups). */
    e.rounds = 10;
    e.backends = 80;
    assert_int_equal(analysis_bottleneck_classify(&e, &b), ANALYSIS_OK);
    assert_type(&b, ANALYSIS_BOTTLENECK_NONE);
    assert_near(b.confidence, 1.0 / 6.0, 1e-12);
}

static void invalid_input(void **state)
{
    (void)state;
    struct analysis_bottleneck_evidence e, prev;
    struct analysis_bottleneck b;
    healthy(&e);
    e.tps = NAN;
    assert_int_equal(analysis_bottleneck_classify(&e, &b), ANALYSIS_INVALID_INPUT);
    assert_type(&b, ANALYSIS_BOTTLENECK_NONE);
    assert_near(b.confidence, 0.0, 0.0);
    assert_non_null(strstr(b.message, "tps"));
    healthy(&e);
    e.host_cpu_busy = 1.5;
    assert_int_equal(analysis_bottleneck_classify(&e, &b), ANALYSIS_INVALID_INPUT);
    assert_non_null(strstr(b.message, "host_cpu_busy"));
    healthy(&e);
    e.wait[ANALYSIS_WAIT_LOCK] = -1;
    assert_int_equal(analysis_bottleneck_classify(&e, &b), ANALYSIS_INVALID_INPUT);
    healthy(&e);
    healthy(&prev);
    prev.blks_read = INFINITY;
    e.previous = &prev;
    assert_int_equal(analysis_bottleneck_classify(&e, &b), ANALYSIS_INVALID_INPUT);
    assert_non_null(strstr(b.message, "previous band: blks_read"));
}

static void wait_classes(void **state)
{
    (void)state;
    assert_int_equal(analysis_wait_class_of(NULL), ANALYSIS_WAIT_CPU);
    assert_int_equal(analysis_wait_class_of(""), ANALYSIS_WAIT_CPU);
    assert_int_equal(analysis_wait_class_of("IO"), ANALYSIS_WAIT_IO);
    assert_int_equal(analysis_wait_class_of("Lock"), ANALYSIS_WAIT_LOCK);
    assert_int_equal(analysis_wait_class_of("BufferPin"), ANALYSIS_WAIT_LOCK);
    assert_int_equal(analysis_wait_class_of("LWLock"), ANALYSIS_WAIT_LWLOCK);
    assert_int_equal(analysis_wait_class_of("IPC"), ANALYSIS_WAIT_IPC);
    assert_int_equal(analysis_wait_class_of("Client"), ANALYSIS_WAIT_CLIENT);
    assert_int_equal(analysis_wait_class_of("Timeout"), ANALYSIS_WAIT_OTHER);
    assert_int_equal(analysis_wait_class_of("InjectionPoint"), ANALYSIS_WAIT_OTHER);
    assert_string_equal(analysis_wait_class_name(ANALYSIS_WAIT_LWLOCK), "lwlock");
    assert_string_equal(analysis_bottleneck_type_name(ANALYSIS_BOTTLENECK_CONNECTION_POOL), "connection_pool");
    assert_string_equal(analysis_bottleneck_type_name(ANALYSIS_BOTTLENECK_COUNT), "none");
}

static void merge_bands(void **state)
{
    (void)state;
    struct analysis_bottleneck_evidence in[2], out;
    healthy(&in[0]);
    healthy(&in[1]);
    in[0].region = ANALYSIS_REGION_SATURATION;
    in[1].region = ANALYSIS_REGION_DEGRADATION;
    in[1].workers = in[1].connections = 16;
    in[1].seconds = 30;
    in[1].tps = 2000;
    in[1].latency_ms = 4;
    in[1].host_cpu_busy = 0.7;
    in[1].has_client = false;
    in[1].mem_available = 0.2;
    add_event(&in[0], "Lock:tuple", 10);
    add_event(&in[0], "LWLock:WALWrite", 5);
    add_event(&in[1], "LWLock:WALWrite", 20);
    analysis_bottleneck_merge(in, 2, &out);
    assert_int_equal(out.workers, 16);
    assert_int_equal(out.region, ANALYSIS_REGION_DEGRADATION);
    assert_near(out.seconds, 40, 0.0);
    assert_near(out.backends, 1600, 0.0);
    assert_near(out.blks_hit, 2e6, 0.0);
    /* rates by seconds, latency by transactions (10000 at 8 ms, 60000 at 4 ms) */
    assert_near(out.tps, (1000.0 * 10 + 2000.0 * 30) / 40, 1e-9);
    assert_near(out.latency_ms, (8.0 * 10000 + 4.0 * 60000) / 70000, 1e-12);
    assert_near(out.host_cpu_busy, (0.3 * 10 + 0.7 * 30) / 40, 1e-12);
    assert_near(out.mem_available, 0.2, 0.0);
    assert_true(out.has_client);
    assert_near(out.client_cpu, 0.05, 1e-12);
    assert_int_equal(out.nevents, 2);
    assert_string_equal(out.events[0].name, "LWLock:WALWrite");
    assert_near(out.events[0].samples, 25, 0.0);
    struct analysis_bottleneck b;
    classify(&out, &b);

    analysis_bottleneck_merge(in, 0, &out);
    assert_int_equal(analysis_bottleneck_classify(&out, &b), ANALYSIS_NO_DATA);
}

/* Random evidence, zeros and extremes included: never NaN or Inf, scores in
 * [0, 1], the confidence formula holds. */
static void random_evidence_is_finite(void **state)
{
    (void)state;
    srand(7);
    for (int i = 0; i < 20000; i++) {
        struct analysis_bottleneck_evidence e, prev;
        struct analysis_bottleneck b;
#define R(scale) ((rand() % 4 == 0) ? 0.0 : (double)rand() / RAND_MAX * (scale))
#define F() ((rand() % 8 == 0) ? (rand() % 2 ? 1.0 : 0.0) : (double)rand() / RAND_MAX)
        struct analysis_bottleneck_evidence *both[2] = {&e, &prev};
        for (int k = 0; k < 2; k++) {
            struct analysis_bottleneck_evidence *x = both[k];
            analysis_bottleneck_evidence_init(x);
            x->workers = rand() % 200;
            x->connections = rand() % 100;
            x->threads = rand() % 8;
            x->cores = rand() % 8;
            x->seconds = R(100);
            x->tps = R(1e6);
            x->qps = R(1e7);
            x->latency_ms = R(1e3);
            x->pool_wait_ms = R(1e4);
            x->peak_workers = R(500);
            x->rtt_ms = R(10);
            x->region = (enum analysis_region)(rand() % ANALYSIS_REGION_COUNT);
            x->rounds = R(1e4);
            x->backends = R(1e6);
            x->active = R(1e6);
            for (int c = 0; c < ANALYSIS_WAIT_COUNT; c++)
                x->wait[c] = R(1e5);
            if (rand() % 2)
                add_event(x, "Lock:transactionid", R(1e5));
            x->has_database = rand() % 2;
            x->blks_read = R(1e9);
            x->blks_hit = R(1e9);
            x->temp_files = R(1e4);
            x->temp_bytes = R(1e12);
            x->xact_commit = R(1e7);
            x->has_host = rand() % 2;
            x->host_cpu_busy = F();
            x->host_iowait = F();
            x->mem_available = F();
            x->context_switches = R(1e9);
            x->has_client = rand() % 2;
            x->client_cpu = F();
        }
        e.previous = rand() % 2 ? &prev : NULL;
        enum analysis_status st = analysis_bottleneck_classify(&e, &b);
        assert_true(st == ANALYSIS_OK || st == ANALYSIS_NO_DATA);
        assert_sane(&b);
        if (b.type != ANALYSIS_BOTTLENECK_NONE)
            assert_confidence_is_lead(&b);
#undef R
#undef F
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(healthy_band_is_none),
        cmocka_unit_test(cpu_bound),
        cmocka_unit_test(io_bound),
        cmocka_unit_test(lock_contention),
        cmocka_unit_test(connection_pool),
        cmocka_unit_test(memory_bound),
        cmocka_unit_test(network_bound),
        cmocka_unit_test(client_bound),
        cmocka_unit_test(over_provisioned),
        cmocka_unit_test(pool_wait_discounts_server_causes),
        cmocka_unit_test(exact_tie),
        cmocka_unit_test(near_tie_low_confidence),
        cmocka_unit_test(empty_evidence),
        cmocka_unit_test(invalid_input),
        cmocka_unit_test(wait_classes),
        cmocka_unit_test(merge_bands),
        cmocka_unit_test(random_evidence_is_finite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
