/*
 * timeparse.c - locale-free timestamp parsing and formatting.
 *
 * Owns the calendar arithmetic every parser and the command line share:
 * civil date <-> epoch milliseconds, RFC 3339 parsing (the JSON formats and
 * RFC 5424 use it on the hot path), English month abbreviations (RFC 3164),
 * and the forgiving parser for times typed by a user.
 *
 * Why by hand: strptime's %b follows the locale and it has no fractional
 * seconds; timegm() takes a struct tm and normalises silently. The civil
 * conversion is Howard Hinnant's days_from_civil, exact for the proleptic
 * Gregorian calendar, branch-light and without tables, so it costs a few
 * nanoseconds per record. Every reader checks its length before touching a
 * byte: inputs are slices of larger buffers, never NUL-terminated.
 */
#include "base/timeparse.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t cr_days_from_civil(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int cr_is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int cr_days_in_month(int y, int m)
{
    static const unsigned char dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && cr_is_leap(y) ? 29 : dm[m - 1];
}

int64_t cr_time_from_civil(int y, int mon, int day, int h, int mi, int s, int ms)
{
    /* Second 60 is accepted (leap second, folded into the next minute). */
    if (y < 1 || y > 9999 || mon < 1 || mon > 12 || day < 1 || day > cr_days_in_month(y, mon) ||
        h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60 || ms < 0 || ms > 999)
        return -1;
    int64_t days = cr_days_from_civil(y, (unsigned)mon, (unsigned)day);
    return ((days * 24 + h) * 60 + mi) * 60000 + (int64_t)s * 1000 + ms;
}

static int cr_digits(const char *s, size_t len, size_t at, size_t n, int *out)
{
    if (at + n > len)
        return 0;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = (unsigned char)s[at + i] - '0';
        if (c > 9)
            return 0;
        v = v * 10 + (int)c;
    }
    *out = v;
    return 1;
}

size_t cr_time_parse_rfc3339(const char *s, size_t len, int default_tz_min, int64_t *ms)
{
    int y, mo, d, h, mi, sec = 0, frac = 0;
    if (!cr_digits(s, len, 0, 4, &y) || len < 5 || s[4] != '-' || !cr_digits(s, len, 5, 2, &mo) ||
        len < 8 || s[7] != '-' || !cr_digits(s, len, 8, 2, &d))
        return 0;
    if (len < 11 || (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
        return 0;
    if (!cr_digits(s, len, 11, 2, &h) || len < 14 || s[13] != ':' || !cr_digits(s, len, 14, 2, &mi))
        return 0;
    size_t i = 16;
    /* Seconds are optional in ISO 8601 stamps some devices emit (hh:mm). */
    if (i < len && s[i] == ':') {
        if (!cr_digits(s, len, i + 1, 2, &sec))
            return 0;
        i += 3;
    }
    if (i < len && (s[i] == '.' || s[i] == ',')) {
        size_t start = ++i;
        int scale = 100;
        while (i < len && (unsigned)(s[i] - '0') <= 9) {
            frac += (s[i] - '0') * scale;
            scale /= 10;
            i++;
        }
        if (i == start)
            return 0;
    }
    int tz = default_tz_min;
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        tz = 0;
        i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        int th, tm = 0;
        if (!cr_digits(s, len, i + 1, 2, &th))
            return 0;
        size_t j = i + 3;
        if (j < len && s[j] == ':') {
            if (!cr_digits(s, len, j + 1, 2, &tm))
                return 0;
            j += 3;
        } else if (cr_digits(s, len, j, 2, &tm)) {
            j += 2;
        }
        if (th > 23 || tm > 59)
            return 0;
        tz = (th * 60 + tm) * (s[i] == '-' ? -1 : 1);
        i = j;
    }
    /* -1 is the invalid-field answer; the one real instant it collides with
     * (1969-12-31T23:59:59.999) is not worth a wider API. */
    int64_t t = cr_time_from_civil(y, mo, d, h, mi, sec, frac);
    if (t == -1)
        return 0;
    *ms = t - (int64_t)tz * 60000;
    return i;
}

int cr_month_from_abbrev(const char *s)
{
    /* Fold to lower case and pack three letters into one integer: a switch
     * on the packed value beats twelve strncasecmp calls. */
    unsigned a = (unsigned char)s[0] | 0x20, b, c;
    if (a < 'a' || a > 'z')
        return 0;
    b = (unsigned char)s[1] | 0x20;
    if (b < 'a' || b > 'z')
        return 0;
    c = (unsigned char)s[2] | 0x20;
    if (c < 'a' || c > 'z')
        return 0;
    switch (a << 16 | b << 8 | c) {
    case 'j' << 16 | 'a' << 8 | 'n':
        return 1;
    case 'f' << 16 | 'e' << 8 | 'b':
        return 2;
    case 'm' << 16 | 'a' << 8 | 'r':
        return 3;
    case 'a' << 16 | 'p' << 8 | 'r':
        return 4;
    case 'm' << 16 | 'a' << 8 | 'y':
        return 5;
    case 'j' << 16 | 'u' << 8 | 'n':
        return 6;
    case 'j' << 16 | 'u' << 8 | 'l':
        return 7;
    case 'a' << 16 | 'u' << 8 | 'g':
        return 8;
    case 's' << 16 | 'e' << 8 | 'p':
        return 9;
    case 'o' << 16 | 'c' << 8 | 't':
        return 10;
    case 'n' << 16 | 'o' << 8 | 'v':
        return 11;
    case 'd' << 16 | 'e' << 8 | 'c':
        return 12;
    default:
        return 0;
    }
}

void cr_time_format(int64_t ms, char *buf, size_t len)
{
    /* civil_from_days (Hinnant), floor division so pre-1970 times work. */
    int64_t days = ms / 86400000 - (ms % 86400000 < 0); /* no overflow at INT64_MIN */
    int64_t rem = ms % 86400000 + (ms % 86400000 < 0 ? 86400000 : 0);
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    snprintf(buf, len, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ", (long long)y, m, d,
             (unsigned)(rem / 3600000), (unsigned)(rem / 60000 % 60), (unsigned)(rem / 1000 % 60),
             (unsigned)(rem % 1000));
}

int cr_time_parse(const char *s, int64_t *ms)
{
    size_t len = strlen(s);
    if (len == 0)
        return -1;
    if (s[0] == '-' && len >= 3) {
        /* Relative: -<n><unit>, unit s, m, h, d. */
        int64_t n = 0;
        size_t i = 1;
        while (i < len && (unsigned)(s[i] - '0') <= 9 && n < 100000000) {
            n = n * 10 + (s[i] - '0');
            i++;
        }
        if (i == 1 || i + 1 != len)
            return -1;
        int64_t unit;
        switch (s[i]) {
        case 's':
            unit = 1000;
            break;
        case 'm':
            unit = 60000;
            break;
        case 'h':
            unit = 3600000;
            break;
        case 'd':
            unit = 86400000;
            break;
        default:
            return -1;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        *ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - n * unit;
        return 0;
    }
    int64_t t;
    size_t n = cr_time_parse_rfc3339(s, len, 0, &t);
    if (n > 0 && n == len) {
        *ms = t;
        return 0;
    }
    int y, mo, d;
    if (len == 10 && cr_digits(s, len, 0, 4, &y) && s[4] == '-' && cr_digits(s, len, 5, 2, &mo) &&
        s[7] == '-' && cr_digits(s, len, 8, 2, &d)) {
        t = cr_time_from_civil(y, mo, d, 0, 0, 0, 0);
        if (t == -1)
            return -1;
        *ms = t;
        return 0;
    }
    return -1;
}
