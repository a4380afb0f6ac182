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
#include <time.h>
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
    struct engine *next_abandoned;     /* kept alive for threads that never answered */
    struct engine_shared shared;
    struct thread *threads;
    int nthreads;
    struct loop *loop;
    struct loop_watch notify_watch, signal_watch;
    bool running, measure_announced;
    bool stuck;                        /* the watchdog gave up waiting for a thread */
    uint64_t stop_ns;                  /* when a signal stopped the band */
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

/* Threads that never answered (a script looping in code LuaJIT compiled,
 * where the Lua watchdog's hook is not called; see thread.c) are left
 * running, detached: the process can still report and exit. What they
 * point at (this engine, its eventfds) must then outlive engine_run, so
 * such an engine is kept here, reachable, for the rest of the process. */
static struct engine *abandoned_engines;

/* Grace a thread gets to answer quit once the engine has given up waiting
 * for it to drain (after Ctrl-C: within the 2 s a user waits). */
#define STUCK_GRACE_NS (300 * NS_PER_MS)
/* After a signal, how long threads get to drain (they allow in-flight
 * transactions 1 s, thread.c) before the watchdog gives up on them. */
#define STOP_ANSWER_NS (1100 * NS_PER_MS)

/* Sets quit and joins the threads; those that have not exited by
 * `deadline` (0: wait as long as it takes) are abandoned. Returns how many. */
static int stop_threads(struct engine *e, uint64_t deadline)
{
    atomic_store(&e->shared.quit, 1);
    wake_all(e);
    int abandoned = 0;
    for (int i = 0; i < e->nthreads; i++) {
        struct thread *t = &e->threads[i];
        if (deadline) {
            uint64_t now = clock_now_ns();
            uint64_t left = deadline > now ? deadline - now : 0;
            if (t->stuck && left > 10 * NS_PER_MS)
                left = 10 * NS_PER_MS; /* known stuck: no need to wait for it */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            uint64_t ns = (uint64_t)ts.tv_nsec + left;
            ts.tv_sec += (time_t)(ns / NS_PER_SEC);
            ts.tv_nsec = (long)(ns % NS_PER_SEC);
            if (pthread_timedjoin_np(t->tid, NULL, &ts) != 0) {
                log_error("engine: thread %d did not stop (a script running Lua that never yields?); "
                          "it is abandoned", i + 1);
                pthread_detach(t->tid);
                t->abandoned = true;
                abandoned++;
                continue;
            }
        } else {
            thread_join(t);
        }
        close(t->wake_fd);
    }
    return abandoned;
}

/* The deadline for stopping the threads: none in the ordinary course, a
 * short one once a signal came or a thread is known to be stuck. */
static uint64_t stop_deadline(bool hurry)
{
    return hurry ? clock_now_ns() + STUCK_GRACE_NS : 0;
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
        /* A thread that is still running (stuck) may be writing its stats. */
        int st = atomic_load(&e->threads[i].state);
        if (e->threads[i].stats && (st == THREAD_DRAINED || st == THREAD_EXITED || st == THREAD_READY))
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
 * measure phase at once, keeping what was measured. While the band runs, a
 * watchdog gives up on threads that should have drained long ago (stuck in
 * Lua that never yields): e->stuck is set and the wait ends. */
/* After a signal nobody wants to wait for a thread stuck in Lua: a thread
 * goes round its loop at least every 100 ms (thread.c), so one whose
 * heartbeat has stood still for STUCK_BEAT_NS is marked stuck at once.
 * True when every thread has drained or is stuck, and one is. */
#define STUCK_BEAT_NS (300 * NS_PER_MS)

static bool stuck_after_signal(struct engine *e, uint64_t now)
{
    int stuck = 0, waiting = 0;
    for (int i = 0; i < e->nthreads; i++) {
        struct thread *t = &e->threads[i];
        if (atomic_load(&t->state) != THREAD_RUNNING)
            continue;
        uint64_t beat = atomic_load_explicit(&t->heartbeat, memory_order_relaxed);
        if (beat != t->seen_beat || !t->seen_at) {
            t->seen_beat = beat;
            t->seen_at = now;
        }
        t->stuck = now - t->seen_at >= STUCK_BEAT_NS;
        stuck += t->stuck;
        waiting += !t->stuck;
    }
    return stuck > 0 && waiting == 0;
}

static void wait_until(struct engine *e, int (*done)(struct engine *), uint64_t deadline, int stop_on_signal)
{
    const struct engine_spec *spec = e->spec;
    while (!done(e) && !failed_thread(e)) {
        if (stop_on_signal && received_signal)
            return;
        uint64_t now = clock_now_ns();
        if (deadline && now >= deadline)
            return;
        if (e->running) {
            uint64_t wd = 0;
            if (e->stop_ns)
                wd = e->stop_ns + STOP_ANSWER_NS;
            else if (spec->mode == ENGINE_BAND)
                wd = atomic_load(&e->shared.measure_end_ns) + spec->drain_ns + NS_PER_SEC;
            if ((wd && now >= wd) || (e->stop_ns && stuck_after_signal(e, now))) {
                e->stuck = true;
                return;
            }
        }
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
            e->stop_ns = now2;
            wake_all(e);
        }
    }
}

