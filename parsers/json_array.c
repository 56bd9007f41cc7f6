/*
 * json_array.c - the objects of a record that is a JSON array of them
 * (json_array.h). One structural pass finds where each object ends: depth
 * of braces and brackets outside strings, and string escapes; the objects'
 * contents are left to the JSON parser.
 */
#include "parsers/json_array.h"

static int ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static size_t skip_ws(const char *s, size_t n, size_t i)
{
    while (i < n && ws(s[i]))
        i++;
    return i;
}

/* From s[i] == '{': the index just past its matching '}', or 0 if the
 * object does not close within n (or nests past the limit). */
static size_t object_end(const char *s, size_t n, size_t i)
{
    int depth = 0;
    for (; i < n; i++) {
        char c = s[i];
        if (c == '"') {
            for (i++; i < n && s[i] != '"'; i++)
                if (s[i] == '\\')
                    i++;
            if (i >= n)
                return 0;
        } else if (c == '{' || c == '[') {
            if (++depth > 512)
                return 0;
        } else if (c == '}' || c == ']') {
            if (--depth == 0)
                return c == '}' ? i + 1 : 0;
            if (depth < 0)
                return 0;
        }
    }
    return 0;
}

size_t cr_json_array_count(const char *rec, size_t len)
{
    size_t i = skip_ws(rec, len, 0), count = 0;
    if (i >= len || rec[i] != '[')
        return 0;
    i = skip_ws(rec, len, i + 1);
    for (;;) {
        if (i >= len || rec[i] != '{')
            return 0;
        size_t e = object_end(rec, len, i);
        if (!e)
            return 0;
        count++;
        i = skip_ws(rec, len, e);
        if (i < len && rec[i] == ',') {
            i = skip_ws(rec, len, i + 1);
            continue;
        }
        if (i < len && rec[i] == ']')
            return skip_ws(rec, len, i + 1) == len ? count : 0;
        return 0;
    }
}

int cr_json_array_next(const char *rec, size_t len, size_t *pos, size_t *off, size_t *olen)
{
    size_t i = *pos;
    if (i == 0) {
        i = skip_ws(rec, len, 0);
        if (i >= len || rec[i] != '[')
            return 0;
        i++;
    }
    i = skip_ws(rec, len, i);
    if (i < len && rec[i] == ',')
        i = skip_ws(rec, len, i + 1);
    if (i >= len || rec[i] != '{')
        return 0;
    size_t e = object_end(rec, len, i);
    if (!e)
        return 0;
    *off = i;
    *olen = e - i;
    *pos = e;
    return 1;
}
