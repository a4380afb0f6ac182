/*
 * The configuration file and its validation: every rule says where (file,
 * line, key) and what is allowed, in exactly the words a user reads; every
 * problem of a file is reported at once; the command line beats the file; a
 * password never appears in a message and reaches libpq intact. Fixtures are
 * under tests/data/config/.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/clock.h"
#include "runtime/config.h"
#include "runtime/config_yaml.h"

struct loaded {
    struct config c;
    char path[1024];
    char err[16384];
    int n;
};

/* Loads tests/data/config/NAME after the command-line pairs in cli
 * (name, value, ..., NULL), the way main() does: flags, file, resolve,
 * validate. NAME NULL: the command line alone. */
static struct loaded *load(const char *name, const char *const *cli)
{
    struct loaded *l = calloc(1, sizeof *l);
    assert_non_null(l);
    config_init(&l->c);
    l->c.command = "run";
    char why[512];
    for (int i = 0; cli && cli[i]; i += 2) {
        if (config_set(&l->c, cli[i], cli[i + 1], why, sizeof why) != 0)
            fail_msg("--%s %s: %s", cli[i], cli[i + 1] ? cli[i + 1] : "", why);
    }
    size_t used = 0;
    if (name) {
        snprintf(l->path, sizeof l->path, "%s/config/%s", TEST_DATA_DIR, name);
        assert_int_equal(config_set(&l->c, "config", l->path, why, sizeof why), 0);
        l->n += config_load_yaml(&l->c, l->err, sizeof l->err);
        used = strlen(l->err);
    }
    l->n += config_resolve(&l->c, l->err + used, sizeof l->err - used);
    used = strlen(l->err);
    l->n += config_validate(&l->c, l->err + used, sizeof l->err - used);
    return l;
}

static void unload(struct loaded *l)
{
    config_free(&l->c);
    free(l);
}

/* Asserts the problems are exactly these lines (in any order); "%F" in a
 * line stands for the fixture's path. */
static void expect_problems(struct loaded *l, int n, ...)
{
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        const char *want = va_arg(ap, const char *);
        char line[2048];
        const char *f = strstr(want, "%F");
        if (f)
            snprintf(line, sizeof line, "%.*s%s%s", (int)(f - want), want, l->path, f + 2);
        else
            snprintf(line, sizeof line, "%s", want);
        size_t len = strlen(line);
        const char *p = l->err;
        bool found = false;
        while ((p = strstr(p, line)) != NULL) {
            if ((p == l->err || p[-1] == '\n') && (p[len] == '\n' || p[len] == '\0')) {
                found = true;
                break;
            }
            p++;
        }
        if (!found)
            fail_msg("missing problem:\n  %s\nall problems:\n%s", line, l->err);
    }
    va_end(ap);
    if (l->n != n)
        fail_msg("expected %d problems, got %d:\n%s", n, l->n, l->err);
}

static void test_valid_duration_dialect(void **state)
{
    (void)state;
    struct loaded *l = load("valid_duration.yaml", NULL);
    expect_problems(l, 0);
    struct config *c = &l->c;
    assert_string_equal(c->script, "simple");
    assert_true(c->study.enabled);
    assert_false(c->study.step_dialect);
    assert_string_equal(c->study.strategy, "exponential");
    assert_int_equal(c->min_workers, 4);
    assert_int_equal(c->max_workers, 128);
    assert_int_equal(c->min_connections, 4);
    assert_int_equal(c->max_connections, 64);
    assert_int_equal(c->bands, 6);
    assert_false(c->study.per_band);
    assert_true(c->study.study_ns == 30 * 60 * NS_PER_SEC);
    assert_true(c->study.warmup_ns == 60 * NS_PER_SEC);
    assert_true(c->study.cooldown_ns == 30 * NS_PER_SEC);
    assert_true(c->study.export_csv);
    assert_false(c->study.export_json);
    assert_string_equal(c->export_path, "./out");
    /* the top-level scale is the workload's option, with its line */
    assert_int_equal(c->nscript, 1);
    assert_string_equal(c->script_names[0], "scale");
    assert_string_equal(c->script_values[0], "2");
    assert_int_equal(c->script_lines[0], 4);
    /* where each key was set */
    char w[1100];
    snprintf(w, sizeof w, "%s:15: progressive.min_workers", l->path);
    char got[1100];
    assert_string_equal(config_where(c, config_find("min-workers"), got, sizeof got), w);
    unload(l);
}

