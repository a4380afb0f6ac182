/*
 * One event loop per engine thread: epoll over the sockets of the thread's
 * connections, a min-heap of timers (sleeps, reconnect backoff, phase
 * boundaries, stats publishing) and an eventfd so another thread can wake it.
 * Watches and timers are intrusive (embedded in their owner's struct), so
 * nothing is allocated on the hot path. Not thread-safe except loop_wake.
 */
#ifndef STORMDB_LOOP_H
#define STORMDB_LOOP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

struct loop;

struct loop_watch {
    void (*cb)(struct loop_watch *w, uint32_t events);
    int fd;
    uint32_t events;    /* EPOLLIN / EPOLLOUT currently asked for */
};

struct loop_timer {
    void (*cb)(struct loop_timer *t);
    uint64_t deadline;  /* CLOCK_MONOTONIC ns */
    size_t slot;        /* position in the heap + 1; 0 when not armed */
};

struct loop *loop_new(void);
void loop_free(struct loop *loop);

/* Starts, changes or stops watching w->fd. The fd may be closed only after
 * loop_unwatch. Return -1 with errno set on failure. */
int loop_watch(struct loop *loop, struct loop_watch *w, int fd, uint32_t events);
int loop_watch_events(struct loop *loop, struct loop_watch *w, uint32_t events);
void loop_unwatch(struct loop *loop, struct loop_watch *w);

void loop_timer_start(struct loop *loop, struct loop_timer *t, uint64_t deadline);
void loop_timer_stop(struct loop *loop, struct loop_timer *t);

/* Waits at most max_wait_ns (0 = poll) for fds, dispatches them, then fires
 * due timers. Returns the number of callbacks run, or -1 on epoll failure. */
int loop_step(struct loop *loop, uint64_t max_wait_ns);

/* The time read once after the last wait: what completions are stamped with. */
uint64_t loop_now(const struct loop *loop);
uint64_t loop_update_now(struct loop *loop);

/* From any thread: makes a blocked loop_step return. */
void loop_wake(struct loop *loop);

#endif
