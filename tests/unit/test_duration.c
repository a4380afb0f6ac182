/*
 * Every duration spelling the CLI, YAML and Lua accept, with its exact value
 * in nanoseconds, and every spelling they refuse, with a message that says
 * what to write instead.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "runtime/duration.h"
#include "runtime/rand.h"

#define US UINT64_C(1000)
#define MS UINT64_C(1000000)
#define S UINT64_C(1000000000)
#define M (60 * S)
#define H (60 * M)
#define DAY (24 * H)

struct accepted {
    const char *text;
    uint64_t ns;
};

static const struct accepted ACCEPTED[] = {
    {"30s", 30 * S},
    {"5m", 5 * M},
    {"1h", H},
    {"1m30s", 90 * S},
    {"250ms", 250 * MS},
    {"2h15m", 2 * H + 15 * M},
    {"1.5", 1500 * MS},
    {"90", 90 * S},
    {"1.5m", 90 * S},
    {"0", 0},
    {"0s", 0},
    {"0.0", 0},
    {"0.1", 100 * MS},           /* exact, not 99999999 from a double */
    {"0.1s", 100 * MS},
    {".5s", 500 * MS},
    {"1.25h", H + 15 * M},
    {"100us", 100 * US},
    {"1.5ms", 1500 * US},
    {"7ns", 7},
    {"0.000000001", 1},          /* one nanosecond */
    {"1.0000000004", S},         /* below a nanosecond rounds to nearest */
    {"1.0000000006", S + 1},
    {"1h30m15s", H + 30 * M + 15 * S},
    {"2h15m30s500ms", 2 * H + 15 * M + 30 * S + 500 * MS},
    {"1h5s", H + 5 * S},         /* skipping a unit is fine */
    {"1m0.5s", M + 500 * MS},
    {"1s500ms250us", S + 500 * MS + 250 * US},
    {"007s", 7 * S},
    {"  30s  ", 30 * S},
    {"\t5m\n", 5 * M},
    {"2400h", 100 * DAY},        /* exactly the limit */
    {"8640000", 100 * DAY},
};

static void test_accepted(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof ACCEPTED / sizeof ACCEPTED[0]; i++) {
        uint64_t ns = 12345;
        const char *err = NULL;
        if (duration_parse(ACCEPTED[i].text, &ns, &err) != 0)
            fail_msg("\"%s\" refused: %s", ACCEPTED[i].text, err);
        if (ns != ACCEPTED[i].ns)
            fail_msg("\"%s\" gave %llu ns, want %llu", ACCEPTED[i].text,
                     (unsigned long long)ns, (unsigned long long)ACCEPTED[i].ns);
        assert_null(err);
    }
}

struct rejected {
    const char *text;
    const char *says;   /* a phrase the message must contain */
};

static const struct rejected REJECTED[] = {
    {"", "30s, 5m, 1h, 1m30s, 250ms"},
    {"   ", "30s, 5m, 1h, 1m30s, 250ms"},
    {"-5s", "negative"},
    {"-1", "negative"},
    {" -0.5", "negative"},
    {"5x", "unit"},
    {"5S", "unit"},
    {"5min", "unit"},
    {"5sec", "unit"},
    {"5ss", "unit"},
    {"3d", "unit"},
    {"1e3", "unit"},
    {"abc", "30s, 5m"},
    {"s", "30s, 5m"},
    {"+5s", "30s, 5m"},
    {".", "30s, 5m"},
    {"1.", "30s, 5m"},
    {"1.s", "30s, 5m"},
    {"1..5s", "30s, 5m"},
    {"1,5s", "30s, 5m"},
    {"nan", "30s, 5m"},
    {"inf", "30s, 5m"},
    {"5s!", "30s, 5m"},
    {"1m-5s", "30s, 5m"},
    {"5s1m", "largest first"},
    {"30m1h", "largest first"},
    {"1m1m", "largest first"},
    {"1h2h", "largest first"},
    {"500ms1s", "largest first"},
    {"1m30", "1m30s"},
    {"1h30m15", "unit"},
    {"1m 30s", "spaces"},
    {"30 s", "spaces"},
    {"5s junk", "spaces"},
    {"2401h", "100 days"},
    {"8640001", "100 days"},
    {"100000000000000000000000s", "100 days"},
    {"99999999999999999999h", "100 days"},
    {"2400h0.000000001s", "100 days"},
};

static void test_rejected(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof REJECTED / sizeof REJECTED[0]; i++) {
        uint64_t ns = 12345;
        const char *err = NULL;
        if (duration_parse(REJECTED[i].text, &ns, &err) != -1)
            fail_msg("\"%s\" accepted as %llu ns", REJECTED[i].text, (unsigned long long)ns);
        assert_int_equal(ns, 12345);   /* untouched on failure */
        assert_non_null(err);
        if (!strstr(err, REJECTED[i].says))
            fail_msg("\"%s\": message \"%s\" does not mention \"%s\"",
                     REJECTED[i].text, err, REJECTED[i].says);
    }
    uint64_t ns;
    assert_int_equal(duration_parse("5x", &ns, NULL), -1);   /* err is optional */
    assert_int_equal(duration_parse(NULL, &ns, NULL), -1);
}

static void test_format(void **state)
{
    (void)state;
    static const struct accepted FORMS[] = {
        {"0s", 0},
        {"1ns", 1},
        {"999ns", 999},
        {"1us", US},
        {"1.5us", 1500},
        {"1.5ms", 1500 * US},
        {"250ms", 250 * MS},
        {"999.999999ms", S - 1},
        {"1s", S},
        {"1.25s", 1250 * MS},
        {"30s", 30 * S},
        {"1m30s", 90 * S},
        {"5m", 5 * M},
        {"1h", H},
        {"2h15m", 2 * H + 15 * M},
        {"1h5s", H + 5 * S},
        {"1h0.5s", H + 500 * MS},
        {"1m0.000000001s", M + 1},
        {"2400h", 100 * DAY},
        {"5124095h34m33.709551615s", UINT64_MAX},
    };
    char buf[DURATION_FORMAT_SIZE];
    for (size_t i = 0; i < sizeof FORMS / sizeof FORMS[0]; i++)
        assert_string_equal(duration_format(FORMS[i].ns, buf, sizeof buf), FORMS[i].text);

    char small[4];
    assert_string_equal(duration_format(90 * S, small, sizeof small), "1m3");
    assert_string_equal(duration_format(250 * MS, small, sizeof small), "250");
}

/* What duration_format writes, duration_parse reads back to the same value. */
static void test_round_trip(void **state)
{
    (void)state;
    struct rand_state r;
    rand_seed(&r, 7, 0);
    char buf[DURATION_FORMAT_SIZE];
    for (int i = 0; i < 100000; i++) {
        /* Spread over magnitudes: 1 ns to 100 days. */
        uint64_t limit = (uint64_t)rand_uniform(&r, 1, 100 * DAY);
        uint64_t ns = (uint64_t)rand_uniform(&r, 0, (int64_t)(limit >> rand_uniform(&r, 0, 50)));
        if (i % 3 == 0)
            ns -= ns % S;   /* whole seconds, the common case */
        uint64_t back;
        const char *err = NULL;
        duration_format(ns, buf, sizeof buf);
        if (duration_parse(buf, &back, &err) != 0 || back != ns)
            fail_msg("%llu -> \"%s\" -> %s", (unsigned long long)ns, buf, err ? err : "different");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_rejected),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
