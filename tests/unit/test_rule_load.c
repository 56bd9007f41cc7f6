/*
 * test_rule_load.c - cr_ruleset_load: what a valid file turns into, and the
 * exact "file:line: reason" for each kind of mistake a rule author makes.
 *
 * Every bad case asserts the whole error text, so a message that loses its
 * line number, names the wrong thing or stops after the first problem fails
 * the test.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rules/ruleset.h"
#include "testutil.h"

static char *dir;
static char err[8192];
static char path_buf[1024];

static void setup(void)
{
    dir = cr_test_tmpdir();
    cr_assert_not_null(dir);
    err[0] = 0;
}

static void teardown(void)
{
    cr_test_rmtree(dir);
    free(dir);
}

TestSuite(rule_load, .init = setup, .fini = teardown);

/* Write `text` to dir/name; returns the path (static buffer). */
static const char *put(const char *name, const char *text)
{
    snprintf(path_buf, sizeof path_buf, "%s/%s", dir, name);
    cr_assert_eq(cr_test_write_file(path_buf, text, strlen(text)), 0);
    return path_buf;
}

static struct cr_ruleset *load1(const char *name, const char *text)
{
    const char *p = put(name, text);
    const char *paths[] = {p};
    return cr_ruleset_load(paths, 1, NULL, err, sizeof err);
}

/* Load a file that must fail, and compare the whole message. */
static void expect_error(const char *text, const char *fmt_reason)
{
    struct cr_ruleset *rs = load1("bad.yaml", text);
    cr_assert_null(rs, "a bad file loaded");
    char want[4096];
    /* fmt_reason has one %s per line for the file path. */
    snprintf(want, sizeof want, fmt_reason, path_buf, path_buf, path_buf, path_buf, path_buf,
             path_buf, path_buf);
    cr_assert_str_eq(err, want);
}

static const char *VALID =
    "rules:\n"
    "  - id: sshd.auth.failed\n"
    "    title: SSH authentication failure\n"
    "    where: { program: sshd }\n"
    "    match: 'Failed password for (?:invalid user )?(?<user>\\S+) from (?<src_ip>\\S+)'\n"
    "    tags: [auth, ssh]\n"
    "  - id: disk.error\n"
    "    match: 'I/O error, dev (?<disk>sd[a-z]+)'\n"
    "    group_by: [host, disk]\n"
    "    incident: { category: F-STO-HW }\n"
    "  - id: cloud.root\n"
    "    where: { userIdentity.type: Root }\n"
    "    match: { event_type: '^ConsoleLogin$' }\n"
    "    group_by: host\n"
    "    incident:\n"
    "      category: S-OPS-PRIV\n"
    "      reg_category: RO/ROPINTENT\n"
    "      priority: P1\n"
    "      reg_level: II\n"
    "      title: Root console login\n"
    "      open_for: 30m\n"
    "  - id: sshd.accepted\n"
    "    where: { program: sshd }\n"
    "    match: 'Accepted \\w+ for (?P<user>\\S+) from (?<src_ip>\\S+)'\n"
    "correlations:\n"
    "  - id: ssh.bruteforce\n"
    "    type: event_count\n"
    "    rules: [sshd.auth.failed]\n"
    "    group_by: [src_ip]\n"
    "    timespan: 60s\n"
    "    condition: { gt: 4 }\n"
    "    incident: { category: S-ATK-BRUTE }\n"
    "  - id: ssh.bruteforce.success\n"
    "    type: temporal_ordered\n"
    "    rules: [ssh.bruteforce, sshd.accepted]\n"
    "    group_by: [src_ip]\n"
    "    timespan: 10m\n"
    "    incident: { category: S-ATK-BRUTE, priority: P2 }\n"
    "  - id: user.bruteforce\n"
    "    type: event_count\n"
    "    rules: [sshd.auth.failed]\n"
    "    group_by: [subject_user, host]\n"
    "    timespan: 5m\n"
    "    condition: { gte: 10 }\n"
    "    incident: { category: S-ATK-BRUTE, reg_level: null }\n";

