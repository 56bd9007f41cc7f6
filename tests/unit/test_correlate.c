/*
 * test_correlate.c - the correlation operators on hand-made match records:
 * window edges, out-of-order times, open/close of incidents, sequences,
 * chaining, expiry and eviction.
 */
#include "engine/correlate/correlate.h"
#include "engine/pipeline/worker.h"
#include "base/timeparse.h"
#include "rules/ruleset.h"
#include "rules_fixture.h"
#include "incident_collect.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

static const char *RULES = "rules:\n"
                           "  - id: fail\n"
                           "    match: 'Failed password from (?<src_ip>\\S+)'\n"
                           "  - id: ok\n"
                           "    match: 'Accepted from (?<src_ip>\\S+)'\n"
                           "  - id: single\n"
                           "    match: 'boom (?<src_ip>\\S+)'\n"
                           "    group_by: [src_ip]\n"
                           "    incident: { category: S-ATK-EXPL, open_for: 10m }\n"
                           "correlations:\n"
                           "  - id: brute\n"
                           "    type: event_count\n"
                           "    rules: [fail]\n"
                           "    group_by: [src_ip]\n"
                           "    timespan: 60s\n"
                           "    condition: { gte: 5 }\n"
                           "    incident: { category: S-ATK-BRUTE, priority: P3 }\n"
                           "  - id: comp\n"
                           "    type: temporal_ordered\n"
                           "    rules: [brute, ok]\n"
                           "    group_by: [src_ip]\n"
                           "    timespan: 300s\n"
                           "    incident: { category: S-ATK-COMP, priority: P2 }\n";

static struct cr_ruleset *rs;
static struct cr_correlator *c;
static char *dir;

/* A fresh correlator over the rules `yaml` (written to file `name`). */
static void setup_rules(const char *name, const char *yaml, uint64_t max_keys)
{
    dir = cr_test_tmpdir();
    rs = cr_test_rules(dir, name, yaml);
    c = cr_correlator_new(rs, max_keys);
}

static void setup_keys(uint64_t max_keys) { setup_rules("r.yaml", RULES, max_keys); }

static void setup(void) { setup_keys(1000000); }

static void teardown(void)
{
    cr_correlator_free(c);
    cr_ruleset_free(rs);
    cr_test_rmtree(dir);
    free(dir);
}

static uint32_t feed_tenant; /* the tenant of the matches fed (0: none) */

/* Feed a match of rule `rule` for key `ip` at second `sec` (ms offset). */
static void feed_ms(const char *rule, const char *ip, int64_t ms)
{
    struct cr_match m;
    memset(&m, 0, sizeof m);
    m.tenant = feed_tenant;
    m.kind = CR_MSG_MATCH;
    m.rule = (uint32_t)cr_ruleset_find_rule(rs, rule);
    m.route = 0;
    m.key_len = (uint16_t)strlen(ip);
    memcpy(m.key, ip, m.key_len);
    m.time_ms = 1772438400000LL + ms; /* 2026-03-02T08:00:00Z */
    m.position = (uint64_t)ms;
    m.raw_len = (uint16_t)snprintf(m.raw, sizeof m.raw, "%s %s at %lld", rule, ip, (long long)ms);
    cr_correlator_apply(c, &m);
}

static void feed(const char *rule, const char *ip, int sec)
{
    feed_ms(rule, ip, (int64_t)sec * 1000);
}

/* Flush and collect the incident versions; the latest version per id wins. */
#define MAXI 64
static struct cr_incident got[MAXI];
static int created[MAXI];
static int ngot;

static void flush(void) { cr_test_collect(c, got, created, &ngot, MAXI); }

static const struct cr_incident *find(const char *rule, const char *ip, int nth)
{
    for (int k = 0; k < ngot; k++)
        if (strcmp(got[k].rule, rule) == 0 && strcmp(got[k].entities[0].value, ip) == 0 &&
            nth-- == 0)
            return &got[k];
    return NULL;
}

static int count(const char *rule)
{
    int n = 0;
    for (int k = 0; k < ngot; k++)
        n += strcmp(got[k].rule, rule) == 0;
    return n;
}

TestSuite(correlate, .init = setup, .fini = teardown);

Test(correlate, threshold_window_edges)
{
    ngot = 0;
    for (int s = 0; s <= 60; s += 15) /* 0..60: five events spanning exactly 60 s */
        feed("fail", "10.0.0.1", s);
    for (int k = 0; k < 5; k++) /* five events spanning 60.001 s */
        feed_ms("fail", "10.0.0.2", k == 4 ? 60001 : k * 1000);
    for (int k = 0; k < 4; k++) /* one short */
        feed("fail", "10.0.0.3", k);
    flush();
    const struct cr_incident *a = find("brute", "10.0.0.1", 0);
    cr_assert(a != NULL, "5 in exactly the timespan fires");
    cr_assert_eq(a->event_count, 5);
    cr_assert_eq(a->nrefs, 5, "every contributing record is referenced");
    cr_assert_str_eq(a->entities[0].name, "src_ip");
    cr_assert_str_eq(a->category, "S-ATK-BRUTE");
    cr_assert_str_eq(a->reg_category, "NA/NACRED");
    cr_assert_eq(a->last_seen_ms - a->first_seen_ms, 60000);
    cr_assert(find("brute", "10.0.0.2", 0) == NULL, "60.001 s is outside the window");
    cr_assert(find("brute", "10.0.0.3", 0) == NULL, "4 < 5");
}

Test(correlate, out_of_order_within_window)
{
    ngot = 0;
    int secs[] = {30, 10, 0, 20, 40};
    for (int k = 0; k < 5; k++)
        feed("fail", "10.0.1.1", secs[k]);
    flush();
    const struct cr_incident *a = find("brute", "10.0.1.1", 0);
    cr_assert(a != NULL);
    cr_assert_eq(a->first_seen_ms, 1772438400000LL, "window starts at the oldest event");
    cr_assert_eq(a->window_start_ms, a->first_seen_ms);
}

Test(correlate, open_incident_takes_updates_then_closes)
{
    ngot = 0;
    for (int s = 0; s < 5; s++)
        feed("fail", "10.0.2.1", s);
    feed("fail", "10.0.2.1", 30); /* while open: update, not a new window */
    feed("fail", "10.0.2.1", 80); /* open_for = timespan after last_seen (30 + 60) */
    flush();
    cr_assert_eq(count("brute"), 1);
    const struct cr_incident *a = find("brute", "10.0.2.1", 0);
    cr_assert_eq(a->event_count, 7);
    cr_assert_eq(a->last_seen_ms - a->first_seen_ms, 80000);
    /* 200 s later the incident is closed: 5 new failures open a second one with another id */
    for (int s = 300; s < 305; s++)
        feed("fail", "10.0.2.1", s);
    flush();
    cr_assert_eq(count("brute"), 2);
    const struct cr_incident *b = find("brute", "10.0.2.1", 1);
    cr_assert(b != NULL);
    cr_assert_str_neq(a->id, b->id);
    cr_assert_eq(b->event_count, 5);
    /* 3 failures after the close are not enough: the counter restarted at the firing */
    for (int s = 420; s < 423; s++)
        feed("fail", "10.0.2.1", s);
    flush();
    cr_assert_eq(count("brute"), 2);
}

Test(correlate, sequence_after_chained_correlation)
{
    ngot = 0;
    /* brute force then success within 300 s */
    for (int s = 0; s < 5; s++)
        feed("fail", "10.0.3.1", s);
    feed("ok", "10.0.3.1", 200);
    /* success before any brute force: nothing; then brute force; success 301 s after */
    feed("ok", "10.0.3.2", 0);
    for (int s = 10; s < 15; s++)
        feed("fail", "10.0.3.2", s);
    feed("ok", "10.0.3.2", 14 + 301);
    flush();
    const struct cr_incident *x = find("comp", "10.0.3.1", 0);
    cr_assert(x != NULL);
    cr_assert_str_eq(x->category, "S-ATK-COMP");
    cr_assert_str_eq(x->priority, "P2");
    cr_assert_eq(x->first_seen_ms, 1772438400000LL + 4000, "starts when the brute force fired");
    cr_assert_eq(x->nreasons, 2, "sequence reason and the incident it follows");
    cr_assert(strstr(x->reasons[1], find("brute", "10.0.3.1", 0)->id) != NULL, "%s", x->reasons[1]);
    cr_assert(find("comp", "10.0.3.2", 0) == NULL, "too late and the early one came first");
}

