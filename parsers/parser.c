/*
 * parser.c - the parser object, format dispatch and byte-level checks.
 *
 * Owns cr_parser_new/free (one per worker thread), cr_parse (pick the
 * format: configured, or sniffed per record for CR_FMT_AUTO), the UTF-8 /
 * NUL scan every record gets, and the event-time policy for stamps that
 * lack a year. The format parsers proper live in syslog_3164.c,
 * syslog_5424.c and json_event.c; payloads inside a syslog message in
 * kv.c (key=value) and event_xml.c (<Event> XML).
 *
 * Sniffing looks at one or a few bytes, never at the whole record: '{'
 * means JSON, "<PRI>1 " means RFC 5424, anything else goes to the RFC 3164
 * parser, which itself copes with vendor variants and headerless lines.
 *
 * The byte scan is on the hot path for every syslog line, so it reads
 * eight bytes at a time and only drops to the byte-wise UTF-8 state machine
 * when a word has a high bit set or a zero byte.
 */
#include "parsers/parser_int.h"

#include "base/timeparse.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#define CR_HI_BITS 0x8080808080808080ull
#define CR_LO_BITS 0x0101010101010101ull

static int cr_year_of(int64_t ms)
{
    /* Civil year by counting from an estimate; the loop runs at most twice. */
    int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
    int y = (int)(1970 + days / 365);
    while (cr_days_from_civil(y, 1, 1) > days)
        y--;
    while (cr_days_from_civil(y + 1, 1, 1) <= days)
        y++;
    return y;
}

struct cr_parser *cr_parser_new(const struct cr_parse_opts *opts)
{
    struct cr_parser *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (opts)
        p->opts = *opts;
    p->reference_ms = p->opts.reference_ms;
    if (p->reference_ms == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        p->reference_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    }
    p->reference_year = cr_year_of(p->reference_ms + (int64_t)p->opts.tz_offset_min * 60000);
    p->json = cr_json_new();
    if (!p->json) {
        free(p);
        return NULL;
    }
    unsigned n = p->opts.n_extra_names < CR_MAX_FIELDS ? p->opts.n_extra_names : CR_MAX_FIELDS;
    if (p->opts.extra_names && n > CR_F__BUILTIN + CR_XNAMES_WALK_MIN) {
        uint32_t slots = 64;
        while (slots < 2 * n)
            slots *= 2;
        p->xnames = calloc(slots, sizeof *p->xnames);
        if (!p->xnames) {
            cr_parser_free(p);
            return NULL;
        }
        p->xmask = slots - 1;
        for (unsigned id = CR_F__BUILTIN; id < n; id++) {
            const char *name = p->opts.extra_names[id];
            if (!name)
                continue;
            size_t len = strlen(name);
            uint64_t h = XXH3_64bits(name, len);
            uint32_t i = (uint32_t)h & p->xmask;
            while (p->xnames[i].name &&
                   !(p->xnames[i].len == len && memcmp(p->xnames[i].name, name, len) == 0))
                i = (i + 1) & p->xmask;
            if (p->xnames[i].name)
                continue; /* the same name twice: the first id keeps it */
            p->xnames[i] = (struct cr_xname){h, name, (uint32_t)len, (uint16_t)id};
        }
    }
    return p;
}

int cr_parser_xname(const struct cr_parser *p, const char *path, size_t len)
{
    uint64_t h = XXH3_64bits(path, len);
    for (uint32_t i = (uint32_t)h & p->xmask; p->xnames[i].name; i = (i + 1) & p->xmask)
        if (p->xnames[i].hash == h && p->xnames[i].len == len &&
            memcmp(p->xnames[i].name, path, len) == 0)
            return p->xnames[i].field;
    return -1;
}

