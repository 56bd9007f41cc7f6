/*
 * cli.c - see cli.h.
 */
#include "cli.h"

#include <stdarg.h>

int cr_cli_usage(FILE *err, const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(err, "corral %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(err, fmt, ap);
    va_end(ap);
    fprintf(err, "\nTry 'corral %s --help' for more information.\n", cmd);
    return CR_EXIT_USAGE;
}
