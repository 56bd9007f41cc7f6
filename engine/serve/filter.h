/*
 * filter.h - the incident filter of the HTTP API: its parameters, how they
 * combine, the tenant scope every request carries, the order and the
 * cursor.
 *
 * Parameters (GET /api/v1/incidents and /api/v1/export):
 *   from, to        time: RFC 3339, a date or relative (-2h), as `corral
 *                   query`: from bounds last_seen (active at or after),
 *                   to bounds first_seen (began at or before)
 *   category        a category or a prefix of its dash-separated parts:
 *                   S-ATK matches S-ATK-BRUTE, not S-ATKX
 *   rule, reg_level (I..IV), priority (P1..P4), status, tenant, system
 *   entity          NAME=VALUE; src_ip, dst_ip, host and user also as
 *                   parameters of their own (host=app-01)
 *   overdue         true: past a deadline not met; false: not
 *   q               free text in the title (case-insensitive)
 *   sort            -first_seen (default), first_seen, -last_seen,
 *                   last_seen, priority (P1 first), reg_level (I first)
 *   page_size       1..1000 (default 50); cursor: next_cursor of a page
 * Cost: first_seen orders read the index and stop after a page of matches;
 * the other orders, and a filter that matches rarely (q, a rare tenant),
 * walk every incident in the time bounds (seconds on a million: narrow
 * them with from/to).
 * A parameter given more than once matches any of its values; different
 * parameters must all match (entity: each name must match one of the
 * values given for it). An unknown parameter or a bad value is refused
 * with the reason (HTTP 400).
 *
 * The scope: a tenant token's request matches only incidents whose
 * `tenants` include one of the token's tenant ids, whatever the filters
 * say; the filters narrow inside the scope, never widen it. A cursor is a
 * position only: the filters and the scope apply again on every page, so
 * a cursor from another request, or a forged one, can skip or repeat but
 * never show an incident the scope excludes.
 *
 * Ownership: a filter owns copies of its strings (export streams outlive
 * the request). Threading: one request's thread at a time.
 */
#ifndef CR_FILTER_H
#define CR_FILTER_H

#include "engine/serve/tokens.h"
#include "engine/store/store.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define CR_FILTER_MAX_VALUES 32

struct cr_filter_values {
    char *v[CR_FILTER_MAX_VALUES];
    int n;
};

enum cr_sort {
    CR_SORT_FIRST_SEEN_DESC,
    CR_SORT_FIRST_SEEN,
    CR_SORT_LAST_SEEN_DESC,
    CR_SORT_LAST_SEEN,
    CR_SORT_PRIORITY,
    CR_SORT_LEVEL,
};

struct cr_filter {
    int64_t from_ms, to_ms;
    struct cr_filter_values category, rule, level, priority, status, tenant, system, entity;
    char *text;  /* q, folded to lower case */
    int overdue; /* -1 either, 0 not overdue, 1 overdue */
    int sort;    /* enum cr_sort */
    size_t page_size;
    /* the cursor: past (key, first_seen, id) in the sort's order */
    int has_cursor;
    int64_t cursor_key, cursor_ts;
    char cursor_id[33];
    const struct cr_token *scope; /* the caller; a tenant's ids bound every match */
};

void cr_filter_init(struct cr_filter *f, const struct cr_token *scope);
void cr_filter_free(struct cr_filter *f);
/* One parameter. Returns 0, or -1 with the reason in err. */
int cr_filter_param(struct cr_filter *f, const char *key, const char *value, char *err,
                    size_t errlen);

/* After the last parameter: the checks between them (a cursor of another
 * sort, from after to). 0, or -1 with the reason. */
int cr_filter_done(const struct cr_filter *f, char *err, size_t errlen);

/* Does the scope let the caller see inc at all? */
int cr_filter_in_scope(const struct cr_filter *f, const json_t *inc);
/* Scope and every filter (now_ms for overdue). */
int cr_filter_match(const struct cr_filter *f, const json_t *inc, int64_t now_ms);
/* A cheap test on the stored bytes before parsing: 0 when inc cannot
 * match (a value the filter needs is not in its JSON at all). */
int cr_filter_maybe(const struct cr_filter *f, const char *json, size_t len);

/* The store query that walks the fewest incidents for f (an index, the
 * time bounds, the cursor for a first_seen order). Strings borrowed from f. */
void cr_filter_store_query(const struct cr_filter *f, struct cr_query *q);
/* The sort key of inc under f's order (smaller first). */
int64_t cr_filter_sort_key(const struct cr_filter *f, const json_t *inc);

/* The cursor that resumes after inc: base64url text (buf >= 96). */
void cr_filter_cursor(const struct cr_filter *f, const json_t *inc, char *buf, size_t len);

/* What a tenant token sees of inc (a new reference): the incident with
 * `tenants` and `systems` cut to its own. Other roles: inc itself. */
json_t *cr_filter_view(const struct cr_filter *f, json_t *inc);

#endif
