/*
 * api.c - the incident endpoints: lists, one incident, its evidence, the
 * moves, who am I, and the audit log's two read endpoints. (server.h has
 * the table.)
 *
 * A page is a walk of the store (cr_store_query) through the index the
 * filter picks, each incident tested first on its bytes (a value a filter
 * needs that is not in the JSON at all) and only then parsed and matched.
 * first_seen orders come straight off the index, so a first page stops
 * after page_size + 1 matches; the other orders collect every match's
 * sort key and id, sort, and read back only the page's incidents.
 */
#include "engine/serve/report.h"
#include "engine/serve/http.h"

#include "engine/grade/lifecycle.h"
#include "engine/store/incident.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_id(const char *s, size_t n)
{
    if (n != 32)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* The incident by id if the caller may see it: NULL for "no such" and
 * "not yours" alike (a tenant cannot tell them apart). */
static json_t *visible(struct cr_server *s, const struct cr_filter *scope, const char *id)
{
    char *j = NULL;
    if (cr_store_get_incident(s->b.store, id, &j, NULL) != 0)
        return NULL;
    json_t *o = json_loads(j, 0, NULL);
    free(j);
    if (o && !cr_filter_in_scope(scope, o)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The view of inc for the caller: a tenant's cut (filter.h), and the
 * root-cause links only to incidents it may see. */
static json_t *view(struct cr_server *s, const struct cr_filter *f, json_t *inc, int full)
{
    json_t *v = cr_filter_view(f, inc);
    if (f->scope && f->scope->role == CR_ROLE_TENANT) {
        if (v == inc) {
            json_decref(v);
            v = json_deep_copy(inc);
        }
        const char *parent = json_string_value(json_object_get(v, "parent"));
        if (parent) {
            json_t *p = visible(s, f, parent);
            if (!p)
                json_object_del(v, "parent");
            json_decref(p);
        }
        json_t *ch = json_object_get(v, "children");
        if (json_is_array(ch)) {
            json_t *keep = json_array();
            for (size_t i = 0; i < json_array_size(ch); i++) {
                const char *cid = json_string_value(json_array_get(ch, i));
                json_t *c = cid ? visible(s, f, cid) : NULL;
                if (c)
                    json_array_append_new(keep, json_string(cid));
                json_decref(c);
            }
            json_object_set_new(v, "children", keep);
        }
    }
    if (!full) {
        if (v == inc) {
            json_decref(v);
            v = json_deep_copy(inc);
        }
        json_object_del(v, "evidence");
        json_object_del(v, "history");
    }
    return v;
}

/* ---- pages ------------------------------------------------------------------ */

struct hit {
    int64_t key, ts;
    char id[33];
};

struct walk {
    struct cr_server *s;
    struct cr_filter *f;
    int64_t now;
    json_t *items; /* first_seen orders: the page itself */
    int full;
    size_t n;
    json_t *last;     /* the page's last incident (for the cursor) */
    int more;         /* a match past the page */
    struct hit *hits; /* other orders: every match */
    size_t nhits, cap;
    int oom;
};

static int on_incident(const char *json, size_t len, void *arg)
{
    struct walk *w = arg;
    if (!cr_filter_maybe(w->f, json, len))
        return 0;
    json_t *o = json_loadb(json, len, 0, NULL);
    if (!o)
        return 0;
    if (!cr_filter_match(w->f, o, w->now)) {
        json_decref(o);
        return 0;
    }
    if (w->hits || w->f->sort > CR_SORT_FIRST_SEEN) {
        if (w->nhits == w->cap) {
            size_t cap = w->cap ? w->cap * 2 : 1024;
            struct hit *h = realloc(w->hits, cap * sizeof *h);
            if (!h) {
                w->oom = 1;
                json_decref(o);
                return 1;
            }
            w->hits = h;
            w->cap = cap;
        }
        struct hit *h = &w->hits[w->nhits++];
        h->key = cr_filter_sort_key(w->f, o);
        h->ts = cr_json_time(o, "first_seen");
        snprintf(h->id, sizeof h->id, "%s", json_string_value(json_object_get(o, "id")));
        json_decref(o);
        return 0;
    }
    if (w->n == w->f->page_size) {
        w->more = 1;
        json_decref(o);
        return 1;
    }
    json_array_append_new(w->items, view(w->s, w->f, o, w->full));
    json_decref(w->last);
    w->last = o;
    w->n++;
    return 0;
}

/* Other orders: key ascending, then newest first_seen, then id. */
static int hit_cmp(const void *a, const void *b)
{
    const struct hit *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->ts != y->ts)
        return x->ts > y->ts ? -1 : 1;
    return strcmp(x->id, y->id);
}

int cr_api_page(struct cr_server *s, struct cr_filter *f, json_t *items, int full, char *next,
                size_t nextlen, char *err, size_t errlen)
{
    struct walk w = {s, f, cr_http_now(s), items, full, 0, NULL, 0, NULL, 0, 0, 0};
    struct cr_query q;
    cr_filter_store_query(f, &q);
    next[0] = 0;
    int rc = cr_store_query(s->b.store, &q, on_incident, &w);
    if (rc != 0 || w.oom) {
        snprintf(err, errlen, "%s", w.oom ? "out of memory sorting" : cr_store_errmsg(s->b.store));
        json_decref(w.last);
        free(w.hits);
        return -1;
    }
    if (f->sort <= CR_SORT_FIRST_SEEN) {
        if (w.more && w.last)
            cr_filter_cursor(f, w.last, next, nextlen);
        json_decref(w.last);
        return 0;
    }
    qsort(w.hits, w.nhits, sizeof *w.hits, hit_cmp);
    size_t i = 0;
    if (f->has_cursor) {
        struct hit c = {f->cursor_key, f->cursor_ts, ""};
        snprintf(c.id, sizeof c.id, "%s", f->cursor_id);
        while (i < w.nhits && hit_cmp(&w.hits[i], &c) <= 0)
            i++;
    }
    size_t end = i + f->page_size < w.nhits ? i + f->page_size : w.nhits;
    json_t *last = NULL;
    for (; i < end; i++) {
        json_t *o = visible(s, f, w.hits[i].id);
        if (!o)
            continue; /* changed since the walk: let the next page say */
        json_array_append_new(items, view(s, f, o, full));
        json_decref(last);
        last = o;
    }
    if (end < w.nhits && last)
        cr_filter_cursor(f, last, next, nextlen);
    json_decref(last);
    free(w.hits);
    return 0;
}

static void list(struct cr_req *r)
{
    struct cr_filter f;
    cr_filter_init(&f, r->tok);
    r->action = "query";
    r->detail = cr_http_query_text(r);
    if (cr_http_filter(r, &f, NULL) != 0) {
        cr_filter_free(&f);
        return;
    }
    json_t *items = json_array();
    char next[200], err[512];
    if (cr_api_page(r->srv, &f, items, 0, next, sizeof next, err, sizeof err) != 0) {
        json_decref(items);
        cr_filter_free(&f);
        return cr_http_error(r, 500, "reading the store: %s", err);
    }
    json_t *o = json_object();
    json_object_set_new(o, "items", items);
    json_object_set_new(o, "next_cursor", next[0] ? json_string(next) : json_null());
    json_object_set_new(o, "page_size", json_integer((json_int_t)f.page_size));
    cr_filter_free(&f);
    cr_http_reply_json(r, 200, o);
}

static void one(struct cr_req *r, const char *id, int evidence_only)
{
    struct cr_filter scope;
    cr_filter_init(&scope, r->tok);
    r->action = evidence_only ? "evidence" : "read";
    json_t *o = visible(r->srv, &scope, id);
    if (!o)
        return cr_http_error(r, 404, "no incident %s", id);
    json_t *v = view(r->srv, &scope, o, 1);
    json_decref(o);
    if (evidence_only) {
        json_t *e = json_object_get(v, "evidence");
        json_t *out = json_object();
        json_object_set_new(out, "id", json_string(id));
        json_object_set(out, "evidence", e ? e : json_null());
        json_decref(v);
        v = out;
    }
    cr_http_reply_json(r, 200, v);
}

/* ---- moves ------------------------------------------------------------------ */

static const char *body_str(json_t *b, const char *k)
{
    return json_string_value(json_object_get(b, k));
}

static void act(struct cr_req *r, const char *id, const char *verb)
{
    struct cr_action a = {.kind = cr_action_parse(verb), .role = r->tok->role, .state = -1};
    r->action = verb;
    if (a.kind < 0)
        return cr_http_error(r, 404,
                             "no such action '%s' (ack, transition, note, confirm-level, "
                             "input, regrade)",
                             verb);
    snprintf(a.id, sizeof a.id, "%s", id);
    snprintf(a.actor, sizeof a.actor, "%s", r->tok->name);
    json_t *body = NULL;
    if (r->body_len) {
        json_error_t je;
        body = json_loadb(r->body, r->body_len, 0, &je);
        if (!json_is_object(body)) {
            json_decref(body);
            return cr_http_error(r, 400, "the body is not a JSON object: %s (line %d)", je.text,
                                 je.line);
        }
    }
    const char *note = body_str(body, "note"), *to = body_str(body, "to"),
               *level = body_str(body, "level"), *input = body_str(body, "input");
    const char *known[] = {"note", "to", "level", "input"};
    const char *k;
    json_t *val;
    json_object_foreach(body, k, val)
    {
        int ok = 0;
        for (size_t i = 0; i < 4; i++)
            ok |= !strcmp(k, known[i]) && json_is_string(val);
        if (!ok) {
            cr_http_error(r, 400, "unknown or non-string member '%s' (note, to, level, input)",
                          k); /* k belongs to body: the reply first */
            json_decref(body);
            return;
        }
    }
    if (note && strlen(note) >= sizeof a.note) {
        json_decref(body);
        return cr_http_error(r, 400, "note: at most %zu bytes", sizeof a.note - 1);
    }
    snprintf(a.note, sizeof a.note, "%s", note ? note : "");
    char detail[256] = "";
    const char *bad = NULL;
    if (a.kind == CR_ACT_TRANSITION && (!to || (a.state = cr_state_parse(to)) < 0))
        bad = "transition needs {\"to\": STATE} (acknowledged, graded, reported, on_site, "
              "mitigated, restored, resolved, verified_by_tenant, closed, summary_filed)";
    else if (a.kind == CR_ACT_CONFIRM_LEVEL &&
             (!level || (a.level = cr_reg_level_parse(level)) <= 0))
        bad = "confirm-level needs {\"level\": \"I\"|\"II\"|\"III\"|\"IV\"}";
    else if (a.kind == CR_ACT_NOTE && !a.note[0])
        bad = "note needs {\"note\": TEXT}";
    else if (a.kind == CR_ACT_INPUT && (!input || strlen(input) >= sizeof a.input))
        bad = "input needs {\"input\": \"KEY=VALUE\"}";
    if (input)
        snprintf(a.input, sizeof a.input, "%s", input);
    snprintf(detail, sizeof detail, "%.60s%s%.160s",
             to      ? to
             : level ? level
             : input ? input
                     : "",
             a.note[0] ? " note: " : "", a.note);
    json_decref(body); /* to, level, input and note pointed into it */
    r->detail = strdup(detail);
    if (bad)
        return cr_http_error(r, 400, "%s", bad);
    char why[512];
    if (cr_action_permitted(&a, why, sizeof why) != 0)
        return cr_http_error(r, 403, "%s", why);
    struct cr_filter scope;
    cr_filter_init(&scope, r->tok);
    json_t *cur = visible(r->srv, &scope, id);
    if (!cur)
        return cr_http_error(r, 404, "no incident %s", id);
    json_decref(cur);
    if (!r->srv->b.act)
        return cr_http_error(r, 409,
                             "this server reads the store only: %s writes it; act "
                             "through its API (serve.listen in its config)",
                             r->srv->b.writer ? r->srv->b.writer : "another process");
    /* the entry first: a move that cannot be recorded is not made */
    if (cr_http_audit_now(r, 200) != 0)
        return;
    char *now_json = NULL;
    int rc = r->srv->b.act(r->srv->b.arg, &a, &now_json, why, sizeof why);
    if (rc == CR_ACTION_DONE || rc == CR_ACTION_UNCHANGED) {
        atomic_fetch_add(&r->srv->stats.actions, rc == CR_ACTION_DONE);
        json_t *o = now_json ? json_loads(now_json, 0, NULL) : NULL;
        free(now_json);
        if (!o)
            return cr_http_error(r, 500, "the incident was changed but cannot be read back");
        json_t *v = view(r->srv, &scope, o, 1);
        json_decref(o);
        return cr_http_reply_json(r, 200, v);
    }
    /* The entry said 200 before the outcome was known; a second entry
     * records the refusal, so the log tells what happened. */
    r->audited = 0;
    r->action = rc == CR_ACTION_REFUSED     ? "refused"
                : rc == CR_ACTION_FORBIDDEN ? "forbidden"
                                            : "failed";
    int st = rc == CR_ACTION_REFUSED     ? 409
             : rc == CR_ACTION_FORBIDDEN ? 403
             : rc == CR_ACTION_NOTFOUND  ? 404
                                         : 500;
    cr_http_error(r, st, "%s", why);
}

/* ---- whoami, audit ------------------------------------------------------------ */

static void whoami(struct cr_req *r)
{
    r->action = "whoami";
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(r->tok->name));
    json_object_set_new(o, "role", json_string(cr_role_name(r->tok->role)));
    json_t *t = json_array();
    for (int i = 0; i < r->tok->ntenants; i++)
        json_array_append_new(t, json_string(r->tok->tenants[i]));
    json_object_set_new(o, "tenants", t);
    json_object_set_new(o, "read_only", json_boolean(!r->srv->b.act));
    cr_http_reply_json(r, 200, o);
}

struct audit_page {
    json_t *items;
    uint64_t from, seq;
    size_t limit;
};

static int audit_line(const char *line, size_t len, void *arg)
{
    struct audit_page *p = arg;
    if (++p->seq < p->from)
        return 0;
    json_t *o = json_loadb(line, len, 0, NULL);
    if (o)
        json_array_append_new(p->items, o);
    return json_array_size(p->items) >= p->limit;
}

static void audit(struct cr_req *r, int verify)
{
    r->action = verify ? "audit_verify" : "audit_read";
    if (r->tok->role != CR_ROLE_SUPERVISOR && r->tok->role != CR_ROLE_ADMIN)
        return cr_http_error(r, 403,
                             "the audit log is the supervisor's and the administrator's "
                             "to read, not the %s role's",
                             cr_role_name(r->tok->role));
    char err[512];
    if (verify) {
        uint64_t n = 0;
        char head[65];
        json_t *o = json_object();
        int ok = cr_audit_verify(r->srv->b.audit_path, &n, head, err, sizeof err) == 0;
        json_object_set_new(o, "intact", json_boolean(ok));
        if (ok) {
            json_object_set_new(o, "entries", json_integer((json_int_t)n));
            json_object_set_new(o, "head", json_string(head));
        } else {
            json_object_set_new(o, "error", json_string(err));
        }
        return cr_http_reply_json(r, 200, o);
    }
    struct audit_page p = {json_array(), 1, 0, 100};
    const char *from = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "from_seq");
    const char *lim = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "limit");
    char *end;
    if (from && (p.from = strtoull(from, &end, 10), !*from || *end)) {
        json_decref(p.items);
        return cr_http_error(r, 400, "from_seq: '%s' is not a number", from);
    }
    if (lim &&
        (p.limit = strtoull(lim, &end, 10), !*lim || *end || p.limit < 1 || p.limit > 10000)) {
        json_decref(p.items);
        return cr_http_error(r, 400, "limit: '%s' is not a number from 1 to 10000", lim);
    }
    if (cr_audit_each(r->srv->b.audit_path, audit_line, &p, err, sizeof err) != 0) {
        json_decref(p.items);
        return cr_http_error(r, 500, "%s", err);
    }
    json_t *o = json_object();
    json_object_set_new(o, "items", p.items);
    cr_http_reply_json(r, 200, o);
}

