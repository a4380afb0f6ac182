/*
 * Asynchronous libpq connection (see conn.h). The rules followed here are
 * libpq's for non-blocking use: after every send, flush until PQflush says 0
 * (waiting for write readiness in between); on read readiness, PQconsumeInput
 * and then take results while PQisBusy says they will not block; a NULL
 * result ends the command.
 */
#include "runtime/conn.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/log.h"

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

static void on_event(struct loop_watch *w, uint32_t events);

void conn_init(struct conn *c, struct loop *loop, const struct conn_handler *handler)
{
    memset(c, 0, sizeof *c);
    c->loop = loop;
    c->handler = handler;
    c->watch.fd = -1;
    c->watch.cb = on_event;
    c->state = CONN_DOWN;
}

const char *conn_error(const struct conn *c)
{
    /* libpq messages end in a newline and may have several lines; keep the
     * first, which is the one a user needs. */
    static __thread char buf[512];
    const char *msg = c->pg ? PQerrorMessage(c->pg) : "";
    if (!msg || !*msg)
        msg = "connection lost";
    size_t n = strcspn(msg, "\n");
    if (n >= sizeof buf)
        n = sizeof buf - 1;
    memcpy(buf, msg, n);
    buf[n] = '\0';
    return buf;
}

static void set_events(struct conn *c, uint32_t events)
{
    int fd = c->pg ? PQsocket(c->pg) : -1;
    if (fd != c->watch.fd) {
        loop_unwatch(c->loop, &c->watch);
        if (fd >= 0)
            loop_watch(c->loop, &c->watch, fd, events);
        return;
    }
    if (fd >= 0)
        loop_watch_events(c->loop, &c->watch, events);
}

void conn_close(struct conn *c)
{
    loop_unwatch(c->loop, &c->watch);
    if (c->pending) {
        PQclear(c->pending);
        c->pending = NULL;
    }
    if (c->pg) {
        PQfinish(c->pg);
        c->pg = NULL;
    }
    /* A new session knows none of the old one's prepared statements. */
    if (c->prepared)
        memset(c->prepared, 0, (c->prepared_bits + 7) / 8);
    c->want_write = false;
    c->state = CONN_DOWN;
}

void conn_free(struct conn *c)
{
    conn_close(c);
    free(c->prepared);
    c->prepared = NULL;
    c->prepared_bits = 0;
}

int conn_start(struct conn *c, const char *const *keys, const char *const *values, const char **error)
{
    conn_close(c);
    c->pg = PQconnectStartParams(keys, values, 1);
    if (!c->pg || PQstatus(c->pg) == CONNECTION_BAD) {
        *error = c->pg ? conn_error(c) : "out of memory";
        conn_close(c);
        return -1;
    }
    c->state = CONN_CONNECTING;
    /* libpq: behave as if PQconnectPoll had last returned PGRES_POLLING_WRITING. */
    set_events(c, EPOLLOUT);
    return 0;
}

static void fail_connect(struct conn *c)
{
    const char *msg = conn_error(c);
    conn_close(c);
    c->handler->connected(c, false, msg);
}

/* Server notices (NOTICE: table does not exist, skipping) are not results:
 * they go to the debug log instead of cluttering the console. */
static void on_notice(void *arg, const char *message)
{
    (void)arg;
    log_debug("server: %.*s", (int)strcspn(message, "\n"), message);
}

static void poll_connect(struct conn *c)
{
    switch (PQconnectPoll(c->pg)) {
    case PGRES_POLLING_READING:
        set_events(c, EPOLLIN);
        return;
    case PGRES_POLLING_WRITING:
        set_events(c, EPOLLOUT);
        return;
    case PGRES_POLLING_OK:
        if (PQsetnonblocking(c->pg, 1) != 0) {
            fail_connect(c);
            return;
        }
        c->state = CONN_IDLE;
        c->server_version = PQserverVersion(c->pg);
        PQsetNoticeProcessor(c->pg, on_notice, NULL);
        set_events(c, EPOLLIN);
        c->handler->connected(c, true, NULL);
        return;
    default:
        fail_connect(c);
        return;
    }
}

/* The connection broke: tell whoever is waiting on it. */
static void lose(struct conn *c)
{
    enum conn_state was = c->state;
    const char *msg = conn_error(c);
    PGresult *pending = c->pending;
    c->pending = NULL;
    conn_close(c);
    if (was == CONN_BUSY || was == CONN_COPY_IN) {
        if (pending && PQresultStatus(pending) == PGRES_FATAL_ERROR) {
            c->handler->finished(c, pending); /* e.g. 57P01 terminating connection */
            return;
        }
        PQclear(pending);
        c->handler->finished(c, NULL);
    } else {
        PQclear(pending);
        c->handler->lost(c, msg);
    }
}

