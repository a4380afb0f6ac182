/*
 * An engine thread's life (see thread.h and engine.h): set up a Lua state,
 * the workload and a pool; run every worker's init(); report ready; on "go",
 * run the band until the measure phase ends; drain; hand the figures over;
 * keep the connections open through the cooldown; close everything on "quit".
 */
#include "runtime/thread.h"

#include <lauxlib.h>
#include <luajit.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/clock.h"
#include "runtime/log.h"
#include "runtime/lua_env.h"

#define PUBLISH_NS (100 * NS_PER_MS)
#define IDLE_WAIT_NS (100 * NS_PER_MS)

void thread_notify_engine(struct thread *t)
{
    uint64_t one = 1;
    ssize_t rc = write(t->shared->notify_fd, &one, sizeof one);
    (void)rc; /* a full counter still wakes the engine */
}

void thread_fail(struct thread *t, const char *fmt, ...)
{
    if (atomic_load(&t->state) == THREAD_FAILED)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->error, sizeof t->error, fmt, ap);
    va_end(ap);
    atomic_store(&t->state, THREAD_FAILED);
    thread_notify_engine(t);
}

void thread_schedule(struct thread *t, struct worker *w)
{
    if (w->queued)
        return;
    w->queued = true;
    w->runq_next = NULL;
    if (t->runq_tail)
        t->runq_tail->runq_next = w;
    else
        t->runq_head = w;
    t->runq_tail = w;
}

/* Resumes the workers queued so far; ones queued meanwhile wait for the
 * next turn of the loop, so a worker that keeps requeueing itself cannot
 * starve the fds and timers. */
static void run_queue(struct thread *t)
{
    struct worker *w = t->runq_head;
    t->runq_head = t->runq_tail = NULL;
    while (w) {
        struct worker *next = w->runq_next;
        w->queued = false;
        worker_resume_scheduled(w);
        w = next;
    }
}

/* A script error is printed once per distinct message (the first line is
 * enough to tell them apart); every occurrence is still counted. */
void thread_report_once(struct thread *t, const char *message)
{
    size_t key = strcspn(message, "\n");
    struct engine_shared *sh = t->shared;
    pthread_mutex_lock(&sh->report_lock);
    bool seen = false;
    for (int i = 0; i < sh->nreported && !seen; i++)
        seen = strlen(sh->reported[i]) == key && strncmp(sh->reported[i], message, key) == 0;
    if (!seen) {
        char **r = realloc(sh->reported, (size_t)(sh->nreported + 1) * sizeof *r);
        if (r) {
            sh->reported = r;
            sh->reported[sh->nreported++] = strndup(message, key);
        }
        log_error("script error (reported once, counted every time): %s", message);
    }
    pthread_mutex_unlock(&sh->report_lock);
}

/* --- pool events -------------------------------------------------------- */

static void on_pool_ready(struct pool *p, bool ok, const char *error)
{
    struct thread *t = pool_data(p);
    if (!ok) {
        thread_fail(t, "cannot connect to the server: %s", error);
        return;
    }
    t->pool_ready = true;
}

static void on_conn_finished(void *owner, struct conn *c, PGresult *r)
{
    (void)c;
    if (!owner) {
        PQclear(r);
        return;
    }
    db_on_finished(owner, r);
}

static void on_conn_writable(void *owner, struct conn *c)
{
    (void)c;
    if (owner)
        db_on_writable(owner);
}

static const struct pool_events pool_events = {
    .ready = on_pool_ready,
    .finished = on_conn_finished,
    .writable = on_conn_writable,
};

/* --- timers ----------------------------------------------------------------- */

static void publish(struct thread *t)
{
    pthread_mutex_lock(&t->mailbox_lock);
    interval_merge(&t->mailbox, &t->interval);
    t->connections_up = pool_connections_up(t->pool);
    pthread_mutex_unlock(&t->mailbox_lock);
    interval_reset(&t->interval);
}

static void on_publish(struct loop_timer *tm)
{
    struct thread *t = (struct thread *)((char *)tm - offsetof(struct thread, publish_timer));
    publish(t);
    loop_timer_start(t->loop, tm, loop_now(t->loop) + PUBLISH_NS);
}

