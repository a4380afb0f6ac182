/*
 * Workers: Lua coroutines that look synchronous to the script and yield to
 * the thread's loop whenever they wait (see thread.h for their life). This
 * file holds the C side of the worker body (scripts/stormdb/worker.lua): the
 * "stormdb.rt" functions that pick the next transaction, take and give back
 * its connection, measure it, retry it, sleep, and run children for
 * ctx:parallel().
 */
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/clock.h"
#include "runtime/log.h"
#include "runtime/lua_env.h"
#include "runtime/lua_modules.h"
#include "runtime/thread.h"

/* What worker_resume pushes when a worker comes off the run queue. */


static struct thread *rt_thread(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

/* The worker whose coroutine is calling, or a Lua error when called from
 * anywhere else (the controller, a user's own coroutine). */
static struct worker *rt_worker(lua_State *L)
{
    struct thread *t = rt_thread(L);
    struct worker *w = t ? t->current : NULL;
    if (!w || w->co != L)
        luaL_error(L, "this stormdb call must be made by a worker itself (not from another coroutine)");
    return w;
}

/* --- resuming --------------------------------------------------------- */

/* Points the workload's global proxy at w's own globals. */
static void switch_env(struct thread *t, struct worker *w)
{
    lua_State *L = t->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, t->env_mt_ref);
    lua_pushliteral(L, "__index");
    lua_rawgeti(L, LUA_REGISTRYINDEX, w->env_ref);
    lua_rawset(L, -3);
    lua_pushliteral(L, "__newindex");
    lua_rawgeti(L, LUA_REGISTRYINDEX, w->env_ref);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

static void worker_finished(struct worker *w, const char *error)
{
    struct thread *t = w->thread;
    w->done = true;
    w->failed = error != NULL;
    t->alive--;
    if (w->conn) {
        pool_release(t->pool, w->conn);
        w->conn = NULL;
    }
    struct worker *parent = w->parent;
    if (parent) {
        if (error && parent->child_error_ref == LUA_NOREF) {
            lua_pushstring(t->L, error);
            parent->child_error_ref = luaL_ref(t->L, LUA_REGISTRYINDEX);
        }
        if (--parent->children == 0 && parent->wait == WAIT_CHILDREN) {
            parent->resume_nargs_kind = RESUME_NOTHING;
            thread_schedule(t, parent);
        }
        return;
    }
    if (error)
        thread_fail(t, "worker %d stopped: %s", w->id, error);
}

/* "chunk:123: message", as Lua prefixes errors raised with a position. */
static bool has_position(const char *msg)
{
    const char *colon = strchr(msg, ':');
    if (!colon || colon == msg)
        return false;
    const char *p = colon + 1;
    if (*p < '0' || *p > '9')
        return false;
    while (*p >= '0' && *p <= '9')
        p++;
    return *p == ':';
}

void worker_resume(struct worker *w, int nargs)
{
    struct thread *t = w->thread;
    if (w->done)
        return;
    /* Pointing the global proxy at this worker's globals costs a few
     * hundred instructions, so it is done only once some worker has
     * assigned a global (rt.own_globals) and only when the worker changes. */
    if (t->per_worker_globals && t->env_owner != w) {
        switch_env(t, w);
        t->env_owner = w;
    }
    w->wait = WAIT_NONE;
    w->since_yield = 0;
    struct worker *outer = t->current;
    t->current = w;
    atomic_store_explicit(&t->running_worker, w->id, memory_order_relaxed);
    int rc = lua_resume(w->co, nargs);
    t->current = outer;
    if (rc == LUA_YIELD) {
        lua_settop(w->co, 0);
        return;
    }
    if (rc == 0) {
        worker_finished(w, NULL);
        return;
    }
    /* An error escaped the worker body: in init(), setup() or our own code.
     * A bug ("file:line: message") gets the script's traceback; a message
     * raised on purpose with error(msg, 0), or a SQL error, is shown as is. */
    bool bug = lua_type(w->co, -1) == LUA_TSTRING && has_position(lua_tostring(w->co, -1));
    const char *msg = luaenv_tostring(w->co, -1);
    if (bug)
        luaL_traceback(t->L, w->co, msg, 0);
    else
        lua_pushstring(t->L, msg);
    char *text = strdup(lua_tostring(t->L, -1));
    lua_pop(t->L, 1);
    worker_finished(w, text ? text : "out of memory");
    free(text);
}

void worker_start(struct worker *w)
{
    lua_State *L = w->thread->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, w->thread->body_ref);
    lua_rawgeti(L, LUA_REGISTRYINDEX, w->self_ref);
    lua_xmove(L, w->co, 2);
    w->thread->alive++;
    worker_resume(w, 1);
}

