/*
 * transform.c - the decoding transforms of transform.h.
 *
 * Each transform reads src[0..n) and writes dst (never longer than n);
 * cr_xform_apply ping-pongs between out and tmp so that the chain ends in
 * out. They follow what web application firewalls do to requests before
 * matching (ModSecurity's t:urlDecodeUni, t:htmlEntityDecode,
 * t:lowercase, t:normalizePath, t:compressWhitespace, t:replaceComments),
 * because the attacks they defeat are the same: encodings and comments
 * that hide a payload from a literal match. URL decoding repeats until the
 * value stops changing, so a double- or triple-encoded `%252e%252e%252f`
 * is `../` like the plain one.
 */
#include "rules/transform.h"

#include <string.h>

static const char *const xf_names[CR_XF__COUNT] = {
    [CR_XF_URL_DECODE] = "url_decode",
    [CR_XF_HTML_ENTITY_DECODE] = "html_entity_decode",
    [CR_XF_LOWERCASE] = "lowercase",
    [CR_XF_NORMALIZE_PATH] = "normalize_path",
    [CR_XF_COMPRESS_WHITESPACE] = "compress_whitespace",
    [CR_XF_REMOVE_COMMENTS] = "remove_comments",
};

enum cr_xform cr_xform_from_name(const char *name)
{
    for (int i = 1; i < CR_XF__COUNT; i++)
        if (name && strcmp(name, xf_names[i]) == 0)
            return (enum cr_xform)i;
    return 0;
}

const char *cr_xform_name(enum cr_xform x) { return x > 0 && x < CR_XF__COUNT ? xf_names[x] : "?"; }

const char *cr_xform_names(void)
{
    return "url_decode, html_entity_decode, lowercase, normalize_path, compress_whitespace, "
           "remove_comments";
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* UTF-8 of code point cp into d; returns the bytes written (1-4). */
static size_t put_utf8(char *d, uint32_t cp)
{
    if (cp < 0x80) {
        d[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (char)(0xc0 | cp >> 6);
        d[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (char)(0xe0 | cp >> 12);
        d[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        d[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    d[0] = (char)(0xf0 | cp >> 18);
    d[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    d[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    d[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* One round of URL decoding. An invalid escape stays as it is. %uXXXX
 * (IIS) becomes UTF-8: 6 bytes in, at most 3 out. */
static size_t url_decode_once(const char *s, size_t n, char *d)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            d[o++] = ' ';
        } else if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            d[o++] = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
            i += 2;
        } else if (c == '%' && i + 5 < n && (s[i + 1] == 'u' || s[i + 1] == 'U') &&
                   hexval(s[i + 2]) >= 0 && hexval(s[i + 3]) >= 0 && hexval(s[i + 4]) >= 0 &&
                   hexval(s[i + 5]) >= 0) {
            uint32_t cp = (uint32_t)(hexval(s[i + 2]) << 12 | hexval(s[i + 3]) << 8 |
                                     hexval(s[i + 4]) << 4 | hexval(s[i + 5]));
            o += put_utf8(d + o, cp);
            i += 5;
        } else {
            d[o++] = c;
        }
    }
    return o;
}

static const struct {
    const char *name;
    char c;
} named_entities[] = {{"lt", '<'},   {"gt", '>'},    {"amp", '&'},
                      {"quot", '"'}, {"apos", '\''}, {"nbsp", ' '}};

static size_t html_decode(const char *s, size_t n, char *d)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '&') {
            d[o++] = s[i];
            continue;
        }
        size_t j = i + 1;
        if (j < n && s[j] == '#') {
            int hex = j + 1 < n && (s[j + 1] == 'x' || s[j + 1] == 'X');
            size_t k = j + 1 + (size_t)hex, k0 = k;
            uint32_t cp = 0;
            while (k < n && k - k0 < 8 &&
                   (hex ? hexval(s[k]) >= 0 : (s[k] >= '0' && s[k] <= '9'))) {
                cp = cp * (hex ? 16u : 10u) + (uint32_t)(hex ? hexval(s[k]) : s[k] - '0');
                k++;
            }
            /* the ';' is optional, as browsers read it; "&#N" is 3 bytes or
             * more and its UTF-8 never longer than the digits it took */
            size_t end = k < n && s[k] == ';' ? k + 1 : k;
            if (k > k0 && cp > 0 && cp <= 0x10ffff) {
                o += put_utf8(d + o, cp);
                i = end - 1;
                continue;
            }
        } else {
            int hit = 0;
            for (size_t e = 0; e < sizeof named_entities / sizeof *named_entities; e++) {
                size_t l = strlen(named_entities[e].name);
                if (j + l < n && s[j + l] == ';' && memcmp(s + j, named_entities[e].name, l) == 0) {
                    d[o++] = named_entities[e].c;
                    i = j + l;
                    hit = 1;
                    break;
                }
            }
            if (hit)
                continue;
        }
        d[o++] = '&';
    }
    return o;
}

static size_t lowercase(const char *s, size_t n, char *d)
{
    for (size_t i = 0; i < n; i++)
        d[i] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + 32) : s[i];
    return n;
}

/* Path normalisation: '\\' is '/', empty and '.' segments are dropped,
 * 'seg/..' is resolved. A '..' with nothing left to resolve stays (so
 * '/../../etc/passwd' keeps its traversal). Applied to the whole value (a
 * URI's query included: '?' is not special), as a WAF does. The output
 * takes only bytes the input had, so it is never longer. */
static int sep(char c) { return c == '/' || c == '\\'; }

static size_t normalize_path(const char *s, size_t n, char *d)
{
    size_t o = 0, i = 0;
    if (n > 0 && sep(s[0]))
        d[o++] = '/';
    size_t base = o; /* the segments start here */
    int dir_end = 0; /* the input ends as a directory ('/', '/.', '/..') */
    while (i < n) {
        while (i < n && sep(s[i]))
            i++;
        if (i >= n) {
            dir_end = 1;
            break;
        }
        size_t j = i;
        while (j < n && !sep(s[j]))
            j++;
        size_t len = j - i;
        dir_end = 0;
        if (len == 1 && s[i] == '.') {
            dir_end = 1;
        } else if (len == 2 && s[i] == '.' && s[i + 1] == '.') {
            size_t p = o;
            while (p > base && d[p - 1] != '/')
                p--;
            int last_up = o - p == 2 && d[p] == '.' && d[p + 1] == '.';
            if (o > base && !last_up) {
                o = p > base ? p - 1 : base; /* the previous segment is gone */
            } else {
                if (o > base)
                    d[o++] = '/';
                d[o++] = '.';
                d[o++] = '.';
            }
            dir_end = 1;
        } else {
            if (o > base)
                d[o++] = '/';
            memcpy(d + o, s + i, len);
            o += len;
        }
        i = j;
    }
    if (dir_end && o > base)
        d[o++] = '/';
    return o;
}

static int blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static size_t compress_ws(const char *s, size_t n, char *d)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t w = 0;
        for (;;) {
            if (i < n && blank((unsigned char)s[i]))
                i++, w++;
            else if (i + 1 < n && (unsigned char)s[i] == 0xc2 && (unsigned char)s[i + 1] == 0xa0)
                i += 2, w++; /* U+00A0 */
            else
                break;
        }
        if (w)
            d[o++] = ' ';
        else
            d[o++] = s[i++];
    }
    return o;
}

