/*
 * Durations as users type them: "30s", "5m", "1h", "1m30s", "250ms", "2h15m",
 * and a bare number ("90", "1.5") meaning seconds, as pgbench's -T does.
 * Used by the CLI, the YAML loader and the Lua option parser alike, so every
 * place accepts the same spellings and says the same thing when one is wrong.
 */
#ifndef STORMDB_DURATION_H
#define STORMDB_DURATION_H

#include <stdint.h>

/* Parses text into nanoseconds. Returns 0 on success; on failure returns -1
 * and, when err is not NULL, a static message saying what is allowed.
 * Negative values, empty text, unknown units, trailing junk and values above
 * 100 days are refused. "0" and "0s" are accepted (callers decide whether
 * zero is allowed). Units: h, m, s, ms, us (and ns), each at most once and
 * largest first ("1h30m", not "30m1h"); every number but a lone one needs a
 * unit ("1m30s", not "1m30"); decimals are allowed anywhere ("1.5m"). */
int duration_parse(const char *text, uint64_t *ns, const char **err);

/* Enough room for duration_format of any uint64_t ("5124095h34m33.709551615s"). */
#define DURATION_FORMAT_SIZE 32

/* Writes a short human form ("1m30s", "250ms", "2h") into buf; returns buf.
 * Up to 100 days duration_parse reads the form back to the same ns ("1.5ms",
 * "1h0.5s", "0s"). Truncated, still NUL-terminated, if size is too small. */
char *duration_format(uint64_t ns, char *buf, int size);

#endif
