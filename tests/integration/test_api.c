/*
 * test_api.c - the HTTP API of `corral serve` over loopback, on a store
 * the real engine made from the generated corpus with the default pack
 * and inventory (graded incidents of several tenants).
 *
 * The expected answers are not written down: each filter's result is
 * compared with the test's own reading of the store (`corral query
 * --format ndjson`, every incident, filtered here by the definition in
 * engine/serve/filter.h). Pages are followed through their cursors. Every
 * role is tried on every endpoint; a tenant token is tried on every path
 * to another tenant's incident (list, filters, id, evidence, moves,
 * exports, cursors); every error answers its status with a reason; the
 * audit log holds one entry per request and `corral audit verify` finds a
 * changed or removed line.
 */
#include "httptest.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#define ADMIN "admin-token-000000000000001"
#define OPER "operator-token-0000000000002"
#define SUPER "supervisor-token-00000000003"
#define EDU "tenant-edu-token-00000000004"
#define HRH "tenant-hr-health-token-00005"

static char *tmp;
static struct cr_test_server srv;
static json_t *all; /* every stored incident, newest first_seen first */

static const char *TOKENS =
    "tokens:\n"
    "  - {name: zhang.admin, role: administrator, token: " ADMIN "}\n"
    "  - {name: li.wei, role: operator, token: " OPER "}\n"
    "  - {name: jl.audit, role: supervisor, token: " SUPER "}\n"
    "  - {name: edu-portal, role: tenant, tenants: [t-edu], token: " EDU "}\n"
    "  - {name: hr-health, role: tenant, tenants: [t-hr, t-health], "
    "token: " HRH "}\n";

static json_t *ndjson(const char *text)
{
    json_t *arr = json_array();
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n) {
            json_t *o = json_loadb(p, n, 0, NULL);
            cr_assert_not_null(o, "a line that is not JSON: %.*s", (int)n, p);
            json_array_append_new(arr, o);
        }
        p += n + (nl ? 1 : 0);
    }
    return arr;
}

/* Serve the store; now: the server's wall clock (CORRAL_NOW) or NULL. */
static void serve_at(const char *now)
{
    if (now)
        setenv("CORRAL_NOW", now, 1);
    cr_assert_eq(cr_test_serve(&srv, tmp, "serve",
                               "serve --store '%s/st' --tokens '%s/tokens.yaml' --listen "
                               "127.0.0.1:0 -c '%s'",
                               tmp, tmp, cr_test_source_path("configs/corral.yaml")),
                 0, "corral serve did not start: %s", cr_test_slurp(srv.log, NULL));
    unsetenv("CORRAL_NOW");
}

static void serve(void) { serve_at(NULL); }

static void setup(void)
{
    tmp = cr_test_tmpdir();
    char path[4200], cmd[8192];
    snprintf(path, sizeof path, "%s/tokens.yaml", tmp);
    cr_assert_eq(cr_test_write_file(path, TOKENS, strlen(TOKENS)), 0);
    snprintf(cmd, sizeof cmd, "'%s' --seed 42 --lines 100000 --out '%s/c.log' --truth '%s/t.jsonl'",
             CORRAL_GEN_CORPUS, tmp, tmp);
    cr_assert_eq(cr_test_run(cmd, NULL), 0);
    snprintf(cmd, sizeof cmd, "'%s' run -c '%s' --input '%s/c.log' --store '%s/st' --quiet 2>&1",
             CORRAL_BINARY, cr_test_source_path("configs/corral.yaml"), tmp, tmp);
    char *out = NULL;
    cr_assert_eq(cr_test_run(cmd, &out), 0, "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' query --store '%s/st' --format ndjson", CORRAL_BINARY, tmp);
    cr_assert_eq(cr_test_run(cmd, &out), 0);
    all = ndjson(out);
    free(out);
    cr_assert_gt(json_array_size(all), 20, "the corpus makes incidents");
}

static void teardown(void)
{
    cr_test_serve_stop(&srv);
    json_decref(all);
    cr_test_rmtree(tmp);
    free(tmp);
}

TestSuite(api, .init = setup, .fini = teardown, .timeout = 240);

/* ---- helpers -------------------------------------------------------------- */

static json_t *get_json(const char *token, const char *path, long want)
{
    char *out = NULL;
    long st = cr_test_http(&srv, "GET", path, token, NULL, &out, NULL, 0);
    cr_assert_eq(st, want, "GET %s: %ld, not %ld: %s", path, st, want, out);
    json_t *o = json_loads(out, 0, NULL);
    cr_assert_not_null(o, "GET %s: not JSON: %s", path, out);
    free(out);
    return o;
}

static json_t *post_json(const char *token, const char *path, const char *body, long want)
{
    char *out = NULL;
    long st = cr_test_http(&srv, "POST", path, token, body, &out, NULL, 0);
    cr_assert_eq(st, want, "POST %s %s: %ld, not %ld: %s", path, body, st, want, out);
    json_t *o = json_loads(out, 0, NULL);
    cr_assert_not_null(o, "POST %s: not JSON: %s", path, out);
    free(out);
    return o;
}

