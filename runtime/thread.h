/*
 * An engine thread: one event loop, one LuaJIT state, a share of the workers
 * (coroutines) and a share of the connections (a pool). Everything here is
 * touched only by the thread itself, except the fields marked "shared", which
 * the engine reads or writes through atomics or under the mailbox mutex.
 *
 * A worker's life, as the thread sees it:
 *
 *   INIT     its coroutine runs the workload's init(w) (may query)
 *   READY    parked until the engine says go
 *   RUNNING  between transactions or inside one; while inside, it may be
 *            waiting for: a connection (WAIT_POOL), a result (WAIT_RESULT),
 *            a timer (WAIT_SLEEP), COPY output to drain (WAIT_WRITE), its
 *            children (WAIT_CHILDREN)
 *   DONE     its coroutine returned (the band ended) or failed
 *
 * A worker is resumed only from the loop (an fd, a timer, or the run queue),
 * never from inside another worker's resume, so Lua calls never nest.
 */
#ifndef STORMDB_THREAD_H
#define STORMDB_THREAD_H

#include <lua.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/engine.h"
#include "runtime/loop.h"
#include "runtime/pool.h"
#include "runtime/rand.h"
#include "runtime/schedule.h"
#include "runtime/stats.h"

struct thread;

enum worker_wait {
    WAIT_NONE, WAIT_GO, WAIT_POOL, WAIT_RESULT, WAIT_SLEEP, WAIT_WRITE, WAIT_CHILDREN, WAIT_CONNECT,
    WAIT_ARRIVAL,    /* open loop: idle until a scheduled start is due */
};

/* What a result is for, when it arrives. */
enum worker_op {
    OP_NONE,
    OP_ROWS,         /* db:query -> array of rows */
    OP_ROW,          /* db:row   -> first row or nil */
    OP_VALUE,        /* db:value -> first column of first row or nil */
    OP_COUNT,        /* db:exec  -> affected rows */
    OP_COPY_START,   /* db:copy  -> copier */
    OP_COPY_END,     /* copier:finish -> rows copied */
};

struct worker {
    struct thread *thread;
    int id;                      /* 1-based, unique in the band */
    lua_State *co;
    int co_ref, env_ref, self_ref;
    bool done, failed;

    struct rand_state *rand;     /* lives in the w.rand userdata */
    struct rand_state rand_saved;

    /* The transaction in progress (band mode). */
    int tx;                      /* index into the mix, -1 when between */
    uint64_t tx_start, wait_start, pool_wait_ns;
    uint64_t scheduled;          /* open loop: when it was due (latency counts from here) */
    int tries;
    bool tx_expired;             /* ran past --tx-timeout */
    uint32_t since_yield;        /* transactions run in this resume */
    uint64_t statements;         /* completed in the transaction in progress */
    struct loop_timer tx_timer;
    struct worker *idle_next;    /* open loop: in the thread's idle list */

    /* What it is waiting for. */
    enum worker_wait wait;
    enum worker_op op;
    struct pool_waiter waiter;
    struct loop_timer timer;
    struct conn *conn;           /* held until the transaction (or init) ends */
    struct conn *cmd;            /* the connection the command in flight runs on */
    int pending_ref;             /* w:connect(): the db being connected */

    /* A command to send as soon as a connection is granted, or the EXECUTE
     * to send after its PREPARE: the text and parameters live here because
     * the Lua frame that gave them is gone once the worker yields. */
    bool pending_send;
    int32_t stmt;                /* prepared statement id, -1 for plain text */
    bool preparing;
    char *sql;                   /* plain text (stmt == -1) */
    size_t sqlcap;
    char *params;                /* parameter texts back to back, NUL-terminated */
    size_t paramlen, paramcap;
    int nparams, capoffs;
    int *param_offs;             /* offset of each parameter in params, -1 = NULL */

    /* COPY IN: rows are formatted here and sent in large chunks. */
    char *copybuf;
    size_t copylen, copycap;

    /* ctx:parallel(): children finishing, and the first error among them. */
    struct worker *parent;
    int children;
    int child_error_ref;

    struct worker *runq_next;    /* in the thread's run queue */
    bool queued;
    int resume_nargs_kind;       /* enum worker_resume_kind */
};

struct thread {
    int index;
    pthread_t tid;
    const struct engine_spec *spec;
    struct engine_shared *shared;

    struct loop *loop;
    lua_State *L;
    struct pool *pool;
    int env_mt_ref;              /* metatable of the workload's global proxy */
    int workload_ref;
    int body_ref;                /* the coroutine body for this mode */
    struct worker *current;      /* the worker being resumed, if any */
    struct worker *env_owner;    /* whose globals the proxy points at */
    bool per_worker_globals;     /* a worker has assigned a global: switch per resume */

    struct worker **workers;
    int nworkers, capworkers, alive, parked;
    int first_worker_id, planned_workers, planned_connections;