Test(correlate, single_event_incidents_dedup)
{
    ngot = 0;
    feed("single", "10.0.4.1", 0);
    feed("single", "10.0.4.1", 60);
    feed("single", "10.0.4.1", 660); /* open_for 10m after 60: 660 is the last second in */
    feed("single", "10.0.4.1", 1261);
    flush();
    cr_assert_eq(count("single"), 2);
    const struct cr_incident *a = find("single", "10.0.4.1", 0);
    cr_assert_eq(a->event_count, 3);
    cr_assert_eq(a->nsamples, 3);
    cr_assert_eq(created[0], 1, "the first version is the opening one");
}

/* State is freed once the event-time watermark passes its horizon. */
Test(correlate, expiry_by_event_time)
{
    ngot = 0;
    for (int k = 0; k < 1000; k++) {
        char ip[32];
        snprintf(ip, sizeof ip, "10.1.%d.%d", k / 256, k % 256);
        feed("fail", ip, 0);
    }
    cr_assert_eq(cr_correlator_stats(c)->states, 1000);
    feed("fail", "10.9.9.9", 3600); /* an hour later by event time */
    for (int k = 0; k < 64; k++)
        flush(); /* expiry runs every 64 flushes */
    cr_assert_eq(cr_correlator_stats(c)->states, 1);
    cr_assert_eq(cr_correlator_stats(c)->expired, 1000);
    cr_assert_eq(cr_correlator_stats(c)->evicted, 0);
}

Test(correlate, eviction_is_bounded_and_counted)
{
    teardown();
    setup_keys(1000);
    ngot = 0;
    for (int k = 0; k < 5000; k++) {
        char ip[32];
        snprintf(ip, sizeof ip, "10.2.%d.%d", k / 256, k % 256);
        feed("fail", ip, k / 100); /* all within an hour: none can expire */
        if (k % 500 == 499)
            flush();
    }
    flush();
    const struct cr_correlator_stats *st = cr_correlator_stats(c);
    cr_assert_leq(st->states, 1000, "%lu states", (unsigned long)st->states);
    cr_assert_eq(st->states + st->evicted, 5000, "every state is live or counted as evicted");
    cr_assert_gt(st->evicted, 0);
}

/* ---- value_count, temporal, absence ---- */

static const char *OPS_RULES = "rules:\n"
                               "  - id: deny\n"
                               "    match: 'DENY (?<src_ip>\\S+) -> port (?<dst_port>\\d+)'\n"
                               "  - id: exec\n"
                               "    match: 'exec into pod by (?<user>\\S+)'\n"
                               "  - id: secret\n"
                               "    match: 'secret read by (?<user>\\S+)'\n"
                               "  - id: bstart\n"
                               "    match: 'backup start (?<host>\\S+)'\n"
                               "  - id: bdone\n"
                               "    match: 'backup done (?<host>\\S+)'\n"
                               "  - id: beat\n"
                               "    match: 'heartbeat (?<host>\\S+)'\n"
                               "correlations:\n"
                               "  - id: scan\n"
                               "    type: value_count\n"
                               "    rules: [deny]\n"
                               "    group_by: [src_ip]\n"
                               "    field: dst_port\n"
                               "    timespan: 60s\n"
                               "    condition: { gte: 4 }\n"
                               "    incident: { category: S-ATK-SCAN }\n"
                               "  - id: exec_secrets\n"
                               "    type: temporal\n"
                               "    rules: [exec, secret]\n"
                               "    group_by: [user]\n"
                               "    timespan: 10m\n"
                               "    incident: { category: S-OPS-CLOUDPRIV }\n"
                               "  - id: backup_unfinished\n"
                               "    type: absence\n"
                               "    rules: [bstart, bdone]\n"
                               "    group_by: [host]\n"
                               "    timespan: 1h\n"
                               "    incident: { category: F-STO-BKP }\n"
                               "  - id: heartbeat_lost\n"
                               "    type: absence\n"
                               "    rules: [beat, beat]\n"
                               "    group_by: [host]\n"
                               "    timespan: 5m\n"
                               "    incident: { category: F-CMP-HOST }\n";

static void ops_setup(void)
{
    setup_rules("ops.yaml", OPS_RULES, 100000);
    ngot = 0;
}

/* A match with a distinct-value hash (value_count routes carry one). */
static void feed_value(const char *rule, const char *key, int sec, const char *value)
{
    struct cr_match m;
    memset(&m, 0, sizeof m);
    m.kind = CR_MSG_MATCH;
    m.rule = (uint32_t)cr_ruleset_find_rule(rs, rule);
    m.key_len = (uint16_t)strlen(key);
    memcpy(m.key, key, m.key_len);
    m.time_ms = 1772438400000LL + (int64_t)sec * 1000;
    m.value = value ? XXH3_64bits(value, strlen(value)) : 0;
    m.raw_len = (uint16_t)snprintf(m.raw, sizeof m.raw, "%s %s %d", rule, key, sec);
    cr_correlator_apply(c, &m);
}

TestSuite(operators, .init = ops_setup, .fini = teardown);

Test(operators, value_count_distinct_values_in_window)
{
    /* 4 distinct ports in 30 s: a scan; repeats of one port do not count twice */
    const char *ports[] = {"22", "22", "23", "80", "22", "443"};
    for (int i = 0; i < 6; i++)
        feed_value("deny", "198.51.100.1", i * 6, ports[i]);
    /* 6 hits on 3 ports: not a scan */
    for (int i = 0; i < 6; i++)
        feed_value("deny", "198.51.100.2", i, ports[i % 3]);
    /* 4 distinct ports spread over 4 minutes: not within 60 s */
    for (int i = 0; i < 4; i++)
        feed_value("deny", "198.51.100.3", i * 80, ports[i + 2]);
    flush();
    const struct cr_incident *a = find("scan", "198.51.100.1", 0);
    cr_assert(a != NULL);
    cr_assert_str_eq(a->category, "S-ATK-SCAN");
    cr_assert_str_eq(a->reg_category, "NA/NASCAN");
    cr_assert_eq(a->event_count, 4);
    /* each value counts at its latest time (port 22 last at 24 s), so the window of
     * the 4 distinct ports starts at port 23 (12 s) and ends at port 443 (30 s) */
    cr_assert_eq(a->first_seen_ms, 1772438400000LL + 12000);
    cr_assert_eq(a->last_seen_ms, 1772438400000LL + 30000);
    cr_assert(strstr(a->reasons[0], "4 distinct dst_port values") != NULL, "%s", a->reasons[0]);
    cr_assert(find("scan", "198.51.100.2", 0) == NULL, "3 distinct < 4");
    cr_assert(find("scan", "198.51.100.3", 0) == NULL, "outside the window");
}

Test(operators, temporal_any_order)
{
    feed_value("secret", "mallory", 0, NULL); /* the secret read first ... */
    feed_value("exec", "mallory", 120, NULL); /* ... then the exec: any order counts */
    feed_value("exec", "bob", 0, NULL);
    feed_value("secret", "bob", 700, NULL); /* 11 min later: outside 10 m */
    feed_value("exec", "carol", 0, NULL);   /* only one of the two steps */
    flush();
    const struct cr_incident *a = find("exec_secrets", "mallory", 0);
    cr_assert(a != NULL);
    cr_assert_eq(a->first_seen_ms, 1772438400000LL);
    cr_assert_eq(a->last_seen_ms, 1772438400000LL + 120000);
    cr_assert(find("exec_secrets", "bob", 0) == NULL);
    cr_assert(find("exec_secrets", "carol", 0) == NULL);
}

Test(operators, absence_fires_on_event_time)
{
    feed_value("bstart", "db-01", 0, NULL);
    feed_value("bdone", "db-01", 1800, NULL); /* finished in 30 min: fine */
    feed_value("bstart", "db-02", 0, NULL);   /* never finishes */
    feed_value("bstart", "db-03", 0, NULL);
    feed_value("beat", "other", 3599, NULL);
    flush();
    cr_assert(find("backup_unfinished", "db-02", 0) == NULL,
              "event time has not passed the deadline yet (event time, not wall time)");
    /* the late follow-up (after the hour) is itself the event that moves time past both
     * deadlines: they fire before it is applied, so it answers nothing */
    feed_value("bdone", "db-03", 3700, NULL);
    flush();
    const struct cr_incident *a = find("backup_unfinished", "db-02", 0);
    cr_assert(a != NULL);
    cr_assert_str_eq(a->category, "F-STO-BKP");
    cr_assert_eq(a->first_seen_ms, 1772438400000LL);
    cr_assert_eq(a->last_seen_ms, 1772438400000LL + 3600000, "the deadline");
    cr_assert_eq(a->nrefs, 1, "the unanswered start is the evidence");
    cr_assert(strstr(a->reasons[0], "bstart at 2026-03-02T08:00:00.000Z, no bdone within 3600s"),
              "%s", a->reasons[0]);
    cr_assert(find("backup_unfinished", "db-03", 0) != NULL, "a late follow-up does not count");
    cr_assert(find("backup_unfinished", "db-01", 0) == NULL);
}

