/*
 * The C modules every Lua state can `require`, registered in package.preload
 * by luaenv_new: stormdb.rand, stormdb.histogram, stormdb.duration, and the
 * ones that only make sense in one kind of state (stormdb.rt in engine
 * threads, stormdb.engine and stormdb.analysis in the controller), which
 * raise a clear error elsewhere.
 */
#ifndef STORMDB_LUA_MODULES_H
#define STORMDB_LUA_MODULES_H

#include <lua.h>
#include <stdint.h>

#include "runtime/histogram.h"
#include "runtime/rand.h"

void lua_modules_preload(lua_State *L);

int luaopen_stormdb_rand(lua_State *L);
int luaopen_stormdb_histogram(lua_State *L);
int luaopen_stormdb_duration(lua_State *L);

/* A new w.rand userdata for (seed, stream), pushed; its state returned. */
struct rand_state *lrand_push(lua_State *L, uint64_t seed, uint64_t stream);
/* A histogram userdata holding a copy of h, pushed. */
void lhist_push(lua_State *L, const struct histogram *h);
struct histogram *lhist_check(lua_State *L, int idx);

#endif
