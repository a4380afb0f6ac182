/*
 * w.db: what a worker's script calls to talk to PostgreSQL. Each call copies
 * its statement and parameters into the worker, sends them on the worker's
 * connection (taking one from the pool first if it holds none) and yields;
 * the loop resumes the worker with the result once it is in. The Lua wrappers
 * in scripts/stormdb/db.lua turn (ok, value) into a return or an error, so a
 * script reads like synchronous code.
 *
 * Values come back by type: integers and floating point (numeric included)
 * as Lua numbers, booleans as booleans, NULL as nil, everything else as the
 * server's text.
 */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/clock.h"
#include "runtime/log.h"
#include "runtime/thread.h"

#define DB_MT "stormdb.db"
#define STMT_MT "stormdb.statement"
#define COPIER_MT "stormdb.copier"
#define COPY_CHUNK (128 * 1024)

/* PostgreSQL type OIDs (pg_type.dat), for converting results. */
enum { BOOLOID = 16, INT8OID = 20, INT2OID = 21, INT4OID = 23, OIDOID = 26, FLOAT4OID = 700,
       FLOAT8OID = 701, NUMERICOID = 1700 };

/* w.db uses the connection the worker borrowed from the pool; a db made by
 * w:connect() owns a connection of its own (`own`), opened and closed by
 * the script (connection churn). */
struct db_ud {
    struct worker *w;
    struct conn *own;
};
struct stmt_ud { uint32_t id; };
struct copier_ud { struct worker *w; struct conn *conn; bool open; uint64_t rows; };

static struct thread *up_thread(lua_State *L) { return lua_touserdata(L, lua_upvalueindex(1)); }

/* The userdata at idx if its metatable is the one in upvalue `up`: the same
 * check as luaL_checkudata without a registry lookup by name, which is
 * measurable at 100 000 calls a second. */
static void *to_udata(lua_State *L, int idx, int up)
{
    void *p = lua_touserdata(L, idx);
    if (!p || !lua_getmetatable(L, idx))
        return NULL;
    int same = lua_rawequal(L, -1, lua_upvalueindex(up));
    lua_pop(L, 1);
    return same ? p : NULL;
}

static struct db_ud *check_db(lua_State *L)
{
    struct db_ud *d = to_udata(L, 1, 2);
    if (!d)
        luaL_typerror(L, 1, "db");
    struct worker *w = d->w;
    if (w->thread->current != w || w->co != L)
        luaL_error(L, "db: call it from its own worker (w.db), not from another coroutine or worker");
    return d;
}

/* The connection a db talks on now (NULL when w.db holds none yet). */
static struct conn *db_conn(const struct db_ud *d) { return d->own ? d->own : d->w->conn; }

/* --- growing buffers ---------------------------------------------------- */

static char *reserve(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return *buf;
    size_t n = *cap ? *cap : 256;
    while (n < need)
        n *= 2;
    char *p = realloc(*buf, n);
    if (!p)
        return NULL;
    *buf = p;
    *cap = n;
    return p;
}

/* Integers print without a decimal point ("42", not "42.0"), and without
 * snprintf, which showed up at 8% of a point-select transaction's CPU. */
static int format_number(char *out, size_t size, lua_Number x)
{
    if (!(x >= -9.2e18 && x <= 9.2e18 && x == (lua_Number)(long long)x))
        return snprintf(out, size, "%.17g", x);
    long long v = (long long)x;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    int len = 0;
    if (v < 0)
        out[len++] = '-';
    while (n)
        out[len++] = tmp[--n];
    out[len] = '\0';
    return len;
}

/* The text PostgreSQL reads for a Lua value: numbers as digits, booleans
 * as t/f, strings as they are (num is scratch space for numbers). NULL for
 * nil and for values that have no text form (tables, functions). */
static const char *value_text(lua_State *L, int idx, char num[32], size_t *len)
{
    switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
        *len = (size_t)format_number(num, 32, lua_tonumber(L, idx));
        return num;
    case LUA_TBOOLEAN:
        *len = 1;
        return lua_toboolean(L, idx) ? "t" : "f";
    case LUA_TSTRING:
        return lua_tolstring(L, idx, len);
    default:
        return NULL;
    }
}

