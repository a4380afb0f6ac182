/*
 * The one configuration of a stormdb invocation: filled from the command line
 * (and, for studies, a YAML file), validated once after both, then handed to
 * the Lua runner as a plain table. Every option is described once in
 * config_options[] — its flag, type, range and help — so the parser, the
 * validation messages and `--help` can never disagree.
 */
#ifndef STORMDB_CONFIG_H
#define STORMDB_CONFIG_H

#include <lua.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum config_type { CFG_INT, CFG_NUMBER, CFG_DURATION, CFG_STRING, CFG_BOOL, CFG_SEED };

struct config {
    const char *command;        /* run, setup, cleanup */
    const char *script;         /* workload name or path */
    char *dsn;
    char *lua_path;
    char *json;
    char *log_level;
    bool keep;
    bool help;
    bool check;
    int workers, connections, threads, max_tries, max_connections_server;
    uint64_t duration_ns, warmup_ns, cooldown_ns, progress_ns, drain_ns;
    double rate;                /* transactions/s over all workers; 0 = closed loop */
    char *arrival;              /* poisson | uniform */
    uint64_t latency_limit_ns, tx_timeout_ns;
    uint64_t seed;
    /* --name=value pairs the runtime does not know: the script's options. */
    int nscript;
    char **script_names, **script_values;
    /* Which options were given explicitly (bit = index in config_options). */
    uint64_t given;
};

struct config_option {
    const char *name;           /* the flag without "--" */
    enum config_type type;
    size_t offset;
    long long min, max;         /* CFG_INT, CFG_NUMBER */
    const char *arg;            /* placeholder in --help, NULL for flags */
    const char *help;
};

extern const struct config_option config_options[];

void config_init(struct config *c);
void config_free(struct config *c);

/* Sets option `name` from text. Returns 0, or -1 with a message saying what
 * is allowed. */
int config_set(struct config *c, const char *name, const char *value, char *err, size_t errlen);
const struct config_option *config_find(const char *name);
bool config_given(const struct config *c, const char *name);

/* Checks the rules between options (after every source is applied); writes
 * every problem found, one per line. Returns the number of problems. */
int config_validate(const struct config *c, char *err, size_t errlen);

/* The configuration as a Lua table (durations in seconds). */
void config_push(lua_State *L, const struct config *c);

#endif