static void on_arrival(struct loop_timer *tm)
{
    struct thread *t = (struct thread *)((char *)tm - offsetof(struct thread, arrival_timer));
    uint64_t now = loop_now(t->loop);
    uint64_t end = atomic_load_explicit(&t->shared->measure_end_ns, memory_order_relaxed);
    while (schedule_peek(&t->schedule) <= now && schedule_peek(&t->schedule) < end)
        worker_arrival(t, schedule_take(&t->schedule));
    if (schedule_peek(&t->schedule) < end)
        loop_timer_start(t->loop, tm, schedule_peek(&t->schedule));
}

static void begin_drain(struct thread *t, uint64_t allowed_ns)
{
    if (t->draining)
        return;
    t->draining = true;
    loop_timer_stop(t->loop, &t->arrival_timer);
    startq_clear(&t->starts);
    t->idle_head = t->idle_tail = NULL; /* worker_band_ended ends them below */
    t->drain_deadline = loop_update_now(t->loop) + allowed_ns;
    log_debug("thread %d: measure over, draining %d workers", t->index + 1, t->alive);
    for (int i = 0; i < t->nworkers; i++)
        worker_band_ended(t->workers[i]);
}

static void on_measure_end(struct loop_timer *tm)
{
    struct thread *t = (struct thread *)((char *)tm - offsetof(struct thread, measure_end_timer));
    begin_drain(t, t->spec->drain_ns);
}

/* --- set-up ----------------------------------------------------------------- */

static void step(struct thread *t)
{
    atomic_store_explicit(&t->heartbeat, ++t->beats, memory_order_relaxed);
    run_queue(t);
    loop_step(t->loop, t->runq_head ? 0 : IDLE_WAIT_NS);
    run_queue(t);
}

static bool quitting(struct thread *t)
{
    return atomic_load(&t->shared->quit) || atomic_load(&t->state) == THREAD_FAILED;
}

static int open_rt(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushcclosure(L, worker_open_rt, 1);
    lua_call(L, 0, 1);
    return 1;
}

/* Reads what scripts/stormdb/worker.lua's setup() returned. */
static int read_mix(struct thread *t)
{
    lua_State *L = t->L;
    lua_getfield(L, -1, "transactions");
    int n = (int)lua_objlen(L, -1);
    t->ntx = n;
    t->tx_names = calloc((size_t)(n ? n : 1), sizeof *t->tx_names);
    t->tx_cumweight = calloc((size_t)(n ? n : 1), sizeof *t->tx_cumweight);
    t->tx_uses_conn = calloc((size_t)(n ? n : 1), sizeof *t->tx_uses_conn);
    if (!t->tx_names || !t->tx_cumweight || !t->tx_uses_conn)
        return -1;
    uint64_t total = 0;
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, -1, i + 1);
        lua_getfield(L, -1, "name");
        t->tx_names[i] = strdup(lua_tostring(L, -1));
        lua_getfield(L, -2, "weight");
        total += (uint64_t)lua_tonumber(L, -1);
        t->tx_cumweight[i] = total;
        lua_getfield(L, -3, "connection");
        t->tx_uses_conn[i] = lua_toboolean(L, -1);
        lua_pop(L, 4);
    }
    lua_pop(L, 1);
    return 0;
}

/* --- the Lua watchdog --------------------------------------------------------
 *
 * A script that loops without ever yielding (`while true do end` in setup,
 * in init, at the top of the workload file) would hold its thread forever:
 * the thread's loop never runs again, so Ctrl-C could not reach it. Until
 * the band starts, and throughout setup/cleanup/check calls, Lua runs in
 * the interpreter with a count hook: every HOOK_INSTRUCTIONS instructions
 * it looks at the engine's flags and raises an error at the script's
 * file:line once the thread must stop (quit; or stop in a call, which is
 * what Ctrl-C and SIGTERM set). Once raised it is raised again at every
 * check, so a script's own pcall cannot swallow it, and no worker starts a
 * transaction afterwards (rt.next_tx, rt.ready).
 *
 * During a band the JIT is on and the hook is off (it would cost about a
 * third of the interpreter's speed, and LuaJIT never calls hooks from
 * compiled code anyway): a transaction that never yields is left to the
 * engine's watchdog (engine.c), which gives up on the thread in time for
 * the process to report and exit. See docs/reliability.md. */
