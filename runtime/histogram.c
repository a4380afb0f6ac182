/*
 * Latency histogram: the bucket arithmetic, percentiles and the text form.
 *
 * This file exists so that every latency figure stormdb prints comes from one
 * place with a known error bound. The layout is HdrHistogram's: bucket 0 holds
 * the values 0..255 one per slot; bucket k >= 1 holds [128 << k, 256 << k) in
 * 128 slots of width 2^k. A slot is therefore never wider than 1/128 of the
 * values in it, which is what bounds the percentile error.
 *
 * Index of a value v (v < 2^HIST_MAX_POW2):
 *     k     = msb(v | 255) - 7              (0 for v < 256)
 *     index = k * 128 + (v >> k)
 * For k = 0 this is v itself (0..255); for k >= 1, v >> k is in [128, 256),
 * so bucket k owns indexes [128(k+1), 128(k+2)) and the buckets tile the
 * array with no gaps. The last index also takes every value >= 2^HIST_MAX_POW2.
 */
#include "runtime/histogram.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HALF_BITS (HIST_SUB_BITS - 1)
#define HALF (HIST_SUB_BUCKETS / 2)
#define LAST_INDEX (HIST_COUNTS - 1)
#define RESOLVED_MAX ((UINT64_C(1) << HIST_MAX_POW2) - 1)

/* The text form names the layout it was written with; a different layout
 * must use a different version, or merged counts would land in wrong slots. */
#define HIST_TEXT_VERSION "v1"

_Static_assert(HIST_COUNTS == (HIST_MAX_POW2 - HALF_BITS + 1) * HALF,
               "the last bucket must end exactly at 2^HIST_MAX_POW2");

void hist_init(struct histogram *h)
{
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
}

void hist_reset(struct histogram *h)
{
    hist_init(h);
}

size_t hist_index(uint64_t ns)
{
    /* Values past the resolved range share the last slot; min/max/sum keep
     * them exact. Written as a clamp so the compiler can use a cmov. */
    uint64_t v = ns > RESOLVED_MAX ? RESOLVED_MAX : ns;
    unsigned k = (unsigned)(63 - __builtin_clzll(v | (HIST_SUB_BUCKETS - 1))) - HALF_BITS;
    return ((size_t)k << HALF_BITS) + (size_t)(v >> k);
}

/* Bucket number k of an index and the sub-bucket (the value >> k). */
static unsigned index_shift(size_t index)
{
    return index < HIST_SUB_BUCKETS ? 0 : (unsigned)(index >> HALF_BITS) - 1;
}

uint64_t hist_bucket_low(size_t index)
{
    if (index > LAST_INDEX)
        index = LAST_INDEX;
    unsigned k = index_shift(index);
    return (uint64_t)(index - ((size_t)k << HALF_BITS)) << k;
}

uint64_t hist_bucket_high(size_t index)
{
    if (index >= LAST_INDEX)
        return UINT64_MAX;   /* the overflow slot: everything above is here */
    return hist_bucket_low(index) + (UINT64_C(1) << index_shift(index)) - 1;
}

/* Saturating, so a pathological value (UINT64_MAX ns) pins the sum at its
 * ceiling instead of wrapping it to a small, plausible-looking number. */
