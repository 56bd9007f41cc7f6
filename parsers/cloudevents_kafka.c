/*
 * cloudevents_kafka.c - the Kafka protocol binding of CloudEvents: content
 * mode detection, and binary mode rewritten as a structured JSON envelope.
 *
 * Owns cr_cloudevents_kafka_mode(), cr_cloudevents_binary_to_json() and the
 * JSON syntax check they need. Why rewrite instead of parsing headers into
 * an event directly: one parser (json_event.c) then handles both modes, so
 * rules see the same fields either way, and what the store keeps as raw
 * evidence is a self-describing envelope rather than a bare value whose
 * attributes were in headers nobody kept.
 *
 * Shape: a bounded writer over the caller's buffer (it counts past the end
 * so a failure can say how much room was needed), a JSON string escaper, a
 * base64 encoder and a JSON validator. The validator exists because
 * json_simd.h can only check a document by parsing it into a handle's DOM,
 * and only accepts objects, while data may be any JSON value and the
 * converter has no handle and must not allocate. It is iterative with a
 * fixed bit stack, and deliberately as strict as simdjson (number ranges,
 * lone surrogates): data that simdjson would reject, embedded verbatim,
 * would make the whole envelope unparseable and lose every attribute, so
 * when in doubt the data is kept as a string instead.
 *
 * Decisions that are not spelled out by the binding:
 *  - The "ce_" prefix is matched case-sensitively; the attribute name after
 *    it is folded to lowercase for every attribute, required ones included.
 *    Extension names must come out lowercase, so ce_ID can only become "id";
 *    treating it as anything but the id attribute would write "id" twice.
 *  - Duplicate attributes are an error rather than "last header wins": the
 *    envelope would hold duplicate keys, and which value a reader picks is
 *    then up to the reader, which is no basis for evidence.
 *  - content-type wins over ce_datacontenttype (the binding defines only
 *    content-type for datacontenttype; a ce_datacontenttype next to it is
 *    dropped rather than written as a second datacontenttype).
 *  - All attributes are written as JSON strings: headers carry no types,
 *    and the JSON format accepts the string form of every attribute type.
 *  - Without a content type the data is not sniffed for JSON: the bytes
 *    are opaque by the binding, so they become a string or data_base64.
 */
#include "parsers/cloudevents_kafka.h"
#include "base/utf8.h"

#include "parsers/parser.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- helpers on byte strings --------------------------------------------- */

static int cr_ce_lower(int c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; }

/* s[0..n) starts with the ASCII literal lit, ignoring case. */
static int cr_ce_prefix_ci(const char *s, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    if (n < m)
        return 0;
    for (size_t i = 0; i < m; i++)
        if (cr_ce_lower((unsigned char)s[i]) != lit[i])
            return 0;
    return 1;
}

static int cr_ce_ows(char c) { return c == ' ' || c == '\t'; }

/* The media type of a Content-Type value: leading whitespace skipped,
 * parameters and trailing whitespace cut. */
static const char *cr_ce_media_type(const char *v, size_t n, size_t *len)
{
    while (n > 0 && cr_ce_ows(*v)) {
        v++;
        n--;
    }
    size_t m = 0;
    while (m < n && v[m] != ';')
        m++;
    while (m > 0 && cr_ce_ows(v[m - 1]))
        m--;
    *len = m;
    return v;
}

static int cr_ce_media_is(const char *t, size_t n, const char *lit)
{
    return n == strlen(lit) && cr_ce_prefix_ci(t, n, lit);
}

/* application/cloudevents* : structured mode by the binding's rule. */
static int cr_ce_ct_cloudevents(const char *v, size_t n)
{
    size_t tl;
    const char *t = cr_ce_media_type(v, n, &tl);
    return cr_ce_prefix_ci(t, tl, "application/cloudevents");
}

/* A JSON media type: application/json, text/json, or any +json suffix
 * (application/cloudevents+json included, though that never gets here). */
