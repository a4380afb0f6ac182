/*
 * The band timeline (see engine.h), run from the main thread: start the
 * engine threads, wait until all are ready, say go, print progress, stop
 * early on Ctrl-C, wait for the drain, merge the threads' figures, hold the
 * cooldown, and take everything down.
 */
#include "runtime/engine.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "runtime/clock.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/thread.h"

/* Signals are process-wide by nature: the handler can only reach a global. */
static volatile sig_atomic_t received_signal;
static int signal_fd = -1;

static void on_signal(int sig)
{
    if (!received_signal)
        received_signal = sig;
    uint64_t one = 1;
    ssize_t rc = write(signal_fd, &one, sizeof one);
    (void)rc;
}

void engine_install_signals(void)
{
    if (signal_fd < 0)
        signal_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int engine_interrupted(void) { return received_signal; }

/* --- the engine's own wait ---------------------------------------------------- */

struct engine {
    const struct engine_spec *spec;
    struct engine_shared shared;
    struct thread *threads;
    int nthreads;
    struct loop *loop;
    struct loop_watch notify_watch, signal_watch;
    bool running, measure_announced;
    uint64_t last_tick, next_sample;
};

static void drain_fd(struct loop_watch *w, uint32_t events)
{
    (void)events;
    uint64_t v;
    while (read(w->fd, &v, sizeof v) > 0)
        ;
}

static void wake_all(struct engine *e)
{
    uint64_t one = 1;
    for (int i = 0; i < e->nthreads; i++) {
        ssize_t rc = write(e->threads[i].wake_fd, &one, sizeof one);
        (void)rc;
    }
}

static int count_state(struct engine *e, int state)
{
    int n = 0;
    for (int i = 0; i < e->nthreads; i++)
        n += atomic_load(&e->threads[i].state) == state;
    return n;
}

static struct thread *failed_thread(struct engine *e)
{
    for (int i = 0; i < e->nthreads; i++)
        if (atomic_load(&e->threads[i].state) == THREAD_FAILED)
            return &e->threads[i];
    return NULL;
}

/* Splits n as evenly as possible: part i of k. */
static int share(int n, int k, int i) { return n / k + (i < n % k ? 1 : 0); }

static int start_threads(struct engine *e)
{
    const struct engine_spec *spec = e->spec;
    int first = 1;
    for (int i = 0; i < e->nthreads; i++) {
        struct thread *t = &e->threads[i];
        t->index = i;
        t->spec = spec;
        t->shared = &e->shared;
        t->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (spec->mode == ENGINE_BAND) {
            t->planned_workers = share(spec->workers, e->nthreads, i);
            t->planned_connections = share(spec->connections, e->nthreads, i);
        } else {
            t->planned_workers = 1;
            t->planned_connections = spec->connections > 0 ? spec->connections : 1;
        }
        t->first_worker_id = first;
        first += t->planned_workers;
        if (t->wake_fd < 0 || thread_start(t) != 0) {
            if (t->wake_fd >= 0)
                close(t->wake_fd);
            e->nthreads = i;
            return -1;
        }
    }
    return 0;
}

static void stop_threads(struct engine *e)
{
    atomic_store(&e->shared.quit, 1);
    wake_all(e);
    for (int i = 0; i < e->nthreads; i++) {
        thread_join(&e->threads[i]);
        close(e->threads[i].wake_fd);
    }
}

static void report_progress(struct engine *e, uint64_t now, uint64_t *last_tick)
{
    const struct engine_spec *spec = e->spec;
    struct interval iv;
    interval_reset(&iv);
    int up = 0;
    for (int i = 0; i < e->nthreads; i++) {
        struct thread *t = &e->threads[i];
        pthread_mutex_lock(&t->mailbox_lock);
        interval_merge(&iv, &t->mailbox);
        interval_reset(&t->mailbox);
        up += t->connections_up;
        pthread_mutex_unlock(&t->mailbox_lock);
    }
    uint64_t go = atomic_load(&e->shared.go_ns);
    uint64_t mstart = atomic_load(&e->shared.measure_start_ns);
    double secs = (double)(now - *last_tick) / 1e9;
    struct engine_progress p = {
        .phase = now < mstart ? "warmup" : "measure",
        .elapsed_s = (double)(now - go) / 1e9,
        .total_s = (double)(spec->warmup_ns + spec->duration_ns) / 1e9,
        .interval_s = secs,
        .transactions = iv.count,
        .errors = iv.errors,
        .tps = secs > 0 ? (double)iv.count / secs : 0,
        .p95_ms = (double)hist_percentile(&iv.latency, 95) / 1e6,
        .p99_ms = (double)hist_percentile(&iv.latency, 99) / 1e6,
        .late = iv.late,
        .skipped = iv.skipped,
        .lag_p99_ms = (double)hist_percentile(&iv.lag, 99) / 1e6,
        .connections_up = up,
    };
    *last_tick = now;
    if (spec->progress)
        spec->progress(spec->progress_ctx, &p);
}

static void collect(struct engine *e, struct engine_result *res)
{
    struct thread *t0 = &e->threads[0];
    res->ntx = t0->ntx;
    res->tx_names = calloc((size_t)(t0->ntx ? t0->ntx : 1), sizeof *res->tx_names);
    for (int i = 0; i < t0->ntx && res->tx_names; i++)
        res->tx_names[i] = strdup(t0->tx_names[i]);
    res->stats = stats_new(t0->ntx);
    for (int i = 0; i < e->nthreads && res->stats; i++) {
        if (e->threads[i].stats)
            stats_merge(res->stats, e->threads[i].stats);
    }
}

static void fail(struct engine_result *res, const char *fmt, const char *detail)
{
    res->status = ENGINE_FAILED;
    snprintf(res->error, sizeof res->error, fmt, detail);
}

/* While the band runs: the phase change to "measure", samples during the
 * measure phase, progress ticks. Returns how long the wait may last. */
static uint64_t run_callbacks(struct engine *e, uint64_t now, uint64_t wait)
{
    const struct engine_spec *spec = e->spec;
    uint64_t mstart = atomic_load(&e->shared.measure_start_ns);
    uint64_t mend = atomic_load(&e->shared.measure_end_ns);
    bool stopped = atomic_load(&e->shared.stop);
    if (!e->measure_announced && now >= mstart && spec->mode == ENGINE_BAND) {
        e->measure_announced = true;
        log_debug("engine: measure phase begins");
        e->next_sample = now;
        if (spec->phase)
            spec->phase(spec->progress_ctx, "measure");
    }
    if (spec->sample && spec->sample_ns && e->measure_announced && !stopped && now < mend) {
        if (now >= e->next_sample) {
            spec->sample(spec->progress_ctx);
            e->next_sample += spec->sample_ns;
            if (e->next_sample < now)
                e->next_sample = now + spec->sample_ns;
        }
        if (e->next_sample - now < wait)
            wait = e->next_sample - now;
    }
    if (spec->progress && spec->progress_ns) {
        uint64_t next = e->last_tick + spec->progress_ns;
        if (now >= next) {
            report_progress(e, now, &e->last_tick);
            next = e->last_tick + spec->progress_ns;
        }
        if (next > now && next - now < wait)
            wait = next - now;
    }
    if (!e->measure_announced && mstart > now && mstart - now < wait)
        wait = mstart - now;
    return wait;
}

/* Waits until done(e), a thread fails, the deadline passes or (when
 * stop_on_signal) a signal arrives. Ctrl-C while the band runs ends its
 * measure phase at once, keeping what was measured. */
static void wait_until(struct engine *e, int (*done)(struct engine *), uint64_t deadline, int stop_on_signal)
{
    while (!done(e) && !failed_thread(e)) {
        if (stop_on_signal && received_signal)
            return;
        uint64_t now = clock_now_ns();
        if (deadline && now >= deadline)
            return;
        uint64_t wait = 100 * NS_PER_MS;
        if (deadline && deadline - now < wait)
            wait = deadline - now;
        if (e->running)
            wait = run_callbacks(e, now, wait);
        loop_step(e->loop, wait);
        if (received_signal && !atomic_load(&e->shared.stop) && atomic_load(&e->shared.go_ns)) {
            uint64_t now2 = clock_now_ns();
            uint64_t end = atomic_load(&e->shared.measure_end_ns);
            if (now2 < end)
                atomic_store(&e->shared.measure_end_ns, now2);
            atomic_store(&e->shared.stop, 1);
            wake_all(e);
        }
    }
}

static int all_ready(struct engine *e) { return count_state(e, THREAD_READY) == e->nthreads; }
static int all_drained(struct engine *e) { return count_state(e, THREAD_DRAINED) == e->nthreads; }
static int never(struct engine *e) { (void)e; return 0; }

int engine_run(const struct engine_spec *spec, struct engine_result *res)
{
    memset(res, 0, sizeof *res);
    struct engine e = {.spec = spec};
    e.nthreads = 1;
    if (spec->mode == ENGINE_BAND) {
        int n = spec->threads > 0 ? spec->threads : 1;
        if (n > spec->workers)
            n = spec->workers;
        if (n > spec->connections)
            n = spec->connections; /* a thread without a connection could never run */
        e.nthreads = n > 0 ? n : 1;
    }
    res->threads = e.nthreads;
    e.threads = calloc((size_t)e.nthreads, sizeof *e.threads);
    e.loop = loop_new();
    e.shared.notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&e.shared.report_lock, NULL);
    if (!e.threads || !e.loop || e.shared.notify_fd < 0) {
        fail(res, "%s", "cannot start the engine: out of resources");
        goto out;
    }
    e.notify_watch.cb = drain_fd;
    loop_watch(e.loop, &e.notify_watch, e.shared.notify_fd, EPOLLIN);
    if (signal_fd >= 0) {
        e.signal_watch.cb = drain_fd;
        loop_watch(e.loop, &e.signal_watch, signal_fd, EPOLLIN);
    }

    if (start_threads(&e) != 0) {
        fail(res, "cannot start threads: %s", strerror(errno));
        stop_threads(&e);
        goto out;
    }
    wait_until(&e, all_ready, 0, 1);
    struct thread *bad = failed_thread(&e);
    if (bad || received_signal) {
        if (bad)
            fail(res, "%s", bad->error);
        else {
            res->status = ENGINE_INTERRUPTED;
            res->signal = received_signal;
        }
        stop_threads(&e);
        if (!bad)
            collect(&e, res);
        goto out;
    }

    uint64_t go = clock_now_ns();
    uint64_t mstart = go + spec->warmup_ns;
    atomic_store(&e.shared.measure_start_ns, mstart);
    atomic_store(&e.shared.measure_end_ns, spec->mode == ENGINE_BAND ? mstart + spec->duration_ns : UINT64_MAX);
    atomic_store(&e.shared.go_ns, go);
    wake_all(&e);
    log_debug("engine: go (%d threads); measure from +%.1fs", e.nthreads, (double)spec->warmup_ns / 1e9);

    e.last_tick = go;
    e.running = true;
    wait_until(&e, all_drained, 0, 0);
    e.running = false;
    bad = failed_thread(&e);
    if (bad) {
        fail(res, "%s", bad->error);
        atomic_store(&e.shared.stop, 1);
        stop_threads(&e);
        goto out;
    }
    uint64_t mend = atomic_load(&e.shared.measure_end_ns);
    res->measured_ns = mend > mstart && spec->mode == ENGINE_BAND ? mend - mstart : 0;
    if (atomic_load(&e.shared.stop)) {
        res->status = ENGINE_INTERRUPTED;
        res->signal = received_signal;
    }
    collect(&e, res);
    log_debug("engine: drained; %.3f s measured", (double)res->measured_ns / 1e9);
    if (spec->phase && spec->mode == ENGINE_BAND)
        spec->phase(spec->progress_ctx, "drained");
    if (res->status == ENGINE_OK && spec->mode == ENGINE_BAND && spec->cooldown_ns) {
        log_debug("engine: cooldown %.1fs", (double)spec->cooldown_ns / 1e9);
        wait_until(&e, never, clock_now_ns() + spec->cooldown_ns, 1);
    }
    stop_threads(&e);

out:
    for (int i = 0; i < e.nthreads; i++)
        thread_destroy(&e.threads[i]);
    free(e.threads);
    if (e.loop)
        loop_free(e.loop);
    if (e.shared.notify_fd >= 0)
        close(e.shared.notify_fd);
    for (int i = 0; i < e.shared.nreported; i++)
        free(e.shared.reported[i]);
    res->script_errors_reported = (uint64_t)e.shared.nreported;
    free(e.shared.reported);
    pthread_mutex_destroy(&e.shared.report_lock);
    return res->status == ENGINE_FAILED ? -1 : 0;
}

void engine_result_free(struct engine_result *res)
{
    for (int i = 0; i < res->ntx && res->tx_names; i++)
        free(res->tx_names[i]);
    free(res->tx_names);
    stats_free(res->stats);
    res->tx_names = NULL;
    res->stats = NULL;
}
