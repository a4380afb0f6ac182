/*
 * The one configuration of a stormdb invocation: filled from a YAML file
 * (--config, runtime/config_yaml.c) and from the command line, validated once
 * after both, then handed to the Lua controller as a plain table. Every option
 * is described once in config_options[] — its flag, its key in the file, type,
 * range and help — so the parser, the file loader, the validation messages and
 * `--help` can never disagree.
 *
 * Precedence: the command line beats the file, the file beats the defaults.
 * Each option remembers where it was set (file and line, or the command line),
 * so a validation message names the place to fix: `study.yaml:12:
 * progressive.max_workers: 2 is less than min_workers (4)` or `--max-workers:
 * ...`. Two spellings of one setting from the same source (warmup_time and
 * warmup_duration, bands and step_workers, ...) are an error; from different
 * sources the command line wins.
 */
#ifndef STORMDB_CONFIG_H
#define STORMDB_CONFIG_H

#include <lua.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CFG_LIST: a char * of entries separated by '\n'. Each setting from the
 * same source adds an entry (a repeated flag, the items of a YAML list); a
 * higher source replaces the list. Pushed to Lua as an array. */
enum config_type { CFG_INT, CFG_NUMBER, CFG_DURATION, CFG_STRING, CFG_BOOL, CFG_SEED, CFG_LIST };

/* Where a value came from; a larger source wins. */
enum config_source { CFG_DEFAULT = 0, CFG_FROM_FILE = 1, CFG_FROM_CLI = 2 };

/* config_option.flags */
#define CFG_NO_FLAG 1u   /* only in the file: no --flag, not in --help */
#define CFG_SECRET 2u    /* never pushed to Lua, never printed (passwords) */
#define CFG_LUA_PATH 4u  /* a path to a Lua file: relative to the file's directory when set there */

struct config_option {
    const char *name;           /* the flag without "--"; also the option's id and its key in Lua */
    enum config_type type;
    size_t offset;
    long long min, max;         /* CFG_INT, CFG_NUMBER */
    const char *arg;            /* placeholder in --help, NULL for flags */
    const char *help;
    const char *section;        /* YAML section ("progressive", "database"), NULL: top level */
    const char *key;            /* YAML key, NULL: command line only */
    unsigned flags;
};

extern const struct config_option config_options[];

#define CONFIG_MAX_OPTIONS 96

struct config_origin {
    enum config_source source;
    int line;                   /* CFG_FROM_FILE: 1-based line in config_file */
};

/* A progressive study as the options resolve it (config_resolve). */
struct config_study {
    bool enabled;
    bool step_dialect;          /* step_workers/step_connections rather than bands */
    char *strategy;             /* bundled name or a path (resolved against the file's directory) */
    bool connections_follow;    /* no connection range: each band's connections = its workers */
    bool per_band;              /* band_ns is each band's measure phase; else study_ns is divided */
    uint64_t band_ns;           /* measure phase of each band */
    uint64_t study_ns;          /* test_duration: the whole study's measure time */
    uint64_t warmup_ns, cooldown_ns;
    bool export_csv, export_json;
    int origin_measure;         /* index of the option that set the measure length, -1: default */
};

struct config {
    const char *command;        /* run, setup, cleanup, list */
    char *script;               /* workload name or path */
    char *config_file;          /* --config, as typed */
    char *dsn;
    char *lua_path;
    char *json;
    char *log_level;
    char *reporter;             /* --reporter, repeatable (CFG_LIST): reporters added to the run's list */
    char *reporters;            /* reporters: in the file (CFG_LIST): the run's list instead of the default */
    bool observe, no_observe, pg_stat_statements;
    double min_rate, max_rate;  /* a study scaling the offered load */
    double slo_p99_ms, slo_p95_ms, slo_precision;
    /* analysis: region thresholds (as analysis_region_thresholds) and the
     * knee rule of a rate study */
    double region_linear, region_diminishing, region_saturation;
    double knee_achieved_ratio, knee_latency_factor;
    uint64_t observe_interval_ns;
    bool keep;
    bool help;
    bool check;
    bool setup;                 /* --setup: run the workload's setup before the load */
    bool dry_run;               /* --dry-run: print the plan, connect to nothing */
    int workers, connections, threads, max_tries, max_connections_server;
    uint64_t duration_ns, warmup_ns, cooldown_ns, progress_ns, drain_ns;
    double rate;                /* transactions/s over all workers; 0 = closed loop */
    char *arrival;              /* poisson | uniform */
    uint64_t latency_limit_ns, tx_timeout_ns;
    uint64_t seed;

