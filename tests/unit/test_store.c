/*
 * test_store.c - the LMDB store: batches, upsert and its indexes, query
 * filters and order, rejects, meta, a full map, reopening, and a reader in
 * another process while a writer holds a batch open.
 */
#include "base/timeparse.h"
#include "engine/store/incident.h"
#include "engine/store/store.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

static char *dir;

static void setup(void)
{
    dir = cr_test_tmpdir();
    cr_assert_not_null(dir);
}

static void teardown(void)
{
    cr_test_rmtree(dir);
    free(dir);
}

TestSuite(store, .init = setup, .fini = teardown);

/* An incident keyed by `key`, first seen at t0 (seconds), with a category,
 * a priority and one entity src_ip=ip. */
static struct cr_incident *mk(const char *key, int64_t t0, const char *cat, const char *prio,
                              const char *ip)
{
    struct cr_incident *inc = calloc(1, sizeof *inc);
    snprintf(inc->rule, sizeof inc->rule, "rule-%s", cat);
    cr_incident_make_id(inc->id, inc->rule, key, strlen(key), t0 * 1000);
    snprintf(inc->title, sizeof inc->title, "incident %s", key);
    snprintf(inc->category, sizeof inc->category, "%s", cat);
    snprintf(inc->reg_category, sizeof inc->reg_category, "NA/NACRED");
    snprintf(inc->priority, sizeof inc->priority, "%s", prio);
    snprintf(inc->status, sizeof inc->status, "detected");
    inc->nentities = 2;
    snprintf(inc->entities[0].name, sizeof inc->entities[0].name, "src_ip");
    snprintf(inc->entities[0].value, sizeof inc->entities[0].value, "%s", ip);
    snprintf(inc->entities[1].name, sizeof inc->entities[1].name, "key");
    snprintf(inc->entities[1].value, sizeof inc->entities[1].value, "%s", key);
    inc->window_start_ms = t0 * 1000;
    inc->first_seen_ms = t0 * 1000;
    inc->last_seen_ms = t0 * 1000 + 60000;
    inc->event_count = 5;
    return inc;
}

/* Put inc as its JSON; provisional: as a version the end of an input
 * released early (store.h). */
static int put_as(struct cr_store *s, const struct cr_incident *inc, int provisional)
{
    char *js = cr_incident_to_json(inc, NULL, 0);
    cr_assert_not_null(js);
    int rc = provisional ? cr_store_put_incident_provisional(s, inc, js, strlen(js))
                         : cr_store_put_incident(s, inc, js, strlen(js));
    free(js);
    return rc;
}

static int put(struct cr_store *s, const struct cr_incident *inc) { return put_as(s, inc, 0); }

