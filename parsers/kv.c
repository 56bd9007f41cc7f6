/*
 * kv.c - key=value messages: auditd records and other `k=v k="v"` payloads.
 *
 * Owns the scan that turns a syslog message (or a bare line the RFC 3164
 * parser took as headerless) of the form `key=value key="quoted value"`
 * into rule-requested extra fields (parser.h, extra_names): auditd's
 * `type=EXECVE msg=audit(1700000000.123:4567): argc=3 a0="curl" a1=2D73`,
 * also as log_format=ENRICHED (a 0x1d byte before the upper-case
 * interpreted keys: SYSCALL=execve AUID="root"), and other vendors'
 * key=value syslog. It runs only when the ruleset names extra fields and
 * the message's first token is `word=`, so plain syslog costs one test.
 *
 * Values: "..." is taken verbatim up to the closing quote (auditd does not
 * escape inside quotes; a missing closing quote takes the rest of the
 * message); otherwise up to the next space. In an auditd record (first
 * key `type`, or `node` then `type`) an unquoted value of the untrusted-
 * string keys (aN, proctitle, exe, comm, cwd, name, key, ...) that is an
 * even run of hex digits is hex-encoded text (auditd's rule for strings
 * with spaces, quotes or non-ASCII bytes) and is decoded into the parser's
 * kv buffer; the NULs that separate proctitle's argv become spaces. When
 * the buffer is full the hex stays as it is. Nothing is allocated.
 *
 * A bare auditd line has no syslog header: its time is msg=audit(S.MS:N).
 * A FortiGate record (date=, devid=, logid=) also fills the normalized
 * fields FortiOS names itself: action, user, logid as event_type, devname
 * as host when the syslog header gave none, source_product fortigate.
 */
#include "parsers/parser_int.h"

#include <string.h>

