/*
 * text_out.h - what the reading commands (query, rejects) print with: the
 * output formats they offer, fixed-width terminal cells that count East
 * Asian wide characters as two columns (CSV rows: engine/store/csv.h).
 *
 * Threading: command-line code, main thread only.
 */
#ifndef CR_TEXT_OUT_H
#define CR_TEXT_OUT_H

#include <stdio.h>

enum cr_out_format { CR_OUT_TABLE, CR_OUT_NDJSON, CR_OUT_CSV, CR_OUT_OCSF };

/* "table", "ndjson", and "csv" and "ocsf" if allow_csv (incidents only).
 * Returns 0, or -1 for another. */
int cr_out_parse_format(const char *s, enum cr_out_format *f, int allow_csv);
/* s in exactly `width` columns: control characters become spaces (a row
 * stays one line), too long ends in "…", short is padded (on the left if
 * right). With width 0 the whole text is printed (the last column). */
void cr_out_cell(FILE *out, const char *s, int width, int right);

#endif