static uint64_t add_sat(uint64_t a, uint64_t b)
{
    uint64_t r;
    return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

void hist_record(struct histogram *h, uint64_t ns)
{
    h->counts[hist_index(ns)]++;
    h->count++;
    h->sum = add_sat(h->sum, ns);
    h->sumsq += (double)ns * (double)ns;
    if (ns < h->min)
        h->min = ns;
    if (ns > h->max)
        h->max = ns;
}

void hist_record_n(struct histogram *h, uint64_t ns, uint64_t n)
{
    if (n == 0)
        return;   /* recording nothing must not move min and max */
    uint64_t total;
    if (__builtin_mul_overflow(ns, n, &total))
        total = UINT64_MAX;
    h->counts[hist_index(ns)] += n;
    h->count += n;
    h->sum = add_sat(h->sum, total);
    h->sumsq += (double)ns * (double)ns * (double)n;
    if (ns < h->min)
        h->min = ns;
    if (ns > h->max)
        h->max = ns;
}

void hist_merge(struct histogram *dst, const struct histogram *src)
{
    for (size_t i = 0; i < HIST_COUNTS; i++)
        dst->counts[i] += src->counts[i];
    dst->count += src->count;
    dst->sum = add_sat(dst->sum, src->sum);
    dst->sumsq += src->sumsq;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

/*
 * Rank of percentile p: ceil(p/100 * count), at least 1. p comes from decimal
 * text ("99.9") that binary floating point cannot hold exactly, so 99.9% of
 * 1e6 would come out as 999000.0000000001 and round up one rank too far; a
 * relative tolerance far below one rank absorbs that.
 */
static uint64_t percentile_rank(double p, uint64_t count)
{
    long double x = (long double)p / 100.0L * (long double)count;
    x -= x * 1e-12L;
    long double r = ceill(x);
    if (r < 1.0L)
        return 1;
    if (r >= (long double)count)
        return count;
    return (uint64_t)r;
}

static size_t index_at_rank(const struct histogram *h, uint64_t rank)
{
    uint64_t seen = 0;
    for (size_t i = 0; i < HIST_COUNTS; i++) {
        seen += h->counts[i];
        if (seen >= rank)
            return i;
    }
    return LAST_INDEX;   /* only if counts disagree with count */
}

/*
 * The midpoint of the part of the bucket that lies inside [min, max]: still
 * within half a bucket of every value in it, and exact when the bucket holds
 * a single distinct value at either end of the data (or the overflow slot
 * holds the maximum).
 */
uint64_t hist_percentile(const struct histogram *h, double p)
{
    if (h->count == 0)
        return 0;
    if (!(p > 0.0))          /* also catches NaN */
        return h->min;
    if (p >= 100.0)
        return h->max;
    size_t i = index_at_rank(h, percentile_rank(p, h->count));
    uint64_t lo = hist_bucket_low(i), hi = hist_bucket_high(i);
    if (lo < h->min)
        lo = h->min;
    if (hi > h->max)
        hi = h->max;
    if (lo > hi)             /* counts disagree with min/max: trust min/max */
        return lo > h->max ? h->max : h->min;
    return lo + (hi - lo) / 2;
}

double hist_mean(const struct histogram *h)
{
    if (h->count == 0)
        return 0.0;
    return (double)((long double)h->sum / (long double)h->count);
}

/*
 * Population variance from the moments. sumsq is a double, so with large
 * values E[x^2] - mean^2 cancels down to rounding noise when the spread is
 * small (ten records of 123456789 ns would show a 1 ns deviation). The true
 * deviation can never exceed half the range (Popoviciu's inequality), and
 * min and max are exact, so clamping to that bound removes the noise: a
 * constant series gives exactly 0. Rounding below zero must not become NaN.
 */
double hist_stddev(const struct histogram *h)
{
    if (h->count < 2)
        return 0.0;
    long double n = (long double)h->count;
    long double mean = (long double)h->sum / n;
    long double var = (long double)h->sumsq / n - mean * mean;
    if (!(var > 0.0L))
        return 0.0;
    long double sd = sqrtl(var);
    long double bound = ((long double)h->max - (long double)h->min) / 2.0L;
    return (double)(sd < bound ? sd : bound);
}

/* ---- text form ---------------------------------------------------------- */

char *hist_serialise(const struct histogram *h)
{
    size_t nonzero = 0;
    for (size_t i = 0; i < HIST_COUNTS; i++)
        nonzero += h->counts[i] != 0;

    /* Header: version, four 20-digit integers, a %.17g double, spaces.
     * Each bucket: " " + up to 4 digits + ":" + up to 20 digits. */
    size_t cap = 128 + nonzero * 28;
    char *out = malloc(cap);
    if (!out)
        return NULL;

    /* %.17g round-trips every finite double through strtod exactly. */
    int len = snprintf(out, cap, "%s %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %.17g",
                       HIST_TEXT_VERSION, h->count, h->min, h->max, h->sum, h->sumsq);
    for (size_t i = 0; i < HIST_COUNTS; i++) {
        if (h->counts[i] == 0)
            continue;
        len += snprintf(out + len, cap - (size_t)len, " %zu:%" PRIu64, i, h->counts[i]);
    }
    return out;
}

/* One unsigned decimal integer, nothing else: strtoull alone would accept
 * leading spaces, a sign ("-1" wraps to UINT64_MAX) and hex-looking junk. */
static int parse_u64(const char **p, uint64_t *out)
{
    const char *s = *p;
    if (!isdigit((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno == ERANGE)
        return -1;
    *out = v;
    *p = end;
    return 0;
}

static int parse_sumsq(const char **p, double *out)
{
    const char *s = *p;
    if (!isdigit((unsigned char)*s))
        return -1;   /* no sign, no "inf"/"nan", no hex */
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno == ERANGE || !isfinite(v))
        return -1;
    *out = v;
    *p = end;
    return 0;
}

/* Tokens are separated by at least one blank; anything else between them is
 * junk. Returns 0 if at least one blank was skipped. */
static int skip_blanks(const char **p)
{
    const char *s = *p;
    while (isspace((unsigned char)**p))
        (*p)++;
    return *p > s ? 0 : -1;
}

static int parse_header(const char **p, struct histogram *h)
{
    size_t vlen = strlen(HIST_TEXT_VERSION);
    while (isspace((unsigned char)**p))
        (*p)++;
    if (strncmp(*p, HIST_TEXT_VERSION, vlen) != 0)
        return -1;
    *p += vlen;
    if (skip_blanks(p) || parse_u64(p, &h->count) ||
        skip_blanks(p) || parse_u64(p, &h->min) ||
        skip_blanks(p) || parse_u64(p, &h->max) ||
        skip_blanks(p) || parse_u64(p, &h->sum) ||
        skip_blanks(p) || parse_sumsq(p, &h->sumsq))
        return -1;
    return 0;
}

/* "idx:n" pairs, strictly ascending, non-zero, in range. Sets *first and
 * *last to the lowest and highest index seen (or leaves them when none). */
static int parse_buckets(const char **p, struct histogram *h, size_t *first, size_t *last)
{
    uint64_t total = 0;
    long prev = -1;
    while (**p) {
        uint64_t idx, n;
        if (skip_blanks(p))
            return -1;
        if (**p == '\0')
            break;   /* trailing blanks */
        if (parse_u64(p, &idx) || **p != ':')
            return -1;
        (*p)++;
        if (parse_u64(p, &n) || n == 0 || idx > LAST_INDEX || (long)idx <= prev)
            return -1;
        if (__builtin_add_overflow(total, n, &total))
            return -1;
        h->counts[idx] = n;
        if (prev < 0)
            *first = (size_t)idx;
        *last = (size_t)idx;
        prev = (long)idx;
    }
    return total == h->count ? 0 : -1;
}

/* The header must agree with the buckets, or percentiles (clamped to
 * [min, max]) and means would quietly contradict each other. */
static int check_consistent(const struct histogram *h, size_t first, size_t last)
{
    if (h->count == 0)
        return h->min == UINT64_MAX && h->max == 0 && h->sum == 0 && h->sumsq == 0.0 ? 0 : -1;
    if (h->min > h->max || h->sum < h->max)
        return -1;
    if (hist_index(h->min) != first || hist_index(h->max) != last)
        return -1;
    return 0;
}

int hist_parse(struct histogram *h, const char *text)
{
    hist_init(h);
    if (!text)
        return -1;
    const char *p = text;
    size_t first = 0, last = 0;
    if (parse_header(&p, h) || parse_buckets(&p, h, &first, &last) ||
        check_consistent(h, first, last)) {
        hist_init(h);
        return -1;
    }
    return 0;
}