Test(rule_load, valid_file)
{
    struct cr_ruleset *rs = load1("valid.yaml", VALID);
    cr_assert_not_null(rs, "%s", err);
    cr_assert_eq(rs->nrules, 4);
    cr_assert_eq(rs->ncorrs, 3);
    int failed = cr_ruleset_find_rule(rs, "sshd.auth.failed");
    int disk = cr_ruleset_find_rule(rs, "disk.error");
    int root = cr_ruleset_find_rule(rs, "cloud.root");
    int acc = cr_ruleset_find_rule(rs, "sshd.accepted");
    cr_assert(failed == 0 && disk == 1 && root == 2 && acc == 3);
    cr_assert_eq(cr_ruleset_find_rule(rs, "ssh.bruteforce"), -1, "a correlation is not a rule");
    cr_assert_eq(cr_ruleset_find_corr(rs, "ssh.bruteforce"), 0);
    cr_assert_eq(cr_ruleset_find_corr(rs, "nope"), -1);

    /* Titles, files and lines. */
    cr_assert_str_eq(rs->rules[failed].title, "SSH authentication failure");
    cr_assert_str_eq(rs->rules[disk].title, "disk.error");
    cr_assert_str_eq(rs->rules[disk].file, path_buf);
    cr_assert_eq(rs->rules[failed].line, 2);
    cr_assert_eq(rs->rules[disk].line, 7);

    /* Fields: builtin ones by name and alias, extras registered once. */
    cr_assert_eq(cr_ruleset_field(rs, "src_ip"), CR_F_SRC_IP);
    cr_assert_eq(cr_ruleset_field(rs, "subject_user"), CR_F_USER);
    int fdisk = cr_ruleset_field(rs, "disk"), fut = cr_ruleset_field(rs, "userIdentity.type");
    cr_assert(fdisk >= CR_F__BUILTIN && fut >= CR_F__BUILTIN && fdisk != fut);
    cr_assert_eq(rs->nfields, CR_F__BUILTIN + 2);
    cr_assert_eq(cr_ruleset_field(rs, "never.used"), -1);

    /* Where and patterns. */
    const struct cr_rule *r = &rs->rules[failed];
    cr_assert_eq(r->nwhere, 1);
    cr_assert_eq(r->where[0].field, CR_F_PROGRAM);
    cr_assert_str_eq(r->where[0].vals[0], "sshd");
    cr_assert_eq(r->npatterns, 1);
    const struct cr_pattern *p = &rs->patterns[r->patterns[0]];
    cr_assert_eq(p->kind, CR_PAT_CAPTURE);
    cr_assert_eq(p->field, CR_F_MSG);
    cr_assert_eq(p->ncapture, 2);
    cr_assert(r->capture_fields[0] == ((1ull << CR_F_USER) | (1ull << CR_F_SRC_IP)));
    for (int w = 1; w < CR_FIELD_WORDS; w++)
        cr_assert(r->capture_fields[w] == 0);
    cr_assert_eq(rs->patterns[rs->rules[root].patterns[0]].kind, CR_PAT_EXACT);
    cr_assert_eq(rs->patterns[rs->rules[root].patterns[0]].field, CR_F_EVENT_TYPE);
    cr_assert_eq(rs->patterns[rs->rules[acc].patterns[0]].ncapture, 2, "(?P<name>) counts");

    /* Incident defaults and overrides. */
    const struct cr_incident_spec *inc = rs->rules[disk].incident;
    cr_assert_not_null(inc);
    cr_assert_str_eq(inc->category, "F-STO-HW");
    cr_assert_str_eq(inc->reg_category, "DE/DETECH");
    cr_assert_str_eq(inc->priority, "P3");
    cr_assert_eq(inc->reg_level, 0);
    cr_assert_eq(inc->open_for_ms, 3600 * 1000);
    cr_assert_str_eq(inc->title, "disk.error");
    inc = rs->rules[root].incident;
    cr_assert_str_eq(inc->reg_category, "RO/ROPINTENT");
    cr_assert_str_eq(inc->priority, "P1");
    cr_assert_eq(inc->reg_level, 2);
    cr_assert_eq(inc->open_for_ms, 30 * 60 * 1000);
    cr_assert_str_eq(inc->title, "Root console login");
    cr_assert_null(rs->rules[failed].incident);

    /* Correlations. */
    const struct cr_correlation *c = &rs->corrs[0];
    cr_assert_eq(c->type, CR_CORR_EVENT_COUNT);
    cr_assert_eq(c->gte, 5, "gt: 4 means gte 5");
    cr_assert_eq(c->timespan_ms, 60000);
    cr_assert_eq(c->incident.open_for_ms, 60000, "open_for defaults to the timespan");
    cr_assert_str_eq(c->incident.reg_category, "NA/NACRED");
    c = &rs->corrs[1];
    cr_assert_eq(c->type, CR_CORR_TEMPORAL_ORDERED);
    cr_assert_eq(c->nsteps, 2);
    cr_assert(c->steps[0].is_correlation && c->steps[0].index == 0);
    cr_assert(!c->steps[1].is_correlation && c->steps[1].index == (uint32_t)acc);
    cr_assert_str_eq(c->incident.priority, "P2");
    c = &rs->corrs[2];
    cr_assert(c->ngroup_by == 2 && c->group_by[0] == CR_F_USER && c->group_by[1] == CR_F_HOST);

    /* Routes: distinct group_by lists of each rule's consumers. */
    r = &rs->rules[failed];
    cr_assert_eq(r->nroutes, 2);
    cr_assert(r->routes[0].ngroup_by == 1 && r->routes[0].group_by[0] == CR_F_SRC_IP);
    cr_assert(r->routes[1].ngroup_by == 2 && r->routes[1].group_by[0] == CR_F_USER);
    cr_assert_eq(rs->rules[acc].nroutes, 1, "a temporal step routes its rule");
    cr_assert_eq(rs->rules[disk].nroutes, 1);
    cr_assert(rs->rules[disk].routes[0].group_by[1] == fdisk);
    cr_assert_eq(rs->rules[root].nroutes, 1);

    cr_assert_eq(rs->nhs, 2, "one database for msg, one for event_type");
    cr_assert_eq(rs->nunconditional, 0);
    cr_assert_not_null(rs->scratch_proto);
    cr_ruleset_free(rs);
}

