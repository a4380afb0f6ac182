/* Loading a YAML configuration file into struct config (see config_yaml.h).
 *
 * The file is read whole with libyaml's document API, so every node keeps its
 * line; then each key is looked up in the option table by (section, key) and
 * set with config_set_from(CFG_FROM_FILE). These keys are not options:
 * `workload_options:` (the workload's own options) and the top-level `scale:`
 * (the same, as older files wrote it), and the sections `database:`, `slo:`,
 * `analysis:` and `progressive:` themselves. */
#include "runtime/config_yaml.h"

#include <errno.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct loader {
    struct config *c;
    yaml_document_t *doc;
    const char *file;
    char *err;
    size_t errlen, used;
    int problems;
};

__attribute__((format(printf, 2, 3))) static void problem(struct loader *ld, const char *fmt, ...)
{
    ld->problems++;
    if (ld->used >= ld->errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(ld->err + ld->used, ld->errlen - ld->used, fmt, ap);
    va_end(ap);
    if (n > 0)
        ld->used += (size_t)n;
    if (ld->used < ld->errlen - 1) {
        ld->err[ld->used++] = '\n';
        ld->err[ld->used] = '\0';
    } else {
        ld->used = ld->errlen;
    }
}

static int line_of(const yaml_node_t *n) { return (int)n->start_mark.line + 1; }

static const char *scalar(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

static const char *kind(const yaml_node_t *n)
{
    return n->type == YAML_SEQUENCE_NODE ? "a list" : n->type == YAML_MAPPING_NODE ? "a mapping" : "a value";
}

/* A plain empty, ~ or null scalar: `key:` with nothing after it. */
static int is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *v = scalar(n);
    return !*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/* Keys a section allows, for "did you mean" and the list of what is allowed. */
static const char *const top_extra[] = {"workload_options", "scale", "database", "progressive", "slo", "analysis",
                                         NULL};

static int in_section(const struct config_option *o, const char *section)
{
    if (!o->key)
        return 0;
    if (!section)
        return o->section == NULL;
    return o->section && strcmp(o->section, section) == 0;
}

static void unknown_key(struct loader *ld, const char *section, const char *key, int line)
{
    char full[160];
    snprintf(full, sizeof full, "%s%s%s", section ? section : "", section ? "." : "", key);
    /* The right key in the wrong section? */
    for (const struct config_option *o = config_options; o->name; o++) {
        if (o->key && strcmp(o->key, key) == 0 && !in_section(o, section)) {
            problem(ld, "%s:%d: %s: unknown key %s; did you mean %s%s%s?", ld->file, line, full,
                    section ? "in this section" : "at the top level", o->section ? o->section : "",
                    o->section ? "." : "", o->key);
            return;
        }
    }
    const char *best = NULL;
    int best_d = 1000;
    char allowed[1024] = "";
    for (const struct config_option *o = config_options; o->name; o++) {
        if (!in_section(o, section))
            continue;
        size_t used = strlen(allowed);
        snprintf(allowed + used, sizeof allowed - used, "%s%s", used ? ", " : "", o->key);
        int d = config_edit_distance(key, o->key);
        if (config_is_close(key, o->key) && d < best_d) {
            best = o->key;
            best_d = d;
        }
    }
    if (!section) {
        for (const char *const *k = top_extra; *k; k++) {
            size_t used = strlen(allowed);
            snprintf(allowed + used, sizeof allowed - used, ", %s", *k);
            int d = config_edit_distance(key, *k);
            if (config_is_close(key, *k) && d < best_d) {
                best = *k;
                best_d = d;
            }
        }
    }
    if (best)
        problem(ld, "%s:%d: %s: unknown key; did you mean %s?", ld->file, line, full, best);
    else
        problem(ld, "%s:%d: %s: unknown key (%s: allows %s)", ld->file, line, full,
                section ? section : "the top level", allowed);
}

static void set_option(struct loader *ld, const struct config_option *o, const yaml_node_t *value, const char *full);

/* A list option (CFG_LIST) takes a YAML list of values, or one value:
 * `reporters: [console, csv, ./mine.lua]`. An empty list is an empty list. */
static void set_list(struct loader *ld, const struct config_option *o, const yaml_node_t *value, const char *full)
{
    char why[256];
    if (value->data.sequence.items.start == value->data.sequence.items.top &&
        config_set_from(ld->c, o, "", CFG_FROM_FILE, line_of(value), why, sizeof why) != 0)
        problem(ld, "%s:%d: %s: %s", ld->file, line_of(value), full, why);
    for (yaml_node_item_t *i = value->data.sequence.items.start; i < value->data.sequence.items.top; i++) {
        const yaml_node_t *item = yaml_document_get_node(ld->doc, *i);
        if (item)
            set_option(ld, o, item, full);
    }
    ld->c->origin[config_index(o)].line = line_of(value); /* messages name the list's line */
}

static void set_option(struct loader *ld, const struct config_option *o, const yaml_node_t *value, const char *full)
{
    int line = line_of(value);
    if (o->type == CFG_LIST && value->type == YAML_SEQUENCE_NODE) {
        set_list(ld, o, value, full);
        return;
    }
    if (value->type != YAML_SCALAR_NODE) {
        problem(ld, "%s:%d: %s: expected a single value, not %s", ld->file, line, full, kind(value));
        return;
    }
    if (is_null(value)) {
        problem(ld, "%s:%d: %s: needs a value", ld->file, line, full);
        return;
    }
    char why[256];
    if (config_set_from(ld->c, o, scalar(value), CFG_FROM_FILE, line, why, sizeof why) != 0) {
        if (o->flags & CFG_SECRET)
            problem(ld, "%s:%d: %s: %s", ld->file, line, full, why);
        else
            problem(ld, "%s:%d: %s: %s: %s", ld->file, line, full, scalar(value), why);
    }
}

static void script_option(struct loader *ld, const char *name, const yaml_node_t *value, const char *full)
{
    int line = line_of(value);
    if (value->type != YAML_SCALAR_NODE) {
        problem(ld, "%s:%d: %s: expected a single value, not %s", ld->file, line, full, kind(value));
        return;
    }
    if (is_null(value)) {
        problem(ld, "%s:%d: %s: needs a value", ld->file, line, full);
        return;
    }
    if (config_add_script_option(ld->c, name, scalar(value), line) != 0)
        problem(ld, "%s:%d: %s: out of memory", ld->file, line, full);
}

/* Calls fn for each key: value of a mapping, after checking the key is a
 * scalar and not a repeat. */
typedef void (*pair_fn)(struct loader *ld, const char *section, const char *key, const yaml_node_t *k,
                        const yaml_node_t *v);

static void each_pair(struct loader *ld, const yaml_node_t *map, const char *section, pair_fn fn)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = yaml_document_get_node(ld->doc, p->key);
        const yaml_node_t *v = yaml_document_get_node(ld->doc, p->value);
        if (!k || !v)
            continue;
        if (k->type != YAML_SCALAR_NODE) {
            problem(ld, "%s:%d: %s%skeys must be plain words, not %s", ld->file, line_of(k), section ? section : "",
                    section ? ": " : "", kind(k));
            continue;
        }
        int repeat = 0;
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p && !repeat; q++) {
            const yaml_node_t *qk = yaml_document_get_node(ld->doc, q->key);
            if (qk && qk->type == YAML_SCALAR_NODE && strcmp(scalar(qk), scalar(k)) == 0) {
                problem(ld, "%s:%d: %s%s%s: set twice (first on line %d)", ld->file, line_of(k), section ? section : "",
                        section ? "." : "", scalar(k), line_of(qk));
                repeat = 1;
            }
        }
        if (!repeat)
            fn(ld, section, scalar(k), k, v);
    }
}

