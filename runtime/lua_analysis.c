/* stormdb.analysis (see lua_analysis.h). Filled in as analysis/ lands. */
#include "runtime/lua_analysis.h"

#include <lauxlib.h>

int luaopen_stormdb_analysis(lua_State *L)
{
    lua_newtable(L);
    return 1;
}