static int cr_ce_ct_json(const char *v, size_t n)
{
    size_t tl;
    const char *t = cr_ce_media_type(v, n, &tl);
    if (cr_ce_media_is(t, tl, "application/json") || cr_ce_media_is(t, tl, "text/json"))
        return 1;
    return tl > 5 && cr_ce_prefix_ci(t + tl - 5, 5, "+json");
}

static const char *cr_ce_val(const struct cr_kafka_header *h)
{
    return h->value ? (const char *)h->value : "";
}

static size_t cr_ce_len(const struct cr_kafka_header *h) { return h->value ? h->len : 0; }

/* At most 64 bytes of a header quoted in an error message, as an int for %.*s. */
#define CR_CE_CLIP(n) ((int)((n) > 64 ? 64 : (n)))

static int cr_ce_clip(const struct cr_kafka_header *h) { return CR_CE_CLIP(cr_ce_len(h)); }

static int cr_ce_is_attr(const struct cr_kafka_header *h)
{
    return h->name && strncmp(h->name, "ce_", 3) == 0;
}

/* Attribute name of a ce_ header equals the lowercase literal lit, after
 * folding. */
static int cr_ce_attr_is(const struct cr_kafka_header *h, const char *lit)
{
    const char *a = h->name + 3;
    size_t n = strlen(a);
    return n == strlen(lit) && cr_ce_prefix_ci(a, n, lit);
}

static int cr_ce_attr_same(const struct cr_kafka_header *x, const struct cr_kafka_header *y)
{
    const char *a = x->name + 3, *b = y->name + 3;
    for (; *a && *b; a++, b++)
        if (cr_ce_lower((unsigned char)*a) != cr_ce_lower((unsigned char)*b))
            return 0;
    return *a == *b;
}

/* ---- mode ------------------------------------------------------------------ */

enum cr_ce_mode cr_cloudevents_kafka_mode(const struct cr_kafka_header *h, size_t n)
{
    int binary = 0, seen_ct = 0;
    for (size_t i = 0; i < n; i++) {
        if (!h[i].name)
            continue;
        if (!seen_ct && strcmp(h[i].name, "content-type") == 0) {
            seen_ct = 1;
            const char *v = cr_ce_val(&h[i]);
            size_t vl = cr_ce_len(&h[i]);
            if (cr_ce_ct_cloudevents(v, vl)) {
                size_t tl;
                const char *t = cr_ce_media_type(v, vl, &tl);
                /* Structured, but only the JSON format is one corral reads. */
                return cr_ce_media_is(t, tl, "application/cloudevents+json") ? CR_CE_STRUCTURED
                                                                             : CR_CE_NONE;
            }
        } else if (strcmp(h[i].name, "ce_specversion") == 0) {
            binary = 1;
        }
    }
    return binary ? CR_CE_BINARY : CR_CE_NONE;
}

/* ---- JSON validity check --------------------------------------------------- */

static int cr_ce_hex4(const unsigned char *p, const unsigned char *end, unsigned *cp)
{
    if (end - p < 4)
        return 0;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (c | 0x20) - 'a' + 10;
        else
            return 0;
        v = v << 4 | d;
    }
    *cp = v;
    return 1;
}

/* p is just past the opening quote. Returns the position past the closing
 * quote, or NULL. Bytes >= 0x80 are not checked here: the whole text was
 * checked as UTF-8 first. */
static const unsigned char *cr_ce_skip_string(const unsigned char *p, const unsigned char *end)
{
    while (p < end) {
        unsigned char c = *p++;
        if (c == '"')
            return p;
        if (c < 0x20)
            return NULL;
        if (c != '\\')
            continue;
        if (p >= end)
            return NULL;
        c = *p++;
        if (c != 'u') {
            if (!strchr("\"\\/bfnrt", c) || c == 0)
                return NULL;
            continue;
        }
        unsigned cp, lo;
        if (!cr_ce_hex4(p, end, &cp))
            return NULL;
        p += 4;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return NULL; /* a low surrogate with no high one before it */
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            /* simdjson rejects unpaired surrogates, so must we */
            if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || !cr_ce_hex4(p + 2, end, &lo) ||
                lo < 0xDC00 || lo > 0xDFFF)
                return NULL;
            p += 6;
        }
    }
    return NULL;
}

