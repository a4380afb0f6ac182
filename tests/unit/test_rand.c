/*
 * Proves the random streams are repeatable, independent per stream, copyable
 * (so retries redraw the same values) and that each distribution has the
 * shape its name promises. Every test uses a fixed seed, so a failure is a
 * real regression, never bad luck.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "runtime/rand.h"

#define DRAWS 1000000

static void test_repeatable(void **state)
{
    (void)state;
    struct rand_state a, b;
    rand_seed(&a, 42, 7);
    rand_seed(&b, 42, 7);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(rand_next(&a), rand_next(&b));

    /* Pinned outputs: the same on every run and machine. If this changes,
     * every user's --seed now means something else: that needs a note. */
    rand_seed(&a, 0, 0);
    assert_int_equal(rand_next(&a), UINT64_C(10326853580461932505));
    rand_seed(&a, 42, 7);
    rand_next(&a);
    assert_int_equal(rand_next(&a), UINT64_C(17186623571790953071));
}

static int count_equal(uint64_t seed1, uint64_t stream1, uint64_t seed2, uint64_t stream2)
{
    struct rand_state a, b;
    rand_seed(&a, seed1, stream1);
    rand_seed(&b, seed2, stream2);
    int same = 0;
    for (int i = 0; i < 1000; i++)
        same += rand_next(&a) == rand_next(&b);
    return same;
}

static void test_streams_differ(void **state)
{
    (void)state;
    /* Neighbouring streams (worker numbers) and seeds must not overlap,
     * not even in their first draw. */
    for (uint64_t s = 0; s < 64; s++) {
        assert_int_equal(count_equal(1, s, 1, s + 1), 0);
        assert_int_equal(count_equal(s, 0, s + 1, 0), 0);
        assert_int_equal(count_equal(s, s, s + 1, s + 1), 0);
        assert_int_equal(count_equal(s, s + 1, s + 1, s), 0);   /* swapped */
    }
}

static void test_uniform_bounds(void **state)
{
    (void)state;
    struct rand_state r;
    rand_seed(&r, 1, 0);
    int seen_lo = 0, seen_hi = 0;
    for (int i = 0; i < 100000; i++) {
        int64_t v = rand_uniform(&r, -3, 3);
        assert_true(v >= -3 && v <= 3);
        seen_lo |= v == -3;
        seen_hi |= v == 3;
    }
    assert_true(seen_lo && seen_hi);   /* both ends are included */

    assert_int_equal(rand_uniform(&r, 5, 5), 5);
    for (int i = 0; i < 1000; i++) {
        int64_t v = rand_uniform(&r, 10, 1);   /* swapped bounds */
        assert_true(v >= 1 && v <= 10);
        v = rand_uniform(&r, INT64_MAX - 1, INT64_MAX);
        assert_true(v >= INT64_MAX - 1);
        v = rand_uniform(&r, INT64_MIN, INT64_MIN + 1);
        assert_true(v <= INT64_MIN + 1);
    }
    /* The full range must not divide by zero or hang. */
    int negative = 0;
    for (int i = 0; i < 1000; i++)
        negative += rand_uniform(&r, INT64_MIN, INT64_MAX) < 0;
    assert_true(negative > 400 && negative < 600);

    for (int i = 0; i < 100000; i++) {
        double d = rand_double(&r);
        assert_true(d >= 0.0 && d < 1.0);
    }
}

/* Chi-square with 9 degrees of freedom: the 0.1% critical value is 27.9;
 * 40 is generous yet catches any real bias (a biased modulo gives ~1000s). */
static double chi_square_10(struct rand_state *r, int64_t lo, int64_t width)
{
    long bins[10] = {0};
    for (int i = 0; i < DRAWS; i++) {
        int64_t v = rand_uniform(r, lo, lo + 10 * width - 1);
        bins[(v - lo) / width]++;
    }
    double expected = DRAWS / 10.0, chi = 0;
    for (int b = 0; b < 10; b++)
        chi += (bins[b] - expected) * (bins[b] - expected) / expected;
    return chi;
}

