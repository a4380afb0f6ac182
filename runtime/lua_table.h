/*
 * Building the plain tables the Lua bindings of analysis/ return, by one set
 * of rules: a figure that is not finite is left out (nil) rather than
 * written as NaN or Inf, statuses are names with a message, and arrays carry
 * a metatable (__jsontype = "array") so an encoder writes an empty one as []
 * and not {}. Every function works on the table on top of the stack.
 */
#ifndef STORMDB_LUA_TABLE_H
#define STORMDB_LUA_TABLE_H

#include <lua.h>
#include <stdbool.h>

#include "analysis/status.h"

#define LUA_TABLE_ARRAY_MT "stormdb.analysis.array"

void lt_new_array(lua_State *L, int n);       /* pushes an empty array */
void lt_append(lua_State *L);                 /* pops a value onto the array below it */
void lt_set_number(lua_State *L, const char *key, double x);
void lt_set_string(lua_State *L, const char *key, const char *s);
void lt_set_bool(lua_State *L, const char *key, bool b);
void lt_set_status(lua_State *L, enum analysis_status status, const char *message);
void lt_set_interval(lua_State *L, const char *key, double low, double high);
/* x as an int, or a Lua error "fn: what must be a whole number". */
int lt_whole_int(lua_State *L, lua_Number x, const char *fn, const char *what);

#endif