Test(rule_load, directory_sorted_and_hash_changes)
{
    char sub[1024], a[1100], b[1100];
    snprintf(sub, sizeof sub, "%s/rules.d", dir);
    cr_assert_eq(mkdir(sub, 0755), 0);
    snprintf(a, sizeof a, "%s/20-b.yaml", sub);
    snprintf(b, sizeof b, "%s/10-a.yml", sub);
    const char *ta = "rules:\n  - id: second\n    match: two\n";
    const char *tb = "rules:\n  - id: first\n    match: one\n";
    cr_assert_eq(cr_test_write_file(a, ta, strlen(ta)), 0);
    cr_assert_eq(cr_test_write_file(b, tb, strlen(tb)), 0);
    snprintf(a + strlen(sub), 100, "/notes.txt");
    cr_assert_eq(cr_test_write_file(a, "not yaml: [", 11), 0);
    const char *paths[] = {sub};
    struct cr_ruleset *rs = cr_ruleset_load(paths, 1, NULL, err, sizeof err);
    cr_assert_not_null(rs, "%s", err);
    cr_assert_eq(rs->nrules, 2);
    cr_assert_str_eq(rs->rules[0].id, "first");
    cr_assert_str_eq(rs->rules[1].id, "second");
    uint64_t h1 = rs->hash;
    cr_ruleset_free(rs);
    cr_assert_eq(cr_test_write_file(b, "rules:\n  - id: first\n    match: uno\n", 35), 0);
    rs = cr_ruleset_load(paths, 1, NULL, err, sizeof err);
    cr_assert_not_null(rs, "%s", err);
    cr_assert_neq(rs->hash, h1);
    cr_ruleset_free(rs);
}

Test(rule_load, bad_yaml_syntax)
{
    expect_error("rules:\n  - id: a\n    match: [unclosed\n  - id: b\n",
                 "%s:4: YAML syntax error: did not find expected ',' or ']' while parsing a "
                 "flow sequence");
}

Test(rule_load, unknown_key)
{
    expect_error("rules:\n  - id: a\n    mach: 'x'\n", "%s:3: unknown key 'mach' in rule 'a'");
}

Test(rule_load, duplicate_key)
{
    expect_error("rules:\n  - id: a\n    match: 'x'\n    match: 'y'\n",
                 "%s:4: duplicate key 'match' (first on line 3)");
}

Test(rule_load, unknown_top_level_key)
{
    expect_error("rule:\n  - id: a\n", "%s:1: unknown key 'rule' in a rule file\n"
                                       "%s:1: the file holds no rules: 'rules' and "
                                       "'correlations' are both empty or missing");
}

Test(rule_load, missing_id)
{
    expect_error("rules:\n  - id: ok\n    match: x\n  - title: no id here\n    match: y\n",
                 "%s:4: rule without 'id'");
}

Test(rule_load, duplicate_id_across_files)
{
    char a[1024], b[1024];
    snprintf(a, sizeof a, "%s", put("a.yaml", "rules:\n  - id: dup\n    match: one\n"));
    snprintf(b, sizeof b, "%s",
             put("b.yaml", "rules:\n  - id: other\n    match: x\ncorrelations:\n  - id: dup\n"
                           "    type: event_count\n    rules: [other]\n    group_by: [host]\n"
                           "    timespan: 1m\n    condition: { gte: 2 }\n"
                           "    incident: { category: F-NET-LINK }\n"));
    const char *paths[] = {a, b};
    cr_assert_null(cr_ruleset_load(paths, 2, NULL, err, sizeof err));
    char want[4096];
    snprintf(want, sizeof want, "%s:5: duplicate id 'dup' (first defined at %s:2)", b, a);
    cr_assert_str_eq(err, want);
}

Test(rule_load, bad_regex_names_pattern_and_offset)
{
    expect_error("rules:\n  - id: a\n    match: 'Failed (password'\n",
                 "%s:3: rule 'a': regex 'Failed (password': missing closing parenthesis at "
                 "offset 16");
}

Test(rule_load, unknown_category)
{
    expect_error("rules:\n  - id: a\n    match: x\n    group_by: [host]\n"
                 "    incident: { category: S-ATK-NOPE }\n",
                 "%s:5: rule 'a': incident: unknown category 'S-ATK-NOPE' (see DOMAIN.md (a): "
                 "S-... and F-... ids)");
}

Test(rule_load, bad_priority)
{
    expect_error("rules:\n  - id: a\n    match: x\n    group_by: [host]\n"
                 "    incident:\n      category: F-NET-LINK\n      priority: P5\n",
                 "%s:7: rule 'a': incident: priority 'P5' is not one of P1, P2, P3, P4");
}

Test(rule_load, bad_reg_level)
{
    expect_error("rules:\n  - id: a\n    match: x\n    group_by: [host]\n"
                 "    incident:\n      category: F-NET-LINK\n      reg_level: V\n",
                 "%s:7: rule 'a': incident: reg_level 'V' is not one of I, II, III, IV or null");
}

static const char *CORR_HEAD = "rules:\n"
                               "  - id: r\n"
                               "    match: 'Failed (?<disk>sd[a-z])'\n"
                               "  - id: s\n"
                               "    match: other\n"
                               "correlations:\n";

static void expect_corr_error(const char *corrs, const char *fmt)
{
    char text[4096];
    snprintf(text, sizeof text, "%s%s", CORR_HEAD, corrs);
    expect_error(text, fmt);
}

Test(rule_load, unknown_correlation_type)
{
    expect_corr_error("  - id: c\n    type: sequence\n    rules: [r, s]\n    group_by: [host]\n"
                      "    timespan: 1m\n    incident: { category: F-NET-LINK }\n",
                      "%s:8: correlation 'c': unknown type 'sequence' (supported: event_count, "
                      "value_count, value_sum, value_avg, value_percentile, temporal, "
                      "temporal_ordered, absence, new_value)");
}

Test(rule_load, unknown_rule_reference)
{
    expect_corr_error("  - id: c\n    type: temporal_ordered\n    rules:\n      - r\n"
                      "      - no.such.rule\n    group_by: [host]\n    timespan: 1m\n"
                      "    incident: { category: F-NET-LINK }\n",
                      "%s:11: correlation 'c': unknown rule or correlation 'no.such.rule'");
}