Test(operators, heartbeat_lost_with_one_rule_as_both_steps)
{
    /* host-a beats every minute for 10 minutes then stops; host-b keeps beating */
    for (int i = 0; i <= 10; i++)
        feed_value("beat", "host-a", i * 60, NULL);
    for (int i = 0; i <= 30; i++)
        feed_value("beat", "host-b", i * 60, NULL);
    flush();
    const struct cr_incident *a = find("heartbeat_lost", "host-a", 0);
    cr_assert(a != NULL, "host-a stopped at 600 s: lost at 900 s");
    cr_assert_eq(a->first_seen_ms, 1772438400000LL + 600000, "the last heartbeat");
    cr_assert_eq(a->last_seen_ms, 1772438400000LL + 900000);
    cr_assert(find("heartbeat_lost", "host-b", 0) == NULL, "host-b never missed 5 min");
    cr_assert_eq(count("heartbeat_lost"), 1);
}

/* An incident updated in every batch is written at most every 16 batch
 * ends, the opening version at once, and the final version at the forced
 * flush (checkpoint or end of input). */
Test(correlate, storm_updates_are_coalesced)
{
    int versions = 0, opened = 0;
    uint64_t last_count = 0;
    for (int s = 0; s < 5 + 64; s++) {
        feed("fail", "10.0.9.1", s);
        struct cr_version *h, *t;
        cr_correlator_flush_batch(c, &h, &t);
        for (struct cr_version *m = h, *n; m; m = n) {
            n = m->next;
            versions++;
            opened += m->created;
            last_count = m->inc.event_count;
            free(m);
        }
    }
    cr_assert_eq(opened, 1, "the opening version goes out at once");
    cr_assert_leq(versions, 1 + 64 / 16 + 1, "%d versions for 65 changes", versions);
    cr_assert_geq(versions, 64 / 16, "updates are delayed, not dropped");
    /* one more change right after a batch version went out: only the forced
     * flush writes it */
    feed("fail", "10.0.9.1", 70);
    struct cr_version *h, *t;
    cr_correlator_flush_batch(c, &h, &t);
    for (struct cr_version *m = h, *n; m; m = n) {
        n = m->next;
        last_count = m->inc.event_count;
        free(m);
    }
    cr_correlator_flush(c, &h, &t);
    if (!h) { /* the batch flush above happened to be the 16th: it carried the change */
        cr_assert_eq(last_count, 70);
        return;
    }
    cr_assert_eq(h->inc.event_count, 70, "final version: all 70 failures (last batched: %llu)",
                 (unsigned long long)last_count);
    cr_assert_null(h->next);
    free(h);
}

/* ---- budgets ---- */

static const char *BUDGET_RULES = "rules:\n"
                                  "  - id: fail\n"
                                  "    match: 'Failed from (?<src_ip>\\S+)'\n"
                                  "  - id: ok\n"
                                  "    match: 'Accepted from (?<src_ip>\\S+)'\n"
                                  "correlations:\n"
                                  "  - id: brute\n"
                                  "    type: event_count\n"
                                  "    rules: [fail]\n"
                                  "    group_by: [src_ip]\n"
                                  "    timespan: 1h\n"
                                  "    condition: { gte: 3 }\n"
                                  "    max_keys: 100\n"
                                  "    incident: { category: S-ATK-BRUTE }\n"
                                  "  - id: many_ok\n"
                                  "    type: event_count\n"
                                  "    rules: [ok]\n"
                                  "    group_by: [src_ip]\n"
                                  "    timespan: 1h\n"
                                  "    condition: { gte: 3 }\n"
                                  "    incident: { category: S-ABN-ACCESS }\n";

static void budget_setup(void)
{
    setup_rules("b.yaml", BUDGET_RULES, 1000000);
    ngot = 0;
}

TestSuite(budget, .init = budget_setup, .fini = teardown);

Test(budget, a_rule_evicts_its_own_oldest_keys)
{
    char ip[32];
    /* 50 keys of the unbudgeted correlation first: they must survive */
    for (int k = 0; k < 50; k++) {
        snprintf(ip, sizeof ip, "10.9.0.%d", k);
        feed("ok", ip, k);
    }
    /* 1000 keys with one failure each: brute keeps its 100 most recent */
    for (int k = 0; k < 1000; k++) {
        snprintf(ip, sizeof ip, "10.8.%d.%d", k / 256, k % 256);
        feed("fail", ip, 100 + k);
    }
    const struct cr_correlator_stats *st = cr_correlator_stats(c);
    cr_assert_eq(st->budget_evicted, 900);
    cr_assert_eq(st->states, 50 + 100);
    int brute = cr_ruleset_find_corr(rs, "brute"), ok = cr_ruleset_find_corr(rs, "many_ok");
    cr_assert_eq(cr_correlator_budget_evictions(c, rs->nrules + brute), 900);
    cr_assert_eq(cr_correlator_budget_evictions(c, rs->nrules + ok), 0);
    /* the kept keys are the last 100: two more failures complete a window for
     * key 999 (it has one already), not for key 0 (evicted: it starts over) */
    feed("fail", "10.8.3.231", 2000); /* key 999 */
    feed("fail", "10.8.3.231", 2001);
    feed("fail", "10.8.0.0", 2002); /* key 0 */
    feed("fail", "10.8.0.0", 2003);
    /* and the unbudgeted keys kept their state: two more reach 3 */
    feed("ok", "10.9.0.7", 2004);
    feed("ok", "10.9.0.7", 2005);
    flush();
    cr_assert(find("brute", "10.8.3.231", 0) != NULL, "a kept key continues its window");
    cr_assert(find("brute", "10.8.0.0", 0) == NULL, "an evicted key starts over");
    cr_assert(find("many_ok", "10.9.0.7", 0) != NULL, "another rule's state is untouched");
}

/* correlation.max_keys_per_tenant: tenant B's 20 windows are older than
 * anything of tenant A, so a budget by age alone would evict them first.
 * A's key explosion evicts only A's own states, and says so per tenant. */
Test(budget, a_tenant_evicts_only_its_own_keys)
{
    enum { A = 0xa, B = 0xb };
    cr_correlator_set_tenant_budget(c, 50);
    char ip[32];
    feed_tenant = B;
    for (int k = 0; k < 20; k++) {
        snprintf(ip, sizeof ip, "10.9.0.%d", k);
        feed("ok", ip, k);
        feed("ok", ip, k + 1);
    }
    feed_tenant = A;
    for (int k = 0; k < 1000; k++) {
        snprintf(ip, sizeof ip, "10.8.%d.%d", k / 256, k % 256);
        feed("ok", ip, 100 + k);
    }
    const struct cr_correlator_stats *st = cr_correlator_stats(c);
    cr_assert_eq(st->tenant_evicted, 950);
    cr_assert_eq(st->evicted, 950);
    cr_assert_eq(st->budget_evicted, 0, "no rule budget was involved");
    cr_assert_eq(st->states, 20 + 50);
    struct cr_tenant_evictions te[4];
    cr_assert_eq(cr_correlator_tenant_evictions(c, te, 4), 1);
    cr_assert_eq(te[0].tenant, A);
    cr_assert_eq(te[0].evicted, 950);
    /* B's windows are whole: one more match each opens 20 incidents */
    feed_tenant = B;
    for (int k = 0; k < 20; k++) {
        snprintf(ip, sizeof ip, "10.9.0.%d", k);
        feed("ok", ip, 2000 + k);
    }
    /* A kept its 50 most recent keys: key 999 continues, key 0 starts over */
    feed_tenant = A;
    for (int i = 0; i < 2; i++) {
        feed("ok", "10.8.3.231", 2100 + i); /* key 999 */
        feed("ok", "10.8.0.0", 2100 + i);   /* key 0 */
    }
    flush();
    for (int k = 0; k < 20; k++) {
        snprintf(ip, sizeof ip, "10.9.0.%d", k);
        cr_assert(find("many_ok", ip, 0) != NULL, "tenant B's window %s survived", ip);
    }
    cr_assert(find("many_ok", "10.8.3.231", 0) != NULL, "a kept key of A continues");
    cr_assert(find("many_ok", "10.8.0.0", 0) == NULL, "an evicted key of A starts over");
    feed_tenant = 0;
}

/* When the tails of the LRU lists hold more than the bounded scan of other
 * tenants' states, the tenant stays over until the next flush, which evicts
 * its oldest states down to the budget; still nobody else's. */
