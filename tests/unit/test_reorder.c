/*
 * test_reorder.c - the event-time reorder buffer (engine/pipeline/reorder.h): held
 * matches leave in event-time order once every active input's watermark has
 * passed them, whatever order they arrived in; pending inputs hold the
 * watermark back and idle ones do not; late matches are reported and leave
 * marked late where they would have been on time; the memory budget forces
 * the oldest out (counted); held matches and input times survive a
 * snapshot and restore; a dropped input takes its held matches with it.
 */
#include "engine/store/checkpoint.h"
#include "engine/correlate/match.h"
#include "engine/pipeline/reorder.h"
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
                           "correlations:\n"
                           "  - id: brute\n"
                           "    type: event_count\n"
                           "    rules: [fail]\n"
                           "    group_by: [src_ip]\n"
                           "    timespan: 60s\n"
                           "    condition: { gte: 3 }\n"
                           "    incident: { category: S-ATK-BRUTE }\n";

#define T0 1772438400000LL
#define SEC 1000LL

static char *dir;
static struct cr_ruleset *rs;

static void setup(void)
{
    dir = cr_test_tmpdir();
    rs = cr_test_rules(dir, "r.yaml", RULES);
}

static void teardown(void)
{
    cr_ruleset_free(rs);
    cr_test_rmtree(dir);
    free(dir);
}

static struct cr_match match(uint32_t src, int sec, int64_t seen_sec, const char *ip)
{
    struct cr_match m;
    memset(&m, 0, sizeof m);
    m.kind = CR_MSG_MATCH;
    m.rule = (uint32_t)cr_ruleset_find_rule(rs, "fail");
    m.src = src;
    m.time_ms = T0 + sec * SEC;
    m.seen_ms = seen_sec < 0 ? INT64_MIN : T0 + seen_sec * SEC;
    m.position = (uint64_t)sec * 10 + src;
    m.key_len = (uint16_t)strlen(ip);
    memcpy(m.key, ip, m.key_len);
    m.raw_len = (uint16_t)snprintf(m.raw, sizeof m.raw, "Failed from %s at %d", ip, sec);
    return m;
}

/* What left, in order: "sec[L]" per match (L = late), space separated. */
struct out {
    char s[4096];
    size_t n;
};

static void collect(void *arg, const struct cr_match *m, int64_t late_at)
{
    struct out *o = arg;
    if (o->n >= sizeof o->s - 32)
        return; /* long runs: the start is what the tests look at */
    o->n += (size_t)snprintf(o->s + o->n, sizeof o->s - o->n, "%s%lld%s", o->n ? " " : "",
                             (long long)((m->time_ms - T0) / SEC), late_at == INT64_MIN ? "" : "L");
}

static int push(struct cr_reorder *r, uint32_t src, int sec, int seen, const char *ip)
{
    struct cr_match m = match(src, sec, seen, ip);
    int64_t behind = 0;
    return cr_reorder_push(r, &m, &behind);
}

Test(reorder, leaves_in_time_order_after_the_watermark, .init = setup, .fini = teardown)
{
    struct cr_reorder *r = cr_reorder_new(rs, 10 * SEC, 0, 0);
    struct out o = {.n = 0};
    cr_reorder_source_state(r, 1, CR_SOURCE_PENDING);
    cr_assert_eq(push(r, 1, 5, 5, "a"), 0);
    cr_assert_eq(push(r, 1, 2, 5, "a"), 0); /* 3 s out of order: within the lateness */
    cr_assert_eq(push(r, 1, 8, 8, "b"), 0);
    cr_reorder_release(r, 0, collect, &o);
    cr_assert_str_eq(o.s, "", "the input is pending: nothing may leave");
    cr_reorder_source(r, 1, T0 + 16 * SEC); /* watermark 6 s */
    cr_reorder_release(r, 0, collect, &o);
    cr_assert_str_eq(o.s, "2 5");
    cr_assert_eq(cr_reorder_watermark(r, 0), T0 + 6 * SEC);
    cr_reorder_release(r, 1, collect, &o); /* the input is complete */
    cr_assert_str_eq(o.s, "2 5 8");
    cr_assert_eq(cr_reorder_stats(r)->late, 0);
    cr_reorder_free(r);
}