#define HOOK_INSTRUCTIONS 100000

static const char hook_key = 'h';

static const char *hook_reason(struct thread *t)
{
    if (t->lua_abort)
        return t->abort_reason;
    struct engine_shared *sh = t->shared;
    if (atomic_load_explicit(&sh->quit, memory_order_relaxed))
        return "stopped: the engine is shutting down (Ctrl-C, SIGTERM or an error elsewhere) and this Lua code "
               "never yields";
    if (t->spec->mode == ENGINE_CALL && atomic_load_explicit(&sh->stop, memory_order_relaxed))
        return "interrupted (SIGINT or SIGTERM) while running Lua";
    return NULL;
}

static void watchdog_hook(lua_State *L, lua_Debug *ar)
{
    lua_pushlightuserdata(L, (void *)&hook_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    struct thread *t = lua_touserdata(L, -1);
    lua_pop(L, 1);
    /* Raise only where an error is caught: in a worker's coroutine (its
     * resume catches it) or in set-up code run under a pcall. An error in an
     * unprotected lua_call of ours (a __tostring, say) would abort. */
    if (!t || !((t->current && t->current->co == L) || t->lua_protected))
        return;
    const char *why = hook_reason(t);
    if (!why)
        return;
    if (!t->lua_abort) {
        snprintf(t->abort_reason, sizeof t->abort_reason, "%s", why);
        t->lua_abort = true;
        log_debug("thread %d: Lua watchdog: %s", t->index + 1, why);
    }
    /* The script's file:line where it was stopped: the hook's own record
     * names the function running (luaL_where would name its caller). */
    if (lua_getinfo(L, "Sl", ar) && ar->currentline > 0)
        lua_pushfstring(L, "%s:%d: %s", ar->short_src, ar->currentline, t->abort_reason);
    else
        lua_pushstring(L, t->abort_reason);
    lua_error(L);
}

static void install_watchdog(struct thread *t)
{
    lua_State *L = t->L;
    lua_pushlightuserdata(L, (void *)&hook_key);
    lua_pushlightuserdata(L, t);
    lua_rawset(L, LUA_REGISTRYINDEX);
    lua_sethook(L, watchdog_hook, LUA_MASKCOUNT, HOOK_INSTRUCTIONS);
}

static int setup_lua(struct thread *t)
{
    const struct engine_spec *spec = t->spec;
    t->L = luaenv_new(spec->lua_path);
    if (!t->L) {
        thread_fail(t, "out of memory creating a Lua state");
        return -1;
    }
    lua_State *L = t->L;
    install_watchdog(t);
    /* Until the band starts (loading the workload, every worker's init) and
     * in setup, cleanup and check, which run once and mostly wait for the
     * server, Lua runs in the interpreter, where the watchdog's hook is
     * always called: Ctrl-C stops even an endless loop there, at its
     * file:line. start() turns the JIT back on for the band. */
    luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "preload");
    lua_pushlightuserdata(L, t);
    lua_pushcclosure(L, open_rt, 1);
    lua_setfield(L, -2, "stormdb.rt");
    lua_pop(L, 2);
    db_register(L, t);

    t->lua_protected = true;
    if (luaenv_require(L, "stormdb.worker") != 0) {
        t->lua_protected = false;
        thread_fail(t, "%s", lua_tostring(L, -1));
        return -1;
    }
    lua_getfield(L, -1, "setup");
    lua_pushstring(L, spec->workload);
    lua_pushstring(L, spec->options_json ? spec->options_json : "{}");
    lua_pushstring(L, spec->mode == ENGINE_BAND ? "band" : spec->call);
    int rc = luaenv_pcall(L, 3, 1);
    t->lua_protected = false;
    if (rc != 0) {
        thread_fail(t, "%s", lua_tostring(L, -1));
        return -1;
    }
    lua_getfield(L, -1, "body");
    t->body_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_getfield(L, -1, "env_mt");
    t->env_mt_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    if (read_mix(t) != 0) {
        thread_fail(t, "out of memory");
        return -1;
    }
    t->workload_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pop(L, 1);
    return 0;
}

