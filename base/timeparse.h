/*
 * timeparse.h - fixed-width timestamp parsing and formatting.
 *
 * Written by hand instead of strptime because strptime's %b depends on the
 * locale and it rejects fractional seconds; these functions are small,
 * locale-free, allocation-free and fuzzable. All results are milliseconds
 * since the Unix epoch, UTC.
 *
 * Threading: pure functions, any thread.
 */
#ifndef CR_TIMEPARSE_H
#define CR_TIMEPARSE_H

#include <stddef.h>
#include <stdint.h>

/* Days since 1970-01-01 of a proleptic Gregorian date (no range checks). */
int64_t cr_days_from_civil(int y, unsigned m, unsigned d);
/* ms since the epoch for a UTC civil time; -1 on invalid fields. */
int64_t cr_time_from_civil(int y, int mon, int day, int h, int mi, int s, int ms);

/* RFC 3339 / ISO 8601: 2026-11-21T19:55:00Z, with optional .fraction (any
 * number of digits, kept to ms), 'Z' or +hh:mm / -hh:mm / +hhmm, 'T' or ' '
 * between date and time; if no zone, default_tz_min applies. Returns the
 * number of bytes consumed (> 0) and sets *ms, or 0 if s does not start
 * with such a stamp. */
size_t cr_time_parse_rfc3339(const char *s, size_t len, int default_tz_min, int64_t *ms);

/* Month from a 3-letter English abbreviation (any case): 1..12, 0 if none. */
int cr_month_from_abbrev(const char *s);

/* RFC 3339 UTC with milliseconds: 2026-11-21T19:55:00.000Z (buf >= 25). */
void cr_time_format(int64_t ms, char *buf, size_t len);
/* Parse a user-supplied time (command line): RFC 3339, or a date
 * "2026-11-21" (midnight UTC), or a relative "-2h" / "-30m" before now.
 * Returns 0 or -1. */
int cr_time_parse(const char *s, int64_t *ms);

#endif