/* GET /api/v1/report?from=&to=&FILTERS&format=json|html: the service
 * report (report.h) over the caller's scope. Without from/to: the 30 days
 * before to (or now). */
static void report(struct cr_req *r)
{
    struct cr_filter f;
    cr_filter_init(&f, r->tok);
    r->action = "report";
    r->detail = cr_http_query_text(r);
    if (cr_http_filter(r, &f, "format") != 0) {
        cr_filter_free(&f);
        return;
    }
    const char *fmt = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "format");
    if (fmt && strcmp(fmt, "json") && strcmp(fmt, "html")) {
        cr_filter_free(&f);
        return cr_http_error(r, 400, "format: '%s' is not json or html", fmt);
    }
    int64_t now = cr_http_now(r->srv);
    if (f.to_ms == INT64_MAX)
        f.to_ms = now;
    if (f.from_ms == INT64_MIN)
        f.from_ms = f.to_ms - 30 * 86400000LL;
    struct cr_grade_policy defaults;
    const struct cr_grade_policy *p = r->srv->b.policy;
    if (!p) {
        cr_grade_policy_defaults(&defaults);
        p = &defaults;
    }
    char err[512];
    json_t *rep = cr_report_build(r->srv->b.store, &f, f.from_ms, f.to_ms, now, p, err, sizeof err);
    cr_filter_free(&f);
    if (!rep)
        return cr_http_error(r, 500, "the report: %s", err);
    if (fmt && !strcmp(fmt, "html")) {
        size_t len;
        char *html = cr_report_html(rep, &len);
        json_decref(rep);
        if (!html)
            return cr_http_error(r, 500, "the report: out of memory");
        return cr_http_reply(r, 200, "text/html; charset=utf-8", html, len);
    }
    cr_http_reply_json(r, 200, rep);
}

