/*
 * json_simd.h - the small C view of simdjson that json_event.c needs.
 *
 * simdjson is C++; the rest of corral is C11. This header is the whole
 * bridge: parse one buffer into a reusable DOM, then look values up by
 * dotted path ("userIdentity.type", "sourceIPs.0"). One struct cr_json per
 * struct cr_parser (per worker thread); after the first few records it
 * allocates nothing: the padded input copy and the DOM tape only grow.
 *
 * Ownership: every string handed out is borrowed; valid until the next
 * cr_json_parse() or cr_json_free() on the same handle. Strings point into
 * simdjson's string buffer (already unescaped, NUL-terminated); numbers and
 * booleans are rendered into a per-handle scratch area.
 *
 * Threading: one thread at a time per handle.
 */
#ifndef CR_JSON_SIMD_H
#define CR_JSON_SIMD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum cr_json_type {
    CR_JSON_MISSING = 0, /* path not found (or parse failed) */
    CR_JSON_STRING,
    CR_JSON_INT,    /* fits int64: i is set, s is its decimal text */
    CR_JSON_DOUBLE, /* d is set (also for uint64 above INT64_MAX), s is its text */
    CR_JSON_BOOL,   /* i is 0 or 1, s is "true"/"false" */
    CR_JSON_NULL,   /* s is NULL */
    CR_JSON_OBJECT, /* s is NULL: containers are not rendered */
    CR_JSON_ARRAY,  /* s is NULL */
};

/* A value of the current document, as cr_json_walk hands it (opaque: a
 * simdjson element, which is two words). */
struct cr_json_ref {
    uint64_t opaque[4];
};

struct cr_json_val {
    enum cr_json_type type;
    const char *s; /* text of a scalar; NULL for null/containers or if scratch ran out */
    size_t len;
    int64_t i;
    double d;
};

struct cr_json;

/* NULL on out-of-memory. */
struct cr_json *cr_json_new(void);
void cr_json_free(struct cr_json *j);

/* Parse buf[0..len) (need not be NUL-terminated or padded: it is copied
 * into the handle's padded buffer). Returns 0 if the document is a JSON
 * object, -1 if it is invalid, truncated or not an object. */
int cr_json_parse(struct cr_json *j, const char *buf, size_t len);

/* Look up a dotted path from the root of the last parsed document. A
 * segment of digits indexes an array. A key that itself contains dots
 * ("host.name" as a flat key) is found too: a miss retries the longer
 * literal keys. Returns out->type (CR_JSON_MISSING if absent). */
enum cr_json_type cr_json_get(struct cr_json *j, const char *path, size_t path_len,
                              struct cr_json_val *out);

/* cr_json_get, except that an object or an array also gets its text:
 * compact JSON with strings decoded ({"a":["x y",1]}), in the scratch area
 * (out->s NULL when it does not fit). What a rule naming a container
 * matches: `requestParameters.ipPermissions|contains: 0.0.0.0/0` holds
 * whichever element has it. */
enum cr_json_type cr_json_get_text(struct cr_json *j, const char *path, size_t path_len,
                                   struct cr_json_val *out);

/* Calls fn(ctx, key, key_len, val) for each member of the root object, in
 * document order. Stops early if fn returns non-zero. */
void cr_json_foreach_root(struct cr_json *j,
                          int (*fn)(void *ctx, const char *key, size_t key_len,
                                    const struct cr_json_val *val),
                          void *ctx);

/* Calls fn(ctx, path, path_len, ref) for every value of the document below
 * the root (containers before their members, then strings, numbers,
 * booleans, null), depth first in document order, with its dotted
 * path as cr_json_get takes it ("a.b.0.c"; not NUL-terminated) and the value
 * itself (ref: borrowed for the call; copy it to keep it). Stops early if fn
 * returns non-zero. One pass over the DOM that renders nothing: a parser
 * finds which of many rule-requested paths (Sigma's) a record has, then
 * reads only those. */
void cr_json_walk(struct cr_json *j,
                  int (*fn)(void *ctx, const char *path, size_t path_len,
                            const struct cr_json_ref *ref),
                  void *ctx);

/* cr_json_get_text of the value a walk was at (ref, copied out of the
 * callback): the same result as looking its path up when that path finds
 * this value, without the lookup. Valid until the next parse. */
enum cr_json_type cr_json_ref_text(struct cr_json *j, const struct cr_json_ref *ref,
                                   struct cr_json_val *out);

#ifdef __cplusplus
}
#endif

#endif
