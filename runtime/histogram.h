/*
 * Latency histogram with constant relative error (HDR style).
 *
 * Why our own: percentiles must be within 1% of exact, merging must be exact
 * (per-thread histograms are added at phase ends and across processes), and
 * recording sits on the transaction hot path, so it must be O(1) with no
 * allocation. Values are nanoseconds. Buckets are power-of-two ranges, each
 * split into HIST_SUB_BUCKETS/2 linear sub-buckets, so a recorded value lands
 * in a bucket whose width is at most 1/128 of the value (relative error of the
 * bucket midpoint < 0.4%). Values from 0 to 2^HIST_MAX_POW2 ns (~78 min) are
 * resolved; larger ones are counted in the last bucket, and min/max/sum stay
 * exact beside the buckets. A single writer per histogram; no locking.
 */
#ifndef STORMDB_HISTOGRAM_H
#define STORMDB_HISTOGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HIST_SUB_BITS 8                          /* 256 sub-buckets in the first range */
#define HIST_SUB_BUCKETS (1u << HIST_SUB_BITS)
#define HIST_MAX_POW2 42                         /* 2^42 ns = 73.3 min */
#define HIST_BUCKETS (HIST_MAX_POW2 - HIST_SUB_BITS + 1)
#define HIST_COUNTS ((HIST_BUCKETS + 1) * (HIST_SUB_BUCKETS / 2))

struct histogram {
    uint64_t count;      /* exact number of values recorded */
    uint64_t min, max;   /* exact; min is UINT64_MAX when empty */
    uint64_t sum;        /* exact sum of values (ns); saturates at UINT64_MAX */
    double sumsq;        /* sum of squares, for the standard deviation */
    uint64_t counts[HIST_COUNTS];
};

void hist_init(struct histogram *h);            /* empty histogram */
void hist_reset(struct histogram *h);           /* same as init */
void hist_record(struct histogram *h, uint64_t ns);
void hist_record_n(struct histogram *h, uint64_t ns, uint64_t n);
void hist_merge(struct histogram *dst, const struct histogram *src);

/* Value at percentile p in [0, 100], clamped to [min, max]; 0 when empty.
 * The rank is ceil(p/100 * count) (at least 1); the value reported is the
 * midpoint of the part of that rank's bucket inside [min, max], so it is
 * within half a bucket (< 0.4%) of the exact value. p <= 0 gives min and
 * p >= 100 gives max. */
uint64_t hist_percentile(const struct histogram *h, double p);
double hist_mean(const struct histogram *h);    /* ns; 0 when empty */
double hist_stddev(const struct histogram *h);  /* population sd in ns; 0 when < 2 values */

/*
 * Text form, stable and versioned, for JSON exports and exact merging across
 * processes: "v1 count min max sum sumsq idx:n idx:n ..." (only non-zero
 * buckets, indexes ascending). hist_serialise returns a malloc'd string.
 * hist_parse fills *h and returns 0, or -1 with *h left empty on bad input:
 * another version, a sign or junk in a number, an index out of range, not
 * ascending or repeated, a zero count, counts that do not sum to count, or
 * min/max outside the first/last non-empty bucket. "v1" implies this file's
 * layout (HIST_SUB_BITS 8, HIST_MAX_POW2 42); a new layout needs "v2".
 */
char *hist_serialise(const struct histogram *h);
int hist_parse(struct histogram *h, const char *text);

/* Bucket arithmetic, exposed for tests: index of a value and the
 * [lowest, highest] values that share that bucket (index < HIST_COUNTS).
 * The last bucket also holds every value above 2^HIST_MAX_POW2, so its
 * highest value is UINT64_MAX. */
size_t hist_index(uint64_t ns);
uint64_t hist_bucket_low(size_t index);
uint64_t hist_bucket_high(size_t index);

#endif
