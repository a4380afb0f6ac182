/*
 * Durations as users type them, parsed exactly.
 *
 * This file exists so that the CLI, the YAML loader and the Lua option parser
 * share one grammar and one set of error messages:
 *
 *     duration  = number                      (seconds, like pgbench -T)
 *               | component { component }
 *     component = number unit                 (units strictly largest first)
 *     number    = digits [ "." digits ] | "." digits
 *     unit      = "h" | "m" | "s" | "ms" | "us" | "ns"
 *
 * Arithmetic is done in integers (the fraction with 128-bit products), so
 * "0.1s" is exactly 100000000 ns and never 99999999 from a binary double.
 * Surrounding blanks are ignored; blanks inside are not.
 */
#include "runtime/duration.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define NS_US UINT64_C(1000)
#define NS_MS UINT64_C(1000000)
#define NS_S UINT64_C(1000000000)
#define NS_M (60 * NS_S)
#define NS_H (60 * NS_M)
#define MAX_NS (100 * 24 * NS_H)   /* 100 days: longer is surely a typo */
#define MAX_FRACTION_DIGITS 18     /* beyond this the digits are below 1 ns */

static const char MSG_EMPTY[] =
    "empty duration: use a number of seconds or a form like 30s, 5m, 1h, 1m30s, 250ms";
static const char MSG_JUNK[] =
    "not a duration: use a number of seconds or a form like 30s, 5m, 1h, 1m30s, 250ms";
static const char MSG_NEGATIVE[] =
    "a duration cannot be negative: use a number of seconds or a form like 30s, 5m, 1h";
static const char MSG_UNIT[] =
    "unknown duration unit: use h, m, s, ms or us after each number (e.g. 1h, 5m, 30s, 250ms)";
static const char MSG_ORDER[] =
    "duration units must each appear once, largest first: write 1m30s or 2h15m, not 30s1m";
static const char MSG_MISSING_UNIT[] =
    "a number after a unit needs its own unit: write 1m30s, not 1m30";
static const char MSG_SPACE[] =
    "no spaces inside a duration: write 1m30s, not 1m 30s";
static const char MSG_TOO_LONG[] =
    "duration too long: at most 100 days (2400h)";

struct unit {
    const char *name;
    uint64_t ns;
};

/* Largest first; the position is the rank used to enforce the order.
 * Two-letter units come before their one-letter prefixes in matching. */
static const struct unit UNITS[] = {
    {"h", NS_H}, {"m", NS_M}, {"s", NS_S}, {"ms", NS_MS}, {"us", NS_US}, {"ns", 1},
};
#define NUNITS (sizeof UNITS / sizeof UNITS[0])

/* A decimal number split into its integer part and its fraction digits,
 * kept as digits so scaling by the unit stays exact. */
struct number {
    uint64_t whole;
    uint64_t frac;      /* the first frac_digits digits after the point */
    int frac_digits;
    int overflow;       /* whole part did not fit in 64 bits */
};

static int parse_number(const char **p, struct number *n)
{
    const char *s = *p;
    memset(n, 0, sizeof *n);
    int digits = 0;
    for (; isdigit((unsigned char)*s); s++, digits++)
        if (__builtin_mul_overflow(n->whole, 10, &n->whole) ||
            __builtin_add_overflow(n->whole, (uint64_t)(*s - '0'), &n->whole))
            n->overflow = 1;
    if (*s == '.') {
        s++;
        if (!isdigit((unsigned char)*s))
            return -1;   /* "1." or "." */
        for (; isdigit((unsigned char)*s); s++, digits++)
            if (n->frac_digits < MAX_FRACTION_DIGITS) {
                n->frac = n->frac * 10 + (uint64_t)(*s - '0');
                n->frac_digits++;
            }
    }
    if (digits == 0)
        return -1;
    *p = s;
    return 0;
}

/* Index into UNITS of the unit at *p, longest match first; -1 if none.
 * A unit must not run on into more letters ("5min", "5sec"). */
static int parse_unit(const char **p)
{
    int best = -1;
    size_t best_len = 0;
    for (size_t i = 0; i < NUNITS; i++) {
        size_t len = strlen(UNITS[i].name);
        if (len > best_len && strncmp(*p, UNITS[i].name, len) == 0) {
            best = (int)i;
            best_len = len;
        }
    }
    if (best < 0 || isalpha((unsigned char)(*p)[best_len]))
        return -1;
    *p += best_len;
    return best;
}