static struct cr_store *open_rw(void)
{
    char err[256];
    struct cr_store *s = cr_store_open(dir, NULL, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    return s;
}

static struct cr_store *open_ro(void)
{
    char err[256];
    struct cr_store_opts o = {0, 1};
    struct cr_store *s = cr_store_open(dir, &o, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    return s;
}

/* Collect the query result as "key@first_seen_s" tokens, space-separated. */
struct got {
    char text[4096];
    int n;
    int stop_after;
};

static int collect(const char *json, size_t len, void *arg)
{
    struct got *g = arg;
    json_t *o = json_loadb(json, len, 0, NULL);
    cr_assert_not_null(o, "stored JSON must parse");
    const char *key = json_string_value(json_object_get(json_object_get(o, "entities"), "key"));
    size_t n = strlen(g->text);
    snprintf(g->text + n, sizeof g->text - n, "%s%s", n ? " " : "", key);
    json_decref(o);
    g->n++;
    return g->stop_after && g->n >= g->stop_after;
}

static struct got run(struct cr_store *s, const struct cr_query *q)
{
    struct got g = {{0}, 0, 0};
    int rc = cr_store_query(s, q, collect, &g);
    cr_assert_eq(rc, 0, "%s", cr_store_errmsg(s));
    return g;
}

struct exact {
    const char *want;
    int calls;
};

static int same_json(const char *json, size_t len, void *arg)
{
    struct exact *e = arg;
    cr_assert_eq(len, strlen(e->want));
    cr_assert(memcmp(json, e->want, len) == 0);
    e->calls++;
    return 0;
}

static struct cr_query Q(void) {
    struct cr_query q = CR_QUERY_ALL;
    return q;
}

/* Five incidents at t = 100..500 s, two categories, two IPs. */
static void
fill(struct cr_store *s)
{
    cr_assert_eq(cr_store_begin(s), 0);
    struct cr_incident *a[5] = {
        mk("a", 100, "S-ATK-BRUTE", "P3", "10.0.0.1"), mk("b", 200, "S-ATK-SCAN", "P4", "10.0.0.2"),
        mk("c", 300, "S-ATK-BRUTE", "P2", "10.0.0.2"), mk("d", 400, "S-ATK-SCAN", "P3", "10.0.0.1"),
        mk("e", 500, "S-ATK-BRUTE", "P3", "10.0.0.1"),
    };
    /* Out of time order on purpose: the index orders, not the write. */
    int order[5] = {2, 0, 4, 1, 3};
    for (int i = 0; i < 5; i++)
        cr_assert_eq(put(s, a[order[i]]), 0, "%s", cr_store_errmsg(s));
    cr_assert_eq(cr_store_commit(s), 0, "%s", cr_store_errmsg(s));
    for (int i = 0; i < 5; i++)
        free(a[i]);
}

/* Pages of two, each starting from the cursor the last one ended at
 * (the first_seen and id of its last incident): "a b|c d|e". */
struct pager {
    char text[512];
    int64_t ts;
    char id[33];
};

static int page_cb(const char *json, size_t len, void *arg)
{
    struct pager *p = arg;
    json_t *o = json_loadb(json, len, 0, NULL);
    cr_assert_not_null(o);
    const char *key = json_string_value(json_object_get(json_object_get(o, "entities"), "key"));
    size_t n = strlen(p->text);
    snprintf(p->text + n, sizeof p->text - n, "%s%s", n && p->text[n - 1] != '|' ? " " : "", key);
    cr_assert_eq(cr_time_parse(json_string_value(json_object_get(o, "first_seen")), &p->ts), 0);
    snprintf(p->id, sizeof p->id, "%s", json_string_value(json_object_get(o, "id")));
    json_decref(o);
    return 0;
}

static const char *paged(struct cr_store *s, struct cr_query q)
{
    static struct pager p;
    memset(&p, 0, sizeof p);
    q.limit = 2;
    for (int page = 0; page < 10; page++) {
        size_t before = strlen(p.text);
        cr_assert_eq(cr_store_query(s, &q, page_cb, &p), 0, "%s", cr_store_errmsg(s));
        if (strlen(p.text) == before)
            break;
        strcat(p.text, "|");
        q.after_ts = p.ts;
        q.after_id = p.id;
    }
    return p.text;
}

Test(store, cursor_pages_in_both_orders_through_every_index)
{
    struct cr_store *s = open_rw();
    fill(s);
    /* a tie: f shares c's first_seen; ids order the two */
    cr_assert_eq(cr_store_begin(s), 0);
    struct cr_incident *f = mk("f", 300, "S-ATK-BRUTE", "P3", "10.0.0.2");
    cr_assert_eq(put(s, f), 0);
    cr_assert_eq(cr_store_commit(s), 0);
    struct cr_query q = Q();
    struct got all = run(s, &q);
    /* whatever order the tie takes, paging gives the same sequence */
    char want[64] = "";
    for (const char *t = all.text; *t; t++)
        if (*t != ' ')
            snprintf(want + strlen(want), sizeof want - strlen(want), "%c", *t);
    const char *pages = paged(s, q);
    char flat[64] = "";
    for (const char *t = pages; *t; t++)
        if (*t != ' ' && *t != '|')
            snprintf(flat + strlen(flat), sizeof flat - strlen(flat), "%c", *t);
    cr_assert_str_eq(flat, want, "pages %s, one walk %s", pages, all.text);
    cr_assert_eq(strlen(want), 6);

    q.ascending = 1;
    all = run(s, &q);
    pages = paged(s, q);
    char rev[64] = "";
    for (size_t i = strlen(want); i > 0; i--)
        snprintf(rev + strlen(rev), sizeof rev - strlen(rev), "%c", want[i - 1]);
    flat[0] = 0;
    for (const char *t = pages; *t; t++)
        if (*t != ' ' && *t != '|')
            snprintf(flat + strlen(flat), sizeof flat - strlen(flat), "%c", *t);
    cr_assert_str_eq(flat, rev, "oldest first is the reverse: %s", pages);

    /* through the category index, and the bound still holds past a cursor */
    q = Q();
    q.category = "S-ATK-BRUTE";
    q.until_ms = 300000;
    pages = paged(s, q);
    cr_assert(!strcmp(pages, "c f|a|") || !strcmp(pages, "f c|a|"), "%s", pages);
    q.ascending = 1;
    pages = paged(s, q);
    cr_assert(!strcmp(pages, "a c|f|") || !strcmp(pages, "a f|c|"), "%s", pages);
    /* a cursor past `until` does not lift it */
    q = Q();
    q.until_ms = 200000;
    q.after_ts = 450000;
    q.after_id = f->id;
    cr_assert_str_eq(run(s, &q).text, "b a");
    free(f);
    cr_store_close(s);
}

Test(store, query_order_and_every_filter)
{
    struct cr_store *s = open_rw();
    fill(s);
    struct cr_query q = Q();
    cr_assert_str_eq(run(s, &q).text, "e d c b a");
    cr_assert_str_eq(run(s, NULL).text, "e d c b a");

    q = Q();
    q.limit = 2;
    cr_assert_str_eq(run(s, &q).text, "e d");

    /* until bounds first_seen (inclusive); since bounds last_seen = first + 60 s. */
    q = Q();
    q.until_ms = 300000;
    cr_assert_str_eq(run(s, &q).text, "c b a");
    q = Q();
    q.since_ms = 260000; /* b's last_seen is 260000: included */
    cr_assert_str_eq(run(s, &q).text, "e d c b");
    q.since_ms = 260001;
    cr_assert_str_eq(run(s, &q).text, "e d c");
    q.until_ms = 399999;
    cr_assert_str_eq(run(s, &q).text, "c");

    q = Q();
    q.category = "S-ATK-BRUTE";
    cr_assert_str_eq(run(s, &q).text, "e c a");
    q.category = "S-ATK"; /* a prefix of a category is not that category */
    cr_assert_str_eq(run(s, &q).text, "");

    q = Q();
    q.priority = "P3";
    cr_assert_str_eq(run(s, &q).text, "e d a");

    q = Q();
    q.entity = "src_ip=10.0.0.2";
    cr_assert_str_eq(run(s, &q).text, "c b");
    q.entity = "src_ip=10.0.0"; /* nor a prefix of a value */
    cr_assert_str_eq(run(s, &q).text, "");

    q = Q();
    q.entity = "src_ip=10.0.0.1";
    q.category = "S-ATK-BRUTE";
    cr_assert_str_eq(run(s, &q).text, "e a");
    q.priority = "P3";
    q.until_ms = 499999;
    cr_assert_str_eq(run(s, &q).text, "a");

    q = Q();
    q.category = "S-ATK-SCAN";
    q.limit = 1;
    cr_assert_str_eq(run(s, &q).text, "d");

    /* A callback that stops ends the walk without an error. */
    struct got g = {{0}, 0, 2};
    cr_assert_eq(cr_store_query(s, NULL, collect, &g), 0);
    cr_assert_str_eq(g.text, "e d");

    q = Q();
    q.entity = "no-equals-sign";
    cr_assert_lt(cr_store_query(s, &q, collect, &g), 0);
    cr_assert(strstr(cr_store_errmsg(s), "name=value"));
    cr_store_close(s);
}

Test(store, reopen_keeps_data_and_readonly_cannot_write)
{
    struct cr_store *s = open_rw();
    fill(s);
    cr_assert_eq(cr_store_begin(s), 0);
    cr_assert_eq(cr_store_put_meta(s, "schema", "1"), 0);
    cr_assert_eq(cr_store_commit(s), 0);
    cr_store_close(s);

    s = open_ro();
    uint64_t n = 0;
    cr_assert_eq(cr_store_count_incidents(s, &n), 0);
    cr_assert_eq(n, 5);
    struct cr_query q = Q();
    cr_assert_str_eq(run(s, &q).text, "e d c b a");
    char v[8];
    cr_assert_eq(cr_store_get_meta(s, "schema", v, sizeof v), 0);
    cr_assert_str_eq(v, "1");
    cr_assert_lt(cr_store_begin(s), 0);
    cr_assert(strstr(cr_store_errmsg(s), "read-only"));
    cr_store_close(s);

    s = open_rw();
    cr_assert_eq(cr_store_count_incidents(s, &n), 0);
    cr_assert_eq(n, 5);
    cr_store_close(s);
}

Test(store, upsert_updates_one_record_and_keeps_indexes_single)
{
    struct cr_store *s = open_rw();
    fill(s);
    /* The same incident (same id) again, in a later batch, with new
     * evidence: more events, later last_seen, higher priority. */
    struct cr_incident *c = mk("c", 300, "S-ATK-BRUTE", "P1", "10.0.0.2");
    c->event_count = 99;
    c->last_seen_ms = 900000;
    for (int round = 0; round < 3; round++) {
        cr_assert_eq(cr_store_begin(s), 0);
        cr_assert_eq(put(s, c), 0, "%s", cr_store_errmsg(s));
        cr_assert_eq(cr_store_commit(s), 0);
    }
    uint64_t n = 0;
    cr_assert_eq(cr_store_count_incidents(s, &n), 0);
    cr_assert_eq(n, 5);

    struct cr_query q = Q();
    cr_assert_str_eq(run(s, &q).text, "e d c b a");
    q.category = "S-ATK-BRUTE";
    cr_assert_str_eq(run(s, &q).text, "e c a");
    q = Q();
    q.entity = "key=c";
    cr_assert_str_eq(run(s, &q).text, "c");
    /* The filters see the updated priority and last_seen, not the old ones. */
    q = Q();
    q.priority = "P2";
    cr_assert_str_eq(run(s, &q).text, "");
    q.priority = "P1";
    cr_assert_str_eq(run(s, &q).text, "c");
    q = Q();
    q.since_ms = 800000;
    cr_assert_str_eq(run(s, &q).text, "c");

    /* And the stored JSON is the new one, byte for byte. */
    char *js = cr_incident_to_json(c, NULL, 0);
    struct exact chk = {js, 0};
    q = Q();
    q.entity = "key=c";
    cr_assert_eq(cr_store_query(s, &q, same_json, &chk), 0);
    cr_assert_eq(chk.calls, 1);
    free(js);
    free(c);
    cr_store_close(s);
}

Test(store, first_seen_moving_earlier_reindexes)
{
    struct cr_store *s = open_rw();
    fill(s);
    /* A late event older than the first one moves c's first_seen from
     * 300 s to 150 s: c must be listed once, at its new place. */
    struct cr_incident *c = mk("c", 300, "S-ATK-BRUTE", "P2", "10.0.0.2");
    c->first_seen_ms = 150000;
    cr_assert_eq(cr_store_begin(s), 0);
    cr_assert_eq(put(s, c), 0, "%s", cr_store_errmsg(s));
    cr_assert_eq(cr_store_commit(s), 0);
    struct cr_query q = Q();
    cr_assert_str_eq(run(s, &q).text, "e d b c a");
    q.category = "S-ATK-BRUTE";
    cr_assert_str_eq(run(s, &q).text, "e c a");
    q = Q();
    q.entity = "src_ip=10.0.0.2";
    cr_assert_str_eq(run(s, &q).text, "b c");
    q = Q();
    q.until_ms = 160000;
    cr_assert_str_eq(run(s, &q).text, "c a");
    free(c);
    cr_store_close(s);
}

static int put_prov(struct cr_store *s, const struct cr_incident *inc) { return put_as(s, inc, 1); }

/* The end of an input stored versions early (store.h): rolling back puts
 * each incident back exactly as it was before them (JSON and every index,
 * also where a provisional version moved first_seen), removes the ones they
 * created from every index, and empties the table; settling keeps them. */
Test(store, provisional_versions_roll_back_exactly_or_settle)
{
    struct cr_store *s = open_rw();
    fill(s);
    struct cr_incident *c = mk("c", 300, "S-ATK-BRUTE", "P2", "10.0.0.2");
    char *before = cr_incident_to_json(c, NULL, 0);
    /* two provisional versions of c (the second moves first_seen to 150 s and
     * raises the priority), and a new incident f */
    struct cr_incident *c2 = mk("c", 300, "S-ATK-BRUTE", "P2", "10.0.0.2");
    c2->event_count = 6;
    c2->last_seen_ms = 900000;
    struct cr_incident *c3 = mk("c", 300, "S-ATK-BRUTE", "P1", "10.0.0.2");
    c3->first_seen_ms = 150000;
    c3->last_seen_ms = 950000;
    struct cr_incident *f = mk("f", 600, "S-ATK-SCAN", "P1", "10.0.0.9");
    cr_assert_eq(cr_store_begin(s), 0);
    cr_assert_eq(put_prov(s, c2), 0, "%s", cr_store_errmsg(s));
    cr_assert_eq(cr_store_commit(s), 0);
    cr_assert_eq(cr_store_begin(s), 0);
    cr_assert_eq(put_prov(s, c3), 0, "%s", cr_store_errmsg(s));
    cr_assert_eq(put_prov(s, f), 0, "%s", cr_store_errmsg(s));
    cr_assert_eq(cr_store_commit(s), 0);
    struct cr_query q = Q();
    cr_assert_str_eq(run(s, &q).text, "f e d b c a");
    q.priority = "P1";
    cr_assert_str_eq(run(s, &q).text, "f c");

    uint64_t n = 99;
    cr_assert_eq(cr_store_begin(s), 0);
    cr_assert_eq(cr_store_rollback_provisional(s, &n), 0, "%s", cr_store_errmsg(s));
    cr_assert_eq(cr_store_commit(s), 0);
    cr_assert_eq(n, 2, "c and f");
    q = Q();
    cr_assert_str_eq(run(s, &q).text, "e d c b a");
    q.priority = "P1";
    cr_assert_str_eq(run(s, &q).text, "", "c's summary is back to P2");
    q = Q();
    q.category = "S-ATK-SCAN";
    cr_assert_str_eq(run(s, &q).text, "d b");
    q = Q();
    q.entity = "src_ip=10.0.0.9";
    cr_assert_str_eq(run(s, &q).text, "");
    q = Q();
    q.until_ms = 160000;
    cr_assert_str_eq(run(s, &q).text, "a", "c is indexed at 300 s again, not 150 s");
    q = Q();
    q.entity = "key=c";
    struct exact e = {before, 0};
    cr_assert_eq(cr_store_query(s, &q, same_json, &e), 0);
    cr_assert_eq(e.calls, 1, "c is stored once, as it was");
    uint64_t count = 0;
    cr_assert_eq(cr_store_count_incidents(s, &count), 0);
    cr_assert_eq(count, 5);
    /* the table is empty now: a second rollback changes nothing */
    cr_assert_eq(cr_store_begin(s), 0);
    cr_assert_eq(cr_store_rollback_provisional(s, &n), 0);
    cr_assert_eq(cr_store_commit(s), 0);
    cr_assert_eq(n, 0);

    /* settling keeps what was written */
    cr_assert_eq(cr_store_begin(s), 0);
    cr_assert_eq(put_prov(s, f), 0, "%s", cr_store_errmsg(s));
    cr_assert_eq(cr_store_settle_provisional(s, &n), 0);
    cr_assert_eq(cr_store_commit(s), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(cr_store_begin(s), 0);
    cr_assert_eq(cr_store_rollback_provisional(s, &n), 0);
    cr_assert_eq(cr_store_commit(s), 0);
    cr_assert_eq(n, 0);
    q = Q();
    cr_assert_str_eq(run(s, &q).text, "f e d c b a");
    free(before);
    free(c);
    free(c2);
    free(c3);
    free(f);
    cr_store_close(s);
}

static void *offset_from_another_thread(void *arg)
{
    struct cr_store *s = arg;
    static int64_t got;
    got = -1;
    cr_assert_eq(cr_store_get_offset(s, "kafka:logs/0", &got), 0);
    return &got;
}

/* The writer thread holds a batch open with a position that is not durable
 * yet; the Kafka ingest thread reads the position of a partition it is
 * assigned: it must get the committed one, from a transaction of its own
 * (an LMDB write transaction belongs to its thread), while the writer's own
 * reads still see its batch. */
Test(store, a_read_on_another_thread_does_not_see_an_open_batch)
{
    struct cr_store *s = open_rw();
    cr_assert_eq(cr_store_begin(s), 0);
    cr_assert_eq(cr_store_put_offset(s, "kafka:logs/0", 5), 0);
    cr_assert_eq(cr_store_commit(s), 0);
    cr_assert_eq(cr_store_begin(s), 0);
    cr_assert_eq(cr_store_put_offset(s, "kafka:logs/0", 7), 0);
    int64_t mine = -1;
    cr_assert_eq(cr_store_get_offset(s, "kafka:logs/0", &mine), 0);
    cr_assert_eq(mine, 7, "the batch's own thread sees the batch");
    pthread_t t;
    void *ret = NULL;
    cr_assert_eq(pthread_create(&t, NULL, offset_from_another_thread, s), 0);
    pthread_join(t, &ret);
    cr_assert_eq(*(int64_t *)ret, 5, "another thread sees only what is durable");
    cr_assert_eq(cr_store_commit(s), 0);
    cr_assert_eq(pthread_create(&t, NULL, offset_from_another_thread, s), 0);
    pthread_join(t, &ret);
    cr_assert_eq(*(int64_t *)ret, 7);
    cr_store_close(s);
}

Test(store, batch_misuse_and_abort)
{
    struct cr_store *s = open_rw();
    struct cr_incident *a = mk("a", 100, "S-ATK-BRUTE", "P3", "10.0.0.1");
    cr_assert_lt(put(s, a), 0);
    cr_assert(strstr(cr_store_errmsg(s), "cr_store_begin"));
    cr_assert_lt(cr_store_commit(s), 0);
    cr_assert_eq(cr_store_begin(s), 0);
    cr_assert_lt(cr_store_begin(s), 0, "one batch at a time");

    /* A malformed id is refused and the batch goes on. */
    struct cr_incident bad = *a;
    strcpy(bad.id, "abc");
    cr_assert_eq(put(s, &bad), CR_STORE_ERR);
    cr_assert_eq(put(s, a), 0);
    /* The writer sees its own batch before the commit. */
    uint64_t n = 0;
    cr_assert_eq(cr_store_count_incidents(s, &n), 0);
    cr_assert_eq(n, 1);
    cr_store_abort(s);
    cr_assert_eq(cr_store_count_incidents(s, &n), 0);
    cr_assert_eq(n, 0, "an aborted batch leaves nothing");
    struct cr_query q = Q();
    cr_assert_str_eq(run(s, &q).text, "");
    free(a);
    cr_store_close(s);
}

struct rej {
    char text[1024];
};

/* "input:position:reason:hex bytes|" per record. */
static int rej_cb(const char *input, uint64_t position, const char *reason, const char *raw,
                  size_t rawlen, void *arg)
{
    struct rej *r = arg;
    size_t n = strlen(r->text);
    n += (size_t)snprintf(r->text + n, sizeof r->text - n, "%s:%llu:%s:", input,
                          (unsigned long long)position, reason);
    for (size_t i = 0; i < rawlen; i++)
        n += (size_t)snprintf(r->text + n, sizeof r->text - n, "%s%02x", i ? " " : "",
                              (unsigned char)raw[i]);
    snprintf(r->text + n, sizeof r->text - n, "|");
    return 0;
}

Test(store, rejects_in_input_order_with_any_bytes)
{
    struct cr_store *s = open_rw();
    cr_assert_eq(cr_store_begin(s), 0);
    cr_assert_eq(cr_store_put_reject(s, "kafka:logs/1", 5, "bad json", "{\"a\":", 5), 0);
    cr_assert_eq(cr_store_put_reject(s, "auth.log", 300, "too long", "x\0y\xff", 4), 0);
    cr_assert_eq(cr_store_put_reject(s, "auth.log", 7, NULL, NULL, 0), 0);
    /* the same record again: a reason it has changes nothing, a new one is
     * kept beside the first, and the raw bytes stay the first ones */
    cr_assert_eq(cr_store_put_reject(s, "kafka:logs/1", 5, "bad json", "{\"a\":", 5),
                 CR_STORE_EXISTS);
    cr_assert_eq(cr_store_put_reject(s, "kafka:logs/1", 5, "late", "ignored", 7), CR_STORE_EXISTS);
    cr_assert_eq(cr_store_put_reject(s, "kafka:logs/1", 5, "bad json", "{\"a\":", 5),
                 CR_STORE_EXISTS);
    cr_assert_eq(cr_store_commit(s), 0);
    cr_store_close(s);

    s = open_ro();
    struct rej r = {{0}};
    cr_assert_eq(cr_store_rejects(s, rej_cb, &r), 0);
    cr_assert_str_eq(r.text, "auth.log:7::|auth.log:300:too long:78 00 79 ff|"
                             "kafka:logs/1:5:bad json; late:7b 22 61 22 3a|");
    cr_store_close(s);
}

Test(store, meta_values)
{
    struct cr_store *s = open_rw();
    char v[16];
    cr_assert_eq(cr_store_get_meta(s, "epoch", v, sizeof v), CR_STORE_NOTFOUND);
    cr_assert_eq(cr_store_begin(s), 0);
    cr_assert_eq(cr_store_put_meta(s, "epoch", "41"), 0);
    cr_assert_eq(cr_store_put_meta(s, "epoch", "42"), 0);
    cr_assert_eq(cr_store_put_meta(s, "ruleset", "0123456789abcdef0123"), 0);
    cr_assert_lt(cr_store_put_meta(s, "", "x"), 0);
    cr_assert_eq(cr_store_commit(s), 0);
    cr_assert_eq(cr_store_get_meta(s, "epoch", v, sizeof v), 0);
    cr_assert_str_eq(v, "42");
    cr_assert_eq(cr_store_get_meta(s, "ruleset", v, sizeof v), CR_STORE_ERR, "does not fit");
    cr_store_close(s);
}

Test(store, missing_store_and_bad_paths)
{
    char err[256];
    struct cr_store_opts ro = {0, 1};
    char path[4200];
    snprintf(path, sizeof path, "%s/nothing-here", dir);
    cr_assert_null(cr_store_open(path, &ro, err, sizeof err));
    cr_assert(strstr(err, "no store at"), "%s", err);
    /* An empty directory is not a store either. */
    cr_assert_null(cr_store_open(dir, &ro, err, sizeof err));
    cr_assert(strstr(err, "no store at"), "%s", err);
    /* A regular file where the directory should be. */
    snprintf(path, sizeof path, "%s/file", dir);
    cr_assert_eq(cr_test_write_file(path, "x", 1), 0);
    cr_assert_null(cr_store_open(path, NULL, err, sizeof err));
    cr_assert(strstr(err, "not a directory"), "%s", err);
    /* A writable open creates the directory. */
    snprintf(path, sizeof path, "%s/new", dir);
    struct cr_store *s = cr_store_open(path, NULL, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    cr_store_close(s);
}

Test(store, map_full_is_a_clear_error_and_the_store_stays_readable)
{
    char err[256];
    struct cr_store_opts small = {256 * 1024, 0};
    struct cr_store *s = cr_store_open(dir, &small, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    fill(s); /* one committed batch that must survive */

    /* Then batches until the map is full. */
    int rc = 0, batch = 0;
    char key[32];
    while (rc == 0 && batch < 1000) {
        cr_assert_eq(cr_store_begin(s), 0, "%s", cr_store_errmsg(s));
        for (int i = 0; i < 50 && rc == 0; i++) {
            snprintf(key, sizeof key, "k%d-%d", batch, i);
            struct cr_incident *x = mk(key, 1000 + batch * 50 + i, "F-FAC-UPS", "P2", "ups-1");
            for (int j = 0; j < CR_INC_MAX_SAMPLES; j++)
                memset(x->samples[j], 'r', 400);
            x->nsamples = CR_INC_MAX_SAMPLES;
            rc = put(s, x);
            free(x);
        }
        if (rc == 0)
            rc = cr_store_commit(s);
        else
            cr_assert_eq(cr_store_commit(s), rc, "commit repeats the failure");
        batch++;
    }
    cr_assert_eq(rc, CR_STORE_EFULL, "got %d: %s", rc, cr_store_errmsg(s));
    cr_assert(strstr(cr_store_errmsg(s), "store full: map size 262144 bytes reached; "
                                         "raise store.map_size"),
              "%s", cr_store_errmsg(s));
    int full_batch = batch - 1;

    /* Committed batches are all there, the failed one is not there at all. */
    uint64_t n = 0;
    cr_assert_eq(cr_store_count_incidents(s, &n), 0);
    cr_assert_eq(n, 5 + (uint64_t)full_batch * 50, "n=%llu", (unsigned long long)n);
    cr_store_close(s);

    s = open_ro();
    cr_assert_eq(cr_store_count_incidents(s, &n), 0);
    cr_assert_eq(n, 5 + (uint64_t)full_batch * 50);
    struct cr_query q = Q();
    q.category = "S-ATK-BRUTE";
    cr_assert_str_eq(run(s, &q).text, "e c a");
    cr_store_close(s);

    /* Raising the map size lets the writer go on. */
    struct cr_store_opts big = {4 * 1024 * 1024, 0};
    s = cr_store_open(dir, &big, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    cr_assert_eq(cr_store_begin(s), 0);
    struct cr_incident *x = mk("after", 999999, "F-FAC-UPS", "P2", "ups-1");
    cr_assert_eq(put(s, x), 0, "%s", cr_store_errmsg(s));
    cr_assert_eq(cr_store_commit(s), 0, "%s", cr_store_errmsg(s));
    free(x);
    cr_store_close(s);
}

Test(store, reader_in_another_process_while_a_batch_is_open)
{
    struct cr_store *s = open_rw();
    fill(s);
    cr_store_close(s);

    int go[2], done[2];
    cr_assert_eq(pipe(go), 0);
    cr_assert_eq(pipe(done), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        /* Writer: open a batch with a new incident, let the parent read,
         * then commit. Exit status tells the parent how it went. */
        char err[256], c;
        struct cr_store *w = cr_store_open(dir, NULL, err, sizeof err);
        if (!w || cr_store_begin(w) != 0)
            _exit(10);
        struct cr_incident *f = mk("f", 600, "S-ATK-BRUTE", "P1", "10.0.0.9");
        if (put(w, f) != 0)
            _exit(11);
        if (write(go[1], "g", 1) != 1 || read(done[0], &c, 1) != 1)
            _exit(12);
        if (cr_store_commit(w) != 0)
            _exit(13);
        cr_store_close(w);
        _exit(0);
    }
    char c;
    cr_assert_eq(read(go[0], &c, 1), 1);
    struct cr_store *r = open_ro();
    struct cr_query q = Q();
    cr_assert_str_eq(run(r, &q).text, "e d c b a", "uncommitted batch is invisible");
    cr_store_close(r);
    cr_assert_eq(write(done[1], "d", 1), 1);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer status %d", st);

    r = open_ro();
    cr_assert_str_eq(run(r, &q).text, "f e d c b a");
    cr_store_close(r);
}

/* One writer per store: a second writable open is refused and names the
 * first's pid; readers still open; closing the writer frees the lock. */
Test(store, a_second_writer_is_refused)
{
    char err[512], want[64];
    struct cr_store *w = open_rw();
    fill(w);
    cr_assert_null(cr_store_open(dir, NULL, err, sizeof err), "a second writer opened");
    snprintf(want, sizeof want, "in use by another writer (pid %ld)", (long)getpid());
    cr_assert(strstr(err, want) && strstr(err, dir), "%s", err);
    struct cr_store *r = open_ro(); /* readers take no lock */
    struct cr_query q = Q();
    cr_assert_str_eq(run(r, &q).text, "e d c b a");
    cr_store_close(r);
    cr_store_close(w);
    w = cr_store_open(dir, NULL, err, sizeof err);
    cr_assert_not_null(w, "the lock outlived its writer: %s", err);
    cr_store_close(w);
}