/* Digits d[0..n) (no leading zeros) compared with the decimal literal lim
 * of the same length: <= ? */
static int cr_ce_digits_le(const unsigned char *d, size_t n, const char *lim)
{
    return memcmp(d, lim, n) <= 0;
}

static int cr_ce_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* A JSON number at p; returns the position after it, or NULL if it is not
 * one or is one simdjson refuses: an integer outside int64/uint64, or a
 * double that overflows. The overflow test is on the decimal exponent of
 * the leading significant digit, with the boundary decade (e308) judged by
 * its first 17 digits: anything up to 1.7976931348623157...e308 is below
 * the point where rounding reaches infinity. It errs towards "invalid" only
 * between there and that point (less than one ulp of DBL_MAX); such data is
 * then kept as a string, never lost. */
static const unsigned char *cr_ce_skip_number(const unsigned char *p, const unsigned char *end)
{
    int neg = 0;
    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    const unsigned char *ip = p;
    if (p < end && *p == '0') {
        p++;
    } else if (p < end && *p >= '1' && *p <= '9') {
        while (p < end && cr_ce_digit(*p))
            p++;
    } else {
        return NULL;
    }
    size_t ilen = (size_t)(p - ip);
    const unsigned char *fp = NULL;
    size_t flen = 0;
    if (p < end && *p == '.') {
        fp = ++p;
        while (p < end && cr_ce_digit(*p))
            p++;
        flen = (size_t)(p - fp);
        if (flen == 0)
            return NULL;
    }
    long exp = 0;
    int has_exp = 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        has_exp = 1;
        p++;
        int eneg = 0;
        if (p < end && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        if (p >= end || !cr_ce_digit(*p))
            return NULL;
        while (p < end && cr_ce_digit(*p)) {
            if (exp < 100000) /* saturate: anything this big is decided already */
                exp = exp * 10 + (*p - '0');
            p++;
        }
        if (eneg)
            exp = -exp;
    }

    if (!fp && !has_exp) {
        /* Integer: simdjson takes int64 and, if positive, uint64. */
        if (neg)
            return ilen < 19 || (ilen == 19 && cr_ce_digits_le(ip, 19, "9223372036854775808"))
                       ? p
                       : NULL;
        return ilen < 20 || (ilen == 20 && cr_ce_digits_le(ip, 20, "18446744073709551615")) ? p
                                                                                            : NULL;
    }

    /* Double: find the leading significant digit and its power of ten. */
    char sig[17];
    size_t ns = 0;
    long lead;
    if (!(ilen == 1 && ip[0] == '0')) {
        lead = (long)ilen - 1;
        for (size_t i = 0; i < ilen && ns < sizeof sig; i++)
            sig[ns++] = (char)ip[i];
        for (size_t i = 0; i < flen && ns < sizeof sig; i++)
            sig[ns++] = (char)fp[i];
    } else {
        size_t k = 0;
        while (k < flen && fp[k] == '0')
            k++;
        if (k == flen)
            return p; /* zero */
        lead = -(long)k - 1;
        for (size_t i = k; i < flen && ns < sizeof sig; i++)
            sig[ns++] = (char)fp[i];
    }
    if (lead > 100000)
        return NULL; /* 100k integer digits: far beyond DBL_MAX */
    long e10 = lead + exp;
    if (e10 > 308)
        return NULL;
    if (e10 == 308) {
        while (ns < sizeof sig)
            sig[ns++] = '0';
        if (memcmp(sig, "17976931348623157", sizeof sig) > 0)
            return NULL;
    }
    return p;
}

static const unsigned char *cr_ce_skip_ws(const unsigned char *p, const unsigned char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static const unsigned char *cr_ce_skip_lit(const unsigned char *p, const unsigned char *end,
                                           const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(end - p) < n || memcmp(p, lit, n) != 0)
        return NULL;
    return p + n;
}