/* PQcmdTuples' digits, without strtod. */
static lua_Number parse_count(const char *s)
{
    lua_Number n = 0;
    for (; s && *s >= '0' && *s <= '9'; s++)
        n = n * 10 + (*s - '0');
    return n;
}

/* --- errors ------------------------------------------------------------- */

static int error_tostring(lua_State *L)
{
    lua_getfield(L, 1, "severity");
    lua_getfield(L, 1, "message");
    lua_getfield(L, 1, "sqlstate");
    lua_getfield(L, 1, "statement");
    const char *stmt = lua_tostring(L, -1);
    if (stmt)
        lua_pushfstring(L, "%s: %s (SQLSTATE %s) in: %s", luaL_optstring(L, -4, "ERROR"),
                        luaL_optstring(L, -3, "?"), luaL_optstring(L, -2, "?????"), stmt);
    else
        lua_pushfstring(L, "%s: %s (SQLSTATE %s)", luaL_optstring(L, -4, "ERROR"), luaL_optstring(L, -3, "?"),
                        luaL_optstring(L, -2, "?????"));
    return 1;
}

static const char *statement_text(struct worker *w)
{
    if (w->stmt >= 0 && (uint32_t)w->stmt < w->thread->nstmt)
        return w->thread->stmt_sql[w->stmt];
    return w->sql;
}

static void set_field(lua_State *co, const char *key, const char *value)
{
    if (!value || !*value)
        return;
    size_t n = strlen(value);
    while (n > 0 && value[n - 1] == '\n')
        n--;
    lua_pushlstring(co, value, n);
    lua_setfield(co, -2, key);
}

/* An error value scripts can inspect: err.sqlstate, err.message, ... */
void db_push_error(lua_State *co, struct worker *w, const char *sqlstate, const char *message)
{
    lua_createtable(co, 0, 6);
    set_field(co, "severity", "ERROR");
    set_field(co, "sqlstate", sqlstate);
    set_field(co, "message", message);
    const char *stmt = statement_text(w);
    if (stmt) {
        char shortened[256];
        snprintf(shortened, sizeof shortened, "%s", stmt);
        set_field(co, "statement", shortened);
    }
    luaL_getmetatable(co, "stormdb.sqlerror");
    lua_setmetatable(co, -2);
}

static void push_result_error(lua_State *co, struct worker *w, const PGresult *r)
{
    db_push_error(co, w, PQresultErrorField(r, PG_DIAG_SQLSTATE), PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
    set_field(co, "severity", PQresultErrorField(r, PG_DIAG_SEVERITY));
    set_field(co, "detail", PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL));
    set_field(co, "hint", PQresultErrorField(r, PG_DIAG_MESSAGE_HINT));
    if (!PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY))
        set_field(co, "message", PQresultErrorMessage(r));
}

/* --- results ------------------------------------------------------------ */

static void push_value(lua_State *co, const PGresult *r, int row, int col)
{
    const char *v = PQgetvalue(r, row, col);
    switch (PQftype(r, col)) {
    case BOOLOID:
        lua_pushboolean(co, v[0] == 't');
        return;
    case INT2OID:
    case INT4OID:
    case INT8OID:
    case OIDOID:
        lua_pushnumber(co, (lua_Number)strtoll(v, NULL, 10));
        return;
    case FLOAT4OID:
    case FLOAT8OID:
    case NUMERICOID:
        lua_pushnumber(co, strtod(v, NULL));
        return;
    default:
        lua_pushlstring(co, v, (size_t)PQgetlength(r, row, col));
    }
}

static void push_row(lua_State *co, const PGresult *r, int row)
{
    int nf = PQnfields(r);
    lua_createtable(co, 0, nf);
    for (int j = 0; j < nf; j++) {
        if (PQgetisnull(r, row, j))
            continue;
        push_value(co, r, row, j);
        lua_setfield(co, -2, PQfname(r, j));
    }
}

static void push_copier(lua_State *co, struct worker *w)
{
    struct copier_ud *c = lua_newuserdata(co, sizeof *c);
    c->w = w;
    c->conn = w->cmd;
    c->open = true;
    c->rows = 0;
    luaL_getmetatable(co, COPIER_MT);
    lua_setmetatable(co, -2);
}