static void test_uniform_chi_square(void **state)
{
    (void)state;
    struct rand_state r;
    rand_seed(&r, 2024, 3);
    double chi = chi_square_10(&r, 0, 1);
    if (chi >= 40)
        fail_msg("chi-square over [0, 9] is %.1f", chi);
    /* A range near 2^63 exercises the rejection path: a plain modulo of
     * 64 bits would hit the lower half of it twice as often. */
    chi = chi_square_10(&r, 0, INT64_MAX / 10);
    if (chi >= 40)
        fail_msg("chi-square over a huge range is %.1f", chi);
}

static void test_gaussian(void **state)
{
    (void)state;
    struct rand_state r;
    rand_seed(&r, 99, 0);
    double sum = 0, sumsq = 0;
    for (int i = 0; i < DRAWS; i++) {
        double x = rand_gaussian(&r, 100.0, 15.0);
        assert_true(isfinite(x));
        sum += x;
        sumsq += x * x;
    }
    double mean = sum / DRAWS, sd = sqrt(sumsq / DRAWS - mean * mean);
    assert_true(fabs(mean - 100.0) < 0.01 * 100.0);
    assert_true(fabs(sd - 15.0) < 0.01 * 15.0);
}

static void test_exponential(void **state)
{
    (void)state;
    struct rand_state r;
    rand_seed(&r, 5, 5);
    const double mean = 5.0;
    double sum = 0, sumsq = 0;
    for (int i = 0; i < DRAWS; i++) {
        double x = rand_exponential(&r, mean);
        assert_true(x >= 0.0 && isfinite(x));
        sum += x;
        sumsq += x * x;
    }
    double m = sum / DRAWS, var = sumsq / DRAWS - m * m;
    assert_true(fabs(m - mean) < 0.02 * mean);
    assert_true(fabs(var - mean * mean) < 0.02 * mean * mean);
}

static void test_nurand(void **state)
{
    (void)state;
    struct rand_state r;
    rand_seed(&r, 11, 0);
    /* The three TPC-C uses: C_LAST, C_ID, OL_I_ID; and a negative C. */
    const int64_t cases[][4] = {
        {255, 0, 999, 157}, {1023, 1, 3000, 259}, {8191, 1, 100000, 7911}, {255, 0, 999, -1000},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int64_t a = cases[k][0], x = cases[k][1], y = cases[k][2], c = cases[k][3];
        for (int i = 0; i < 100000; i++) {
            int64_t v = rand_nurand(&r, a, x, y, c);
            if (v < x || v > y)
                fail_msg("NURand(%lld, %lld, %lld) gave %lld", (long long)a, (long long)x,
                         (long long)y, (long long)v);
        }
    }
}

static void test_zipf(void **state)
{
    (void)state;
    const double thetas[] = {0.5, 0.99};
    for (size_t t = 0; t < 2; t++) {
        struct zipf z;
        const int64_t n = 1000;
        assert_int_equal(zipf_init(&z, n, thetas[t]), 0);
        struct rand_state r;
        rand_seed(&r, 77, t);
        static long freq[1001];
        memset(freq, 0, sizeof freq);
        for (int i = 0; i < DRAWS; i++) {
            int64_t v = rand_zipf(&r, &z);
            assert_true(v >= 1 && v <= n);
            freq[v]++;
        }
        for (int64_t v = 2; v <= n; v++)
            assert_true(freq[1] > freq[v]);   /* 1 is the most popular */
        double ratio = (double)freq[1] / (double)freq[2];
        double want = pow(2.0, thetas[t]);
        if (fabs(ratio - want) > 0.05 * want)
            fail_msg("theta %.2f: P(1)/P(2) = %.3f, want %.3f", thetas[t], ratio, want);
        assert_true(freq[10] > freq[100] && freq[100] > freq[1000]);   /* decreasing tail */
    }
}