static void test_conninfo_and_password(void **state)
{
    (void)state;
    struct loaded *l = load("valid_duration.yaml", NULL);
    expect_problems(l, 0);
    assert_string_equal(l->c.dsn, "host='db.example.com' port='5433' dbname='bench' user='bench' "
                                  "password='it\\'s a s3cret \\\\ value' sslmode='prefer'");
    /* libpq reads back exactly what the file said */
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(l->c.dsn, &perr);
    assert_non_null(opts);
    int seen = 0;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val)
            continue;
        if (strcmp(o->keyword, "password") == 0) {
            assert_string_equal(o->val, "it's a s3cret \\ value");
            seen++;
        } else if (strcmp(o->keyword, "sslmode") == 0) {
            assert_string_equal(o->val, "prefer");
            seen++;
        } else if (strcmp(o->keyword, "port") == 0) {
            assert_string_equal(o->val, "5433");
            seen++;
        }
    }
    assert_int_equal(seen, 3);
    PQconninfoFree(opts);
    unload(l);

    char buf[256] = "";
    config_conninfo_append(buf, sizeof buf, "host", "/tmp");
    config_conninfo_append(buf, sizeof buf, "password", "a b'c\\d");
    assert_string_equal(buf, "host='/tmp' password='a b\\'c\\\\d'");
}

static void test_password_never_printed(void **state)
{
    (void)state;
    struct loaded *l = load("err_database.yaml", NULL);
    expect_problems(l, 6, "%F:3: database.host: cannot be combined with dsn (line 2); keep one",
                    "%F:4: database.password: expected a single value, not a list",
                    "%F:5: database.sslmode: 'sometimes' is not an sslmode: expected disable, allow, prefer, "
                    "require, verify-ca or verify-full",
                    "%F:6: database.port: '5432,abc' is not a port: expected a number from 1 to 65535 (or a "
                    "comma-separated list)",
                    "%F:7: database.type: 'mysql': stormdb drives PostgreSQL only (expected postgres)",
                    "%F:9: database.username: cannot be combined with user (line 8); keep one");
    assert_null(strstr(l->err, "hunter2"));
    unload(l);
}

static void test_valid_step_dialect(void **state)
{
    (void)state;
    struct loaded *l = load("valid_step.yaml", NULL);
    expect_problems(l, 0);
    struct config *c = &l->c;
    assert_false(c->study.enabled); /* enabled: false */
    assert_true(c->study.step_dialect);
    assert_true(c->study.per_band);
    assert_true(c->study.band_ns == 120 * NS_PER_SEC);
    assert_true(c->study.warmup_ns == 30 * NS_PER_SEC);
    assert_true(c->study.cooldown_ns == 15 * NS_PER_SEC);
    assert_true(c->study.export_csv);
    assert_false(c->study.export_json);
    assert_true(c->stop_on_degradation);
    assert_true(c->max_unreachable_ns == 120 * NS_PER_SEC);
    /* a relative workload path is relative to the file's directory */
    char want[1100];
    snprintf(want, sizeof want, "%s/config/mine.lua", TEST_DATA_DIR);
    assert_string_equal(c->script, want);
    assert_int_equal(c->nscript, 2);
    assert_string_equal(c->script_names[0], "rows");
    assert_string_equal(c->script_values[0], "1000");
    unload(l);

    /* --progressive turns it on even though the file says enabled: false */
    static const char *const cli[] = {"progressive", NULL, NULL};
    l = load("valid_step.yaml", cli);
    expect_problems(l, 0);
    assert_true(l->c.study.enabled);
    unload(l);
}

static void test_seed_file(void **state)
{
    (void)state;
    struct loaded *l = load("seed_tpcc.yaml", NULL);
    expect_problems(l, 0);
    /* test_duration is the whole study; the top-level duration is for a single band */
    assert_false(l->c.study.per_band);
    assert_true(l->c.study.study_ns == 20 * NS_PER_SEC);
    assert_true(l->c.study.warmup_ns == 10 * NS_PER_SEC);
    assert_int_equal(l->c.workers, 20);
    assert_true(l->c.duration_ns == 120 * NS_PER_SEC);
    unload(l);

    l = load("single_band.yaml", NULL);
    expect_problems(l, 0);
    assert_false(l->c.study.enabled);
    assert_int_equal(l->c.workers, 8);
    assert_int_equal(l->c.connections, 4);
    assert_true(l->c.duration_ns == 5 * NS_PER_SEC);
    assert_true(l->c.warmup_ns == NS_PER_SEC);
    assert_string_equal(l->c.dsn, "host=/tmp dbname=bench");
    unload(l);
}