void cr_api_handle(struct cr_req *r, const char *path)
{
    int get = !strcmp(r->method, "GET") || !strcmp(r->method, "HEAD");
    int post = !strcmp(r->method, "POST");
    snprintf(r->target, sizeof r->target, "%.79s", path);
    if (!strcmp(path, "whoami"))
        return get ? whoami(r) : cr_http_error(r, 405, "whoami answers GET");
    if (!strcmp(path, "audit") || !strcmp(path, "audit/verify")) {
        if (!get)
            return cr_http_error(r, 405, "the audit log is read-only: nothing may change it");
        return audit(r, path[5] == '/');
    }
    if (!strcmp(path, "report"))
        return get ? report(r) : cr_http_error(r, 405, "report answers GET");
    if (!strcmp(path, "incidents")) {
        if (!get)
            return cr_http_error(r, 405,
                                 "incidents answers GET; a move is POST "
                                 "/api/v1/incidents/ID/ACTION");
        return list(r);
    }
    if (!strncmp(path, "incidents/", 10)) {
        const char *id = path + 10, *slash = strchr(id, '/');
        size_t idlen = slash ? (size_t)(slash - id) : strlen(id);
        r->action = "read";
        if (!is_id(id, idlen))
            return cr_http_error(r, 404, "no incident %.*s (an id is 32 hex digits)",
                                 (int)(idlen > 40 ? 40 : idlen), id);
        snprintf(r->target, sizeof r->target, "%.32s", id);
        char idz[33];
        memcpy(idz, id, 32);
        idz[32] = 0;
        if (!slash)
            return get ? one(r, idz, 0) : cr_http_error(r, 405, "an incident answers GET");
        if (!strcmp(slash + 1, "evidence"))
            return get ? one(r, idz, 1) : cr_http_error(r, 405, "evidence answers GET");
        if (!post)
            return cr_http_error(r, 405, "a move is POST");
        return act(r, idz, slash + 1);
    }
    r->action = "unknown";
    cr_http_error(r, 404, "no such endpoint: /api/v1/%s", path);
}