int cr_parser_extra_field(const struct cr_parser *p, const char *name, size_t len)
{
    if (p->xnames)
        return cr_parser_xname(p, name, len);
    unsigned lim = p->opts.n_extra_names < CR_MAX_FIELDS ? p->opts.n_extra_names : CR_MAX_FIELDS;
    for (unsigned id = CR_F__BUILTIN; id < lim; id++) {
        const char *x = p->opts.extra_names[id];
        if (x && strncmp(x, name, len) == 0 && x[len] == 0)
            return (int)id;
    }
    return -1;
}

void cr_parser_free(struct cr_parser *p)
{
    if (!p)
        return;
    cr_json_free(p->json);
    free(p->xnames);
    free(p);
}

void cr_parser_set_year_add(struct cr_parser *p, int32_t years) { p->year_add = years; }

void cr_parser_set_format(struct cr_parser *p, enum cr_format format) { p->opts.format = format; }

int64_t cr_parser_infer_year(const struct cr_parser *p, int mon, int day, int h, int mi, int s,
                             int ms, int tz_min)
{
    if (p->opts.year > 0) {
        int64_t t = cr_time_from_civil(p->opts.year + p->year_add, mon, day, h, mi, s, ms);
        return t == -1 ? -1 : t - (int64_t)tz_min * 60000;
    }
    /* Latest candidate year that is not more than 31 days after the
     * reference: December logs read in January land in last year, a stamp
     * a little ahead of the reference (clock skew) stays in this year. */
    const int64_t skew = 31LL * 86400000;
    for (int y = p->reference_year + 1; y >= p->reference_year - 1; y--) {
        int64_t t = cr_time_from_civil(y, mon, day, h, mi, s, ms);
        if (t == -1)
            continue;
        t -= (int64_t)tz_min * 60000;
        if (t <= p->reference_ms + skew)
            return t;
    }
    /* Feb 29 with no leap year nearby: give up rather than guess. */
    return -1;
}

void cr_parse_begin(struct cr_event *ev, const char *rec, size_t len, enum cr_format fmt)
{
    cr_event_reset(ev);
    ev->raw.p = rec;
    ev->raw.len = (uint32_t)len;
    ev->format = (uint8_t)fmt;
    /* One pass that only looks closer when a word has a high bit or a zero
     * byte: plain ASCII lines cost len/8 loads and two masks. */
    const unsigned char *s = (const unsigned char *)rec;
    size_t i = 0;
    int special = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if ((w & CR_HI_BITS) | ((w - CR_LO_BITS) & ~w & CR_HI_BITS)) {
            special = 1;
            break;
        }
    }
    for (; !special && i < len; i++)
        if (s[i] == 0 || s[i] >= 0x80)
            special = 1;
    if (!special)
        return;
    if (memchr(rec, 0, len))
        ev->flags |= CR_EV_NUL;
    if (!cr_utf8_valid(rec, len))
        ev->flags |= CR_EV_BAD_UTF8;
}

static enum cr_parse_result cr_parse_raw(const char *rec, size_t len, int64_t fallback_ms,
                                         struct cr_event *ev)
{
    cr_parse_begin(ev, rec, len, CR_FMT_RAW);
    cr_event_set(ev, CR_F_MSG, rec, len);
    cr_event_no_time(ev, fallback_ms);
    if (len == 0) {
        ev->flags |= CR_EV_PARSE_ERROR;
        return CR_PARSE_ERROR;
    }
    return CR_PARSE_OK;
}

/* "<PRI>1 " with PRI of 1-3 digits. */
static int cr_looks_5424(const char *s, size_t len)
{
    if (len < 4 || s[0] != '<')
        return 0;
    size_t i = 1;
    while (i < len && i < 4 && (unsigned)(s[i] - '0') <= 9)
        i++;
    if (i == 1 || i + 2 >= len || s[i] != '>')
        return 0;
    return s[i + 1] == '1' && s[i + 2] == ' ';
}