/* From the run queue: push what the yield the worker is in expects. */
void worker_resume_scheduled(struct worker *w)
{
    switch (w->resume_nargs_kind) {
    case RESUME_TX:
        lua_pushinteger(w->co, w->tx + 1);
        worker_resume(w, 1);
        break;
    case RESUME_NIL:
        lua_pushnil(w->co);
        worker_resume(w, 1);
        break;
    case RESUME_FALSE:
    case RESUME_TRUE:
        lua_pushboolean(w->co, w->resume_nargs_kind == RESUME_TRUE);
        worker_resume(w, 1);
        break;
    case RESUME_START:
        worker_resume(w, 2); /* fn(child_w, arg) */
        break;
    case RESUME_SEND_FAILED:
        lua_pushboolean(w->co, 0);
        db_push_error(w->co, w, "08006", w->cmd ? conn_error(w->cmd) : "connection lost");
        worker_resume(w, 2);
        break;
    default:
        worker_resume(w, 0);
    }
}

/* --- creation ------------------------------------------------------------ */

static void on_timer(struct loop_timer *tm)
{
    struct worker *w = (struct worker *)((char *)tm - offsetof(struct worker, timer));
    if (w->wait == WAIT_SLEEP)
        worker_resume(w, 0);
}

/* --tx-timeout: cancel the statement in flight (the server answers 57014,
 * counted like any error); a transaction between statements fails at its
 * next one. */
static void on_tx_timeout(struct loop_timer *tm)
{
    struct worker *w = (struct worker *)((char *)tm - offsetof(struct worker, tx_timer));
    w->tx_expired = true;
    if (w->wait != WAIT_RESULT || !w->cmd || !w->cmd->pg)
        return;
    PGcancel *cancel = PQgetCancel(w->cmd->pg);
    char err[256];
    if (!cancel || !PQcancel(cancel, err, sizeof err))
        log_warn("cannot cancel a transaction past --tx-timeout: %s", cancel ? err : "no cancel handle");
    PQfreeCancel(cancel);
}

static void on_granted(struct pool_waiter *pw, struct conn *c)
{
    struct worker *w = (struct worker *)((char *)pw - offsetof(struct worker, waiter));
    struct thread *t = w->thread;
    c->owner = w;
    w->conn = c;
    w->cmd = c;
    uint64_t now = loop_update_now(t->loop);
    if (w->pending_send) {
        /* A db call asked for it: send, and go on waiting for the result.
         * We may be inside another worker's resume here, so a failure is
         * delivered from the run queue, never by resuming now. */
        w->pending_send = false;
        w->wait = WAIT_RESULT;
        if (db_send_pending(w) != 0) {
            w->resume_nargs_kind = RESUME_SEND_FAILED;
            thread_schedule(t, w);
        }
        return;
    }
    /* next_tx() asked for it: the transaction starts now. */
    w->pool_wait_ns = now - w->wait_start;
    w->tx_start = now;
    w->resume_nargs_kind = RESUME_TX;
    thread_schedule(t, w);
}

struct worker *worker_new(struct thread *t, int id, struct worker *parent)
{
    struct worker *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->thread = t;
    w->id = id;
    w->tx = -1;
    w->stmt = -1;
    w->parent = parent;
    w->child_error_ref = LUA_NOREF;
    w->pending_ref = LUA_NOREF;
    w->timer.cb = on_timer;
    w->tx_timer.cb = on_tx_timeout;
    w->waiter.granted = on_granted;

