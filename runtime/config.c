/* The configuration and its option table (see config.h). */
#include "runtime/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/regions.h"
#include "runtime/clock.h"
#include "runtime/duration.h"
#include "runtime/embedded.h"

#define OPT(name, type, field, min, max, arg, help, section, key, flags) \
    {name, type, offsetof(struct config, field), min, max, arg, help, section, key, flags}
#define P "progressive"
#define DB "database"

const struct config_option config_options[] = {
    OPT("workers", CFG_INT, workers, 1, 1000000, "N", "virtual clients (default 1)", NULL, "workers", 0),
    OPT("connections", CFG_INT, connections, 1, 100000, "N", "connections in the pool (default: = workers)", NULL,
        "connections", 0),
    OPT("threads", CFG_INT, threads, 1, 1024, "N", "engine threads (default: min(cores, workers))", NULL, "threads", 0),
    OPT("duration", CFG_DURATION, duration_ns, 0, 0, "D",
        "measure phase length (default 10s; in a study: of each band)", NULL, "duration", 0),
    OPT("warmup", CFG_DURATION, warmup_ns, 0, 0, "D", "load before measuring, not counted (default 0; study: 60s)",
        NULL, "warmup", 0),
    OPT("cooldown", CFG_DURATION, cooldown_ns, 0, 0, "D", "idle time after the band (default 0; study: 30s)", NULL,
        "cooldown", 0),
    OPT("progress", CFG_DURATION, progress_ns, 0, 0, "D", "progress line interval, 0 = none (default 1s)", NULL,
        "progress", 0),
    OPT("seed", CFG_SEED, seed, 0, 0, "N", "random seed; the same seed repeats the same run (default: random)", NULL,
        "seed", 0),
    OPT("max-tries", CFG_INT, max_tries, 1, 1000, "N",
        "runs of a transaction on serialization failure or deadlock (default 10)", NULL, "max_tries", 0),
    OPT("rate", CFG_NUMBER, rate, 0, 100000000, "TPS",
        "open loop: start transactions on a schedule at this total rate (default: closed loop)", NULL, "rate", 0),
    OPT("arrival", CFG_STRING, arrival, 0, 0, "KIND", "schedule of --rate: poisson (default) or uniform", NULL,
        "arrival", 0),
    OPT("latency-limit", CFG_DURATION, latency_limit_ns, 0, 0, "D",
        "transactions slower than D count as late; with --rate, ones already late are skipped", NULL,
        "latency_limit", 0),
    OPT("tx-timeout", CFG_DURATION, tx_timeout_ns, 0, 0, "D", "cancel a transaction running longer than D", NULL,
        "tx_timeout", 0),
    OPT("json", CFG_STRING, json, 0, 0, "FILE", "write the result as JSON (see docs/results.md)", NULL, "json", 0),
    OPT("reporter", CFG_LIST, reporter, 0, 0, "NAME",
        "add a reporter (repeatable): console, csv, json, html, or a Lua file (docs/reporters.md)", NULL, NULL,
        CFG_LUA_PATH),
    OPT("reporters", CFG_LIST, reporters, 0, 0, NULL, "the run's reporters instead of the default ones", NULL,
        "reporters", CFG_NO_FLAG | CFG_LUA_PATH),
    OPT("dsn", CFG_STRING, dsn, 0, 0, "CONNINFO", "libpq conninfo or URI; default: PG* environment or a throwaway server",
        DB, "dsn", 0),
    OPT("keep", CFG_BOOL, keep, 0, 0, NULL, "leave the throwaway server running and print its conninfo", NULL, NULL, 0),
    OPT("server-max-connections", CFG_INT, max_connections_server, 10, 10000, "N",
        "max_connections of the throwaway server (default 300, more if a study needs it)", NULL,
        "server_max_connections", 0),
    OPT("lua-path", CFG_STRING, lua_path, 0, 0, "DIR", "look for Lua modules here before the bundled ones", NULL, NULL,
        0),
    OPT("log-level", CFG_STRING, log_level, 0, 0, "LEVEL", "error, warn, info or debug (or STORMDB_LOG_LEVEL)", NULL,
        "log_level", 0),
    OPT("observe", CFG_BOOL, observe, 0, 0, NULL,
        "observe the server during bands: pg_stat_* deltas, wait events, host CPU (default true)", NULL,
        "collect_pg_stats", 0),
    OPT("no-observe", CFG_BOOL, no_observe, 0, 0, NULL, "do not observe the server (same as --observe=false)", NULL,
        NULL, 0),
    OPT("pg-stat-statements", CFG_BOOL, pg_stat_statements, 0, 0, NULL,
        "report each band's top statements from pg_stat_statements when installed (default true)", NULL,
        "pg_stat_statements", 0),
    OPT("observe-interval", CFG_DURATION, observe_interval_ns, 0, 0, "D",
        "how often pg_stat_activity is sampled during the measure phase (default 100ms)", NULL, "observe_interval",
        0),
    OPT("check", CFG_BOOL, check, 0, 0, NULL, "run the workload's consistency checks instead of its load", NULL, NULL,
        0),
    OPT("help", CFG_BOOL, help, 0, 0, NULL, "this help; with a script, the script's options too", NULL, NULL, 0),
    OPT("config", CFG_STRING, config_file, 0, 0, "FILE",
        "read settings from a YAML file (docs/configuration.md); flags override it", NULL, NULL, 0),
    OPT("setup", CFG_BOOL, setup, 0, 0, NULL, "run the workload's setup before the load", NULL, NULL, 0),
    OPT("dry-run", CFG_BOOL, dry_run, 0, 0, NULL,
        "print the plan (bands, workers, connections, time) and exit without connecting", NULL, NULL, 0),
    OPT("workload", CFG_STRING, script, 0, 0, "SCRIPT", "the workload: a bundled name or a path to a Lua file", NULL,
        "workload", CFG_NO_FLAG | CFG_LUA_PATH),

    /* progressive: both dialects (docs/configuration.md) */
    OPT("progressive", CFG_BOOL, progressive, 0, 0, NULL,
        "run a study: bands from a strategy, then the analysis (on even if the file says enabled: false)", P,
        "enabled", 0),
    OPT("strategy", CFG_STRING, strategy, 0, 0, "NAME",
        "study strategy: linear (default), exponential, fibonacci, adaptive, or a Lua file", P, "strategy",
        CFG_LUA_PATH),
    OPT("min-workers", CFG_INT, min_workers, 1, 1000000, "N", "study: workers of the first band (default 1)", P,
        "min_workers", 0),
    OPT("max-workers", CFG_INT, max_workers, 1, 1000000, "N", "study: workers of the last band (required)", P,
        "max_workers", 0),
    OPT("min-connections", CFG_INT, min_connections, 1, 100000, "N",
        "study: connections of the first band (default: = workers)", P, "min_connections", 0),
    OPT("max-connections", CFG_INT, max_connections, 1, 100000, "N", "study: connections of the last band", P,
        "max_connections", 0),
    OPT("bands", CFG_INT, bands, 1, 100, "N", "study: number of bands from min to max (default 5)", P, "bands", 0),
    OPT("step-workers", CFG_INT, step_workers, 1, 1000000, "N", "study, step dialect: workers added per band", P,
        "step_workers", 0),
    OPT("step-connections", CFG_INT, step_connections, 1, 100000, "N",
        "study, step dialect: connections added per band", P, "step_connections", 0),
    OPT("test-duration", CFG_DURATION, test_duration_ns, 0, 0, "D",
        "study: measure time of the whole study, divided among the bands (default 30m)", P, "test_duration", 0),
    OPT("band-duration", CFG_DURATION, band_duration_ns, 0, 0, "D", "study: measure time of each band (like --duration)",
        P, "band_duration", 0),
    OPT("warmup-duration", CFG_DURATION, band_warmup_ns, 0, 0, "D", "study: warmup of each band (default 60s)", P,
        "warmup_duration", CFG_NO_FLAG),
    OPT("warmup-time", CFG_DURATION, band_warmup_ns, 0, 0, "D", "study: warmup of each band (step dialect)", P,
        "warmup_time", CFG_NO_FLAG),
    OPT("cooldown-duration", CFG_DURATION, band_cooldown_ns, 0, 0, "D", "study: cooldown of each band (default 30s)", P,
        "cooldown_duration", CFG_NO_FLAG),
    OPT("cooldown-time", CFG_DURATION, band_cooldown_ns, 0, 0, "D", "study: cooldown of each band (step dialect)", P,
        "cooldown_time", CFG_NO_FLAG),
    OPT("export-path", CFG_STRING, export_path, 0, 0, "DIR", "study: directory of the CSV/JSON exports (default ./results)",
        P, "export_path", 0),
    OPT("export-format", CFG_STRING, export_format, 0, 0, "FMT", "study: exports to write: csv, json or both (default both)",
        P, "export_format", 0),
    OPT("export-csv", CFG_BOOL, export_csv, 0, 0, NULL, "study: write the CSV export", P, "export_csv", CFG_NO_FLAG),
    OPT("export-json", CFG_BOOL, export_json, 0, 0, NULL, "study: write the JSON export", P, "export_json", CFG_NO_FLAG),
    OPT("enable-analysis", CFG_BOOL, enable_analysis, 0, 0, NULL,
        "study: analyse the bands at the end (default true; --enable-analysis=false)", P, "enable_analysis", 0),
    OPT("grid", CFG_BOOL, grid, 0, 0, NULL, "study: every combination of the worker and connection lists", P, "grid", 0),
    OPT("stop-on-degradation", CFG_BOOL, stop_on_degradation, 0, 0, NULL,
        "study: stop once two bands in a row lose throughput beyond noise", P, "stop_on_degradation", 0),
    OPT("min-rate", CFG_NUMBER, min_rate, 0, 100000000, "TPS",
        "study: arrival rate of the first band; with --max-rate the study scales the offered load", P, "min_rate", 0),
    OPT("max-rate", CFG_NUMBER, max_rate, 0, 100000000, "TPS", "study: arrival rate of the last band", P, "max_rate",
        0),
    OPT("max-unreachable", CFG_DURATION, max_unreachable_ns, 0, 0, "D",
        "study: give up when the server stays unreachable this long after a failed band (default 60s)", P,
        "max_unreachable", 0),

    /* slo: the latency objective of the slo_search strategy */
    OPT("slo-p99-ms", CFG_NUMBER, slo_p99_ms, 0, 10000000, "MS", "slo_search: the p99 latency objective, in ms", "slo",
        "p99_ms", 0),
    OPT("slo-p95-ms", CFG_NUMBER, slo_p95_ms, 0, 10000000, "MS", "slo_search: the p95 latency objective, in ms", "slo",
        "p95_ms", 0),
    OPT("slo-precision", CFG_NUMBER, slo_precision, 0, 1, "FRACTION",
        "slo_search: stop when the bracket is narrower than this fraction of the rate (default 0.05)", "slo",
        "precision", 0),

    /* analysis: how bands are read (docs/analysis.md) */
    OPT("region-linear", CFG_NUMBER, region_linear, -10, 10, "E",
        "analysis: a step is linear when its efficiency (gain per added worker / first band's TPS per worker) "
        ">= E (default 0.8)",
        "analysis", "region_linear", 0),
    OPT("region-diminishing", CFG_NUMBER, region_diminishing, -10, 10, "E",
        "analysis: diminishing when efficiency >= E, below that saturation (default 0.3)", "analysis",
        "region_diminishing", 0),
    OPT("region-saturation", CFG_NUMBER, region_saturation, -10, 10, "E",
        "analysis: saturation while efficiency > E, degradation at or below it (default -0.05)", "analysis",
        "region_saturation", 0),
    OPT("knee-achieved-ratio", CFG_NUMBER, knee_achieved_ratio, 0, 1, "R",
        "rate study: the knee is the first rate whose achieved throughput is below R of offered (default 0.95)",
        "analysis", "knee_achieved_ratio", 0),
    OPT("knee-latency-factor", CFG_NUMBER, knee_latency_factor, 1, 1000, "X",
        "rate study: ... or whose p99 is over X times the lowest rate's, whichever comes first (default 2)",
        "analysis", "knee_latency_factor", 0),

    /* database: (libpq keywords; built into one conninfo) */
    OPT("db-host", CFG_STRING, db_host, 0, 0, NULL, "server host or socket directory", DB, "host", CFG_NO_FLAG),
    OPT("db-port", CFG_STRING, db_port, 0, 0, NULL, "server port", DB, "port", CFG_NO_FLAG),
    OPT("db-dbname", CFG_STRING, db_name, 0, 0, NULL, "database name", DB, "dbname", CFG_NO_FLAG),
    OPT("db-database", CFG_STRING, db_name, 0, 0, NULL, "database name (as dbname)", DB, "database", CFG_NO_FLAG),
    OPT("db-username", CFG_STRING, db_user, 0, 0, NULL, "user name", DB, "username", CFG_NO_FLAG),
    OPT("db-user", CFG_STRING, db_user, 0, 0, NULL, "user name (as username)", DB, "user", CFG_NO_FLAG),
    OPT("db-password", CFG_STRING, db_password, 0, 0, NULL, "password (never printed)", DB, "password",
        CFG_NO_FLAG | CFG_SECRET),
    OPT("db-sslmode", CFG_STRING, db_sslmode, 0, 0, NULL, "libpq sslmode", DB, "sslmode", CFG_NO_FLAG),
    OPT("db-type", CFG_STRING, db_type, 0, 0, NULL, "postgres (the only kind)", DB, "type", CFG_NO_FLAG),
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};