/* Every page of a list, following next_cursor: the ids in order. */
static json_t *list_ids(const char *token, const char *query)
{
    json_t *ids = json_array();
    char path[4096], cursor[256] = "";
    for (int page = 0; page < 200; page++) {
        snprintf(path, sizeof path, "/api/v1/incidents?page_size=5%s%s%s%s", *query ? "&" : "",
                 query, cursor[0] ? "&cursor=" : "", cursor);
        json_t *o = get_json(token, path, 200);
        json_t *items = json_object_get(o, "items");
        cr_assert(json_is_array(items));
        cr_assert_leq(json_array_size(items), 5);
        for (size_t i = 0; i < json_array_size(items); i++) {
            json_t *it = json_array_get(items, i);
            cr_assert_null(json_object_get(it, "evidence"), "lists leave the evidence out");
            json_array_append(ids, json_object_get(it, "id"));
        }
        const char *next = json_string_value(json_object_get(o, "next_cursor"));
        if (!next) {
            json_decref(o);
            return ids;
        }
        cr_assert_eq(json_array_size(items), 5, "a page before the last is full");
        snprintf(cursor, sizeof cursor, "%s", next);
        json_decref(o);
    }
    cr_assert_fail("more than 200 pages");
    return NULL;
}

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static int has(const json_t *arr, const char *s)
{
    for (size_t i = 0; i < json_array_size(arr); i++)
        if (!strcmp(json_string_value(json_array_get(arr, i)), s))
            return 1;
    return 0;
}

typedef int (*pred)(const json_t *inc, const void *arg);

/* The ids of `all` that pass p, in stored (newest first) order. */
static json_t *oracle(pred p, const void *arg)
{
    json_t *ids = json_array();
    for (size_t i = 0; i < json_array_size(all); i++) {
        json_t *o = json_array_get(all, i);
        if (p(o, arg))
            json_array_append(ids, json_object_get(o, "id"));
    }
    return ids;
}

static void same_ids(json_t *got, json_t *want, const char *what)
{
    if (strcmp(what, "not on a part boundary") && strcmp(what, "filters combine"))
        cr_expect_gt(json_array_size(want), 0, "%s: the corpus has such incidents", what);
    char *g = json_dumps(got, JSON_COMPACT), *w = json_dumps(want, JSON_COMPACT);
    cr_expect_str_eq(g, w, "%s:\n got  %s\n want %s", what, g, w);
    free(g);
    free(w);
    json_decref(got);
    json_decref(want);
}

static int p_all(const json_t *o, const void *a)
{
    (void)o;
    (void)a;
    return 1;
}
static int p_cat_prefix(const json_t *o, const void *a)
{
    const char *c = str(o, "category"), *pre = a;
    size_t n = strlen(pre);
    return !strncmp(c, pre, n) && (c[n] == 0 || c[n] == '-');
}
static int p_member(const json_t *o, const void *a)
{
    const char *const *kv = a; /* {member, value} */
    return !strcmp(str(o, kv[0]), kv[1]);
}
static int p_two_prios(const json_t *o, const void *a)
{
    (void)a;
    return !strcmp(str(o, "priority"), "P1") || !strcmp(str(o, "priority"), "P2");
}
static int p_tenant(const json_t *o, const void *a)
{
    return has(json_object_get(o, "tenants"), a);
}
static int p_tenants(const json_t *o, const void *a)
{
    const char *const *t = a;
    for (; *t; t++)
        if (has(json_object_get(o, "tenants"), *t))
            return 1;
    return 0;
}
static int p_system(const json_t *o, const void *a)
{
    json_t *s = json_object_get(o, "systems");
    for (size_t i = 0; i < json_array_size(s); i++)
        if (!strcmp(str(json_array_get(s, i), "id"), a))
            return 1;
    return 0;
}
static int p_entity(const json_t *o, const void *a)
{
    const char *const *kv = a;
    return !strcmp(str(json_object_get(o, "entities"), kv[0]), kv[1]);
}
static int p_text(const json_t *o, const void *a) { return strcasestr(str(o, "title"), a) != NULL; }
static int p_level_and_tenant(const json_t *o, const void *a)
{
    (void)a;
    return !strcmp(str(o, "reg_level"), "IV") && has(json_object_get(o, "tenants"), "t-edu") &&
           !strcmp(str(o, "status"), "detected");
}

/* The most common value of a member among all incidents (one that occurs). */
static const char *common(const char *member, const char *sub)
{
    static char best[128];
    int bestn = 0;
    for (size_t i = 0; i < json_array_size(all); i++) {
        json_t *o = json_array_get(all, i);
        const char *v = sub ? str(json_object_get(o, member), sub) : str(o, member);
        if (!*v)
            continue;
        int n = 0;
        for (size_t j = 0; j < json_array_size(all); j++) {
            json_t *x = json_array_get(all, j);
            n += !strcmp(sub ? str(json_object_get(x, member), sub) : str(x, member), v);
        }
        if (n > bestn) {
            bestn = n;
            snprintf(best, sizeof best, "%s", v);
        }
    }
    cr_assert_geq(bestn, 1, "some incident has a %s", member);
    return best;
}

/* ---- tests ------------------------------------------------------------------ */

