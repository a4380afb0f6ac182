/* Lookup in the table of bundled Lua generated at build time. */
#include "runtime/embedded.h"

#include <string.h>

const struct embedded_script *embedded_find(const char *module)
{
    for (const struct embedded_script *s = embedded_scripts; s->module; s++)
        if (strcmp(s->module, module) == 0)
            return s;
    return NULL;
}
