/*
 * filter.c - see filter.h.
 */
#include "engine/serve/filter.h"

#include "base/timeparse.h"
#include "engine/grade/lifecycle.h"
#include "engine/store/incident.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_DEFAULT 50
#define PAGE_MAX 1000

void cr_filter_init(struct cr_filter *f, const struct cr_token *scope)
{
    memset(f, 0, sizeof *f);
    f->from_ms = INT64_MIN;
    f->to_ms = INT64_MAX;
    f->overdue = -1;
    f->sort = CR_SORT_FIRST_SEEN_DESC;
    f->page_size = PAGE_DEFAULT;
    f->scope = scope;
}

static void values_free(struct cr_filter_values *v)
{
    for (int i = 0; i < v->n; i++)
        free(v->v[i]);
    v->n = 0;
}

void cr_filter_free(struct cr_filter *f)
{
    struct cr_filter_values *all[] = {&f->category, &f->priority, &f->rule,   &f->level,
                                      &f->status,   &f->tenant,   &f->system, &f->entity};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        values_free(all[i]);
    free(f->text);
    f->text = NULL;
}

#define BAD(...)                                                                                   \
    do {                                                                                           \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
        return -1;                                                                                 \
    } while (0)

static int add(struct cr_filter_values *v, const char *key, const char *val, char *err,
               size_t errlen)
{
    if (v->n == CR_FILTER_MAX_VALUES)
        BAD("%s: at most %d values", key, CR_FILTER_MAX_VALUES);
    if (!(v->v[v->n] = strdup(val)))
        BAD("out of memory");
    v->n++;
    return 0;
}

/* base64url without padding */
static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void b64_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out[o++] = b64[v >> 18 & 63];
        out[o++] = b64[v >> 12 & 63];
        if (i + 1 < n)
            out[o++] = b64[v >> 6 & 63];
        if (i + 2 < n)
            out[o++] = b64[v & 63];
    }
    out[o] = 0;
}

static int b64_decode(const char *in, unsigned char *out, size_t cap, size_t *n)
{
    size_t len = strlen(in), o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        const char *p = memchr(b64, in[i], 64);
        if (!p || !in[i])
            return -1;
        acc = acc << 6 | (uint32_t)(p - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o == cap)
                return -1;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    *n = o;
    return 0;
}

static const char *const sort_names[] = {"-first_seen", "first_seen", "-last_seen",
                                         "last_seen",   "priority",   "reg_level"};

static int parse_cursor(struct cr_filter *f, const char *s, char *err, size_t errlen)
{
    unsigned char raw[128];
    size_t n = 0;
    if (strlen(s) > 160 || b64_decode(s, raw, sizeof raw - 1, &n) != 0)
        BAD("cursor: not a cursor this API gave");
    raw[n] = 0;
    int sort;
    long long key, ts;
    char id[33];
    int used = 0;
    if (sscanf((char *)raw, "v1 %d %lld %lld %32[0-9a-f]%n", &sort, &key, &ts, id, &used) != 4 ||
        (size_t)used != n || strlen(id) != 32 || sort < 0 || sort > CR_SORT_LEVEL)
        BAD("cursor: not a cursor this API gave");
    f->has_cursor = 1 + sort; /* its sort, checked by cr_filter_done */
    f->cursor_key = key;
    f->cursor_ts = ts;
    memcpy(f->cursor_id, id, 33);
    return 0;
}

static int is_entity_name(const char *s)
{
    if (!*s || strlen(s) > 31)
        return 0;
    for (; *s; s++)
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_' || *s == '.'))
            return 0;
    return 1;
}