/* Pushes (ok, value) on the worker's stack for the result of w->op. */
static void push_outcome(struct worker *w, PGresult *r)
{
    lua_State *co = w->co;
    if (!r) {
        lua_pushboolean(co, 0);
        db_push_error(co, w, "08006", w->cmd ? conn_error(w->cmd) : "connection lost");
        return;
    }
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_COPY_IN && st != PGRES_EMPTY_QUERY) {
        lua_pushboolean(co, 0);
        push_result_error(co, w, r);
        return;
    }
    lua_pushboolean(co, 1);
    switch (w->op) {
    case OP_ROWS: {
        int n = PQntuples(r);
        lua_createtable(co, n, 0);
        for (int i = 0; i < n; i++) {
            push_row(co, r, i);
            lua_rawseti(co, -2, i + 1);
        }
        return;
    }
    case OP_ROW:
        if (PQntuples(r) > 0)
            push_row(co, r, 0);
        else
            lua_pushnil(co);
        return;
    case OP_VALUE:
        if (PQntuples(r) > 0 && PQnfields(r) > 0 && !PQgetisnull(r, 0, 0))
            push_value(co, r, 0, 0);
        else
            lua_pushnil(co);
        return;
    case OP_COPY_START:
        if (st != PGRES_COPY_IN) {
            lua_pop(co, 1);
            lua_pushboolean(co, 0);
            db_push_error(co, w, "42601", "db:copy() needs a COPY ... FROM STDIN statement");
            return;
        }
        push_copier(co, w);
        return;
    default:
        lua_pushnumber(co, parse_count(PQcmdTuples(r)));
        return;
    }
}

void db_on_finished(struct worker *w, PGresult *r)
{
    if (w->preparing) {
        w->preparing = false;
        if (r && PQresultStatus(r) == PGRES_COMMAND_OK) {
            PQclear(r);
            conn_mark_prepared(w->cmd, (uint32_t)w->stmt);
            if (db_send_pending(w) == 0)
                return; /* now the EXECUTE */
            r = NULL;
        }
    }
    w->statements++; /* counted with its transaction, so QPS and TPS cover the same work */
    push_outcome(w, r);
    PQclear(r);
    w->op = OP_NONE;
    if (w->wait == WAIT_RESULT)
        worker_resume(w, 2);
}

void db_on_writable(struct worker *w)
{
    if (w->wait == WAIT_WRITE)
        worker_resume(w, 0);
}

/* --- sending ------------------------------------------------------------ */

int db_send_pending(struct worker *w)
{
    struct conn *c = w->cmd;
    if (!c || c->state != CONN_IDLE)
        return -1;
    const char *values_small[16];
    const char **values = values_small;
    if (w->nparams > 16 && !(values = malloc((size_t)w->nparams * sizeof *values)))
        return -1;
    for (int i = 0; i < w->nparams; i++)
        values[i] = w->param_offs[i] < 0 ? NULL : w->params + w->param_offs[i];
    int rc;
    if (w->stmt < 0) {
        rc = conn_send_query(c, w->sql, w->nparams, values);
    } else {
        const char *name = w->thread->stmt_name[w->stmt];
        if (conn_is_prepared(c, (uint32_t)w->stmt)) {
            rc = conn_send_prepared(c, name, w->nparams, values);
        } else {
            w->preparing = true;
            rc = conn_send_prepare(c, name, w->thread->stmt_sql[w->stmt]);
        }
    }
    if (values != values_small)
        free(values);
    return rc;
}

/* Copies the statement (text or prepared id) and parameters from the Lua
 * stack (from index `first`) into the worker. */
