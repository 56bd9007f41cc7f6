/*
 * syslog_3164.c - BSD syslog (RFC 3164) as devices actually send it.
 *
 * Owns cr_parse_rfc3164(). RFC 3164 is descriptive, not normative, so this
 * parser is a set of heuristics in a fixed order, each a few byte compares:
 *
 *   [<PRI>] [seq:] [*|.]STAMP[:] [HOST] [seq:] [[*|.]DEVICE-STAMP:] TAG-or-VENDOR-CODE MSG
 *
 *  - STAMP is "Mmm dd hh:mm:ss" (space-padded or one-digit day, any case),
 *    optionally with .frac or H3C's ":mmm", a glued zone (+07:00, Z), a year
 *    before the time (Huawei "Aug 6 2011 20:34:46") or after it (H3C
 *    "17:28:50:524 2004", rsyslog's detect.YearAfterTimestamp: 2000-2099),
 *    NX-OS's leading year ("2017 Jul 28 ... UTC:"), or an RFC 3339 stamp.
 *  - HOST is taken when the next token looks like a host name (letters,
 *    digits, . - _ : / @; not ending in ':'), as rsyslog's pmrfc3164 does.
 *  - Cisco IOS puts a sequence number and its own clock after the relay's
 *    header; both are skipped (the relay's stamp is kept when present: the
 *    device clock is often unsynchronised, marked '*'), then the
 *    %FAC-SEV-MNEMONIC code gives event_type, severity_vendor and program.
 *    Huawei VRP (%%01MOD/L/BRIEF(l)[n]:) and H3C Comware (%%10... and the
 *    cmcc form %10...) are recognised the same way.
 *  - An application log line (log4j style: a level word where the host
 *    would be; HDFS and Spark stamps) is read by app_log.c.
 *  - A line with no recognisable stamp is headerless: the message is what
 *    follows the PRI, the time is the fallback.
 *
 * Everything is a slice of the record: no copies, no allocation, and every
 * read is bounds-checked against len (records are not NUL-terminated).
 */
#include "parsers/parser_int.h"

#include "base/timeparse.h"

struct cr_stamp {
    int year; /* 0 = absent */
    int mon, day, h, mi, s, ms;
    int tz_set, tz_min;
    int is_abs; /* RFC 3339 form: abs_ms holds the result */
    int64_t abs_ms;
};

static inline int cr_isdigit(char c) { return (unsigned)(c - '0') <= 9; }

/* n digits at s[i..]; -1 if not all digits or out of range. */
static int cr_num(const char *s, size_t len, size_t i, size_t n)
{
    if (i + n > len)
        return -1;
    int v = 0;
    for (size_t k = 0; k < n; k++) {
        if (!cr_isdigit(s[i + k]))
            return -1;
        v = v * 10 + (s[i + k] - '0');
    }
    return v;
}

static size_t cr_skip_sp(const char *s, size_t len, size_t i)
{
    while (i < len && s[i] == ' ')
        i++;
    return i;
}

/* "<PRI>" with 1-3 digits and PRI <= 191; returns bytes consumed or 0. */
static size_t cr_pri(const char *s, size_t len, int *pri)
{
    if (len < 3 || s[0] != '<')
        return 0;
    size_t i = 1;
    int v = 0;
    while (i < len && i < 4 && cr_isdigit(s[i]))
        v = v * 10 + (s[i++] - '0');
    if (i == 1 || i >= len || s[i] != '>' || v > 191)
        return 0;
    *pri = v;
    return i + 1;
}