#undef P
#undef DB

void config_init(struct config *c)
{
    memset(c, 0, sizeof *c);
    c->workers = 1;
    c->max_tries = 10;
    c->duration_ns = 10 * NS_PER_SEC;
    c->progress_ns = NS_PER_SEC;
    c->drain_ns = 5 * NS_PER_SEC;
    c->min_workers = 1;
    c->bands = 5;
    c->test_duration_ns = 30 * 60 * NS_PER_SEC;
    c->band_warmup_ns = 60 * NS_PER_SEC;
    c->band_cooldown_ns = 30 * NS_PER_SEC;
    c->max_unreachable_ns = 60 * NS_PER_SEC;
    c->export_csv = c->export_json = c->enable_analysis = true;
    c->observe = c->pg_stat_statements = true;
    c->observe_interval_ns = 100 * NS_PER_MS;
    struct analysis_region_thresholds t;
    analysis_region_thresholds_default(&t);
    c->region_linear = t.linear;
    c->region_diminishing = t.diminishing;
    c->region_saturation = t.saturation;
    c->knee_achieved_ratio = 0.95;
    c->knee_latency_factor = 2.0;
}

void config_free(struct config *c)
{
    /* Several options may share a field (aliases): free each field once. */
    for (const struct config_option *o = config_options; o->name; o++) {
        if (o->type != CFG_STRING && o->type != CFG_LIST)
            continue;
        char **field = (char **)((char *)c + o->offset);
        free(*field);
        *field = NULL;
    }
    for (int i = 0; i < c->nscript; i++) {
        free(c->script_names[i]);
        free(c->script_values[i]);
    }
    free(c->script_names);
    free(c->script_values);
    free(c->script_lines);
    free(c->study.strategy);
    c->nscript = 0;
    c->script_names = c->script_values = NULL;
    c->script_lines = NULL;
    c->study.strategy = NULL;
}

