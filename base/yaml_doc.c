/*
 * yaml_doc.c - see yaml_doc.h. A read-only view of a libyaml document that
 * always knows the line it is talking about.
 */
#include "base/yaml_doc.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void append(char *err, size_t errlen, const char *fmt, va_list ap)
{
    if (!err || errlen == 0)
        return;
    size_t used = strnlen(err, errlen);
    if (used >= errlen - 1)
        return;
    vsnprintf(err + used, errlen - used, fmt, ap);
}

static void appendf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    append(err, errlen, fmt, ap);
    va_end(ap);
}

void cr_yaml_error(struct cr_yaml *y, const yaml_node_t *n, char *err, size_t errlen,
                   const char *fmt, ...)
{
    va_list ap;
    if (err && errlen && err[0] && strnlen(err, errlen) < errlen - 1 &&
        err[strnlen(err, errlen) - 1] != '\n')
        appendf(err, errlen, "\n");
    appendf(err, errlen, "%s:%d: ", y ? y->file : "?", n ? cr_yaml_line(n) : 0);
    va_start(ap, fmt);
    append(err, errlen, fmt, ap);
    va_end(ap);
}

/* Records the document's first repeated mapping key (scalar keys; maps
 * are small, so pairwise). */
static void find_dup_key(struct cr_yaml *y)
{
    for (yaml_node_t *n = y->doc.nodes.start; n < y->doc.nodes.top; n++) {
        if (n->type != YAML_MAPPING_NODE)
            continue;
        yaml_node_pair_t *a0 = n->data.mapping.pairs.start, *end = n->data.mapping.pairs.top;
        for (yaml_node_pair_t *a = a0; a < end; a++) {
            yaml_node_t *ka = yaml_document_get_node(&y->doc, a->key);
            if (!ka || ka->type != YAML_SCALAR_NODE)
                continue;
            for (yaml_node_pair_t *b = a0; b < a; b++) {
                yaml_node_t *kb = yaml_document_get_node(&y->doc, b->key);
                if (!kb || kb->type != YAML_SCALAR_NODE ||
                    kb->data.scalar.length != ka->data.scalar.length ||
                    memcmp(kb->data.scalar.value, ka->data.scalar.value, ka->data.scalar.length) !=
                        0)
                    continue;
                int line = (int)ka->start_mark.line + 1;
                if (!y->dup_line || line < y->dup_line) {
                    y->dup_line = line;
                    y->dup_first_line = (int)kb->start_mark.line + 1;
                    snprintf(y->dup_key, sizeof y->dup_key, "%s",
                             (const char *)ka->data.scalar.value);
                }
                break;
            }
        }
    }
}

const char *cr_yaml_dup_reason(const struct cr_yaml *y, char *buf, size_t cap)
{
    snprintf(buf, cap, "duplicate key '%s' (first on line %d)", y->dup_key, y->dup_first_line);
    return buf;
}

static struct cr_yaml *load_parser(yaml_parser_t *parser, const char *name, char *err,
                                   size_t errlen)
{
    struct cr_yaml *y = calloc(1, sizeof *y);
    if (!y) {
        yaml_parser_delete(parser);
        return NULL;
    }
    y->file = strdup(name);
    if (!yaml_parser_load(parser, &y->doc)) {
        snprintf(err, errlen, "%s:%zu: YAML syntax error: %s%s%s", name,
                 parser->problem_mark.line + 1, parser->problem ? parser->problem : "unknown",
                 parser->context ? " " : "", parser->context ? parser->context : "");
        yaml_parser_delete(parser);
        free(y->file);
        free(y);
        return NULL;
    }
    y->loaded = 1;
    find_dup_key(y);
    if (!yaml_document_get_root_node(&y->doc)) {
        yaml_parser_delete(parser);
        snprintf(err, errlen, "%s:1: the file is empty", name);
        cr_yaml_free(y);
        return NULL;
    }
    /* further documents (`---`), chained: Sigma keeps a correlation and its
     * rules in one file */
    for (struct cr_yaml *last = y;;) {
        struct cr_yaml *n = calloc(1, sizeof *n);
        if (!n)
            break;
        n->file = strdup(name);
        if (!yaml_parser_load(parser, &n->doc)) {
            snprintf(err, errlen, "%s:%zu: YAML syntax error: %s%s%s", name,
                     parser->problem_mark.line + 1, parser->problem ? parser->problem : "unknown",
                     parser->context ? " " : "", parser->context ? parser->context : "");
            free(n->file);
            free(n);
            yaml_parser_delete(parser);
            cr_yaml_free(y);
            return NULL;
        }
        n->loaded = 1;
        if (!yaml_document_get_root_node(&n->doc)) { /* the end of the stream */
            cr_yaml_free(n);
            break;
        }
        find_dup_key(n);
        last->next = n;
        last = n;
    }
    yaml_parser_delete(parser);
    return y;
}