static void test_max_less_than_min(void **state)
{
    (void)state;
    struct loaded *l = load("err_max_lt_min.yaml", NULL);
    expect_problems(l, 1, "%F:5: progressive.max_workers: 2 is less than min_workers (4)");
    unload(l);

    /* the command line overrides the file, and is named as a flag */
    static const char *const fixed[] = {"max-workers", "64", NULL};
    l = load("err_max_lt_min.yaml", fixed);
    expect_problems(l, 0);
    assert_int_equal(l->c.max_workers, 64);
    unload(l);
    static const char *const worse[] = {"min-workers", "100", NULL};
    l = load("err_max_lt_min.yaml", worse);
    expect_problems(l, 1, "%F:5: progressive.max_workers: 2 is less than --min-workers (100)");
    unload(l);

    /* no file at all */
    static const char *const flags[] = {"progressive", NULL, "min-workers", "4", "max-workers", "2",
                                        "min-connections", "8", "max-connections", "3", NULL};
    l = load(NULL, flags);
    expect_problems(l, 2, "--max-workers: 2 is less than --min-workers (4)",
                    "--max-connections: 3 is less than --min-connections (8)");
    unload(l);
}

/* analysis: region thresholds keep their order, the knee limits their
 * ranges; a flag fixes the file. */
static void test_analysis_section(void **state)
{
    (void)state;
    struct loaded *l = load("err_analysis.yaml", NULL);
    expect_problems(l, 3,
                    "%F:3: analysis.region_diminishing: the region thresholds must keep region_linear (0.8) > "
                    "region_diminishing (0.9) > region_saturation (-0.05)",
                    "%F:4: analysis.knee_achieved_ratio: 0: expected a fraction above 0 and at most 1",
                    "%F:5: analysis.knee_latency_factor: 1: expected a factor above 1");
    unload(l);
    static const char *const fixed[] = {"region-linear", "0.95", "knee-achieved-ratio", "0.9",
                                        "knee-latency-factor", "3", NULL};
    l = load("err_analysis.yaml", fixed);
    expect_problems(l, 0);
    assert_true(l->c.region_linear == 0.95 && l->c.region_diminishing == 0.9);
    assert_true(l->c.knee_achieved_ratio == 0.9 && l->c.knee_latency_factor == 3);
    unload(l);
    /* flags are named as flags; diminishing must stay above 0 */
    static const char *const flags[] = {"region-linear", "0.2", NULL};
    l = load(NULL, flags);
    expect_problems(l, 1, "--region-linear: the region thresholds must keep --region-linear (0.2) > "
                          "--region-diminishing (0.3) > --region-saturation (-0.05)");
    unload(l);
    static const char *const negative[] = {"region-diminishing", "-0.01", "region-saturation", "-0.5", NULL};
    l = load(NULL, negative);
    expect_problems(l, 1, "--region-diminishing: -0.01: expected above 0 (a step gaining less than that is "
                          "saturation)");
    unload(l);
}

static void test_min_must_be_positive(void **state)
{
    (void)state;
    struct loaded *l = load("err_min_zero.yaml", NULL);
    expect_problems(l, 3, "%F:2: progressive.min_workers: 0: expected a whole number from 1 to 1000000",
                    "%F:4: progressive.min_connections: -1: expected a whole number from 1 to 100000",
                    "%F:5: progressive.max_connections: set min_connections too (or neither: each band then has as "
                    "many connections as workers)");
    unload(l);
    struct config c;
    config_init(&c);
    char err[256];
    assert_int_equal(config_set(&c, "min-workers", "0", err, sizeof err), -1);
    assert_string_equal(err, "--min-workers 0: expected a whole number from 1 to 1000000");
    config_free(&c);
}

static void test_bands_range(void **state)
{
    (void)state;
    struct loaded *l = load("err_bands.yaml", NULL);
    expect_problems(l, 1, "%F:4: progressive.bands: 101: expected a whole number from 1 to 100");
    unload(l);
    struct config c;
    config_init(&c);
    char err[256];
    assert_int_equal(config_set(&c, "bands", "0", err, sizeof err), -1);
    assert_string_equal(err, "--bands 0: expected a whole number from 1 to 100");
    assert_int_equal(config_set(&c, "bands", "100", err, sizeof err), 0);
    assert_int_equal(config_set(&c, "bands", "1", err, sizeof err), 0);
    config_free(&c);
}