int cr_cloudevents_json_valid(const char *buf, size_t len)
{
    if (!cr_utf8_valid(buf, len))
        return 0;
    /* Bit d of the stack is set if container d (1-based depth) is an object. */
    unsigned char stack[CR_CE_JSON_MAX_DEPTH / 8] = {0};
    unsigned depth = 0;
    const unsigned char *p = (const unsigned char *)buf, *end = p + len;

    for (;;) {
        /* Expecting a value. */
        p = cr_ce_skip_ws(p, end);
        if (p >= end)
            return 0;
        switch (*p) {
        case '{':
        case '[': {
            int obj = *p == '{';
            if (depth == CR_CE_JSON_MAX_DEPTH)
                return 0;
            if (obj)
                stack[depth / 8] |= (unsigned char)(1u << (depth % 8));
            else
                stack[depth / 8] &= (unsigned char)~(1u << (depth % 8));
            depth++;
            p = cr_ce_skip_ws(p + 1, end);
            if (p < end && *p == (obj ? '}' : ']')) {
                depth--;
                p++;
                break; /* empty container: a complete value */
            }
            if (obj) {
                if (p >= end || *p != '"' || !(p = cr_ce_skip_string(p + 1, end)))
                    return 0;
                p = cr_ce_skip_ws(p, end);
                if (p >= end || *p != ':')
                    return 0;
                p++;
            }
            continue; /* the first member's value */
        }
        case '"':
            p = cr_ce_skip_string(p + 1, end);
            break;
        case 't':
            p = cr_ce_skip_lit(p, end, "true");
            break;
        case 'f':
            p = cr_ce_skip_lit(p, end, "false");
            break;
        case 'n':
            p = cr_ce_skip_lit(p, end, "null");
            break;
        default:
            p = cr_ce_skip_number(p, end);
            break;
        }
        if (!p)
            return 0;

        /* A value is complete: close containers, or move to the next member. */
        for (;;) {
            p = cr_ce_skip_ws(p, end);
            if (depth == 0)
                return p == end;
            if (p >= end)
                return 0;
            int obj = (stack[(depth - 1) / 8] >> ((depth - 1) % 8)) & 1;
            if (*p == (obj ? '}' : ']')) {
                depth--;
                p++;
                continue;
            }
            if (*p != ',')
                return 0;
            p = cr_ce_skip_ws(p + 1, end);
            if (obj) {
                if (p >= end || *p != '"' || !(p = cr_ce_skip_string(p + 1, end)))
                    return 0;
                p = cr_ce_skip_ws(p, end);
                if (p >= end || *p != ':')
                    return 0;
                p++;
            }
            break;
        }
    }
}

/* ---- bounded writer ---------------------------------------------------------- */

/* len keeps counting once the buffer is full, so a failure can report the
 * size that was needed; nothing is written past cap. */
struct cr_ce_out {
    char *p;
    size_t cap;
    size_t len;
};

static void cr_ce_put(struct cr_ce_out *o, const void *s, size_t n)
{
    if (o->len <= o->cap && n <= o->cap - o->len)
        memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void cr_ce_puts(struct cr_ce_out *o, const char *s) { cr_ce_put(o, s, strlen(s)); }

/* s[0..n) as the inside of a JSON string (no quotes). lower folds ASCII
 * letters (attribute names). Runs of bytes that need nothing are copied in
 * one go; everything >= 0x20 other than '"' and '\\' is such a byte (the
 * input is valid UTF-8 by then). */
static void cr_ce_escape(struct cr_ce_out *o, const char *s, size_t n, int lower)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char rep[6];
        size_t rl = 2;
        rep[0] = '\\';
        switch (c) {
        case '"':
            rep[1] = '"';
            break;
        case '\\':
            rep[1] = '\\';
            break;
        case '\n':
            rep[1] = 'n';
            break;
        case '\r':
            rep[1] = 'r';
            break;
        case '\t':
            rep[1] = 't';
            break;
        case '\b':
            rep[1] = 'b';
            break;
        case '\f':
            rep[1] = 'f';
            break;
        default:
            if (c < 0x20) {
                memcpy(rep, "\\u00", 4);
                rep[4] = hex[c >> 4];
                rep[5] = hex[c & 15];
                rl = 6;
            } else if (lower && c >= 'A' && c <= 'Z') {
                rep[0] = (char)cr_ce_lower(c);
                rl = 1;
            } else {
                continue;
            }
        }
        cr_ce_put(o, s + run, i - run);
        cr_ce_put(o, rep, rl);
        run = i + 1;
    }
    cr_ce_put(o, s + run, n - run);
}

