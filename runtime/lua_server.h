/* stormdb.server (the throwaway PostgreSQL) and stormdb.pg (the controller's
 * own blocking connection), for the controller's Lua. */
#ifndef STORMDB_LUA_SERVER_H
#define STORMDB_LUA_SERVER_H

#include <libpq-fe.h>
#include <lua.h>

int luaopen_stormdb_server(lua_State *L);
int luaopen_stormdb_pg(lua_State *L);

#endif