Test(reorder, the_slowest_active_input_sets_the_watermark, .init = setup, .fini = teardown)
{
    struct cr_reorder *r = cr_reorder_new(rs, 0, 300 * SEC, 0);
    cr_reorder_source_state(r, 1, CR_SOURCE_PENDING);
    cr_reorder_source_state(r, 2, CR_SOURCE_PENDING);
    cr_reorder_source(r, 1, T0 + 100 * SEC);
    cr_assert_eq(cr_reorder_watermark(r, 0), INT64_MIN, "input 2 has not reported yet");
    cr_reorder_source(r, 2, T0 + 40 * SEC);
    cr_assert_eq(cr_reorder_watermark(r, 0), T0 + 40 * SEC);
    cr_reorder_source_state(r, 2, CR_SOURCE_IDLE); /* caught up: no longer holds back */
    cr_assert_eq(cr_reorder_watermark(r, 0), T0 + 100 * SEC);
    cr_reorder_source(r, 2, T0 + 50 * SEC); /* it reports again: active again */
    cr_assert_eq(cr_reorder_watermark(r, 0), T0 + 50 * SEC);
    cr_reorder_source(r, 1, T0 + 400 * SEC); /* input 2 now trails by more than source_idle */
    cr_assert_eq(cr_reorder_watermark(r, 0), T0 + 400 * SEC);
    cr_assert_eq(cr_reorder_watermark(r, 1), T0 + 400 * SEC);
    cr_reorder_free(r);
}

/* A backlog is not quiet (issue 9): a Kafka partition with records waiting
 * in the broker holds the watermark back however far it trails the newest
 * input, so the matches it has yet to deliver are not late when they come;
 * caught up, it is subject to source_idle again. The case found: a member
 * catching up on 1M records in 48 partitions, librdkafka fetching some
 * partitions minutes of event time ahead of others. */
Test(reorder, a_backlogged_input_holds_the_watermark_however_far_it_trails, .init = setup,
     .fini = teardown)
{
    struct cr_reorder *r = cr_reorder_new(rs, 0, 300 * SEC, 0);
    struct out o = {.n = 0};
    cr_reorder_source_state(r, 1, CR_SOURCE_PENDING);
    cr_reorder_source_state(r, 1, CR_SOURCE_BEHIND);
    cr_reorder_source_state(r, 2, CR_SOURCE_PENDING);
    cr_reorder_source_state(r, 2, CR_SOURCE_BEHIND);
    cr_reorder_source(r, 2, T0 + 1000 * SEC); /* input 2 fetched far ahead */
    cr_assert_eq(cr_reorder_watermark(r, 0), INT64_MIN,
                 "input 1 has a backlog and no time yet: it holds everything back");
    cr_reorder_source(r, 1, T0 + 10 * SEC);
    cr_assert_eq(push(r, 2, 1000, 1000, "b"), 0);
    cr_assert_eq(cr_reorder_watermark(r, 0), T0 + 10 * SEC,
                 "990 s behind, input 1 still sets the watermark: it is behind, not idle");
    cr_reorder_release(r, 0, collect, &o);
    cr_assert_str_eq(o.s, "");
    cr_assert_eq(push(r, 1, 20, 20, "a"), 0, "input 1's records are on time when they come");
    cr_reorder_source(r, 2, T0 + 1200 * SEC);
    cr_reorder_source(r, 1, T0 + 1100 * SEC);
    cr_reorder_release(r, 0, collect, &o);
    cr_assert_str_eq(o.s, "20 1000", "both below the watermark of 1100 s");
    cr_reorder_source_state(r, 1, CR_SOURCE_CAUGHT_UP);
    cr_reorder_source(r, 2, T0 + 1500 * SEC); /* input 1 caught up, now 400 s behind */
    cr_assert_eq(cr_reorder_watermark(r, 0), T0 + 1500 * SEC,
                 "caught up and trailing by more than source_idle: quiet again");
    cr_assert_eq(cr_reorder_stats(r)->late, 0);
    cr_reorder_free(r);
}

