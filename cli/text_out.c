/*
 * text_out.c - see text_out.h.
 */
#include "cli/text_out.h"

#include <stdint.h>
#include <string.h>

/* Columns a code point takes on a terminal: East Asian wide and fullwidth
 * ranges take two (titles and hostnames here are often Chinese). */
static int cp_width(uint32_t cp)
{
    if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
        (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
        (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
        (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x20000 && cp <= 0x3FFFD))
        return 2;
    return 1;
}

/* Decode one code point of valid UTF-8 (jansson guarantees valid). */
static size_t utf8_next(const unsigned char *p, uint32_t *cp)
{
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    if (p[0] < 0xE0) {
        *cp = (uint32_t)(p[0] & 0x1F) << 6 | (p[1] & 0x3F);
        return 2;
    }
    if (p[0] < 0xF0) {
        *cp = (uint32_t)(p[0] & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
        return 3;
    }
    *cp = (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3F) << 12 |
          (uint32_t)(p[2] & 0x3F) << 6 | (p[3] & 0x3F);
    return 4;
}

/* Print s in exactly `width` columns: control characters become spaces (a
 * row stays one line), too long ends in "…", short is padded. With
 * width 0 the whole text is printed (last column). */
void cr_out_cell(FILE *out, const char *s, int width, int right)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    int total = 0;
    for (const unsigned char *q = p; *q;) {
        uint32_t cp;
        q += utf8_next(q, &cp);
        total += cp < 0x20 || cp == 0x7F ? 1 : cp_width(cp);
    }
    int fits = width == 0 || total <= width;
    int limit = fits ? total : width - 1; /* room for the ellipsis */
    int used = 0;
    if (right && fits && total < width)
        fprintf(out, "%*s", width - total, "");
    while (*p) {
        uint32_t cp;
        size_t n = utf8_next(p, &cp);
        int w = cp < 0x20 || cp == 0x7F ? 1 : cp_width(cp);
        if (used + w > limit)
            break;
        if (cp < 0x20 || cp == 0x7F)
            fputc(' ', out);
        else
            fwrite(p, 1, n, out);
        used += w;
        p += n;
    }
    if (!fits) {
        fputs("\xE2\x80\xA6", out);
        used++;
    }
    if (!right && width > used)
        fprintf(out, "%*s", width - used, "");
}

int cr_out_parse_format(const char *s, enum cr_out_format *f, int allow_csv)
{
    if (strcmp(s, "table") == 0)
        *f = CR_OUT_TABLE;
    else if (strcmp(s, "ndjson") == 0)
        *f = CR_OUT_NDJSON;
    else if (allow_csv && strcmp(s, "csv") == 0)
        *f = CR_OUT_CSV;
    else if (allow_csv && strcmp(s, "ocsf") == 0)
        *f = CR_OUT_OCSF;
    else
        return -1;
    return 0;
}