static void test_durations(void **state)
{
    (void)state;
    struct loaded *l = load("err_durations.yaml", NULL);
    expect_problems(l, 4, "%F:4: progressive.test_duration: must be longer than 0",
                    "%F:5: progressive.warmup_duration: -5s: a duration cannot be negative: use a number of seconds "
                    "or a form like 30s, 5m, 1h",
                    "%F:6: progressive.cooldown_duration: 5 parsecs: no spaces inside a duration: write 1m30s, not "
                    "1m 30s",
                    "%F:7: progressive.max_unreachable: soon: not a duration: use a number of seconds or a form like "
                    "30s, 5m, 1h, 1m30s, 250ms");
    unload(l);
    static const char *const zero[] = {"progressive", NULL, "max-workers", "8", "duration", "0", NULL};
    l = load(NULL, zero);
    expect_problems(l, 1, "--duration: must be longer than 0");
    unload(l);
}

static void test_strategy(void **state)
{
    (void)state;
    struct loaded *l = load("err_strategy.yaml", NULL);
    expect_problems(l, 1,
                    "%F:3: progressive.strategy: no strategy named 'expo'; did you mean exponential? (bundled: "
                    "adaptive, exponential, fibonacci, linear, slo_search; or a path to a .lua file)");
    unload(l);
    l = load("err_strategy_file.yaml", NULL);
    char line[1200];
    snprintf(line, sizeof line,
             "%%F:3: progressive.strategy: %s/config/missing.lua: cannot read the strategy file (No such file or "
             "directory)",
             TEST_DATA_DIR);
    expect_problems(l, 1, line);
    unload(l);
    /* an existing Lua file is a strategy */
    char path[1100];
    snprintf(path, sizeof path, "%s/config/mine.lua", TEST_DATA_DIR);
    const char *cli[] = {"progressive", NULL, "max-workers", "8", "strategy", path, NULL};
    l = load(NULL, cli);
    expect_problems(l, 0);
    unload(l);
    static const char *const bad[] = {"progressive", NULL, "max-workers", "8", "strategy", "fibonaci", NULL};
    l = load(NULL, bad);
    expect_problems(l, 1,
                    "--strategy: no strategy named 'fibonaci'; did you mean fibonacci? (bundled: adaptive, "
                    "exponential, fibonacci, linear, slo_search; or a path to a .lua file)");
    unload(l);
}

static void test_unknown_keys(void **state)
{
    (void)state;
    struct loaded *l = load("err_unknown_keys.yaml", NULL);
    expect_problems(
        l, 5, "%F:2: wokers: unknown key; did you mean workers?",
        "%F:3: min_workers: unknown key at the top level; did you mean progressive.min_workers?",
        "%F:5: progressive.enabeld: unknown key; did you mean enabled?",
        "%F:6: progressive.frobnicate: unknown key (progressive: allows enabled, strategy, min_workers, max_workers, "
        "min_connections, max_connections, bands, step_workers, step_connections, test_duration, band_duration, "
        "warmup_duration, warmup_time, cooldown_duration, cooldown_time, export_path, export_format, export_csv, "
        "export_json, enable_analysis, grid, stop_on_degradation, min_rate, max_rate, max_unreachable)",
        "%F:8: database.hots: unknown key; did you mean host?");
    unload(l);
}

static void test_malformed_yaml(void **state)
{
    (void)state;
    struct loaded *l = load("err_malformed.yaml", NULL);
    expect_problems(l, 1, "%F:3:15: mapping values are not allowed in this context");
    unload(l);
    struct config c;
    config_init(&c);
    char err[512];
    config_set(&c, "config", "/no/such/study.yaml", err, sizeof err);
    assert_int_equal(config_load_yaml(&c, err, sizeof err), 1);
    assert_string_equal(err, "/no/such/study.yaml: cannot read the configuration file: No such file or directory\n");
    config_free(&c);
}

static void test_types_and_repeats(void **state)
{
    (void)state;
    struct loaded *l = load("err_types.yaml", NULL);
    expect_problems(l, 6, "%F:1: workers: expected a single value, not a list", "%F:3: progressive.bands: needs a value",
                    "%F:4: progressive.strategy: expected a single value, not a mapping",
                    "%F:5: progressive.grid: maybe: expected true or false", "%F:6: workers: set twice (first on line 1)",
                    "%F:7: database: expected a mapping of settings (key: value, indented below it), not a list");
    unload(l);
    l = load("err_scale_twice.yaml", NULL);
    expect_problems(l, 2, "%F:2: progressive.export_format: 'xml': expected csv, json or both",
                    "%F:5: scale: set twice (also on line 3, as scale: and workload_options.scale:)");
    unload(l);
}