Test(api, every_filter_matches_an_independent_reading_page_by_page)
{
    serve();
    same_ids(list_ids(OPER, ""), oracle(p_all, NULL), "no filter");
    same_ids(list_ids(OPER, "category=S-ATK"), oracle(p_cat_prefix, "S-ATK"), "category prefix");
    same_ids(list_ids(OPER, "category=S-ATK-BRUTE"), oracle(p_cat_prefix, "S-ATK-BRUTE"),
             "category");
    same_ids(list_ids(OPER, "category=S-AT"), json_array(), "not on a part boundary");
    char q[512];
    const char *rule = common("rule", NULL);
    const char *rule_kv[] = {"rule", rule};
    snprintf(q, sizeof q, "rule=%s", rule);
    same_ids(list_ids(OPER, q), oracle(p_member, rule_kv), "rule");
    const char *lv[] = {"reg_level", "IV"};
    same_ids(list_ids(OPER, "reg_level=IV"), oracle(p_member, lv), "reg_level");
    same_ids(list_ids(OPER, "priority=P1&priority=p2"), oracle(p_two_prios, NULL),
             "repeated priority: either");
    const char *st[] = {"status", "detected"};
    same_ids(list_ids(OPER, "status=detected"), oracle(p_member, st), "status");
    same_ids(list_ids(OPER, "tenant=t-edu"), oracle(p_tenant, "t-edu"), "tenant");
    same_ids(list_ids(OPER, "system=social-security"), oracle(p_system, "social-security"),
             "system");
    const char *ip = common("entities", "src_ip");
    const char *ip_kv[] = {"src_ip", ip};
    snprintf(q, sizeof q, "src_ip=%s", ip);
    same_ids(list_ids(OPER, q), oracle(p_entity, ip_kv), "src_ip");
    snprintf(q, sizeof q, "entity=src_ip=%s", ip);
    same_ids(list_ids(OPER, q), oracle(p_entity, ip_kv), "entity=");
    const char *host = common("entities", "host");
    const char *host_kv[] = {"host", host};
    snprintf(q, sizeof q, "host=%s", host);
    same_ids(list_ids(OPER, q), oracle(p_entity, host_kv), "host");
    same_ids(list_ids(OPER, "q=SUDO"), oracle(p_text, "sudo"), "free text, any case");
    same_ids(list_ids(OPER, "reg_level=IV&tenant=t-edu&status=detected"),
             oracle(p_level_and_tenant, NULL), "filters combine");

    /* time: from bounds last_seen, to bounds first_seen */
    json_t *mid = json_array_get(all, json_array_size(all) / 2);
    snprintf(q, sizeof q, "to=%s", str(mid, "first_seen"));
    json_t *got = list_ids(OPER, q);
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(all); i++)
        n += strcmp(str(json_array_get(all, i), "first_seen"), str(mid, "first_seen")) <= 0;
    cr_expect_eq(json_array_size(got), n, "to=");
    json_decref(got);
    snprintf(q, sizeof q, "from=%s", str(mid, "last_seen"));
    got = list_ids(OPER, q);
    n = 0;
    for (size_t i = 0; i < json_array_size(all); i++)
        n += strcmp(str(json_array_get(all, i), "last_seen"), str(mid, "last_seen")) >= 0;
    cr_expect_eq(json_array_size(got), n, "from=");
    json_decref(got);

    /* oldest first is the reverse; the other orders hold their key */
    json_t *asc = list_ids(OPER, "sort=first_seen"), *desc = oracle(p_all, NULL);
    json_t *rev = json_array();
    for (size_t i = json_array_size(desc); i > 0; i--)
        json_array_append(rev, json_array_get(desc, i - 1));
    json_decref(desc);
    /* ties in first_seen are ordered by id, both ways: the exact reverse */
    same_ids(asc, rev, "sort=first_seen");
    const char *sorts[] = {"priority", "reg_level", "-last_seen", "last_seen"};
    for (size_t s = 0; s < 4; s++) {
        snprintf(q, sizeof q, "sort=%s", sorts[s]);
        json_t *ids = list_ids(OPER, q);
        cr_expect_eq(json_array_size(ids), json_array_size(all), "%s: every incident once", q);
        const char *member = s == 0 ? "priority" : s == 1 ? "reg_level" : "last_seen";
        char prev[64] = "";
        for (size_t i = 0; i < json_array_size(ids); i++) {
            const char *id = json_string_value(json_array_get(ids, i));
            const char *v = "";
            for (size_t j = 0; j < json_array_size(all); j++)
                if (!strcmp(str(json_array_get(all, j), "id"), id))
                    v = str(json_array_get(all, j), member);
            /* P1 < P2 ..., and for levels I < II < III < IV (by rank) */
            static const char *const rank[] = {"I", "II", "III", "IV"};
            int a = 0, b = 0;
            if (s == 1)
                for (int k = 0; k < 4; k++) {
                    a = !strcmp(prev, rank[k]) ? k + 1 : a;
                    b = !strcmp(v, rank[k]) ? k + 1 : b;
                }
            if (i)
                cr_expect(s == 1   ? a <= b
                          : s == 2 ? strcmp(prev, v) >= 0
                                   : strcmp(prev, v) <= 0,
                          "%s: %s then %s", q, prev, v);
            snprintf(prev, sizeof prev, "%s", v);
        }
        json_decref(ids);
    }
}

