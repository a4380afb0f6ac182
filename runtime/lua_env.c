/* A LuaJIT state set up the stormdb way (see lua_env.h). */
#include "runtime/lua_env.h"

#include <lauxlib.h>
#include <lua-cjson.h>
#include <lualib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runtime/embedded.h"
#include "runtime/lua_modules.h"

#define LUA_PATH_KEY "stormdb.lua_path"

/* "strategies.linear" -> DIR/strategies/linear.lua, then DIR/strategies/linear/init.lua */
static int load_from_dir(lua_State *L, const char *dir, const char *module)
{
    char rel[512];
    snprintf(rel, sizeof rel, "%s", module);
    for (char *p = rel; *p; p++)
        if (*p == '.')
            *p = '/';
    const char *patterns[] = {"%s/%s.lua", "%s/%s/init.lua"};
    for (size_t i = 0; i < 2; i++) {
        char path[1024];
        snprintf(path, sizeof path, patterns[i], dir, rel);
        if (access(path, R_OK) != 0)
            continue;
        if (luaL_loadfile(L, path) != 0)
            return lua_error(L);
        return 1;
    }
    return 0;
}

static int load_embedded(lua_State *L, const char *module)
{
    const struct embedded_script *s = embedded_find(module);
    if (!s) {
        char init[512];
        snprintf(init, sizeof init, "%s.init", module);
        s = embedded_find(init);
    }
    if (!s)
        return 0;
    char chunkname[512];
    snprintf(chunkname, sizeof chunkname, "@%s", s->path);
    if (luaL_loadbuffer(L, s->source, s->length, chunkname) != 0)
        return lua_error(L);
    return 1;
}

/* package.loaders entry: --lua-path first, then the bundled scripts. */
static int stormdb_loader(lua_State *L)
{
    const char *module = luaL_checkstring(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_PATH_KEY);
    const char *dir = lua_tostring(L, -1);
    lua_pop(L, 1);
    if (dir && load_from_dir(L, dir, module))
        return 1;
    if (load_embedded(L, module))
        return 1;
    lua_pushfstring(L, "\n\tno bundled module '%s'%s%s", module, dir ? " and none in --lua-path " : "",
                    dir ? dir : "");
    return 1;
}

void luaenv_preload(lua_State *L, const char *module, lua_CFunction open)
{
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "preload");
    lua_pushcfunction(L, open);
    lua_setfield(L, -2, module);
    lua_pop(L, 2);
}

lua_State *luaenv_new(const char *lua_path)
{
    lua_State *L = luaL_newstate();
    if (!L)
        return NULL;
    luaL_openlibs(L);
    if (lua_path) {
        lua_pushstring(L, lua_path);
        lua_setfield(L, LUA_REGISTRYINDEX, LUA_PATH_KEY);
    }
    /* Insert our loader right after package.preload (index 1). */
    lua_getglobal(L, "table");
    lua_getfield(L, -1, "insert");
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "loaders");
    lua_remove(L, -2);
    lua_pushinteger(L, 2);
    lua_pushcfunction(L, stormdb_loader);
    lua_call(L, 3, 0);
    lua_pop(L, 1);

    luaenv_preload(L, "cjson", luaopen_cjson);
    lua_modules_preload(L);
    return L;
}

int luaenv_traceback(lua_State *L)
{
    /* SQL errors are tables and carry their own context; only text errors
     * (script bugs) get a traceback. */
    if (!lua_isstring(L, 1))
        return 1;
    luaL_traceback(L, L, lua_tostring(L, 1), 1);
    return 1;
}

int luaenv_pcall(lua_State *L, int nargs, int nresults)
{
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, luaenv_traceback);
    lua_insert(L, base);
    int rc = lua_pcall(L, nargs, nresults, base);
    lua_remove(L, base);
    return rc;
}

int luaenv_require(lua_State *L, const char *module)
{
    lua_getglobal(L, "require");
    lua_pushstring(L, module);
    return luaenv_pcall(L, 1, 1);
}

const char *luaenv_tostring(lua_State *L, int idx)
{
    if (idx < 0 && idx > LUA_REGISTRYINDEX)
        idx = lua_gettop(L) + idx + 1;
    if (lua_type(L, idx) == LUA_TSTRING)
        return lua_tostring(L, idx);
    lua_getglobal(L, "tostring");
    lua_pushvalue(L, idx);
    lua_call(L, 1, 1);
    lua_replace(L, idx);
    const char *s = lua_tostring(L, idx);
    return s ? s : "(error object is not a string)";
}