int cr_filter_param(struct cr_filter *f, const char *key, const char *val, char *err, size_t errlen)
{
    if (!val)
        val = "";
    if (!strcmp(key, "from") || !strcmp(key, "to")) {
        if (cr_time_parse(val, !strcmp(key, "from") ? &f->from_ms : &f->to_ms) != 0)
            BAD("%s: '%s' is not a time (RFC 3339, YYYY-MM-DD or -2h)", key, val);
        return 0;
    }
    if (!strcmp(key, "category")) {
        if (!*val)
            BAD("category: a category or a prefix, e.g. S-ATK or S-ATK-BRUTE");
        return add(&f->category, key, val, err, errlen);
    }
    if (!strcmp(key, "rule") || !strcmp(key, "tenant") || !strcmp(key, "system")) {
        if (!*val)
            BAD("%s: a value is needed", key);
        return add(!strcmp(key, "rule")     ? &f->rule
                   : !strcmp(key, "tenant") ? &f->tenant
                                            : &f->system,
                   key, val, err, errlen);
    }
    if (!strcmp(key, "reg_level")) {
        if (cr_reg_level_parse(val) <= 0)
            BAD("reg_level: '%s' is not I, II, III or IV", val);
        return add(&f->level, key, val, err, errlen);
    }
    if (!strcmp(key, "priority")) {
        if (!((val[0] == 'P' || val[0] == 'p') && val[1] >= '1' && val[1] <= '4' && !val[2]))
            BAD("priority: '%s' is not P1, P2, P3 or P4", val);
        char p[3] = {'P', val[1], 0};
        return add(&f->priority, key, p, err, errlen);
    }
    if (!strcmp(key, "status")) {
        if (cr_state_parse(val) < 0)
            BAD("status: unknown state '%s' (detected, acknowledged, graded, reported, on_site, "
                "mitigated, restored, resolved, verified_by_tenant, closed, summary_filed)",
                val);
        return add(&f->status, key, val, err, errlen);
    }
    if (!strcmp(key, "entity") || !strcmp(key, "src_ip") || !strcmp(key, "dst_ip") ||
        !strcmp(key, "host") || !strcmp(key, "user")) {
        char kv[512];
        if (!strcmp(key, "entity")) {
            const char *eq = strchr(val, '=');
            char name[64];
            snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - val) : 0, val);
            if (!eq || !is_entity_name(name) || !eq[1])
                BAD("entity: '%s' is not NAME=VALUE (src_ip=203.0.113.5)", val);
            snprintf(kv, sizeof kv, "%s", val);
        } else {
            if (!*val)
                BAD("%s: a value is needed", key);
            snprintf(kv, sizeof kv, "%s=%s", key, val);
        }
        return add(&f->entity, "entity", kv, err, errlen);
    }
    if (!strcmp(key, "overdue")) {
        if (!strcmp(val, "true") || !strcmp(val, "1"))
            f->overdue = 1;
        else if (!strcmp(val, "false") || !strcmp(val, "0"))
            f->overdue = 0;
        else
            BAD("overdue: '%s' is not true or false", val);
        return 0;
    }
    if (!strcmp(key, "q")) {
        if (strlen(val) > 256)
            BAD("q: at most 256 bytes");
        free(f->text);
        if (!(f->text = strdup(val)))
            BAD("out of memory");
        for (char *p = f->text; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        return 0;
    }
    if (!strcmp(key, "sort")) {
        for (int i = 0; i <= CR_SORT_LEVEL; i++)
            if (!strcmp(val, sort_names[i])) {
                f->sort = i;
                return 0;
            }
        BAD("sort: '%s' is not one of -first_seen, first_seen, -last_seen, last_seen, "
            "priority, reg_level",
            val);
    }
    if (!strcmp(key, "page_size")) {
        char *end;
        long n = strtol(val, &end, 10);
        if (!*val || *end || n < 1 || n > PAGE_MAX)
            BAD("page_size: '%s' is not a number from 1 to %d", val, PAGE_MAX);
        f->page_size = (size_t)n;
        return 0;
    }
    if (!strcmp(key, "cursor"))
        return parse_cursor(f, val, err, errlen);
    BAD("unknown parameter '%s' (from, to, category, rule, reg_level, priority, status, tenant, "
        "system, entity, src_ip, dst_ip, host, user, overdue, q, sort, page_size, cursor)",
        key);
}

/* ---- matching ------------------------------------------------------------ */

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static int any_equal(const struct cr_filter_values *v, const char *s)
{
    for (int i = 0; i < v->n; i++)
        if (!strcmp(v->v[i], s))
            return 1;
    return 0;
}

static int in_array(const json_t *arr, const char *s)
{
    for (size_t i = 0; i < json_array_size(arr); i++)
        if (!strcmp(json_string_value(json_array_get(arr, i))
                        ? json_string_value(json_array_get(arr, i))
                        : "",
                    s))
            return 1;
    return 0;
}

int cr_filter_in_scope(const struct cr_filter *f, const json_t *inc)
{
    if (!f->scope || f->scope->role != CR_ROLE_TENANT)
        return 1;
    const json_t *ts = json_object_get(inc, "tenants");
    for (int i = 0; i < f->scope->ntenants; i++)
        if (in_array(ts, f->scope->tenants[i]))
            return 1;
    return 0;
}

