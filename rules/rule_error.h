/*
 * rule_error.h - private to rules/: the one formatter of rule problems,
 * "file:line: reason" appended to an error buffer on a line of its own, so
 * every problem of a load is listed at once. Its own file because every
 * stage of the load uses it (rule_load.c walking the YAML, hs_db.c
 * compiling Hyperscan databases) and those stages must not include each
 * other to share it.
 *
 * Threading: the caller's buffer; load time only.
 */
#ifndef CR_RULE_ERROR_H
#define CR_RULE_ERROR_H

#include <stdarg.h>
#include <stddef.h>

/* line 0: the problem is the path itself (a directory, an unreadable file). */
void cr_rules_error(char *err, size_t errlen, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void cr_rules_verror(char *err, size_t errlen, const char *file, int line, const char *fmt,
                     va_list ap) __attribute__((format(printf, 5, 0)));

#endif
