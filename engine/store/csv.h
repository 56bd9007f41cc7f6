/*
 * csv.h - an incident as one CSV row (RFC 4180), the one definition the
 * command line (`corral query --format csv`) and the HTTP export share.
 *
 * Columns: id, first_seen, last_seen, priority, reg_level, category,
 * reg_category, rule, title, entities (k=v;k=v), event_count, status,
 * tenants (a;b).
 *
 * Spreadsheet formula injection (OWASP's CSV injection): a cell that
 * starts with =, +, -, @, a tab or a carriage return is one a spreadsheet
 * may run as a formula (a title taken from a log line can be anything),
 * so such a cell is written with a leading apostrophe, quoted. A reader
 * that is not a spreadsheet sees the apostrophe: the price of safety.
 *
 * Threading: none.
 */
#ifndef CR_CSV_H
#define CR_CSV_H

#include <jansson.h>
#include <stdio.h>

extern const char cr_incident_csv_header[];

/* One cell (last: end the row with CRLF, else a comma). */
void cr_csv_cell(FILE *out, const char *s, int last);
/* inc's row, CRLF-terminated. */
void cr_incident_csv_row(FILE *out, const json_t *inc);

#endif