static void store_command(lua_State *L, struct worker *w, int first)
{
    int top = lua_gettop(L);
    struct stmt_ud *s = lua_type(L, first) == LUA_TUSERDATA ? to_udata(L, first, 3) : NULL;
    if (s) {
        w->stmt = (int32_t)s->id;
    } else {
        size_t len;
        const char *sql = luaL_checklstring(L, first, &len);
        if (!reserve(&w->sql, &w->sqlcap, len + 1))
            luaL_error(L, "out of memory");
        memcpy(w->sql, sql, len + 1);
        w->stmt = -1;
    }
    int n = top - first;
    if (n > w->capoffs) {
        int *p = realloc(w->param_offs, (size_t)n * sizeof *p);
        if (!p)
            luaL_error(L, "out of memory");
        w->param_offs = p;
        w->capoffs = n;
    }
    w->nparams = n;
    w->paramlen = 0;
    for (int i = 0; i < n; i++) {
        int idx = first + 1 + i;
        char num[32];
        size_t len;
        if (lua_isnil(L, idx)) {
            w->param_offs[i] = -1;
            continue;
        }
        const char *v = value_text(L, idx, num, &len);
        if (!v)
            luaL_error(L, "parameter $%d: cannot send a %s (use a number, string, boolean or nil)", i + 1,
                       luaL_typename(L, idx));
        if (!reserve(&w->params, &w->paramcap, w->paramlen + len + 1))
            luaL_error(L, "out of memory");
        memcpy(w->params + w->paramlen, v, len);
        w->params[w->paramlen + len] = '\0';
        w->param_offs[i] = (int)w->paramlen;
        w->paramlen += len + 1;
    }
}

/* Sends w's command on d's connection, taking one from the pool first if
 * w.db holds none (waiting if need be): yields, or returns (false, err). */
static int send_and_wait(lua_State *L, struct db_ud *d)
{
    struct worker *w = d->w;
    struct thread *t = w->thread;
    if (!d->own && !w->conn) {
        w->conn = pool_try_acquire(t->pool, w);
        if (!w->conn) {
            w->pending_send = true;
            w->wait = WAIT_POOL;
            pool_wait(t->pool, &w->waiter, w);
            return lua_yield(L, 0);
        }
    }
    w->cmd = db_conn(d);
    if (db_send_pending(w) != 0) {
        w->op = OP_NONE;
        w->preparing = false;
        lua_pushboolean(L, 0);
        db_push_error(L, w, "08006", w->cmd->state == CONN_DOWN ? conn_error(w->cmd)
                                                                : "connection is busy, closed or lost");
        return 2;
    }
    w->wait = WAIT_RESULT;
    return lua_yield(L, 0);
}

/* db:_send(op, sql_or_statement, ...) -> yields; resumed with (ok, value) */
static int db_send(lua_State *L)
{
    struct db_ud *d = check_db(L);
    struct worker *w = d->w;
    int op = (int)luaL_checkinteger(L, 2);
    if (op < OP_ROWS || op > OP_COPY_START)
        return luaL_error(L, "db: bad operation");
    struct conn *c = db_conn(d);
    if (c && c->state == CONN_COPY_IN)
        return luaL_error(L, "db: a COPY is in progress on this connection; call copier:finish() first");
    if (d->own && d->own->state == CONN_DOWN)
        return luaL_error(L, "db: this connection is closed");
    store_command(L, w, 3);
    if (w->thread->spec->mode == ENGINE_CALL && log_enabled(LOG_DEBUG))
        log_debug("%s: %s", w->thread->spec->call, statement_text(w));
    if (w->tx_expired) {
        lua_pushboolean(L, 0);
        db_push_error(L, w, "57014", "transaction ran longer than --tx-timeout");
        return 2;
    }
    w->op = (enum worker_op)op;
    return send_and_wait(L, d);
}

/* stormdb.db.prepare(sql) / db:prepare(sql): a statement prepared on each
 * connection the first time it is used there. */
