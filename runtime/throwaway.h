/*
 * The throwaway PostgreSQL: with no database given, stormdb runs against a
 * server of its own, so a first run needs nothing but the installed server
 * binaries. initdb into a temporary directory, a Unix socket there (no TCP
 * port, so nothing clashes with a real server), settings for a benchmark
 * sandbox, and everything removed at exit. initdb refuses to run as root, so
 * as root the server runs as the `postgres` account (or `nobody`).
 * The test harness uses the same code through `stormdb server start|stop`.
 */
#ifndef STORMDB_THROWAWAY_H
#define STORMDB_THROWAWAY_H

#include <stdbool.h>
#include <sys/types.h>

struct throwaway {
    char dir[256];          /* the temporary directory: data/, socket, logs */
    char bindir[512];
    char conninfo[512];
    pid_t pid;              /* the postmaster */
    bool child;             /* started by this process (we may waitpid) */
};

struct throwaway_options {
    int max_connections;    /* 0: default (300) */
    bool detach;            /* outlive this process (--keep, `server start`) */
};

/* Starts a server; 0, or -1 with a message in err. */
int throwaway_start(struct throwaway *tw, const struct throwaway_options *opt, char *err, size_t errlen);
/* Fast shutdown, then removes the directory. 0, or -1 with a message. */
int throwaway_stop(struct throwaway *tw, char *err, size_t errlen);

/* `stormdb server start DIR` keeps a pointer to the server in DIR (its
 * conninfo in DIR/conninfo), `stop DIR` finds it there. */
int throwaway_save(const struct throwaway *tw, const char *statedir, char *err, size_t errlen);
int throwaway_load(struct throwaway *tw, const char *statedir, char *err, size_t errlen);

#endif