static void on_wake(struct loop_watch *w, uint32_t events)
{
    (void)events;
    uint64_t v;
    while (read(w->fd, &v, sizeof v) > 0)
        ;
}

static int setup(struct thread *t)
{
    const struct engine_spec *spec = t->spec;
    t->loop = loop_new();
    if (!t->loop) {
        thread_fail(t, "cannot create an event loop");
        return -1;
    }
    t->wake_watch.cb = on_wake;
    loop_watch(t->loop, &t->wake_watch, t->wake_fd, EPOLLIN);
    t->measure_end_timer.cb = on_measure_end;
    t->publish_timer.cb = on_publish;
    t->arrival_timer.cb = on_arrival;
    if (setup_lua(t) != 0)
        return -1;
    t->stats = stats_new(t->ntx);
    t->pool = pool_new(t->loop, t->planned_connections, spec->conn_keys,
                       spec->conn_values, &pool_events, t);
    if (!t->stats || !t->pool) {
        thread_fail(t, "out of memory");
        return -1;
    }
    interval_reset(&t->interval);
    interval_reset(&t->mailbox);
    pool_connect(t->pool);
    while (!t->pool_ready && !quitting(t))
        step(t);
    if (quitting(t))
        return -1;
    log_debug("thread %d: %d connections up", t->index + 1, pool_size(t->pool));

    if (spec->mode == ENGINE_BAND) {
        for (int i = 0; i < t->planned_workers; i++) {
            struct worker *w = worker_new(t, t->first_worker_id + i, NULL);
            if (!w) {
                thread_fail(t, "cannot create worker %d", t->first_worker_id + i);
                return -1;
            }
            worker_start(w);
        }
        /* Every worker runs init() and parks in rt.ready(). */
        while (t->parked < t->planned_workers && !quitting(t))
            step(t);
        if (quitting(t))
            return -1;
    }
    return 0;
}

/* --- running ---------------------------------------------------------------- */

static void start(struct thread *t)
{
    const struct engine_spec *spec = t->spec;
    t->measure_start = atomic_load(&t->shared->measure_start_ns);
    if (spec->mode == ENGINE_BAND) {
        /* The band's transactions run compiled and unhooked: a count hook
         * costs about a third of the interpreter's speed. A transaction that
         * never yields is the engine's watchdog's to handle (engine.c). */
        lua_sethook(t->L, NULL, 0, 0);
        luaJIT_setmode(t->L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_ON);
    }
    loop_update_now(t->loop);
    loop_timer_start(t->loop, &t->publish_timer, loop_now(t->loop) + PUBLISH_NS);
    if (spec->mode == ENGINE_BAND && spec->rate > 0) {
        /* This thread's share of the rate is its share of the workers. */
        double share = spec->rate * t->planned_workers / spec->workers;
        t->open_loop = true;
        schedule_init(&t->schedule, (enum arrival_kind)spec->arrival, share, spec->seed,
                      0x5ced000000ull + (uint64_t)t->index, atomic_load(&t->shared->go_ns));
        loop_timer_start(t->loop, &t->arrival_timer, schedule_peek(&t->schedule));
    }
    if (spec->mode == ENGINE_BAND) {
        loop_timer_start(t->loop, &t->measure_end_timer, atomic_load(&t->shared->measure_end_ns));
        for (int i = 0; i < t->nworkers; i++) {
            t->workers[i]->resume_nargs_kind = RESUME_TRUE;
            thread_schedule(t, t->workers[i]);
        }
        return;
    }
    struct worker *root = worker_new(t, 1, NULL);
    if (!root) {
        thread_fail(t, "out of memory");
        return;
    }
    worker_start(root);
}

