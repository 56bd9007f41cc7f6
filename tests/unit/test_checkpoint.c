/*
 * test_checkpoint.c - correlation state survives a checkpoint: a correlator
 * is snapshotted into a real LMDB store, a fresh correlator restores it, and
 * from then on both produce the same incidents; deletions reach the store;
 * a changed rule drops its old state; a dropped input forgets its state.
 */
#include "engine/store/checkpoint.h"
#include "engine/correlate/correlate.h"
#include "engine/store/store.h"
#include "rules/ruleset.h"
#include "rules_fixture.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *RULES = "rules:\n"
                           "  - id: fail\n"
                           "    match: 'Failed from (?<src_ip>\\S+)'\n"
                           "  - id: ok\n"
                           "    match: 'Accepted from (?<src_ip>\\S+)'\n"
                           "correlations:\n"
                           "  - id: brute\n"
                           "    type: event_count\n"
                           "    rules: [fail]\n"
                           "    group_by: [src_ip]\n"
                           "    timespan: 60s\n"
                           "    condition: { gte: %d }\n"
                           "    incident: { category: S-ATK-BRUTE }\n"
                           "  - id: comp\n"
                           "    type: temporal_ordered\n"
                           "    rules: [brute, ok]\n"
                           "    group_by: [src_ip]\n"
                           "    timespan: 300s\n"
                           "    incident: { category: S-ATK-COMP }\n";

static char *dir;

static struct cr_ruleset *load(int gte)
{
    char name[32], text[2048];
    snprintf(name, sizeof name, "r%d.yaml", gte);
    snprintf(text, sizeof text, RULES, gte);
    return cr_test_rules(dir, name, text);
}

static uint32_t feed_tenant; /* tenant of the matches fed (0: none) */

static void feed(struct cr_correlator *c, const struct cr_ruleset *rs, const char *rule,
                 const char *ip, int sec, uint32_t src)
{
    struct cr_match m;
    memset(&m, 0, sizeof m);
    m.tenant = feed_tenant;
    m.kind = CR_MSG_MATCH;
    m.rule = (uint32_t)cr_ruleset_find_rule(rs, rule);
    m.key_len = (uint16_t)strlen(ip);
    memcpy(m.key, ip, m.key_len);
    m.time_ms = 1772438400000LL + (int64_t)sec * 1000;
    m.position = (uint64_t)sec;
    m.src = src;
    m.raw_len = (uint16_t)snprintf(m.raw, sizeof m.raw, "%s %s %d", rule, ip, sec);
    cr_correlator_apply(c, &m);
}

/* Flush and render the incident versions as "rule id count" lines. */
static void drain(struct cr_correlator *c, char *out, size_t cap)
{
    struct cr_version *h, *t;
    cr_correlator_flush(c, &h, &t);
    size_t o = strlen(out);
    for (struct cr_version *m = h, *n; m; m = n) {
        n = m->next;
        o += (size_t)snprintf(out + o, cap - o, "%s %s %llu\n", m->inc.rule, m->inc.id,
                              (unsigned long long)m->inc.event_count);
        free(m);
    }
}

/* Snapshot c into the store (one write batch). */
static void checkpoint(struct cr_correlator *c, struct cr_store *s)
{
    size_t len = 0;
    char *delta = cr_correlator_snapshot(c, &len);
    cr_assert_eq(cr_store_begin(s), 0);
    cr_assert_eq(cr_ckpt_apply(delta, len, s), 0);
    cr_assert_eq(cr_store_commit(s), 0);
    free(delta);
}

struct rctx {
    struct cr_correlator *c;
    int kept, dropped;
};

static int restore_cb(const void *k, size_t kl, const void *v, size_t vl, void *arg)
{
    struct rctx *r = arg;
    if (cr_correlator_restore(r->c, k, kl, v, vl))
        r->kept++;
    else
        r->dropped++;
    return 0;
}

static int count_states(struct cr_store *s)
{
    struct rctx r = {0};
    struct cr_ruleset *rs = load(5);
    r.c = cr_correlator_new(rs, 1000);
    cr_store_each_state(s, restore_cb, &r);
    cr_correlator_free(r.c);
    cr_ruleset_free(rs);
    return r.kept + r.dropped;
}