    lua_State *L = t->L;
    w->co = lua_newthread(L);
    w->co_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    /* w, env = worker_module.new_worker(id, db, rand) */
    lua_rawgeti(L, LUA_REGISTRYINDEX, t->workload_ref);
    lua_getfield(L, -1, "new_worker");
    lua_remove(L, -2);
    lua_pushinteger(L, id);
    db_push(L, w);
    w->rand = lrand_push(L, t->spec->seed, (uint64_t)id);
    if (luaenv_pcall(L, 3, 2) != 0) {
        log_error("cannot create worker %d: %s", id, lua_tostring(L, -1));
        lua_pop(L, 1);
        luaL_unref(L, LUA_REGISTRYINDEX, w->co_ref);
        free(w);
        return NULL;
    }
    w->env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    w->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);

    if (t->nworkers == t->capworkers) {
        int cap = t->capworkers ? t->capworkers * 2 : 16;
        struct worker **ws = realloc(t->workers, (size_t)cap * sizeof *ws);
        if (!ws) {
            worker_free(w);
            return NULL;
        }
        t->workers = ws;
        t->capworkers = cap;
    }
    t->workers[t->nworkers++] = w;
    return w;
}

void worker_free(struct worker *w)
{
    if (!w)
        return;
    lua_State *L = w->thread->L;
    if (L) {
        luaL_unref(L, LUA_REGISTRYINDEX, w->co_ref);
        luaL_unref(L, LUA_REGISTRYINDEX, w->env_ref);
        luaL_unref(L, LUA_REGISTRYINDEX, w->self_ref);
        luaL_unref(L, LUA_REGISTRYINDEX, w->child_error_ref);
        luaL_unref(L, LUA_REGISTRYINDEX, w->pending_ref);
    }
    loop_timer_stop(w->thread->loop, &w->timer);
    loop_timer_stop(w->thread->loop, &w->tx_timer);
    free(w->sql);
    free(w->params);
    free(w->param_offs);
    free(w->copybuf);
    free(w);
}

/* The band's measure phase is over: a worker waiting for a connection to
 * start a transaction will not get one; end it. */
void worker_band_ended(struct worker *w)
{
    if (w->wait == WAIT_GO || w->wait == WAIT_POOL || w->wait == WAIT_ARRIVAL) {
        pool_cancel_wait(w->thread->pool, &w->waiter);
        w->tx = -1;
        w->resume_nargs_kind = w->wait == WAIT_GO ? RESUME_FALSE : RESUME_NIL;
        thread_schedule(w->thread, w);
    }
}

/* --- stormdb.rt ----------------------------------------------------------- */

/* rt.ready(): init is over; park until the band starts. Returns true to run,
 * false when the band ended before it began. */
static int rt_ready(lua_State *L)
{
    struct worker *w = rt_worker(L);
    struct thread *t = w->thread;
    if (w->conn) {
        pool_release(t->pool, w->conn);
        w->conn = NULL;
    }
    if (t->draining || t->lua_abort) {
        lua_pushboolean(L, 0);
        return 1;
    }
    w->wait = WAIT_GO;
    t->parked++;
    return lua_yield(L, 0);
}

static int pick_tx(struct thread *t, struct worker *w)
{
    if (t->ntx == 1)
        return 0;
    uint64_t total = t->tx_cumweight[t->ntx - 1];
    uint64_t r = (uint64_t)rand_uniform(w->rand, 1, (int64_t)total);
    int i = 0;
    while (t->tx_cumweight[i] < r)
        i++;
    return i;
}

static void on_tx_timeout(struct loop_timer *tm);

/* Starts transaction-to-be w->tx: takes its connection (or joins the
 * pool's queue: returns false, and on_granted resumes the worker later). */
