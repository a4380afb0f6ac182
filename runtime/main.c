/*
 * stormdb's front door: parses the command line (and the --config file) into
 * the configuration, validates it, handles the commands that need no Lua
 * (`server`, `--version`), and hands everything else to the controller's Lua
 * (scripts/stormdb/cli.lua), which runs workloads, studies, strategies and
 * reporters. Exit status: 0 done, 1 the run failed, 2 bad input, 3 script
 * errors, 130/143 interrupted by SIGINT/SIGTERM.
 */
#include <lauxlib.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/config.h"
#include "runtime/config_yaml.h"
#include "runtime/engine.h"
#include "runtime/log.h"
#include "runtime/lua_engine.h"
#include "runtime/lua_env.h"
#include "runtime/lua_server.h"
#include "runtime/throwaway.h"

#define EXIT_BAD_INPUT 2

/* Commands implemented in Lua under scripts/stormdb/commands/. */
static const char *const lua_commands[] = {"analyze", "report", "compare", NULL};

static void usage(FILE *out)
{
    fprintf(out,
            "stormdb %s: load generator and scalability analyser for PostgreSQL\n"
            "\n"
            "usage:\n"
            "  stormdb run SCRIPT [options] [--SCRIPT-OPTION=VALUE ...]   run a workload for one band\n"
            "  stormdb run SCRIPT --progressive --max-workers N [options] a study: bands from a strategy\n"
            "  stormdb [run] --config FILE [--progressive] [--setup] [--dry-run]   settings from a YAML file\n"
            "  stormdb setup SCRIPT [options]      create and load the workload's schema\n"
            "  stormdb cleanup SCRIPT [options]    drop what setup created\n"
            "  stormdb list                        bundled workloads, strategies and reporters\n"
            "  stormdb server start|stop DIR       a throwaway PostgreSQL that outlives one command\n"
            "  stormdb analyze FILE [options]      scalability analysis of a saved result (JSON or CSV)\n"
            "  stormdb report RESULT.json -o OUT   a self-contained HTML report with charts\n"
            "  stormdb compare BASE.json CUR.json  regression gate: exit 1 when figures got worse beyond noise\n"
            "  stormdb run SCRIPT --help           the script's own options\n"
            "\n"
            "SCRIPT is a bundled workload's name (stormdb list) or a path to a Lua file.\n"
            "With no --dsn and no PGHOST/PGDATABASE/PGSERVICE in the environment, stormdb\n"
            "starts a throwaway PostgreSQL of its own, runs the workload's setup on it, and\n"
            "removes it at exit.\n"
            "\n"
            "options:\n",
            STORMDB_VERSION);
    for (const struct config_option *o = config_options; o->name; o++) {
        if (o->flags & CFG_NO_FLAG)
            continue;
        char flag[64];
        snprintf(flag, sizeof flag, "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(out, "  %-28s %s\n", flag, o->help);
    }
    fprintf(out,
            "\n"
            "Durations: 30s, 5m, 1h, 1m30s, 250ms; a bare number is seconds.\n"
            "Examples:\n"
            "  stormdb run tpcb --workers 32 --connections 16 --duration 30s\n"
            "  stormdb run ./mine.lua --workers 8 --rows=1000 --json result.json\n"
            "  stormdb run simple --progressive --strategy exponential --min-workers 1 --max-workers 64 --bands 7\n"
            "  stormdb --config study.yaml --dry-run\n"
            "Documentation: docs/ (command line, configuration, strategies, Lua API, results, analysis).\n");
}

/* Options after the command: --name value, --name=value, -h. Unknown names
 * belong to the script and must be written --name=value (or --flag). */
static int parse_args(struct config *c, int argc, char **argv, int first, char *bad, size_t badlen, int *nbad)
{
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0) {
            c->help = true;
            continue;
        }
        if (strncmp(a, "--", 2) != 0) {
            if (c->script) {
                fprintf(stderr, "stormdb: unexpected argument '%s' (one script per run)\n", a);
                return -1;
            }
            char why[64];
            if (config_set_from(c, config_find("workload"), a, CFG_FROM_CLI, 0, why, sizeof why) != 0) {
                fprintf(stderr, "stormdb: %s\n", why);
                return -1;
            }
            continue;
        }
        char name[128];
        const char *eq = strchr(a + 2, '=');
        size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        if (len == 0 || len >= sizeof name) {
            fprintf(stderr, "stormdb: bad option '%s'\n", a);
            return -1;
        }
        memcpy(name, a + 2, len);
        name[len] = '\0';
        const char *value = eq ? eq + 1 : NULL;
        const struct config_option *o = config_find(name);
        if (!o || (o->flags & CFG_NO_FLAG)) {
            if (config_add_script_option(c, name, value, 0) != 0)
                return -1;
            continue;
        }
        if (!value && o->type != CFG_BOOL) {
            if (i + 1 >= argc) {
                fprintf(stderr, "stormdb: --%s needs a value (%s)\n", name, o->arg);
                return -1;
            }
            value = argv[++i];
        }
        /* A bad value is reported with everything else that is wrong. */
        char err[512];
        if (config_set(c, name, value, err, sizeof err) != 0) {
            size_t used = strlen(bad);
            snprintf(bad + used, badlen - used, "%s\n", err);
            (*nbad)++;
        }
    }
    return 0;
}

