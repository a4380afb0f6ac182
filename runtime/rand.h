/*
 * Per-worker random streams for workloads: repeatable (a --seed and a worker
 * number give the same stream on every run and machine), cheap (xoshiro256**,
 * no locks, no allocation on the hot path) and copyable, so a transaction that
 * is retried after a serialization failure can restore the state it started
 * from and draw the same values again.
 */
#ifndef STORMDB_RAND_H
#define STORMDB_RAND_H

#include <stddef.h>
#include <stdint.h>

struct rand_state {
    uint64_t s[4];
    /* Box-Muller makes two normals at a time; the spare is part of the state
     * so that save/restore repeats gaussian draws exactly. */
    double spare;
    int has_spare;
};

/* Stream `stream` of seed `seed` (workers use their worker number). Distinct
 * (seed, stream) pairs give independent-looking streams. */
void rand_seed(struct rand_state *r, uint64_t seed, uint64_t stream);

uint64_t rand_next(struct rand_state *r);                  /* 64 random bits */
double rand_double(struct rand_state *r);                  /* [0, 1) */
int64_t rand_uniform(struct rand_state *r, int64_t lo, int64_t hi);   /* [lo, hi] inclusive, unbiased; hi < lo are swapped */
double rand_gaussian(struct rand_state *r, double mean, double sd);
double rand_exponential(struct rand_state *r, double mean);           /* for Poisson arrivals */

/* TPC-C NURand(A, x, y) with run-time constant C (clause 2.1.6); always in [x, y]. */
int64_t rand_nurand(struct rand_state *r, int64_t a, int64_t x, int64_t y, int64_t c);

/*
 * Zipfian over [1, n] with exponent theta in (0, 1) (YCSB / Gray et al.
 * "Quickly generating billion-record synthetic databases"): value 1 is the
 * most popular. The zeta constants cost O(n) to compute, so they live in a
 * struct the caller keeps per (n, theta) and shares between workers of a
 * thread (it is read-only after zipf_init).
 */
struct zipf {
    int64_t n;
    double theta, alpha, zetan, eta, half_pow_theta;
};
int zipf_init(struct zipf *z, int64_t n, double theta);   /* 0, or -1 on bad n/theta */
int64_t rand_zipf(struct rand_state *r, const struct zipf *z);

/* TPC-C a-string / n-string: random length in [min_len, max_len], letters
 * and digits / digits only. Writes len bytes plus NUL into buf, which must
 * hold max_len + 1; returns the length (max_len if min_len > max_len). */
size_t rand_astring(struct rand_state *r, char *buf, size_t min_len, size_t max_len);
size_t rand_nstring(struct rand_state *r, char *buf, size_t min_len, size_t max_len);

#endif
