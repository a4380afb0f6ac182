/*
 * One asynchronous libpq connection driven by the thread's event loop:
 * non-blocking connect (PQconnectStartParams / PQconnectPoll), sending a
 * command, flushing, and collecting its results as the socket becomes
 * readable. It knows nothing of Lua or workers: whoever owns the connection
 * for the moment is told through the callbacks below when the command has
 * finished or the connection has been lost.
 */
#ifndef STORMDB_CONN_H
#define STORMDB_CONN_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/loop.h"

enum conn_state {
    CONN_DOWN,        /* not connected (never, lost, or waiting to reconnect) */
    CONN_CONNECTING,
    CONN_IDLE,        /* connected, no command in flight */
    CONN_BUSY,        /* a command is in flight; results are being collected */
    CONN_COPY_IN,     /* COPY FROM STDIN accepted; data may be sent */
};

struct conn;

struct conn_handler {
    /* Connect finished: ok, or failed with libpq's message. */
    void (*connected)(struct conn *c, bool ok, const char *error);
    /* The command in flight is complete. `result` is the last result (or the
     * first error); ownership passes to the callee (PQclear it). NULL with
     * the connection DOWN means it was lost mid-command. */
    void (*finished)(struct conn *c, PGresult *result);
    /* Lost while nobody was waiting on it (server restart, terminated). */
    void (*lost)(struct conn *c, const char *error);
    /* COPY data could not all be written; called when it has drained. */
    void (*writable)(struct conn *c);
};

struct conn {
    PGconn *pg;
    enum conn_state state;
    struct loop *loop;
    struct loop_watch watch;
    const struct conn_handler *handler;
    void *owner;            /* the worker holding it, for the handler */
    void *pool_data;        /* the pool's own bookkeeping */
    PGresult *pending;      /* result kept while collecting the rest */
    bool want_write;        /* output not yet flushed */
    uint8_t *prepared;      /* bitmap: statement ids prepared on this connection */
    uint32_t prepared_bits;
    int server_version;
};

void conn_init(struct conn *c, struct loop *loop, const struct conn_handler *handler);
/* keys/values as for PQconnectStartParams with expand_dbname. Returns 0 when
 * the attempt started (the handler's connected() will follow), -1 when it
 * failed at once (message in *error, static or owned by nobody). */
int conn_start(struct conn *c, const char *const *keys, const char *const *values, const char **error);
/* Closes the connection (if any); the struct may be reused by conn_start. */
void conn_close(struct conn *c);
void conn_free(struct conn *c);

/* Sending a command: returns 0, or -1 with PQerrorMessage set. The handler's
 * finished() is called when the results are in. */
int conn_send_query(struct conn *c, const char *sql, int nparams, const char *const *values);
int conn_send_prepare(struct conn *c, const char *name, const char *sql);
int conn_send_prepared(struct conn *c, const char *name, int nparams, const char *const *values);

/* COPY IN: queue data (0 sent, 1 queued: wait for writable() before sending
 * more, -1 error) / end it (0, or -1; finished() follows with the result). */
int conn_copy_data(struct conn *c, const char *data, int len);
int conn_copy_end(struct conn *c, const char *errormsg);

bool conn_is_prepared(const struct conn *c, uint32_t id);
void conn_mark_prepared(struct conn *c, uint32_t id);

/* libpq's last error for this connection, trimmed; never NULL. */
const char *conn_error(const struct conn *c);

#endif