static int server_command(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[2], "start") != 0 && strcmp(argv[2], "stop") != 0)) {
        fprintf(stderr, "usage: stormdb server start|stop DIR\n");
        return EXIT_BAD_INPUT;
    }
    struct throwaway tw;
    char err[1024];
    if (strcmp(argv[2], "start") == 0) {
        struct throwaway_options opt = {0, true};
        if (throwaway_start(&tw, &opt, err, sizeof err) != 0 || throwaway_save(&tw, argv[3], err, sizeof err) != 0) {
            fprintf(stderr, "stormdb: %s\n", err);
            return 1;
        }
        printf("%s\n", tw.conninfo);
        return 0;
    }
    if (throwaway_load(&tw, argv[3], err, sizeof err) != 0 || throwaway_stop(&tw, err, sizeof err) != 0) {
        fprintf(stderr, "stormdb: %s\n", err);
        return 1;
    }
    return 0;
}

static lua_State *controller_state(const char *lua_path)
{
    lua_State *L = luaenv_new(lua_path);
    if (!L)
        return NULL;
    luaenv_preload(L, "stormdb.engine", luaopen_stormdb_engine);
    luaenv_preload(L, "stormdb.server", luaopen_stormdb_server);
    luaenv_preload(L, "stormdb.pg", luaopen_stormdb_pg);
    return L;
}

/* Calls module.main(arg) with the argument on top of L; returns its status. */
static int call_main(lua_State *L, const char *module)
{
    int status = 1;
    if (luaenv_require(L, module) != 0) {
        fprintf(stderr, "stormdb: %s\n", lua_tostring(L, -1));
        return 1;
    }
    lua_getfield(L, -1, "main");
    lua_pushvalue(L, -3);
    if (luaenv_pcall(L, 1, 1) != 0)
        fprintf(stderr, "stormdb: internal error: %s\n", lua_tostring(L, -1));
    else
        status = (int)luaL_optinteger(L, -1, 0);
    return status;
}

/* Runs cli.lua's main(config) in the controller's Lua state. */
static int run_controller(struct config *c)
{
    lua_State *L = controller_state(c->lua_path);
    if (!L) {
        fprintf(stderr, "stormdb: out of memory\n");
        return 1;
    }
    config_push(L, c);
    int status = call_main(L, "stormdb.cli");
    lua_close(L); /* also stops a throwaway server left running by an error */
    return status;
}

/* Commands written wholly in Lua (scripts/stormdb/commands/NAME.lua) get
 * their arguments as a list and parse them themselves. */
static int run_lua_command(const char *name, int argc, char **argv)
{
    lua_State *L = controller_state(getenv("STORMDB_LUA_PATH"));
    if (!L) {
        fprintf(stderr, "stormdb: out of memory\n");
        return 1;
    }
    lua_createtable(L, argc, 0);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i + 1);
    }
    char module[128];
    snprintf(module, sizeof module, "stormdb.commands.%s", name);
    int status = call_main(L, module);
    lua_close(L);
    return status;
}