static void section_pair(struct loader *ld, const char *section, const char *key, const yaml_node_t *k,
                         const yaml_node_t *v)
{
    char full[160];
    snprintf(full, sizeof full, "%s.%s", section, key);
    if (strcmp(section, "workload_options") == 0) {
        script_option(ld, key, v, full);
        return;
    }
    for (const struct config_option *o = config_options; o->name; o++) {
        if (in_section(o, section) && strcmp(o->key, key) == 0) {
            set_option(ld, o, v, full);
            return;
        }
    }
    unknown_key(ld, section, key, line_of(k));
}

static void top_pair(struct loader *ld, const char *section, const char *key, const yaml_node_t *k,
                     const yaml_node_t *v)
{
    (void)section;
    if (strcmp(key, "database") == 0 || strcmp(key, "progressive") == 0 || strcmp(key, "workload_options") == 0 ||
        strcmp(key, "slo") == 0 || strcmp(key, "analysis") == 0) {
        if (v->type == YAML_MAPPING_NODE) {
            each_pair(ld, v, key, section_pair);
        } else if (strcmp(key, "database") == 0 && v->type == YAML_SCALAR_NODE && !is_null(v)) {
            set_option(ld, config_find("dsn"), v, "database"); /* database: "postgresql://..." */
        } else if (!is_null(v)) {
            problem(ld, "%s:%d: %s: expected a mapping of settings (key: value, indented below it), not %s", ld->file,
                    line_of(v), key, kind(v));
        }
        return;
    }
    if (strcmp(key, "scale") == 0) {
        script_option(ld, "scale", v, "scale");
        return;
    }
    for (const struct config_option *o = config_options; o->name; o++) {
        if (in_section(o, NULL) && strcmp(o->key, key) == 0) {
            set_option(ld, o, v, key);
            return;
        }
    }
    unknown_key(ld, NULL, key, line_of(k));
}