/* Glued zone after the time: Z, +hh:mm, +hhmm, +hh. */
static size_t cr_zone(const char *s, size_t len, size_t i, struct cr_stamp *st)
{
    if (i < len && s[i] == 'Z') {
        st->tz_set = 1;
        st->tz_min = 0;
        return i + 1;
    }
    if (i >= len || (s[i] != '+' && s[i] != '-'))
        return i;
    int hh = cr_num(s, len, i + 1, 2), mm = 0;
    if (hh < 0 || hh > 23)
        return i;
    size_t j = i + 3;
    if (j < len && s[j] == ':' && cr_num(s, len, j + 1, 2) >= 0) {
        mm = cr_num(s, len, j + 1, 2);
        j += 3;
    } else if (cr_num(s, len, j, 2) >= 0) {
        mm = cr_num(s, len, j, 2);
        j += 2;
    }
    if (mm > 59)
        return i;
    st->tz_set = 1;
    st->tz_min = (hh * 60 + mm) * (s[i] == '-' ? -1 : 1);
    return j;
}

/* A year 2000-2099 as its own token (followed by space, ':' or the end). */
static int cr_year_token(const char *s, size_t len, size_t i)
{
    int y = cr_num(s, len, i, 4);
    if (y < 2000 || y > 2099)
        return 0;
    if (i + 4 < len && s[i + 4] != ' ' && s[i + 4] != ':')
        return 0;
    return y;
}

/* A timestamp at s[i..]; returns the position after it (and after a
 * trailing ':'), or 0 if there is none. */
static size_t cr_stamp(const struct cr_parser *p, const char *s, size_t len, size_t i,
                       struct cr_stamp *st)
{
    memset(st, 0, sizeof *st);
    if (i < len && (s[i] == '*' || s[i] == '.'))
        i++;          /* Cisco: clock not synchronised / was synchronised */
    if (i + 14 > len) /* shortest: "Mar 7 19:06:53" */
        return 0;
    if (cr_isdigit(s[i])) {
        if (s[i + 4] == '-') {
            size_t n = cr_time_parse_rfc3339(s + i, len - i, p->opts.tz_offset_min, &st->abs_ms);
            if (n == 0)
                return 0;
            st->is_abs = 1;
            i += n;
            return i < len && s[i] == ':' ? i + 1 : i;
        }
        /* NX-OS: "2017 Jul 28 14:42:46 UTC:" */
        int y = cr_year_token(s, len, i);
        if (!y || s[i + 4] != ' ')
            return 0;
        st->year = y;
        i += 5;
        if (i + 14 > len)
            return 0;
    }
    st->mon = cr_month_from_abbrev(s + i);
    if (!st->mon || s[i + 3] != ' ')
        return 0;
    i = cr_skip_sp(s, len, i + 4);
    if (i < len && cr_isdigit(s[i])) {
        st->day = s[i++] - '0';
        if (i < len && cr_isdigit(s[i]))
            st->day = st->day * 10 + (s[i++] - '0');
    } else {
        return 0;
    }
    if (i >= len || s[i] != ' ')
        return 0;
    i = cr_skip_sp(s, len, i);
    if (!st->year && i + 5 <= len && s[i + 4] == ' ' && (st->year = cr_year_token(s, len, i)))
        i = cr_skip_sp(s, len, i + 5); /* Huawei, rsyslog: "Mar 7 2008 19:06:53" */
    st->h = cr_num(s, len, i, 2);
    if (st->h < 0 || i + 8 > len || s[i + 2] != ':' || s[i + 5] != ':')
        return 0;
    st->mi = cr_num(s, len, i + 3, 2);
    st->s = cr_num(s, len, i + 6, 2);
    if (st->mi < 0 || st->s < 0)
        return 0;
    i += 8;
    if (i + 1 < len && (s[i] == '.' || s[i] == ',') && cr_isdigit(s[i + 1])) {
        int scale = 100;
        for (i++; i < len && cr_isdigit(s[i]); i++, scale /= 10)
            st->ms += (s[i] - '0') * scale;
    } else if (i + 3 < len && s[i] == ':' && cr_num(s, len, i + 1, 3) >= 0 &&
               (i + 4 == len || !cr_isdigit(s[i + 4]))) {
        st->ms = cr_num(s, len, i + 1, 3); /* H3C "17:28:50:524" */
        i += 4;
    }
    i = cr_zone(s, len, i, st);
    if (!st->year && i + 5 <= len && s[i] == ' ' && (st->year = cr_year_token(s, len, i + 1)))
        i += 5; /* H3C, detect.YearAfterTimestamp: "17:28:50 2004" */
    if (i + 4 < len && s[i] == ' ' && s[i + 4] == ':' &&
        (memcmp(s + i + 1, "UTC", 3) == 0 || memcmp(s + i + 1, "GMT", 3) == 0)) {
        st->tz_set = 1; /* NX-OS "... 14:42:46 UTC:" */
        st->tz_min = 0;
        i += 4;
    }
    if (i < len && s[i] == ':')
        i++;
    if (i < len && s[i] != ' ')
        return 0; /* "Mar 1 00:00:00x" is not a stamp */
    return i;
}

