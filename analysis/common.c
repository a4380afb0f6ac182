/*
 * Implementation of the internal helpers in common.h and of analysis_init().
 */
#include "analysis/common.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>

/* The only static state in the library: GSL's error handler is itself
 * process-wide, so turning it off is done once for the process. */
static pthread_once_t gsl_once = PTHREAD_ONCE_INIT;

static void gsl_setup(void)
{
    gsl_set_error_handler_off();
}

void analysis_init(void)
{
    pthread_once(&gsl_once, gsl_setup);
}

int round_to_int(double x, int lo, int hi)
{
    if (!(x >= (double)lo))
        return lo;
    if (x >= (double)hi)
        return hi;
    return (int)lround(x);
}

double t95(double dof)
{
    if (!(dof >= 1.0))
        return 0.0;
    analysis_init();
    double t = gsl_cdf_tdist_Pinv(0.975, dof);
    return isfinite(t) && t > 0.0 ? t : 1.959963984540054;
}

void set_message(char *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, ANALYSIS_MESSAGE_MAX, fmt, ap);
    va_end(ap);
}