/* workload_options.scale and a top-level scale: is the same option twice. */
static void check_scale_twice(struct loader *ld)
{
    struct config *c = ld->c;
    int first = 0;
    for (int i = 0; i < c->nscript; i++) {
        if (c->script_lines[i] <= 0 || strcmp(c->script_names[i], "scale") != 0)
            continue;
        if (first)
            problem(ld, "%s:%d: scale: set twice (also on line %d, as scale: and workload_options.scale:)", ld->file,
                    c->script_lines[i], first);
        else
            first = c->script_lines[i];
    }
}

int config_load_yaml(struct config *c, char *err, size_t errlen)
{
    struct loader ld = {c, NULL, c->config_file, err, errlen, 0, 0};
    if (errlen)
        err[0] = '\0';
    FILE *f = fopen(c->config_file, "rb");
    struct stat st;
    if (f && fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        f = NULL;
        errno = EISDIR;
    }
    if (!f) {
        problem(&ld, "%s: cannot read the configuration file: %s", c->config_file, strerror(errno));
        return ld.problems;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        problem(&ld, "%s: out of memory", c->config_file);
        return ld.problems;
    }
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        const yaml_mark_t *m = parser.problem ? &parser.problem_mark : &parser.context_mark;
        if (parser.context)
            problem(&ld, "%s:%d:%d: %s (%s, line %d)", c->config_file, (int)m->line + 1, (int)m->column + 1,
                    parser.problem ? parser.problem : "malformed YAML", parser.context,
                    (int)parser.context_mark.line + 1);
        else
            problem(&ld, "%s:%d:%d: %s", c->config_file, (int)m->line + 1, (int)m->column + 1,
                    parser.problem ? parser.problem : "malformed YAML");
        yaml_parser_delete(&parser);
        fclose(f);
        return ld.problems;
    }
    ld.doc = &doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root && root->type == YAML_MAPPING_NODE) {
        each_pair(&ld, root, NULL, top_pair);
        check_scale_twice(&ld);
    } else if (root && !is_null(root)) {
        problem(&ld, "%s:%d: expected a mapping of settings (key: value) at the top level, not %s", c->config_file,
                line_of(root), kind(root));
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    fclose(f);
    return ld.problems;
}
