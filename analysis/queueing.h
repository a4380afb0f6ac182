/*
 * Queueing views of one band: Little's law for the workers, and the
 * connection pool as an M/M/c queue (Erlang C).
 *
 * Little's law: in a closed loop with no think time every worker is always
 * either waiting for a connection or running a transaction, so
 * N_eff = X R (TPS times mean response time, pool wait included) should equal
 * the worker count. A ratio well below 1 means workers spend time outside
 * both (client-side CPU, Lua, think time or a rate limit); above 1 means the
 * measured figures disagree with each other.
 *
 * M/M/c: transactions arrive at lambda = TPS and hold one of c = connections
 * for a mean service time S (the mean latency), so mu = 1/S and the offered
 * load is a = lambda/mu erlangs, utilisation rho = a/c. The probability a
 * transaction has to wait for a connection is Erlang C, computed stably from
 * the Erlang B recursion B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1)), then
 * C = B(c) / (1 - rho (1 - B(c))). The predicted mean wait is
 * W_q = C / (c mu - lambda). rho >= 1 is unstable (the queue grows without
 * bound): P(wait) = 1 and no finite W_q. The model assumes Poisson arrivals
 * from an infinite population; a closed loop of N workers is gentler, so read
 * the ratio measured/predicted as a direction, not an identity. In
 * particular, when workers <= connections no worker can ever wait (each can
 * hold a connection of its own), so P(wait) and W_q are 0 and the status is
 * ok however busy the connections are; in a closed loop with no think time
 * the utilisation is then workers/connections or less.
 */
#ifndef STORMDB_ANALYSIS_QUEUEING_H
#define STORMDB_ANALYSIS_QUEUEING_H

#include "analysis/describe.h"
#include "analysis/status.h"

struct analysis_queueing {
    enum analysis_status status;   /* ok; unstable (rho >= 1); no_data (no TPS or latency); invalid_input */
    char message[ANALYSIS_MESSAGE_MAX];
    int workers, connections;
    /* Little's law */
    double response_ms;            /* mean latency + mean pool wait */
    double littles_workers;        /* N_eff = TPS * response time */
    double littles_ratio;          /* N_eff / workers */
    /* M/M/c pool */
    double arrival_rate;           /* lambda, transactions per second */
    double service_rate;           /* mu per connection, 1 / mean latency */
    double offered_load;           /* a = lambda / mu, erlangs */
    double utilisation;            /* rho = a / c */
    double p_wait;                 /* Erlang C; 1 when unstable */
    double predicted_wait_ms;      /* W_q; 0 when unstable */
    double measured_wait_ms;       /* the band's mean pool wait */
    double wait_ratio;             /* measured / predicted; 0 when predicted is 0 or unstable */
};

/*
 * Erlang C for c servers and offered load a (erlangs): the probability an
 * arrival waits. ok with *p_wait in [0, 1]; unstable with *p_wait = 1 when
 * a >= c; invalid_input for c < 1 or a < 0 / not finite (*p_wait = 0).
 */
enum analysis_status analysis_erlang_c(int servers, double offered_load, double *p_wait);

/* Erlang B (blocking probability of M/M/c/c) by the stable recursion;
 * 0 for invalid input. */
double analysis_erlang_b(int servers, double offered_load);

/* Little's law and the M/M/c view of one band. Returns out->status. */
enum analysis_status analysis_queueing_band(const struct analysis_band *band, struct analysis_queueing *out);

#endif
