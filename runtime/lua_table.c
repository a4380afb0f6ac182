/* Table building for the Lua bindings of analysis/ (see lua_table.h). */
#include "runtime/lua_table.h"

#include <lauxlib.h>
#include <limits.h>
#include <math.h>

#include "analysis/status.h"

void lt_new_array(lua_State *L, int n)
{
    lua_createtable(L, n > 0 ? n : 0, 0);
    luaL_getmetatable(L, LUA_TABLE_ARRAY_MT);
    lua_setmetatable(L, -2);
}

/* Appends the value on top to the array below it. */
void lt_append(lua_State *L)
{
    lua_rawseti(L, -2, (int)lua_objlen(L, -2) + 1);
}

/* t[key] = x on the table on top; nothing when x is not finite. */
void lt_set_number(lua_State *L, const char *key, double x)
{
    if (!isfinite(x))
        return;
    lua_pushnumber(L, (lua_Number)x);
    lua_setfield(L, -2, key);
}

void lt_set_string(lua_State *L, const char *key, const char *s)
{
    if (!s)
        return;
    lua_pushstring(L, s);
    lua_setfield(L, -2, key);
}

void lt_set_bool(lua_State *L, const char *key, bool b)
{
    lua_pushboolean(L, b);
    lua_setfield(L, -2, key);
}

void lt_set_status(lua_State *L, enum analysis_status status, const char *message)
{
    lt_set_string(L, "status", analysis_status_name(status));
    lt_set_string(L, "message", message);
}

/* t[key] = {low, high} when both ends are finite. */
void lt_set_interval(lua_State *L, const char *key, double low, double high)
{
    if (!isfinite(low) || !isfinite(high))
        return;
    lt_new_array(L, 2);
    lua_pushnumber(L, (lua_Number)low);
    lua_rawseti(L, -2, 1);
    lua_pushnumber(L, (lua_Number)high);
    lua_rawseti(L, -2, 2);
    lua_setfield(L, -2, key);
}

/* A whole number that fits an int (workers, connections, servers). */
int lt_whole_int(lua_State *L, lua_Number x, const char *fn, const char *what)
{
    if (!(x == floor(x)) || fabs(x) > (lua_Number)INT_MAX)
        luaL_error(L, "%s: %s must be a whole number", fn, what);
    return (int)x;
}
