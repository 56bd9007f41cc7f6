/*
 * test_reload_migrate.c - cr_correlator_migrate and the definition hashes
 * behind it: what a hot reload keeps (windows, open incidents, absence
 * deadlines of unchanged rules, even when every index moved) and what it
 * drops (changed or removed rules, and their checkpointed entries).
 *
 * The rule sets are written inline; matches are made by hand as in
 * test_correlate.c, with rule indices looked up in the ruleset in force.
 */
#include "engine/correlate/correlate.h"
#include "rules/ruleset.h"
#include "rules/ruleset_diff.h"
#include "rules_fixture.h"
#include "incident_collect.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* v1: a brute-force count, a count whose threshold will change, a rule with
 * its own incident, and a backup absence. */
static const char *V1 = "rules:\n"
                        "  - id: fail\n"
                        "    match: 'Failed password from (?<src_ip>\\S+)'\n"
                        "  - id: boom\n"
                        "    match: 'boom (?<src_ip>\\S+)'\n"
                        "    group_by: [src_ip]\n"
                        "    incident: { category: S-ATK-EXPL, open_for: 10m }\n"
                        "  - id: bstart\n"
                        "    match: 'backup start (?<host>\\S+)'\n"
                        "  - id: bdone\n"
                        "    match: 'backup done (?<host>\\S+)'\n"
                        "correlations:\n"
                        "  - id: brute\n"
                        "    type: event_count\n"
                        "    rules: [fail]\n"
                        "    group_by: [src_ip]\n"
                        "    timespan: 10m\n"
                        "    condition: { gte: 5 }\n"
                        "    incident: { category: S-ATK-BRUTE }\n"
                        "  - id: burst\n"
                        "    type: event_count\n"
                        "    rules: [fail]\n"
                        "    group_by: [src_ip]\n"
                        "    timespan: 10m\n"
                        "    condition: { gte: 4 }\n"
                        "    incident: { category: S-ATK-BRUTE, priority: P4 }\n"
                        "  - id: backup_unfinished\n"
                        "    type: absence\n"
                        "    rules: [bstart, bdone]\n"
                        "    group_by: [host]\n"
                        "    timespan: 1h\n"
                        "    incident: { category: F-STO-BKP }\n";

/* v2: a new rule first (every index moves) with a new capture field (field
 * ids move too), burst's threshold 4 -> 3, everything else unchanged. */
static const char *V2 = "rules:\n"
                        "  - id: sudo\n"
                        "    match: 'sudo (?<user>\\S+) ran (?<command>\\S+)'\n"
                        "    group_by: [user]\n"
                        "    incident: { category: S-OPS-PRIV }\n"
                        "  - id: fail\n"
                        "    match: 'Failed password from (?<src_ip>\\S+)'\n"
                        "  - id: boom\n"
                        "    match: 'boom (?<src_ip>\\S+)'\n"
                        "    group_by: [src_ip]\n"
                        "    incident: { category: S-ATK-EXPL, open_for: 10m }\n"
                        "  - id: bstart\n"
                        "    match: 'backup start (?<host>\\S+)'\n"
                        "  - id: bdone\n"
                        "    match: 'backup done (?<host>\\S+)'\n"
                        "correlations:\n"
                        "  - id: burst\n"
                        "    type: event_count\n"
                        "    rules: [fail]\n"
                        "    group_by: [src_ip]\n"
                        "    timespan: 10m\n"
                        "    condition: { gte: 3 }\n"
                        "    incident: { category: S-ATK-BRUTE, priority: P4 }\n"
                        "  - id: brute\n"
                        "    type: event_count\n"
                        "    rules: [fail]\n"
                        "    group_by: [src_ip]\n"
                        "    timespan: 10m\n"
                        "    condition: { gte: 5 }\n"
                        "    incident: { category: S-ATK-BRUTE }\n"
                        "  - id: backup_unfinished\n"
                        "    type: absence\n"
                        "    rules: [bstart, bdone]\n"
                        "    group_by: [host]\n"
                        "    timespan: 1h\n"
                        "    incident: { category: F-STO-BKP }\n";