static void test_one_setting_two_ways(void **state)
{
    (void)state;
    struct loaded *l = load("err_dialects.yaml", NULL);
    expect_problems(l, 5, "%F:5: progressive.step_workers: cannot be combined with bands (line 4); keep one",
                    "%F:7: progressive.band_duration: cannot be combined with test_duration (line 6); keep one",
                    "%F:9: progressive.warmup_time: cannot be combined with warmup_duration (line 8); keep one",
                    "%F:11: progressive.export_json: cannot be combined with export_format (line 10); keep one",
                    "%F:12: progressive.export_path: expected a directory");
    unload(l);
    /* from different sources the command line wins, silently */
    static const char *const cli[] = {"bands", "3", "duration", "20s", "export-format", "json", NULL};
    l = load("valid_step.yaml", cli);
    expect_problems(l, 0);
    assert_false(l->c.study.step_dialect);
    assert_true(l->c.study.per_band);
    assert_true(l->c.study.band_ns == 20 * NS_PER_SEC);
    assert_false(l->c.study.export_csv);
    assert_true(l->c.study.export_json);
    unload(l);
    static const char *const both[] = {"progressive", NULL, "max-workers", "4", "duration", "1s", "test-duration", "8s",
                                       NULL};
    l = load(NULL, both);
    expect_problems(l, 1, "--test-duration: cannot be combined with --duration; keep one");
    unload(l);
    /* --warmup and --cooldown are the band's in a study, over the file's keys */
    static const char *const warm[] = {"warmup", "2s", "cooldown", "0", NULL};
    l = load("valid_duration.yaml", warm);
    expect_problems(l, 0);
    assert_true(l->c.study.warmup_ns == 2 * NS_PER_SEC);
    assert_true(l->c.study.cooldown_ns == 0);
    unload(l);
}

static void test_required(void **state)
{
    (void)state;
    struct loaded *l = load("err_required.yaml", NULL);
    expect_problems(l, 2, "%F: progressive.max_workers: required for a study (the workers of the last band)",
                    "%F:4: progressive.min_connections: set max_connections too (or neither: each band then has as "
                    "many connections as workers)");
    unload(l);
    l = load("err_step_linear.yaml", NULL);
    expect_problems(l, 1,
                    "%F: progressive.step_workers: required by the linear strategy in the step dialect when "
                    "min_workers and max_workers differ");
    unload(l);
    static const char *const grid[] = {"progressive", NULL, "max-workers", "4", "grid", NULL, NULL};
    l = load(NULL, grid);
    expect_problems(l, 1,
                    "--grid: needs a connection range (min_connections and max_connections) to combine with the "
                    "workers");
    unload(l);
    static const char *const single[] = {"progressive", NULL, "max-workers", "4", "workers", "8", "connections", "2",
                                         NULL};
    l = load(NULL, single);
    expect_problems(l, 2, "--workers: a study's bands take --min-workers and --max-workers",
                    "--connections: a study's bands take --min-connections and --max-connections");
    unload(l);
    static const char *const none[] = {"progressive", NULL, NULL};
    l = load(NULL, none);
    expect_problems(l, 1, "--max-workers: required for a study (the workers of the last band)");
    unload(l);
}

static void test_edit_distance(void **state)
{
    (void)state;
    assert_int_equal(config_edit_distance("workers", "workers"), 0);
    assert_int_equal(config_edit_distance("wokers", "workers"), 1);
    assert_int_equal(config_edit_distance("enabeld", "enabled"), 1); /* a swap counts once */
    assert_int_equal(config_edit_distance("", "abc"), 3);
    assert_true(config_is_close("min_worker", "min_workers"));
    assert_true(config_is_close("expo", "exponential")); /* a prefix */
    assert_false(config_is_close("frobnicate", "strategy"));
    assert_false(config_is_close("ab", "grid"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_duration_dialect),
        cmocka_unit_test(test_conninfo_and_password),
        cmocka_unit_test(test_password_never_printed),
        cmocka_unit_test(test_valid_step_dialect),
        cmocka_unit_test(test_seed_file),
        cmocka_unit_test(test_max_less_than_min),
        cmocka_unit_test(test_min_must_be_positive),
        cmocka_unit_test(test_bands_range),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_strategy),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_malformed_yaml),
        cmocka_unit_test(test_types_and_repeats),
        cmocka_unit_test(test_one_setting_two_ways),
        cmocka_unit_test(test_required),
        cmocka_unit_test(test_edit_distance),
        cmocka_unit_test(test_analysis_section),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