Test(reorder, arrival_order_within_the_lateness_does_not_matter, .init = setup, .fini = teardown)
{
    /* the same six matches from two inputs, in two arrival orders */
    static const struct {
        uint32_t src;
        int sec;
    } a[] = {{1, 1}, {2, 3}, {1, 4}, {2, 2}, {1, 9}, {2, 9}};
    static const int orders[2][6] = {{0, 1, 2, 3, 4, 5}, {3, 1, 0, 5, 2, 4}};
    char result[2][4096];
    for (int k = 0; k < 2; k++) {
        struct cr_reorder *r = cr_reorder_new(rs, 10 * SEC, 0, 0);
        struct out o = {.n = 0};
        cr_reorder_source_state(r, 1, CR_SOURCE_PENDING);
        cr_reorder_source_state(r, 2, CR_SOURCE_PENDING);
        for (int i = 0; i < 6; i++) {
            int j = orders[k][i];
            char ip[8];
            snprintf(ip, sizeof ip, "ip%d", a[j].src);
            cr_assert_eq(push(r, a[j].src, a[j].sec, a[j].sec, ip), 0);
            cr_reorder_source(r, a[j].src, T0 + a[j].sec * SEC);
            cr_reorder_release(r, 0, collect, &o);
        }
        cr_reorder_release(r, 1, collect, &o);
        snprintf(result[k], sizeof result[k], "%s", o.s);
        cr_reorder_free(r);
    }
    cr_assert_str_eq(result[0], "1 2 3 4 9 9");
    cr_assert_str_eq(result[1], result[0]);
}

Test(reorder, late_matches_are_reported_and_leave_marked_late, .init = setup, .fini = teardown)
{
    struct cr_reorder *r = cr_reorder_new(rs, 10 * SEC, 0, 0);
    struct out o = {.n = 0};
    int64_t behind = 0;
    cr_reorder_source_state(r, 1, CR_SOURCE_PENDING);
    cr_assert_eq(push(r, 1, 19, 19, "a"), 0);
    /* 25 s behind a newer record of the same input, seen earlier in its batch */
    struct cr_match m = match(1, 5, 30, "a");
    cr_assert_eq(cr_reorder_push(r, &m, &behind), 1);
    cr_assert_eq(behind, 25 * SEC);
    cr_assert_eq(push(r, 1, 28, 30, "a"), 0);
    cr_reorder_source(r, 1, T0 + 31 * SEC);
    cr_reorder_release(r, 0, collect, &o);
    /* the late one leaves where it would have been on time (20 s): after 19 */
    cr_assert_str_eq(o.s, "19 5L");
    /* behind what has left (the watermark, 21 s), even with no newer record seen */
    cr_assert_eq(push(r, 1, 15, -1, "b"), 1);
    cr_reorder_release(r, 1, collect, &o);
    cr_assert_str_eq(o.s, "19 5L 15L 28");
    cr_assert_eq(cr_reorder_stats(r)->late, 2);
    cr_reorder_free(r);
}

Test(reorder, the_memory_budget_forces_the_oldest_out, .init = setup, .fini = teardown)
{
    struct cr_reorder *r = cr_reorder_new(rs, 10 * SEC, 0, 1); /* below one chunk */
    struct out o = {.n = 0};
    cr_reorder_source_state(r, 1, CR_SOURCE_PENDING); /* would hold everything */
    for (int i = 0; i < 3000; i++)
        cr_assert_eq(push(r, 1, i, i, "a"), 0);
    size_t n = cr_reorder_release(r, 0, collect, &o);
    cr_assert_gt(n, 0, "over the budget, matches must leave");
    cr_assert_eq(cr_reorder_stats(r)->forced, n, "and be counted");
    cr_assert_eq(strncmp(o.s, "0 1 2 3", 7), 0, "oldest first: %.40s", o.s);
    cr_assert_eq(cr_reorder_stats(r)->held + n, 3000);
    cr_reorder_free(r);
}

Test(reorder, a_dropped_input_takes_its_held_matches, .init = setup, .fini = teardown)
{
    struct cr_reorder *r = cr_reorder_new(rs, 10 * SEC, 0, 0);
    struct out o = {.n = 0};
    push(r, 1, 1, 1, "a");
    push(r, 2, 2, 2, "b");
    push(r, 1, 3, 3, "a");
    cr_reorder_source(r, 1, T0 + 3 * SEC);
    cr_reorder_source(r, 2, T0 + 2 * SEC);
    cr_assert_eq(cr_reorder_drop_src(r, 1), 2);
    cr_reorder_release(r, 1, collect, &o);
    cr_assert_str_eq(o.s, "2");
    cr_assert_eq(cr_reorder_watermark(r, 1), T0 + 2 * SEC, "input 1's time is gone too");
    cr_reorder_free(r);
}

/* ---- checkpoints: through the delta format, into a map of key -> value ---- */

struct kv {
    char k[512], v[1024];
    size_t kl, vl;
    int live;
};