static int db_prepare(lua_State *L)
{
    struct thread *t = up_thread(L);
    const char *sql = luaL_checkstring(L, lua_type(L, 1) == LUA_TUSERDATA ? 2 : 1);
    for (uint32_t i = 0; i < t->nstmt; i++) {
        if (strcmp(t->stmt_sql[i], sql) == 0) {
            struct stmt_ud *s = lua_newuserdata(L, sizeof *s);
            s->id = i;
            luaL_getmetatable(L, STMT_MT);
            lua_setmetatable(L, -2);
            return 1;
        }
    }
    if (t->nstmt == t->capstmt) {
        uint32_t cap = t->capstmt ? t->capstmt * 2 : 16;
        char **p = realloc(t->stmt_sql, cap * sizeof *p);
        if (p)
            t->stmt_sql = p;
        char (*names)[12] = realloc(t->stmt_name, cap * sizeof *names);
        if (names)
            t->stmt_name = names;
        if (!p || !names)
            return luaL_error(L, "out of memory");
        t->capstmt = cap;
    }
    t->stmt_sql[t->nstmt] = strdup(sql);
    snprintf(t->stmt_name[t->nstmt], sizeof t->stmt_name[0], "s%u", t->nstmt);
    struct stmt_ud *s = lua_newuserdata(L, sizeof *s);
    s->id = t->nstmt++;
    luaL_getmetatable(L, STMT_MT);
    lua_setmetatable(L, -2);
    return 1;
}

static int db_in_transaction(lua_State *L)
{
    struct conn *c = db_conn(check_db(L));
    int st = c && c->pg ? (int)PQtransactionStatus(c->pg) : PQTRANS_IDLE;
    lua_pushboolean(L, st == PQTRANS_INTRANS || st == PQTRANS_INERROR);
    return 1;
}

static int db_connected(lua_State *L)
{
    struct conn *c = db_conn(check_db(L));
    lua_pushboolean(L, c != NULL && c->state != CONN_DOWN && c->state != CONN_CONNECTING);
    return 1;
}

static int db_server_version(lua_State *L)
{
    struct conn *c = db_conn(check_db(L));
    if (!c || !c->server_version)
        return 0;
    lua_pushinteger(L, c->server_version);
    return 1;
}

/* --- connections of one's own: w:connect() ------------------------------- */

static void own_connected(struct conn *c, bool ok, const char *error)
{
    struct worker *w = c->owner;
    struct thread *t = w->thread;
    uint64_t now = loop_update_now(t->loop);
    if (ok)
        worker_record_metric(w, "connect", now - w->wait_start);
    lua_rawgeti(w->co, LUA_REGISTRYINDEX, w->pending_ref);
    luaL_unref(w->co, LUA_REGISTRYINDEX, w->pending_ref);
    w->pending_ref = LUA_NOREF;
    if (ok) {
        lua_pushboolean(w->co, 1);
        lua_insert(w->co, -2);
    } else {
        lua_pop(w->co, 1);
        lua_pushboolean(w->co, 0);
        w->stmt = -1;
        w->sql[0] = '\0';
        db_push_error(w->co, w, "08006", error);
    }
    if (w->wait == WAIT_CONNECT)
        worker_resume(w, 2);
}

static void own_finished(struct conn *c, PGresult *r) { db_on_finished(c->owner, r); }
static void own_writable(struct conn *c) { db_on_writable(c->owner); }
static void own_lost(struct conn *c, const char *error)
{
    (void)c;
    log_debug("db: a w:connect() connection was lost: %s", error);
}

static const struct conn_handler own_handler = {
    .connected = own_connected,
    .finished = own_finished,
    .lost = own_lost,
    .writable = own_writable,
};

/* db:_connect() -> yields; resumed with (true, new db) or (false, err). The
 * time to connect is recorded as the metric "connect". */
static int db_connect(lua_State *L)
{
    struct db_ud *d = check_db(L);
    struct worker *w = d->w;
    struct thread *t = w->thread;
    struct db_ud *nd = lua_newuserdata(L, sizeof *nd);
    nd->w = w;
    nd->own = calloc(1, sizeof *nd->own);
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_setmetatable(L, -2);
    if (!nd->own)
        return luaL_error(L, "out of memory");
    conn_init(nd->own, t->loop, &own_handler);
    nd->own->owner = w;
    if (!reserve(&w->sql, &w->sqlcap, 1))
        return luaL_error(L, "out of memory");
    w->wait_start = loop_update_now(t->loop);
    const char *error = NULL;
    if (conn_start(nd->own, t->spec->conn_keys, t->spec->conn_values, &error) != 0) {
        lua_pushboolean(L, 0);
        w->stmt = -1;
        w->sql[0] = '\0';
        db_push_error(L, w, "08006", error);
        return 2;
    }
    w->pending_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    w->wait = WAIT_CONNECT;
    return lua_yield(L, 0);
}

