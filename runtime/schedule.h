/*
 * Open-loop arrivals (--rate): when each transaction is *supposed* to start,
 * independent of how fast the server answers. A closed loop slows down with
 * the server and so hides queueing (coordinated omission); measuring latency
 * from these scheduled starts does not. Each engine thread keeps its own
 * schedule for its share of the rate, and a FIFO of starts that are due but
 * found no idle worker yet.
 */
#ifndef STORMDB_SCHEDULE_H
#define STORMDB_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/rand.h"

enum arrival_kind { ARRIVAL_POISSON, ARRIVAL_UNIFORM };

struct schedule {
    enum arrival_kind kind;
    double interval_ns;     /* mean time between arrivals */
    uint64_t start_ns;
    double offset_ns;       /* of the next arrival, from start (no drift from rounding) */
    uint64_t count;         /* arrivals handed out */
    struct rand_state rand;
};

/* rate_per_s > 0. Poisson draws exponential gaps from (seed, stream);
 * uniform spaces arrivals exactly 1/rate apart. The first arrival is one gap
 * after start_ns (at start_ns for uniform). */
void schedule_init(struct schedule *s, enum arrival_kind kind, double rate_per_s, uint64_t seed, uint64_t stream,
                   uint64_t start_ns);
/* Time of the next arrival (without taking it), and taking it. */
uint64_t schedule_peek(const struct schedule *s);
uint64_t schedule_take(struct schedule *s);

/* FIFO of due starts (ns). push returns -1 when out of memory. */
struct start_queue {
    uint64_t *v;
    size_t head, len, cap;
};
int startq_push(struct start_queue *q, uint64_t when);
bool startq_pop(struct start_queue *q, uint64_t *when);
void startq_clear(struct start_queue *q);
void startq_free(struct start_queue *q);

#endif