Test(api, roles_and_tokens_on_every_endpoint)
{
    serve();
    const char *id = str(json_array_get(all, 0), "id");
    char one[128], ev[160], ack[160];
    snprintf(one, sizeof one, "/api/v1/incidents/%s", id);
    snprintf(ev, sizeof ev, "%s/evidence", one);
    snprintf(ack, sizeof ack, "%s/note", one);
    const char *paths[] = {"/api/v1/incidents",
                           one,
                           ev,
                           "/api/v1/export?format=csv",
                           "/api/v1/whoami",
                           "/api/v1/audit",
                           "/api/v1/nothing-here"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        char *out = NULL;
        cr_expect_eq(cr_test_http(&srv, "GET", paths[i], NULL, NULL, &out, NULL, 0), 401,
                     "%s without a token", paths[i]);
        free(out);
        cr_expect_eq(cr_test_http(&srv, "GET", paths[i], "not-a-token-of-the-file-at-all", NULL,
                                  &out, NULL, 0),
                     401, "%s with a wrong token", paths[i]);
        free(out);
    }
    char *out = NULL;
    cr_expect_eq(cr_test_http(&srv, "POST", ack, NULL, "{\"note\":\"x\"}", &out, NULL, 0), 401);
    free(out);
    /* open: health and metrics */
    json_t *h = get_json(NULL, "/healthz", 200);
    cr_expect_str_eq(str(h, "status"), "ok");
    json_decref(h);
    cr_expect_eq(cr_test_http(&srv, "GET", "/metrics", NULL, NULL, &out, NULL, 0), 200);
    free(out);

    /* who am I */
    json_t *w = get_json(HRH, "/api/v1/whoami", 200);
    cr_expect_str_eq(str(w, "role"), "tenant");
    cr_expect_eq(json_array_size(json_object_get(w, "tenants")), 2);
    json_decref(w);
    /* the supervisor reads everything and moves nothing */
    same_ids(list_ids(SUPER, ""), oracle(p_all, NULL), "the supervisor reads all");
    json_decref(post_json(SUPER, ack, "{\"note\":\"seen\"}", 403));
    snprintf(ack, sizeof ack, "%s/ack", one);
    json_decref(post_json(SUPER, ack, NULL, 403));
    /* level confirmation is the administrator's */
    snprintf(ack, sizeof ack, "%s/confirm-level", one);
    json_decref(post_json(OPER, ack, "{\"level\":\"III\"}", 403));
    /* grading inputs are not a tenant's */
    snprintf(ack, sizeof ack, "%s/input", one);
    json_decref(post_json(SUPER, ack, "{\"input\":\"pi_records=10\"}", 403));
    /* the audit log is the supervisor's and administrator's */
    json_decref(get_json(OPER, "/api/v1/audit", 403));
    json_decref(get_json(EDU, "/api/v1/audit/verify", 403));
    json_t *a = get_json(SUPER, "/api/v1/audit?limit=3", 200);
    cr_expect_eq(json_array_size(json_object_get(a, "items")), 3);
    json_decref(a);
    a = get_json(ADMIN, "/api/v1/audit/verify", 200);
    cr_expect(json_is_true(json_object_get(a, "intact")));
    json_decref(a);
    /* nothing writes the audit log through the API */
    cr_expect_eq(cr_test_http(&srv, "POST", "/api/v1/audit", ADMIN, "{}", &out, NULL, 0), 405);
    free(out);
    cr_expect_eq(cr_test_http(&srv, "DELETE", "/api/v1/audit", ADMIN, NULL, &out, NULL, 0), 405);
    free(out);
}

/* An incident of a tenant other than t-edu's, and one of t-edu's. */
static const char *pick(int edu)
{
    for (size_t i = 0; i < json_array_size(all); i++) {
        json_t *o = json_array_get(all, i);
        int mine = has(json_object_get(o, "tenants"), "t-edu");
        if (edu ? mine : !mine && json_array_size(json_object_get(o, "tenants")) > 0)
            return str(o, "id");
    }
    cr_assert_fail("no such incident in the corpus");
    return NULL;
}

