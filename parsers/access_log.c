/*
 * access_log.c - fields of a web server access-log line (NCSA Common and
 * Combined Log Format, as nginx and Apache write by default):
 *
 *   198.51.100.7 - alice [02/Mar/2026:12:00:00 +0000] "GET /p?id=1 HTTP/1.1" 200 512 "ref" "ua"
 *
 * Such lines arrive wrapped in syslog (program nginx, apache2, httpd) or
 * bare (a replayed access.log, which the RFC 3164 parser sees as
 * headerless). Either way the message is structured, and taking its fields
 * by parsing is both exact and cheap, where a rule regex anchored at the
 * start of every message (to capture the client address) would make
 * Hyperscan run an automaton over every line of every source. With these
 * fields set, web rules match the request URI (object_id), a field only
 * access-log events have, so their patterns cost nothing on other lines.
 *
 * Also Apache's vhost_combined (a `host:port` before the client) and a
 * one-digit day in the stamp.
 *
 * Fields: src_ip (client), user (unless "-"), action (method), object_id
 * (request target), protocol, reason (status code), outcome (success below
 * 400, failure from 400), user_agent, event_type "http_request". The
 * bracketed time is used only when the record had none of its own
 * (headerless lines): a syslog header's time is the relay's view and is kept.
 *
 * Threading: pure function over the event's own bytes.
 */
#include "parsers/parser_int.h"

#include "base/timeparse.h"

static int is_ip_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '.' ||
           c == ':';
}