static struct cr_ruleset *rs1, *rs2, *cur;
static struct cr_correlator *c;
static char *dir;

static void setup(void)
{
    dir = cr_test_tmpdir();
    rs1 = cr_test_rules(dir, "v1.yaml", V1);
    rs2 = cr_test_rules(dir, "v2.yaml", V2);
    cur = rs1;
    c = cr_correlator_new(rs1, 100000);
}

static void teardown(void)
{
    cr_correlator_free(c);
    cr_ruleset_free(rs1);
    cr_ruleset_free(rs2);
    cr_test_rmtree(dir);
    free(dir);
}

static void feed(const char *rule, const char *key, int sec)
{
    struct cr_match m;
    memset(&m, 0, sizeof m);
    m.kind = CR_MSG_MATCH;
    int r = cr_ruleset_find_rule(cur, rule);
    cr_assert_geq(r, 0, "no rule %s", rule);
    m.rule = (uint32_t)r;
    m.key_len = (uint16_t)strlen(key);
    memcpy(m.key, key, m.key_len);
    m.time_ms = 1772438400000LL + (int64_t)sec * 1000;
    m.position = (uint64_t)sec;
    m.raw_len = (uint16_t)snprintf(m.raw, sizeof m.raw, "%s %s at %d", rule, key, sec);
    cr_correlator_apply(c, &m);
}

#define MAXI 32
static struct cr_incident got[MAXI];
static int ngot;

static void flush(void) { cr_test_collect(c, got, NULL, &ngot, MAXI); }

