/* The throwaway PostgreSQL (see throwaway.h). */
#include "runtime/throwaway.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <grp.h>
#include <libpq-fe.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/engine.h"
#include "runtime/log.h"

#define PORT 5432

static int has_server_binaries(const char *dir)
{
    char p[600];
    snprintf(p, sizeof p, "%s/initdb", dir);
    if (access(p, X_OK) != 0)
        return 0;
    snprintf(p, sizeof p, "%s/postgres", dir);
    return access(p, X_OK) == 0;
}

/* PATH first (a user's own build wins), then Debian's versioned directories,
 * newest first. */
static int find_bindir(char *out, size_t size)
{
    const char *path = getenv("PATH");
    if (path) {
        char *copy = strdup(path), *save = NULL;
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
            if (has_server_binaries(d)) {
                snprintf(out, size, "%s", d);
                free(copy);
                return 0;
            }
        }
        free(copy);
    }
    glob_t g;
    int found = -1;
    if (glob("/usr/lib/postgresql/*/bin", 0, NULL, &g) == 0) {
        int best = -1;
        for (size_t i = 0; i < g.gl_pathc; i++) {
            int v = atoi(g.gl_pathv[i] + strlen("/usr/lib/postgresql/"));
            if (v > best && has_server_binaries(g.gl_pathv[i])) {
                best = v;
                snprintf(out, size, "%s", g.gl_pathv[i]);
                found = 0;
            }
        }
        globfree(&g);
    }
    return found;
}

/* As root, the server runs as this account: initdb and postgres refuse root. */
static int server_account(uid_t *uid, gid_t *gid)
{
    if (geteuid() != 0) {
        *uid = geteuid();
        *gid = getegid();
        return 0;
    }
    const char *names[] = {"postgres", "nobody"};
    for (size_t i = 0; i < 2; i++) {
        struct passwd *pw = getpwnam(names[i]);
        if (pw) {
            *uid = pw->pw_uid;
            *gid = pw->pw_gid;
            return 0;
        }
    }
    return -1;
}

static void drop_privileges(void)
{
    uid_t uid;
    gid_t gid;
    if (geteuid() != 0 || server_account(&uid, &gid) != 0)
        return;
    if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
        _exit(126);
}

/* Runs argv with stdout/stderr into logfile; returns the child's pid. */
static pid_t spawn(char *const argv[], const char *logfile, bool own_session, bool die_with_parent)
{
    /* A Ctrl-C or SIGTERM arriving between fork and exec must not be eaten
     * by our own handler in the child (which would then start a server
     * nobody stops): block them across fork; the child restores the default
     * actions before unblocking, so a pending one takes effect there. */
    sigset_t term, old;
    sigemptyset(&term);
    sigaddset(&term, SIGINT);
    sigaddset(&term, SIGTERM);
    sigprocmask(SIG_BLOCK, &term, &old);
    pid_t pid = fork();
    if (pid != 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        return pid;
    }
    /* The server (and initdb) get a session of their own, so the terminal's
     * Ctrl-C reaches stormdb only, and stormdb shuts them down in order. */
    if (own_session)
        setsid();
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    drop_privileges();
    if (die_with_parent)
        prctl(PR_SET_PDEATHSIG, SIGINT); /* after setuid, which clears it */
    int fd = open(logfile, O_WRONLY | O_CREAT | O_APPEND, 0600);
    int null = open("/dev/null", O_RDONLY);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
    }
    if (null >= 0)
        dup2(null, 0);
    execv(argv[0], argv);
    _exit(127);
}

/* Waits for a child (initdb), ending it early on Ctrl-C or SIGTERM, which
 * would otherwise wait for it to finish (SA_RESTART). 0 when it exited on
 * its own (status in *status), -1 when interrupted or lost. */