Test(budget, a_tenant_over_budget_is_trimmed_at_the_flush)
{
    enum { A = 0xa, B = 0xb };
    cr_correlator_set_tenant_budget(c, 120);
    char ip[32];
    feed_tenant = B;
    for (int k = 0; k < 100; k++) {
        snprintf(ip, sizeof ip, "10.9.%d.%d", k / 256, k % 256);
        feed("ok", ip, k);
    }
    flush(); /* nothing pending: B's states are evictable */
    feed_tenant = A;
    for (int k = 0; k < 300; k++) {
        snprintf(ip, sizeof ip, "10.8.%d.%d", k / 256, k % 256);
        feed("ok", ip, 1000 + k);
    }
    const struct cr_correlator_stats *st = cr_correlator_stats(c);
    cr_assert_eq(st->tenant_evicted, 0, "the scan of 64 found only B's states (%llu)",
                 (unsigned long long)st->tenant_evicted);
    flush();
    cr_assert_eq(st->tenant_evicted, 180);
    cr_assert_eq(st->states, 100 + 120);
    struct cr_tenant_evictions te[4];
    cr_assert_eq(cr_correlator_tenant_evictions(c, te, 4), 1);
    cr_assert_eq(te[0].tenant, A);
    /* the 120 kept are A's most recent */
    feed("ok", "10.8.1.43", 2000); /* key 299 */
    feed("ok", "10.8.1.43", 2001);
    feed("ok", "10.8.0.0", 2002); /* key 0: evicted */
    feed("ok", "10.8.0.0", 2003);
    flush();
    cr_assert(find("many_ok", "10.8.1.43", 0) != NULL);
    cr_assert(find("many_ok", "10.8.0.0", 0) == NULL);
    feed_tenant = 0;
}

/* ---- cross-key sequences, count windows, new values ---- */

static const char *LANG_RULES =
    "rules:\n"
    "  - id: fail\n"
    "    match: 'Failed password for (?<user>\\S+) from (?<src_ip>\\S+)'\n"
    "  - id: accepted\n"
    "    match: 'Accepted password for (?<user>\\S+) from (?<src_ip>\\S+)'\n"
    "  - id: sudo\n"
    "    match: 'sudo by (?<user>\\S+)'\n"
    "  - id: alert\n"
    "    match: 'alert on (?<dst_ip>\\S+)'\n"
    "  - id: login\n"
    "    match: 'login (?<src_ip>\\S+) -> (?<dst_ip>\\S+)'\n"
    "  - id: req\n"
    "    match: 'req (?<host>\\S+)'\n"
    "  - id: console\n"
    "    match: 'console (?<user>\\S+) from (?<src_ip>\\S+)'\n"
    "  - id: policy\n"
    "    match: 'policy by (?<user>\\S+)'\n"
    "correlations:\n"
    "  - id: brute\n"
    "    type: event_count\n"
    "    rules: [fail]\n"
    "    group_by: [src_ip]\n"
    "    timespan: 60s\n"
    "    condition: { gte: 3 }\n"
    "    incident: { category: S-ATK-BRUTE }\n"
    "  - id: privesc\n"
    "    type: temporal_ordered\n"
    "    steps:\n"
    "      - { rule: brute }\n"
    "      - { rule: accepted, join: { src_ip: src_ip } }\n"
    "      - { rule: sudo, join: { user: user } }\n"
    "    timespan: 10m\n"
    "    incident: { category: S-ATK-COMP, priority: P1 }\n"
    "  - id: lateral\n"
    "    type: temporal_ordered\n"
    "    steps:\n"
    "      - { rule: alert }\n"
    "      - { rule: login, join: { src_ip: dst_ip } }\n"
    "    timespan: 5m\n"
    "    incident: { category: S-ATK-COMP }\n"
    "  - id: few\n"
    "    type: event_count\n"
    "    rules: [req]\n"
    "    group_by: [host]\n"
    "    timespan: 60s\n"
    "    condition: { gte: 2, lte: 3 }\n"
    "    incident: { category: F-APP-DEG }\n"
    "  - id: newip\n"
    "    type: new_value\n"
    "    rules: [console]\n"
    "    group_by: [user]\n"
    "    field: src_ip\n"
    "    history: 1h\n"
    "    learn: 10m\n"
    "    max_values: 3\n"
    "    incident: { category: S-ABN-ACCESS }\n"
    "  - id: newip_policy\n"
    "    type: temporal_ordered\n"
    "    rules: [newip, policy]\n"
    "    group_by: [user]\n"
    "    timespan: 30m\n"
    "    incident: { category: S-OPS-CLOUDPRIV, priority: P2 }\n";

static uint64_t lang_pos;

static void lang_setup(void)
{
    setup_rules("lang.yaml", LANG_RULES, 100000);
    ngot = 0;
    lang_pos = 0;
}

/* What a worker does with one event that matched `rule`: for each of the
 * rule's routes, the key from the route's fields (fields given as name,
 * value pairs; a route whose field is missing is skipped), then apply. */
static void ev(const char *rule, int64_t sec, const char *f1, const char *v1, const char *f2,
               const char *v2)
{
    const char *names[2] = {f1, f2}, *vals[2] = {v1, v2};
    int r = cr_ruleset_find_rule(rs, rule);
    cr_assert_geq(r, 0, "no rule %s", rule);
    const struct cr_rule *ru = &rs->rules[r];
    lang_pos++;
    for (int i = 0; i < ru->nroutes; i++) {
        const struct cr_route *rt = &ru->routes[i];
        struct cr_match m;
        memset(&m, 0, sizeof m);
        m.kind = CR_MSG_MATCH;
        m.rule = (uint32_t)r;
        m.route = (uint8_t)i;
        int ok = 1;
        for (int g = 0; g < rt->ngroup_by && ok; g++) {
            const char *want = rs->field_names[rt->group_by[g]];
            int j = 0;
            while (j < 2 && !(names[j] && strcmp(names[j], want) == 0))
                j++;
            if (j == 2) {
                ok = 0;
                break;
            }
            if (g)
                m.key[m.key_len++] = CR_KEY_SEP;
            memcpy(m.key + m.key_len, vals[j], strlen(vals[j]));
            m.key_len = (uint16_t)(m.key_len + strlen(vals[j]));
        }
        if (rt->value_field >= 0) {
            const char *want = rs->field_names[rt->value_field];
            int j = 0;
            while (j < 2 && !(names[j] && strcmp(names[j], want) == 0))
                j++;
            if (j == 2)
                ok = 0;
            else
                m.value = XXH3_64bits(vals[j], strlen(vals[j]));
        }
        if (!ok)
            continue;
        m.time_ms = 1772438400000LL + sec * 1000;
        m.position = lang_pos;
        m.raw_len = (uint16_t)snprintf(m.raw, sizeof m.raw, "%s %s=%s at %lld", rule, f1, v1,
                                       (long long)sec);
        cr_correlator_apply(c, &m);
    }
}

static const struct cr_incident *find2(const char *rule, const char *v0, const char *v1)
{
    for (int k = 0; k < ngot; k++)
        if (strcmp(got[k].rule, rule) == 0 && strcmp(got[k].entities[0].value, v0) == 0 &&
            (!v1 || (got[k].nentities > 1 && strcmp(got[k].entities[1].value, v1) == 0)))
            return &got[k];
    return NULL;
}

static int has_ref(const struct cr_incident *inc, uint64_t position)
{
    for (int i = 0; i < inc->nrefs; i++)
        if (inc->refs[i].position == position)
            return 1;
    return 0;
}

#define T(sec) (1772438400000LL + (int64_t)(sec)*1000)

TestSuite(lang, .init = lang_setup, .fini = teardown);

Test(lang, brute_force_then_login_then_sudo_joins_on_two_fields)
{
    for (int s = 0; s < 3; s++) /* positions 1-3: brute force from X fires at 2 s */
        ev("fail", s, "src_ip", "198.51.100.7", "user", "root");
    ev("accepted", 60, "src_ip", "198.51.100.7", "user", "alice"); /* 4 */
    ev("sudo", 120, "user", "alice", NULL, NULL);                  /* 5 */
    /* near misses: sudo by a user who logged in from a clean source; sudo by a
     * user who never logged in; a login from X by bob with no sudo after it */
    ev("accepted", 60, "src_ip", "192.0.2.10", "user", "carol");
    ev("sudo", 130, "user", "carol", NULL, NULL);
    ev("sudo", 140, "user", "dave", NULL, NULL);
    ev("accepted", 150, "src_ip", "198.51.100.7", "user", "bob");
    flush();
    cr_assert_eq(count("privesc"), 1);
    const struct cr_incident *a = find2("privesc", "198.51.100.7", "alice");
    cr_assert(a != NULL);
    cr_assert_str_eq(a->entities[0].name, "src_ip");
    cr_assert_str_eq(a->entities[1].name, "user");
    cr_assert_str_eq(a->category, "S-ATK-COMP");
    cr_assert_eq(a->first_seen_ms, T(2), "the sequence starts when the brute force fired");
    cr_assert_eq(a->window_start_ms, T(2));
    cr_assert_eq(a->last_seen_ms, T(120));
    /* evidence of every step: the brute force's first failure, the login, the sudo */
    cr_assert_eq(a->nrefs, 3);
    cr_assert(has_ref(a, 1) && has_ref(a, 4) && has_ref(a, 5));
    const struct cr_incident *b = find("brute", "198.51.100.7", 0);
    cr_assert(b != NULL);
    int follows = 0;
    for (int i = 0; i < a->nreasons; i++)
        follows |= strstr(a->reasons[i], b->id) != NULL;
    cr_assert(follows, "the incident names the brute force it follows");
    cr_assert(strstr(a->reasons[1], "started by brute for 198.51.100.7"), "%s", a->reasons[1]);
}

