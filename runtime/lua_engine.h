/* stormdb.engine: runs bands from the controller's Lua (see lua_engine.c). */
#ifndef STORMDB_LUA_ENGINE_H
#define STORMDB_LUA_ENGINE_H

#include <lua.h>

int luaopen_stormdb_engine(lua_State *L);

#endif