static int wait_child(pid_t pid, int *status)
{
    if (pid < 0)
        return 0;
    for (;;) {
        pid_t rc = waitpid(pid, status, WNOHANG);
        if (rc == pid)
            return 0;
        if (rc < 0 && errno != EINTR) {
            *status = 127 << 8; /* lost: reported as initdb failing */
            return 0;
        }
        if (engine_interrupted()) {
            /* initdb runs in a session of its own (spawn): end it and the
             * postgres it runs at once; remove_tree clears what they left. */
            kill(-pid, SIGKILL);
            waitpid(pid, status, 0);
            return -1;
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void log_tail(const char *logfile, char *out, size_t size)
{
    FILE *f = fopen(logfile, "r");
    out[0] = '\0';
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (*line)
            snprintf(out, size, "%s", line);
    }
    fclose(f);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void remove_tree(const char *dir)
{
    if (dir[0])
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int write_settings(const struct throwaway *tw, int max_connections)
{
    char path[600];
    snprintf(path, sizeof path, "%s/data/postgresql.conf", tw->dir);
    FILE *f = fopen(path, "a");
    if (!f)
        return -1;
    /* The binaries may be symlinks (a PATH directory): the extension
     * libraries live next to the real ones, ../lib from their directory. */
    char real[PATH_MAX], lib[PATH_MAX + 64];
    snprintf(lib, sizeof lib, "%s/postgres", tw->bindir);
    if (!realpath(lib, real))
        snprintf(real, sizeof real, "%s/postgres", tw->bindir);
    char *slash = strrchr(real, '/');
    if (slash)
        *slash = '\0';
    snprintf(lib, sizeof lib, "%s/../lib/pg_stat_statements.so", real);
    fprintf(f,
            "\n# stormdb throwaway server: a sandbox for trying stormdb and for its tests.\n"
            "# Durability is off (fsync, synchronous_commit): figures from this server say\n"
            "# nothing about what commits cost on a real one.\n"
            "listen_addresses = ''\n"
            "unix_socket_directories = '%s'\n"
            "port = %d\n"
            "max_connections = %d\n"
            "shared_buffers = 128MB\n"
            "fsync = off\n"
            "synchronous_commit = off\n"
            "full_page_writes = off\n"
            "max_wal_size = 2GB\n"
            "checkpoint_timeout = 30min\n"
            "track_io_timing = on\n"
            "%s",
            tw->dir, PORT, max_connections > 0 ? max_connections : 300,
            access(lib, R_OK) == 0 ? "shared_preload_libraries = 'pg_stat_statements'\n" : "");
    return fclose(f);
}

static int wait_ready(struct throwaway *tw, const char *logfile, char *err, size_t errlen)
{
    char admin[600];
    snprintf(admin, sizeof admin, "host=%s port=%d user=stormdb dbname=postgres", tw->dir, PORT);
    for (int i = 0; i < 600; i++) { /* 60 s */
        if (PQping(admin) == PQPING_OK)
            return 0;
        int status;
        if (waitpid(tw->pid, &status, WNOHANG) == tw->pid) {
            char tail[512];
            log_tail(logfile, tail, sizeof tail);
            snprintf(err, errlen, "the throwaway server did not start: %s (log: %s)", tail, logfile);
            tw->pid = 0;
            return -1;
        }
        if (engine_interrupted()) {
            snprintf(err, errlen, "interrupted while starting the throwaway server");
            return -1;
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    snprintf(err, errlen, "the throwaway server did not accept connections within 60 s (log: %s)", logfile);
    return -1;
}

static int create_database(struct throwaway *tw, char *err, size_t errlen)
{
    char admin[600];
    snprintf(admin, sizeof admin, "host=%s port=%d user=stormdb dbname=postgres", tw->dir, PORT);
    PGconn *c = PQconnectdb(admin);
    PGresult *r = PQexec(c, "CREATE DATABASE stormdb");
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        snprintf(err, errlen, "cannot create the throwaway database: %s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return ok ? 0 : -1;
}

int throwaway_start(struct throwaway *tw, const struct throwaway_options *opt, char *err, size_t errlen)
{
    memset(tw, 0, sizeof *tw);
    if (find_bindir(tw->bindir, sizeof tw->bindir) != 0) {
        snprintf(err, errlen,
                 "no database given and no PostgreSQL server binaries found (initdb, postgres) in PATH or "
                 "/usr/lib/postgresql/*/bin: install the postgresql package, or give --dsn");
        return -1;
    }
    uid_t uid;
    gid_t gid;
    if (server_account(&uid, &gid) != 0) {
        snprintf(err, errlen, "running as root and no unprivileged account (postgres, nobody) to run the server");
        return -1;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(tw->dir, sizeof tw->dir, "%s/stormdb-XXXXXX", tmp && *tmp && strlen(tmp) < 60 ? tmp : "/tmp");
    if (!mkdtemp(tw->dir)) {
        snprintf(err, errlen, "cannot create a temporary directory in %s: %s", tmp ? tmp : "/tmp", strerror(errno));
        tw->dir[0] = '\0';
        return -1;
    }
    if (geteuid() == 0 && chown(tw->dir, uid, gid) != 0) {
        snprintf(err, errlen, "cannot hand %s to the server account: %s", tw->dir, strerror(errno));
        goto fail;
    }
    log_info("starting a throwaway PostgreSQL in %s (binaries from %s)", tw->dir, tw->bindir);

    char initdb[600], postgres[600], data[300], logfile[300];
    snprintf(initdb, sizeof initdb, "%s/initdb", tw->bindir);
    snprintf(postgres, sizeof postgres, "%s/postgres", tw->bindir);
    snprintf(data, sizeof data, "%s/data", tw->dir);
    snprintf(logfile, sizeof logfile, "%s/server.log", tw->dir);
    char *initdb_argv[] = {initdb, "-D", data, "-U", "stormdb", "-A", "trust", "-E", "UTF8",
                           "--locale=C", "--no-sync", NULL};
    pid_t pid = spawn(initdb_argv, logfile, true, true);
    int status = 0;
    if (wait_child(pid, &status) != 0) {
        snprintf(err, errlen, "interrupted while creating the throwaway server");
        goto fail;
    }
    if (engine_interrupted()) {
        snprintf(err, errlen, "interrupted while starting the throwaway server");
        goto fail;
    }
    if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char tail[512];
        log_tail(logfile, tail, sizeof tail);
        snprintf(err, errlen, "initdb failed: %s", tail[0] ? tail : "(no output)");
        goto fail;
    }
    if (write_settings(tw, opt ? opt->max_connections : 0) != 0) {
        snprintf(err, errlen, "cannot write the throwaway server's settings: %s", strerror(errno));
        goto fail;
    }
    char *postgres_argv[] = {postgres, "-D", data, NULL};
    tw->pid = spawn(postgres_argv, logfile, true, !(opt && opt->detach));
    tw->child = true;
    if (tw->pid < 0 || wait_ready(tw, logfile, err, errlen) != 0 || create_database(tw, err, errlen) != 0)
        goto fail;
    snprintf(tw->conninfo, sizeof tw->conninfo, "host=%s port=%d user=stormdb dbname=stormdb", tw->dir, PORT);
    return 0;

fail:
    throwaway_stop(tw, NULL, 0);
    return -1;
}

static bool alive(pid_t pid) { return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM); }

int throwaway_stop(struct throwaway *tw, char *err, size_t errlen)
{
    int rc = 0;
    if (tw->pid > 0) {
        kill(tw->pid, SIGINT); /* fast shutdown: roll back clients, checkpoint, exit */
        for (int i = 0; i < 300; i++) { /* 30 s, then immediate shutdown */
            if (tw->child) {
                int status;
                if (waitpid(tw->pid, &status, WNOHANG) == tw->pid)
                    break;
            } else if (!alive(tw->pid)) {
                break;
            }
            if (i == 299) {
                kill(tw->pid, SIGQUIT);
                if (tw->child)
                    waitpid(tw->pid, NULL, 0);
            }
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        tw->pid = 0;
    }
    remove_tree(tw->dir);
    if (tw->dir[0] && access(tw->dir, F_OK) == 0) {
        if (err)
            snprintf(err, errlen, "could not remove %s completely", tw->dir);
        rc = -1;
    }
    tw->dir[0] = '\0';
    return rc;
}

int throwaway_save(const struct throwaway *tw, const char *statedir, char *err, size_t errlen)
{
    if (mkdir(statedir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", statedir, strerror(errno));
        return -1;
    }
    char path[600];
    snprintf(path, sizeof path, "%s/server", statedir);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    fprintf(f, "%d\n%s\n%s\n", (int)tw->pid, tw->dir, tw->bindir);
    fclose(f);
    snprintf(path, sizeof path, "%s/conninfo", statedir);
    f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    fprintf(f, "%s\n", tw->conninfo);
    return fclose(f);
}

int throwaway_load(struct throwaway *tw, const char *statedir, char *err, size_t errlen)
{
    memset(tw, 0, sizeof *tw);
    char path[600];
    snprintf(path, sizeof path, "%s/server", statedir);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "no throwaway server recorded in %s", statedir);
        return -1;
    }
    int pid = 0;
    int n = fscanf(f, "%d\n%255[^\n]\n%511[^\n]", &pid, tw->dir, tw->bindir);
    fclose(f);
    if (n < 2 || strncmp(tw->dir, "/", 1) != 0 || !strstr(tw->dir, "stormdb-")) {
        snprintf(err, errlen, "%s does not describe a stormdb throwaway server", path);
        tw->dir[0] = '\0';
        return -1;
    }
    tw->pid = pid;
    tw->child = false;
    remove(path);
    snprintf(path, sizeof path, "%s/conninfo", statedir);
    remove(path);
    return 0;
}