static void finish(struct thread *t)
{
    t->drained = true;
    t->stats->reconnects = pool_reconnects(t->pool);
    loop_timer_stop(t->loop, &t->publish_timer);
    publish(t);
    /* A failure reported a moment ago (a setup() error) must not be hidden
     * behind "drained". */
    int running = THREAD_RUNNING;
    atomic_compare_exchange_strong(&t->state, &running, THREAD_DRAINED);
    thread_notify_engine(t);
}

static void run(struct thread *t)
{
    while (!atomic_load(&t->shared->go_ns) && !quitting(t))
        loop_step(t->loop, IDLE_WAIT_NS);
    if (quitting(t))
        return;
    atomic_store(&t->state, THREAD_RUNNING);
    start(t);
    uint64_t unreachable = t->spec->unreachable_ns ? t->spec->unreachable_ns : 10 * NS_PER_SEC;
    while (!quitting(t)) {
        step(t);
        uint64_t down = pool_down_since(t->pool);
        if (down && !t->drained && loop_now(t->loop) - down > unreachable) {
            const char *why = pool_last_error(t->pool);
            thread_fail(t, "the server has been unreachable for %.0f s: %s", (double)unreachable / 1e9,
                        why ? why : "every connection is down");
            break;
        }
        if (!t->draining && atomic_load(&t->shared->stop))
            begin_drain(t, t->spec->drain_ns < NS_PER_SEC ? t->spec->drain_ns : NS_PER_SEC);
        if (t->spec->mode == ENGINE_CALL && t->alive == 0 && !t->drained)
            finish(t);
        if (t->draining && !t->drained && (t->alive == 0 || loop_now(t->loop) >= t->drain_deadline)) {
            if (t->alive > 0)
                log_warn("thread %d: %d transactions still running at the end of the band were abandoned",
                         t->index + 1, t->alive);
            finish(t);
        }
    }
}

static void teardown(struct thread *t)
{
    if (t->loop)
        loop_unwatch(t->loop, &t->wake_watch);
    for (int i = 0; i < t->nworkers; i++)
        worker_free(t->workers[i]);
    free(t->workers);
    t->workers = NULL;
    startq_free(&t->starts);
    t->nworkers = 0;
    pool_free(t->pool);
    t->pool = NULL;
    if (t->L)
        lua_close(t->L);
    t->L = NULL;
    for (uint32_t i = 0; i < t->nstmt; i++)
        free(t->stmt_sql[i]);
    free(t->stmt_sql);
    free(t->stmt_name);
    t->stmt_sql = NULL;
    t->stmt_name = NULL;
    free(t->tx_cumweight);
    free(t->tx_uses_conn);
    t->tx_cumweight = NULL;
    t->tx_uses_conn = NULL;
    loop_free(t->loop);
    t->loop = NULL;
}

static void *thread_main(void *arg)
{
    struct thread *t = arg;
    if (setup(t) == 0) {
        atomic_store(&t->state, THREAD_READY);
        thread_notify_engine(t);
        run(t);
    }
    teardown(t);
    if (atomic_load(&t->state) != THREAD_FAILED)
        atomic_store(&t->state, THREAD_EXITED);
    thread_notify_engine(t);
    return NULL;
}

int thread_start(struct thread *t)
{
    pthread_mutex_init(&t->mailbox_lock, NULL);
    atomic_store(&t->state, THREAD_STARTING);
    atomic_store(&t->running_worker, 0);
    atomic_store(&t->running_tx, -1);
    /* Signals are the main thread's business: engine threads never see them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&t->tid, NULL, thread_main, t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc == 0 ? 0 : -1;
}

void thread_join(struct thread *t) { pthread_join(t->tid, NULL); }

void thread_destroy(struct thread *t)
{
    stats_free(t->stats);
    t->stats = NULL;
    if (t->tx_names)
        for (int i = 0; i < t->ntx; i++)
            free(t->tx_names[i]);
    free(t->tx_names);
    t->tx_names = NULL;
    pthread_mutex_destroy(&t->mailbox_lock);
}