Test(api, a_tenant_never_reads_another_tenants_incident)
{
    serve();
    /* lists, with and without filters that point elsewhere */
    same_ids(list_ids(EDU, ""), oracle(p_tenant, "t-edu"), "t-edu sees its own");
    const char *hrh[] = {"t-hr", "t-health", NULL};
    same_ids(list_ids(HRH, ""), oracle(p_tenants, hrh), "two tenants: either");
    json_t *none = list_ids(EDU, "tenant=t-hr");
    for (size_t i = 0; i < json_array_size(none); i++) {
        const char *id = json_string_value(json_array_get(none, i));
        for (size_t j = 0; j < json_array_size(all); j++)
            if (!strcmp(str(json_array_get(all, j), "id"), id))
                cr_expect(has(json_object_get(json_array_get(all, j), "tenants"), "t-edu"),
                          "a filter narrows inside the scope, never widens it");
    }
    json_decref(none);
    /* what a tenant sees of a shared incident: its own tenants and systems */
    json_t *l = get_json(EDU, "/api/v1/incidents?page_size=1000", 200);
    json_t *items = json_object_get(l, "items");
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i);
        json_t *ts = json_object_get(it, "tenants");
        for (size_t k = 0; k < json_array_size(ts); k++)
            cr_expect_str_eq(json_string_value(json_array_get(ts, k)), "t-edu");
        json_t *sys = json_object_get(it, "systems");
        for (size_t k = 0; k < json_array_size(sys); k++) {
            const char *t = str(json_array_get(sys, k), "tenant");
            cr_expect(!*t || !strcmp(t, "t-edu"), "a system of %s shown to t-edu", t);
        }
    }
    json_decref(l);

    /* by id: the same 404 as an id that does not exist */
    const char *other = pick(0), *mine = pick(1);
    char path[256], *a = NULL, *b = NULL;
    snprintf(path, sizeof path, "/api/v1/incidents/%s", other);
    cr_expect_eq(cr_test_http(&srv, "GET", path, EDU, NULL, &a, NULL, 0), 404);
    cr_expect_eq(cr_test_http(&srv, "GET", "/api/v1/incidents/0123456789abcdef0123456789abcdef",
                              EDU, NULL, &b, NULL, 0),
                 404);
    cr_expect(strstr(a, other) && strstr(b, "0123456789abcdef"), "%s / %s", a, b);
    free(a);
    free(b);
    snprintf(path, sizeof path, "/api/v1/incidents/%s/evidence", other);
    json_decref(get_json(EDU, path, 404));
    snprintf(path, sizeof path, "/api/v1/incidents/%s/note", other);
    json_decref(post_json(EDU, path, "{\"note\":\"is this ours?\"}", 404));
    snprintf(path, sizeof path, "/api/v1/incidents/%s/transition", other);
    json_decref(post_json(EDU, path, "{\"to\":\"verified_by_tenant\"}", 404));
    /* its own: readable, with evidence, and it may add a note */
    snprintf(path, sizeof path, "/api/v1/incidents/%s", mine);
    json_t *o = get_json(EDU, path, 200);
    cr_expect(json_is_object(json_object_get(o, "evidence")));
    json_decref(o);
    snprintf(path, sizeof path, "/api/v1/incidents/%s/note", mine);
    json_decref(post_json(EDU, path, "{\"note\":\"our students report the portal is slow\"}", 200));
    snprintf(path, sizeof path, "/api/v1/incidents/%s/ack", mine);
    json_decref(post_json(EDU, path, NULL, 403));

    /* exports: only its own, in every format */
    const char *fmts[] = {"ndjson", "ocsf", "csv"};
    for (int f = 0; f < 3; f++) {
        char *out = NULL, ct[128];
        snprintf(path, sizeof path, "/api/v1/export?format=%s", fmts[f]);
        cr_assert_eq(cr_test_http(&srv, "GET", path, EDU, NULL, &out, ct, sizeof ct), 200);
        json_t *want = oracle(p_tenant, "t-edu");
        size_t lines = 0;
        for (const char *p = out; (p = strchr(p, '\n')); p++)
            lines++;
        cr_expect_eq(lines, json_array_size(want) + (f == 2), "%s: %s", fmts[f], out);
        for (size_t i = 0; i < json_array_size(all); i++) {
            json_t *x = json_array_get(all, i);
            if (!has(json_object_get(x, "tenants"), "t-edu"))
                cr_expect(!strstr(out, str(x, "id")), "%s export holds %s", fmts[f], str(x, "id"));
        }
        json_decref(want);
        free(out);
    }
    /* a cursor from the operator's list resumes inside the tenant's scope */
    json_t *op = get_json(OPER, "/api/v1/incidents?page_size=3", 200);
    const char *cur = str(op, "next_cursor");
    cr_assert(*cur);
    snprintf(path, sizeof path, "/api/v1/incidents?page_size=1000&cursor=%s", cur);
    json_t *t = get_json(EDU, path, 200);
    items = json_object_get(t, "items");
    for (size_t i = 0; i < json_array_size(items); i++)
        cr_expect(has(json_object_get(json_array_get(items, i), "tenants"), "t-edu"));
    json_decref(t);
    json_decref(op);
    /* a forged cursor is refused, not followed */
    json_decref(get_json(EDU, "/api/v1/incidents?cursor=djEgMCAwIDAgbm90LWFuLWlk", 400));
}