static struct cr_store *open_store(void)
{
    char path[4200], err[512];
    snprintf(path, sizeof path, "%s/store", dir);
    struct cr_store_opts o = {.map_size = 64u << 20};
    struct cr_store *s = cr_store_open(path, &o, err, sizeof err);
    cr_assert(s != NULL, "%s", err);
    return s;
}

static void setup(void) { dir = cr_test_tmpdir(); }

static void teardown(void)
{
    cr_test_rmtree(dir);
    free(dir);
}

TestSuite(checkpoint, .init = setup, .fini = teardown);

/* Half of a scenario, checkpoint, restore elsewhere, the other half: the
 * restored correlator emits exactly what the uninterrupted one emits. */
Test(checkpoint, restored_state_continues_exactly)
{
    struct cr_ruleset *rs = load(5);
    struct cr_store *s = open_store();
    struct cr_correlator *a = cr_correlator_new(rs, 1000), *b = cr_correlator_new(rs, 1000);
    cr_correlator_enable_checkpoints(a);
    char first[4096] = "", ref[8192] = "", got[8192] = "";
    /* before the checkpoint: 3 failures (no incident yet), a full brute force that opens an
     * incident, and a sequence halfway (brute force fired, success not yet) */
    for (int i = 0; i < 3; i++)
        feed(a, rs, "fail", "10.0.0.1", i * 10, 7);
    for (int i = 0; i < 6; i++)
        feed(a, rs, "fail", "10.0.0.2", i, 7);
    drain(a, first, sizeof first);
    cr_assert(strstr(first, "brute") != NULL, "%s", first);
    checkpoint(a, s);
    struct rctx r = {b, 0, 0};
    cr_store_each_state(s, restore_cb, &r);
    cr_assert_eq(r.kept, 3, "brute x2 keys and comp for 10.0.0.2; kept %d dropped %d", r.kept,
                 r.dropped);
    cr_assert_eq(r.dropped, 0);
    /* after: the same matches to both */
    struct cr_correlator *both[2] = {a, b};
    char *outs[2] = {ref, got};
    for (int k = 0; k < 2; k++) {
        feed(both[k], rs, "fail", "10.0.0.1", 35, 7);
        feed(both[k], rs, "fail", "10.0.0.1", 40, 7); /* 5th within 60 s: fires */
        feed(both[k], rs, "fail", "10.0.0.2", 20, 7); /* update of the open incident */
        feed(both[k], rs, "ok", "10.0.0.2", 100, 7);  /* completes the sequence */
        drain(both[k], outs[k], 8192);
    }
    cr_assert_str_eq(got, ref);
    cr_assert(strstr(ref, "comp") != NULL && strstr(ref, "brute") != NULL, "%s", ref);
    cr_correlator_free(a);
    cr_correlator_free(b);
    cr_store_close(s);
    cr_ruleset_free(rs);
}

/* A restored state keeps its tenant: the tenant budget counts it, and a new
 * key of that tenant past the budget evicts the tenant's own oldest key. */
Test(checkpoint, restored_state_keeps_its_tenant)
{
    struct cr_ruleset *rs = load(5);
    struct cr_store *s = open_store();
    struct cr_correlator *a = cr_correlator_new(rs, 1000), *b = cr_correlator_new(rs, 1000);
    cr_correlator_enable_checkpoints(a);
    cr_correlator_set_tenant_budget(b, 2);
    char out[4096] = "";
    feed_tenant = 0x77;
    feed(a, rs, "fail", "10.0.0.1", 0, 7);
    feed(a, rs, "fail", "10.0.0.2", 1, 7);
    drain(a, out, sizeof out);
    checkpoint(a, s);
    struct rctx r = {b, 0, 0};
    cr_store_each_state(s, restore_cb, &r);
    cr_assert_eq(r.kept, 2);
    feed(b, rs, "fail", "10.0.0.3", 2, 7); /* a third key of tenant 0x77 */
    const struct cr_correlator_stats *st = cr_correlator_stats(b);
    cr_assert_eq(st->tenant_evicted, 1);
    cr_assert_eq(st->states, 2);
    struct cr_tenant_evictions te[2];
    cr_assert_eq(cr_correlator_tenant_evictions(b, te, 2), 1);
    cr_assert_eq(te[0].tenant, 0x77);
    feed_tenant = 0;
    cr_correlator_free(a);
    cr_correlator_free(b);
    cr_store_close(s);
    cr_ruleset_free(rs);
}

