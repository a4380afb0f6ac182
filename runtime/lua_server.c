/*
 * stormdb.server (the throwaway PostgreSQL from Lua) and stormdb.pg (a plain
 * blocking libpq connection for the controller's own questions to the
 * server: its version, its settings, its counters; never for the workload).
 */
#include "runtime/lua_server.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/throwaway.h"

#define SERVER_MT "stormdb.server"
#define PG_MT "stormdb.pg"

struct server_ud {
    struct throwaway tw;
    bool running, keep;
};

/* server.start{max_connections=N, keep=bool} -> server | nil, message */
static int server_start(lua_State *L)
{
    struct throwaway_options opt = {0, false};
    bool keep = false;
    if (lua_istable(L, 1)) {
        lua_getfield(L, 1, "max_connections");
        opt.max_connections = (int)luaL_optinteger(L, -1, 0);
        lua_getfield(L, 1, "keep");
        keep = lua_toboolean(L, -1);
        lua_pop(L, 2);
    }
    opt.detach = keep;
    struct server_ud *s = lua_newuserdata(L, sizeof *s);
    memset(s, 0, sizeof *s);
    luaL_getmetatable(L, SERVER_MT);
    lua_setmetatable(L, -2);
    char err[1024];
    if (throwaway_start(&s->tw, &opt, err, sizeof err) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    s->running = true;
    s->keep = keep;
    return 1;
}

static int server_conninfo(lua_State *L)
{
    struct server_ud *s = luaL_checkudata(L, 1, SERVER_MT);
    lua_pushstring(L, s->tw.conninfo);
    return 1;
}

static int server_dir(lua_State *L)
{
    struct server_ud *s = luaL_checkudata(L, 1, SERVER_MT);
    lua_pushstring(L, s->tw.dir);
    return 1;
}

/* server:stop() -> true | nil, message. Kept servers are left running. */
static int server_stop(lua_State *L)
{
    struct server_ud *s = luaL_checkudata(L, 1, SERVER_MT);
    if (!s->running || s->keep) {
        lua_pushboolean(L, 1);
        return 1;
    }
    s->running = false;
    char err[512];
    if (throwaway_stop(&s->tw, err, sizeof err) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* A server nobody stopped (an error path) is stopped when the state closes. */
static int server_gc(lua_State *L)
{
    struct server_ud *s = luaL_checkudata(L, 1, SERVER_MT);
    if (s->running && !s->keep) {
        s->running = false;
        throwaway_stop(&s->tw, NULL, 0);
    }
    return 0;
}

int luaopen_stormdb_server(lua_State *L)
{
    if (luaL_newmetatable(L, SERVER_MT)) {
        static const luaL_Reg m[] = {
            {"conninfo", server_conninfo}, {"dir", server_dir}, {"stop", server_stop}, {NULL, NULL}};
        lua_newtable(L);
        luaL_setfuncs(L, m, 0);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, server_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushcfunction(L, server_start);
    lua_setfield(L, -2, "start");
    return 1;
}

/* --- stormdb.pg -------------------------------------------------------------- */

struct pg_ud { PGconn *conn; };

static PGconn *check_pg(lua_State *L)
{
    struct pg_ud *p = luaL_checkudata(L, 1, PG_MT);
    if (!p->conn)
        luaL_error(L, "pg: connection is closed");
    return p->conn;
}

static const char *first_line(const char *msg, char *buf, size_t size)
{
    size_t n = strcspn(msg, "\n");
    if (n >= size)
        n = size - 1;
    memcpy(buf, msg, n);
    buf[n] = '\0';
    return buf;
}

/* pg.connect(conninfo) -> conn | nil, message */
static int pg_connect(lua_State *L)
{
    const char *dsn = luaL_checkstring(L, 1);
    const char *keys[] = {"dbname", "fallback_application_name", NULL};
    const char *values[] = {dsn, "stormdb", NULL};
    PGconn *c = PQconnectdbParams(keys, values, 1);
    if (PQstatus(c) != CONNECTION_OK) {
        char buf[512];
        lua_pushnil(L);
        lua_pushstring(L, first_line(PQerrorMessage(c), buf, sizeof buf));
        PQfinish(c);
        return 2;
    }
    struct pg_ud *p = lua_newuserdata(L, sizeof *p);
    p->conn = c;
    luaL_getmetatable(L, PG_MT);
    lua_setmetatable(L, -2);
    return 1;
}

/* conn:query(sql, ...) -> rows (all values as strings, NULL as nil) | nil, message, sqlstate */
static int pg_query(lua_State *L)
{
    PGconn *c = check_pg(L);
    const char *sql = luaL_checkstring(L, 2);
    int n = lua_gettop(L) - 2;
    const char *values[32];
    if (n > 32)
        return luaL_error(L, "pg: at most 32 parameters");
    for (int i = 0; i < n; i++)
        values[i] = lua_isnil(L, 3 + i) ? NULL : luaL_checkstring(L, 3 + i);
    PGresult *r = n ? PQexecParams(c, sql, n, NULL, values, NULL, NULL, 0) : PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        char buf[512];
        const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
        lua_pushnil(L);
        lua_pushstring(L, msg ? msg : first_line(PQerrorMessage(c), buf, sizeof buf));
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        lua_pushstring(L, state ? state : "08006");
        PQclear(r);
        return 3;
    }
    int rows = PQntuples(r), cols = PQnfields(r);
    lua_createtable(L, rows, 0);
    for (int i = 0; i < rows; i++) {
        lua_createtable(L, 0, cols);
        for (int j = 0; j < cols; j++) {
            if (PQgetisnull(r, i, j))
                continue;
            lua_pushlstring(L, PQgetvalue(r, i, j), (size_t)PQgetlength(r, i, j));
            lua_setfield(L, -2, PQfname(r, j));
        }
        lua_rawseti(L, -2, i + 1);
    }
    PQclear(r);
    return 1;
}

static int pg_server_version(lua_State *L)
{
    lua_pushinteger(L, PQserverVersion(check_pg(L)));
    return 1;
}

static int pg_close(lua_State *L)
{
    struct pg_ud *p = luaL_checkudata(L, 1, PG_MT);
    if (p->conn)
        PQfinish(p->conn);
    p->conn = NULL;
    return 0;
}

int luaopen_stormdb_pg(lua_State *L)
{
    if (luaL_newmetatable(L, PG_MT)) {
        static const luaL_Reg m[] = {
            {"query", pg_query}, {"server_version", pg_server_version}, {"close", pg_close}, {NULL, NULL}};
        lua_newtable(L);
        luaL_setfuncs(L, m, 0);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, pg_close);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushcfunction(L, pg_connect);
    lua_setfield(L, -2, "connect");
    return 1;
}
