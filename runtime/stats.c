/* Per-thread measurement and its merge (see stats.h). */
#include "runtime/stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct stats *stats_new(int ntx)
{
    struct stats *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->ntx = ntx;
    s->tx = calloc((size_t)(ntx > 0 ? ntx : 1), sizeof *s->tx);
    if (!s->tx) {
        free(s);
        return NULL;
    }
    for (int i = 0; i < ntx; i++)
        hist_init(&s->tx[i].latency);
    hist_init(&s->pool_wait);
    hist_init(&s->lag);
    hist_init(&s->service);
    return s;
}

void stats_free(struct stats *s)
{
    if (!s)
        return;
    free(s->tx);
    free(s->errors);
    free(s->metrics);
    free(s);
}

static struct error_count *find_error(struct stats *s, int tx, const char *sqlstate)
{
    for (int i = 0; i < s->nerrors; i++)
        if (s->errors[i].tx == tx && strcmp(s->errors[i].sqlstate, sqlstate) == 0)
            return &s->errors[i];
    if (s->nerrors == s->caperrors) {
        int cap = s->caperrors ? s->caperrors * 2 : 8;
        struct error_count *e = realloc(s->errors, (size_t)cap * sizeof *e);
        if (!e)
            return NULL;
        s->errors = e;
        s->caperrors = cap;
    }
    struct error_count *e = &s->errors[s->nerrors++];
    e->tx = tx;
    snprintf(e->sqlstate, sizeof e->sqlstate, "%s", sqlstate);
    e->count = 0;
    return e;
}

void stats_count_error(struct stats *s, int tx, const char *sqlstate)
{
    struct error_count *e = find_error(s, tx, sqlstate && *sqlstate ? sqlstate : "?????");
    if (e)
        e->count++;
}

static struct metric *find_metric(struct stats *s, const char *name)
{
    for (int i = 0; i < s->nmetrics; i++)
        if (strcmp(s->metrics[i].name, name) == 0)
            return &s->metrics[i];
    if (s->nmetrics == s->capmetrics) {
        int cap = s->capmetrics ? s->capmetrics * 2 : 4;
        struct metric *m = realloc(s->metrics, (size_t)cap * sizeof *m);
        if (!m)
            return NULL;
        s->metrics = m;
        s->capmetrics = cap;
    }
    struct metric *m = &s->metrics[s->nmetrics++];
    snprintf(m->name, sizeof m->name, "%s", name);
    hist_init(&m->values);
    return m;
}

void stats_record_metric(struct stats *s, const char *name, uint64_t ns)
{
    struct metric *m = find_metric(s, name);
    if (m)
        hist_record(&m->values, ns);
}

void stats_merge(struct stats *dst, const struct stats *src)
{
    for (int i = 0; i < dst->ntx && i < src->ntx; i++) {
        dst->tx[i].count += src->tx[i].count;
        dst->tx[i].errors += src->tx[i].errors;
        dst->tx[i].retries += src->tx[i].retries;
        hist_merge(&dst->tx[i].latency, &src->tx[i].latency);
    }
    hist_merge(&dst->pool_wait, &src->pool_wait);
    hist_merge(&dst->lag, &src->lag);
    hist_merge(&dst->service, &src->service);
    dst->late += src->late;
    dst->skipped += src->skipped;
    dst->queries += src->queries;
    dst->reconnects += src->reconnects;
    for (int i = 0; i < src->nerrors; i++) {
        struct error_count *e = find_error(dst, src->errors[i].tx, src->errors[i].sqlstate);
        if (e)
            e->count += src->errors[i].count;
    }
    for (int i = 0; i < src->nmetrics; i++) {
        struct metric *m = find_metric(dst, src->metrics[i].name);
        if (m)
            hist_merge(&m->values, &src->metrics[i].values);
    }
}

void interval_reset(struct interval *iv)
{
    iv->count = iv->errors = iv->late = iv->skipped = 0;
    hist_reset(&iv->latency);
    hist_reset(&iv->lag);
}

void interval_merge(struct interval *dst, const struct interval *src)
{
    dst->count += src->count;
    dst->errors += src->errors;
    dst->late += src->late;
    dst->skipped += src->skipped;
    hist_merge(&dst->latency, &src->latency);
    hist_merge(&dst->lag, &src->lag);
}