static const struct cr_incident *find(const char *rule, const char *key)
{
    for (int k = 0; k < ngot; k++)
        if (strcmp(got[k].rule, rule) == 0 && strcmp(got[k].entities[0].value, key) == 0)
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

static void migrate(uint64_t *kept, uint64_t *dropped)
{
    flush(); /* the shard flushes before it migrates */
    cr_assert_eq(cr_correlator_migrate(c, rs2, kept, dropped), 0);
    cur = rs2;
}

TestSuite(migrate, .init = setup, .fini = teardown);

Test(migrate, definition_hashes_follow_meaning_not_indices)
{
    cr_assert_eq(cr_rule_def_hash(rs1, cr_ruleset_find_rule(rs1, "fail")),
                 cr_rule_def_hash(rs2, cr_ruleset_find_rule(rs2, "fail")),
                 "same rule at another index, with field ids moved by a new capture");
    cr_assert_eq(cr_corr_def_hash(rs1, cr_ruleset_find_corr(rs1, "brute")),
                 cr_corr_def_hash(rs2, cr_ruleset_find_corr(rs2, "brute")));
    cr_assert_neq(cr_corr_def_hash(rs1, cr_ruleset_find_corr(rs1, "burst")),
                  cr_corr_def_hash(rs2, cr_ruleset_find_corr(rs2, "burst")),
                  "a threshold change is a change");
    struct cr_ruleset_diff d;
    cr_ruleset_diff(rs1, rs2, &d);
    cr_assert_eq(d.rules_added, 1);
    cr_assert_eq(d.rules_unchanged, 4);
    cr_assert_eq(d.rules_changed + d.rules_removed, 0);
    cr_assert_eq(d.corrs_changed, 1);
    cr_assert_eq(d.corrs_unchanged, 2);
    cr_assert_eq(d.corrs_added + d.corrs_removed, 0);
}

Test(migrate, keeps_windows_incidents_and_deadlines_of_unchanged_rules)
{
    for (int s = 0; s < 3; s++)
        feed("fail", "10.0.0.1", s); /* brute 3/5, burst 3/4 */
    feed("boom", "10.0.0.9", 5);     /* opens boom's own incident */
    feed("bstart", "db-01", 10);     /* deadline at 3610 s */
    uint64_t kept = 0, dropped = 0;
    migrate(&kept, &dropped);
    cr_assert_eq(dropped, 1, "burst's window for 10.0.0.1");
    cr_assert_eq(kept, 3, "brute's window, boom's incident, the backup deadline");
    cr_assert_eq(cr_correlator_stats(c)->states, 3);
    const struct cr_incident *b = find("boom", "10.0.0.9");
    cr_assert(b != NULL);
    char boom_id[64];
    snprintf(boom_id, sizeof boom_id, "%s", b->id);

    feed("fail", "10.0.0.1", 60);
    feed("fail", "10.0.0.1", 61); /* brute: 5 within 10 min, across the swap */
    feed("boom", "10.0.0.9", 70); /* updates the open incident */
    flush();
    const struct cr_incident *br = find("brute", "10.0.0.1");
    cr_assert(br != NULL, "the window that spans the swap fires");
    cr_assert_eq(br->event_count, 5);
    cr_assert_eq(br->first_seen_ms, 1772438400000LL, "its first event is from before the swap");
    cr_assert(find("burst", "10.0.0.1") == NULL, "burst restarted: 2 < 3 since the swap");
    b = find("boom", "10.0.0.9");
    cr_assert_str_eq(b->id, boom_id);
    cr_assert_eq(b->event_count, 2, "the open incident took the new match");
    cr_assert_eq(count("boom"), 1);

    feed("fail", "10.0.0.2", 100);
    feed("fail", "10.0.0.2", 101);
    feed("fail", "10.0.0.2", 102);
    feed("sudo", "bob", 103);
    feed("fail", "10.0.0.3", 3700); /* time passes the backup deadline */
    flush();
    cr_assert(find("burst", "10.0.0.2") != NULL, "the new threshold (3) is in force");
    cr_assert(find("sudo", "bob") != NULL, "the added rule works");
    const struct cr_incident *a = find("backup_unfinished", "db-01");
    cr_assert(a != NULL, "the deadline set before the swap fires after it");
    cr_assert_eq(a->last_seen_ms, 1772438400000LL + 3610000);
}

Test(migrate, dropped_states_leave_the_checkpoint)
{
    cr_correlator_enable_checkpoints(c);
    for (int s = 0; s < 3; s++)
        feed("fail", "10.0.0.1", s);
    size_t len = 0;
    char *snap = cr_correlator_snapshot(c, &len);
    free(snap);
    uint64_t kept = 0, dropped = 0;
    migrate(&kept, &dropped);
    cr_assert_eq(dropped, 1);
    snap = cr_correlator_snapshot(c, &len);
    /* a DEL of "burst\0" "10.0.0.1": a restart must not bring it back */
    static const char del[] = "\x02\x00\x0e"
                              "burst\0"
                              "10.0.0.1";
    cr_assert(snap && len >= sizeof del - 1 && memmem(snap, len, del, sizeof del - 1) != NULL,
              "the snapshot after the swap deletes the dropped state");
    static const char brute[] = "brute\0"
                                "10.0.0.1";
    cr_assert(memmem(snap, len, brute, sizeof brute - 1) == NULL,
              "a kept state that did not change is not rewritten");
    free(snap);
}

Test(migrate, removed_rules_drop_everything_they_held)
{
    /* v1 -> a set without brute and boom */
    static const char *V3 = "rules:\n"
                            "  - id: fail\n"
                            "    match: 'Failed password from (?<src_ip>\\S+)'\n";
    struct cr_ruleset *rs3 = cr_test_rules(dir, "v3.yaml", V3);
    feed("fail", "10.0.0.1", 1);
    feed("boom", "10.0.0.9", 2);
    feed("bstart", "db-01", 3);
    flush();
    uint64_t kept = 9, dropped = 0;
    cr_assert_eq(cr_correlator_migrate(c, rs3, &kept, &dropped), 0);
    cr_assert_eq(kept, 0);
    cr_assert_eq(dropped, 4, "brute, burst, boom, backup_unfinished");
    cr_assert_eq(cr_correlator_stats(c)->states, 0);
    cur = rs3;
    feed("fail", "10.0.0.1", 5000); /* would fire the dropped deadline if it were left */
    ngot = 0;
    flush();
    cr_assert_eq(ngot, 0);
    /* free the correlator before its rules */
    cr_correlator_free(c);
    c = cr_correlator_new(rs1, 10);
    cr_ruleset_free(rs3);
}
