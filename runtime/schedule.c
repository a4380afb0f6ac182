/* Open-loop arrival schedules and the queue of due starts (see schedule.h). */
#include "runtime/schedule.h"

#include <stdlib.h>

void schedule_init(struct schedule *s, enum arrival_kind kind, double rate_per_s, uint64_t seed, uint64_t stream,
                   uint64_t start_ns)
{
    s->kind = kind;
    s->interval_ns = 1e9 / rate_per_s;
    s->start_ns = start_ns;
    s->count = 0;
    rand_seed(&s->rand, seed, stream);
    s->offset_ns = kind == ARRIVAL_POISSON ? rand_exponential(&s->rand, s->interval_ns) : 0;
}

uint64_t schedule_peek(const struct schedule *s) { return s->start_ns + (uint64_t)s->offset_ns; }

uint64_t schedule_take(struct schedule *s)
{
    uint64_t when = schedule_peek(s);
    s->count++;
    if (s->kind == ARRIVAL_UNIFORM)
        s->offset_ns = (double)s->count * s->interval_ns; /* k-th arrival at k/rate, exactly */
    else
        s->offset_ns += rand_exponential(&s->rand, s->interval_ns);
    return when;
}

int startq_push(struct start_queue *q, uint64_t when)
{
    if (q->len == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 1024;
        uint64_t *v = malloc(cap * sizeof *v);
        if (!v)
            return -1;
        for (size_t i = 0; i < q->len; i++)
            v[i] = q->v[(q->head + i) % q->cap];
        free(q->v);
        q->v = v;
        q->head = 0;
        q->cap = cap;
    }
    q->v[(q->head + q->len) % q->cap] = when;
    q->len++;
    return 0;
}

bool startq_pop(struct start_queue *q, uint64_t *when)
{
    if (q->len == 0)
        return false;
    *when = q->v[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    return true;
}

void startq_clear(struct start_queue *q)
{
    q->head = 0;
    q->len = 0;
}

void startq_free(struct start_queue *q)
{
    free(q->v);
    q->v = NULL;
    q->head = q->len = q->cap = 0;
}