/* Expired states become deletions in the next checkpoint. */
Test(checkpoint, expired_state_is_deleted_from_the_store)
{
    struct cr_ruleset *rs = load(5);
    struct cr_store *s = open_store();
    struct cr_correlator *a = cr_correlator_new(rs, 1000);
    cr_correlator_enable_checkpoints(a);
    char sink[65536] = "";
    for (int i = 0; i < 20; i++) {
        char ip[32];
        snprintf(ip, sizeof ip, "10.1.0.%d", i);
        feed(a, rs, "fail", ip, 0, 7);
    }
    drain(a, sink, sizeof sink);
    checkpoint(a, s);
    cr_assert_eq(count_states(s), 20);
    feed(a, rs, "fail", "10.9.9.9", 7200, 7); /* two hours later: the others expire */
    for (int i = 0; i < 64; i++)
        drain(a, sink, sizeof sink);
    checkpoint(a, s);
    cr_assert_eq(count_states(s), 1);
    cr_correlator_free(a);
    cr_store_close(s);
    cr_ruleset_free(rs);
}

/* A key whose state expired and came back between two checkpoints: the
 * snapshot holds both the deletion of the old state and the new one under
 * the same store key. The deletion must not win (it did when deletions
 * were written after the puts: a restart lost the key's new window, the
 * Kafka kill -9 loss of issue 9). */
Test(checkpoint, key_expired_and_back_in_one_epoch_survives)
{
    struct cr_ruleset *rs = load(5);
    struct cr_store *s = open_store();
    struct cr_correlator *a = cr_correlator_new(rs, 1000), *b = cr_correlator_new(rs, 1000);
    cr_correlator_enable_checkpoints(a);
    char sink[65536] = "";
    for (int i = 0; i < 3; i++)
        feed(a, rs, "fail", "10.4.0.1", i * 10, 7);
    drain(a, sink, sizeof sink);
    checkpoint(a, s);                         /* the old window is in the store */
    feed(a, rs, "fail", "10.9.9.9", 7200, 7); /* two hours later: it expires */
    for (int i = 0; i < 64; i++)
        drain(a, sink, sizeof sink);
    cr_assert_eq(cr_correlator_stats(a)->states, 1, "the old window was freed");
    for (int i = 0; i < 3; i++) /* the same key again, a new window */
        feed(a, rs, "fail", "10.4.0.1", 7201 + i, 7);
    drain(a, sink, sizeof sink);
    checkpoint(a, s);
    struct rctx r = {b, 0, 0};
    cr_store_each_state(s, restore_cb, &r);
    cr_assert_eq(r.kept, 2, "10.4.0.1's new window and 10.9.9.9: kept %d", r.kept);
    char ref[4096] = "", got[4096] = "";
    struct cr_correlator *both[2] = {a, b};
    char *outs[2] = {ref, got};
    for (int k = 0; k < 2; k++) {
        feed(both[k], rs, "fail", "10.4.0.1", 7204, 7);
        feed(both[k], rs, "fail", "10.4.0.1", 7205, 7); /* 5th within 60 s: fires */
        drain(both[k], outs[k], sizeof ref);
    }
    cr_assert(strstr(ref, "brute") != NULL && strstr(ref, " 5\n") != NULL, "%s", ref);
    cr_assert_str_eq(got, ref);
    cr_correlator_free(a);
    cr_correlator_free(b);
    cr_store_close(s);
    cr_ruleset_free(rs);
}

/* A correlation whose threshold changed does not inherit the old windows. */
Test(checkpoint, changed_rule_drops_its_state)
{
    struct cr_ruleset *rs5 = load(5), *rs7 = load(7);
    struct cr_store *s = open_store();
    struct cr_correlator *a = cr_correlator_new(rs5, 1000);
    cr_correlator_enable_checkpoints(a);
    char sink[4096] = "";
    feed(a, rs5, "fail", "10.2.0.1", 0, 7);
    drain(a, sink, sizeof sink);
    checkpoint(a, s);
    struct cr_correlator *b = cr_correlator_new(rs7, 1000);
    struct rctx r = {b, 0, 0};
    cr_store_each_state(s, restore_cb, &r);
    cr_assert_eq(r.kept, 0);
    cr_assert_eq(r.dropped, 1);
    cr_correlator_free(a);
    cr_correlator_free(b);
    cr_store_close(s);
    cr_ruleset_free(rs5);
    cr_ruleset_free(rs7);
}