Test(lang, pending_partials_for_different_join_values_all_complete)
{
    for (int s = 0; s < 3; s++) {
        ev("fail", s, "src_ip", "198.51.100.1", "user", "root");
        ev("fail", s, "src_ip", "198.51.100.2", "user", "root");
    }
    /* three users log in from the two sources: three partials at step 2 */
    ev("accepted", 30, "src_ip", "198.51.100.1", "user", "alice");
    ev("accepted", 31, "src_ip", "198.51.100.2", "user", "bob");
    ev("accepted", 32, "src_ip", "198.51.100.1", "user", "erin");
    ev("sudo", 200, "user", "bob", NULL, NULL);
    ev("sudo", 210, "user", "alice", NULL, NULL);
    ev("sudo", 220, "user", "erin", NULL, NULL);
    ev("sudo", 230, "user", "alice", NULL, NULL); /* again while open: an update */
    flush();
    cr_assert_eq(count("privesc"), 3);
    cr_assert(find2("privesc", "198.51.100.1", "alice") != NULL);
    cr_assert(find2("privesc", "198.51.100.2", "bob") != NULL);
    cr_assert(find2("privesc", "198.51.100.1", "erin") != NULL);
    cr_assert_eq(find2("privesc", "198.51.100.1", "alice")->event_count, 2);
}

Test(lang, order_timespan_and_the_latest_start)
{
    /* the login is stamped before the brute force fired (it arrives later, out
     * of order): it does not follow it */
    for (int s = 10; s < 13; s++)
        ev("fail", s, "src_ip", "198.51.100.3", "user", "root");
    ev("accepted", 5, "src_ip", "198.51.100.3", "user", "alice");
    ev("sudo", 40, "user", "alice", NULL, NULL);
    /* too late: the sudo comes 10 min + 1 s after the sequence started */
    for (int s = 0; s < 3; s++)
        ev("fail", s, "src_ip", "198.51.100.4", "user", "root");
    ev("accepted", 100, "src_ip", "198.51.100.4", "user", "frank");
    ev("sudo", 2 + 601, "user", "frank", NULL, NULL);
    flush();
    cr_assert_eq(count("privesc"), 0);
    /* a second brute force from the same source (after the first incident
     * closed) restarts the partial: with it, the sequence fits in 10 min */
    for (int s = 700; s < 703; s++)
        ev("fail", s, "src_ip", "198.51.100.4", "user", "root");
    ev("accepted", 900, "src_ip", "198.51.100.4", "user", "frank");
    ev("sudo", 1200, "user", "frank", NULL, NULL);
    flush();
    const struct cr_incident *a = find2("privesc", "198.51.100.4", "frank");
    cr_assert(a != NULL);
    cr_assert_eq(a->first_seen_ms, T(702));
}

Test(lang, match_rule_first_step_and_out_of_order_within_a_step)
{
    ev("alert", 100, "dst_ip", "10.1.0.5", NULL, NULL);
    ev("alert", 50, "dst_ip", "10.1.0.5", NULL, NULL); /* older, arrives later: ignored */
    ev("login", 360, "src_ip", "10.1.0.5", "dst_ip", "10.1.0.9"); /* 260 s after the newest */
    /* near misses: a login from a host with no alert; a login from the alerted
     * host that happened before its alert */
    ev("login", 361, "src_ip", "10.1.0.7", "dst_ip", "10.1.0.9");
    ev("alert", 400, "dst_ip", "10.1.0.6", NULL, NULL);
    ev("login", 399, "src_ip", "10.1.0.6", "dst_ip", "10.1.0.9");
    flush();
    cr_assert_eq(count("lateral"), 1);
    const struct cr_incident *a = find("lateral", "10.1.0.5", 0);
    cr_assert(a != NULL);
    cr_assert_eq(a->first_seen_ms, T(100), "the newest start of the partial is kept");
    cr_assert_eq(a->nrefs, 2);
    /* the login to 10.1.0.9 from an alerted host: a further hop from 10.1.0.9 would
     * need an alert on 10.1.0.9 itself; a login is not an alert */
    ev("login", 370, "src_ip", "10.1.0.9", "dst_ip", "10.1.0.10");
    flush();
    cr_assert_eq(count("lateral"), 1);
}

Test(lang, partials_expire_by_event_time)
{
    for (int s = 0; s < 3; s++)
        ev("fail", s, "src_ip", "198.51.100.9", "user", "root");
    ev("accepted", 10, "src_ip", "198.51.100.9", "user", "alice");
    uint64_t with = cr_correlator_stats(c)->states;
    ev("req", 7200, "host", "far-away", NULL, NULL); /* two hours later */
    for (int k = 0; k < 64; k++)
        flush();
    cr_assert_lt(cr_correlator_stats(c)->states, with);
    cr_assert_eq(cr_correlator_stats(c)->states, 1, "only the new window is left");
    ev("sudo", 7201, "user", "alice", NULL, NULL);
    flush();
    cr_assert_eq(count("privesc"), 0);
}

Test(lang, range_condition_is_decided_when_the_window_ends)
{
    ev("req", 0, "host", "a", NULL, NULL); /* 2 in [0, 60]: in range */
    ev("req", 30, "host", "a", NULL, NULL);
    for (int s = 0; s < 4; s++) /* 4: above the range */
        ev("req", s * 10, "host", "b", NULL, NULL);
    ev("req", 5, "host", "c", NULL, NULL); /* 1: below */
    ev("req", 59, "host", "d", NULL, NULL);
    flush();
    cr_assert_eq(count("few"), 0, "no window has ended yet");
    ev("req", 61, "host", "d", NULL, NULL); /* time passes 60 s: a, b, c are decided */
    flush();
    cr_assert_eq(count("few"), 1);
    const struct cr_incident *a = find("few", "a", 0);
    cr_assert(a != NULL);
    cr_assert_eq(a->event_count, 2);
    cr_assert_eq(a->first_seen_ms, T(0));
    cr_assert_eq(a->last_seen_ms, T(30));
    cr_assert_eq(a->nrefs, 2);
    cr_assert(strstr(a->reasons[0], "condition: >= 2 and <= 3"), "%s", a->reasons[0]);
    /* d's window is anchored at its first match (59 s): 61 s is in it */
    ev("req", 200, "host", "e", NULL, NULL);
    flush();
    cr_assert(find("few", "d", 0) != NULL, "59 s and 61 s in d's window [59, 119]");
    cr_assert_eq(count("few"), 2);
    /* a new window for a opens at its next match after the first one ended:
     * 2 more matches, but the deadline has not passed at the end of input */
    ev("req", 300, "host", "a", NULL, NULL);
    ev("req", 301, "host", "a", NULL, NULL);
    flush();
    cr_assert_eq(count("few"), 2);
    cr_correlator_advance(c, T(400));
    flush();
    cr_assert_eq(count("few"), 3, "a's second window fired once time passed it");
}

