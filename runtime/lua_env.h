/*
 * Every LuaJIT state stormdb creates (the controller on the main thread, one
 * per engine thread) starts the same way: standard libraries, cjson, the
 * stormdb C modules in package.preload, and a `require` that looks in the
 * user's --lua-path first and then in the bundled scripts. One place, so a
 * script behaves the same wherever it runs.
 */
#ifndef STORMDB_LUA_ENV_H
#define STORMDB_LUA_ENV_H

#include <lua.h>

/* NULL on allocation failure. lua_path may be NULL. */
lua_State *luaenv_new(const char *lua_path);

void luaenv_preload(lua_State *L, const char *module, lua_CFunction open);

/* Calls the function below nargs arguments with a traceback handler. Returns
 * 0, or non-zero with the error (message and traceback) as a string on top. */
int luaenv_pcall(lua_State *L, int nargs, int nresults);

/* require(module): pushes the module and returns 0, or pushes the error
 * message and returns non-zero. */
int luaenv_require(lua_State *L, const char *module);

/* Error value at idx as text: strings as they are, tables through
 * tostring (SQL errors carry a __tostring). Never NULL. */
const char *luaenv_tostring(lua_State *L, int idx);

/* The traceback handler used by luaenv_pcall, for code that calls
 * lua_pcall itself. */
int luaenv_traceback(lua_State *L);

#endif