Test(api, every_error_has_its_status_and_a_reason)
{
    serve();
    struct {
        const char *path;
        long status;
        const char *reason;
    } cases[] = {
        {"/api/v1/incidents?from=yesterday-ish", 400, "not a time"},
        {"/api/v1/incidents?reg_level=V", 400, "not I, II, III or IV"},
        {"/api/v1/incidents?priority=P9", 400, "not P1"},
        {"/api/v1/incidents?status=sleeping", 400, "unknown state"},
        {"/api/v1/incidents?page_size=0", 400, "page_size"},
        {"/api/v1/incidents?page_size=5000", 400, "page_size"},
        {"/api/v1/incidents?sort=title", 400, "sort"},
        {"/api/v1/incidents?overdue=maybe", 400, "overdue"},
        {"/api/v1/incidents?entity=nonsense", 400, "NAME=VALUE"},
        {"/api/v1/incidents?colour=red", 400, "unknown parameter 'colour'"},
        {"/api/v1/incidents?cursor=%%%%", 400, "cursor"},
        {"/api/v1/incidents?from=2026-03-03&to=2026-03-01", 400, "from is after to"},
        {"/api/v1/export?format=xlsx", 400, "not ndjson, csv or ocsf"},
        {"/api/v1/export?sort=priority", 400, "first_seen order"},
        {"/api/v1/incidents/not-an-id", 404, "32 hex digits"},
        {"/api/v1/incidents/ffffffffffffffffffffffffffffffff", 404, "no incident"},
        {"/api/v1/nowhere", 404, "no such endpoint"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *out = NULL;
        long st = cr_test_http(&srv, "GET", cases[i].path, OPER, NULL, &out, NULL, 0);
        cr_expect_eq(st, cases[i].status, "%s: %ld %s", cases[i].path, st, out);
        cr_expect(strstr(out, cases[i].reason), "%s: '%s' not in %s", cases[i].path,
                  cases[i].reason, out);
        free(out);
    }
    /* a cursor of one order does not continue another */
    json_t *p = get_json(OPER, "/api/v1/incidents?page_size=2", 200);
    char path[512];
    snprintf(path, sizeof path, "/api/v1/incidents?sort=priority&cursor=%s", str(p, "next_cursor"));
    json_t *e = get_json(OPER, path, 400);
    cr_expect(strstr(str(e, "error"), "sorted by -first_seen"), "%s", str(e, "error"));
    json_decref(e);
    json_decref(p);
    /* moves */
    const char *id = str(json_array_get(all, 0), "id");
    char mv[160];
    snprintf(mv, sizeof mv, "/api/v1/incidents/%s/transition", id);
    e = post_json(OPER, mv, "{\"to\":", 400);
    cr_expect(strstr(str(e, "error"), "not a JSON object"), "%s", str(e, "error"));
    json_decref(e);
    json_decref(post_json(OPER, mv, "{}", 400));
    json_decref(post_json(OPER, mv, "{\"to\":\"resolved\",\"colour\":\"red\"}", 400));
    json_decref(post_json(OPER, mv, "{\"to\":\"asleep\"}", 400));
    e = post_json(OPER, mv, "{\"to\":\"closed\"}", 409);
    cr_expect(strstr(str(e, "error"), "needs resolved first"), "%s", str(e, "error"));
    json_decref(e);
    snprintf(mv, sizeof mv, "/api/v1/incidents/%s/dance", id);
    json_decref(post_json(OPER, mv, "{}", 404));
    snprintf(mv, sizeof mv, "/api/v1/incidents/%s", id);
    char *out = NULL;
    cr_expect_eq(cr_test_http(&srv, "DELETE", mv, OPER, NULL, &out, NULL, 0), 405);
    free(out);
    /* a body past 64 KiB */
    size_t big = 70 * 1024;
    char *body = malloc(big + 32);
    snprintf(body, 16, "{\"note\":\"");
    memset(body + 9, 'x', big);
    strcpy(body + 9 + big, "\"}");
    snprintf(mv, sizeof mv, "/api/v1/incidents/%s/note", id);
    cr_expect_eq(cr_test_http(&srv, "POST", mv, OPER, body, &out, NULL, 0), 413, "%s", out);
    free(out);
    free(body);
}

Test(api, moves_are_the_command_lines_and_every_request_is_audited)
{
    serve();
    const char *id = pick(1);
    char path[256];
    snprintf(path, sizeof path, "/api/v1/incidents/%s/ack", id);
    json_t *o = post_json(OPER, path, "{\"note\":\"on it\"}", 200);
    cr_expect_str_eq(str(o, "status"), "acknowledged");
    json_t *hist = json_object_get(o, "history");
    json_t *last = json_array_get(hist, json_array_size(hist) - 1);
    cr_expect_str_eq(str(last, "actor"), "li.wei");
    cr_expect_str_eq(str(last, "role"), "operator");
    cr_expect_str_eq(str(last, "note"), "on it");
    json_decref(o);
    json_decref(post_json(OPER, path, NULL, 409)); /* already acknowledged */
    snprintf(path, sizeof path, "/api/v1/incidents/%s/transition", id);
    json_decref(post_json(OPER, path, "{\"to\":\"resolved\",\"note\":\"patched\"}", 200));
    /* the tenant verifies, the administrator confirms the level */
    json_decref(post_json(EDU, path, "{\"to\":\"verified_by_tenant\"}", 200));
    snprintf(path, sizeof path, "/api/v1/incidents/%s/confirm-level", id);
    o = post_json(ADMIN, path, "{\"level\":\"III\",\"note\":\"CII system\"}", 200);
    cr_expect_str_eq(str(o, "reg_level"), "III");
    cr_expect_str_eq(str(o, "confirmed_by"), "zhang.admin");
    json_decref(o);
    /* the list filters on the new state */
    snprintf(path, sizeof path, "/api/v1/incidents?status=verified_by_tenant&reg_level=III");
    o = get_json(SUPER, path, 200);
    cr_expect_eq(json_array_size(json_object_get(o, "items")), 1);
    json_decref(o);
    cr_assert_eq(cr_test_serve_stop(&srv), 0, "a clean stop after SIGTERM");

    /* the command line sees what the API did */
    char cmd[8192], *out = NULL;
    snprintf(cmd, sizeof cmd, "'%s' incident show %s --store '%s/st'", CORRAL_BINARY, id, tmp);
    cr_assert_eq(cr_test_run(cmd, &out), 0);
    o = json_loads(out, 0, NULL);
    cr_assert_not_null(o, "%s", out);
    cr_expect_str_eq(str(o, "status"), "verified_by_tenant");
    cr_expect_str_eq(str(o, "reg_level_confirmed"), "III");
    json_decref(o);
    free(out);

    /* one audit entry per request, chained; the moves name who and what */
    snprintf(cmd, sizeof cmd, "'%s' audit verify --store '%s/st'", CORRAL_BINARY, tmp);
    cr_assert_eq(cr_test_run(cmd, &out), 0, "%s", out);
    cr_expect(strstr(out, "intact, 7 entries"), "%s", out);
    free(out);
    snprintf(path, sizeof path, "%s/st/audit.log", tmp);
    char *log = cr_test_slurp(path, NULL);
    cr_assert_not_null(log);
    cr_expect(strstr(log, "\"actor\":\"li.wei\",\"role\":\"operator\",\"action\":\"ack\""), "%s",
              log);
    cr_expect(strstr(log, "\"action\":\"confirm-level\""), "%s", log);
    cr_expect(strstr(log, "\"action\":\"ack\",\"target\":\"") && strstr(log, "\"result\":409"),
              "the refused second ack is recorded: %s", log);
    /* a changed line breaks the chain there */
    char *bad = strdup(log);
    char *at = strstr(bad, "\"actor\":\"li.wei\"");
    cr_assert_not_null(at);
    memcpy(at + 9, "wang", 4); /* li.wei -> wangei */
    cr_assert_eq(cr_test_write_file(path, bad, strlen(bad)), 0);
    snprintf(cmd, sizeof cmd, "'%s' audit verify --store '%s/st' 2>&1", CORRAL_BINARY, tmp);
    cr_expect_eq(cr_test_run(cmd, &out), 1);
    cr_expect(strstr(out, "audit.log:") && strstr(out, "was changed"), "%s", out);
    free(out);
    /* a removed line too */
    char *second = strchr(log, '\n') + 1;
    char *third = strchr(second, '\n') + 1;
    memmove(second, third, strlen(third) + 1);
    cr_assert_eq(cr_test_write_file(path, log, strlen(log)), 0);
    cr_expect_eq(cr_test_run(cmd, &out), 1);
    cr_expect(strstr(out, ":2: the chain breaks here"), "%s", out);
    free(out);
    free(bad);
    free(log);
}

Test(api, read_only_when_another_process_writes)
{
    /* another writer holds the store */
    char lock[4200];
    snprintf(lock, sizeof lock, "%s/st/writer.lock", tmp);
    int fd = open(lock, O_RDWR | O_CREAT, 0644);
    cr_assert_geq(fd, 0);
    cr_assert_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
    cr_assert_eq(ftruncate(fd, 0), 0);
    cr_assert_eq(write(fd, "4242\n", 5), 5);
    serve();
    json_t *h = get_json(NULL, "/healthz", 200);
    cr_expect(json_is_true(json_object_get(h, "read_only")));
    cr_expect(strstr(str(h, "writer"), "pid 4242"), "%s", str(h, "writer"));
    json_decref(h);
    /* reads work, moves say who writes */
    same_ids(list_ids(OPER, ""), oracle(p_all, NULL), "a read-only server reads");
    char path[256];
    snprintf(path, sizeof path, "/api/v1/incidents/%s/ack", str(json_array_get(all, 0), "id"));
    json_t *e = post_json(OPER, path, NULL, 409);
    cr_expect(strstr(str(e, "error"), "pid 4242"), "%s", str(e, "error"));
    json_decref(e);
    close(fd);
}

Test(api, metrics_in_prometheus_text)
{
    serve();
    char *out = NULL, ct[128];
    cr_assert_eq(cr_test_http(&srv, "GET", "/metrics", NULL, NULL, &out, ct, sizeof ct), 200);
    cr_expect(strstr(ct, "text/plain; version=0.0.4"), "%s", ct);
    size_t incidents = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') {
            cr_expect(!strncmp(line, "# HELP corral_", 14) || !strncmp(line, "# TYPE corral_", 14),
                      "%s", line);
            continue;
        }
        cr_expect(!strncmp(line, "corral_", 7), "every name starts corral_: %s", line);
        const char *sp = strrchr(line, ' ');
        cr_assert_not_null(sp, "%s", line);
        char *end;
        strtod(sp + 1, &end);
        cr_expect(*end == 0, "a number ends the line: %s", line);
        if (!strncmp(line, "corral_incidents{", 17))
            incidents += strtoull(sp + 1, NULL, 10);
        if (!strncmp(line, "corral_store_incidents_stored ", 30))
            cr_expect_eq(strtoull(sp + 1, NULL, 10), json_array_size(all));
    }
    cr_expect_eq(incidents, json_array_size(all), "by category, level and state: all of them");
    free(out);
}