Test(rule_load, chaining_cycle)
{
    expect_corr_error("  - id: a\n    type: temporal_ordered\n    rules: [r, b]\n"
                      "    group_by: [host]\n    timespan: 1m\n"
                      "    incident: { category: F-NET-LINK }\n"
                      "  - id: b\n    type: temporal_ordered\n    rules: [s, a]\n"
                      "    group_by: [host]\n    timespan: 1m\n"
                      "    incident: { category: F-NET-LINK }\n",
                      "%s:15: correlation 'b': chaining cycle a -> b -> a");
}

Test(rule_load, chained_step_with_other_group_by)
{
    expect_corr_error("  - id: a\n    type: event_count\n    rules: [r]\n"
                      "    group_by: [host]\n    timespan: 1m\n    condition: { gte: 3 }\n"
                      "    incident: { category: F-NET-LINK }\n"
                      "  - id: b\n    type: temporal_ordered\n    rules: [a, s]\n"
                      "    group_by: [src_ip]\n    timespan: 1m\n"
                      "    incident: { category: F-NET-LINK }\n",
                      "%s:16: correlation 'b': step 'a' groups by [host] but this correlation by "
                      "[src_ip] (a chained correlation must use the same group_by)");
}

Test(rule_load, incident_rule_without_group_by)
{
    expect_error("rules:\n  - id: a\n    match: x\n    incident: { category: F-NET-LINK }\n",
                 "%s:4: rule 'a': an incident rule needs group_by (the entity fields)");
}

Test(rule_load, group_by_field_a_rule_cannot_provide)
{
    /* disk is a capture of r, so s (which captures nothing) can never set it. */
    expect_corr_error("  - id: c\n    type: event_count\n    rules: [r, s]\n"
                      "    group_by: [host, disk]\n    timespan: 1m\n    condition: { gte: 2 }\n"
                      "    incident: { category: F-STO-HW }\n",
                      "%s:10: correlation 'c': group_by field 'disk' cannot be provided by rule "
                      "'s' (not builtin, not a JSON path, not captured by that rule)");
}

Test(rule_load, bad_duration)
{
    expect_corr_error("  - id: c\n    type: event_count\n    rules: [r]\n"
                      "    group_by: [host]\n    timespan: 5 minutes\n    condition: { gte: 2 }\n"
                      "    incident: { category: F-NET-LINK }\n",
                      "%s:11: correlation 'c': timespan: '5 minutes' is not a duration "
                      "(examples: 500ms, 30s, 5m, 2h, 1d)");
}

Test(rule_load, event_count_needs_condition)
{
    expect_corr_error("  - id: c\n    type: event_count\n    rules: [r]\n"
                      "    group_by: [host]\n    timespan: 1m\n    condition: { gte: 0 }\n"
                      "    incident: { category: F-NET-LINK }\n",
                      "%s:12: correlation 'c': condition gte: 0 is out of range [1, 4294967294]");
}

Test(rule_load, several_errors_all_reported)
{
    expect_error("rules:\n"
                 "  - id: a\n"
                 "    match: '(?<=a+)b'\n" /* 3: variable-length lookbehind */
                 "    colour: red\n"       /* 4: unknown key */
                 "  - id: b\n"
                 "    match: ok\n"
                 "    group_by: [host]\n"
                 "    incident:\n"
                 "      category: NOPE\n" /* 9 */
                 "      priority: high\n" /* 10 */
                 "  - match: no id\n"     /* 11 */
                 "correlations:\n"
                 "  - id: c\n"
                 "    type: event_count\n"
                 "    rules: [b, ghost]\n" /* 15 */
                 "    group_by: [host]\n"
                 "    timespan: -3s\n" /* 17 */
                 "    condition: { gte: 1 }\n"
                 "    incident: { category: F-NET-LINK }\n",
                 "%s:4: unknown key 'colour' in rule 'a'\n"
                 "%s:3: rule 'a': regex '(?<=a+)b': lookbehind assertion is not fixed "
                 "length at offset 0\n"
                 "%s:9: rule 'b': incident: unknown category 'NOPE' (see DOMAIN.md (a): S-... "
                 "and F-... ids)\n"
                 "%s:10: rule 'b': incident: priority 'high' is not one of P1, P2, P3, P4\n"
                 "%s:11: rule without 'id'\n"
                 "%s:17: correlation 'c': timespan: '-3s' is not a duration (examples: 500ms, "
                 "30s, 5m, 2h, 1d)\n"
                 "%s:15: correlation 'c': unknown rule or correlation 'ghost'");
}