static void test_zipf_guards(void **state)
{
    (void)state;
    struct zipf z;
    assert_int_equal(zipf_init(&z, 0, 0.5), -1);
    assert_int_equal(zipf_init(&z, -5, 0.5), -1);
    assert_int_equal(zipf_init(&z, 10, 0.0), -1);
    assert_int_equal(zipf_init(&z, 10, 1.0), -1);
    assert_int_equal(zipf_init(&z, 10, 1.5), -1);
    assert_int_equal(zipf_init(&z, 10, -0.1), -1);
    assert_int_equal(zipf_init(&z, 10, NAN), -1);

    struct rand_state r;
    rand_seed(&r, 3, 3);
    assert_int_equal(zipf_init(&z, 1, 0.9), 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(rand_zipf(&r, &z), 1);
    assert_int_equal(zipf_init(&z, 2, 0.9), 0);
    for (int i = 0; i < 1000; i++) {
        int64_t v = rand_zipf(&r, &z);
        assert_true(v == 1 || v == 2);
    }
}

static void check_string(size_t (*fn)(struct rand_state *, char *, size_t, size_t),
                         const char *alphabet, size_t min_len, size_t max_len)
{
    struct rand_state r;
    rand_seed(&r, 8, min_len);
    char buf[64];
    int seen_len[64] = {0}, seen_char[256] = {0};
    for (int i = 0; i < 20000; i++) {
        memset(buf, 'X', sizeof buf);
        size_t len = fn(&r, buf, min_len, max_len);
        assert_true(len >= min_len && len <= max_len);
        assert_int_equal(strlen(buf), len);
        assert_int_equal(buf[max_len + 1], 'X');   /* nothing past max_len + 1 */
        seen_len[len] = 1;
        for (size_t k = 0; k < len; k++) {
            if (!strchr(alphabet, buf[k]))
                fail_msg("'%c' is not in the alphabet", buf[k]);
            seen_char[(unsigned char)buf[k]] = 1;
        }
    }
    for (size_t l = min_len; l <= max_len; l++)
        assert_true(seen_len[l]);
    for (const char *c = alphabet; *c; c++)
        assert_true(seen_char[(unsigned char)*c]);
}

static void test_strings(void **state)
{
    (void)state;
    const char *alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    check_string(rand_astring, alnum, 8, 16);      /* C_LAST-like */
    check_string(rand_astring, alnum, 24, 24);     /* fixed length */
    check_string(rand_nstring, "0123456789", 4, 4);
    check_string(rand_nstring, "0123456789", 1, 9);

    struct rand_state r;
    rand_seed(&r, 1, 1);
    char buf[8];
    assert_int_equal(rand_astring(&r, buf, 0, 0), 0);
    assert_string_equal(buf, "");
    assert_int_equal(rand_nstring(&r, buf, 9, 5), 5);   /* min > max: max wins */
    assert_int_equal(strlen(buf), 5);
}

/* A retried transaction restores a copy of the state: every later draw,
 * including a gaussian spare pending at the time of the copy, repeats. */
static void test_copy_repeats(void **state)
{
    (void)state;
    struct zipf z;
    assert_int_equal(zipf_init(&z, 500, 0.8), 0);
    struct rand_state r;
    rand_seed(&r, 123, 4);
    for (int i = 0; i < 10; i++)
        rand_next(&r);
    rand_gaussian(&r, 0, 1);   /* leaves a spare pending */
    assert_true(r.has_spare);

    struct rand_state saved = r;
    double first[6];
    char s1[32], s2[32];
    for (int pass = 0; pass < 2; pass++) {
        struct rand_state *p = &r;
        double g = rand_gaussian(p, 10, 2);   /* the spare */
        double g2 = rand_gaussian(p, 10, 2);  /* a fresh pair */
        double u = (double)rand_uniform(p, 1, 1000000);
        double e = rand_exponential(p, 3);
        double zz = (double)rand_zipf(p, &z);
        double nu = (double)rand_nurand(p, 1023, 1, 3000, 259);
        rand_astring(p, pass ? s2 : s1, 5, 30);
        double got[6] = {g, g2, u, e, zz, nu};
        if (pass == 0) {
            memcpy(first, got, sizeof first);
            r = saved;   /* the retry */
        } else {
            assert_memory_equal(first, got, sizeof first);
            assert_string_equal(s1, s2);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_repeatable),
        cmocka_unit_test(test_streams_differ),
        cmocka_unit_test(test_uniform_bounds),
        cmocka_unit_test(test_uniform_chi_square),
        cmocka_unit_test(test_gaussian),
        cmocka_unit_test(test_exponential),
        cmocka_unit_test(test_nurand),
        cmocka_unit_test(test_zipf),
        cmocka_unit_test(test_zipf_guards),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_copy_repeats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