/* States of a dropped input are forgotten; others stay. Replayed matches
 * rebuild state without emitting incident versions. */
Test(checkpoint, drop_input_and_replay)
{
    struct cr_ruleset *rs = load(5);
    struct cr_correlator *a = cr_correlator_new(rs, 1000);
    char out[8192] = "";
    for (int i = 0; i < 4; i++) {
        feed(a, rs, "fail", "10.3.0.1", i, 1); /* input 1 */
        feed(a, rs, "fail", "10.3.0.2", i, 2); /* input 2 */
    }
    drain(a, out, sizeof out);
    cr_assert_eq(cr_correlator_drop_src(a, 1), 1);
    feed(a, rs, "fail", "10.3.0.1", 5, 1); /* 1 of 5 again: no incident */
    feed(a, rs, "fail", "10.3.0.2", 5, 2); /* 5 of 5: fires */
    drain(a, out, sizeof out);
    cr_assert(strstr(out, "brute") != NULL, "%s", out);
    cr_assert_eq(cr_correlator_stats(a)->incidents_opened, 1);
    /* replay: state is rebuilt, the incident it opens is not emitted ... */
    struct cr_match m;
    memset(&m, 0, sizeof m);
    out[0] = 0;
    for (int i = 10; i < 15; i++) {
        m.kind = CR_MSG_MATCH;
        m.rule = (uint32_t)cr_ruleset_find_rule(rs, "fail");
        m.key_len = 8;
        memcpy(m.key, "10.3.0.9", 8);
        m.time_ms = 1772438400000LL + i * 1000;
        m.replay = 1;
        m.src = 3;
        cr_correlator_apply(a, &m);
    }
    drain(a, out, sizeof out);
    cr_assert_str_eq(out, "", "nothing emitted during replay: %s", out);
    /* ... until a live match updates it: then it comes out with its full count */
    m.replay = 0;
    m.time_ms += 1000;
    cr_correlator_apply(a, &m);
    drain(a, out, sizeof out);
    cr_assert(strstr(out, "brute") && strstr(out, " 6\n"), "%s", out);
    cr_correlator_free(a);
    cr_ruleset_free(rs);
}

/* A pending absence survives a restart: its deadline fires in the restored
 * correlator once event time passes it. */
Test(checkpoint, pending_absence_survives)
{
    static const char *ABS = "rules:\n"
                             "  - id: start\n"
                             "    match: 'start (?<host>\\S+)'\n"
                             "  - id: done\n"
                             "    match: 'done (?<host>\\S+)'\n"
                             "correlations:\n"
                             "  - id: unfinished\n"
                             "    type: absence\n"
                             "    rules: [start, done]\n"
                             "    group_by: [host]\n"
                             "    timespan: 1h\n"
                             "    incident: { category: F-STO-BKP }\n";
    struct cr_ruleset *rs = cr_test_rules(dir, "abs.yaml", ABS);
    struct cr_store *s = open_store();
    struct cr_correlator *a = cr_correlator_new(rs, 1000);
    cr_correlator_enable_checkpoints(a);
    char out[4096] = "";
    feed(a, rs, "start", "db-02", 0, 7);
    drain(a, out, sizeof out);
    checkpoint(a, s);
    cr_correlator_free(a);

    struct cr_correlator *b = cr_correlator_new(rs, 1000);
    struct rctx r = {b, 0, 0};
    cr_store_each_state(s, restore_cb, &r);
    cr_assert_eq(r.kept, 1);
    feed(b, rs, "done", "db-09", 3601, 7); /* another host's event moves time on */
    drain(b, out, sizeof out);
    cr_assert(strstr(out, "unfinished") != NULL, "the restored deadline fired: '%s'", out);
    cr_correlator_free(b);
    cr_store_close(s);
    cr_ruleset_free(rs);
}