static int category_matches(const struct cr_filter_values *v, const char *cat)
{
    for (int i = 0; i < v->n; i++) {
        size_t n = strlen(v->v[i]);
        if (!strncmp(cat, v->v[i], n) && (cat[n] == 0 || cat[n] == '-' || v->v[i][n - 1] == '-'))
            return 1;
    }
    return 0;
}

static int entities_match(const struct cr_filter_values *v, const json_t *ents)
{
    /* every name given must match one of its values */
    for (int i = 0; i < v->n; i++) {
        const char *eq = strchr(v->v[i], '=');
        size_t nl = (size_t)(eq - v->v[i]);
        int seen_before = 0, hit = 0;
        for (int j = 0; j < i; j++)
            if (!strncmp(v->v[j], v->v[i], nl + 1))
                seen_before = 1;
        if (seen_before)
            continue;
        for (int j = i; j < v->n && !hit; j++) {
            if (strncmp(v->v[j], v->v[i], nl + 1))
                continue;
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)nl, v->v[i]);
            const char *have = json_string_value(json_object_get(ents, name));
            hit = have && !strcmp(have, v->v[j] + nl + 1);
        }
        if (!hit)
            return 0;
    }
    return 1;
}

static int systems_match(const struct cr_filter_values *v, const json_t *systems)
{
    for (size_t i = 0; i < json_array_size(systems); i++)
        if (any_equal(v, str(json_array_get(systems, i), "id")))
            return 1;
    return 0;
}

int cr_filter_match(const struct cr_filter *f, const json_t *inc, int64_t now_ms)
{
    if (!cr_filter_in_scope(f, inc))
        return 0;
    if (f->category.n && !category_matches(&f->category, str(inc, "category")))
        return 0;
    if (f->rule.n && !any_equal(&f->rule, str(inc, "rule")))
        return 0;
    if (f->level.n && !any_equal(&f->level, str(inc, "reg_level")))
        return 0;
    if (f->priority.n && !any_equal(&f->priority, str(inc, "priority")))
        return 0;
    if (f->status.n && !any_equal(&f->status, cr_state_name(cr_incident_state(inc))))
        return 0;
    if (f->tenant.n) {
        int hit = 0;
        for (int i = 0; i < f->tenant.n && !hit; i++)
            hit = in_array(json_object_get(inc, "tenants"), f->tenant.v[i]);
        if (!hit)
            return 0;
    }
    if (f->system.n && !systems_match(&f->system, json_object_get(inc, "systems")))
        return 0;
    if (f->entity.n && !entities_match(&f->entity, json_object_get(inc, "entities")))
        return 0;
    if (f->text) {
        const char *t = str(inc, "title");
        size_t n = strlen(t), m = strlen(f->text);
        int hit = m == 0;
        for (size_t i = 0; i + m <= n && !hit; i++) {
            size_t j = 0;
            while (j < m && tolower((unsigned char)t[i + j]) == f->text[j])
                j++;
            hit = j == m;
        }
        if (!hit)
            return 0;
    }
    if (f->overdue >= 0) {
        json_t *od = cr_incident_overdue(inc, now_ms);
        int late = json_array_size(od) > 0;
        json_decref(od);
        if (late != f->overdue)
            return 0;
    }
    if (f->from_ms != INT64_MIN || f->to_ms != INT64_MAX) {
        int64_t fs = cr_json_time(inc, "first_seen"), ls = cr_json_time(inc, "last_seen");
        if (ls < f->from_ms || fs > f->to_ms)
            return 0;
    }
    return 1;
}

/* "value" (quoted, as JSON writes a plain string) is somewhere in json. */
static int has_quoted(const char *json, size_t len, const char *v)
{
    char q[300];
    int n = snprintf(q, sizeof q, "\"%s\"", v);
    if (n <= 0 || (size_t)n >= sizeof q)
        return 1; /* long or odd: let the parse decide */
    for (const char *p = v; *p; p++)
        if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20 || (unsigned char)*p >= 0x80)
            return 1; /* JSON may escape it */
    return memmem(json, len, q, (size_t)n) != NULL;
}