static int64_t cr_stamp_ms(const struct cr_parser *p, const struct cr_stamp *st)
{
    if (st->is_abs)
        return st->abs_ms;
    int tz = st->tz_set ? st->tz_min : p->opts.tz_offset_min;
    if (st->year) {
        int64_t t = cr_time_from_civil(st->year, st->mon, st->day, st->h, st->mi, st->s, st->ms);
        return t == -1 ? CR_TIME_NONE : t - (int64_t)tz * 60000;
    }
    int64_t t = cr_parser_infer_year(p, st->mon, st->day, st->h, st->mi, st->s, st->ms, tz);
    return t == -1 ? CR_TIME_NONE : t;
}

/* Cisco "123: " sequence number; returns the position after it or 0. */
static size_t cr_seq(const char *s, size_t len, size_t i)
{
    size_t j = i;
    while (j < len && cr_isdigit(s[j]))
        j++;
    if (j == i || j - i > 10 || j + 1 >= len || s[j] != ':' || s[j + 1] != ' ')
        return 0;
    return cr_skip_sp(s, len, j + 1);
}

static inline int cr_host_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || cr_isdigit((char)c) || c == '.' ||
           c == '-' || c == '_' || c == ':' || c == '/' || c == '@';
}

static int cr_host_span(const char *s, size_t a, size_t b)
{
    for (size_t k = a; k < b; k++)
        if (!cr_host_char((unsigned char)s[k]))
            return 0;
    return 1;
}

/* Length of a host-name token at s[i..] or 0 if the token is not one. */
static size_t cr_host_token(const char *s, size_t len, size_t i)
{
    size_t j = i;
    while (j < len && s[j] != ' ') {
        if (!cr_host_char((unsigned char)s[j]))
            return 0;
        j++;
    }
    if (j == i || s[j - 1] == ':')
        return 0;
    return j - i;
}

/* Vendor codes: Cisco %FAC-SEV-MNEMONIC:, Huawei %%01MOD/L/BRIEF(l)[n]:,
 * H3C %%10MOD/L/MNEMONIC(l): and %10MOD/L/MNEMONIC:. Returns the position
 * of the message, or 0 if s[i..] is not such a code. */
