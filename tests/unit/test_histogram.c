/*
 * Proves the claims runtime/histogram.h makes: percentiles within 1% of the
 * exact order statistic on skewed data, exact merges, an exact text round
 * trip, strict parsing, no overflow at the edges, and exact moments.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/histogram.h"
#include "runtime/rand.h"

#define NSAMPLES 1000000
#define SEED 20240601

/* Percentiles checked, in tenths of a percent so the exact rank is integer. */
static const unsigned PERMILLE[] = {500, 900, 950, 990, 999};

struct samples {
    uint64_t *v;
    size_t n;
};

static struct histogram *hist_new_test(void)
{
    struct histogram *h = malloc(sizeof *h);
    assert_non_null(h);
    hist_init(h);
    return h;
}

static uint64_t to_ns(double x)
{
    return x <= 0.0 ? 0 : (uint64_t)llround(x);
}

/* Lognormal with median 2 ms and sigma 1: a long right tail, like real
 * latencies under load. */
static void gen_lognormal(struct samples *s, struct rand_state *r)
{
    for (size_t i = 0; i < s->n; i++)
        s->v[i] = to_ns(2e6 * exp(rand_gaussian(r, 0.0, 1.0)));
}

/* 90% around 1 ms (cache hits), 10% around 80 ms (disk or lock waits). */
static void gen_bimodal(struct samples *s, struct rand_state *r)
{
    for (size_t i = 0; i < s->n; i++) {
        if (rand_double(r) < 0.9)
            s->v[i] = to_ns(rand_gaussian(r, 1e6, 1e5));
        else
            s->v[i] = to_ns(rand_gaussian(r, 80e6, 8e6));
    }
}

