/*
 * test_correlate_agg.c - value_sum, value_avg and temporal with a condition
 * on hand-made matches: the threshold crossed or not, the window's edge,
 * numbers that are not numbers, the reason text, and the state through a
 * checkpoint and a rules reload.
 */
#include "engine/correlate/correlate.h"
#include "engine/pipeline/worker.h"
#include "rules/ruleset.h"
#include "rules/ruleset_diff.h"
#include "rules_fixture.h"
#include "incident_collect.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *AGG_RULES = "rules:\n"
                               "  - id: upload\n"
                               "    match: 'upload (?<src_ip>\\S+) (?<user>\\S+) (?<bytes>\\S*)'\n"
                               "  - id: resp\n"
                               "    match: 'resp (?<host>\\S+) (?<ms>\\S*)'\n"
                               "  - id: lat\n"
                               "    match: 'lat (?<host>\\S+) (?<ms>\\S*)'\n"
                               "  - id: ra\n"
                               "    match: 'ra (?<host>\\S+)'\n"
                               "  - id: rb\n"
                               "    match: 'rb (?<host>\\S+)'\n"
                               "  - id: rc\n"
                               "    match: 'rc (?<host>\\S+)'\n"
                               "correlations:\n"
                               "  - id: exfil\n"
                               "    type: value_sum\n"
                               "    rules: [upload]\n"
                               "    group_by: [src_ip, user]\n"
                               "    field: bytes\n"
                               "    timespan: 1h\n"
                               "    condition: { gt: 1000000 }\n"
                               "    incident: { category: S-DATA-LEAK, priority: P2 }\n"
                               "  - id: slow\n"
                               "    type: value_avg\n"
                               "    rules: [resp]\n"
                               "    group_by: [host]\n"
                               "    field: ms\n"
                               "    timespan: 10m\n"
                               "    condition: { gt: 500.5 }\n"
                               "    incident: { category: F-APP-DEG }\n"
                               "  - id: p90\n"
                               "    type: value_percentile\n"
                               "    rules: [lat]\n"
                               "    group_by: [host]\n"
                               "    field: ms\n"
                               "    percentile: 90\n"
                               "    timespan: 10m\n"
                               "    condition: { gte: 1000 }\n"
                               "    incident: { category: F-APP-DEG }\n"
                               "  - id: recon\n"
                               "    type: temporal\n"
                               "    rules: [ra, rb, rc]\n"
                               "    group_by: [host]\n"
                               "    timespan: 5m\n"
                               "    condition: { gte: 2 }\n"
                               "    incident: { category: S-ATK-SCAN }\n"
                               "  - id: recon_all\n"
                               "    type: temporal\n"
                               "    rules: [ra, rb, rc]\n"
                               "    group_by: [host]\n"
                               "    timespan: 5m\n"
                               "    incident: { category: S-ATK-SCAN }\n";

/* the same correlations, except that `slow` has another threshold */
static const char *AGG_RULES_RELOAD_SLOW = "    condition: { gt: 900 }\n";

static struct cr_ruleset *rs, *rs2;
static struct cr_correlator *c;
static char *dir;
static uint64_t pos;

#define MAXI 64
static struct cr_incident got[MAXI];
static int created[MAXI];
static int ngot;

static void setup(void)
{
    dir = cr_test_tmpdir();
    rs = cr_test_rules(dir, "agg.yaml", AGG_RULES);
    c = cr_correlator_new(rs, 100000);
    cr_assert_not_null(c);
    ngot = 0;
    pos = 0;
}

static void teardown(void)
{
    cr_correlator_free(c);
    cr_ruleset_free(rs);
    cr_ruleset_free(rs2);
    rs2 = NULL;
    cr_test_rmtree(dir);
    free(dir);
}

static void flush(void) { cr_test_collect(c, got, created, &ngot, MAXI); }

#define T0 1772438400000LL /* 2026-03-02T08:00:00Z */

/* What a worker sends for one event of `rule` with key `key` (values joined
 * by CR_KEY_SEP) whose counted field holds `value` (NULL: the field is
 * missing, so the worker sends nothing for the routes that need it). */