static size_t cr_vendor(const char *s, size_t len, size_t i, struct cr_event *ev)
{
    size_t j = i + 1;
    int dbl = j < len && s[j] == '%';
    j += dbl;
    if (cr_num(s, len, j, 2) >= 0) {
        /* Huawei / H3C: vvMODULE/LEVEL/BRIEF */
        int ver = cr_num(s, len, j, 2);
        size_t code = j + 2, k = code;
        while (k < len && s[k] != '/' && s[k] != ' ' && s[k] != ':')
            k++;
        if (k == code || k + 2 >= len || s[k] != '/' || !cr_isdigit(s[k + 1]) || s[k + 2] != '/')
            return 0;
        size_t mod_end = k, lvl = k + 1;
        k += 3;
        size_t brief = k;
        while (k < len && s[k] != '(' && s[k] != '[' && s[k] != ':' && s[k] != ' ')
            k++;
        if (k == brief)
            return 0;
        size_t code_end = k;
        if (k < len && s[k] == '(') {
            while (k < len && s[k] != ')')
                k++;
            k++;
        }
        if (k < len && s[k] == '[') {
            while (k < len && s[k] != ']')
                k++;
            k++;
        }
        if (k >= len || s[k] != ':')
            return 0;
        cr_event_set(ev, CR_F_EVENT_TYPE, s + code, code_end - code);
        cr_event_set(ev, CR_F_SEVERITY_VENDOR, s + lvl, 1);
        cr_event_set(ev, CR_F_PROGRAM, s + code, mod_end - code);
        if (ver == 10 || !dbl)
            cr_event_set(ev, CR_F_SOURCE_PRODUCT, "h3c", 3);
        else
            cr_event_set(ev, CR_F_SOURCE_PRODUCT, "huawei", 6);
        return k + 1;
    }
    if (dbl)
        return 0;
    /* Cisco: FACILITY-SEVERITY-MNEMONIC */
    size_t fac = j, k = j;
    while (k < len && ((s[k] >= 'A' && s[k] <= 'Z') || cr_isdigit(s[k]) || s[k] == '_'))
        k++;
    if (k == fac || k + 3 >= len || s[k] != '-' || !cr_isdigit(s[k + 1]) || s[k + 2] != '-')
        return 0;
    size_t fac_end = k, sev = k + 1;
    k += 3;
    size_t mn = k;
    while (k < len && s[k] != ':' && s[k] != ' ')
        k++;
    if (k == mn || k >= len || s[k] != ':')
        return 0;
    cr_event_set(ev, CR_F_EVENT_TYPE, s + fac, k - fac);
    cr_event_set(ev, CR_F_SEVERITY_VENDOR, s + sev, 1);
    cr_event_set(ev, CR_F_PROGRAM, s + fac, fac_end - fac);
    cr_event_set(ev, CR_F_SOURCE_PRODUCT, "cisco", 5);
    return k + 1;
}

/* TAG: program[pid]: or program: or a bare word. Returns the position of
 * the message (one separating space removed). */
static size_t cr_tag(const char *s, size_t len, size_t i, struct cr_event *ev)
{
    size_t k = i;
    while (k < len && s[k] != ' ' && s[k] != ':' && s[k] != '[')
        k++;
    size_t prog_end = k;
    if (k < len && s[k] == '[') {
        size_t pid = k + 1, q = pid;
        while (q < len && s[q] != ']' && s[q] != ' ')
            q++;
        if (q < len && s[q] == ']') {
            if (q > pid)
                cr_event_set(ev, CR_F_PID, s + pid, q - pid);
            k = q + 1;
        } else {
            /* "[" without "]": the bracket is part of the program name */
            while (k < len && s[k] != ' ' && s[k] != ':')
                k++;
            prog_end = k;
        }
    }
    if (prog_end > i)
        cr_event_set(ev, CR_F_PROGRAM, s + i, prog_end - i);
    if (k < len && s[k] == ':')
        k++;
    else
        while (k < len && s[k] != ' ')
            k++; /* "prog[1]x" - keep the odd rest inside the tag */
    if (k < len && s[k] == ' ')
        k++;
    return k;
}