Test(api, overdue_is_the_command_lines_overdue)
{
    /* two P3 incidents acknowledged now; three hours on, the others are
     * late to be acknowledged (2 h) and these two are not late yet (on
     * site within 4 h) */
    serve();
    int acked = 0;
    for (size_t i = 0; i < json_array_size(all) && acked < 2; i++) {
        json_t *o = json_array_get(all, i);
        if (strcmp(str(o, "priority"), "P3"))
            continue;
        char path[128];
        snprintf(path, sizeof path, "/api/v1/incidents/%s/ack", str(o, "id"));
        json_decref(post_json(OPER, path, NULL, 200));
        acked++;
    }
    cr_assert_eq(acked, 2);
    cr_assert_eq(cr_test_serve_stop(&srv), 0);
    char now[64], cmd[8192], *out = NULL;
    time_t t = time(NULL) + 3 * 3600;
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    serve_at(now);
    snprintf(cmd, sizeof cmd, "CORRAL_NOW=%s '%s' query --store '%s/st' --overdue --format ndjson",
             now, CORRAL_BINARY, tmp);
    cr_assert_eq(cr_test_run(cmd, &out), 0);
    json_t *late = ndjson(out), *want = json_array();
    free(out);
    for (size_t i = 0; i < json_array_size(late); i++)
        json_array_append(want, json_object_get(json_array_get(late, i), "id"));
    size_t nlate = json_array_size(late);
    cr_assert_gt(nlate, 0);
    same_ids(list_ids(OPER, "overdue=true"), want, "overdue=true");
    json_t *got = list_ids(OPER, "overdue=false");
    cr_expect_geq(json_array_size(got), 2, "the acknowledged two are not late");
    cr_expect_eq(json_array_size(got) + nlate, json_array_size(all), "overdue=false is the rest");
    json_decref(got);
    json_decref(late);
    /* and /metrics counts them */
    cr_assert_eq(cr_test_http(&srv, "GET", "/metrics", NULL, NULL, &out, NULL, 0), 200);
    char line[96];
    snprintf(line, sizeof line, "corral_open_incidents_overdue %zu\n", nlate);
    cr_expect(strstr(out, line), "%s not in %s", line, out);
    free(out);
}

