/*
 * Random streams for workloads: xoshiro256** plus the distributions that
 * benchmarks ask for (uniform, gaussian, exponential, TPC-C NURand, zipfian,
 * TPC-C strings).
 *
 * This file exists because libc's rand() is neither repeatable across
 * platforms nor per worker, and a retried transaction must be able to redraw
 * exactly the values it drew the first time: the whole generator, including
 * a pending gaussian spare, lives in a small copyable struct.
 *
 * xoshiro256** and splitmix64 are by Blackman and Vigna (public domain
 * algorithms, https://prng.di.unimi.it/); the bounded draw is Lemire's
 * "Fast Random Integer Generation in an Interval" (2019); the zipfian is
 * Gray et al., "Quickly Generating Billion-Record Synthetic Databases"
 * (SIGMOD 1994), as used by YCSB.
 */
#include "runtime/rand.h"

#include <math.h>

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* splitmix64: spreads nearby seeds (0, 1, 2 ...) over the whole state
 * space, which xoshiro needs (it must not start from mostly-zero words). */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/*
 * Two splitmix64 sequences, one from the seed and one from the stream, are
 * combined word by word, so changing either changes every state word (and
 * so the very first output). The rotation keeps seed == stream from
 * cancelling out.
 */
void rand_seed(struct rand_state *r, uint64_t seed, uint64_t stream)
{
    uint64_t a = seed, b = stream ^ UINT64_C(0x6A09E667F3BCC909);
    uint64_t any = 0;
    for (int i = 0; i < 4; i++) {
        r->s[i] = splitmix64(&a) ^ rotl(splitmix64(&b), 29);
        any |= r->s[i];
    }
    if (!any)
        r->s[0] = UINT64_C(0x9E3779B97F4A7C15);   /* all-zero is a fixed point */
    r->spare = 0.0;
    r->has_spare = 0;
}

uint64_t rand_next(struct rand_state *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* The top 53 bits: every double in [0, 1) on a 2^-53 grid, equally likely. */
double rand_double(struct rand_state *r)
{
    return (double)(rand_next(r) >> 11) * 0x1.0p-53;
}

/*
 * Lemire: the high word of x * range is uniform over [0, range) once the
 * few low words that would bias it are rejected; the rejection threshold
 * (2^64 mod range) costs a division only on the rare slow path.
 */
static uint64_t bounded(struct rand_state *r, uint64_t range)
{
    unsigned __int128 m = (unsigned __int128)rand_next(r) * range;
    uint64_t low = (uint64_t)m;
    if (low < range) {
        uint64_t threshold = -range % range;
        while (low < threshold) {
            m = (unsigned __int128)rand_next(r) * range;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

int64_t rand_uniform(struct rand_state *r, int64_t lo, int64_t hi)
{
    if (hi < lo) {
        int64_t t = lo;
        lo = hi;
        hi = t;
    }
    /* Unsigned arithmetic: hi - lo may not fit in int64_t. */
    uint64_t range = (uint64_t)hi - (uint64_t)lo + 1;
    uint64_t offset = range == 0 ? rand_next(r) : bounded(r, range);  /* 0: full 2^64 */
    return (int64_t)((uint64_t)lo + offset);
}

/* Box-Muller, basic form: two independent normals from two uniforms; the
 * second is kept for the next call. 1 - u keeps the logarithm finite. */
double rand_gaussian(struct rand_state *r, double mean, double sd)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return mean + sd * r->spare;
    }
    double u1 = 1.0 - rand_double(r);   /* (0, 1] */
    double u2 = rand_double(r);
    double radius = sqrt(-2.0 * log(u1));
    double angle = 2.0 * M_PI * u2;
    r->spare = radius * sin(angle);
    r->has_spare = 1;
    return mean + sd * radius * cos(angle);
}

double rand_exponential(struct rand_state *r, double mean)
{
    return -mean * log(1.0 - rand_double(r));
}

/* TPC-C clause 2.1.6: ((random(0, A) | random(x, y)) + C) % (y - x + 1) + x.
 * The modulo is taken non-negative so a negative C cannot leave [x, y]. */
int64_t rand_nurand(struct rand_state *r, int64_t a, int64_t x, int64_t y, int64_t c)
{
    if (y < x) {
        int64_t t = x;
        x = y;
        y = t;
    }
    int64_t span = y - x + 1;
    int64_t v = (rand_uniform(r, 0, a) | rand_uniform(r, x, y)) + c;
    int64_t m = v % span;
    return (m < 0 ? m + span : m) + x;
}

/* zeta(n, theta) = sum 1/i^theta, i = 1..n. Summed smallest terms first so
 * the large n of a big table does not drown them in rounding. */
static double zeta(int64_t n, double theta)
{
    double sum = 0.0;
    for (int64_t i = n; i >= 1; i--)
        sum += pow((double)i, -theta);
    return sum;
}

int zipf_init(struct zipf *z, int64_t n, double theta)
{
    if (n < 1 || !(theta > 0.0 && theta < 1.0))   /* also rejects NaN */
        return -1;
    double zeta2 = zeta(n < 2 ? n : 2, theta);
    z->n = n;
    z->theta = theta;
    z->zetan = zeta(n, theta);
    z->alpha = 1.0 / (1.0 - theta);
    z->half_pow_theta = pow(0.5, theta);
    z->eta = n < 2 ? 0.0
                   : (1.0 - pow(2.0 / (double)n, 1.0 - theta)) / (1.0 - zeta2 / z->zetan);
    return 0;
}

/* Gray et al.: the first two values are placed exactly (P(1) = 1/zeta(n),
 * P(2) = 2^-theta/zeta(n)); the tail uses the closed-form approximation. */
int64_t rand_zipf(struct rand_state *r, const struct zipf *z)
{
    double u = rand_double(r);
    double uz = u * z->zetan;
    if (uz < 1.0 || z->n < 2)
        return 1;
    if (uz < 1.0 + z->half_pow_theta)
        return 2;
    int64_t v = 1 + (int64_t)((double)z->n * pow(z->eta * u - z->eta + 1.0, z->alpha));
    return v < 1 ? 1 : v > z->n ? z->n : v;
}

static size_t draw_length(struct rand_state *r, size_t min_len, size_t max_len)
{
    if (min_len > max_len)
        return max_len;   /* never write past what the caller sized for */
    return min_len + (size_t)bounded(r, (uint64_t)(max_len - min_len) + 1);
}

static size_t fill(struct rand_state *r, char *buf, size_t min_len, size_t max_len,
                   const char *alphabet, uint64_t size)
{
    size_t len = draw_length(r, min_len, max_len);
    for (size_t i = 0; i < len; i++)
        buf[i] = alphabet[bounded(r, size)];
    buf[len] = '\0';
    return len;
}

size_t rand_astring(struct rand_state *r, char *buf, size_t min_len, size_t max_len)
{
    static const char alnum[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    return fill(r, buf, min_len, max_len, alnum, sizeof alnum - 1);
}

size_t rand_nstring(struct rand_state *r, char *buf, size_t min_len, size_t max_len)
{
    return fill(r, buf, min_len, max_len, "0123456789", 10);
}