Test(rule_load, new_operator_misuse)
{
    expect_corr_error("  - id: c\n    type: value_count\n    rules: [r]\n    group_by: [host]\n"
                      "    timespan: 1m\n    condition: {gte: 3}\n"
                      "    incident: { category: S-ATK-SCAN }\n",
                      "%s:7: correlation 'c': value_count needs 'field' (the field whose distinct "
                      "values count)");
    expect_corr_error("  - id: c\n    type: absence\n    rules: [r, s, r]\n    group_by: [host]\n"
                      "    timespan: 1m\n    incident: { category: F-STO-BKP }\n",
                      "%s:9: correlation 'c': absence lists exactly 2 ids: [the start, the "
                      "expected follow-up]");
    expect_corr_error("  - id: c\n    type: temporal_ordered\n    rules: [r, s]\n"
                      "    group_by: [host]\n    timespan: 1m\n    condition: {gte: 2}\n"
                      "    incident: { category: F-STO-BKP }\n",
                      "%s:12: correlation 'c': condition applies to event_count, value_count, "
                      "value_sum, value_avg, value_percentile and temporal only "
                      "(temporal_ordered matches when every step happened in order)");
    expect_corr_error("  - id: c\n    type: temporal\n    rules: [r, s]\n    group_by: [host]\n"
                      "    timespan: 1m\n    condition: {gte: 3}\n"
                      "    incident: { category: F-STO-BKP }\n",
                      "%s:12: correlation 'c': condition gte: 3 is out of range [1, 2]");
    expect_corr_error("  - id: c\n    type: event_count\n    rules: [r]\n    group_by: [host]\n"
                      "    field: user\n    timespan: 1m\n    condition: {gte: 2}\n"
                      "    incident: { category: F-STO-BKP }\n",
                      "%s:11: correlation 'c': 'field' applies to value_count, value_sum, "
                      "value_avg, value_percentile and new_value only");
}

/* value_sum / value_avg: a field, numbers, and a condition that can run. */
Test(rule_load, value_sum_and_value_avg_misuse)
{
    expect_corr_error("  - id: c\n    type: value_sum\n    rules: [r]\n    group_by: [host]\n"
                      "    timespan: 1h\n    condition: {gt: 1000}\n"
                      "    incident: { category: S-DATA-LEAK }\n",
                      "%s:7: correlation 'c': value_sum, value_avg and value_percentile need "
                      "'field' (the field whose numbers are aggregated)");
    expect_corr_error("  - id: c\n    type: value_percentile\n    rules: [r]\n"
                      "    group_by: [host]\n    field: ms\n    timespan: 1h\n"
                      "    condition: {gt: 1000}\n    incident: { category: F-APP-DEG }\n",
                      "%s:7: correlation 'c': value_percentile needs 'percentile' (0 to 100; 50 "
                      "is the median)");
    expect_corr_error("  - id: c\n    type: value_percentile\n    rules: [r]\n"
                      "    group_by: [host]\n    field: ms\n    percentile: 101\n"
                      "    timespan: 1h\n    condition: {gt: 1000}\n"
                      "    incident: { category: F-APP-DEG }\n",
                      "%s:12: correlation 'c': percentile: 101 is out of range [0, 100]");
    expect_corr_error("  - id: c\n    type: value_sum\n    rules: [r]\n    group_by: [host]\n"
                      "    field: ms\n    percentile: 50\n    timespan: 1h\n"
                      "    condition: {gt: 1000}\n    incident: { category: F-APP-DEG }\n",
                      "%s:12: correlation 'c': 'percentile' applies to value_percentile only");
    expect_corr_error("  - id: c\n    type: value_sum\n    rules: [r]\n    group_by: [host]\n"
                      "    field: bytes\n    timespan: 1h\n    condition: {lt: 1000}\n"
                      "    incident: { category: S-DATA-LEAK }\n",
                      "%s:13: correlation 'c': value_sum needs a lower bound (gt or gte): a sum "
                      "under a bound alone holds after every key's first event");
    expect_corr_error("  - id: c\n    type: value_avg\n    rules: [r]\n    group_by: [host]\n"
                      "    field: bytes\n    timespan: 1h\n    condition: {gt: lots}\n"
                      "    incident: { category: S-DATA-LEAK }\n",
                      "%s:13: correlation 'c': condition gt: 'lots' is not a number");
    expect_corr_error("  - id: c\n    type: value_avg\n    rules: [r]\n    group_by: [host]\n"
                      "    field: bytes\n    timespan: 1h\n    condition: {gt: 10, lt: 5}\n"
                      "    incident: { category: S-DATA-LEAK }\n",
                      "%s:13: correlation 'c': condition: no value satisfies it");
    expect_corr_error("  - id: c\n    type: value_avg\n    rules: [r]\n    group_by: [host]\n"
                      "    field: bytes\n    timespan: 1h\n"
                      "    incident: { category: S-DATA-LEAK }\n",
                      "%s:7: correlation 'c': value_avg needs condition: {gt: X} (or gte, lt, lte, "
                      "eq, or a range such as {gte: 100, lte: 5000})");
}

Test(rule_load, max_keys_only_where_there_is_state)
{
    expect_error("rules:\n  - id: r\n    match: x\n    max_keys: 10\n",
                 "%s:4: rule 'r': max_keys applies to rules that keep state (an incident rule or "
                 "a correlation)");
    expect_corr_error("  - id: c\n    type: event_count\n    rules: [r]\n    group_by: [host]\n"
                      "    timespan: 1m\n    condition: {gte: 2}\n    max_keys: 0\n"
                      "    incident: { category: F-STO-BKP }\n",
                      "%s:13: correlation 'c': max_keys: 0 is out of range [1, "
                      "9223372036854775807]");
}

/* ---- cross-key sequences, conditions, new_value ---- */

static const char *LANG_HEAD = "rules:\n"
                               "  - id: fail\n"
                               "    match: 'Failed for (?<user>\\S+) from (?<src_ip>\\S+)'\n"
                               "  - id: sudo\n"
                               "    match: 'sudo (?<cmd>\\S+)'\n"
                               "  - id: d\n"
                               "    match: 'I/O error (?<disk>sd[a-z])'\n"
                               "correlations:\n"
                               "  - id: b\n"
                               "    type: event_count\n"
                               "    rules: [fail]\n"
                               "    group_by: [src_ip]\n"
                               "    timespan: 1m\n"
                               "    condition: { gte: 3 }\n"
                               "    incident: { category: S-ATK-BRUTE }\n";