int config_index(const struct config_option *o) { return (int)(o - config_options); }

const struct config_option *config_find(const char *name)
{
    for (const struct config_option *o = config_options; o->name; o++)
        if (strcmp(o->name, name) == 0)
            return o;
    return NULL;
}

static enum config_source source_of(const struct config *c, const char *name)
{
    const struct config_option *o = config_find(name);
    return o ? c->origin[config_index(o)].source : CFG_DEFAULT;
}

bool config_given(const struct config *c, const char *name) { return source_of(c, name) != CFG_DEFAULT; }

static int parse_int(const char *s, long long min, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static bool is_lua_path(const char *s)
{
    size_t n = strlen(s);
    return strchr(s, '/') != NULL || (n > 4 && strcmp(s + n - 4, ".lua") == 0);
}

/* A relative path in the file is relative to the file's directory. */
static char *file_relative(const struct config *c, const char *value)
{
    const char *slash = c->config_file ? strrchr(c->config_file, '/') : NULL;
    if (!slash || value[0] == '/' || !is_lua_path(value))
        return strdup(value);
    size_t dir = (size_t)(slash - c->config_file);
    while (value[0] == '.' && value[1] == '/')
        value += 2;
    size_t len = dir + 1 + strlen(value) + 1;
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%.*s/%s", (int)dir, c->config_file, value);
    return p;
}

int config_set_from(struct config *c, const struct config_option *o, const char *value,
                    enum config_source source, int line, char *why, size_t whylen)
{
    int idx = config_index(o);
    if (source < c->origin[idx].source)
        return 0; /* the command line already said */
    void *field = (char *)c + o->offset;
    if (o->type != CFG_BOOL && !value) {
        snprintf(why, whylen, "needs a value (%s)", o->arg ? o->arg : "a value");
        return -1;
    }
    switch (o->type) {
    case CFG_INT: {
        long long v;
        if (parse_int(value, o->min, o->max, &v) != 0) {
            snprintf(why, whylen, "expected a whole number from %lld to %lld", o->min, o->max);
            return -1;
        }
        *(int *)field = (int)v;
        break;
    }
    case CFG_NUMBER: {
        char *end;
        errno = 0;
        double v = strtod(value, &end);
        if (errno || end == value || *end || !(v >= (double)o->min && v <= (double)o->max)) {
            snprintf(why, whylen, "expected a number from %lld to %lld", o->min, o->max);
            return -1;
        }
        *(double *)field = v;
        break;
    }
    case CFG_SEED: {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(value, &end, 10);
        /* 32 bits: a seed must survive JSON and Lua numbers exactly. */
        if (errno || end == value || *end || value[0] == '-' || v > 4294967295ull) {
            snprintf(why, whylen, "expected a whole number from 0 to 4294967295");
            return -1;
        }
        *(uint64_t *)field = v;
        break;
    }
    case CFG_DURATION: {
        const char *reason = NULL;
        uint64_t ns;
        if (duration_parse(value, &ns, &reason) != 0) {
            snprintf(why, whylen, "%s", reason ? reason : "not a duration");
            return -1;
        }
        *(uint64_t *)field = ns;
        break;
    }
    case CFG_STRING: {
        char *copy = (o->flags & CFG_LUA_PATH) && source == CFG_FROM_FILE ? file_relative(c, value) : strdup(value);
        if (!copy) {
            snprintf(why, whylen, "out of memory");
            return -1;
        }
        free(*(char **)field);
        *(char **)field = copy;
        break;
    }
    case CFG_LIST: {
        if (strchr(value, '\n')) {
            snprintf(why, whylen, "a name cannot hold a line break");
            return -1;
        }
        char *copy = (o->flags & CFG_LUA_PATH) && source == CFG_FROM_FILE ? file_relative(c, value) : strdup(value);
        char **list = (char **)field;
        if (copy && *list && **list && *copy && c->origin[idx].source == source) {
            size_t len = strlen(*list) + 1 + strlen(copy) + 1;
            char *joined = malloc(len);
            if (joined)
                snprintf(joined, len, "%s\n%s", *list, copy);
            free(copy);
            copy = joined;
        }
        if (!copy) {
            snprintf(why, whylen, "out of memory");
            return -1;
        }
        free(*list);
        *list = copy;
        break;
    }
    case CFG_BOOL:
        if (!value || strcmp(value, "true") == 0 || strcmp(value, "on") == 0 || strcmp(value, "yes") == 0 ||
            strcmp(value, "1") == 0) {
            *(bool *)field = true;
        } else if (strcmp(value, "false") == 0 || strcmp(value, "off") == 0 || strcmp(value, "no") == 0 ||
                   strcmp(value, "0") == 0) {
            *(bool *)field = false;
        } else {
            snprintf(why, whylen, "expected true or false");
            return -1;
        }
        break;
    }
    c->origin[idx].source = source;
    c->origin[idx].line = line;
    return 0;
}

int config_set(struct config *c, const char *name, const char *value, char *err, size_t errlen)
{
    const struct config_option *o = config_find(name);
    if (!o || (o->flags & CFG_NO_FLAG)) {
        snprintf(err, errlen, "unknown option --%s", name);
        return -1;
    }
    char why[256];
    if (config_set_from(c, o, value, CFG_FROM_CLI, 0, why, sizeof why) == 0)
        return 0;
    if (!value)
        snprintf(err, errlen, "--%s %s", name, why);
    else if (o->type == CFG_BOOL)
        snprintf(err, errlen, "--%s=%s: %s", name, value, why);
    else
        snprintf(err, errlen, "--%s %s: %s", name, value, why);
    return -1;
}

int config_add_script_option(struct config *c, const char *name, const char *value, int line)
{
    if (line > 0) {
        /* The command line wins; names compare with - and _ alike. */
        for (int i = 0; i < c->nscript; i++) {
            if (c->script_lines[i] > 0)
                continue; /* a repeat inside the file is the loader's to report */
            const char *a = c->script_names[i], *b = name;
            while (*a && *b && (*a == *b || ((*a == '-' || *a == '_') && (*b == '-' || *b == '_')))) {
                a++;
                b++;
            }
            if (!*a && !*b)
                return 0;
        }
    }
    size_t n = (size_t)c->nscript + 1;
    char **names = realloc(c->script_names, n * sizeof *names);
    if (!names)
        return -1;
    c->script_names = names;
    char **values = realloc(c->script_values, n * sizeof *values);
    if (!values)
        return -1;
    c->script_values = values;
    int *lines = realloc(c->script_lines, n * sizeof *lines);
    if (!lines)
        return -1;
    c->script_lines = lines;
    c->script_names[c->nscript] = strdup(name);
    c->script_values[c->nscript] = value ? strdup(value) : NULL;
    c->script_lines[c->nscript] = line;
    c->nscript++;
    return 0;
}

const char *config_where(const struct config *c, const struct config_option *o, char *buf, size_t size)
{
    const struct config_origin *at = &c->origin[config_index(o)];
    char key[96];
    if (o->key)
        snprintf(key, sizeof key, "%s%s%s", o->section ? o->section : "", o->section ? "." : "", o->key);
    if (at->source == CFG_FROM_FILE)
        snprintf(buf, size, "%s:%d: %s", c->config_file, at->line, key);
    else if (at->source == CFG_DEFAULT && c->config_file && o->key)
        snprintf(buf, size, "%s: %s", c->config_file, key);
    else if (o->flags & CFG_NO_FLAG)
        snprintf(buf, size, "%s", o->key ? key : o->name);
    else
        snprintf(buf, size, "--%s", o->name);
    return buf;
}

/* How a message refers to another option: its key when the file set it
 * (or could have), else its flag. */
static const char *ref(const struct config *c, const char *name, char *buf, size_t size)
{
    const struct config_option *o = config_find(name);
    enum config_source s = c->origin[config_index(o)].source;
    if (o->key && (s == CFG_FROM_FILE || (s == CFG_DEFAULT && c->config_file)))
        snprintf(buf, size, "%s", o->key);
    else
        snprintf(buf, size, "--%s", o->name);
    return buf;
}

int config_edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 63 || m > 63)
        return 64;
    int d[64][64];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= n; i++) {
        for (size_t j = 1; j <= m; j++) {
            int cost = a[i - 1] != b[j - 1];
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    }
    return d[n][m];
}

