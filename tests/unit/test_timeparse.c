/*
 * test_timeparse.c - base/timeparse.c: civil arithmetic against known
 * epoch values, RFC 3339 variants and their rejections, month names in any
 * case, formatting, and the user-facing cr_time_parse.
 */
#include "base/timeparse.h"

#include <criterion/criterion.h>
#include <string.h>
#include <time.h>

Test(timeparse, civil_known_values)
{
    cr_assert_eq(cr_days_from_civil(1970, 1, 1), 0);
    cr_assert_eq(cr_days_from_civil(2000, 3, 1), 11017);
    cr_assert_eq(cr_days_from_civil(1969, 12, 31), -1);
    /* date -u -d 2026-11-21T19:55:00Z +%s = 1795290900 */
    cr_assert_eq(cr_time_from_civil(2026, 11, 21, 19, 55, 0, 0), 1795290900000LL);
    cr_assert_eq(cr_time_from_civil(2024, 2, 29, 0, 0, 0, 0), 1709164800000LL);
}

Test(timeparse, civil_rejects_bad_fields)
{
    cr_assert_eq(cr_time_from_civil(2023, 2, 29, 0, 0, 0, 0), -1); /* not a leap year */
    cr_assert_eq(cr_time_from_civil(1900, 2, 29, 0, 0, 0, 0), -1);
    cr_assert_eq(cr_time_from_civil(2026, 13, 1, 0, 0, 0, 0), -1);
    cr_assert_eq(cr_time_from_civil(2026, 4, 31, 0, 0, 0, 0), -1);
    cr_assert_eq(cr_time_from_civil(2026, 1, 1, 24, 0, 0, 0), -1);
    cr_assert_eq(cr_time_from_civil(2026, 1, 1, 0, 60, 0, 0), -1);
    cr_assert_eq(cr_time_from_civil(2026, 1, 1, 0, 0, 0, 1000), -1);
}

static int64_t p3339(const char *s, int tz, size_t *n)
{
    int64_t ms = 0;
    *n = cr_time_parse_rfc3339(s, strlen(s), tz, &ms);
    return ms;
}

Test(timeparse, rfc3339_variants)
{
    size_t n;
    const int64_t base = 1795290900000LL; /* 2026-11-21T19:55:00Z */
    cr_assert_eq(p3339("2026-11-21T19:55:00Z", 0, &n), base);
    cr_assert_eq(n, 20);
    cr_assert_eq(p3339("2026-11-21T19:55:00.5Z", 0, &n), base + 500);
    cr_assert_eq(p3339("2026-11-21T19:55:00.123456789Z", 0, &n), base + 123);
    cr_assert_eq(n, 30);
    cr_assert_eq(p3339("2026-11-22T03:55:00+08:00", 0, &n), base);
    cr_assert_eq(p3339("2026-11-21T12:55:00-0700", 0, &n), base);
    cr_assert_eq(p3339("2026-11-21 19:55:00z", 0, &n), base);
    /* no zone: the default applies (CST +08:00) */
    cr_assert_eq(p3339("2026-11-22T03:55:00", 480, &n), base);
    cr_assert_eq(n, 19);
    /* trailing text is not consumed */
    cr_assert_eq(p3339("2026-11-21T19:55:00Z host", 0, &n), base);
    cr_assert_eq(n, 20);
}

Test(timeparse, rfc3339_rejects)
{
    size_t n;
    const char *bad[] = {"",
                         "2026",
                         "2026-11-21",
                         "2026-11-21X19:55:00Z",
                         "2026-13-21T19:55:00Z",
                         "2026-11-31T19:55:00Z",
                         "2026-11-21T25:55:00Z",
                         "2026-11-21T19:55:00.Z",
                         "20261121T195500Z",
                         "2026-11-21T19:55:00+25:00",
                         "Nov 21 19:55:00"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p3339(bad[i], 0, &n);
        cr_assert_eq(n, 0, "accepted %s", bad[i]);
    }
    /* a slice shorter than the stamp must not be read past */
    int64_t ms;
    cr_assert_eq(cr_time_parse_rfc3339("2026-11-21T19:55:00Z", 15, 0, &ms), 0);
}

Test(timeparse, month_abbrev_any_case)
{
    const char *m[] = {"Jan", "FEB", "mar", "Apr", "May", "Jun",
                       "Jul", "AUG", "Sep", "oct", "Nov", "Dec"};
    for (int i = 0; i < 12; i++)
        cr_assert_eq(cr_month_from_abbrev(m[i]), i + 1, "%s", m[i]);
    cr_assert_eq(cr_month_from_abbrev("Foo"), 0);
    cr_assert_eq(cr_month_from_abbrev("J\0n"), 0);
    cr_assert_eq(cr_month_from_abbrev("12 "), 0);
}

Test(timeparse, format_round_trip)
{
    char buf[32];
    cr_time_format(1795290900123LL, buf, sizeof buf);
    cr_assert_str_eq(buf, "2026-11-21T19:55:00.123Z");
    cr_time_format(0, buf, sizeof buf);
    cr_assert_str_eq(buf, "1970-01-01T00:00:00.000Z");
    cr_time_format(-1, buf, sizeof buf);
    cr_assert_str_eq(buf, "1969-12-31T23:59:59.999Z");
    cr_time_format(951782400000LL, buf, sizeof buf); /* leap day 2000 */
    cr_assert_str_eq(buf, "2000-02-29T00:00:00.000Z");
    /* every day across four years survives format -> parse */
    for (int64_t ms = 1704067200000LL; ms < 1704067200000LL + 4 * 366 * 86400000LL;
         ms += 86400000LL + 3723004) {
        int64_t back;
        cr_time_format(ms, buf, sizeof buf);
        cr_assert_eq(cr_time_parse_rfc3339(buf, strlen(buf), 0, &back), 24);
        cr_assert_eq(back, ms, "%s", buf);
    }
}

Test(timeparse, user_time)
{
    int64_t ms;
    cr_assert_eq(cr_time_parse("2026-11-21", &ms), 0);
    cr_assert_eq(ms, 1795219200000LL);
    cr_assert_eq(cr_time_parse("2026-11-21T19:55:00+00:00", &ms), 0);
    cr_assert_eq(ms, 1795290900000LL);
    int64_t now = (int64_t)time(NULL) * 1000;
    cr_assert_eq(cr_time_parse("-2h", &ms), 0);
    cr_assert(ms > now - 2 * 3600000LL - 5000 && ms < now - 2 * 3600000LL + 5000);
    cr_assert_eq(cr_time_parse("-30m", &ms), 0);
    cr_assert(ms > now - 1800000LL - 5000 && ms < now - 1800000LL + 5000);
    cr_assert_eq(cr_time_parse("-2x", &ms), -1);
    cr_assert_eq(cr_time_parse("-h", &ms), -1);
    cr_assert_eq(cr_time_parse("yesterday", &ms), -1);
    cr_assert_eq(cr_time_parse("2026-11-21T19:55:00Zjunk", &ms), -1);
    cr_assert_eq(cr_time_parse("2026-02-30", &ms), -1);
    cr_assert_eq(cr_time_parse("", &ms), -1);
}