static int flush(struct conn *c)
{
    int rc = PQflush(c->pg);
    if (rc < 0)
        return -1;
    c->want_write = rc == 1;
    set_events(c, c->want_write ? EPOLLIN | EPOLLOUT : EPOLLIN);
    return rc;
}

static int is_error(const PGresult *r)
{
    ExecStatusType st = PQresultStatus(r);
    return st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE || st == PGRES_NONFATAL_ERROR;
}

static void complete(struct conn *c)
{
    PGresult *r = c->pending;
    c->pending = NULL;
    c->state = CONN_IDLE;
    if (PQstatus(c->pg) == CONNECTION_BAD) {
        conn_close(c);
        if (!r) {
            c->handler->finished(c, NULL);
            return;
        }
    }
    c->handler->finished(c, r);
}

/* Takes every result that is ready; delivers when the command is over. */
static void collect(struct conn *c)
{
    while (c->pg && !PQisBusy(c->pg)) {
        PGresult *r = PQgetResult(c->pg);
        if (!r) {
            complete(c);
            return;
        }
        if (PQresultStatus(r) == PGRES_COPY_IN) {
            PQclear(c->pending);
            c->pending = NULL;
            c->state = CONN_COPY_IN;
            c->handler->finished(c, r);
            return;
        }
        /* Keep the last result, but never let a later one hide an error. */
        if (c->pending && is_error(c->pending)) {
            PQclear(r);
        } else {
            PQclear(c->pending);
            c->pending = r;
        }
    }
}

static void on_event(struct loop_watch *w, uint32_t events)
{
    struct conn *c = container_of(w, struct conn, watch);
    if (c->state == CONN_CONNECTING) {
        poll_connect(c);
        return;
    }
    if (!c->pg)
        return;
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        if (!PQconsumeInput(c->pg)) {
            lose(c);
            return;
        }
    }
    if (c->want_write && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        if (flush(c) < 0) {
            lose(c);
            return;
        }
        if (!c->want_write && c->state == CONN_COPY_IN && c->handler->writable) {
            c->handler->writable(c);
            return;
        }
    }
    switch (c->state) {
    case CONN_BUSY:
        collect(c);
        break;
    case CONN_IDLE: {
        /* Nothing asked: a notice, a notification, or the server going away. */
        PGnotify *n;
        while ((n = PQnotifies(c->pg)))
            PQfreemem(n);
        if (PQstatus(c->pg) == CONNECTION_BAD)
            lose(c);
        break;
    }
    default:
        break;
    }
}

static int after_send(struct conn *c, int ok)
{
    if (!ok)
        return -1;
    c->state = CONN_BUSY;
    if (flush(c) < 0)
        return -1;
    return 0;
}

int conn_send_query(struct conn *c, const char *sql, int nparams, const char *const *values)
{
    /* Without parameters use the simple protocol, so scripts may send
     * several statements in one string (as psql -c would). */
    if (nparams == 0)
        return after_send(c, PQsendQuery(c->pg, sql));
    return after_send(c, PQsendQueryParams(c->pg, sql, nparams, NULL, values, NULL, NULL, 0));
}

int conn_send_prepare(struct conn *c, const char *name, const char *sql)
{
    return after_send(c, PQsendPrepare(c->pg, name, sql, 0, NULL));
}

int conn_send_prepared(struct conn *c, const char *name, int nparams, const char *const *values)
{
    return after_send(c, PQsendQueryPrepared(c->pg, name, nparams, values, NULL, NULL, 0));
}

int conn_copy_data(struct conn *c, const char *data, int len)
{
    /* In non-blocking mode libpq queues the data (growing its buffer) and
     * sends what the socket takes; 0 would mean it could not even queue. */
    if (PQputCopyData(c->pg, data, len) != 1)
        return -1;
    return flush(c);
}

int conn_copy_end(struct conn *c, const char *errormsg)
{
    if (PQputCopyEnd(c->pg, errormsg) != 1)
        return -1;
    c->state = CONN_BUSY;
    return flush(c) < 0 ? -1 : 0;
}

bool conn_is_prepared(const struct conn *c, uint32_t id)
{
    return id < c->prepared_bits && (c->prepared[id / 8] & (1u << (id % 8)));
}

void conn_mark_prepared(struct conn *c, uint32_t id)
{
    if (id >= c->prepared_bits) {
        uint32_t bits = (id + 64) & ~63u;
        uint8_t *p = realloc(c->prepared, bits / 8);
        if (!p)
            return; /* it will simply be prepared again next time */
        memset(p + (c->prepared_bits + 7) / 8, 0, bits / 8 - (c->prepared_bits + 7) / 8);
        c->prepared = p;
        c->prepared_bits = bits;
    }
    c->prepared[id / 8] |= (uint8_t)(1u << (id % 8));
}