static bool begin_tx(struct worker *w, uint64_t now)
{
    struct thread *t = w->thread;
    int i = pick_tx(t, w);
    w->tx = i;
    atomic_store_explicit(&t->running_tx, i, memory_order_relaxed);
    w->tries = 1;
    w->tx_expired = false;
    w->statements = 0;
    w->rand_saved = *w->rand;
    w->pool_wait_ns = 0;
    w->tx_start = now;
    if (t->spec->tx_timeout_ns)
        loop_timer_start(t->loop, &w->tx_timer, now + t->spec->tx_timeout_ns);
    if (!t->tx_uses_conn[i] || w->conn)
        return true;
    w->conn = pool_try_acquire(t->pool, w);
    if (w->conn)
        return true;
    w->wait_start = now;
    w->wait = WAIT_POOL;
    pool_wait(t->pool, &w->waiter, w);
    return false;
}

static bool in_measure(struct thread *t, uint64_t when);

/* Open loop: the next due start this worker may take, skipping (and
 * counting) those already later than --latency-limit. */
static bool take_start(struct thread *t, uint64_t now, uint64_t *scheduled)
{
    uint64_t limit = t->spec->latency_limit_ns;
    while (startq_pop(&t->starts, scheduled)) {
        if (!limit || now <= *scheduled + limit)
            return true;
        t->interval.skipped++;
        if (in_measure(t, *scheduled))
            t->stats->skipped++;
    }
    return false;
}

static void start_scheduled(struct worker *w, uint64_t scheduled, uint64_t now)
{
    struct thread *t = w->thread;
    w->scheduled = scheduled;
    uint64_t lag = now > scheduled ? now - scheduled : 0;
    hist_record(&t->interval.lag, lag);
    if (in_measure(t, scheduled))
        hist_record(&t->stats->lag, lag);
}

void worker_arrival(struct thread *t, uint64_t scheduled)
{
    uint64_t now = loop_now(t->loop);
    if (!t->idle_head) {
        if (startq_push(&t->starts, scheduled) != 0)
            thread_fail(t, "out of memory queueing scheduled transactions");
        return;
    }
    if (startq_push(&t->starts, scheduled) != 0 || !take_start(t, now, &scheduled))
        return;
    struct worker *w = t->idle_head;
    t->idle_head = w->idle_next;
    if (!t->idle_head)
        t->idle_tail = NULL;
    start_scheduled(w, scheduled, now);
    if (begin_tx(w, now)) {
        w->resume_nargs_kind = RESUME_TX;
        thread_schedule(t, w);
    }
}

/* rt.next_tx(): index of the next transaction to run (1-based), or nil when
 * the band's load is over. Takes its connection first, waiting in the pool's
 * queue if need be; that wait is the transaction's pool wait. In the open
 * loop it first waits for a scheduled start to be due. */
static int rt_next_tx(lua_State *L)
{
    struct worker *w = rt_worker(L);
    struct thread *t = w->thread;
    if (t->draining || t->lua_abort)   /* lua_abort: the Lua watchdog stopped this thread */
        return 0;
    uint64_t now = loop_now(t->loop);
    if (t->open_loop) {
        uint64_t scheduled;
        if (!take_start(t, now, &scheduled)) {
            w->idle_next = NULL;
            if (t->idle_tail)
                t->idle_tail->idle_next = w;
            else
                t->idle_head = w;
            t->idle_tail = w;
            w->wait = WAIT_ARRIVAL;
            return lua_yield(L, 0);
        }
        start_scheduled(w, scheduled, now);
    }
    if (!begin_tx(w, now))
        return lua_yield(L, 0);
    /* A transaction that never waits (pure Lua, or a sleep of 0) would
     * otherwise keep this resume, and the thread, forever: every so many,
     * go round the loop so timers (the end of the band) and others run. */
    if (++w->since_yield >= 64) {
        w->resume_nargs_kind = RESUME_TX;
        thread_schedule(t, w);
        return lua_yield(L, 0);
    }
    lua_pushinteger(L, w->tx + 1);
    return 1;
}