bool config_is_close(const char *typed, const char *known)
{
    size_t n = strlen(typed), m = strlen(known);
    if (n >= 3 && n < m && strncmp(typed, known, n) == 0)
        return true;
    int d = config_edit_distance(typed, known);
    return d <= (m <= 4 ? 1 : m <= 8 ? 2 : 3) && d < (int)m;
}

void config_conninfo_append(char *buf, size_t size, const char *key, const char *value)
{
    size_t used = strlen(buf);
    if (used + 1 >= size)
        return;
    int n = snprintf(buf + used, size - used, "%s%s='", used ? " " : "", key);
    if (n < 0 || (size_t)n >= size - used)
        return;
    used += (size_t)n;
    for (const char *p = value; *p && used + 3 < size; p++) {
        if (*p == '\\' || *p == '\'')
            buf[used++] = '\\';
        buf[used++] = *p;
    }
    if (used + 1 < size)
        buf[used++] = '\'';
    buf[used] = '\0';
}

/* --- problems: one per line, every one reported ----------------------------- */

struct problems {
    char *buf;
    size_t size, used;
    int n;
};

__attribute__((format(printf, 2, 3))) static void problem(struct problems *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (p->used < p->size) {
        int k = vsnprintf(p->buf + p->used, p->size - p->used, fmt, ap);
        if (k > 0)
            p->used += (size_t)k;
        if (p->used < p->size) {
            int e = snprintf(p->buf + p->used, p->size - p->used, "\n");
            if (e > 0)
                p->used += (size_t)e;
        }
        if (p->used >= p->size)
            p->used = p->size;
    }
    va_end(ap);
    p->n++;
}