/* db:close(): closes a connection made by w:connect(). */
static int db_close(lua_State *L)
{
    struct db_ud *d = to_udata(L, 1, 2);
    if (!d)
        return luaL_typerror(L, 1, "db");
    if (!d->own)
        return luaL_error(L, "db:close(): only a connection made by w:connect() can be closed");
    conn_close(d->own);
    return 0;
}

static int db_gc(lua_State *L)
{
    struct db_ud *d = lua_touserdata(L, 1);
    if (d && d->own) {
        conn_free(d->own);
        free(d->own);
        d->own = NULL;
    }
    return 0;
}

/* --- COPY FROM STDIN ----------------------------------------------------- */

static struct copier_ud *check_copier(lua_State *L)
{
    struct copier_ud *c = to_udata(L, 1, 2);
    if (!c)
        luaL_typerror(L, 1, "copier");
    if (!c->open)
        luaL_error(L, "copier: this COPY is already finished");
    if (c->w->thread->current != c->w || c->w->co != L)
        luaL_error(L, "copier: use it from the worker that started the COPY");
    if (!c->conn || c->conn->state != CONN_COPY_IN)
        luaL_error(L, "copier: the connection left COPY mode (lost?)");
    return c;
}

/* Appends one value in COPY's text format. */
static int append_field(lua_State *L, struct worker *w, int idx)
{
    char num[32];
    size_t len = 2;
    const char *v = lua_isnil(L, idx) ? "\\N" : value_text(L, idx, num, &len);
    if (!v)
        return luaL_error(L, "copier:row(): value %d is a %s", idx - 1, luaL_typename(L, idx));
    if (!reserve(&w->copybuf, &w->copycap, w->copylen + 2 * len + 2))
        return luaL_error(L, "out of memory");
    char *out = w->copybuf + w->copylen;
    if (lua_type(L, idx) != LUA_TSTRING) {
        memcpy(out, v, len);
        out += len;
    } else {
        for (size_t i = 0; i < len; i++) {
            char ch = v[i];
            switch (ch) {
            case '\\': *out++ = '\\'; *out++ = '\\'; break;
            case '\t': *out++ = '\\'; *out++ = 't'; break;
            case '\n': *out++ = '\\'; *out++ = 'n'; break;
            case '\r': *out++ = '\\'; *out++ = 'r'; break;
            default: *out++ = ch;
            }
        }
    }
    w->copylen = (size_t)(out - w->copybuf);
    return 0;
}

/* Sends the buffered rows; yields while the socket is full. */
static int flush_copy(lua_State *L, struct copier_ud *c)
{
    struct worker *w = c->w;
    if (w->copylen == 0)
        return 0;
    int rc = conn_copy_data(c->conn, w->copybuf, (int)w->copylen);
    w->copylen = 0;
    if (rc < 0)
        return luaL_error(L, "COPY failed: %s", conn_error(c->conn));
    if (rc == 1) {
        w->wait = WAIT_WRITE;
        return lua_yield(L, 0);
    }
    return 0;
}

/* copier:row(v1, v2, ...) */
static int copier_row(lua_State *L)
{
    struct copier_ud *c = check_copier(L);
    struct worker *w = c->w;
    int top = lua_gettop(L);
    for (int i = 2; i <= top; i++) {
        append_field(L, w, i);
        w->copybuf[w->copylen++] = i < top ? '\t' : '\n';
    }
    if (top < 2)
        return luaL_error(L, "copier:row() needs at least one value");
    c->rows++;
    return w->copylen >= COPY_CHUNK ? flush_copy(L, c) : 0;
}

/* copier:_flush(): send what is buffered (used by finish). */
static int copier_flush(lua_State *L)
{
    struct copier_ud *c = check_copier(L);
    return flush_copy(L, c);
}