static bool in_measure(struct thread *t, uint64_t when)
{
    return when >= t->measure_start &&
           when < atomic_load_explicit(&t->shared->measure_end_ns, memory_order_relaxed);
}

void worker_record_metric(struct worker *w, const char *name, uint64_t ns)
{
    struct thread *t = w->thread;
    if (in_measure(t, loop_now(t->loop)))
        stats_record_metric(t->stats, name, ns);
}

/* rt.record(name, seconds): a figure of the workload's own (a connect time,
 * a phase of a transaction), reported with count and percentiles. */
static int rt_record(lua_State *L)
{
    struct worker *w = rt_worker(L);
    const char *name = luaL_checkstring(L, 1);
    double s = luaL_checknumber(L, 2);
    if (strlen(name) >= STATS_METRIC_NAME)
        return luaL_error(L, "record(): metric name '%s' is longer than %d characters", name,
                          STATS_METRIC_NAME - 1);
    if (!(s >= 0 && s < 1e6))
        return luaL_error(L, "record(%s, %f): seconds must be >= 0", name, s);
    worker_record_metric(w, name, (uint64_t)(s * 1e9 + 0.5));
    return 0;
}

/* rt.now(): seconds on the engine's monotonic clock, for timing in scripts. */
static int rt_now(lua_State *L)
{
    lua_pushnumber(L, (lua_Number)clock_now_ns() / 1e9);
    return 1;
}

/* rt.finish_tx(ok, err): the transaction ended (committed, or failed after
 * its retries). Measures it, counts its error, gives back its connection. */
static int rt_finish_tx(lua_State *L)
{
    struct worker *w = rt_worker(L);
    struct thread *t = w->thread;
    bool ok = lua_toboolean(L, 1);
    /* Read the clock: a transaction that did its work without waiting would
     * otherwise end at the time the loop last woke. */
    uint64_t end = loop_update_now(t->loop);
    uint64_t service = end > w->tx_start ? end - w->tx_start : 0;
    uint64_t from = t->open_loop ? w->scheduled : w->tx_start;
    uint64_t latency = end > from ? end - from : 0;
    bool late = t->spec->latency_limit_ns && latency > t->spec->latency_limit_ns;
    int i = w->tx;
    loop_timer_stop(t->loop, &w->tx_timer);
    const char *sqlstate = NULL;
    if (!ok) {
        if (lua_istable(L, 2)) {
            lua_getfield(L, 2, "sqlstate");
            sqlstate = lua_tostring(L, -1);
            lua_pop(L, 1);
        } else {
            sqlstate = "LUA";
            thread_report_once(t, luaenv_tostring(L, 2));
        }
    }
    if (in_measure(t, end)) {
        struct tx_stats *s = &t->stats->tx[i];
        t->stats->queries += w->statements;
        s->retries += (uint64_t)(w->tries - 1);
        if (ok) {
            s->count++;
            hist_record(&s->latency, latency);
            if (t->open_loop)
                hist_record(&t->stats->service, service);
            t->stats->late += late;
        } else {
            s->errors++;
            stats_count_error(t->stats, i, sqlstate);
        }
        if (t->tx_uses_conn[i])
            hist_record(&t->stats->pool_wait, w->pool_wait_ns);
    }
    if (ok) {
        t->interval.count++;
        t->interval.late += late;
        hist_record(&t->interval.latency, latency);
    } else {
        t->interval.errors++;
    }
    if (w->conn) {
        pool_release(t->pool, w->conn);
        w->conn = NULL;
    }
    w->tx = -1;
    atomic_store_explicit(&t->running_tx, -1, memory_order_relaxed);
    return 0;
}

/* rt.retry(): a serialization failure or deadlock: run the transaction
 * again with the random state it started with. Returns the try number, or
 * nil when the tries are used up. */
