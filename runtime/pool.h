/*
 * A thread's connections, lent to one worker at a time. A worker that finds
 * none free waits in FIFO order (the time it waits is its pool wait). A
 * connection that breaks is reconnected with exponential backoff and counted;
 * it never ends a run on its own. Single-threaded: a pool belongs to one
 * engine thread and is touched only from its loop.
 */
#ifndef STORMDB_POOL_H
#define STORMDB_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/conn.h"

struct pool;

/* Embedded in whoever waits (a worker); `granted` is called from the loop
 * with the connection now held by the waiter. */
struct pool_waiter {
    struct pool_waiter *next;
    void (*granted)(struct pool_waiter *w, struct conn *c);
};

struct pool_events {
    /* Every connection of the first connect round is up (ok), or one failed
     * (ok false, with libpq's message). Called once. */
    void (*ready)(struct pool *p, bool ok, const char *error);
    /* Results for a held connection, forwarded to its holder. */
    void (*finished)(void *owner, struct conn *c, PGresult *r);
    void (*writable)(void *owner, struct conn *c);
};

struct pool *pool_new(struct loop *loop, int size, const char *const *keys, const char *const *values,
                      const struct pool_events *events, void *data);
void pool_free(struct pool *p);
void *pool_data(const struct pool *p);
int pool_size(const struct pool *p);

/* Starts connecting every connection; events->ready follows. */
void pool_connect(struct pool *p);

/* A free connection now (the holder becomes `owner`), or NULL. */
struct conn *pool_try_acquire(struct pool *p, void *owner);
/* Joins the FIFO queue; `granted` is called when a connection is free. */
void pool_wait(struct pool *p, struct pool_waiter *w, void *owner);
/* Leaves the queue (no-op if not in it). */
void pool_cancel_wait(struct pool *p, struct pool_waiter *w);
/* Gives a held connection back: to the first waiter, or to the free list,
 * or (when broken) to reconnection. */
void pool_release(struct pool *p, struct conn *c);

uint64_t pool_reconnects(const struct pool *p);
int pool_connections_up(const struct pool *p);
/* Since when no connection has been up (0 while at least one is). */
uint64_t pool_down_since(const struct pool *p);
/* libpq's message from the last failed (re)connect, or NULL. */
const char *pool_last_error(const struct pool *p);

#endif
