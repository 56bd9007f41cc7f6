/*
 * json_array.h - a record that is a JSON array of objects (a CloudEvents
 * batch, `application/cloudevents-batch+json`, or any producer that ships
 * events in arrays) seen as the objects it holds.
 *
 * Only the array's structure is checked here (brackets, strings and their
 * escapes, commas, each element an object); each element is then parsed as
 * a record of its own by cr_parse, so a broken element is that element's
 * parse error and the others still count. A record that is not such an
 * array (a log line starting with "[2026-...]", a truncated batch, an
 * array of numbers, `[]`) is not split and is parsed as it is.
 *
 * Threading: pure functions over the caller's bytes; nothing is allocated.
 */
#ifndef CR_JSON_ARRAY_H
#define CR_JSON_ARRAY_H

#include <stddef.h>

/* The number of objects in rec if it is a JSON array of one or more
 * objects (whitespace around anything), else 0. */
size_t cr_json_array_count(const char *rec, size_t len);

/* The next object of such an array from *pos (0 to start): its offset and
 * length in rec. Returns 0 when there is none left. Only for a record
 * cr_json_array_count accepted. */
int cr_json_array_next(const char *rec, size_t len, size_t *pos, size_t *off, size_t *olen);

#endif
