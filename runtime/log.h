/*
 * Diagnostics on stderr with a timestamp and a level, so a user can turn on
 * `--log-level debug` (or STORMDB_LOG_LEVEL=debug) and see connection events,
 * setup statements, phase changes and pool decisions without recompiling.
 * Results never go through here: they belong to reporters on stdout.
 * Safe to call from any thread (one fprintf per line).
 */
#ifndef STORMDB_LOG_H
#define STORMDB_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Parses "error|warn|info|debug"; returns -1 when unknown. */
int log_level_parse(const char *name);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
int log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) do { if (log_enabled(LOG_DEBUG)) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