Test(lang, new_value_learns_then_fires_and_evicts)
{
    ev("console", 0, "user", "alice", "src_ip", "192.0.2.1");
    ev("console", 300, "user", "alice", "src_ip", "192.0.2.2");  /* learning: silent */
    ev("console", 1200, "user", "alice", "src_ip", "192.0.2.1"); /* known */
    ev("console", 1800, "user", "alice", "src_ip", "192.0.2.2"); /* known (seen at 300 s) */
    flush();
    cr_assert_eq(count("newip"), 0);
    ev("console", 1900, "user", "alice", "src_ip", "203.0.113.50"); /* new: fires */
    flush();
    const struct cr_incident *a = find("newip", "alice", 0);
    cr_assert(a != NULL);
    cr_assert_eq(a->first_seen_ms, T(1900));
    cr_assert_str_eq(a->category, "S-ABN-ACCESS");
    cr_assert(strstr(a->reasons[0], "a src_ip value not seen for this key within 3600s"), "%s",
              a->reasons[0]);
    /* 3 values kept: a fourth evicts the least recently seen (192.0.2.1, 1200 s) */
    ev("console", 2000, "user", "alice", "src_ip", "203.0.113.51");
    cr_assert_eq(cr_correlator_stats(c)->values_evicted, 1);
    ev("console", 2100, "user", "alice", "src_ip", "192.0.2.2"); /* kept: known */
    ev("console", 2200, "user", "alice", "src_ip", "192.0.2.1"); /* evicted: new again */
    flush();
    cr_assert_eq(count("newip"), 1, "later new values update the open incident");
    cr_assert_eq(find("newip", "alice", 0)->event_count, 3);
    /* history: a value last seen more than an hour ago is new again */
    ev("console", 0, "user", "bob", "src_ip", "192.0.2.9");
    ev("console", 700, "user", "bob", "src_ip", "192.0.2.9");
    ev("console", 700 + 3601, "user", "bob", "src_ip", "192.0.2.9");
    flush();
    const struct cr_incident *b = find("newip", "bob", 0);
    cr_assert(b != NULL);
    cr_assert_eq(b->first_seen_ms, T(4301));
}

Test(lang, new_value_chains_into_a_sequence)
{
    ev("console", 0, "user", "carol", "src_ip", "192.0.2.1");
    ev("console", 900, "user", "carol", "src_ip", "192.0.2.1");
    ev("policy", 950, "user", "carol", NULL, NULL); /* known place: no sequence */
    ev("console", 1000, "user", "carol", "src_ip", "198.51.100.99");
    ev("policy", 1500, "user", "carol", NULL, NULL);
    flush();
    cr_assert_eq(count("newip_policy"), 1);
    const struct cr_incident *a = find("newip_policy", "carol", 0);
    cr_assert(a != NULL);
    cr_assert_eq(a->first_seen_ms, T(1000));
}

/* ---- snapshot -> restore of the new state kinds ---- */

/* Apply every PUT of a snapshot delta (checkpoint.h) to correlator to. */
static int restore_delta(struct cr_correlator *to, const char *p, size_t len)
{
    int n = 0;
    size_t i = 0;
    while (i < len) {
        uint8_t op = (uint8_t)p[i++];
        size_t kl = (size_t)(uint8_t)p[i] << 8 | (uint8_t)p[i + 1];
        i += 2;
        const char *k = p + i;
        i += kl;
        if (op == 2)
            continue;
        cr_assert_eq(op, 1);
        size_t vl = (size_t)(uint8_t)p[i] << 24 | (size_t)(uint8_t)p[i + 1] << 16 |
                    (size_t)(uint8_t)p[i + 2] << 8 | (uint8_t)p[i + 3];
        i += 4;
        n += cr_correlator_restore(to, k, kl, p + i, vl);
        i += vl;
    }
    cr_assert_eq(i, len);
    return n;
}

/* Snapshot c, throw it away, and continue from a correlator restored from
 * the snapshot alone. */
static int restart(void)
{
    flush();
    size_t len = 0;
    char *snap = cr_correlator_snapshot(c, &len);
    cr_correlator_free(c);
    c = cr_correlator_new(rs, 100000);
    cr_correlator_enable_checkpoints(c);
    int n = restore_delta(c, snap, len);
    free(snap);
    return n;
}

Test(lang, snapshot_restore_keeps_partials_windows_and_known_values)
{
    cr_correlator_enable_checkpoints(c);
    for (int s = 0; s < 3; s++)
        ev("fail", s, "src_ip", "198.51.100.20", "user", "root");
    ev("accepted", 60, "src_ip", "198.51.100.20", "user", "gina"); /* partial at step 2 */
    ev("alert", 60, "dst_ip", "10.2.0.1", NULL, NULL);             /* partial at step 1 */
    ev("req", 50, "host", "w", NULL, NULL);                        /* open window, 1 so far */
    ev("console", 0, "user", "hank", "src_ip", "192.0.2.1");       /* learned value */
    ev("console", 30, "user", "hank", "src_ip", "192.0.2.2");
    int restored = restart();
    cr_assert_geq(restored, 6, "%d states restored", restored);
    ev("req", 90, "host", "w", NULL, NULL); /* second of the restored window [50, 110] */
    ev("login", 100, "src_ip", "10.2.0.1", "dst_ip", "10.2.0.2");
    ev("sudo", 200, "user", "gina", NULL, NULL);               /* also moves time past the window */
    ev("console", 900, "user", "hank", "src_ip", "192.0.2.2"); /* known from before */
    ev("console", 901, "user", "hank", "src_ip", "192.0.2.3"); /* new */
    flush();
    cr_assert(find2("privesc", "198.51.100.20", "gina") != NULL, "the restored partial completes");
    cr_assert(find("lateral", "10.2.0.1", 0) != NULL);
    const struct cr_incident *w = find("few", "w", 0);
    cr_assert(w != NULL, "the restored window's deadline fired");
    cr_assert_eq(w->event_count, 2);
    const struct cr_incident *h = find("newip", "hank", 0);
    cr_assert(h != NULL);
    cr_assert_eq(h->event_count, 1, "192.0.2.2 was known from before the restart");
    cr_assert_eq(h->first_seen_ms, T(901));
}

/* The worker places a match and a restarting shard places a checkpointed
 * state with two functions: they must agree, and place everything that is
 * not pinned by the contract, XXH3 (seed 0) of the key modulo the shards. */
Test(lang, placement_of_matches_and_restored_states_agrees)
{
    const int nsh = 7;
    const struct cr_rule *req = &rs->rules[cr_ruleset_find_rule(rs, "req")];
    uint32_t pinned = cr_ruleset_state_shard(rs, "privesc", "x", 1, nsh);
    int spread[7] = {0};
    for (int i = 0; i < 200; i++) {
        char key[32];
        size_t n = (size_t)snprintf(key, sizeof key, "10.3.%d.%d", i / 256, i % 256);
        uint32_t ks = (uint32_t)(XXH3_64bits(key, n) % (uint64_t)nsh);
        spread[ks]++;
        cr_assert_eq(cr_ruleset_route_shard(rs, &req->routes[0], key, n, nsh), ks);
        cr_assert_eq(cr_ruleset_state_shard(rs, "few", key, n, nsh), ks);
        /* brute is chained into the cross-key privesc: its states move with it */
        cr_assert_eq(cr_ruleset_state_shard(rs, "brute", key, n, nsh), pinned);
        cr_assert_eq(cr_ruleset_state_shard(rs, "privesc", key, n, nsh), pinned);
        const char *feeders[] = {"fail", "accepted", "sudo"};
        for (int f = 0; f < 3; f++) {
            const struct cr_rule *ru = &rs->rules[cr_ruleset_find_rule(rs, feeders[f])];
            cr_assert_gt(ru->nroutes, 0);
            for (int r = 0; r < ru->nroutes; r++)
                cr_assert_eq(cr_ruleset_route_shard(rs, &ru->routes[r], key, n, nsh), pinned);
        }
    }
    for (int s = 0; s < nsh; s++)
        cr_assert_gt(spread[s], 0, "unpinned keys spread over every shard");
    cr_assert_neq(rs->corrs[cr_ruleset_find_corr(rs, "lateral")].pin,
                  rs->corrs[cr_ruleset_find_corr(rs, "privesc")].pin,
                  "unrelated sequences have pins of their own");
    cr_assert_eq(rs->corrs[cr_ruleset_find_corr(rs, "newip")].pin, 0);
}

/* ---- compact state: exact evidence in every entry form, lazy growth, the slab ---- */

static const char *COMPACT_RULES = "rules:\n"
                                   "  - id: hit\n"
                                   "    match: 'hit (?<src_ip>\\S+) (?<port>\\d+)'\n"
                                   "correlations:\n"
                                   "  - id: four\n"
                                   "    type: event_count\n"
                                   "    rules: [hit]\n"
                                   "    group_by: [src_ip]\n"
                                   "    timespan: 1h\n"
                                   "    condition: { gte: 4 }\n"
                                   "    incident: { category: S-ATK-BRUTE }\n"
                                   "  - id: long\n"
                                   "    type: event_count\n"
                                   "    rules: [hit]\n"
                                   "    group_by: [src_ip]\n"
                                   "    timespan: 60d\n"
                                   "    condition: { gte: 3 }\n"
                                   "    incident: { category: S-ATK-BRUTE }\n"
                                   "  - id: ports\n"
                                   "    type: value_count\n"
                                   "    rules: [hit]\n"
                                   "    group_by: [src_ip]\n"
                                   "    field: port\n"
                                   "    timespan: 60d\n"
                                   "    condition: { gte: 3 }\n"
                                   "    incident: { category: S-ATK-SCAN }\n";