/* A comment becomes one space. MySQL runs the text of a versioned comment
 * (`/ *!50000union* /`), so that text stays, between spaces. */
static size_t remove_comments(const char *s, size_t n, char *d)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (i + 2 < n && s[i] == '/' && s[i + 1] == '*' && s[i + 2] == '!') {
            size_t j = i + 3;
            while (j < n && j < i + 8 && s[j] >= '0' && s[j] <= '9')
                j++;
            size_t e = j;
            while (e + 1 < n && !(s[e] == '*' && s[e + 1] == '/'))
                e++;
            if (e + 1 >= n)
                e = n; /* unterminated: the rest is the text */
            d[o++] = ' ';
            memcpy(d + o, s + j, e - j);
            o += e - j;
            d[o++] = ' ';
            i = e + 1 < n ? e + 2 : n;
        } else if (i + 1 < n && s[i] == '/' && s[i + 1] == '*') {
            size_t j = i + 2;
            while (j + 1 < n && !(s[j] == '*' && s[j + 1] == '/'))
                j++;
            i = j + 1 < n ? j + 2 : n; /* an unterminated comment runs to the end */
            d[o++] = ' ';
        } else {
            d[o++] = s[i++];
        }
    }
    return o;
}

static size_t apply_one(enum cr_xform x, const char *s, size_t n, char *d)
{
    switch (x) {
    case CR_XF_URL_DECODE:
        return url_decode_once(s, n, d);
    case CR_XF_HTML_ENTITY_DECODE:
        return html_decode(s, n, d);
    case CR_XF_LOWERCASE:
        return lowercase(s, n, d);
    case CR_XF_NORMALIZE_PATH:
        return normalize_path(s, n, d);
    case CR_XF_COMPRESS_WHITESPACE:
        return compress_ws(s, n, d);
    case CR_XF_REMOVE_COMMENTS:
        return remove_comments(s, n, d);
    default:
        memcpy(d, s, n);
        return n;
    }
}

size_t cr_xform_apply(const uint8_t *ops, int nops, const char *in, size_t n, char *out, char *tmp)
{
    /* each step writes to the buffer the previous step did not read */
    const char *src = in;
    char *bufs[2] = {out, tmp};
    int cur = 0;
    size_t len = n;
    for (int i = 0; i < nops; i++) {
        int rounds = ops[i] == CR_XF_URL_DECODE ? 8 : 1;
        for (int r = 0; r < rounds; r++) {
            char *dst = bufs[cur];
            size_t l = apply_one((enum cr_xform)ops[i], src, len, dst);
            int stable = ops[i] == CR_XF_URL_DECODE && l == len && memcmp(dst, src, l) == 0;
            src = dst;
            len = l;
            cur ^= 1;
            if (stable)
                break;
        }
    }
    if (src != out)
        memcpy(out, src, len);
    return len;
}
