/*
 * syslog_5424.c - RFC 5424 syslog.
 *
 * Owns cr_parse_rfc5424(). The format is strict enough to parse in one
 * left-to-right pass:
 *
 *   <PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD [SP MSG]
 *
 * Header fields are space-separated tokens; NILVALUE "-" leaves the field
 * absent. STRUCTURED-DATA is kept verbatim (rules match inside it), but it
 * must be walked element by element to find where it ends: inside a quoted
 * PARAM-VALUE, '\' escapes the next byte ('"', '\' and ']' must be
 * escaped), so a ']' inside a value does not close the element. A UTF-8 BOM
 * at the start of MSG is dropped (RFC 5424 6.4 puts it there to say the
 * message is UTF-8; it is not part of the text anyone searches).
 *
 * A record whose header breaks off keeps what was parsed (PRI, host...) but
 * is flagged PARSE_ERROR with msg = raw, so nothing is lost.
 */
#include "parsers/parser_int.h"

#include "base/timeparse.h"

/* Next space-delimited token from *i; returns its length (0 at the end). */
static size_t cr_token(const char *s, size_t len, size_t *i, const char **tok)
{
    size_t a = *i, b = a;
    while (b < len && s[b] != ' ')
        b++;
    *tok = s + a;
    *i = b < len ? b + 1 : b;
    return b - a;
}

static int cr_header_field(struct cr_event *ev, unsigned field, const char *s, size_t len,
                           size_t *i)
{
    const char *tok;
    if (*i >= len)
        return -1;
    size_t n = cr_token(s, len, i, &tok);
    if (n == 0)
        return -1; /* two spaces: a missing field */
    if (!(n == 1 && tok[0] == '-'))
        cr_event_set(ev, field, tok, n);
    return 0;
}

/* End of the SD-ELEMENTs starting at s[i] == '[', or 0 if unterminated. */
static size_t cr_sd_end(const char *s, size_t len, size_t i)
{
    while (i < len && s[i] == '[') {
        i++;
        int quoted = 0;
        for (;;) {
            if (i >= len)
                return 0;
            char c = s[i];
            if (quoted) {
                if (c == '\\')
                    i++; /* skip the escaped byte, whatever it is */
                else if (c == '"')
                    quoted = 0;
            } else if (c == '"') {
                quoted = 1;
            } else if (c == ']') {
                i++;
                break;
            }
            i++;
        }
    }
    return i;
}

enum cr_parse_result cr_parse_rfc5424(struct cr_parser *p, const char *rec, size_t len,
                                      int64_t fallback_ms, struct cr_event *ev)
{
    cr_parse_begin(ev, rec, len, CR_FMT_RFC5424);
    cr_event_no_time(ev, fallback_ms);
    size_t i = 0;
    while (i < len && rec[i] == ' ')
        i++;
    /* PRI */
    if (i >= len || rec[i] != '<')
        return cr_parse_fail(ev, rec, len);
    int pri = 0;
    size_t d = ++i;
    while (i < len && i - d < 3 && (unsigned)(rec[i] - '0') <= 9)
        pri = pri * 10 + (rec[i++] - '0');
    if (i == d || i >= len || rec[i] != '>' || pri > 191)
        return cr_parse_fail(ev, rec, len);
    ev->facility = (int8_t)(pri >> 3);
    ev->severity = (int8_t)(pri & 7);
    i++;
    /* VERSION: only 1 exists */
    if (i + 1 >= len || rec[i] != '1' || rec[i + 1] != ' ')
        return cr_parse_fail(ev, rec, len);
    i += 2;
    /* TIMESTAMP */
    const char *tok;
    size_t n = cr_token(rec, len, &i, &tok);
    if (n == 0)
        return cr_parse_fail(ev, rec, len);
    if (!(n == 1 && tok[0] == '-')) {
        int64_t t;
        if (cr_time_parse_rfc3339(tok, n, p->opts.tz_offset_min, &t) == n) {
            ev->time_ms = t;
            ev->flags &= ~(uint32_t)CR_EV_NO_TIME;
        }
        /* an unreadable stamp leaves the fallback and NO_TIME in place */
    }
    if (cr_header_field(ev, CR_F_HOST, rec, len, &i) < 0 ||
        cr_header_field(ev, CR_F_PROGRAM, rec, len, &i) < 0 ||
        cr_header_field(ev, CR_F_PID, rec, len, &i) < 0 ||
        cr_header_field(ev, CR_F_MSGID, rec, len, &i) < 0)
        return cr_parse_fail(ev, rec, len);
    /* STRUCTURED-DATA */
    if (i >= len)
        return cr_parse_fail(ev, rec, len);
    if (rec[i] == '-') {
        i++;
    } else if (rec[i] == '[') {
        size_t e = cr_sd_end(rec, len, i);
        if (e == 0)
            return cr_parse_fail(ev, rec, len);
        cr_event_set(ev, CR_F_STRUCTURED_DATA, rec + i, e - i);
        i = e;
    } else {
        return cr_parse_fail(ev, rec, len);
    }
    /* MSG */
    if (i < len && rec[i] == ' ')
        i++;
    else if (i < len)
        return cr_parse_fail(ev, rec, len); /* "[a]x": SD not followed by SP */
    if (i + 3 <= len && (unsigned char)rec[i] == 0xEF && (unsigned char)rec[i + 1] == 0xBB &&
        (unsigned char)rec[i + 2] == 0xBF)
        i += 3;
    cr_event_set(ev, CR_F_MSG, rec + i, len - i);
    return (ev->flags & CR_EV_NO_TIME) ? CR_PARSE_FALLBACK : CR_PARSE_OK;
}