static void compact_setup(void)
{
    setup_rules("compact.yaml", COMPACT_RULES, 100000);
    ngot = 0;
}

/* One event of rule hit (both routes: the count and the distinct ports). */
static void hit(const char *ip, int port, int64_t ms, uint32_t input, uint64_t position)
{
    int r = cr_ruleset_find_rule(rs, "hit");
    const struct cr_rule *ru = &rs->rules[r];
    char p[16];
    snprintf(p, sizeof p, "%d", port);
    for (int i = 0; i < ru->nroutes; i++) {
        struct cr_match m;
        memset(&m, 0, sizeof m);
        m.kind = CR_MSG_MATCH;
        m.rule = (uint32_t)r;
        m.route = (uint8_t)i;
        m.key_len = (uint16_t)strlen(ip);
        memcpy(m.key, ip, m.key_len);
        m.value = ru->routes[i].value_field >= 0 ? XXH3_64bits(p, strlen(p)) : 0;
        m.time_ms = 1772438400000LL + ms;
        m.input = input;
        m.position = position;
        m.raw_len = (uint16_t)snprintf(m.raw, sizeof m.raw, "hit %s %d", ip, port);
        cr_correlator_apply(c, &m);
    }
}

struct want_ref {
    uint32_t input;
    uint64_t position;
    int64_t ms;
};

static void assert_refs(const struct cr_incident *inc, const struct want_ref *w, int n)
{
    cr_assert_not_null(inc);
    cr_assert_eq(inc->nrefs, n, "%d refs", inc->nrefs);
    for (int i = 0; i < n; i++) {
        cr_assert_eq(inc->refs[i].input, w[i].input, "ref %d input %u", i, inc->refs[i].input);
        cr_assert_eq(inc->refs[i].position, w[i].position, "ref %d position %llu", i,
                     (unsigned long long)inc->refs[i].position);
        cr_assert_eq(inc->refs[i].time_ms, 1772438400000LL + w[i].ms, "ref %d time", i);
    }
}

TestSuite(compact, .init = compact_setup, .fini = teardown);

/* Entries that do not fit the 8-byte form (another input, a position 2^40
 * away) switch the state to full refs: the evidence stays exact. */
Test(compact, refs_from_two_inputs_and_far_positions_stay_exact)
{
    const uint64_t far = (UINT64_C(1) << 40) + 12345;
    hit("10.0.0.1", 1, 0, 0, 10);
    hit("10.0.0.1", 1, 1000, 1, 20);  /* another input */
    hit("10.0.0.1", 1, 2000, 0, far); /* 2^40 further on */
    hit("10.0.0.1", 1, 3000, 3, 7);   /* and back */
    flush();
    const struct want_ref four[] = {{0, 10, 0}, {1, 20, 1000}, {0, far, 2000}, {3, 7, 3000}};
    assert_refs(find("four", "10.0.0.1", 0), four, 4);
    assert_refs(find("long", "10.0.0.1", 0), four, 4); /* fired at 3, the 4th updated it */
}

/* Out of order, equal times, positions below and above the newest's: the
 * compact form keeps them, sorted by time, equal times in arrival order. */
Test(compact, out_of_order_and_equal_times_in_the_compact_form)
{
    hit("10.0.0.2", 1, 30000, 2, 500);
    hit("10.0.0.2", 1, 10000, 2, 900);
    hit("10.0.0.2", 1, 10000, 2, 100);
    flush();
    const struct want_ref three[] = {{2, 900, 10000}, {2, 100, 10000}, {2, 500, 30000}};
    assert_refs(find("long", "10.0.0.2", 0), three, 3);
    cr_assert_null(find("four", "10.0.0.2", 0));
    hit("10.0.0.2", 1, 20000, 2, 1u << 30);
    flush();
    const struct want_ref four[] = {
        {2, 900, 10000}, {2, 100, 10000}, {2, 1u << 30, 20000}, {2, 500, 30000}};
    assert_refs(find("four", "10.0.0.2", 0), four, 4);
}

/* A window longer than 2^32 ms (49.7 days): ages that do not fit 32 bits
 * switch to full entries, for event_count and value_count. */
Test(compact, a_window_of_60_days_keeps_exact_times)
{
    const int64_t day = 86400000;
    hit("10.0.0.3", 1, 0, 0, 1);
    hit("10.0.0.3", 2, 50 * day, 0, 2);
    hit("10.0.0.3", 3, 55 * day + 7, 0, 3);
    flush();
    const struct want_ref three[] = {{0, 1, 0}, {0, 2, 50 * day}, {0, 3, 55 * day + 7}};
    assert_refs(find("long", "10.0.0.3", 0), three, 3);
    const struct cr_incident *p = find("ports", "10.0.0.3", 0);
    cr_assert_not_null(p, "3 distinct ports within 60 days");
    cr_assert_eq(p->first_seen_ms, 1772438400000LL);
    cr_assert_eq(p->last_seen_ms, 1772438400000LL + 55 * day + 7);
    cr_assert_null(find("four", "10.0.0.3", 0), "50 days apart: not within the hour");
}

/* A restart from a snapshot taken while states hold one inline entry, a
 * compact block and a wide block continues with the same evidence. */
Test(compact, snapshot_keeps_inline_compact_and_wide_entries)
{
    cr_correlator_enable_checkpoints(c);
    const uint64_t far = UINT64_C(1) << 45;
    hit("10.0.1.1", 1, 0, 0, 5); /* inline */
    hit("10.0.1.2", 1, 0, 1, 5); /* compact block */
    hit("10.0.1.2", 2, 500, 1, 9);
    hit("10.0.1.3", 1, 0, 0, 5); /* wide block */
    hit("10.0.1.3", 2, 500, 2, far);
    cr_assert_geq(restart(), 9);
    for (int k = 1; k <= 3; k++) {
        char ip[32];
        snprintf(ip, sizeof ip, "10.0.1.%d", k);
        for (int i = 0; i < 3; i++)
            hit(ip, 10 + i, 1000 + i * 1000, 3, 100 + (uint64_t)i);
    }
    flush();
    const struct want_ref a[] = {{0, 5, 0}, {3, 100, 1000}, {3, 101, 2000}, {3, 102, 3000}};
    assert_refs(find("four", "10.0.1.1", 0), a, 4);
    /* fired at the fourth, the fifth updated it */
    const struct want_ref b[] = {
        {1, 5, 0}, {1, 9, 500}, {3, 100, 1000}, {3, 101, 2000}, {3, 102, 3000}};
    assert_refs(find("four", "10.0.1.2", 0), b, 5);
    const struct want_ref w[] = {
        {0, 5, 0}, {2, far, 500}, {3, 100, 1000}, {3, 101, 2000}, {3, 102, 3000}};
    assert_refs(find("four", "10.0.1.3", 0), w, 5);
    assert_refs(find("long", "10.0.1.3", 0), w, 5); /* fired at 3, then two updates */
    cr_assert_not_null(find("ports", "10.0.1.2", 0), "values 1, 2 restored, then 10");
}

static const char *SLAB_RULES = "rules:\n"
                                "  - id: hit\n"
                                "    match: 'hit (?<src_ip>\\S+)'\n"
                                "  - id: h\n"
                                "    match: 'h (?<src_ip>\\S+)'\n"
                                "  - id: tick\n"
                                "    match: 'tick (?<src_ip>\\S+)'\n"
                                "correlations:\n"
                                "  - id: hour\n"
                                "    type: event_count\n"
                                "    rules: [hit, h]\n"
                                "    group_by: [src_ip]\n"
                                "    timespan: 1h\n"
                                "    condition: { gte: 5 }\n"
                                "    incident: { category: S-ATK-BRUTE }\n"
                                "  - id: minute\n"
                                "    type: event_count\n"
                                "    rules: [hit, tick]\n"
                                "    group_by: [src_ip]\n"
                                "    timespan: 60s\n"
                                "    condition: { gte: 5 }\n"
                                "    incident: { category: S-ATK-BRUTE }\n";

static void slab_setup(void)
{
    setup_rules("slab.yaml", SLAB_RULES, 10000000);
    ngot = 0;
}

/* Keys of one length ("k0000001"), so that all states share a size class. */
static void slab_feed(const char *rule, int key, int64_t ms)
{
    char ip[32];
    snprintf(ip, sizeof ip, "k%07d", key);
    feed_ms(rule, ip, ms);
}

static uint64_t state_bytes(void)
{
    uint64_t inc = 0, all = cr_correlator_memory(c, &inc);
    return all - inc;
}