static int all_ready(struct engine *e) { return count_state(e, THREAD_READY) == e->nthreads; }
static int all_drained(struct engine *e) { return count_state(e, THREAD_DRAINED) == e->nthreads; }
static int never(struct engine *e) { (void)e; return 0; }

/* The threads still running when the watchdog gave up, as "thread 1
 * (worker 3 in transaction 'spin')", from what each thread publishes for
 * this (running_worker, running_tx). */
static void stuck_list(struct engine *e, char *out, size_t size)
{
    out[0] = '\0';
    for (int i = 0; i < e->nthreads; i++) {
        struct thread *t = &e->threads[i];
        if (atomic_load(&t->state) != THREAD_RUNNING)
            continue;
        size_t used = strlen(out);
        int w = atomic_load_explicit(&t->running_worker, memory_order_relaxed);
        int tx = atomic_load_explicit(&t->running_tx, memory_order_relaxed);
        if (w > 0 && tx >= 0 && tx < t->ntx)
            snprintf(out + used, size - used, "%sthread %d (worker %d in transaction '%s')", used ? ", " : "",
                     i + 1, w, t->tx_names[tx]);
        else if (w > 0)
            snprintf(out + used, size - used, "%sthread %d (worker %d)", used ? ", " : "", i + 1, w);
        else
            snprintf(out + used, size - used, "%sthread %d", used ? ", " : "", i + 1);
    }
}

