/* stormdb.analysis: the C analysis library (analysis/) as Lua functions that
 * take and return plain tables. */
#ifndef STORMDB_LUA_ANALYSIS_H
#define STORMDB_LUA_ANALYSIS_H

#include <lua.h>

int luaopen_stormdb_analysis(lua_State *L);

#endif