/* Flush n times, dropping the incident versions (expiry runs every 64). */
static void flush_n(int n)
{
    for (int i = 0; i < n; i++) {
        struct cr_version *h, *t;
        cr_correlator_flush(c, &h, &t);
        for (struct cr_version *m = h, *nx; m; m = nx) {
            nx = m->next;
            free(m);
        }
    }
}

TestSuite(slab, .init = slab_setup, .fini = teardown);

/* A key that holds one event costs no ring slots; each further event held
 * costs 8 bytes (16 for the second: the first moves into the block), and
 * firing gives the block back. */
Test(slab, the_ring_grows_with_the_events_held)
{
    enum { N = 100000 };
    /* per class, a partly used chunk and a kept empty one: 128 KiB */
    const double slack = 2.0 * 65536 / N;
    uint64_t m0 = state_bytes();
    for (int k = 0; k < N; k++)
        slab_feed("h", k, k);
    uint64_t m1 = state_bytes();
    double one = (double)(m1 - m0) / N;
    cr_assert_leq(one, 48 + 4 * 2 + slack, "%.1f B for a key with one event", one);
    uint64_t prev = m1;
    for (int pass = 1; pass < 4; pass++) {
        for (int k = 0; k < N; k++)
            slab_feed("h", k, pass * 120000 + k);
        uint64_t m = state_bytes();
        double step = ((double)m - (double)prev) / N, want = pass == 1 ? 16 : 8;
        cr_assert(step >= want - slack && step <= want + slack,
                  "event %d held: %+.1f B per key (want %.0f)", pass + 1, step, want);
        prev = m;
    }
    for (int k = 0; k < N; k++) /* the fifth event fires: the ring empties */
        slab_feed("h", k, 4 * 120000 + k);
    cr_assert_eq(cr_correlator_stats(c)->incidents_opened, N);
    /* what stays: the dirty set, a vector of N state pointers (its capacity
     * a power of two), until the next flush and after (capacity is kept) */
    double dirty = 8.0 * 131072 / N;
    double back = ((double)state_bytes() - (double)m1) / N;
    cr_assert_leq(back, dirty + 3 * slack, "%+.1f B per key after firing", back);
    flush_n(1);
}

/* The memory reported is the slab's chunks, free slots included: states
 * expiring between live ones free no chunk and change nothing; new states
 * reuse their slots; once everything has expired, the chunks are gone. */
Test(slab, accounting_counts_chunks_and_slots_are_reused)
{
    enum { N = 20000 };
    for (int k = 0; k < N; k++)
        slab_feed("hit", k, k); /* hour and minute states, interleaved */
    flush_n(1);
    uint64_t full = state_bytes();
    cr_assert_eq(cr_correlator_stats(c)->states, 2 * N);
    slab_feed("h", N, 600000); /* 10 minutes on: the minute states can go */
    flush_n(64);
    cr_assert_eq(cr_correlator_stats(c)->expired, N);
    uint64_t half = state_bytes();
    cr_assert(half >= full, "freed slots between live states are still held (%llu < %llu)",
              (unsigned long long)half, (unsigned long long)full);
    cr_assert_leq(half - full, 65536 + 4096, "%llu more", (unsigned long long)(half - full));
    for (int k = 0; k < N; k++)
        slab_feed("tick", N + 1 + k, 600000 + k); /* new minute states: the free slots */
    flush_n(1);
    uint64_t again = state_bytes();
    cr_assert_leq(again, half + 65536, "the freed slots are reused (%llu > %llu)",
                  (unsigned long long)again, (unsigned long long)half);
    slab_feed("tick", 0, 3 * 3600000); /* everything expires */
    flush_n(64);
    cr_assert_eq(cr_correlator_stats(c)->states, 1);
    /* 2N states of 40 bytes ("k0000001": 24 + 8 + 8); the bucket array stays */
    cr_assert_geq(full - state_bytes(), 2 * N * 40 - 2 * 65536,
                  "the chunks went back (%llu of %llu)", (unsigned long long)state_bytes(),
                  (unsigned long long)full);
}

/* Entry blocks move out of chunks that a few long-lived blocks would
 * otherwise pin: after 95% of keys outgrow their 2-entry block, expiry
 * compacts the rest. */
Test(slab, expiry_compacts_pinned_entry_blocks)
{
    enum { N = 100000 };
    for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < N; k++)
            slab_feed("h", k, pass * 1000 + k);
    for (int k = 0; k < N; k++)
        if (k % 20)
            slab_feed("h", k, 2000 + k);
    uint64_t before = state_bytes();
    flush_n(64);
    uint64_t after = state_bytes();
    /* the 2-entry blocks of 95% of the keys: 16 B each, less what the
     * surviving 5% need, less a chunk or two */
    double freed = ((double)before - (double)after) / N;
    cr_assert_geq(freed, 16 * 0.95 - 0.05 * 16 - 2.0 * 65536 / N, "%.1f B per key freed", freed);
    cr_assert_eq(cr_correlator_stats(c)->states, N, "nothing expired");
    /* and the moved blocks still hold their entries: two more fire */
    for (int k = 0; k < N; k += 20) {
        slab_feed("h", k, 3000 + k);
        slab_feed("h", k, 3001 + k);
        slab_feed("h", k, 3002 + k);
    }
    cr_assert_eq(cr_correlator_stats(c)->incidents_opened, N / 20);
    flush_n(1);
}

/* An event that matched two of the rules one event_count counts is one
 * event: a record at one position counts once per key, while the objects
 * of a JSON-array record (sub) and the copies of a "message repeated"
 * line (rep) are events of their own. */
static const char *RULES_TWO = "rules:\n"
                               "  - id: sqli\n"
                               "    match: 'union select from (?<src_ip>\\S+)'\n"
                               "  - id: traversal\n"
                               "    match: '\\.\\./ from (?<src_ip>\\S+)'\n"
                               "correlations:\n"
                               "  - id: web\n"
                               "    type: event_count\n"
                               "    rules: [sqli, traversal]\n"
                               "    group_by: [src_ip]\n"
                               "    timespan: 60s\n"
                               "    condition: { gte: 3 }\n"
                               "    incident: { category: S-ATK-EXPL }\n";

static void feed_ev(const char *rule, const char *ip, uint64_t pos, uint32_t sub, uint32_t rep)
{
    struct cr_match m;
    memset(&m, 0, sizeof m);
    m.kind = CR_MSG_MATCH;
    m.rule = (uint32_t)cr_ruleset_find_rule(rs, rule);
    m.key_len = (uint16_t)strlen(ip);
    memcpy(m.key, ip, m.key_len);
    m.time_ms = 1772438400000LL + (int64_t)pos * 1000;
    m.position = pos;
    m.sub = sub;
    m.rep = rep;
    cr_correlator_apply(c, &m);
}

static void two_setup(void)
{
    setup_rules("two.yaml", RULES_TWO, 1000000);
    ngot = 0;
}

Test(correlate, an_event_matching_two_counted_rules_counts_once, .init = two_setup)
{
    feed_ev("sqli", "10.0.0.1", 1, 0, 0);
    feed_ev("traversal", "10.0.0.1", 1, 0, 0); /* the same request */
    feed_ev("sqli", "10.0.0.2", 1, 0, 0);      /* another key: its own count */
    feed_ev("traversal", "10.0.0.1", 2, 0, 0);
    flush();
    cr_assert_eq(count("web"), 0, "two events, not three");
    cr_assert_eq(cr_correlator_stats(c)->same_event, 1);
    feed_ev("sqli", "10.0.0.1", 3, 0, 0);
    flush();
    cr_assert_eq(count("web"), 1);
    cr_assert_eq(find("web", "10.0.0.1", 0)->event_count, 3);
    /* a JSON-array record: three objects at one position are three events */
    feed_ev("sqli", "10.0.0.3", 7, 0, 0);
    feed_ev("sqli", "10.0.0.3", 7, 1, 0);
    feed_ev("traversal", "10.0.0.3", 7, 1, 0); /* the second object matched both */
    feed_ev("sqli", "10.0.0.3", 7, 2, 0);
    flush();
    cr_assert_not_null(find("web", "10.0.0.3", 0));
    cr_assert_eq(find("web", "10.0.0.3", 0)->event_count, 3);
    /* "message repeated 3 times": three events */
    feed_ev("traversal", "10.0.0.4", 9, 0, 0);
    feed_ev("traversal", "10.0.0.4", 9, 0, 1);
    feed_ev("traversal", "10.0.0.4", 9, 0, 2);
    flush();
    cr_assert_not_null(find("web", "10.0.0.4", 0));
    cr_assert_eq(cr_correlator_stats(c)->same_event, 2);
}