/* After a syslog parse: the structured payloads a message may carry. */
static enum cr_parse_result cr_msg_fields(struct cr_parser *p, struct cr_event *ev,
                                          enum cr_parse_result r)
{
    r = cr_syslog_payload(ev, r);
    if (cr_event_has(ev, CR_F_MSG) && ev->f[CR_F_MSG].len > 0 && ev->f[CR_F_MSG].p[0] == '<')
        return cr_xml_fields(p, ev, r);
    return cr_kv_fields(p, ev, r);
}

enum cr_parse_result cr_parse(struct cr_parser *p, const char *rec, size_t len, int64_t fallback_ms,
                              struct cr_event *ev)
{
    switch (p->opts.format) {
    case CR_FMT_RFC3164:
        return cr_msg_fields(p, ev, cr_parse_rfc3164(p, rec, len, fallback_ms, ev));
    case CR_FMT_RFC5424:
        return cr_msg_fields(p, ev, cr_parse_rfc5424(p, rec, len, fallback_ms, ev));
    case CR_FMT_JSON:
    case CR_FMT_CLOUDEVENTS:
        return cr_parse_json(p, rec, len, fallback_ms, ev);
    case CR_FMT_RAW:
        return cr_parse_raw(rec, len, fallback_ms, ev);
    default:
        break;
    }
    size_t i = 0;
    while (i < len && (rec[i] == ' ' || rec[i] == '\t' || rec[i] == '\r' || rec[i] == '\n'))
        i++;
    if (i < len && rec[i] == '{')
        return cr_parse_json(p, rec, len, fallback_ms, ev);
    enum cr_parse_result r = cr_looks_5424(rec + i, len - i)
                                 ? cr_parse_rfc5424(p, rec, len, fallback_ms, ev)
                                 : cr_parse_rfc3164(p, rec, len, fallback_ms, ev);
    return cr_msg_fields(p, ev, r);
}

/* rsyslog's and syslog-ng's reduction of repeats: "message repeated N
 * times: [ <message>]" stands for N records of <message>; the event gets
 * the inner message and repeat = N, so a rule counts them all. */
static void cr_syslog_repeated(struct cr_event *ev)
{
    static const char pre[] = "message repeated ";
    const char *m = ev->f[CR_F_MSG].p;
    size_t n = ev->f[CR_F_MSG].len, i = sizeof pre - 1;
    if (n < i + 10 || memcmp(m, pre, i) != 0)
        return;
    uint32_t k = 0;
    size_t d = i;
    while (i < n && i - d < 6 && m[i] >= '0' && m[i] <= '9')
        k = k * 10 + (uint32_t)(m[i++] - '0');
    static const char mid[] = " times: [";
    if (i == d || n - i < sizeof mid - 1 || memcmp(m + i, mid, sizeof mid - 1) != 0 || k < 2)
        return;
    i += sizeof mid - 1;
    if (i < n && m[i] == ' ')
        i++;
    size_t end = n;
    if (end > i && m[end - 1] == ']')
        end--;
    cr_event_set(ev, CR_F_MSG, m + i, end - i);
    ev->repeat = k < CR_EV_MAX_REPEAT ? k : CR_EV_MAX_REPEAT;
}

enum cr_parse_result cr_syslog_payload(struct cr_event *ev, enum cr_parse_result r)
{
    if (r != CR_PARSE_ERROR && cr_event_has(ev, CR_F_MSG))
        cr_syslog_repeated(ev);
    /* A message that starts like an address (or like Apache's vhost_combined
     * `host:port`) may be an access-log line; one byte, or the first token,
     * decides for every other message. */
    if (r == CR_PARSE_ERROR || !cr_event_has(ev, CR_F_MSG) || ev->f[CR_F_MSG].len < 16)
        return r;
    char c = ev->f[CR_F_MSG].p[0];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == ':'))
        return r;
    if (cr_access_log_fields(ev) && (ev->flags & CR_EV_HEADERLESS)) {
        /* a bare access log is a complete, known format, not a degraded syslog line */
        ev->flags &= ~(uint32_t)CR_EV_HEADERLESS;
        return CR_PARSE_OK;
    }
    return r;
}
