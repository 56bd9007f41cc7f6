/*
 * rule_error.c - see rule_error.h.
 */
#include "rules/rule_error.h"

#include <stdio.h>
#include <string.h>

void cr_rules_verror(char *err, size_t errlen, const char *file, int line, const char *fmt,
                     va_list ap)
{
    if (!err || errlen == 0)
        return;
    size_t used = strnlen(err, errlen);
    if (used && used < errlen - 1 && err[used - 1] != '\n')
        err[used++] = '\n', err[used] = 0;
    if (used >= errlen - 1)
        return;
    /* line 0: the problem is the path itself (a directory, an unreadable file) */
    int w = line > 0 ? snprintf(err + used, errlen - used, "%s:%d: ", file, line)
                     : snprintf(err + used, errlen - used, "%s: ", file);
    if (w < 0 || (size_t)w >= errlen - used)
        return;
    vsnprintf(err + used + w, errlen - used - w, fmt, ap);
}

void cr_rules_error(char *err, size_t errlen, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cr_rules_verror(err, errlen, file, line, fmt, ap);
    va_end(ap);
}