static int apply_delta(struct kv *tab, int n, const char *p, size_t len)
{
    for (size_t i = 0; i < len;) {
        int op = p[i];
        size_t kl = (size_t)(unsigned char)p[i + 1] << 8 | (unsigned char)p[i + 2];
        const char *k = p + i + 3;
        i += 3 + kl;
        int at = -1;
        for (int j = 0; j < n; j++)
            if (tab[j].live && tab[j].kl == kl && memcmp(tab[j].k, k, kl) == 0)
                at = j;
        if (op == 2) {
            cr_assert_geq(at, 0, "a deletion of a key never written");
            tab[at].live = 0;
            continue;
        }
        size_t vl = 0;
        for (int b = 0; b < 4; b++)
            vl = vl << 8 | (unsigned char)p[i + b];
        i += 4;
        if (at < 0)
            at = n++;
        memcpy(tab[at].k, k, kl);
        tab[at].kl = kl;
        memcpy(tab[at].v, p + i, vl);
        tab[at].vl = vl;
        tab[at].live = 1;
        i += vl;
    }
    return n;
}

static int snapshot(struct cr_reorder *r, struct kv *tab, int n)
{
    struct cr_ckpt_buf b = {0};
    cr_reorder_snapshot(r, &b);
    n = apply_delta(tab, n, b.p, b.len);
    free(b.p);
    return n;
}

/* A new buffer (lateness 10 s) restored from the stored entries, resumed. */
static struct cr_reorder *restored(const struct kv *tab, int n)
{
    struct cr_reorder *b = cr_reorder_new(rs, 10 * SEC, 0, 0);
    for (int i = 0; i < n; i++)
        if (tab[i].live)
            cr_assert_eq(cr_reorder_restore(b, tab[i].k, tab[i].kl, tab[i].v, tab[i].vl), 1);
    cr_reorder_resume(b);
    return b;
}

Test(reorder, held_matches_survive_a_checkpoint, .init = setup, .fini = teardown)
{
    static struct kv tab[64];
    int n = 0;
    struct cr_reorder *a = cr_reorder_new(rs, 10 * SEC, 0, 0);
    struct out oa = {.n = 0}, ob = {.n = 0};
    cr_reorder_source_state(a, 1, CR_SOURCE_PENDING);
    push(a, 1, 1, 1, "a");
    push(a, 1, 4, 4, "b");
    push(a, 1, 12, 12, "a");
    cr_reorder_source(a, 1, T0 + 13 * SEC);
    cr_reorder_release(a, 0, collect, &oa); /* 1 leaves (watermark 3 s) */
    n = snapshot(a, tab, n);
    push(a, 1, 20, 20, "c");
    cr_reorder_source(a, 1, T0 + 20 * SEC);
    cr_reorder_release(a, 0, collect, &oa); /* 4 leaves: its stored entry must go */
    n = snapshot(a, tab, n);
    int held = 0, sources = 0, frontiers = 0;
    for (int i = 0; i < n; i++)
        if (tab[i].live) {
            cr_assert(cr_reorder_is_key(tab[i].k, tab[i].kl));
            size_t kl;
            if (cr_reorder_entry_key(tab[i].k, tab[i].kl, &kl))
                held++;
            else if (memcmp(tab[i].k, CR_REORDER_KEY_FRONTIER, strlen(CR_REORDER_KEY_FRONTIER)) ==
                     0)
                frontiers++;
            else
                sources++;
        }
    cr_assert_eq(held, 2, "12 and 20 are held");
    cr_assert_eq(sources, 1);
    cr_assert_eq(frontiers, 1, "every checkpoint holds the shard's frontier");

    /* a new process restores them and goes on exactly like the first */
    struct cr_reorder *b = restored(tab, n);
    cr_assert_eq(cr_reorder_frontier(b), cr_reorder_frontier(a));
    cr_assert_eq(push(a, 1, 5, 25, "z"), 1, "late in the first process");
    cr_assert_eq(push(b, 1, 5, 25, "z"), 1, "and in the restored one");
    push(a, 1, 26, 26, "a");
    push(b, 1, 26, 26, "a");
    cr_reorder_release(a, 1, collect, &ob);
    char first[4096];
    snprintf(first, sizeof first, "%s", ob.s);
    ob.n = 0;
    ob.s[0] = 0;
    cr_reorder_release(b, 1, collect, &ob);
    cr_assert_str_eq(ob.s, first);
    cr_assert_str_eq(first, "12 5L 20 26");
    cr_assert_eq(cr_reorder_stats(b)->restored, 2);
    cr_reorder_free(a);
    cr_reorder_free(b);
}

static void check_rule(void *arg, const struct cr_match *m, int64_t late_at)
{
    const struct cr_ruleset *want = arg;
    (void)late_at;
    cr_assert_str_eq(want->rules[m->rule].id, "fail", "held matches follow their rule's id");
}