static void gen_uniform(struct samples *s, struct rand_state *r)
{
    for (size_t i = 0; i < s->n; i++)
        s->v[i] = (uint64_t)rand_uniform(r, 1000, 1000000000);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static struct samples make_samples(void (*gen)(struct samples *, struct rand_state *))
{
    struct samples s = {malloc(NSAMPLES * sizeof(uint64_t)), NSAMPLES};
    assert_non_null(s.v);
    struct rand_state r;
    rand_seed(&r, SEED, 1);
    gen(&s, &r);
    return s;
}

static void check_percentiles(const struct samples *s)
{
    struct histogram *h = hist_new_test();
    for (size_t i = 0; i < s->n; i++)
        hist_record(h, s->v[i]);

    uint64_t *sorted = malloc(s->n * sizeof *sorted);
    assert_non_null(sorted);
    memcpy(sorted, s->v, s->n * sizeof *sorted);
    qsort(sorted, s->n, sizeof *sorted, cmp_u64);

    for (size_t k = 0; k < sizeof PERMILLE / sizeof PERMILLE[0]; k++) {
        uint64_t rank = (PERMILLE[k] * (uint64_t)s->n + 999) / 1000;   /* ceil */
        double exact = (double)sorted[rank - 1];
        double got = (double)hist_percentile(h, PERMILLE[k] / 10.0);
        double rel = fabs(got - exact) / exact;
        if (rel > 0.01)
            fail_msg("p%.1f: histogram %.0f, exact %.0f (%.3f%% off)",
                     PERMILLE[k] / 10.0, got, exact, rel * 100);
    }
    assert_int_equal(hist_percentile(h, 0), sorted[0]);
    assert_int_equal(hist_percentile(h, 100), sorted[s->n - 1]);
    assert_int_equal(h->min, sorted[0]);
    assert_int_equal(h->max, sorted[s->n - 1]);
    free(sorted);
    free(h);
}

static void test_percentiles_lognormal(void **state)
{
    (void)state;
    struct samples s = make_samples(gen_lognormal);
    check_percentiles(&s);
    free(s.v);
}

static void test_percentiles_bimodal(void **state)
{
    (void)state;
    struct samples s = make_samples(gen_bimodal);
    check_percentiles(&s);
    free(s.v);
}

static void test_percentiles_uniform(void **state)
{
    (void)state;
    struct samples s = make_samples(gen_uniform);
    check_percentiles(&s);
    free(s.v);
}

/* Per-thread histograms added together must be indistinguishable from one
 * histogram that saw everything, or a run's figures would depend on how many
 * threads it used. */
static void test_merge_equals_single(void **state)
{
    (void)state;
    struct samples s = make_samples(gen_lognormal);
    struct histogram *all = hist_new_test(), *merged = hist_new_test();
    struct histogram *part[4];
    for (int t = 0; t < 4; t++)
        part[t] = hist_new_test();

    for (size_t i = 0; i < s.n; i++) {
        hist_record(all, s.v[i]);
        hist_record(part[i * 4 / s.n], s.v[i]);   /* four contiguous slices */
    }
    for (int t = 0; t < 4; t++)
        hist_merge(merged, part[t]);

    assert_memory_equal(merged->counts, all->counts, sizeof all->counts);
    assert_int_equal(merged->count, all->count);
    assert_int_equal(merged->min, all->min);
    assert_int_equal(merged->max, all->max);
    assert_int_equal(merged->sum, all->sum);
    /* sumsq is a double added in a different order: equal to rounding. */
    assert_true(fabs(merged->sumsq - all->sumsq) <= 1e-12 * all->sumsq);
    for (double p = 0; p <= 100.0; p += 0.5)
        assert_int_equal(hist_percentile(merged, p), hist_percentile(all, p));
    assert_int_equal(hist_percentile(merged, 99.9), hist_percentile(all, 99.9));
    assert_true(hist_mean(merged) == hist_mean(all));

    for (int t = 0; t < 4; t++)
        free(part[t]);
    free(all);
    free(merged);
    free(s.v);
}

static void test_merge_empty(void **state)
{
    (void)state;
    struct histogram *a = hist_new_test(), *b = hist_new_test();
    hist_record(a, 1234);
    hist_merge(a, b);   /* adding nothing changes nothing */
    assert_int_equal(a->count, 1);
    assert_int_equal(a->min, 1234);
    assert_int_equal(a->max, 1234);
    hist_merge(b, a);   /* into an empty one copies */
    assert_memory_equal(a, b, sizeof *a);
    free(a);
    free(b);
}

static void test_record_n(void **state)
{
    (void)state;
    struct histogram *a = hist_new_test(), *b = hist_new_test();
    for (int i = 0; i < 5; i++)
        hist_record(a, 777777);
    hist_record_n(b, 777777, 5);
    hist_record_n(b, 1, 0);   /* nothing recorded: min must not move */
    assert_memory_equal(a, b, sizeof *a);
    free(a);
    free(b);
}

static void test_serialise_round_trip(void **state)
{
    (void)state;
    struct samples s = make_samples(gen_bimodal);
    struct histogram *h = hist_new_test(), *back = hist_new_test();
    for (size_t i = 0; i < s.n; i++)
        hist_record(h, s.v[i]);
    hist_record(h, 0);
    hist_record(h, UINT64_MAX);

    char *text = hist_serialise(h);
    assert_non_null(text);
    assert_memory_equal(text, "v1 ", 3);
    assert_int_equal(hist_parse(back, text), 0);
    assert_memory_equal(back, h, sizeof *h);   /* sumsq included, bit for bit */

    char *again = hist_serialise(back);
    assert_string_equal(again, text);
    free(again);
    free(text);

    hist_init(h);   /* the empty histogram round-trips too */
    text = hist_serialise(h);
    assert_int_equal(hist_parse(back, text), 0);
    assert_memory_equal(back, h, sizeof *h);
    free(text);
    free(h);
    free(back);
    free(s.v);
}

static void test_parse_accepts_blanks(void **state)
{
    (void)state;
    struct histogram *h = hist_new_test();
    assert_int_equal(hist_parse(h, "v1 1 5 5 5 25 5:1"), 0);
    assert_int_equal(h->count, 1);
    assert_int_equal(h->counts[5], 1);

    /* Extra blanks (a pretty-printed JSON export) are fine. */
    char text[128];
    snprintf(text, sizeof text, "  v1  2 5 300\t305 90025  5:1 %zu:1 \n", hist_index(300));
    assert_int_equal(hist_parse(h, text), 0);
    assert_int_equal(h->count, 2);
    assert_int_equal(h->max, 300);
    assert_int_equal(h->counts[hist_index(300)], 1);
    free(h);
}

static const char *const MALFORMED[] = {
    "",
    "   ",
    "v2 1 5 5 5 25 5:1",                        /* unknown version */
    "v10 1 5 5 5 25 5:1",
    "V1 1 5 5 5 25 5:1",
    "1 5 5 5 25 5:1",                           /* no version */
    "v1 1 5 5 5",                               /* header cut short */
    "v1 1 5 5 5 25",                            /* counts sum to 0, not 1 */
    "v1 1 5 5 5 25 5:2",                        /* counts sum to 2 */
    "v1 2 5 6 11 61 6:1 5:1",                   /* not ascending */
    "v1 2 5 5 10 50 5:1 5:1",                   /* repeated index */
    "v1 1 5 5 5 25 4608:1",                     /* index out of range */
    "v1 1 5 5 5 25 99999999999999999999999:1",  /* index overflows */
    "v1 -1 5 5 5 25 5:1",                       /* sign */
    "v1 +1 5 5 5 25 5:1",
    "v1 1 5 5 5 -25 5:1",
    "v1 1 5 5 5 inf 5:1",                       /* non-finite sumsq */
    "v1 1 5 5 5 nan 5:1",
    "v1 1 5 5 5 abc 5:1",
    "v1 1 0x5 5 5 25 5:1",                      /* hex */
    "v1 1 18446744073709551616 5 5 25 5:1",     /* 2^64 */
    "v1 1 5 5 5 25 5:1 junk",                   /* trailing junk */
    "v1 1 5 5 5 25 5:1x",
    "v1 1 5 5 5 25 5:",
    "v1 1 5 5 5 25 :1",
    "v1 1 5 5 5 25 5;1",
    "v1 2 5 5 10 50 5:2 6:0",                   /* zero count listed */
    "v1 1 5 5 5 25, 5:1",
    "v1 1 9 9 9 81 5:1",                        /* min/max not in the bucket */
    "v1 2 6 5 11 61 5:1 6:1",                   /* min > max */
    "v1 0 0 0 0 0",                             /* empty but min is not UINT64_MAX */
    "v1 0 18446744073709551615 0 0 0 5:1",      /* empty header, non-empty counts */
    "v1 18446744073709551615 5 5 5 25 5:18446744073709551615 6:1", /* count sum wraps */
};

static void test_parse_rejects(void **state)
{
    (void)state;
    struct histogram *h = hist_new_test(), *empty = hist_new_test();
    for (size_t i = 0; i < sizeof MALFORMED / sizeof MALFORMED[0]; i++) {
        hist_record(h, 5);   /* garbage a failed parse must clear */
        hist_record(h, 123456789);
        if (hist_parse(h, MALFORMED[i]) != -1)
            fail_msg("accepted malformed \"%s\"", MALFORMED[i]);
        if (memcmp(h, empty, sizeof *h) != 0)
            fail_msg("\"%s\" left the histogram non-empty", MALFORMED[i]);
    }
    assert_int_equal(hist_parse(h, NULL), -1);
    free(h);
    free(empty);
}

/* Every bucket tiles the value range with no gap or overlap, and is never
 * wider than 1/128 of its values: the source of the error bound. */
static void test_bucket_arithmetic(void **state)
{
    (void)state;
    for (size_t i = 0; i < HIST_COUNTS; i++) {
        uint64_t lo = hist_bucket_low(i), hi = hist_bucket_high(i);
        assert_true(lo <= hi);
        assert_int_equal(hist_index(lo), i);
        assert_int_equal(hist_index(hi), i);
        if (i + 1 < HIST_COUNTS) {
            assert_int_equal(hist_bucket_low(i + 1), hi + 1);
            assert_true((hi - lo + 1) * 128 <= (lo < 128 ? 128 : lo));
        }
    }
    assert_int_equal(hist_bucket_low(0), 0);
    assert_int_equal(hist_bucket_high(HIST_COUNTS - 1), UINT64_MAX);
    assert_int_equal(hist_bucket_low(HIST_COUNTS - 1) + (UINT64_C(1) << 34),
                     UINT64_C(1) << HIST_MAX_POW2);
}

static void test_edges(void **state)
{
    (void)state;
    const uint64_t big = UINT64_C(1) << HIST_MAX_POW2;
    const uint64_t edges[] = {0, 1, 255, 256, 1000, big - 1, big, big + 1,
                              UINT64_C(1) << 50, UINT64_MAX - 1, UINT64_MAX};
    struct histogram *h = hist_new_test();
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        size_t idx = hist_index(edges[i]);
        assert_true(idx < HIST_COUNTS);
        assert_true(hist_bucket_low(idx) <= edges[i] || edges[i] >= big);
        assert_true(edges[i] <= hist_bucket_high(idx));
        hist_record(h, edges[i]);
    }
    assert_int_equal(h->count, sizeof edges / sizeof edges[0]);
    assert_int_equal(h->min, 0);
    assert_int_equal(h->max, UINT64_MAX);
    assert_int_equal(h->sum, UINT64_MAX);   /* saturated, not wrapped */
    assert_true(isfinite(h->sumsq));
    assert_true(isfinite(hist_mean(h)) && isfinite(hist_stddev(h)));
    uint64_t prev = 0;
    for (double p = 0; p <= 100.0; p += 0.25) {
        uint64_t v = hist_percentile(h, p);
        assert_true(v >= prev);   /* monotone in p */
        prev = v;
    }
    free(h);

    /* Values only beyond the resolved range: clamped to the exact [min, max]. */
    h = hist_new_test();
    hist_record(h, big);
    hist_record(h, UINT64_C(1) << 50);
    hist_record(h, UINT64_MAX);
    for (double p = 0; p <= 100.0; p += 0.5) {
        uint64_t v = hist_percentile(h, p);
        assert_true(v >= big && v <= UINT64_MAX);
    }
    assert_int_equal(hist_percentile(h, 0), big);
    assert_int_equal(hist_percentile(h, 100), UINT64_MAX);
    free(h);

    /* One distinct value: every percentile is that value exactly. */
    const uint64_t single[] = {0, 1, 1000, 123456789, big + 12345, UINT64_MAX};
    for (size_t i = 0; i < sizeof single / sizeof single[0]; i++) {
        h = hist_new_test();
        hist_record_n(h, single[i], 10);
        for (double p = 0; p <= 100.0; p += 12.5)
            assert_int_equal(hist_percentile(h, p), single[i]);
        assert_true(hist_stddev(h) == 0.0);   /* no rounding noise */
        free(h);
    }

    /* Out-of-range p: clamped, not undefined. */
    h = hist_new_test();
    hist_record(h, 10);
    hist_record(h, 20);
    assert_int_equal(hist_percentile(h, -5), 10);
    assert_int_equal(hist_percentile(h, 250), 20);
    assert_int_equal(hist_percentile(h, NAN), 10);
    free(h);
}