static int cr_kv_keych(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

static int cr_kv_sep(char c) { return c == ' ' || c == '\t' || c == '\x1d' || c == ','; }

/* Does msg start with `key=`? The hot-path test, a few bytes at most. */
static int cr_kv_looks(const char *m, size_t n)
{
    size_t i = 0;
    if (n < 4 || !((m[0] >= 'a' && m[0] <= 'z') || (m[0] >= 'A' && m[0] <= 'Z')))
        return 0;
    while (i < n && i < 40 && cr_kv_keych(m[i]))
        i++;
    return i < n && m[i] == '=';
}

/* Keys whose unquoted values auditd hex-encodes (audit_log_untrustedstring). */
static int cr_kv_hexkey(const char *k, size_t n)
{
    if (n >= 2 && k[0] == 'a' && k[1] >= '0' && k[1] <= '9') {
        for (size_t i = 1; i < n; i++)
            if ((k[i] < '0' || k[i] > '9') && k[i] != '[' && k[i] != ']')
                return 0;
        return 1;
    }
#define K(s) (n == sizeof s - 1 && memcmp(k, s, n) == 0)
    return K("proctitle") || K("exe") || K("comm") || K("cwd") || K("name") || K("key") ||
           K("path") || K("cmd") || K("old-comm") || K("root_dir") || K("data");
#undef K
}

static int cr_kv_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decode hex v into the kv buffer; NULL if it is not hex or does not fit. */
static const char *cr_kv_unhex(struct cr_parser *p, const char *v, size_t n, size_t *out)
{
    if (n < 2 || (n & 1) || p->kv_used + n / 2 > sizeof p->kvbuf)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (cr_kv_hexval(v[i]) < 0)
            return NULL;
    char *d = p->kvbuf + p->kv_used;
    size_t m = n / 2;
    for (size_t i = 0; i < m; i++) {
        char c = (char)(cr_kv_hexval(v[2 * i]) << 4 | cr_kv_hexval(v[2 * i + 1]));
        d[i] = c == 0 ? ' ' : c;
    }
    while (m > 0 && d[m - 1] == ' ' && v[n - 1] == '0' && v[n - 2] == '0')
        m--; /* a trailing NUL of proctitle */
    p->kv_used += n / 2;
    *out = m;
    return d;
}

/* msg=audit(1700000000.123:4567) -> ms; -1 if absent or malformed. */
static int64_t cr_kv_audit_time(const char *v, size_t n)
{
    static const char pre[] = "audit(";
    if (n < sizeof pre || memcmp(v, pre, sizeof pre - 1) != 0)
        return -1;
    size_t i = sizeof pre - 1, d = i;
    int64_t s = 0;
    while (i < n && i - d < 12 && v[i] >= '0' && v[i] <= '9')
        s = s * 10 + (v[i++] - '0');
    if (i == d || i + 4 > n || v[i] != '.')
        return -1;
    int ms = 0, k = 0;
    for (i++; i < n && k < 3 && v[i] >= '0' && v[i] <= '9'; k++)
        ms = ms * 10 + (v[i++] - '0');
    if (k != 3 || i >= n || v[i] != ':')
        return -1;
    return s * 1000 + ms;
}

enum cr_parse_result cr_kv_fields(struct cr_parser *p, struct cr_event *ev, enum cr_parse_result r)
{
    if (!p->opts.extra_names || p->opts.n_extra_names <= CR_F__BUILTIN ||
        !cr_event_has(ev, CR_F_MSG))
        return r;
    const char *m = ev->f[CR_F_MSG].p;
    size_t n = ev->f[CR_F_MSG].len, i = 0;
    if (!cr_kv_looks(m, n))
        return r;
    p->kv_used = 0;
    int audit = 0, forti = 0, npairs = 0;
    /* FortiGate: date= time= devname= devid=FG... logid= (FortiOS Log Reference) */
    forti = n > 5 && memcmp(m, "date=", 5) == 0 && memmem(m, n, " devid=", 7) &&
            memmem(m, n, " logid=", 7);
    while (i < n) {
        while (i < n && cr_kv_sep(m[i]))
            i++;
        size_t k0 = i;
        while (i < n && cr_kv_keych(m[i]))
            i++;
        size_t kn = i - k0;
        if (i >= n || m[i] != '=' || kn == 0) {
            /* not a pair: skip the word */
            while (i < n && !cr_kv_sep(m[i]))
                i++;
            continue;
        }
        i++;
        const char *v;
        size_t vn;
        int quoted = 0;
        if (i < n && (m[i] == '"' || m[i] == '\'')) {
            char q = m[i++];
            v = m + i;
            const char *e = memchr(v, q, n - i);
            vn = e ? (size_t)(e - v) : n - i;
            i += vn + (e != NULL);
            quoted = 1;
        } else {
            v = m + i;
            while (i < n && !cr_kv_sep(m[i]))
                i++;
            vn = (size_t)(m + i - v);
        }
        const char *key = m + k0;
        if (npairs == 0 && kn == 4 && memcmp(key, "type", 4) == 0)
            audit = 1;
        if (npairs == 1 && kn == 4 && memcmp(key, "type", 4) == 0 && m[0] == 'n')
            audit = 1; /* node=host type=... */
        npairs++;
        if (audit && kn == 3 && memcmp(key, "msg", 3) == 0) {
            int64_t t = cr_kv_audit_time(v, vn);
            if (t >= 0 && (ev->flags & CR_EV_NO_TIME)) {
                ev->time_ms = t;
                ev->flags &= ~(uint32_t)CR_EV_NO_TIME;
            }
            /* "audit(...):" ends with the colon; the fields follow */
            continue;
        }
        if (audit && kn == 4 && memcmp(key, "type", 4) == 0 && !cr_event_has(ev, CR_F_EVENT_TYPE))
            cr_event_set(ev, CR_F_EVENT_TYPE, v, vn);
        if (forti) {
            /* the normalized fields FortiOS names itself */
            if (kn == 6 && memcmp(key, "action", 6) == 0 && !cr_event_has(ev, CR_F_ACTION))
                cr_event_set(ev, CR_F_ACTION, v, vn);
            else if (kn == 4 && memcmp(key, "user", 4) == 0 && !cr_event_has(ev, CR_F_USER))
                cr_event_set(ev, CR_F_USER, v, vn);
            else if (kn == 5 && memcmp(key, "logid", 5) == 0 && !cr_event_has(ev, CR_F_EVENT_TYPE))
                cr_event_set(ev, CR_F_EVENT_TYPE, v, vn);
            else if (kn == 7 && memcmp(key, "devname", 7) == 0 && !cr_event_has(ev, CR_F_HOST))
                cr_event_set(ev, CR_F_HOST, v, vn);
        }
        int id = cr_parser_extra_field(p, key, kn);
        if (id < 0 || cr_event_has(ev, (unsigned)id))
            continue; /* the first occurrence of a key counts */
        if (audit && !quoted && cr_kv_hexkey(key, kn)) {
            size_t dn;
            const char *d = cr_kv_unhex(p, v, vn, &dn);
            if (d) {
                if (!cr_utf8_valid(d, dn))
                    ev->flags |= CR_EV_BAD_UTF8;
                v = d;
                vn = dn;
            }
        }
        cr_event_set(ev, (unsigned)id, v, vn);
    }
    if (forti && !cr_event_has(ev, CR_F_SOURCE_PRODUCT))
        cr_event_set(ev, CR_F_SOURCE_PRODUCT, "fortigate", 9);
    if (audit) {
        if (!cr_event_has(ev, CR_F_SOURCE_PRODUCT))
            cr_event_set(ev, CR_F_SOURCE_PRODUCT, "auditd", 6);
        if ((ev->flags & CR_EV_HEADERLESS) && !(ev->flags & CR_EV_NO_TIME)) {
            /* a bare audit.log line: a complete, known format */
            ev->flags &= ~(uint32_t)CR_EV_HEADERLESS;
            if (r == CR_PARSE_FALLBACK)
                r = CR_PARSE_OK;
        }
    }
    return r;
}