static struct problems problems_start(char *err, size_t errlen)
{
    struct problems p = {err, errlen, 0, 0};
    if (errlen)
        err[0] = '\0';
    return p;
}

/* --- resolving the study --------------------------------------------------- */

static const char *where_of(const struct config *c, const char *name, char *buf, size_t size)
{
    return config_where(c, config_find(name), buf, size);
}

static int line_of(const struct config *c, const char *name)
{
    return c->origin[config_index(config_find(name))].line;
}

/* The larger source among names (NULL-terminated). */
static enum config_source top_source(const struct config *c, const char *const *names)
{
    enum config_source s = CFG_DEFAULT;
    for (; *names; names++)
        if (source_of(c, *names) > s)
            s = source_of(c, *names);
    return s;
}

/* First of names set from source s, or NULL. */
static const char *first_from(const struct config *c, const char *const *names, enum config_source s)
{
    for (; *names; names++)
        if (source_of(c, *names) == s)
            return *names;
    return NULL;
}

/* Two ways of saying one thing, a and b (option lists): from the same source
 * it is an error; otherwise the larger source wins. Returns which group
 * wins: 'a', 'b', or 0 when neither is set; -1 after reporting a clash. */
static int pick(const struct config *c, struct problems *p, const char *const *a, const char *const *b)
{
    enum config_source sa = top_source(c, a), sb = top_source(c, b);
    if (sa == CFG_DEFAULT && sb == CFG_DEFAULT)
        return 0;
    if (sa != sb)
        return sa > sb ? 'a' : 'b';
    const char *na = first_from(c, a, sa), *nb = first_from(c, b, sb);
    char w[256], r[96];
    if (sa == CFG_FROM_FILE) {
        int la = line_of(c, na), lb = line_of(c, nb);
        const char *later = lb >= la ? nb : na, *earlier = lb >= la ? na : nb;
        problem(p, "%s: cannot be combined with %s (line %d); keep one", where_of(c, later, w, sizeof w),
                ref(c, earlier, r, sizeof r), line_of(c, earlier));
    } else {
        problem(p, "%s: cannot be combined with %s; keep one", where_of(c, nb, w, sizeof w), ref(c, na, r, sizeof r));
    }
    return -1;
}

static void build_conninfo(struct config *c, struct problems *p)
{
    static const char *const parts[] = {"db-host", "db-port", "db-dbname", "db-database", "db-username",
                                        "db-user", "db-password", "db-sslmode", NULL};
    static const char *const dsn[] = {"dsn", NULL};
    static const char *const dbname[] = {"db-dbname", NULL}, *const database[] = {"db-database", NULL};
    static const char *const username[] = {"db-username", NULL}, *const user[] = {"db-user", NULL};
    pick(c, p, dbname, database);
    pick(c, p, username, user);
    int w = pick(c, p, dsn, parts);
    if (w != 'b')
        return; /* the dsn (or no database at all), or a clash already reported */
    char conninfo[4096] = "";
    if (c->db_host)
        config_conninfo_append(conninfo, sizeof conninfo, "host", c->db_host);
    if (c->db_port)
        config_conninfo_append(conninfo, sizeof conninfo, "port", c->db_port);
    if (c->db_name)
        config_conninfo_append(conninfo, sizeof conninfo, "dbname", c->db_name);
    if (c->db_user)
        config_conninfo_append(conninfo, sizeof conninfo, "user", c->db_user);
    if (c->db_password)
        config_conninfo_append(conninfo, sizeof conninfo, "password", c->db_password);
    if (c->db_sslmode)
        config_conninfo_append(conninfo, sizeof conninfo, "sslmode", c->db_sslmode);
    free(c->dsn);
    c->dsn = strdup(conninfo);
}

