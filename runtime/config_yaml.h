/*
 * The YAML side of the configuration (--config FILE, docs/configuration.md).
 * The file fills the same struct config as the command line, through the
 * same option table and the same config_set_from(), so a key and its flag
 * accept exactly the same values and say the same thing when one is wrong.
 * Only the messages differ: they name the file, the line and the key.
 */
#ifndef STORMDB_CONFIG_YAML_H
#define STORMDB_CONFIG_YAML_H

#include <stddef.h>

#include "runtime/config.h"

/* Loads the file at c->config_file into c. A key the command line already
 * set keeps the command line's value. Writes every problem found, one per
 * line ("study.yaml:12: progressive.bands: 0: expected a whole number from 1
 * to 100", "study.yaml:3: progressive.min_worker: unknown key; did you mean
 * min_workers?", "study.yaml:4:7: mapping values are not allowed in this
 * context"); returns the number of problems (0: loaded). Values of secret
 * keys (the password) never appear in a message. */
int config_load_yaml(struct config *c, char *err, size_t errlen);

#endif