int engine_run(const struct engine_spec *spec, struct engine_result *res)
{
    memset(res, 0, sizeof *res);
    /* On the heap: threads that never answer keep pointing into it (see
     * abandoned_engines). */
    struct engine *e = calloc(1, sizeof *e);
    if (!e) {
        fail(res, "%s", "cannot start the engine: out of memory");
        return -1;
    }
    e->spec = spec;
    e->nthreads = 1;
    if (spec->mode == ENGINE_BAND) {
        int n = spec->threads > 0 ? spec->threads : 1;
        if (n > spec->workers)
            n = spec->workers;
        if (n > spec->connections)
            n = spec->connections; /* a thread without a connection could never run */
        e->nthreads = n > 0 ? n : 1;
    }
    res->threads = e->nthreads;
    e->threads = calloc((size_t)e->nthreads, sizeof *e->threads);
    e->loop = loop_new();
    e->shared.notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&e->shared.report_lock, NULL);
    int abandoned = 0;
    if (!e->threads || !e->loop || e->shared.notify_fd < 0) {
        fail(res, "%s", "cannot start the engine: out of resources");
        goto out;
    }
    e->notify_watch.cb = drain_fd;
    loop_watch(e->loop, &e->notify_watch, e->shared.notify_fd, EPOLLIN);
    if (signal_fd >= 0) {
        e->signal_watch.cb = drain_fd;
        loop_watch(e->loop, &e->signal_watch, signal_fd, EPOLLIN);
    }

    if (start_threads(e) != 0) {
        fail(res, "cannot start threads: %s", strerror(errno));
        abandoned = stop_threads(e, 0);
        goto out;
    }
    wait_until(e, all_ready, 0, 1);
    struct thread *bad = failed_thread(e);
    if (bad || received_signal) {
        if (bad)
            fail(res, "%s", bad->error);
        else {
            res->status = ENGINE_INTERRUPTED;
            res->signal = received_signal;
        }
        abandoned = stop_threads(e, stop_deadline(received_signal != 0));
        if (!bad) {
            /* Interrupted before the band began: say where a thread was
             * stopped (the Lua watchdog names the script's file:line). */
            for (int i = 0; i < e->nthreads; i++)
                if (atomic_load(&e->threads[i].state) == THREAD_FAILED)
                    log_warn("interrupted before the band began: %s", e->threads[i].error);
            collect(e, res);
        }
        goto out;
    }

    uint64_t go = clock_now_ns();
    uint64_t mstart = go + spec->warmup_ns;
    atomic_store(&e->shared.measure_start_ns, mstart);
    atomic_store(&e->shared.measure_end_ns, spec->mode == ENGINE_BAND ? mstart + spec->duration_ns : UINT64_MAX);
    atomic_store(&e->shared.go_ns, go);
    wake_all(e);
    log_debug("engine: go (%d threads); measure from +%.1fs", e->nthreads, (double)spec->warmup_ns / 1e9);

    e->last_tick = go;
    e->running = true;
    wait_until(e, all_drained, 0, 0);
    e->running = false;
    bad = failed_thread(e);
    if (bad) {
        fail(res, "%s", bad->error);
        atomic_store(&e->shared.stop, 1);
        abandoned = stop_threads(e, stop_deadline(received_signal != 0));
        goto out;
    }
    uint64_t mend = atomic_load(&e->shared.measure_end_ns);
    res->measured_ns = mend > mstart && spec->mode == ENGINE_BAND ? mend - mstart : 0;
    if (e->stuck && !received_signal) {
        /* Without Ctrl-C the band fails: part of its figures are out of
         * reach, and a script that never yields is a bug to fix first. */
        char which[512];
        stuck_list(e, which, sizeof which);
        snprintf(res->error, sizeof res->error,
                 "%s of workload %s did not finish: a worker kept running Lua without yielding %.0f s past the end of "
                 "the %s (an endless loop in the script? LuaJIT-compiled loops cannot be interrupted); "
                 "its figures are lost",
                 which, spec->workload, (double)(spec->drain_ns + NS_PER_SEC) / 1e9,
                 spec->mode == ENGINE_BAND ? "measure phase" : "call");
        res->status = ENGINE_FAILED;
        atomic_store(&e->shared.stop, 1);
        abandoned = stop_threads(e, stop_deadline(true));
        goto out;
    }
    if (atomic_load(&e->shared.stop)) {
        res->status = ENGINE_INTERRUPTED;
        res->signal = received_signal;
    }
    if (e->stuck) {
        char which[512];
        stuck_list(e, which, sizeof which);
        log_error("engine: %s still running Lua after the interrupt, its loop silent (an endless "
                  "loop?): its figures are left out", which);
    }
    collect(e, res);
    log_debug("engine: drained; %.3f s measured", (double)res->measured_ns / 1e9);
    if (spec->phase && spec->mode == ENGINE_BAND)
        spec->phase(spec->progress_ctx, "drained");
    if (res->status == ENGINE_OK && spec->mode == ENGINE_BAND && spec->cooldown_ns) {
        log_debug("engine: cooldown %.1fs", (double)spec->cooldown_ns / 1e9);
        wait_until(e, never, clock_now_ns() + spec->cooldown_ns, 1);
    }
    abandoned = stop_threads(e, stop_deadline(e->stuck || received_signal));

out:
    if (abandoned) {
        /* Keep everything the abandoned threads can reach; free the rest. */
        for (int i = 0; i < e->nthreads; i++)
            if (!e->threads[i].abandoned)
                thread_destroy(&e->threads[i]);
        res->script_errors_reported = (uint64_t)e->shared.nreported;
        e->next_abandoned = abandoned_engines;
        abandoned_engines = e;
        return res->status == ENGINE_FAILED ? -1 : 0;
    }
    for (int i = 0; i < e->nthreads; i++)
        thread_destroy(&e->threads[i]);
    free(e->threads);
    if (e->loop)
        loop_free(e->loop);
    if (e->shared.notify_fd >= 0)
        close(e->shared.notify_fd);
    for (int i = 0; i < e->shared.nreported; i++)
        free(e->shared.reported[i]);
    res->script_errors_reported = (uint64_t)e->shared.nreported;
    free(e->shared.reported);
    pthread_mutex_destroy(&e->shared.report_lock);
    free(e);
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