Test(reorder, held_matches_follow_a_rules_swap, .init = setup, .fini = teardown)
{
    /* v2 puts another rule first (indices shift); v3 has no `fail` any more */
    struct cr_ruleset *v2 = cr_test_rules(dir, "v2.yaml",
                                          "rules:\n"
                                          "  - id: other\n"
                                          "    match: 'Other from (?<src_ip>\\S+)'\n"
                                          "    group_by: [src_ip]\n"
                                          "    incident: { category: S-ATK-BRUTE }\n"
                                          "  - id: fail\n"
                                          "    match: 'Failed from (?<src_ip>\\S+)'\n"
                                          "correlations:\n"
                                          "  - id: brute\n"
                                          "    type: event_count\n"
                                          "    rules: [fail]\n"
                                          "    group_by: [src_ip]\n"
                                          "    timespan: 60s\n"
                                          "    condition: { gte: 3 }\n"
                                          "    incident: { category: S-ATK-BRUTE }\n");
    struct cr_ruleset *v3 = cr_test_rules(dir, "v3.yaml",
                                          "rules:\n"
                                          "  - id: other\n"
                                          "    match: 'Other from (?<src_ip>\\S+)'\n"
                                          "    group_by: [src_ip]\n"
                                          "    incident: { category: S-ATK-BRUTE }\n");
    struct cr_reorder *r = cr_reorder_new(rs, 10 * SEC, 0, 0);
    cr_reorder_source_state(r, 1, CR_SOURCE_PENDING);
    push(r, 1, 1, 1, "a");
    push(r, 1, 2, 2, "b");
    cr_assert_eq(cr_reorder_switch_rules(r, v2), 0);
    cr_reorder_source(r, 1, T0 + 12 * SEC);
    cr_assert_eq(cr_reorder_release(r, 0, check_rule, v2), 1);
    cr_assert_eq(cr_reorder_switch_rules(r, v3), 1, "its rule is gone: dropped");
    cr_assert_eq(cr_reorder_stats(r)->reload_dropped, 1);
    cr_assert_eq(cr_reorder_stats(r)->held, 0);
    cr_reorder_free(r);
    cr_ruleset_free(v2);
    cr_ruleset_free(v3);
}

/* Every input quiet for idle_release (wall clock): all held matches leave in
 * order, as at the end of the input; a record that then arrives older than
 * the newest input time is late, also in a process restored from the
 * checkpoint taken after the release, while a newer one is on time. */
Test(reorder, a_quiet_release_applies_everything_and_later_older_records_are_late, .init = setup,
     .fini = teardown)
{
    static struct kv tab[64];
    struct cr_reorder *r = cr_reorder_new(rs, 10 * SEC, 0, 0);
    struct out o = {.n = 0};
    cr_reorder_source_state(r, 1, CR_SOURCE_PENDING);
    push(r, 1, 5, 5, "a");
    push(r, 1, 3, 5, "a");
    push(r, 1, 9, 9, "b");
    cr_reorder_source(r, 1, T0 + 9 * SEC);
    cr_reorder_release(r, 0, collect, &o);
    cr_assert_str_eq(o.s, "", "all within the lateness of the newest record: held");
    cr_assert_eq(cr_reorder_release_quiet(r, collect, &o), 3);
    cr_assert_str_eq(o.s, "3 5 9");
    cr_assert_eq(cr_reorder_frontier(r), T0 + 9 * SEC);
    cr_assert_eq(cr_reorder_stats(r)->quiet_releases, 1);
    int n = snapshot(r, tab, 0), frontier = 0;
    for (int i = 0; i < n; i++)
        frontier +=
            tab[i].live && tab[i].kl == strlen(CR_REORDER_KEY_FRONTIER) + 4 &&
            memcmp(tab[i].k, CR_REORDER_KEY_FRONTIER, strlen(CR_REORDER_KEY_FRONTIER)) == 0 &&
            cr_reorder_is_key(tab[i].k, tab[i].kl); /* the shard restores it */
    cr_assert_eq(frontier, 1, "the checkpoint stores the frontier");

    struct cr_reorder *b = restored(tab, n);
    cr_assert_eq(cr_reorder_frontier(b), T0 + 9 * SEC,
                 "not the watermark of the input times (-1 s): what left stays left");
    struct cr_reorder *both[2] = {r, b};
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(push(both[i], 1, 7, 7, "a"), 1, "older than what the release applied");
        cr_assert_eq(push(both[i], 1, 10, 10, "a"), 0);
    }
    cr_reorder_free(r);
    cr_reorder_free(b);
}

