/*
 * Connection pool of one engine thread (see pool.h). Free connections are
 * handed out in FIFO order too, so every backend gets its share of the load
 * rather than the first few doing all the work.
 */
#include "runtime/pool.h"

#include <stdlib.h>
#include <string.h>

#include "runtime/clock.h"
#include "runtime/log.h"

#define BACKOFF_MIN_NS (50 * NS_PER_MS)
#define BACKOFF_MAX_NS (2 * NS_PER_SEC)

struct slot {
    struct conn conn;
    struct pool *pool;
    struct loop_timer retry;
    uint64_t backoff_ns;
    bool initial;          /* first connect round, not a reconnect */
    struct slot *next_free;
};

struct pool {
    struct loop *loop;
    struct slot *slots;
    int size;
    const char *const *keys, *const *values;
    const struct pool_events *events;
    void *data;
    struct slot *free_head, *free_tail;
    struct pool_waiter *wait_head, *wait_tail;
    int pending_initial;
    bool ready_reported;
    int up;
    uint64_t down_since;
    uint64_t reconnects;
    char last_error[256];
};

static void push_free(struct pool *p, struct slot *s)
{
    s->next_free = NULL;
    if (p->free_tail)
        p->free_tail->next_free = s;
    else
        p->free_head = s;
    p->free_tail = s;
}

static struct slot *pop_free(struct pool *p)
{
    struct slot *s = p->free_head;
    if (s) {
        p->free_head = s->next_free;
        if (!p->free_head)
            p->free_tail = NULL;
    }
    return s;
}

static void remove_free(struct pool *p, struct slot *s)
{
    struct slot **pp = &p->free_head, *prev = NULL;
    while (*pp && *pp != s) {
        prev = *pp;
        pp = &(*pp)->next_free;
    }
    if (!*pp)
        return;
    *pp = s->next_free;
    if (p->free_tail == s)
        p->free_tail = prev;
}

static struct pool_waiter *pop_waiter(struct pool *p)
{
    struct pool_waiter *w = p->wait_head;
    if (w) {
        p->wait_head = w->next;
        if (!p->wait_head)
            p->wait_tail = NULL;
    }
    return w;
}

/* A working connection is available: the longest waiter gets it. */
static void offer(struct pool *p, struct slot *s)
{
    struct pool_waiter *w = pop_waiter(p);
    if (!w) {
        s->conn.owner = NULL;
        push_free(p, s);
        return;
    }
    s->conn.owner = w; /* the waiter's granted() sets the real owner */
    w->granted(w, &s->conn);
}

static void start_connect(struct slot *s);

static void on_retry(struct loop_timer *t)
{
    start_connect((struct slot *)((char *)t - offsetof(struct slot, retry)));
}

static void mark_down(struct pool *p)
{
    if (--p->up == 0)
        p->down_since = clock_now_ns();
}

static void schedule_reconnect(struct slot *s)
{
    struct pool *p = s->pool;
    s->backoff_ns = s->backoff_ns ? s->backoff_ns * 2 : BACKOFF_MIN_NS;
    if (s->backoff_ns > BACKOFF_MAX_NS)
        s->backoff_ns = BACKOFF_MAX_NS;
    log_debug("pool: reconnecting in %llu ms", (unsigned long long)(s->backoff_ns / NS_PER_MS));
    loop_timer_start(p->loop, &s->retry, loop_update_now(p->loop) + s->backoff_ns);
}

static void on_connected(struct conn *c, bool ok, const char *error)
{
    struct slot *s = c->pool_data;
    struct pool *p = s->pool;
    if (!ok) {
        snprintf(p->last_error, sizeof p->last_error, "%s", error);
        log_debug("pool: connect failed: %s", error);
        if (s->initial && !p->ready_reported) {
            p->ready_reported = true;
            p->events->ready(p, false, error);
            return;
        }
        schedule_reconnect(s);
        return;
    }
    if (p->up++ == 0)
        p->down_since = 0;
    s->backoff_ns = 0;
    if (s->initial) {
        log_debug("pool: connection %d of %d up", p->size - p->pending_initial + 1, p->size);
        s->initial = false;
        if (--p->pending_initial == 0 && !p->ready_reported) {
            p->ready_reported = true;
            p->events->ready(p, true, NULL);
        }
    } else {
        p->reconnects++;
        log_debug("pool: reconnected");
    }
    offer(p, s);
}

