/*
 * The Lua that ships inside the binary (scripts/ and workloads/), so that
 * `stormdb` is one file that runs anywhere; and the `require` loader that
 * serves it, after looking in the user's --lua-path directory, so any bundled
 * file can be overridden without recompiling.
 */
#ifndef STORMDB_EMBEDDED_H
#define STORMDB_EMBEDDED_H

#include <stddef.h>

struct embedded_script {
    const char *module;   /* "stormdb.db", "workloads.tpcb", "strategies.linear" */
    const char *path;     /* "scripts/stormdb/db.lua": the chunk name in tracebacks */
    const char *source;
    size_t length;
};

/* Generated at build time by cmake/embed_lua.cmake; ends with a NULL module. */
extern const struct embedded_script embedded_scripts[];

const struct embedded_script *embedded_find(const char *module);

#endif