/* n units in nanoseconds, rounded to the nearest nanosecond; -1 on overflow. */
static int scale(const struct number *n, uint64_t unit, uint64_t *out)
{
    uint64_t whole;
    if (n->overflow || __builtin_mul_overflow(n->whole, unit, &whole))
        return -1;
    uint64_t pow10 = 1;
    for (int i = 0; i < n->frac_digits; i++)
        pow10 *= 10;
    unsigned __int128 part = (unsigned __int128)n->frac * unit + pow10 / 2;
    uint64_t frac_ns = (uint64_t)(part / pow10);   /* < unit, so it fits */
    return __builtin_add_overflow(whole, frac_ns, out) ? -1 : 0;
}

static const char *skip_blanks(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    return s;
}

/* The components from *p up to the first blank or the end, added into
 * *total. Returns NULL, or the message for what is wrong. */
static const char *parse_components(const char **p, uint64_t *total)
{
    const char *s = *p;
    int last_rank = -1;
    while (*s && !isspace((unsigned char)*s)) {
        struct number n;
        if (parse_number(&s, &n))
            return MSG_JUNK;
        if (*s == '\0' || isspace((unsigned char)*s)) {
            if (last_rank >= 0)
                return MSG_MISSING_UNIT;
            *p = s;   /* a bare number: seconds */
            return scale(&n, NS_S, total) ? MSG_TOO_LONG : NULL;
        }
        if (!isalpha((unsigned char)*s))
            return MSG_JUNK;
        int rank = parse_unit(&s);
        if (rank < 0)
            return MSG_UNIT;
        if (rank <= last_rank)
            return MSG_ORDER;
        uint64_t part;
        if (scale(&n, UNITS[rank].ns, &part) || __builtin_add_overflow(*total, part, total))
            return MSG_TOO_LONG;
        last_rank = rank;
    }
    *p = s;
    return NULL;
}

static const char *parse_text(const char *text, uint64_t *total)
{
    const char *s = skip_blanks(text);
    if (*s == '\0')
        return MSG_EMPTY;
    if (*s == '-')
        return MSG_NEGATIVE;
    const char *msg = parse_components(&s, total);
    if (msg)
        return msg;
    if (*skip_blanks(s) != '\0')
        return MSG_SPACE;
    return *total > MAX_NS ? MSG_TOO_LONG : NULL;
}

int duration_parse(const char *text, uint64_t *ns, const char **err)
{
    uint64_t total = 0;
    const char *msg = parse_text(text ? text : "", &total);
    if (msg) {
        if (err)
            *err = msg;
        return -1;
    }
    *ns = total;
    return 0;
}

/* Appends "<whole>[.<frac>]<unit>" for ns expressed in `unit`, dropping
 * trailing zeros of the fraction. */
static int put_decimal(char *buf, size_t size, uint64_t ns, uint64_t unit, const char *name)
{
    uint64_t whole = ns / unit, frac = ns % unit;
    if (frac == 0)
        return snprintf(buf, size, "%" PRIu64 "%s", whole, name);
    int width = 0;
    for (uint64_t u = unit; u > 1; u /= 10)
        width++;
    while (frac % 10 == 0) {
        frac /= 10;
        width--;
    }
    return snprintf(buf, size, "%" PRIu64 ".%0*" PRIu64 "%s", whole, width, frac, name);
}

/* Clamp snprintf's would-be length to what actually fit. */
static size_t advance(int n, size_t room)
{
    if (n < 0)
        return 0;
    return (size_t)n < room ? (size_t)n : (room ? room - 1 : 0);
}

char *duration_format(uint64_t ns, char *buf, int size)
{
    if (!buf || size <= 0)
        return buf;
    size_t room = (size_t)size, at = 0;
    buf[0] = '\0';

    if (ns < NS_S) {
        /* Under a second: the largest unit that keeps a whole part. */
        uint64_t unit = ns >= NS_MS ? NS_MS : ns >= NS_US ? NS_US : 1;
        const char *name = unit == NS_MS ? "ms" : unit == NS_US ? "us" : "ns";
        if (ns == 0) {
            unit = NS_S;
            name = "s";
        }
        put_decimal(buf, room, ns, unit, name);
        return buf;
    }
    uint64_t h = ns / NS_H, m = ns % NS_H / NS_M, rest = ns % NS_M;
    if (h)
        at += advance(snprintf(buf + at, room - at, "%" PRIu64 "h", h), room - at);
    if (m)
        at += advance(snprintf(buf + at, room - at, "%" PRIu64 "m", m), room - at);
    if (rest)
        advance(put_decimal(buf + at, room - at, rest, NS_S, "s"), room - at);
    return buf;
}