/* Issue 9's loss: a checkpoint taken while an input that will send records
 * had not reported a time yet (a Kafka partition not fetched so far) holds
 * the watermark, and so the frontier, back. A restart must go on from that
 * frontier, not from the watermark of the times it restored (which only
 * know the inputs that had reported): it made the held-back input's first
 * records late, out of every window. */
Test(reorder, a_restart_keeps_the_frontier_an_unreported_input_held_back, .init = setup,
     .fini = teardown)
{
    static struct kv tab[64];
    struct cr_reorder *a = cr_reorder_new(rs, 10 * SEC, 0, 0);
    struct out oa = {.n = 0}, ob = {.n = 0};
    cr_reorder_source_state(a, 1, CR_SOURCE_PENDING);
    cr_reorder_source_state(a, 2, CR_SOURCE_PENDING);
    push(a, 1, 40, 40, "a");
    cr_reorder_source(a, 1, T0 + 50 * SEC);
    cr_reorder_release(a, 0, collect, &oa);
    cr_assert_str_eq(oa.s, "", "input 2 has not reported: nothing leaves");
    cr_assert_eq(cr_reorder_frontier(a), INT64_MIN);
    int n = snapshot(a, tab, 0);

    struct cr_reorder *b = restored(tab, n);
    cr_assert_eq(cr_reorder_frontier(b), INT64_MIN,
                 "the restored frontier is the stopped run's, not 50 s - lateness");
    cr_assert_eq(cr_reorder_watermark(b, 0), INT64_MIN,
                 "input 2 is restored pending: it holds the watermark back before it is "
                 "registered again (a Kafka assignment registers partitions one by one)");
    cr_reorder_source_state(b, 1, CR_SOURCE_PENDING); /* assigned again, in this order */
    cr_assert_eq(cr_reorder_watermark(b, 0), INT64_MIN);
    cr_reorder_source_state(b, 2, CR_SOURCE_PENDING);
    struct cr_reorder *both[2] = {a, b};
    struct out *outs[2] = {&oa, &ob};
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(push(both[i], 2, 5, 5, "b"), 0, "input 2's first record is on time");
        cr_reorder_source(both[i], 2, T0 + 60 * SEC);
        cr_reorder_release(both[i], 0, collect, outs[i]);
    }
    cr_assert_str_eq(oa.s, "5", "the watermark is 50 s - 10 s: 40 is still held");
    cr_assert_str_eq(ob.s, oa.s);
    cr_reorder_free(a);
    cr_reorder_free(b);
}

/* After a restart the Kafka assignment may leave out an input the
 * checkpoint knew (another member has it now): once the assignment is in,
 * that input stops holding the watermark back; inputs it claimed go on. */
Test(reorder, inputs_the_assignment_did_not_claim_stop_holding_back, .init = setup,
     .fini = teardown)
{
    static struct kv tab[64];
    struct cr_reorder *a = cr_reorder_new(rs, 10 * SEC, 0, 0);
    struct out o = {.n = 0};
    cr_reorder_source_state(a, 1, CR_SOURCE_PENDING);
    cr_reorder_source_state(a, 2, CR_SOURCE_PENDING);
    cr_reorder_source(a, 1, T0 + 50 * SEC);
    cr_reorder_source(a, 2, T0 + 20 * SEC);
    int n = snapshot(a, tab, 0);
    struct cr_reorder *b = restored(tab, n);
    cr_assert_eq(cr_reorder_watermark(b, 0), T0 + 10 * SEC, "input 2 (20 s) holds it back");
    cr_reorder_source_state(b, 1, CR_SOURCE_PENDING); /* the assignment claims input 1 only */
    cr_reorder_assigned(b);
    cr_assert_eq(cr_reorder_watermark(b, 0), T0 + 40 * SEC, "input 2 is another member's");
    cr_assert_eq(push(b, 1, 45, 45, "a"), 0);
    cr_reorder_source(b, 1, T0 + 60 * SEC);
    cr_reorder_release(b, 0, collect, &o);
    cr_assert_str_eq(o.s, "45", "input 2's 20 s no longer holds it");
    cr_reorder_source(b, 2, T0 + 25 * SEC); /* it comes back: it holds the watermark again */
    cr_assert_eq(cr_reorder_watermark(b, 0), T0 + 15 * SEC);
    cr_reorder_free(a);
    cr_reorder_free(b);
}