/* Index of the next space at or after i, or len. */
static size_t to_space(const char *s, size_t i, size_t len)
{
    while (i < len && s[i] != ' ')
        i++;
    return i;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* "02/Mar/2026:12:00:00 +0000" (26 bytes) -> ms; -1 if malformed. A
 * one-digit day ("2/Mar/...", written by hand-made formats) is read too. */
static int64_t clf_time(const char *s, size_t len)
{
    int d, y, h, mi, sec, zh, zm;
    char two[26];
    if (len == 25 && s[1] == '/') {
        two[0] = '0';
        memcpy(two + 1, s, 25);
        s = two;
        len = 26;
    }
    if (len < 26 || s[2] != '/' || s[6] != '/' || s[11] != ':' || s[14] != ':' || s[17] != ':' ||
        s[20] != ' ' || (s[21] != '+' && s[21] != '-'))
        return -1;
    int mon = cr_month_from_abbrev(s + 3);
    if (!mon || digits(s, 2, &d) || digits(s + 7, 4, &y) || digits(s + 12, 2, &h) ||
        digits(s + 15, 2, &mi) || digits(s + 18, 2, &sec) || digits(s + 22, 2, &zh) ||
        digits(s + 24, 2, &zm))
        return -1;
    int64_t t = cr_time_from_civil(y, mon, d, h, mi, sec, 0);
    if (t < 0)
        return -1;
    int64_t off = ((int64_t)zh * 60 + zm) * 60000;
    return s[21] == '+' ? t - off : t + off;
}

static int clf_fields(struct cr_event *ev, const char *s, size_t len)
{
    /* client address: at least 2 address characters, then a space */
    size_t i = 0;
    while (i < len && is_ip_char(s[i]))
        i++;
    if (i < 2 || i >= len || s[i] != ' ' || (!memchr(s, '.', i) && !memchr(s, ':', i)))
        return 0;
    size_t ip_end = i;
    size_t ident_end = to_space(s, ip_end + 1, len);
    if (ident_end >= len)
        return 0;
    size_t user_start = ident_end + 1, user_end = to_space(s, user_start, len);
    if (user_end + 1 >= len || s[user_end + 1] != '[')
        return 0;
    size_t t_start = user_end + 2;
    const char *close = memchr(s + t_start, ']', len - t_start);
    if (!close)
        return 0;
    size_t t_end = (size_t)(close - s);
    if (t_end + 2 >= len || s[t_end + 1] != ' ' || s[t_end + 2] != '"')
        return 0;
    size_t req = t_end + 3;
    const char *qend = memchr(s + req, '"', len - req);
    if (!qend)
        return 0;
    size_t req_end = (size_t)(qend - s);
    int64_t t = clf_time(s + t_start, t_end - t_start);
    if (t < 0)
        return 0;

    cr_event_set(ev, CR_F_SRC_IP, s, ip_end);
    if (!(user_end - user_start == 1 && s[user_start] == '-'))
        cr_event_set(ev, CR_F_USER, s + user_start, user_end - user_start);
    /* request line: METHOD SP target SP protocol (a malformed request line,
     * common in attacks, keeps whatever parts it has) */
    size_t m_end = to_space(s, req, req_end);
    cr_event_set(ev, CR_F_ACTION, s + req, m_end - req);
    if (m_end < req_end) {
        size_t u_start = m_end + 1;
        size_t u_end = req_end;
        /* the protocol is the last token if it starts with HTTP/ */
        for (size_t k = req_end; k > u_start; k--) {
            if (s[k - 1] == ' ') {
                if (req_end - k >= 5 && memcmp(s + k, "HTTP/", 5) == 0) {
                    u_end = k - 1;
                    cr_event_set(ev, CR_F_PROTOCOL, s + k, req_end - k);
                }
                break;
            }
        }
        cr_event_set(ev, CR_F_OBJECT_ID, s + u_start, u_end - u_start);
    }
    /* status */
    size_t st = req_end + 2;
    if (req_end + 1 < len && s[req_end + 1] == ' ' && st + 3 <= len) {
        int code;
        if (digits(s + st, 3, &code) == 0) {
            cr_event_set(ev, CR_F_REASON, s + st, 3);
            static const char ok[] = "success", fail[] = "failure";
            if (code < 400)
                cr_event_set(ev, CR_F_OUTCOME, ok, sizeof ok - 1);
            else
                cr_event_set(ev, CR_F_OUTCOME, fail, sizeof fail - 1);
        }
    }
    /* user agent: the last quoted string of a combined-format line */
    if (len > req_end + 2 && s[len - 1] == '"') {
        size_t k = len - 1;
        while (k > req_end + 1 && s[k - 1] != '"')
            k--;
        if (k > req_end + 1 && k - 1 > req_end + 1)
            cr_event_set(ev, CR_F_USER_AGENT, s + k, len - 1 - k);
    }
    static const char et[] = "http_request";
    if (!cr_event_has(ev, CR_F_EVENT_TYPE))
        cr_event_set(ev, CR_F_EVENT_TYPE, et, sizeof et - 1);
    if (ev->flags & CR_EV_NO_TIME) {
        ev->time_ms = t;
        ev->flags &= ~(uint32_t)CR_EV_NO_TIME;
    }
    return 1;
}

/* Apache's vhost_combined (its other_vhosts_access.log) puts `%v:%p`, the
 * virtual host and port, before the client: "www.example.com:80 1.2.3.4 - -
 * [...]". Such a first token is skipped when the rest parses. */
static size_t vhost_prefix(const char *s, size_t len)
{
    size_t i = 0, colon = 0;
    int alpha = 0;
    while (i < len && s[i] != ' ') {
        if (s[i] == ':')
            colon = i;
        else if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-')
            alpha = 1;
        i++;
    }
    if (i >= len || colon == 0 || i - colon < 2 || i - colon > 6)
        return 0;
    for (size_t k = colon + 1; k < i; k++)
        if (s[k] < '0' || s[k] > '9')
            return 0;
    /* "host:port", or an IPv4 address and port; not an IPv6 client */
    if (!alpha && memchr(s, ':', colon) != NULL)
        return 0;
    return i + 1;
}

int cr_access_log_fields(struct cr_event *ev)
{
    if (!cr_event_has(ev, CR_F_MSG))
        return 0;
    const char *s = ev->f[CR_F_MSG].p;
    size_t len = ev->f[CR_F_MSG].len;
    if (clf_fields(ev, s, len))
        return 1;
    size_t v = vhost_prefix(s, len);
    return v > 0 && clf_fields(ev, s + v, len - v);
}