static void hit(const char *rule, const char *key, int64_t sec, const char *value)
{
    int r = cr_ruleset_find_rule(rs, rule);
    cr_assert_geq(r, 0, "no rule %s", rule);
    pos++;
    for (int i = 0; i < rs->rules[r].nroutes; i++) {
        const struct cr_route *rt = &rs->rules[r].routes[i];
        if (rt->value_field >= 0 && !value)
            continue;
        struct cr_match m;
        memset(&m, 0, sizeof m);
        m.kind = CR_MSG_MATCH;
        m.rule = (uint32_t)r;
        m.route = (uint8_t)i;
        m.key_len = (uint16_t)strlen(key);
        memcpy(m.key, key, m.key_len);
        for (uint16_t k = 0; k < m.key_len; k++)
            if (m.key[k] == '|')
                m.key[k] = CR_KEY_SEP;
        if (rt->value_num)
            m.value = cr_match_number_value(cr_parse_number(value, strlen(value)));
        m.time_ms = T0 + sec * 1000;
        m.position = pos;
        m.raw_len =
            (uint16_t)snprintf(m.raw, sizeof m.raw, "%s %s %s", rule, key, value ? value : "");
        cr_correlator_apply(c, &m);
    }
}

static const struct cr_incident *find(const char *rule, int nth)
{
    for (int k = 0; k < ngot; k++)
        if (strcmp(got[k].rule, rule) == 0 && nth-- == 0)
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

TestSuite(agg, .init = setup, .fini = teardown);

Test(agg, numbers_are_parsed_strictly)
{
    cr_assert_eq(cr_parse_number("1234", 4), 1234.0);
    cr_assert_eq(cr_parse_number(" -5 ", 4), -5.0);
    cr_assert_eq(cr_parse_number("12.5", 4), 12.5);
    cr_assert_eq(cr_parse_number("1e6", 3), 1e6);
    cr_assert_eq(cr_parse_number("300000}", 6), 300000.0, "only the n bytes given");
    const char *bad[] = {"", " ", "n/a", "12kB", "1,234", "0x10", "inf", "nan", "-", "1e999", "."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert(isnan(cr_parse_number(bad[i], strlen(bad[i]))), "'%s' is not a number", bad[i]);
}

/* The specification's exfiltration shape: the bytes of one source and user
 * over an hour. 4 x 300 kB in 30 minutes crosses 1 MB at the fourth. */
Test(agg, value_sum_fires_when_the_sum_crosses)
{
    for (int i = 0; i < 3; i++)
        hit("upload", "203.0.113.9|alice", i * 600, "300000");
    hit("upload", "203.0.113.9|bob", 900, "900000"); /* another key: its own sum */
    flush();
    cr_assert_eq(count("exfil"), 0, "900 kB is not over 1 MB");
    hit("upload", "203.0.113.9|alice", 1800, "300000");
    flush();
    cr_assert_eq(count("exfil"), 1);
    const struct cr_incident *inc = find("exfil", 0);
    cr_assert_str_eq(inc->entities[0].value, "203.0.113.9");
    cr_assert_str_eq(inc->entities[1].value, "alice");
    cr_assert_eq(inc->event_count, 4);
    cr_assert_eq(inc->first_seen_ms, T0);
    cr_assert_eq(inc->last_seen_ms, T0 + 1800000);
    cr_assert_eq(inc->nrefs, 4, "the matches that made the sum");
    cr_assert_str_eq(inc->reasons[0],
                     "sum of bytes 1,200,000 within 1800s (threshold: > 1000000 in 3600s)");
}

Test(agg, value_sum_spread_over_more_than_the_timespan_does_not_fire)
{
    /* 4 x 300 kB, 30 minutes apart: any hour holds at most 3 of them (the
     * one exactly an hour old is out) */
    for (int i = 0; i < 4; i++)
        hit("upload", "203.0.113.9|alice", i * 1800, "300000");
    /* a day of 100 kB every 10 minutes: 600 kB an hour, 14.4 MB in all */
    for (int i = 0; i < 144; i++)
        hit("upload", "198.51.100.1|carol", 10000 + i * 600, "100000");
    flush();
    cr_assert_eq(count("exfil"), 0);
}

Test(agg, the_open_incident_takes_the_next_matches_then_the_sum_restarts)
{
    hit("upload", "k|u", 0, "2000000"); /* one big upload fires at once */
    hit("upload", "k|u", 60, "10");
    flush();
    cr_assert_eq(count("exfil"), 1);
    cr_assert_eq(find("exfil", 0)->event_count, 2, "the second match updated it");
    /* after it closes (open_for = timespan), the sum starts from zero */
    hit("upload", "k|u", 3700, "600000");
    hit("upload", "k|u", 3800, "600000");
    flush();
    cr_assert_eq(count("exfil"), 2);
    cr_assert_eq(find("exfil", 1)->event_count, 2);
}

Test(agg, values_that_are_not_numbers_are_counted_and_skipped)
{
    hit("upload", "k|u", 0, "900000");
    hit("upload", "k|u", 10, "lots");
    hit("upload", "k|u", 20, "");
    hit("upload", "k|u", 30, "1e999");
    hit("upload", "k|u", 40, NULL); /* the field is missing: no match for this route */
    flush();
    cr_assert_eq(count("exfil"), 0, "nothing but 900 kB was counted");
    cr_assert_eq(cr_correlator_stats(c)->values_not_numeric, 3);
    hit("upload", "k|u", 50, "100001");
    flush();
    cr_assert_eq(count("exfil"), 1);
    cr_assert_eq(find("exfil", 0)->event_count, 2, "the skipped ones are not in the count");
}

/* value_avg: the mean of the window, both ways. */
Test(agg, value_avg_fires_on_the_mean_of_the_window)
{
    hit("resp", "web1", 0, "400");
    hit("resp", "web1", 10, "450");
    hit("resp", "web1", 20, "650.5"); /* mean 500.1667: not > 500.5 */
    flush();
    cr_assert_eq(count("slow"), 0);
    hit("resp", "web1", 30, "505"); /* mean 501.375 */
    flush();
    cr_assert_eq(count("slow"), 1);
    const struct cr_incident *inc = find("slow", 0);
    cr_assert_eq(inc->event_count, 4);
    cr_assert_str_eq(inc->reasons[0], "average of ms 501.375 over 4 events within 30s "
                                      "(threshold: > 500.5 in 600s)");
    /* slow answers long ago do not weigh on the mean now */
    hit("resp", "web2", 0, "5000");
    flush();
    cr_assert_eq(count("slow"), 2, "one slow answer is a mean of 5000");
    hit("resp", "web3", 0, "100");
    hit("resp", "web3", 700, "600"); /* the 100 is more than 10 minutes old */
    flush();
    cr_assert_eq(count("slow"), 3);
    cr_assert_eq(find("slow", 2)->event_count, 1);
}

Test(agg, value_avg_under_the_threshold_does_not_fire)
{
    for (int i = 0; i < 100; i++)
        hit("resp", "web1", i * 5, i % 2 ? "900" : "100"); /* mean 500 */
    flush();
    cr_assert_eq(count("slow"), 0);
}

/* temporal with {gte: 2}: any 2 of its 3 rules within 5 minutes; without a
 * condition all 3. */
Test(agg, temporal_with_a_condition_counts_distinct_rules)
{
    hit("ra", "h1", 0, NULL);
    hit("ra", "h1", 10, NULL); /* the same rule again is not a second one */
    flush();
    cr_assert_eq(count("recon"), 0);
    hit("rc", "h1", 200, NULL);
    flush();
    cr_assert_eq(count("recon"), 1);
    cr_assert_str_eq(find("recon", 0)->reasons[0],
                     "2 of its 3 steps within 190s (threshold: >= 2 in 300s)");
    cr_assert_eq(count("recon_all"), 0, "all three are needed there");
    hit("rb", "h2", 0, NULL);
    hit("rc", "h2", 400, NULL); /* more than 5 minutes apart */
    flush();
    cr_assert_eq(count("recon"), 1);
    hit("rb", "h1", 250, NULL);
    flush();
    cr_assert_eq(count("recon_all"), 1);
    cr_assert_str_eq(find("recon_all", 0)->reasons[0], "all 3 of its steps within 240s (window "
                                                       "300s)");
}

/* ---- checkpoint and reload ---- */

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

Test(agg, sums_and_means_survive_a_checkpoint_and_restore)
{
    cr_correlator_enable_checkpoints(c);
    hit("upload", "k|u", 0, "600000");
    hit("resp", "web1", 0, "500");
    hit("ra", "h1", 0, NULL);
    for (int i = 0; i < 9; i++)
        hit("lat", "api", i, "100");
    hit("lat", "api", 9, "5000");
    flush();
    cr_assert_eq(ngot, 0);
    size_t len = 0;
    char *snap = cr_correlator_snapshot(c, &len);
    cr_correlator_free(c);
    c = cr_correlator_new(rs, 100000);
    cr_correlator_enable_checkpoints(c);
    cr_assert_eq(restore_delta(c, snap, len), 5, "exfil, slow, p90, recon, recon_all");
    free(snap);
    hit("upload", "k|u", 600, "600000"); /* 1.2 MB with the restored 600 kB */
    hit("resp", "web1", 10, "502");      /* mean 501 with the restored 500 */
    hit("rb", "h1", 20, NULL);           /* 2 rules with the restored one */
    hit("lat", "api", 20, "5000");       /* 11 numbers with the restored 10 */
    flush();
    cr_assert_eq(count("p90"), 1, "the restored numbers count");
    cr_assert_eq(find("p90", 0)->event_count, 11);
    cr_assert_eq(count("exfil"), 1, "the restored sum counts");
    cr_assert_eq(find("exfil", 0)->event_count, 2);
    cr_assert_eq(find("exfil", 0)->first_seen_ms, T0);
    cr_assert_eq(count("slow"), 1, "the restored mean counts");
    cr_assert_eq(count("recon"), 1);
}

Test(agg, a_reload_keeps_unchanged_sums_and_drops_a_changed_one)
{
    char *text = malloc(strlen(AGG_RULES) + 64);
    strcpy(text, AGG_RULES);
    char *p = strstr(text, "    condition: { gt: 500.5 }\n");
    cr_assert_not_null(p);
    memcpy(p, AGG_RULES_RELOAD_SLOW, strlen(AGG_RULES_RELOAD_SLOW));
    memmove(p + strlen(AGG_RULES_RELOAD_SLOW), p + strlen("    condition: { gt: 500.5 }\n"),
            strlen(p + strlen("    condition: { gt: 500.5 }\n")) + 1);
    rs2 = cr_test_rules(dir, "agg2.yaml", text);
    free(text);
    cr_assert_neq(cr_corr_def_hash(rs, cr_ruleset_find_corr(rs, "slow")),
                  cr_corr_def_hash(rs2, cr_ruleset_find_corr(rs2, "slow")),
                  "a threshold change is a change");
    cr_assert_eq(cr_corr_def_hash(rs, cr_ruleset_find_corr(rs, "exfil")),
                 cr_corr_def_hash(rs2, cr_ruleset_find_corr(rs2, "exfil")));
    hit("upload", "k|u", 0, "600000");
    hit("resp", "web1", 0, "950");
    hit("resp", "web1", 1, "100"); /* mean 525: slow fires now */
    flush();
    cr_assert_eq(count("slow"), 1);
    hit("resp", "web2", 2, "450");
    flush();
    uint64_t kept = 0, dropped = 0;
    cr_assert_eq(cr_correlator_migrate(c, rs2, &kept, &dropped), 0);
    struct cr_ruleset *old = rs;
    rs = rs2; /* hit() looks rules up in rs */
    rs2 = old;
    cr_assert_eq(dropped, 2, "slow's two states");
    cr_assert_eq(kept, 1, "exfil's");
    hit("upload", "k|u", 60, "600000");
    hit("resp", "web2", 10, "1000"); /* mean 1000 alone: the 450 went with the old rule */
    flush();
    cr_assert_eq(count("exfil"), 1, "the kept 600 kB counts");
    cr_assert_eq(count("slow"), 2);
    cr_assert_eq(find("slow", 1)->event_count, 1);
}

/* value_percentile: the 90th percentile (nearest rank) of the window's
 * numbers. */
Test(agg, value_percentile_fires_on_the_percentile_of_the_window)
{
    for (int i = 0; i < 9; i++)
        hit("lat", "api", i, "100");
    hit("lat", "api", 9, "5000"); /* 10 values: the 9th smallest is 100 */
    flush();
    cr_assert_eq(count("p90"), 0);
    hit("lat", "api", 10, "5000"); /* 11: the 10th is 5000 */
    flush();
    cr_assert_eq(count("p90"), 1);
    const struct cr_incident *inc = find("p90", 0);
    cr_assert_eq(inc->event_count, 11);
    cr_assert_str_eq(inc->reasons[0], "percentile 90 of ms 5,000 over 11 events within 10s "
                                      "(threshold: >= 1000 in 600s)");
    /* numbers older than the window are out of it */
    for (int i = 0; i < 9; i++)
        hit("lat", "db", i, "100");
    hit("lat", "db", 700, "5000");
    flush();
    cr_assert_eq(count("p90"), 2);
    cr_assert_eq(find("p90", 1)->event_count, 1);
    cr_assert_eq(find("p90", 1)->first_seen_ms, T0 + 700000);
}

/* Past PCT_MAX (128) numbers in a window, the most recent 128 count. */
Test(agg, value_percentile_keeps_the_most_recent_128_numbers)
{
    for (int i = 0; i < 128; i++)
        hit("lat", "api", i, "100");
    int k = 0;
    while (count("p90") == 0 && k < 30) {
        hit("lat", "api", 128 + k++, "5000");
        flush();
    }
    /* of the latest 128, 116 (90%, rounded up) must be at most the 116th
     * smallest: 13 slow ones of 128 (15 if all 128 + k counted) */
    cr_assert_eq(k, 13);
    cr_assert_eq(find("p90", 0)->event_count, 128);
    cr_assert_eq(cr_correlator_stats(c)->values_not_numeric, 0);
    hit("lat", "web", 0, "slow");
    cr_assert_eq(cr_correlator_stats(c)->values_not_numeric, 1);
}