struct problem_line {
    const char *text;
    long line;      /* in the file; LONG_MAX for the rest, which keep their order */
    int order;
};

static int by_line(const void *a, const void *b)
{
    const struct problem_line *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->order - y->order;
}

/* Every line already names its place (file:line: key, or --flag); those in
 * the file come first, in the file's order, so they read top to bottom. */
static void print_problems(const struct config *c, char *err)
{
    struct problem_line lines[256];
    int n = 0;
    size_t flen = c->config_file ? strlen(c->config_file) : 0;
    for (char *p = err; *p && n < 256;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        long line = LONG_MAX;
        if (flen && strncmp(p, c->config_file, flen) == 0 && p[flen] == ':') {
            char *end;
            long v = strtol(p + flen + 1, &end, 10);
            if (end != p + flen + 1 && *end == ':')
                line = v;
        }
        lines[n] = (struct problem_line){p, line, n};
        n++;
        if (!nl)
            break;
        p = nl + 1;
    }
    qsort(lines, (size_t)n, sizeof lines[0], by_line);
    for (int i = 0; i < n; i++)
        fprintf(stderr, "stormdb: %s\n", lines[i].text);
}

/* The file, then the rules between options, all problems at once; then the
 * controller. */
static int configure_and_run(struct config *c, char *err, size_t errsize, int problems)
{
    size_t used = strlen(err);
    if (c->config_file) {
        problems += config_load_yaml(c, err + used, errsize - used);
        used = strlen(err);
    }
    if (c->log_level && log_level_parse(c->log_level) >= 0)
        log_set_level((enum log_level)log_level_parse(c->log_level));
    if (c->help && !c->script && !c->config_file) {
        usage(stdout);
        return 0;
    }
    problems += config_resolve(c, err + used, errsize - used);
    used = strlen(err);
    problems += config_validate(c, err + used, errsize - used);
    if (problems > 0) {
        print_problems(c, err);
        return EXIT_BAD_INPUT;
    }
    if (strcmp(c->command, "list") != 0 && !c->script) {
        if (c->config_file)
            fprintf(stderr, "stormdb: %s: which workload? (workload: a bundled name or a path to a Lua file)\n",
                    c->config_file);
        else
            fprintf(stderr, "stormdb %s: which script? (a bundled workload's name or a path; see stormdb list)\n",
                    c->command);
        return EXIT_BAD_INPUT;
    }
    return run_controller(c);
}

int main(int argc, char **argv)
{
    const char *env_level = getenv("STORMDB_LOG_LEVEL");
    if (env_level && log_level_parse(env_level) >= 0)
        log_set_level((enum log_level)log_level_parse(env_level));
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_BAD_INPUT : 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("stormdb %s\n", STORMDB_VERSION);
        return 0;
    }
    engine_install_signals();
    if (strcmp(argv[1], "server") == 0)
        return server_command(argc, argv);
    for (const char *const *cmd = lua_commands; *cmd; cmd++)
        if (strcmp(argv[1], *cmd) == 0)
            return run_lua_command(*cmd, argc - 2, argv + 2);

    struct config c;
    config_init(&c);
    /* `stormdb --config FILE ...` is `stormdb run --config FILE ...` */
    int first = 2;
    c.command = argv[1];
    if (strncmp(argv[1], "--", 2) == 0) {
        c.command = "run";
        first = 1;
    }
    int status;
    if (strcmp(c.command, "run") && strcmp(c.command, "setup") && strcmp(c.command, "cleanup") &&
        strcmp(c.command, "list")) {
        fprintf(stderr, "stormdb: unknown command '%s' (try stormdb --help)\n", c.command);
        status = EXIT_BAD_INPUT;
    } else {
        static char err[16384];
        int nbad = 0;
        err[0] = '\0';
        if (parse_args(&c, argc, argv, first, err, sizeof err, &nbad) != 0)
            status = EXIT_BAD_INPUT;
        else
            status = configure_and_run(&c, err, sizeof err, nbad);
    }
    config_free(&c);
    return status;
}