    /* progressive: (both dialects) */
    bool progressive;           /* --progressive, progressive.enabled */
    char *strategy;
    int min_workers, max_workers, min_connections, max_connections;
    int step_workers, step_connections, bands;
    uint64_t test_duration_ns, band_duration_ns, band_warmup_ns, band_cooldown_ns, max_unreachable_ns;
    bool export_csv, export_json, enable_analysis, grid, stop_on_degradation;
    char *export_format, *export_path;

    /* database: (file only; built into dsn by config_resolve) */
    char *db_host, *db_port, *db_name, *db_user, *db_password, *db_sslmode, *db_type;

    /* --name=value pairs the runtime does not know, and the file's
     * workload_options: the script's options. script_lines[i] is the file
     * line of a pair from the file, 0 for one from the command line. */
    int nscript;
    char **script_names, **script_values;
    int *script_lines;

    struct config_origin origin[CONFIG_MAX_OPTIONS];
    struct config_study study;
};

void config_init(struct config *c);
void config_free(struct config *c);

/* Sets option `name` from the command line. Returns 0, or -1 with a message
 * saying what is allowed ("--workers 0: expected a whole number from 1 to
 * 1000000"). */
int config_set(struct config *c, const char *name, const char *value, char *err, size_t errlen);

/* Sets option o from a source. A value from a lower source than the one
 * already set is ignored (returns 0). On a bad value returns -1 and writes
 * only what is allowed ("expected a whole number from 1 to 100"); the caller
 * says where. */
int config_set_from(struct config *c, const struct config_option *o, const char *value,
                    enum config_source source, int line, char *why, size_t whylen);

const struct config_option *config_find(const char *name);
bool config_given(const struct config *c, const char *name);
int config_index(const struct config_option *o);

/* Adds a script option (--name=value, or a workload_options entry when line
 * > 0). A file entry whose name the command line already set is ignored.
 * Returns 0 or -1 (out of memory). */
int config_add_script_option(struct config *c, const char *name, const char *value, int line);

/* Where option o was set, for messages: "study.yaml:12: progressive.max_workers"
 * or "--max-workers". */
const char *config_where(const struct config *c, const struct config_option *o, char *buf, size_t size);

/* After every source is applied: settles the study (which dialect, which of
 * two spellings wins, the defaults of the progressive mode) and builds the
 * libpq conninfo from the file's database: section. Writes problems like
 * config_validate; returns their number. */
int config_resolve(struct config *c, char *err, size_t errlen);

/* Checks the rules between options (after config_resolve); writes every
 * problem found, one per line. Returns the number of problems. */
int config_validate(const struct config *c, char *err, size_t errlen);

/* Quotes a libpq conninfo value ('...' with \ and ' escaped) onto buf. */
void config_conninfo_append(char *buf, size_t size, const char *key, const char *value);

/* Edit distance (optimal string alignment: insertions, deletions,
 * substitutions and swaps of neighbours) between a and b, for "did you mean". */
int config_edit_distance(const char *a, const char *b);

/* Whether typed is close enough to known to suggest it: a small edit
 * distance, or a prefix of at least 3 characters. */
bool config_is_close(const char *typed, const char *known);

/* The configuration as a Lua table (durations in seconds; secrets left out);
 * the resolved study under `study`, and `where[name]` for every option set. */
void config_push(lua_State *L, const struct config *c);

#endif