Test(api, the_command_line_asks_a_running_server)
{
    serve();
    char tf[4200], cmd[16384], *out = NULL;
    const char *who[] = {OPER, EDU, SUPER};
    for (int i = 0; i < 3; i++) {
        snprintf(tf, sizeof tf, "%s/token-%d", tmp, i);
        cr_assert_eq(cr_test_write_file(tf, who[i], strlen(who[i])), 0);
    }
    /* the same incidents as the store gives, in the same order */
    snprintf(cmd, sizeof cmd, "'%s' query --server %s --token-file '%s/token-0' --format ndjson",
             CORRAL_BINARY, srv.url, tmp);
    cr_assert_eq(cr_test_run(cmd, &out), 0, "%s", out);
    json_t *got = ndjson(out), *ids = json_array();
    free(out);
    for (size_t i = 0; i < json_array_size(got); i++)
        json_array_append(ids, json_object_get(json_array_get(got, i), "id"));
    json_decref(got);
    same_ids(ids, oracle(p_all, NULL), "query --server");
    /* a tenant's token: its own */
    snprintf(cmd, sizeof cmd,
             "'%s' query --server %s --token-file '%s/token-1' --format csv --status detected",
             CORRAL_BINARY, srv.url, tmp);
    cr_assert_eq(cr_test_run(cmd, &out), 0, "%s", out);
    int rows = 0;
    for (char *l = strtok(out, "\r\n"); l; l = strtok(NULL, "\r\n"))
        if (rows++)
            cr_expect(strstr(l, ",t-edu"), "a row of another tenant: %s", l);
    cr_expect_gt(rows, 1);
    free(out);
    /* a move, and the incident as the server has it */
    const char *id = pick(1);
    snprintf(cmd, sizeof cmd,
             "'%s' incident ack %s --server %s --token-file '%s/token-0' --note 'from the shell' "
             "2>&1",
             CORRAL_BINARY, id, srv.url, tmp);
    cr_assert_eq(cr_test_run(cmd, &out), 0, "%s", out);
    cr_expect(strstr(out, "acknowledged (ack by li.wei)"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' incident show %s --server %s --token-file '%s/token-1'",
             CORRAL_BINARY, id, srv.url, tmp);
    cr_assert_eq(cr_test_run(cmd, &out), 0, "%s", out);
    json_t *o = json_loads(out, 0, NULL);
    cr_expect_str_eq(str(o, "status"), "acknowledged");
    json_decref(o);
    free(out);
    /* refusals come back with the server's reason */
    snprintf(cmd, sizeof cmd,
             "'%s' incident transition %s closed --server %s --token-file '%s/token-2' 2>&1",
             CORRAL_BINARY, id, srv.url, tmp);
    cr_expect_eq(cr_test_run(cmd, &out), 1);
    cr_expect(strstr(out, "refused: the supervisor role may not"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' incident ack %.12s --server %s --token-file '%s/token-0' 2>&1",
             CORRAL_BINARY, id, srv.url, tmp);
    cr_expect_eq(cr_test_run(cmd, &out), 2, "a prefix needs the store: %s", out);
    free(out);
}

Test(api, https_when_given_a_certificate)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout '%s/key.pem' -out '%s/cert.pem' "
             "-days 1 -subj /CN=127.0.0.1 2>/dev/null",
             tmp, tmp);
    cr_assert_eq(cr_test_run(cmd, NULL), 0, "openssl makes a test certificate");
    cr_assert_eq(cr_test_serve(&srv, tmp, "tls",
                               "serve --store '%s/st' --tokens '%s/tokens.yaml' --listen "
                               "127.0.0.1:0 --tls-cert '%s/cert.pem' --tls-key '%s/key.pem'",
                               tmp, tmp, tmp, tmp),
                 0, "%s", cr_test_slurp(srv.log, NULL));
    cr_assert(!strncmp(srv.url, "https://", 8), "%s", srv.url);
    char ca[4200];
    snprintf(ca, sizeof ca, "%s/cert.pem", tmp);
    cr_test_http_cainfo = ca;
    same_ids(list_ids(OPER, ""), oracle(p_all, NULL), "the list over TLS");
    char *out = NULL;
    cr_expect_eq(cr_test_http(&srv, "GET", "/api/v1/incidents", NULL, NULL, &out, NULL, 0), 401);
    free(out);
    /* plain HTTP to the TLS port gets no answer */
    struct cr_test_server plain = srv;
    snprintf(plain.url, sizeof plain.url, "http://127.0.0.1:%d", srv.port);
    cr_expect_eq(cr_test_http(&plain, "GET", "/healthz", NULL, NULL, &out, NULL, 0), -1);
    free(out);
    cr_test_http_cainfo = NULL;
}
