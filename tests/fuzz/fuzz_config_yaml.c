/*
 * libFuzzer target: the YAML configuration loader (runtime/config_yaml.c)
 * and the validation after it, on arbitrary bytes as a --config file. Any
 * input must end in a configuration or in messages, never in a crash, an
 * out-of-bounds access, undefined behaviour or a leak (ASan + UBSan + LSan).
 * Seeds: tests/data/config and tests/data/bad (see tests/fuzz/CMakeLists.txt).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/config.h"
#include "runtime/config_yaml.h"

/* The loader reads a file: one per process, rewritten for every input. */
static char path[64];

static void remove_file(void) { unlink(path); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0]) {
        snprintf(path, sizeof path, "/tmp/stormdb-fuzz-XXXXXX.yaml");
        int fd = mkstemps(path, 5);
        if (fd < 0)
            abort();
        close(fd);
        atexit(remove_file);
    }
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);

    static char err[65536];
    err[0] = '\0';
    struct config c;
    config_init(&c);
    c.command = "run";
    c.config_file = strdup(path);
    int problems = config_load_yaml(&c, err, sizeof err);
    size_t used = strlen(err);
    problems += config_resolve(&c, err + used, sizeof err - used);
    used = strlen(err);
    problems += config_validate(&c, err + used, sizeof err - used);
    /* Every problem is reported with a message. */
    if (problems > 0 && err[0] == '\0')
        abort();
    config_free(&c);
    return 0;
}
