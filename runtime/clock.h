/*
 * One clock for every figure stormdb reports: CLOCK_MONOTONIC in nanoseconds.
 * Monotonic so that NTP steps never produce negative latencies; read through
 * the vDSO, so it costs tens of nanoseconds and can sit on the hot path.
 */
#ifndef STORMDB_CLOCK_H
#define STORMDB_CLOCK_H

#include <stdint.h>
#include <time.h>

#define NS_PER_SEC 1000000000ull
#define NS_PER_MS 1000000ull
#define NS_PER_US 1000ull

static inline uint64_t clock_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

#endif
