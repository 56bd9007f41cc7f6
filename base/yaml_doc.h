/*
 * yaml_doc.h - a loaded YAML document with line numbers, for config and rules.
 *
 * libyaml's document API keeps every node's start mark, so whoever walks the
 * tree can say `file:line: reason` about any key or value. This module is a
 * thin, read-only layer over it: lookups by key, typed getters that report
 * their own errors, and one error formatter so every message has the same
 * shape.
 *
 * Ownership: cr_yaml_load() returns a document the caller frees with
 * cr_yaml_free(). Node pointers and strings are borrowed from the document
 * and valid until cr_yaml_free().
 *
 * Threading: none; load-time only.
 */
#ifndef CR_YAML_DOC_H
#define CR_YAML_DOC_H

#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

struct cr_yaml {
    yaml_document_t doc;
    char *file; /* path as given, for messages */
    int loaded;
    struct cr_yaml *next; /* the file's next document (after `---`), or NULL; freed with
                           * this one */
    /* The first mapping key this document repeats (YAML requires keys to be
     * unique; libyaml keeps both and cr_yaml_get would see only the first):
     * its line (0 = none), text and the line it first appeared on. Loaders
     * refuse the document (corral's files) or skip it (a Sigma rule). */
    int dup_line, dup_first_line;
    char dup_key[64];
};

/* "duplicate key 'K' (first on line N)" for a document with dup_line set,
 * written to buf; returns buf. */
const char *cr_yaml_dup_reason(const struct cr_yaml *y, char *buf, size_t cap);

/* Load `path`: its first document, and any further ones (`---`) chained in
 * ->next. On failure returns NULL and writes "file:line: reason" to err. */
struct cr_yaml *cr_yaml_load(const char *path, char *err, size_t errlen);
/* Same, from memory (`name` is used in messages). */
struct cr_yaml *cr_yaml_load_string(const char *name, const char *text, size_t len, char *err,
                                    size_t errlen);
void cr_yaml_free(struct cr_yaml *y);

yaml_node_t *cr_yaml_root(struct cr_yaml *y);
/* 1-based line of a node. */
int cr_yaml_line(const yaml_node_t *n);

/* Mapping lookup; NULL if n is not a mapping or has no such key. */
yaml_node_t *cr_yaml_get(struct cr_yaml *y, yaml_node_t *map, const char *key);
/* Scalar text (NUL-terminated, borrowed) or NULL if n is not a scalar. */
const char *cr_yaml_str(const yaml_node_t *n);
int cr_yaml_is_map(const yaml_node_t *n);
int cr_yaml_is_seq(const yaml_node_t *n);
int cr_yaml_is_null(const yaml_node_t *n);
/* Number of items in a sequence (0 if not a sequence) and item i. */
int cr_yaml_seq_len(const yaml_node_t *n);
yaml_node_t *cr_yaml_seq_at(struct cr_yaml *y, yaml_node_t *n, int i);
/* Number of pairs in a mapping and pair i's key text / value. */
int cr_yaml_map_len(const yaml_node_t *n);
const char *cr_yaml_map_key(struct cr_yaml *y, yaml_node_t *n, int i, yaml_node_t **key_node);
yaml_node_t *cr_yaml_map_value(struct cr_yaml *y, yaml_node_t *n, int i);

/* Typed scalars. Each returns 0, or -1 after writing "file:line: reason"
 * to err (reason names the key `what`). */
int cr_yaml_int(struct cr_yaml *y, yaml_node_t *n, const char *what, int64_t min, int64_t max,
                int64_t *out, char *err, size_t errlen);
int cr_yaml_bool(struct cr_yaml *y, yaml_node_t *n, const char *what, int *out, char *err,
                 size_t errlen);
/* Durations: "500ms", "30s", "5m", "2h", "1d", or a bare number of seconds. */
int cr_yaml_duration_ms(struct cr_yaml *y, yaml_node_t *n, const char *what, int64_t *out,
                        char *err, size_t errlen);
/* Sizes: "64KiB", "1MiB", "2GiB", "512" (bytes). */
int cr_yaml_size(struct cr_yaml *y, yaml_node_t *n, const char *what, uint64_t *out, char *err,
                 size_t errlen);

/* Report unknown keys of a mapping: every key not in `allowed` (NULL-
 * terminated) is an error "file:line: unknown key 'k' in <where>". Returns
 * the number of unknown keys; messages are appended to err, one per line. */
int cr_yaml_check_keys(struct cr_yaml *y, yaml_node_t *map, const char *const *allowed,
                       const char *where, char *err, size_t errlen);

/* printf-style "file:line: ..." into err (appending after what is there). */
void cr_yaml_error(struct cr_yaml *y, const yaml_node_t *n, char *err, size_t errlen,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Parsing helpers shared with the command line. */
int cr_parse_duration_ms(const char *s, int64_t *out);
int cr_parse_size(const char *s, uint64_t *out);

#endif
