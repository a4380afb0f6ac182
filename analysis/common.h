/*
 * Internal helpers shared by the analysis sources (not part of the public contract):
 * guarded arithmetic that never yields NaN or Inf, the 95% t quantile, and
 * message formatting into the fixed-size buffers of the result structs.
 */
#ifndef STORMDB_ANALYSIS_COMMON_H
#define STORMDB_ANALYSIS_COMMON_H

#include <math.h>
#include <stddef.h>

#include "analysis/init.h"
#include "analysis/status.h"

/* a / b, or `fallback` when the quotient is not a finite number. */
static inline double safe_div(double a, double b, double fallback)
{
    if (b == 0.0 || !isfinite(a) || !isfinite(b))
        return fallback;
    double q = a / b;
    return isfinite(q) ? q : fallback;
}

/* x, or `fallback` when x is NaN or infinite. */
static inline double finite_or(double x, double fallback)
{
    return isfinite(x) ? x : fallback;
}

static inline double clamp01(double x)
{
    if (!(x > 0.0))
        return 0.0;
    return x < 1.0 ? x : 1.0;
}

/* exp() with its argument clamped so the result stays finite and its square
 * (inside a residual sum of squares) does too. */
static inline double bounded_exp(double x)
{
    if (x > 300.0)
        x = 300.0;
    else if (x < -300.0)
        x = -300.0;
    return exp(x);
}

/* Nearest int to x, clamped to [lo, hi]; lo for NaN. Avoids the undefined
 * behaviour of converting an out-of-range double. */
int round_to_int(double x, int lo, int hi);

/* Two-sided 95% Student t quantile for `dof` degrees of freedom (1.96 for
 * large dof); 0 when dof < 1. */
double t95(double dof);

/* snprintf into a message buffer of ANALYSIS_MESSAGE_MAX bytes. */
void set_message(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
