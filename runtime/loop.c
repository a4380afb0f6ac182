/*
 * epoll + timer heap + eventfd (see loop.h). Modelled on the shape of redis'
 * ae: a wait, a dispatch of ready fds, then the timers that are due.
 */
#include "runtime/loop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "runtime/clock.h"

#define MAX_EVENTS 256

struct loop {
    int epfd;
    struct loop_watch wake;
    uint64_t now;
    struct loop_timer **heap;
    size_t nheap, capheap;
    bool no_pwait2;
};

static void drain_wake(struct loop_watch *w, uint32_t events)
{
    (void)events;
    uint64_t v;
    while (read(w->fd, &v, sizeof v) > 0)
        ;
}

struct loop *loop_new(void)
{
    struct loop *loop = calloc(1, sizeof *loop);
    if (!loop)
        return NULL;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (loop->epfd < 0 || efd < 0) {
        if (efd >= 0)
            close(efd);
        if (loop->epfd >= 0)
            close(loop->epfd);
        free(loop);
        return NULL;
    }
    loop->wake.cb = drain_wake;
    loop_watch(loop, &loop->wake, efd, EPOLLIN);
    loop->now = clock_now_ns();
    return loop;
}

void loop_free(struct loop *loop)
{
    if (!loop)
        return;
    close(loop->wake.fd);
    close(loop->epfd);
    free(loop->heap);
    free(loop);
}

int loop_watch(struct loop *loop, struct loop_watch *w, int fd, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = w};
    w->fd = fd;
    w->events = events;
    return epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev);
}

int loop_watch_events(struct loop *loop, struct loop_watch *w, uint32_t events)
{
    if (w->events == events)
        return 0;
    struct epoll_event ev = {.events = events, .data.ptr = w};
    w->events = events;
    return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, w->fd, &ev);
}

void loop_unwatch(struct loop *loop, struct loop_watch *w)
{
    if (w->fd >= 0)
        epoll_ctl(loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    w->fd = -1;
    w->events = 0;
}

/* --- timer heap: slot is 1-based so 0 means "not armed" --- */

static void heap_set(struct loop *loop, size_t i, struct loop_timer *t)
{
    loop->heap[i] = t;
    t->slot = i + 1;
}

static void heap_up(struct loop *loop, size_t i)
{
    struct loop_timer *t = loop->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (loop->heap[parent]->deadline <= t->deadline)
            break;
        heap_set(loop, i, loop->heap[parent]);
        i = parent;
    }
    heap_set(loop, i, t);
}

static void heap_down(struct loop *loop, size_t i)
{
    struct loop_timer *t = loop->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= loop->nheap)
            break;
        if (child + 1 < loop->nheap && loop->heap[child + 1]->deadline < loop->heap[child]->deadline)
            child++;
        if (t->deadline <= loop->heap[child]->deadline)
            break;
        heap_set(loop, i, loop->heap[child]);
        i = child;
    }
    heap_set(loop, i, t);
}

void loop_timer_stop(struct loop *loop, struct loop_timer *t)
{
    if (!t->slot)
        return;
    size_t i = t->slot - 1;
    t->slot = 0;
    struct loop_timer *last = loop->heap[--loop->nheap];
    if (i == loop->nheap)
        return;
    heap_set(loop, i, last);
    heap_up(loop, i);
    heap_down(loop, last->slot - 1);
}

void loop_timer_start(struct loop *loop, struct loop_timer *t, uint64_t deadline)
{
    loop_timer_stop(loop, t);
    if (loop->nheap == loop->capheap) {
        size_t cap = loop->capheap ? loop->capheap * 2 : 64;
        struct loop_timer **heap = realloc(loop->heap, cap * sizeof *heap);
        if (!heap)
            abort(); /* a timer we cannot arm would hang a worker forever */
        loop->heap = heap;
        loop->capheap = cap;
    }
    t->deadline = deadline;
    heap_set(loop, loop->nheap++, t);
    heap_up(loop, loop->nheap - 1);
}

static int fire_timers(struct loop *loop)
{
    int fired = 0;
    while (loop->nheap && loop->heap[0]->deadline <= loop->now) {
        struct loop_timer *t = loop->heap[0];
        loop_timer_stop(loop, t);
        t->cb(t);
        fired++;
    }
    return fired;
}

int loop_step(struct loop *loop, uint64_t max_wait_ns)
{
    uint64_t wait = max_wait_ns;
    if (loop->nheap) {
        uint64_t now = clock_now_ns();
        uint64_t next = loop->heap[0]->deadline;
        uint64_t until = next > now ? next - now : 0;
        if (until < wait)
            wait = until;
    }
    struct epoll_event events[MAX_EVENTS];
    int n = -1;
    if (!loop->no_pwait2) {
        /* Nanosecond timeouts: scheduled starts (--rate) and sleeps are not
         * rounded to the next millisecond. */
        struct timespec ts = {(time_t)(wait / NS_PER_SEC), (long)(wait % NS_PER_SEC)};
        n = epoll_pwait2(loop->epfd, events, MAX_EVENTS, &ts, NULL);
        if (n < 0 && errno == ENOSYS)
            loop->no_pwait2 = true; /* kernel before 5.11 */
    }
    if (loop->no_pwait2) {
        /* Round up so a timer is never woken early and spun on. */
        int timeout_ms = (int)((wait + NS_PER_MS - 1) / NS_PER_MS);
        n = epoll_wait(loop->epfd, events, MAX_EVENTS, timeout_ms);
    }
    if (n < 0 && errno != EINTR)
        return -1;
    loop->now = clock_now_ns();
    int ran = 0;
    for (int i = 0; i < n; i++) {
        struct loop_watch *w = events[i].data.ptr;
        w->cb(w, events[i].events);
        ran++;
    }
    return ran + fire_timers(loop);
}

uint64_t loop_now(const struct loop *loop) { return loop->now; }

uint64_t loop_update_now(struct loop *loop)
{
    loop->now = clock_now_ns();
    return loop->now;
}

void loop_wake(struct loop *loop)
{
    uint64_t one = 1;
    ssize_t rc = write(loop->wake.fd, &one, sizeof one);
    (void)rc; /* EAGAIN means a wake is already pending, which is all we need */
}
