/* Open-loop schedules: Poisson gaps have the exponential's mean and variance,
 * uniform arrivals fall exactly on k/rate, and the start queue is a FIFO that
 * grows without losing order. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "runtime/schedule.h"

static void poisson_gaps_have_exponential_moments(void **state)
{
    (void)state;
    struct schedule s;
    const double rate = 2500.0; /* mean gap 400 us */
    schedule_init(&s, ARRIVAL_POISSON, rate, 42, 7, 1000000000ull);
    const int n = 1000000;
    uint64_t prev = s.start_ns;
    double sum = 0, sumsq = 0;
    for (int i = 0; i < n; i++) {
        uint64_t t = schedule_take(&s);
        assert_true(t >= prev);
        double gap = (double)(t - prev);
        sum += gap;
        sumsq += gap * gap;
        prev = t;
    }
    double mean = sum / n, var = sumsq / n - mean * mean;
    double expected = 1e9 / rate;
    assert_true(fabs(mean - expected) / expected < 0.02);
    assert_true(fabs(var - expected * expected) / (expected * expected) < 0.02);
}

static void uniform_arrivals_are_exact(void **state)
{
    (void)state;
    struct schedule s;
    schedule_init(&s, ARRIVAL_UNIFORM, 3.0, 1, 1, 5000);
    for (uint64_t k = 0; k < 1000000; k++) {
        uint64_t expected = 5000 + (uint64_t)((double)k * (1e9 / 3.0));
        assert_int_equal(schedule_peek(&s), expected);
        assert_int_equal(schedule_take(&s), expected);
    }
}

static void same_seed_same_schedule(void **state)
{
    (void)state;
    struct schedule a, b, c;
    schedule_init(&a, ARRIVAL_POISSON, 100, 9, 3, 0);
    schedule_init(&b, ARRIVAL_POISSON, 100, 9, 3, 0);
    schedule_init(&c, ARRIVAL_POISSON, 100, 9, 4, 0);
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = schedule_take(&a);
        assert_int_equal(x, schedule_take(&b));
        differ += x != schedule_take(&c);
    }
    assert_true(differ > 990);
}

static void start_queue_is_fifo_across_growth(void **state)
{
    (void)state;
    struct start_queue q = {0};
    uint64_t v;
    assert_false(startq_pop(&q, &v));
    uint64_t next_in = 0, next_out = 0;
    /* Interleave pushes and pops so the ring wraps while it grows. */
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 700; i++)
            assert_int_equal(startq_push(&q, next_in++), 0);
        for (int i = 0; i < 500; i++) {
            assert_true(startq_pop(&q, &v));
            assert_int_equal(v, next_out++);
        }
    }
    while (startq_pop(&q, &v))
        assert_int_equal(v, next_out++);
    assert_int_equal(next_out, next_in);
    startq_clear(&q);
    assert_false(startq_pop(&q, &v));
    startq_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(poisson_gaps_have_exponential_moments),
        cmocka_unit_test(uniform_arrivals_are_exact),
        cmocka_unit_test(same_seed_same_schedule),
        cmocka_unit_test(start_queue_is_fifo_across_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