    /* Transaction mix. */
    int ntx;
    char **tx_names;
    uint64_t *tx_cumweight;      /* cumulative weights; tx_cumweight[ntx-1] = total */
    bool *tx_uses_conn;

    /* Prepared statements registered in this Lua state. */
    char **stmt_sql;
    char (*stmt_name)[12];       /* "s0", "s1", ...: made once, used per execute */
    uint32_t nstmt, capstmt;

    struct worker *runq_head, *runq_tail;

    /* Open loop (--rate): this thread's share of the arrivals, the starts
     * due that no worker has taken yet, and the workers waiting for one. */
    bool open_loop;
    struct schedule schedule;
    struct start_queue starts;
    struct worker *idle_head, *idle_tail;
    struct loop_timer arrival_timer;

    bool pool_ready, draining, drained;
    /* Set by the Lua hook (thread.c) when the thread must stop running Lua:
     * no new transaction starts, and parked workers do not run. */
    bool lua_abort;
    char abort_reason[160];
    bool lua_protected;          /* running the state's own Lua under a pcall (set-up) */
    bool abandoned;              /* the engine gave up joining it (engine.c) */
    /* For the engine's message about a stuck thread (relaxed, shared): the
     * worker being resumed and its transaction (-1 between transactions). */
    _Atomic int running_worker, running_tx;
    /* Loop turns, published every turn (relaxed): a thread whose count
     * stands still is stuck in Lua. The engine's own bookkeeping follows. */
    _Atomic uint64_t heartbeat;
    uint64_t beats, seen_beat, seen_at;
    bool stuck;
    uint64_t drain_deadline;
    struct loop_timer measure_end_timer, publish_timer;
    uint64_t measure_start;

    struct stats *stats;         /* the band's figures: measure phase only */
    struct interval interval;    /* since the last publish */

    /* shared */
    int wake_fd;                 /* eventfd the engine writes to wake the loop */
    struct loop_watch wake_watch;
    pthread_mutex_t mailbox_lock;
    struct interval mailbox;
    _Atomic int state;           /* enum thread_state */
    char error[2048];            /* written before state becomes FAILED */
    int connections_up;          /* published with the mailbox */
};

enum thread_state { THREAD_STARTING, THREAD_READY, THREAD_RUNNING, THREAD_DRAINED, THREAD_FAILED, THREAD_EXITED };

/* The part of the engine the threads see. */
struct engine_shared {
    _Atomic uint64_t go_ns;            /* 0 until all threads are ready */
    _Atomic uint64_t measure_start_ns;
    _Atomic uint64_t measure_end_ns;   /* lowered when stopped early */
    _Atomic int stop;                  /* end the measure phase now */
    _Atomic int quit;                  /* close everything and exit */
    int notify_fd;                     /* eventfd the engine waits on */
    pthread_mutex_t report_lock;       /* script errors are printed once */
    char **reported;
    int nreported;
};

int thread_start(struct thread *t);
void thread_join(struct thread *t);
void thread_destroy(struct thread *t);

/* Called by workers. */
void thread_notify_engine(struct thread *t);
void thread_fail(struct thread *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void thread_schedule(struct thread *t, struct worker *w);   /* resume from the run queue */
void thread_report_once(struct thread *t, const char *message);

/* worker.c */
struct worker *worker_new(struct thread *t, int id, struct worker *parent);
void worker_free(struct worker *w);
/* What worker_resume_scheduled pushes: what the worker's yield expects. */
enum worker_resume_kind {
    RESUME_NOTHING, RESUME_TX, RESUME_NIL, RESUME_FALSE, RESUME_TRUE, RESUME_START, RESUME_SEND_FAILED,
};

/* Starts the worker's coroutine: body(w). */
void worker_start(struct worker *w);
/* Resumes with nargs values already pushed onto w->co. */
void worker_resume(struct worker *w, int nargs);
/* Resumes a worker taken off the run queue, with what its yield expects. */
void worker_resume_scheduled(struct worker *w);
void worker_band_ended(struct worker *w);  /* measure over: stop waiting for a connection */
/* Open loop: a scheduled start is due; an idle worker takes it, or it waits
 * in the thread's queue. */
void worker_arrival(struct thread *t, uint64_t scheduled);
/* Records a value (ns) in the named metric, if now is in the measure phase. */
void worker_record_metric(struct worker *w, const char *name, uint64_t ns);
int worker_open_rt(lua_State *L);          /* the "stormdb.rt" module: the C side of workers */

/* lua_db.c */
void db_register(lua_State *L, struct thread *t);   /* metatables, stormdb.dbcore */
void db_push(lua_State *L, struct worker *w);
int db_send_pending(struct worker *w);     /* send the command stored in w */
void db_push_error(lua_State *co, struct worker *w, const char *sqlstate, const char *message);
void db_on_finished(struct worker *w, PGresult *r);
void db_on_writable(struct worker *w);

#endif
