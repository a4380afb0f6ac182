/*
 * libFuzzer target: the result readers of `stormdb analyze` and `stormdb
 * report` (scripts/stormdb/resultfile.lua: CSV and JSON, line-numbered
 * errors), through the same Lua state every stormdb command gets
 * (luaenv_new). Any input must be read or refused with a message
 * (nil, "file:line: ..."); a raised Lua error (what the user would see as
 * "internal error"), a crash or a leak is a finding.
 * Seeds: tests/data/analyze and tests/data/bad.
 */
#include <lauxlib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/lua_env.h"

static lua_State *L;
static int read_ref;
static char path[64];
static unsigned long runs;

static void finish(void)
{
    unlink(path);
    if (L)
        lua_close(L);
    L = NULL;
}

static void start(void)
{
    snprintf(path, sizeof path, "/tmp/stormdb-fuzz-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        abort();
    close(fd);
    L = luaenv_new(NULL);
    if (!L || luaenv_require(L, "stormdb.resultfile") != 0) {
        fprintf(stderr, "cannot load stormdb.resultfile: %s\n", L ? lua_tostring(L, -1) : "no memory");
        abort();
    }
    lua_getfield(L, -1, "read");
    read_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pop(L, 1);
    atexit(finish);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!L)
        start();
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);

    int top = lua_gettop(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, read_ref);
    lua_pushstring(L, path);
    if (luaenv_pcall(L, 1, 2) != 0) {
        fprintf(stderr, "resultfile.read raised an error instead of returning one:\n%s\n", lua_tostring(L, -1));
        abort();
    }
    /* Either a result (a table) or nil and a message naming the file. */
    if (lua_isnil(L, -2)) {
        const char *msg = lua_tostring(L, -1);
        if (!msg || strncmp(msg, path, strlen(path)) != 0) {
            fprintf(stderr, "resultfile.read refused the input without naming the file: %s\n", msg ? msg : "(none)");
            abort();
        }
    } else if (!lua_istable(L, -2)) {
        abort();
    }
    lua_settop(L, top);
    if (++runs % 256 == 0)
        lua_gc(L, LUA_GCCOLLECT, 0);
    return 0;
}