/* ,"name":"value" (the comma unless first). */
static void cr_ce_member(struct cr_ce_out *o, const char *name, size_t nl, const char *v, size_t vl)
{
    cr_ce_puts(o, o->len > 1 ? ",\"" : "\"");
    cr_ce_escape(o, name, nl, 1);
    cr_ce_puts(o, "\":\"");
    cr_ce_escape(o, v, vl, 0);
    cr_ce_put(o, "\"", 1);
}

static void cr_ce_base64(struct cr_ce_out *o, const unsigned char *s, size_t n)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char q[4];
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        q[0] = b64[v >> 18];
        q[1] = b64[(v >> 12) & 63];
        q[2] = b64[(v >> 6) & 63];
        q[3] = b64[v & 63];
        cr_ce_put(o, q, 4);
    }
    if (i < n) {
        uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);
        q[0] = b64[v >> 18];
        q[1] = b64[(v >> 12) & 63];
        q[2] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        q[3] = '=';
        cr_ce_put(o, q, 4);
    }
}

/* ---- binary -> structured ---------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static long cr_ce_fail(char *err, size_t errlen,
                                                             const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static const char *const cr_ce_required[] = {"specversion", "id", "source", "type"};
#define CR_CE_NREQ (sizeof cr_ce_required / sizeof cr_ce_required[0])

long cr_cloudevents_binary_to_json(const struct cr_kafka_header *h, size_t n, const void *value,
                                   size_t vlen, char *out, size_t outcap, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    const struct cr_kafka_header *req[CR_CE_NREQ] = {NULL};
    const struct cr_kafka_header *ct = NULL, *ce_ct = NULL;
    size_t n_attrs = 0;

    /* Pass 1: validate and find the attributes everything else depends on. */
    for (size_t i = 0; i < n; i++) {
        const struct cr_kafka_header *x = &h[i];
        if (!x->name)
            continue;
        if (strcmp(x->name, "content-type") == 0) {
            if (ct)
                return cr_ce_fail(err, errlen, "duplicate content-type header");
            ct = x;
            if (!cr_utf8_valid(cr_ce_val(x), cr_ce_len(x)))
                return cr_ce_fail(err, errlen, "content-type value is not valid UTF-8");
            if (cr_ce_ct_cloudevents(cr_ce_val(x), cr_ce_len(x)))
                return cr_ce_fail(err, errlen,
                                  "content-type '%.*s' means structured mode, not binary",
                                  cr_ce_clip(x), cr_ce_val(x));
            continue;
        }
        if (!cr_ce_is_attr(x))
            continue;
        const char *an = x->name + 3;
        size_t al = strlen(an);
        if (al == 0)
            return cr_ce_fail(err, errlen, "header 'ce_' names no attribute");
        if (!cr_utf8_valid(an, al))
            return cr_ce_fail(err, errlen, "a ce_ header name is not valid UTF-8");
        if (!cr_utf8_valid(cr_ce_val(x), cr_ce_len(x)))
            return cr_ce_fail(err, errlen, "ce_%.*s value is not valid UTF-8", CR_CE_CLIP(al), an);
        if (++n_attrs > CR_CE_MAX_ATTRS)
            return cr_ce_fail(err, errlen, "more than %d ce_ headers", CR_CE_MAX_ATTRS);
        if (cr_ce_attr_is(x, "data") || cr_ce_attr_is(x, "data_base64"))
            return cr_ce_fail(err, errlen, "ce_%.*s is an envelope member, not an attribute",
                              CR_CE_CLIP(al), an);
        /* Quadratic, but bounded by CR_CE_MAX_ATTRS and over a handful in practice. */
        for (size_t j = 0; j < i; j++)
            if (h[j].name && cr_ce_is_attr(&h[j]) && cr_ce_attr_same(&h[j], x))
                return cr_ce_fail(err, errlen, "attribute '%.*s' appears twice", CR_CE_CLIP(al),
                                  an);
        for (size_t r = 0; r < CR_CE_NREQ; r++)
            if (cr_ce_attr_is(x, cr_ce_required[r]))
                req[r] = x;
        if (cr_ce_attr_is(x, "datacontenttype"))
            ce_ct = x;
    }
    for (size_t r = 0; r < CR_CE_NREQ; r++) {
        if (!req[r])
            return cr_ce_fail(err, errlen, "missing ce_%s header", cr_ce_required[r]);
        if (cr_ce_len(req[r]) == 0)
            return cr_ce_fail(err, errlen, "empty ce_%s header", cr_ce_required[r]);
    }
    const char *sv = cr_ce_val(req[0]);
    size_t svl = cr_ce_len(req[0]);
    if (svl != 3 || memcmp(sv, "1.0", 3) != 0)
        return cr_ce_fail(err, errlen, "ce_specversion '%.*s' is not supported (only 1.0)",
                          CR_CE_CLIP(svl), sv);
    if (!ct)
        ct = ce_ct;

    /* Pass 2: write the envelope. */
    struct cr_ce_out o = {out, outcap, 0};
    cr_ce_put(&o, "{", 1);
    for (size_t r = 0; r < CR_CE_NREQ; r++)
        cr_ce_member(&o, cr_ce_required[r], strlen(cr_ce_required[r]), cr_ce_val(req[r]),
                     cr_ce_len(req[r]));
    if (ct)
        cr_ce_member(&o, "datacontenttype", 15, cr_ce_val(ct), cr_ce_len(ct));
    for (size_t i = 0; i < n; i++) {
        const struct cr_kafka_header *x = &h[i];
        if (!cr_ce_is_attr(x) || x == ce_ct)
            continue;
        int is_req = 0;
        for (size_t r = 0; r < CR_CE_NREQ; r++)
            is_req |= x == req[r];
        if (!is_req)
            cr_ce_member(&o, x->name + 3, strlen(x->name + 3), cr_ce_val(x), cr_ce_len(x));
    }

    const char *v = value ? value : "";
    if (!value)
        vlen = 0;
    if (vlen > 0) {
        int utf8 = cr_utf8_valid(v, vlen);
        int json_ct = ct && cr_ce_ct_json(cr_ce_val(ct), cr_ce_len(ct));
        if (json_ct && utf8 && cr_cloudevents_json_valid(v, vlen)) {
            cr_ce_puts(&o, ",\"data\":");
            cr_ce_put(&o, v, vlen);
        } else {
            if (utf8) {
                cr_ce_puts(&o, ",\"data\":\"");
                cr_ce_escape(&o, v, vlen, 0);
            } else {
                cr_ce_puts(&o, ",\"data_base64\":\"");
                cr_ce_base64(&o, (const unsigned char *)v, vlen);
            }
            cr_ce_put(&o, "\"", 1);
            /* Not a failure: the attributes are fine and the bytes are kept.
             * The note lets ingest count producers sending broken JSON. */
            if (json_ct && err && errlen)
                snprintf(err, errlen,
                         "data is not valid JSON despite content-type '%.*s': "
                         "kept as %s",
                         cr_ce_clip(ct), cr_ce_val(ct), utf8 ? "a string" : "data_base64");
        }
    }
    cr_ce_put(&o, "}", 1);
    if (o.len >= outcap || o.len > (size_t)LONG_MAX) {
        if (err && errlen)
            snprintf(err, errlen, "envelope needs %zu bytes, the buffer holds %zu", o.len + 1,
                     outcap);
        return -1;
    }
    out[o.len] = '\0';
    return (long)o.len;
}