struct cr_yaml *cr_yaml_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s:0: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    struct cr_yaml *y = load_parser(&parser, path, err, errlen);
    fclose(f);
    return y;
}

struct cr_yaml *cr_yaml_load_string(const char *name, const char *text, size_t len, char *err,
                                    size_t errlen)
{
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    return load_parser(&parser, name, err, errlen);
}

void cr_yaml_free(struct cr_yaml *y)
{
    while (y) {
        struct cr_yaml *next = y->next;
        if (y->loaded)
            yaml_document_delete(&y->doc);
        free(y->file);
        free(y);
        y = next;
    }
}

yaml_node_t *cr_yaml_root(struct cr_yaml *y) { return yaml_document_get_root_node(&y->doc); }

int cr_yaml_line(const yaml_node_t *n) { return n ? (int)n->start_mark.line + 1 : 0; }

int cr_yaml_is_map(const yaml_node_t *n) { return n && n->type == YAML_MAPPING_NODE; }

int cr_yaml_is_seq(const yaml_node_t *n) { return n && n->type == YAML_SEQUENCE_NODE; }

int cr_yaml_is_null(const yaml_node_t *n)
{
    if (!n)
        return 1;
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *s = (const char *)n->data.scalar.value;
    return s[0] == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
           strcmp(s, "NULL") == 0;
}

const char *cr_yaml_str(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

int cr_yaml_seq_len(const yaml_node_t *n)
{
    if (!cr_yaml_is_seq(n))
        return 0;
    return (int)(n->data.sequence.items.top - n->data.sequence.items.start);
}

yaml_node_t *cr_yaml_seq_at(struct cr_yaml *y, yaml_node_t *n, int i)
{
    if (i < 0 || i >= cr_yaml_seq_len(n))
        return NULL;
    return yaml_document_get_node(&y->doc, n->data.sequence.items.start[i]);
}

int cr_yaml_map_len(const yaml_node_t *n)
{
    if (!cr_yaml_is_map(n))
        return 0;
    return (int)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
}

const char *cr_yaml_map_key(struct cr_yaml *y, yaml_node_t *n, int i, yaml_node_t **key_node)
{
    if (i < 0 || i >= cr_yaml_map_len(n))
        return NULL;
    yaml_node_t *k = yaml_document_get_node(&y->doc, n->data.mapping.pairs.start[i].key);
    if (key_node)
        *key_node = k;
    return cr_yaml_str(k);
}

yaml_node_t *cr_yaml_map_value(struct cr_yaml *y, yaml_node_t *n, int i)
{
    if (i < 0 || i >= cr_yaml_map_len(n))
        return NULL;
    return yaml_document_get_node(&y->doc, n->data.mapping.pairs.start[i].value);
}

yaml_node_t *cr_yaml_get(struct cr_yaml *y, yaml_node_t *map, const char *key)
{
    int n = cr_yaml_map_len(map);
    for (int i = 0; i < n; i++) {
        const char *k = cr_yaml_map_key(y, map, i, NULL);
        if (k && strcmp(k, key) == 0)
            return cr_yaml_map_value(y, map, i);
    }
    return NULL;
}

int cr_yaml_int(struct cr_yaml *y, yaml_node_t *n, const char *what, int64_t min, int64_t max,
                int64_t *out, char *err, size_t errlen)
{
    const char *s = cr_yaml_str(n);
    char *end;
    if (!s || !*s) {
        cr_yaml_error(y, n, err, errlen, "%s: expected an integer", what);
        return -1;
    }
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end) {
        cr_yaml_error(y, n, err, errlen, "%s: '%s' is not an integer", what, s);
        return -1;
    }
    if (v < min || v > max) {
        cr_yaml_error(y, n, err, errlen, "%s: %lld is out of range [%lld, %lld]", what, v,
                      (long long)min, (long long)max);
        return -1;
    }
    *out = v;
    return 0;
}

