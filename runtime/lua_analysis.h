/*
 * stormdb.analysis: the C analysis library (analysis/) as Lua functions that
 * take and return plain tables.
 *
 *   analysis.run(bands [, options])   -> the analysis object of
 *                                        `stormdb analyze --json` (docs/analysis.md)
 *   analysis.describe(band)           -> one band's statistics
 *   analysis.queueing(band)           -> Little's law and M/M/c for one band
 *   analysis.fit(model, workers, tps) -> one fit ("linear", ..., "usl")
 *   analysis.models_fit(workers, tps) -> the five fits, best model, peak, saturation
 *   analysis.usl_fit(workers, tps)    -> the USL fit (= fit("usl", ...))
 *   analysis.usl_predict(usl, n)      -> X(n) from {sigma, kappa, lambda}
 *   analysis.erlang_c(c, a) / erlang_c(lambda, mu, c), analysis.erlang_b(c, a)
 *   analysis.little(tps, response_ms [, workers])
 *   analysis.status_text(name), analysis.array_mt, analysis.MAX_BANDS
 *   analysis.bottleneck(evidence | {evidence, ...}), analysis.wait_class(type),
 *   analysis.BOTTLENECK_MIN_SCORE      (lua_bottleneck.c, docs/observation.md)
 *
 * Bands use the field names of struct analysis_band (milliseconds, seconds,
 * per-second rates). No NaN or Inf ever reaches Lua: a figure that cannot be
 * computed is absent (nil), and its part says why in `status` and `message`.
 * Wrong types (a string where a number belongs, an unknown field or option)
 * raise a Lua error; wrong values (NaN, negative) give status invalid_input.
 */
#ifndef STORMDB_LUA_ANALYSIS_H
#define STORMDB_LUA_ANALYSIS_H

#include <lua.h>

int luaopen_stormdb_analysis(lua_State *L);
/* Adds bottleneck, wait_class and BOTTLENECK_MIN_SCORE to the module table on top. */
void lua_bottleneck_register(lua_State *L);

#endif