int config_resolve(struct config *c, char *err, size_t errlen)
{
    struct problems p = problems_start(err, errlen);
    struct config_study *s = &c->study;
    build_conninfo(c, &p);

    /* A study is what `run` does; setup, cleanup and --check of a study's
     * file just use its workload and database. */
    bool run = !c->command || strcmp(c->command, "run") == 0;
    s->enabled = c->progressive && run && !c->check;
    free(s->strategy);
    s->strategy = strdup(c->strategy ? c->strategy : "linear");

    static const char *const bands[] = {"bands", NULL};
    static const char *const steps[] = {"step-workers", "step-connections", NULL};
    s->step_dialect = pick(c, &p, bands, steps) == 'b';

    s->connections_follow = !config_given(c, "min-connections") && !config_given(c, "max-connections");

    /* Measure length. Per band: --duration, --band-duration, the file's
     * band_duration (and, when the progressive section says nothing about
     * it, the file's top-level duration); for the whole study: test_duration.
     * The command line beats the file; one source saying both is an error. */
    static const char *const band_only[] = {"band-duration", NULL}, *const duration_only[] = {"duration", NULL};
    static const char *const whole[] = {"test-duration", NULL};
    static const char *const per_cli[] = {"band-duration", "duration", NULL};
    if (source_of(c, "band-duration") == CFG_FROM_CLI && source_of(c, "duration") == CFG_FROM_CLI)
        pick(c, &p, band_only, duration_only);
    s->per_band = false;
    s->band_ns = 0;
    s->study_ns = c->test_duration_ns;
    s->origin_measure = config_index(config_find("test-duration"));
    const char *const *per = source_of(c, "duration") == CFG_FROM_CLI ? per_cli : band_only;
    int w = pick(c, &p, per, whole);
    const char *chosen = NULL;
    if (w == 'a')
        chosen = first_from(c, per, top_source(c, per));
    else if (w == 0 && source_of(c, "duration") == CFG_FROM_FILE)
        chosen = "duration";
    if (chosen) {
        s->per_band = true;
        s->band_ns = strcmp(chosen, "duration") == 0 ? c->duration_ns : c->band_duration_ns;
        s->origin_measure = config_index(config_find(chosen));
    }

    /* Warmup and cooldown of each band: --warmup/--cooldown, else the
     * progressive keys, else the file's top level, else 60s / 30s. */
    static const char *const wd[] = {"warmup-duration", NULL}, *const wt[] = {"warmup-time", NULL};
    static const char *const cd[] = {"cooldown-duration", NULL}, *const ct[] = {"cooldown-time", NULL};
    pick(c, &p, wd, wt);
    pick(c, &p, cd, ct);
    if (source_of(c, "warmup") == CFG_FROM_CLI || (source_of(c, "warmup") == CFG_FROM_FILE &&
                                                   !config_given(c, "warmup-duration") && !config_given(c, "warmup-time")))
        s->warmup_ns = c->warmup_ns;
    else
        s->warmup_ns = c->band_warmup_ns;
    if (source_of(c, "cooldown") == CFG_FROM_CLI ||
        (source_of(c, "cooldown") == CFG_FROM_FILE && !config_given(c, "cooldown-duration") &&
         !config_given(c, "cooldown-time")))
        s->cooldown_ns = c->cooldown_ns;
    else
        s->cooldown_ns = c->band_cooldown_ns;

    static const char *const fmt[] = {"export-format", NULL};
    static const char *const flags[] = {"export-csv", "export-json", NULL};
    s->export_csv = c->export_csv;
    s->export_json = c->export_json;
    if (pick(c, &p, fmt, flags) == 'a' && c->export_format) {
        s->export_csv = strcmp(c->export_format, "csv") == 0 || strcmp(c->export_format, "both") == 0;
        s->export_json = strcmp(c->export_format, "json") == 0 || strcmp(c->export_format, "both") == 0;
    }
    if (!c->export_path)
        c->export_path = strdup("./results");
    return p.n;
}

/* --- validation -------------------------------------------------------------- */

/* Whether NAME is bundled: scripts/DIR/NAME.lua, or DIR/NAME.lua under
 * --lua-path. */
static bool bundled_exists(const struct config *c, const char *dir, const char *name)
{
    char module[600];
    snprintf(module, sizeof module, "%s.%s", dir, name);
    if (embedded_find(module))
        return true;
    if (!c->lua_path)
        return false;
    char path[1200];
    snprintf(path, sizeof path, "%s/%s/%s.lua", c->lua_path, dir, name);
    return access(path, R_OK) == 0;
}

/* A strategy or reporter NAME (KIND, found in DIR) at W: a readable Lua file
 * or a bundled one; otherwise one problem listing the bundled ones, with a
 * "did you mean" when one is close. */