static void test_empty(void **state)
{
    (void)state;
    struct histogram *h = hist_new_test();
    for (double p = 0; p <= 100.0; p += 10)
        assert_int_equal(hist_percentile(h, p), 0);
    assert_true(hist_mean(h) == 0.0);
    assert_true(hist_stddev(h) == 0.0);
    hist_record(h, 42);
    assert_true(hist_mean(h) == 42.0);
    assert_true(hist_stddev(h) == 0.0);   /* one value: no spread */
    hist_reset(h);
    assert_int_equal(h->count, 0);
    assert_int_equal(h->min, UINT64_MAX);
    assert_int_equal(hist_percentile(h, 50), 0);
    free(h);
}

/* The moments come from exact sums, not from buckets: compare with a
 * two-pass computation in long double. */
static void check_moments(void (*gen)(struct samples *, struct rand_state *))
{
    struct samples s = make_samples(gen);
    struct histogram *h = hist_new_test();
    long double sum = 0;
    for (size_t i = 0; i < s.n; i++) {
        hist_record(h, s.v[i]);
        sum += s.v[i];
    }
    long double mean = sum / s.n, ss = 0;
    for (size_t i = 0; i < s.n; i++) {
        long double d = s.v[i] - mean;
        ss += d * d;
    }
    long double sd = sqrtl(ss / s.n);
    assert_true(fabsl(hist_mean(h) - mean) <= 1e-9L * mean);
    if (fabsl(hist_stddev(h) - sd) > 1e-9L * sd)
        fail_msg("stddev %.12g, exact %.12Lg", hist_stddev(h), sd);
    free(h);
    free(s.v);
}

static void test_moments(void **state)
{
    (void)state;
    check_moments(gen_lognormal);
    check_moments(gen_bimodal);
    check_moments(gen_uniform);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_arithmetic),
        cmocka_unit_test(test_percentiles_lognormal),
        cmocka_unit_test(test_percentiles_bimodal),
        cmocka_unit_test(test_percentiles_uniform),
        cmocka_unit_test(test_merge_equals_single),
        cmocka_unit_test(test_merge_empty),
        cmocka_unit_test(test_record_n),
        cmocka_unit_test(test_serialise_round_trip),
        cmocka_unit_test(test_parse_accepts_blanks),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_moments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