static int any_quoted(const char *json, size_t len, const struct cr_filter_values *v)
{
    for (int i = 0; i < v->n; i++)
        if (has_quoted(json, len, v->v[i]))
            return 1;
    return 0;
}

int cr_filter_maybe(const struct cr_filter *f, const char *json, size_t len)
{
    if (f->scope && f->scope->role == CR_ROLE_TENANT) {
        int hit = 0;
        for (int i = 0; i < f->scope->ntenants && !hit; i++)
            hit = has_quoted(json, len, f->scope->tenants[i]);
        if (!hit)
            return 0;
    }
    const struct cr_filter_values *exact[] = {&f->rule, &f->level, &f->tenant, &f->system,
                                              &f->status};
    for (size_t i = 0; i < sizeof exact / sizeof *exact; i++)
        if (exact[i]->n && !any_quoted(json, len, exact[i]))
            return 0;
    return 1;
}

void cr_filter_store_query(const struct cr_filter *f, struct cr_query *q)
{
    struct cr_query all = CR_QUERY_ALL;
    *q = all;
    q->since_ms = f->from_ms;
    q->until_ms = f->to_ms;
    if (f->entity.n == 1)
        q->entity = f->entity.v[0];
    if (f->priority.n == 1)
        q->priority = f->priority.v[0];
    q->ascending = f->sort == CR_SORT_FIRST_SEEN;
    if (f->has_cursor && (f->sort == CR_SORT_FIRST_SEEN || f->sort == CR_SORT_FIRST_SEEN_DESC)) {
        q->after_ts = f->cursor_ts;
        q->after_id = f->cursor_id;
    }
}

static int level_rank(const char *s)
{
    int l = cr_reg_level_parse(s);
    return l > 0 ? l : 5;
}

int64_t cr_filter_sort_key(const struct cr_filter *f, const json_t *inc)
{
    switch (f->sort) {
    case CR_SORT_LAST_SEEN:
        return cr_json_time(inc, "last_seen");
    case CR_SORT_LAST_SEEN_DESC:
        return -cr_json_time(inc, "last_seen");
    case CR_SORT_PRIORITY: {
        const char *p = str(inc, "priority");
        return p[0] == 'P' && p[1] >= '1' && p[1] <= '4' ? p[1] - '0' : 5;
    }
    case CR_SORT_LEVEL:
        return level_rank(str(inc, "reg_level"));
    default:
        return 0;
    }
}

void cr_filter_cursor(const struct cr_filter *f, const json_t *inc, char *buf, size_t len)
{
    char raw[128];
    int n = snprintf(raw, sizeof raw, "v1 %d %lld %lld %s", f->sort,
                     (long long)cr_filter_sort_key(f, inc),
                     (long long)cr_json_time(inc, "first_seen"), str(inc, "id"));
    char out[200];
    b64_encode((const unsigned char *)raw, (size_t)n, out);
    snprintf(buf, len, "%s", out);
}

json_t *cr_filter_view(const struct cr_filter *f, json_t *inc)
{
    if (!f->scope || f->scope->role != CR_ROLE_TENANT) {
        json_incref(inc);
        return inc;
    }
    json_t *v = json_deep_copy(inc);
    json_t *ts = json_array(), *sys = json_array();
    json_t *old = json_object_get(v, "tenants");
    for (size_t i = 0; i < json_array_size(old); i++) {
        const char *t = json_string_value(json_array_get(old, i));
        if (t && cr_token_has_tenant(f->scope, t))
            json_array_append_new(ts, json_string(t));
    }
    json_t *os = json_object_get(v, "systems");
    for (size_t i = 0; i < json_array_size(os); i++) {
        json_t *s = json_array_get(os, i);
        const char *t = json_string_value(json_object_get(s, "tenant"));
        if (!t || cr_token_has_tenant(f->scope, t))
            json_array_append(sys, s);
    }
    json_object_set_new(v, "tenants", ts);
    json_object_set_new(v, "systems", sys);
    return v;
}

int cr_filter_done(const struct cr_filter *f, char *err, size_t errlen)
{
    if (f->has_cursor && f->has_cursor - 1 != f->sort)
        BAD("cursor: it continues a list sorted by %s, not %s", sort_names[f->has_cursor - 1],
            sort_names[f->sort]);
    if (f->from_ms != INT64_MIN && f->to_ms != INT64_MAX && f->from_ms > f->to_ms)
        BAD("from is after to");
    return 0;
}