enum cr_parse_result cr_parse_rfc3164(struct cr_parser *p, const char *rec, size_t len,
                                      int64_t fallback_ms, struct cr_event *ev)
{
    cr_parse_begin(ev, rec, len, CR_FMT_RFC3164);
    size_t i = 0;
    while (i < len && (rec[i] == ' ' || rec[i] == '\t'))
        i++;
    if (i == len) {
        cr_event_no_time(ev, fallback_ms);
        return cr_parse_fail(ev, rec, len);
    }
    int pri;
    size_t n = cr_pri(rec + i, len - i, &pri);
    if (n) {
        ev->facility = (int8_t)(pri >> 3);
        ev->severity = (int8_t)(pri & 7);
        i = cr_skip_sp(rec, len, i + n);
    }
    size_t body = i; /* what a headerless line's message is */

    struct cr_stamp st;
    int have_stamp = 0;
    size_t j = cr_stamp(p, rec, len, i, &st);
    if (!j) {
        /* HDFS / Spark application logs: their own stamps, then a level */
        int64_t ams;
        size_t a = cr_app_log_stamp(p, rec, len, i, &ams, ev);
        if (a && cr_app_log_fields(rec, len, cr_skip_sp(rec, len, a), ev)) {
            ev->time_ms = ams;
            return CR_PARSE_OK;
        }
    }
    if (!j) {
        /* Cisco without relay header: "52: *Mar  1 00:00:00.123: %..." */
        size_t k = cr_seq(rec, len, i);
        if (k && (j = cr_stamp(p, rec, len, k, &st)) == 0)
            i = k; /* "52: %LINK-..." : no clock at all */
    }
    if (!j) {
        /* NX-OS: "sw01.pdx01: 2017 Jul 28 14:42:46 UTC: %..." */
        size_t h = 0;
        while (i + h < len && rec[i + h] != ' ')
            h++;
        if (h > 1 && rec[i + h - 1] == ':' && cr_host_span(rec, i, i + h - 1) &&
            (j = cr_stamp(p, rec, len, cr_skip_sp(rec, len, i + h), &st)) != 0)
            cr_event_set(ev, CR_F_HOST, rec + i, h - 1);
    }
    if (j) {
        have_stamp = 1;
        i = cr_skip_sp(rec, len, j);
        /* "2015-10-18 18:01:47,978 INFO [main] ...": a level, not a host */
        if (st.is_abs && !cr_event_has(ev, CR_F_HOST) && cr_app_log_fields(rec, len, i, ev)) {
            ev->time_ms = st.abs_ms;
            return CR_PARSE_OK;
        }
        if (!cr_event_has(ev, CR_F_HOST) && i < len && rec[i] != '%') {
            size_t h = cr_host_token(rec, len, i);
            if (h) {
                cr_event_set(ev, CR_F_HOST, rec + i, h);
                i = cr_skip_sp(rec, len, i + h);
            }
        }
    }

    /* Cisco ASA with timestamps on: "host : %ASA-6-302013: ..." */
    if (i + 2 < len && rec[i] == ':' && rec[i + 1] == ' ' && rec[i + 2] == '%')
        i += 2;
    /* Cisco after a relay header: "host 52: *Mar  1 00:00:00.123: %LINK-..." */
    size_t v = i, k;
    struct cr_stamp dev;
    if ((k = cr_seq(rec, len, v)) != 0)
        v = k;
    if ((k = cr_stamp(p, rec, len, v, &dev)) != 0) {
        v = cr_skip_sp(rec, len, k);
        if (!have_stamp) {
            st = dev;
            have_stamp = 1;
        }
    }
    size_t msg = 0;
    if (v < len && rec[v] == '%')
        msg = cr_vendor(rec, len, v, ev);
    if (msg) {
        if (msg < len && rec[msg] == ' ')
            msg++;
    } else if (have_stamp) {
        msg = i < len ? cr_tag(rec, len, i, ev) : len;
    } else {
        /* Headerless: the whole body is the message, the clock is ours. */
        cr_event_set(ev, CR_F_MSG, rec + body, len - body);
        ev->flags |= CR_EV_HEADERLESS;
        cr_event_no_time(ev, fallback_ms);
        return CR_PARSE_FALLBACK;
    }
    cr_event_set(ev, CR_F_MSG, rec + msg, len - msg);
    if (have_stamp)
        ev->time_ms = cr_stamp_ms(p, &st);
    if (ev->time_ms == CR_TIME_NONE) {
        cr_event_no_time(ev, fallback_ms);
        return CR_PARSE_FALLBACK;
    }
    return CR_PARSE_OK;
}