static void on_finished(struct conn *c, PGresult *r)
{
    struct slot *s = c->pool_data;
    s->pool->events->finished(c->owner, c, r);
}

static void on_writable(struct conn *c)
{
    struct slot *s = c->pool_data;
    s->pool->events->writable(c->owner, c);
}

/* Broke while sitting in the free list. */
static void on_lost(struct conn *c, const char *error)
{
    struct slot *s = c->pool_data;
    struct pool *p = s->pool;
    log_debug("pool: idle connection lost: %s", error);
    snprintf(p->last_error, sizeof p->last_error, "%s", error);
    if (c->owner)
        return; /* held: the holder finds it DOWN and releases it */
    remove_free(p, s);
    mark_down(p);
    schedule_reconnect(s);
}

static const struct conn_handler handler = {
    .connected = on_connected,
    .finished = on_finished,
    .lost = on_lost,
    .writable = on_writable,
};

static void start_connect(struct slot *s)
{
    const char *error;
    if (conn_start(&s->conn, s->pool->keys, s->pool->values, &error) != 0)
        on_connected(&s->conn, false, error);
}

struct pool *pool_new(struct loop *loop, int size, const char *const *keys, const char *const *values,
                      const struct pool_events *events, void *data)
{
    struct pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->slots = calloc((size_t)(size > 0 ? size : 1), sizeof *p->slots);
    if (!p->slots) {
        free(p);
        return NULL;
    }
    p->loop = loop;
    p->size = size;
    p->keys = keys;
    p->values = values;
    p->events = events;
    p->data = data;
    for (int i = 0; i < size; i++) {
        struct slot *s = &p->slots[i];
        conn_init(&s->conn, loop, &handler);
        s->conn.pool_data = s;
        s->pool = p;
        s->retry.cb = on_retry;
    }
    return p;
}

void pool_free(struct pool *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->size; i++) {
        loop_timer_stop(p->loop, &p->slots[i].retry);
        conn_free(&p->slots[i].conn);
    }
    free(p->slots);
    free(p);
}

void *pool_data(const struct pool *p) { return p->data; }
int pool_size(const struct pool *p) { return p->size; }

void pool_connect(struct pool *p)
{
    p->pending_initial = p->size;
    if (p->size == 0) {
        p->ready_reported = true;
        p->events->ready(p, true, NULL);
        return;
    }
    for (int i = 0; i < p->size; i++) {
        p->slots[i].initial = true;
        start_connect(&p->slots[i]);
    }
}

struct conn *pool_try_acquire(struct pool *p, void *owner)
{
    struct slot *s = pop_free(p);
    if (!s)
        return NULL;
    s->conn.owner = owner;
    return &s->conn;
}

void pool_wait(struct pool *p, struct pool_waiter *w, void *owner)
{
    (void)owner;
    w->next = NULL;
    if (p->wait_tail)
        p->wait_tail->next = w;
    else
        p->wait_head = w;
    p->wait_tail = w;
}

void pool_cancel_wait(struct pool *p, struct pool_waiter *w)
{
    struct pool_waiter **pp = &p->wait_head, *prev = NULL;
    while (*pp && *pp != w) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (!*pp)
        return;
    *pp = w->next;
    if (p->wait_tail == w)
        p->wait_tail = prev;
    w->next = NULL;
}

void pool_release(struct pool *p, struct conn *c)
{
    struct slot *s = c->pool_data;
    c->owner = NULL;
    if (c->state == CONN_DOWN) {
        mark_down(p);
        schedule_reconnect(s);
        return;
    }
    offer(p, s);
}

uint64_t pool_reconnects(const struct pool *p) { return p->reconnects; }
int pool_connections_up(const struct pool *p) { return p->up; }
uint64_t pool_down_since(const struct pool *p) { return p->down_since; }
const char *pool_last_error(const struct pool *p) { return p->last_error[0] ? p->last_error : NULL; }