static int rt_retry(lua_State *L)
{
    struct worker *w = rt_worker(L);
    if (w->tries >= w->thread->spec->max_tries || w->thread->draining)
        return 0;
    w->tries++;
    *w->rand = w->rand_saved;
    lua_pushinteger(L, w->tries);
    return 1;
}

/* stormdb.sleep(seconds): yields; never blocks the thread. */
static int rt_sleep(lua_State *L)
{
    struct worker *w = rt_worker(L);
    double s = luaL_checknumber(L, 1);
    if (!(s > 0))
        return 0;
    if (s > 86400)
        return luaL_error(L, "sleep(%f): more than a day", s);
    uint64_t deadline = loop_update_now(w->thread->loop) + (uint64_t)(s * 1e9);
    w->wait = WAIT_SLEEP;
    loop_timer_start(w->thread->loop, &w->timer, deadline);
    return lua_yield(L, 0);
}

/* rt.spawn(fn, arg): a child worker running fn(child_w, arg), for
 * ctx:parallel(). It starts on the next loop turn; rt.join() waits for it. */
static int rt_spawn(lua_State *L)
{
    struct worker *w = rt_worker(L);
    struct thread *t = w->thread;
    luaL_checktype(L, 1, LUA_TFUNCTION);
    struct worker *child = worker_new(t, t->first_worker_id + t->nworkers, w);
    if (!child)
        return luaL_error(L, "out of memory creating a parallel task");
    w->children++;
    t->alive++;
    /* A fresh coroutine is resumed with its function and arguments on its
     * stack: fn, child_w, arg. */
    lua_pushvalue(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, child->self_ref);
    lua_pushvalue(L, 2);
    lua_xmove(L, child->co, 3);
    child->resume_nargs_kind = RESUME_START;
    thread_schedule(t, child);
    return 0;
}

/* rt.join(): waits for every child; returns the first child error or nil. */
static int rt_join(lua_State *L)
{
    struct worker *w = rt_worker(L);
    if (w->children > 0) {
        w->wait = WAIT_CHILDREN;
        return lua_yield(L, 0);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, w->child_error_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, w->child_error_ref);
    w->child_error_ref = LUA_NOREF;
    return 1;
}

/* rt.own_globals(): the first global assignment by a running worker: from
 * now on every worker gets its own globals. Returns the calling worker's
 * global table, where the assignment goes. */
static int rt_own_globals(lua_State *L)
{
    struct worker *w = rt_worker(L);
    struct thread *t = w->thread;
    if (!t->per_worker_globals) {
        t->per_worker_globals = true;
        switch_env(t, w);
        t->env_owner = w;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, w->env_ref);
    return 1;
}

/* rt.info(): the band's shape, for scripts that split work. */
static int rt_info(lua_State *L)
{
    struct thread *t = rt_thread(L);
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, t->index + 1);
    lua_setfield(L, -2, "thread");
    lua_pushinteger(L, t->spec->workers);
    lua_setfield(L, -2, "workers");
    lua_pushinteger(L, t->spec->connections);
    lua_setfield(L, -2, "connections");
    lua_pushinteger(L, t->spec->mode == ENGINE_BAND ? (lua_Integer)t->spec->threads : 1);
    lua_setfield(L, -2, "threads");
    return 1;
}

int worker_open_rt(lua_State *L)
{
    struct thread *t = lua_touserdata(L, lua_upvalueindex(1));
    static const luaL_Reg fns[] = {
        {"ready", rt_ready},     {"next_tx", rt_next_tx}, {"finish_tx", rt_finish_tx},
        {"retry", rt_retry},     {"sleep", rt_sleep},     {"spawn", rt_spawn},
        {"join", rt_join},       {"info", rt_info},       {"own_globals", rt_own_globals},
        {"record", rt_record},   {"now", rt_now},
        {NULL, NULL},
    };
    lua_createtable(L, 0, 10);
    for (const luaL_Reg *f = fns; f->name; f++) {
        lua_pushlightuserdata(L, t);
        lua_pushcclosure(L, f->func, 1);
        lua_setfield(L, -2, f->name);
    }
    return 1;
}