static void check_bundled(const struct config *c, struct problems *p, const char *w, const char *kind,
                          const char *dir, const char *name)
{
    if (is_lua_path(name)) {
        if (access(name, R_OK) != 0)
            problem(p, "%s: %s: cannot read the %s file (%s)", w, name, kind, strerror(errno));
        return;
    }
    if (bundled_exists(c, dir, name))
        return;
    char known[512] = "";
    const char *best = NULL;
    int best_d = 1000;
    size_t prefix = strlen(dir) + 1;
    for (const struct embedded_script *e = embedded_scripts; e->module; e++) {
        if (strncmp(e->module, dir, prefix - 1) != 0 || e->module[prefix - 1] != '.')
            continue;
        const char *n = e->module + prefix;
        size_t used = strlen(known);
        snprintf(known + used, sizeof known - used, "%s%s", used ? ", " : "", n);
        int d = config_edit_distance(name, n);
        if (config_is_close(name, n) && d < best_d) {
            best = n;
            best_d = d;
        }
    }
    if (best)
        problem(p, "%s: no %s named '%s'; did you mean %s? (bundled: %s; or a path to a .lua file)", w, kind, name,
                best, known);
    else
        problem(p, "%s: no %s named '%s' (bundled: %s; or a path to a .lua file)", w, kind, name, known);
}

static void check_strategy(const struct config *c, struct problems *p)
{
    char w[256];
    check_bundled(c, p, where_of(c, "strategy", w, sizeof w), "strategy", "strategies", c->study.strategy);
}

/* Each reporter of --reporter and reporters: (one per line). */
static void check_reporters(const struct config *c, const char *option, struct problems *p)
{
    const struct config_option *o = config_find(option);
    const char *list = *(char *const *)((const char *)c + o->offset);
    char w[256];
    config_where(c, o, w, sizeof w);
    for (const char *s = list; s && *s;) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        char name[512];
        snprintf(name, sizeof name, "%.*s", (int)len, s);
        s += len + (nl ? 1 : 0);
        if (*name)
            check_bundled(c, p, w, "reporter", "reporters", name);
    }
}

static bool valid_port(const char *s)
{
    /* libpq takes a comma-separated list, one per host */
    if (!*s)
        return false;
    while (*s) {
        long long v = 0;
        int digits = 0;
        for (; *s >= '0' && *s <= '9'; s++, digits++)
            if (digits < 6) /* past 5 digits it is too big anyway: stop before v overflows */
                v = v * 10 + (*s - '0');
        if (!digits || digits > 5 || v < 1 || v > 65535)
            return false;
        if (*s == ',')
            s++;
        else if (*s)
            return false;
    }
    return true;
}