static void expect_lang_error(const char *corrs, const char *fmt)
{
    char text[4096];
    snprintf(text, sizeof text, "%s%s", LANG_HEAD, corrs);
    expect_error(text, fmt);
}

Test(rule_load, joined_steps_load)
{
    char text[4096];
    snprintf(text, sizeof text, "%s%s", LANG_HEAD,
             "  - id: c\n"
             "    type: temporal_ordered\n"
             "    steps:\n"
             "      - { rule: b }\n"
             "      - { rule: fail, join: { src_ip: src_ip } }\n"
             "      - { rule: sudo, join: { user: user } }\n"
             "    timespan: 30m\n"
             "    incident: { category: S-ATK-COMP }\n");
    struct cr_ruleset *rs = load1("ok.yaml", text);
    cr_assert_not_null(rs, "%s", err);
    const struct cr_correlation *c = &rs->corrs[cr_ruleset_find_corr(rs, "c")];
    cr_assert(c->joined);
    cr_assert_eq(c->nsteps, 3);
    cr_assert_eq(c->ngroup_by, 2, "the key is the join values");
    cr_assert_eq(c->group_by[0], CR_F_SRC_IP);
    cr_assert_eq(c->group_by[1], CR_F_USER);
    /* step 1 (fail) carries [src_ip, user]: it joins on one and passes the other */
    cr_assert_eq(c->join[1].nfields, 2);
    cr_assert_eq(c->join[1].in_pos, 0);
    cr_assert_eq(c->join[1].out_pos, 1);
    cr_assert_eq(c->join[2].nfields, 1);
    cr_assert_eq(c->join[2].out_pos, -1);
    /* the sequence and the brute force it chains from share one pin */
    const struct cr_correlation *b = &rs->corrs[cr_ruleset_find_corr(rs, "b")];
    cr_assert_neq(c->pin, 0);
    cr_assert_eq(b->pin, c->pin);
    cr_assert_eq(cr_ruleset_pin(rs, "fail"), 0, "a rule's own state is never pinned");
    cr_ruleset_free(rs);
}

Test(rule_load, join_field_a_step_cannot_provide)
{
    expect_lang_error("  - id: c\n"
                      "    type: temporal_ordered\n"
                      "    steps:\n"
                      "      - { rule: fail }\n"
                      "      - { rule: sudo, join: { disk: src_ip } }\n"
                      "    timespan: 5m\n"
                      "    incident: { category: S-OPS-PRIV }\n",
                      "%s:20: correlation 'c': join field 'disk' cannot be provided by rule "
                      "'sudo' (not builtin, not a JSON path, not captured by that rule)");
    expect_lang_error("  - id: c\n"
                      "    type: temporal_ordered\n"
                      "    steps:\n"
                      "      - { rule: b }\n"
                      "      - { rule: sudo, join: { user: user } }\n"
                      "    timespan: 5m\n"
                      "    incident: { category: S-OPS-PRIV }\n",
                      "%s:19: correlation 'c': join field 'user' is not in the group_by of "
                      "correlation 'b' [src_ip] (a chained step provides its key fields only)");
}

Test(rule_load, join_misuse)
{
    expect_lang_error("  - id: c\n"
                      "    type: temporal_ordered\n"
                      "    group_by: [user]\n"
                      "    steps:\n"
                      "      - { rule: fail, join: { user: user } }\n"
                      "      - { rule: sudo, jion: { user: user } }\n"
                      "      - { rule: sudo, join: { user: user, src_ip: src_ip } }\n"
                      "    timespan: 5m\n"
                      "    incident: { category: S-OPS-PRIV }\n",
                      "%s:20: correlation 'c': the first step has no previous step to join\n"
                      "%s:21: unknown key 'jion' in step 2 of correlation 'c'\n"
                      "%s:21: correlation 'c': step 2: missing 'join' (every step after the "
                      "first joins on a field of the previous step: join: {this step's field: "
                      "previous step's field})\n"
                      "%s:22: correlation 'c': step 3: join must be one pair {this step's field: "
                      "previous step's field}\n"
                      "%s:18: correlation 'c': a sequence whose steps join on fields has no "
                      "group_by (its key is the join values)");
    expect_lang_error("  - id: c\n"
                      "    type: temporal\n"
                      "    steps:\n"
                      "      - { rule: fail }\n"
                      "      - { rule: sudo, join: { user: user } }\n"
                      "    group_by: [user]\n"
                      "    timespan: 5m\n"
                      "    incident: { category: S-OPS-PRIV }\n",
                      "%s:19: correlation 'c': 'steps' applies to temporal_ordered only (other "
                      "types list 'rules')");
}