/* copier:_end() -> yields; resumed with (ok, rows) */
static int copier_end(lua_State *L)
{
    struct copier_ud *c = check_copier(L);
    struct worker *w = c->w;
    c->open = false;
    w->op = OP_COPY_END;
    w->cmd = c->conn;
    if (conn_copy_end(c->conn, NULL) != 0) {
        lua_pushboolean(L, 0);
        db_push_error(L, w, "08006", conn_error(c->conn));
        return 2;
    }
    w->wait = WAIT_RESULT;
    return lua_yield(L, 0);
}

static int copier_rows(lua_State *L)
{
    struct copier_ud *c = to_udata(L, 1, 2);
    if (!c)
        luaL_typerror(L, 1, "copier");
    lua_pushnumber(L, (lua_Number)c->rows);
    return 1;
}

/* --- registration ---------------------------------------------------------- */

void db_push(lua_State *L, struct worker *w)
{
    struct db_ud *d = lua_newuserdata(L, sizeof *d);
    d->w = w;
    d->own = NULL;
    luaL_getmetatable(L, DB_MT);
    lua_setmetatable(L, -2);
}

/* Methods get three upvalues: the thread, their own metatable (for the
 * type check of self) and the statement metatable. */
static void set_methods(lua_State *L, struct thread *t, const char *own_mt, const luaL_Reg *fns)
{
    for (const luaL_Reg *f = fns; f->name; f++) {
        lua_pushlightuserdata(L, t);
        luaL_getmetatable(L, own_mt);
        luaL_getmetatable(L, STMT_MT);
        lua_pushcclosure(L, f->func, 3);
        lua_setfield(L, -2, f->name);
    }
}

/* "stormdb.dbcore": the metatables' method tables (scripts/stormdb/db.lua
 * adds the Lua wrappers to them), prepare(), and the op codes. */
static int open_dbcore(lua_State *L)
{
    struct thread *t = up_thread(L);
    lua_createtable(L, 0, 8);
    luaL_getmetatable(L, DB_MT);
    lua_getfield(L, -1, "__index");
    lua_setfield(L, -3, "methods");
    lua_pop(L, 1);
    luaL_getmetatable(L, COPIER_MT);
    lua_getfield(L, -1, "__index");
    lua_setfield(L, -3, "copier");
    lua_pop(L, 1);
    lua_pushlightuserdata(L, t);
    lua_pushcclosure(L, db_prepare, 1);
    lua_setfield(L, -2, "prepare");
    static const struct { const char *name; int op; } ops[] = {
        {"ROWS", OP_ROWS}, {"ROW", OP_ROW}, {"VALUE", OP_VALUE}, {"COUNT", OP_COUNT}, {"COPY", OP_COPY_START},
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        lua_pushinteger(L, ops[i].op);
        lua_setfield(L, -2, ops[i].name);
    }
    return 1;
}

void db_register(lua_State *L, struct thread *t)
{
    static const luaL_Reg db_fns[] = {
        {"_send", db_send}, {"prepare", db_prepare}, {"in_transaction", db_in_transaction},
        {"connected", db_connected}, {"server_version", db_server_version}, {"_connect", db_connect},
        {"close", db_close}, {NULL, NULL},
    };
    static const luaL_Reg copier_fns[] = {
        {"row", copier_row}, {"_flush", copier_flush}, {"_end", copier_end}, {"rows", copier_rows}, {NULL, NULL},
    };
    luaL_newmetatable(L, STMT_MT);
    lua_pop(L, 1);
    luaL_newmetatable(L, DB_MT);
    lua_pop(L, 1);
    luaL_newmetatable(L, COPIER_MT);
    lua_pop(L, 1);

    luaL_getmetatable(L, DB_MT);
    lua_createtable(L, 0, 16);
    set_methods(L, t, DB_MT, db_fns);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, db_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);

    luaL_getmetatable(L, COPIER_MT);
    lua_createtable(L, 0, 8);
    set_methods(L, t, COPIER_MT, copier_fns);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    luaL_newmetatable(L, "stormdb.sqlerror");
    lua_pushcfunction(L, error_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);

    lua_getglobal(L, "package");
    lua_getfield(L, -1, "preload");
    lua_pushlightuserdata(L, t);
    lua_pushcclosure(L, open_dbcore, 1);
    lua_setfield(L, -2, "stormdb.dbcore");
    lua_pop(L, 2);
}