int config_validate(const struct config *c, char *err, size_t errlen)
{
    struct problems p = problems_start(err, errlen);
    char w[256], r[96];
    const struct config_study *s = &c->study;
    bool run = c->command && strcmp(c->command, "run") == 0;

    if (c->duration_ns == 0 && run && !s->enabled)
        problem(&p, "%s: must be longer than 0", where_of(c, "duration", w, sizeof w));
    if (c->log_level && strcmp(c->log_level, "error") && strcmp(c->log_level, "warn") &&
        strcmp(c->log_level, "info") && strcmp(c->log_level, "debug"))
        problem(&p, "%s %s: expected error, warn, info or debug", where_of(c, "log-level", w, sizeof w), c->log_level);
    if (c->lua_path && access(c->lua_path, R_OK | X_OK) != 0)
        problem(&p, "--lua-path %s: not a readable directory", c->lua_path);
    if (c->arrival && strcmp(c->arrival, "poisson") != 0 && strcmp(c->arrival, "uniform") != 0)
        problem(&p, "%s %s: expected poisson or uniform", where_of(c, "arrival", w, sizeof w), c->arrival);
    if (c->arrival && c->rate <= 0 && !config_given(c, "max-rate"))
        problem(&p, "%s: applies to --rate (or a study's min_rate/max_rate) only", where_of(c, "arrival", w, sizeof w));
    if (config_given(c, "min-rate") != config_given(c, "max-rate")) {
        const char *set = config_given(c, "min-rate") ? "min-rate" : "max-rate";
        problem(&p, "%s: set min_rate and max_rate together (a study scales the rate between them)",
                where_of(c, set, w, sizeof w));
    } else if (config_given(c, "max-rate") && (c->min_rate < 1 || c->max_rate < c->min_rate)) {
        problem(&p, "%s: %g: expected min_rate >= 1 and max_rate >= min_rate (%g)",
                where_of(c, "max-rate", w, sizeof w), c->max_rate, c->min_rate);
    }
    if (config_given(c, "max-rate") && config_given(c, "rate"))
        problem(&p, "%s: a study with min_rate/max_rate sets each band's rate; leave --rate out",
                where_of(c, "rate", w, sizeof w));
    if (config_given(c, "slo-precision") && (c->slo_precision < 0.001 || c->slo_precision > 0.5))
        problem(&p, "%s: %g: expected a fraction from 0.001 to 0.5", where_of(c, "slo-precision", w, sizeof w),
                c->slo_precision);
    static const char *const regions[] = {"region-linear", "region-diminishing", "region-saturation", NULL};
    const char *region_key = first_from(c, regions, top_source(c, regions));
    struct analysis_region_thresholds t = {c->region_linear, c->region_diminishing, c->region_saturation};
    if (!analysis_region_thresholds_valid(&t)) {
        char a[48], b[48], d[48];
        problem(&p, "%s: the region thresholds must keep %s (%g) > %s (%g) > %s (%g)",
                where_of(c, region_key ? region_key : "region-linear", w, sizeof w),
                ref(c, "region-linear", a, sizeof a), c->region_linear, ref(c, "region-diminishing", b, sizeof b),
                c->region_diminishing, ref(c, "region-saturation", d, sizeof d), c->region_saturation);
    } else if (!(c->region_diminishing > 0)) {
        problem(&p, "%s: %g: expected above 0 (a step gaining less than that is saturation)",
                where_of(c, "region-diminishing", w, sizeof w), c->region_diminishing);
    }
    if (!(c->knee_achieved_ratio > 0))
        problem(&p, "%s: %g: expected a fraction above 0 and at most 1",
                where_of(c, "knee-achieved-ratio", w, sizeof w), c->knee_achieved_ratio);
    if (!(c->knee_latency_factor > 1))
        problem(&p, "%s: %g: expected a factor above 1", where_of(c, "knee-latency-factor", w, sizeof w),
                c->knee_latency_factor);
    if (config_given(c, "observe-interval") &&
        (c->observe_interval_ns < 10 * NS_PER_MS || c->observe_interval_ns > 60 * NS_PER_SEC))
        problem(&p, "%s: expected from 10ms to 1m", where_of(c, "observe-interval", w, sizeof w));
    if (c->keep && c->dsn) {
        if (config_given(c, "dsn") && source_of(c, "dsn") == CFG_FROM_CLI)
            problem(&p, "--keep applies to the throwaway server only; it cannot be combined with --dsn");
        else
            problem(&p, "--keep applies to the throwaway server only; it cannot be combined with the database: "
                        "section of %s", c->config_file ? c->config_file : "the file");
    }

    /* database: */
    if (c->db_sslmode) {
        static const char *const modes[] = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full", NULL};
        bool ok = false;
        for (const char *const *m = modes; *m; m++)
            ok = ok || strcmp(*m, c->db_sslmode) == 0;
        if (!ok)
            problem(&p, "%s: '%s' is not an sslmode: expected disable, allow, prefer, require, verify-ca or "
                        "verify-full", where_of(c, "db-sslmode", w, sizeof w), c->db_sslmode);
    }
    if (c->db_port && !valid_port(c->db_port))
        problem(&p, "%s: '%s' is not a port: expected a number from 1 to 65535 (or a comma-separated list)",
                where_of(c, "db-port", w, sizeof w), c->db_port);
    if (c->db_type && strcmp(c->db_type, "postgres") != 0 && strcmp(c->db_type, "postgresql") != 0)
        problem(&p, "%s: '%s': stormdb drives PostgreSQL only (expected postgres)", where_of(c, "db-type", w, sizeof w),
                c->db_type);

    /* progressive: the rules hold whenever the keys are there; what a study
     * needs is required only when it runs. */
    if (s->enabled && !config_given(c, "max-workers"))
        problem(&p, "%s: required for a study (the workers of the last band)", where_of(c, "max-workers", w, sizeof w));
    if (config_given(c, "max-workers") && c->max_workers < c->min_workers)
        problem(&p, "%s: %d is less than %s (%d)", where_of(c, "max-workers", w, sizeof w), c->max_workers,
                ref(c, "min-workers", r, sizeof r), c->min_workers);
    if (config_given(c, "min-connections") != config_given(c, "max-connections")) {
        const char *set = config_given(c, "min-connections") ? "min-connections" : "max-connections";
        const char *unset = config_given(c, "min-connections") ? "max-connections" : "min-connections";
        problem(&p, "%s: set %s too (or neither: each band then has as many connections as workers)",
                where_of(c, set, w, sizeof w), ref(c, unset, r, sizeof r));
    } else if (config_given(c, "max-connections") && c->max_connections < c->min_connections) {
        problem(&p, "%s: %d is less than %s (%d)", where_of(c, "max-connections", w, sizeof w), c->max_connections,
                ref(c, "min-connections", r, sizeof r), c->min_connections);
    }
    if (s->step_dialect && !s->connections_follow && !config_given(c, "step-connections") &&
        c->min_connections != c->max_connections && strcmp(s->strategy, "linear") == 0)
        problem(&p, "%s: required by the linear strategy in the step dialect when min_connections and "
                    "max_connections differ",
                where_of(c, "step-connections", w, sizeof w));
    if (s->step_dialect && !config_given(c, "step-workers") && c->min_workers != c->max_workers &&
        config_given(c, "max-workers") && strcmp(s->strategy, "linear") == 0)
        problem(&p, "%s: required by the linear strategy in the step dialect when min_workers and max_workers "
                    "differ",
                where_of(c, "step-workers", w, sizeof w));
    if (s->enabled || config_given(c, "strategy"))
        check_strategy(c, &p);
    check_reporters(c, "reporters", &p);
    check_reporters(c, "reporter", &p);
    if (c->export_format && strcmp(c->export_format, "csv") && strcmp(c->export_format, "json") &&
        strcmp(c->export_format, "both"))
        problem(&p, "%s: '%s': expected csv, json or both", where_of(c, "export-format", w, sizeof w),
                c->export_format);
    if (config_given(c, "export-path") && c->export_path && !c->export_path[0])
        problem(&p, "%s: expected a directory", where_of(c, "export-path", w, sizeof w));
    if (s->enabled && (s->per_band ? s->band_ns : s->study_ns) == 0) {
        problem(&p, "%s: must be longer than 0", config_where(c, &config_options[s->origin_measure], w, sizeof w));
    } else if (!s->enabled) {
        if (config_given(c, "test-duration") && c->test_duration_ns == 0)
            problem(&p, "%s: must be longer than 0", where_of(c, "test-duration", w, sizeof w));
        if (config_given(c, "band-duration") && c->band_duration_ns == 0)
            problem(&p, "%s: must be longer than 0", where_of(c, "band-duration", w, sizeof w));
    }
    if (c->grid && s->connections_follow && (s->enabled || config_given(c, "grid")))
        problem(&p, "%s: needs a connection range (min_connections and max_connections) to combine with the "
                    "workers", where_of(c, "grid", w, sizeof w));
    if (s->enabled && source_of(c, "workers") == CFG_FROM_CLI)
        problem(&p, "--workers: a study's bands take --min-workers and --max-workers");
    if (s->enabled && source_of(c, "connections") == CFG_FROM_CLI)
        problem(&p, "--connections: a study's bands take --min-connections and --max-connections");
    if (source_of(c, "progressive") == CFG_FROM_CLI && c->progressive && (c->check || !run))
        problem(&p, "--progressive applies to stormdb run only%s", c->check ? " (not with --check)" : "");
    return p.n;
}