Test(rule_load, condition_bounds)
{
    static const char *const cases[][2] = {
        {"{ lt: 3, gt: 5 }",
         "%s:21: correlation 'c': condition: no count satisfies it (at least 6 and at most 2)"},
        {"{ eq: 3, gte: 2 }", "%s:21: correlation 'c': condition: eq cannot be combined with "
                              "other bounds"},
        {"{ gte: 2, gt: 1 }", "%s:21: correlation 'c': condition: give one lower bound (gte or "
                              "gt) and at most one upper bound (lte or lt)"},
        {"{ lt: 1 }", "%s:21: correlation 'c': condition lt: 1 is out of range [2, 4294967294]"},
        {"{ gte: 2, max: 5 }", "%s:21: unknown key 'max' in the condition of correlation 'c'"},
        {"[3, 10]", "%s:21: correlation 'c': event_count needs condition: {gte: N} (or gt, lt, "
                    "lte, eq, or a range such as {gte: 3, lte: 10})"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char corr[512];
        snprintf(corr, sizeof corr,
                 "  - id: c\n    type: event_count\n    rules: [fail]\n    group_by: [user]\n"
                 "    timespan: 1m\n    condition: %s\n    incident: { category: S-ATK-BRUTE }\n",
                 cases[i][0]);
        expect_lang_error(corr, cases[i][1]);
    }
    expect_lang_error("  - id: c\n    type: value_count\n    rules: [fail]\n    group_by: [user]\n"
                      "    field: src_ip\n    timespan: 1m\n    condition: { gte: 2, lte: 4 }\n"
                      "    incident: { category: S-ATK-BRUTE }\n",
                      "%s:22: correlation 'c': value_count takes a lower bound only (gte or gt)");
    /* the accepted forms and what they mean */
    static const char *const ok[] = {"{ gte: 3, lte: 10 }", "{ lt: 3 }", "{ eq: 4 }", "{ gt: 2 }"};
    static const uint32_t lo[] = {3, 1, 4, 3}, hi[] = {10, 2, 4, UINT32_MAX};
    for (int i = 0; i < 4; i++) {
        char text[2048];
        snprintf(text, sizeof text,
                 "%s  - id: c\n    type: event_count\n    rules: [fail]\n    group_by: [user]\n"
                 "    timespan: 1m\n    condition: %s\n    incident: { category: S-ATK-BRUTE }\n",
                 LANG_HEAD, ok[i]);
        struct cr_ruleset *rs = load1("ok.yaml", text);
        cr_assert_not_null(rs, "%s: %s", ok[i], err);
        const struct cr_correlation *c = &rs->corrs[cr_ruleset_find_corr(rs, "c")];
        cr_assert_eq(c->gte, lo[i], "%s", ok[i]);
        cr_assert_eq(c->lte, hi[i], "%s", ok[i]);
        cr_assert_eq(c->windowed, hi[i] != UINT32_MAX, "%s", ok[i]);
        cr_ruleset_free(rs);
    }
}

Test(rule_load, new_value_misuse)
{
    expect_lang_error("  - id: c\n    type: new_value\n    rules: [fail]\n    group_by: [user]\n"
                      "    timespan: 1h\n    max_values: 0\n"
                      "    incident: { category: S-ABN-ACCESS }\n",
                      "%s:16: correlation 'c': new_value needs 'field' (the field whose new "
                      "values matter)\n"
                      "%s:16: correlation 'c': new_value needs 'history' (how long a seen value "
                      "stays known)\n"
                      "%s:21: correlation 'c': max_values: 0 is out of range [1, 1024]\n"
                      "%s:20: correlation 'c': new_value has 'history' (how long a value is "
                      "remembered), not 'timespan'");
    expect_lang_error("  - id: c\n    type: event_count\n    rules: [fail]\n    group_by: [user]\n"
                      "    timespan: 1h\n    learn: 1d\n    condition: { gte: 2 }\n"
                      "    incident: { category: S-ABN-ACCESS }\n",
                      "%s:21: correlation 'c': 'learn' applies to new_value only");
    expect_lang_error("  - id: c\n    type: new_value\n    rules: [b]\n    group_by: [src_ip]\n"
                      "    field: user\n    history: 30d\n"
                      "    incident: { category: S-ABN-ACCESS }\n",
                      "%s:18: correlation 'c': 'b' is a correlation; new_value counts match "
                      "rules only");
}

/* A file corral reads as rules but that holds none is an error naming it,
 * not a silent "0 match rules": an empty list, or another tool's format.
 * A Sigma rule is not another tool's format any more (test_sigma.c); a
 * file that is neither is. */
Test(rule_load, a_file_without_rules)
{
    expect_error("rules: []\n",
                 "%s:1: the file holds no rules: 'rules' and 'correlations' are both empty or "
                 "missing");
    struct cr_ruleset *rs = load1("other.yml", "input: {}\nparsers:\n  - grok: x\n");
    cr_assert_null(rs);
    cr_assert(strstr(err, "other.yml:1: unknown key 'input'") &&
                  strstr(err, "the file holds no rules"),
              "%s", err);
}

/* Directories are read recursively (a SigmaHQ checkout keeps its rules in
 * subdirectories); one with no rule file anywhere below it is an error
 * naming it. */
Test(rule_load, a_directory_without_rule_files)
{
    char sub[1100];
    snprintf(sub, sizeof sub, "%s/windows", dir);
    cr_assert_eq(mkdir(sub, 0755), 0);
    put("README.md", "not rules\n");
    const char *paths[] = {dir};
    cr_assert_null(cr_ruleset_load(paths, 1, NULL, err, sizeof err));
    char want[1200];
    snprintf(want, sizeof want, "%s: no rule files (*.yaml, *.yml) in this directory or below it",
             dir);
    cr_assert(strstr(err, want), "%s", err);
    put("windows/r.yml", "rules: [{id: a, match: x}]\n");
    struct cr_ruleset *rs = cr_ruleset_load(paths, 1, NULL, err, sizeof err);
    cr_assert_not_null(rs, "a rule file in a subdirectory is read: %s", err);
    cr_assert_eq(rs->nrules, 1);
    cr_ruleset_free(rs);
}

/* docs/rules.md lists the categories rule authors may write: the same ids,
 * in the same order, with the same default reg_category as the loader's
 * table (rules/category.c), so the list cannot drift. */
Test(rule_load, the_documented_categories_are_the_table)
{
    size_t len;
    char *doc = cr_test_slurp(cr_test_source_path("docs/rules.md"), &len);
    cr_assert_not_null(doc);
    const char *at = strstr(doc, "\n## Categories\n");
    cr_assert_not_null(at, "docs/rules.md has a Categories section");
    int i = 0;
    for (const char *row = strstr(at, "\n| `"); row && row < strstr(at + 1, "\n## ");
         row = strstr(row + 1, "\n| `"), i++) {
        char id[32], reg[32];
        cr_assert_eq(sscanf(row, "\n| `%31[^`]` | %*[^|]| `%31[^`]` |", id, reg), 2, "%.80s", row);
        cr_assert_not_null(cr_category_id(i), "docs list more than the table: %s", id);
        cr_assert_str_eq(id, cr_category_id(i), "row %d", i);
        cr_assert_str_eq(reg, cr_category_reg_default(id), "%s", id);
    }
    cr_assert_null(cr_category_id(i), "the table has %s, the docs stop at %d", cr_category_id(i),
                   i);
    cr_assert_eq(i, 58);
    free(doc);
}

Test(rule_load, bad_impact_attack_and_fields)
{
    expect_error("rules:\n  - id: a\n    match: x\n    group_by: [host]\n"
                 "    incident:\n      category: F-NET-LINK\n      impact: { outage: down }\n",
                 "%s:7: rule 'a': impact: outage 'down' is not one of none, degraded, main, full");
    expect_error("rules:\n  - id: a\n    match: x\n    group_by: [host]\n"
                 "    incident:\n      category: F-NET-LINK\n"
                 "      impact: { runtime: minutes, records: n }\n",
                 "%s:7: rule 'a': impact: one measure per incident (records and runtime)");
    expect_error("rules:\n  - id: a\n    match: x\n    group_by: [host]\n"
                 "    incident:\n      category: S-ATK-BRUTE\n      attack: [T1110, brute]\n",
                 "%s:7: rule 'a': incident: attack: 'brute' is not an ATT&CK technique id "
                 "(T1110, T1078.003)");
    expect_error("rules:\n  - id: a\n    match: x\n    group_by: [host]\n"
                 "    incident:\n      category: S-ATK-BRUTE\n"
                 "      fields: [user, host, src_ip, dst_ip, command]\n",
                 "%s:7: rule 'a': incident fields has 5 fields (at most 4)");
}

Test(rule_load, bad_transforms)
{
    expect_error("rules:\n  - id: a\n    transforms: [url_decode, rot13]\n    match: 'x'\n",
                 "%s:3: rule 'a': unknown transform 'rot13' (known: url_decode, "
                 "html_entity_decode, lowercase, normalize_path, compress_whitespace, "
                 "remove_comments)");
    expect_error("rules:\n  - id: a\n    transforms: lowercase\n    match: 'x'\n",
                 "%s:3: rule 'a': transforms must be a list (of url_decode, html_entity_decode, "
                 "lowercase, normalize_path, compress_whitespace, remove_comments)");
    expect_error("rules:\n  - id: a\n    transforms: [lowercase, lowercase, lowercase, "
                 "lowercase, lowercase, lowercase, lowercase]\n    match: 'x'\n",
                 "%s:3: rule 'a': 7 transforms (at most 6)");
    expect_error("rules:\n  - id: a\n    transforms: [lowercase]\n    where: { program: x }\n",
                 "%s:3: rule 'a': transforms apply to match / not_match, and the rule has "
                 "neither");
}

/* A field one or two edits from one the parsers set or a rule captures is a typo; names far
 * from all of them are JSON or key=value keys and load, as do JSON paths and captures. */
Test(rule_load, unknown_field_names_near_a_known_one)
{
    expect_error("rules:\n  - id: a\n    where: { progam: sshd }\n    match: 'x'\n",
                 "%s:3: unknown field 'progam' (did you mean 'program'? a field is one the "
                 "parsers set, a capture of some rule, or a JSON path; docs/rules.md, Fields)");
    expect_error("rules:\n  - id: a\n    match: { dst_prot: '^22$' }\n",
                 "%s:3: unknown field 'dst_prot' (did you mean 'dst_port'? a field is one the "
                 "parsers set, a capture of some rule, or a JSON path; docs/rules.md, Fields)");
    expect_error("rules:\n  - id: a\n    match: 'for (?<target_user>\\S+)'\n"
                 "  - id: b\n    where: { target_usr: root }\n",
                 "%s:5: unknown field 'target_usr' (did you mean 'target_user'? a field is one "
                 "the parsers set, a capture of some rule, or a JSON path; docs/rules.md, Fields)");
    expect_error("rules:\n  - id: a\n    match: 'x'\n    group_by: [src-ip]\n"
                 "    incident: { category: S-ATK-EXPL }\n",
                 "%s:4: unknown field 'src-ip' (did you mean 'src_ip'? a field is one the "
                 "parsers set, a capture of some rule, or a JSON path; docs/rules.md, Fields)");
    struct cr_ruleset *rs =
        load1("ok.yaml", "rules:\n  - id: a\n    match: 'for (?<target_user>\\S+)'\n"
                         "  - id: b\n    where: { target_user: root, uid: '0', auid: '1000', "
                         "devname: fw1, userIdentity.type: Root, EventID: '4625', Host: h1 }\n");
    cr_assert_not_null(rs, "%s", err);
    cr_ruleset_free(rs);
}
