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
    return s;
}

void stats_free(struct stats *s)
{
    if (!s)
        return;
    free(s->tx);
    free(s->errors);
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

uint64_t stats_total_errors(const struct stats *s)
{
    uint64_t n = 0;
    for (int i = 0; i < s->ntx; i++)
        n += s->tx[i].errors;
    return n;
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
    dst->queries += src->queries;
    dst->reconnects += src->reconnects;
    for (int i = 0; i < src->nerrors; i++) {
        struct error_count *e = find_error(dst, src->errors[i].tx, src->errors[i].sqlstate);
        if (e)
            e->count += src->errors[i].count;
    }
}

void interval_reset(struct interval *iv)
{
    iv->count = iv->errors = 0;
    hist_reset(&iv->latency);
}

void interval_merge(struct interval *dst, const struct interval *src)
{
    dst->count += src->count;
    dst->errors += src->errors;
    hist_merge(&dst->latency, &src->latency);
}