int cr_yaml_bool(struct cr_yaml *y, yaml_node_t *n, const char *what, int *out, char *err,
                 size_t errlen)
{
    const char *s = cr_yaml_str(n);
    if (s && (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on"))) {
        *out = 1;
        return 0;
    }
    if (s && (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off"))) {
        *out = 0;
        return 0;
    }
    cr_yaml_error(y, n, err, errlen, "%s: expected true or false", what);
    return -1;
}

int cr_parse_duration_ms(const char *s, int64_t *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return -1;
    double mult;
    if (!*end || !strcmp(end, "s"))
        mult = 1000;
    else if (!strcmp(end, "ms"))
        mult = 1;
    else if (!strcmp(end, "m"))
        mult = 60000;
    else if (!strcmp(end, "h"))
        mult = 3600000;
    else if (!strcmp(end, "d"))
        mult = 86400000;
    else
        return -1;
    double ms = v * mult;
    if (ms > 9.2e18)
        return -1;
    *out = (int64_t)ms;
    return 0;
}

int cr_yaml_duration_ms(struct cr_yaml *y, yaml_node_t *n, const char *what, int64_t *out,
                        char *err, size_t errlen)
{
    const char *s = cr_yaml_str(n);
    if (cr_parse_duration_ms(s, out) != 0) {
        cr_yaml_error(y, n, err, errlen,
                      "%s: '%s' is not a duration (examples: 500ms, 30s, 5m, 2h, 1d)", what,
                      s ? s : "");
        return -1;
    }
    return 0;
}

int cr_parse_size(const char *s, uint64_t *out)
{
    if (!s || !*s || !isdigit((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    uint64_t mult;
    if (!*end || !strcmp(end, "B"))
        mult = 1;
    else if (!strcmp(end, "KiB") || !strcmp(end, "K") || !strcmp(end, "KB"))
        mult = 1024ull;
    else if (!strcmp(end, "MiB") || !strcmp(end, "M") || !strcmp(end, "MB"))
        mult = 1024ull * 1024;
    else if (!strcmp(end, "GiB") || !strcmp(end, "G") || !strcmp(end, "GB"))
        mult = 1024ull * 1024 * 1024;
    else
        return -1;
    if (v > UINT64_MAX / mult)
        return -1;
    *out = v * mult;
    return 0;
}

int cr_yaml_size(struct cr_yaml *y, yaml_node_t *n, const char *what, uint64_t *out, char *err,
                 size_t errlen)
{
    const char *s = cr_yaml_str(n);
    if (cr_parse_size(s, out) != 0) {
        cr_yaml_error(y, n, err, errlen, "%s: '%s' is not a size (examples: 512, 64KiB, 1GiB)",
                      what, s ? s : "");
        return -1;
    }
    return 0;
}

int cr_yaml_check_keys(struct cr_yaml *y, yaml_node_t *map, const char *const *allowed,
                       const char *where, char *err, size_t errlen)
{
    int bad = 0, n = cr_yaml_map_len(map);
    for (int i = 0; i < n; i++) {
        yaml_node_t *kn;
        const char *k = cr_yaml_map_key(y, map, i, &kn);
        int ok = 0;
        for (const char *const *a = allowed; k && *a; a++)
            if (strcmp(*a, k) == 0)
                ok = 1;
        if (!ok) {
            cr_yaml_error(y, kn, err, errlen, "unknown key '%s' in %s", k ? k : "?", where);
            bad++;
        }
    }
    return bad;
}
