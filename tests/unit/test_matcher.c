/*
 * test_matcher.c - cr_matcher against hand-built syslog and JSON events.
 *
 * Each event is built the way a parser would (cr_event_set on the fields),
 * so these tests do not depend on the parsers. One rule file covers the
 * kinds of rule the matcher distinguishes: exact Hyperscan hits, captures,
 * where/not predicates, not_match, caseless, prefiltered patterns confirmed
 * or rejected by PCRE2, two-field rules, where-only rules, raw bytes that
 * are not UTF-8, JSON-path fields, and fields decoded by transforms.
 */
#include <criterion/criterion.h>
#include <hs/hs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/matcher.h"
#include "testutil.h"

static const char *RULES =
    "rules:\n"
    "  - id: sshd.auth.failed\n"
    "    where: { program: sshd }\n"
    "    match: 'Failed password for (?:invalid user )?(?<user>\\S+) from (?<src_ip>\\S+)'\n"
    "  - id: sshd.accepted.notroot\n"
    "    where: { program: sshd }\n"
    "    match: 'Accepted \\w+ for \\S+ from'\n"
    "    not_match: 'for root from'\n"
    "  - id: kernel.oom\n"
    "    match: 'out of memory: kill(ed)? process'\n"
    "    caseless: true\n"
    "  - id: repeated.word\n"
    "    match: '\\b(\\w+) \\1\\b'\n"
    "  - id: admin.lookbehind\n"
    "    match: '(?<=user=)admin'\n"
    "  - id: link.down\n"
    "    match:\n"
    "      msg: 'Interface (?<interface>\\S+), changed state to down'\n"
    "      event_type: '^LINK-3-UPDOWN$'\n"
    "  - id: cron.any\n"
    "    where: { program: [CRON, crond] }\n"
    "    not: { user: root }\n"
    "  - id: raw.bytes\n"
    "    match: 'disk \\xff\\xfe(?<disk>sd[a-z]) failed'\n"
    "  - id: cloud.root.login\n"
    "    where: { userIdentity.type: Root }\n"
    "    match: { event_type: '^ConsoleLogin$' }\n"
    "  - id: not.prefiltered\n"
    "    where: { program: app }\n"
    "    not_match: '(\\w+)=\\1'\n"
    "  - id: web.union\n"
    "    transforms: [url_decode, remove_comments, compress_whitespace, lowercase]\n"
    "    match: { object_id: 'union (all )?select' }\n"
    "  - id: web.union.other\n"
    "    transforms: [url_decode, remove_comments, compress_whitespace, lowercase]\n"
    "    match: { object_id: 'select .* from (?<table>\\w+)' }\n"
    "    not_match: { object_id: 'from dual' }\n"
    "  - id: web.traversal\n"
    "    transforms: [url_decode]\n"
    "    match: { object_id: '\\.\\./' }\n";

static struct cr_ruleset *rs;
static struct cr_matcher *m;
static char *dir;

static void setup(void)
{
    char err[4096] = "", path[512];
    dir = cr_test_tmpdir();
    cr_assert_not_null(dir);
    snprintf(path, sizeof path, "%s/m.yaml", dir);
    cr_assert_eq(cr_test_write_file(path, RULES, strlen(RULES)), 0);
    const char *paths[] = {path};
    rs = cr_ruleset_load(paths, 1, NULL, err, sizeof err);
    cr_assert_not_null(rs, "load failed: %s", err);
    m = cr_matcher_new(rs);
    cr_assert_not_null(m);
}

static void teardown(void)
{
    cr_matcher_free(m);
    cr_ruleset_free(rs);
    cr_test_rmtree(dir);
    free(dir);
}

TestSuite(matcher, .init = setup, .fini = teardown);

static void set(struct cr_event *ev, int field, const char *s)
{
    cr_event_set(ev, (unsigned)field, s, strlen(s));
}

static struct cr_event *syslog_ev(struct cr_event *ev, const char *program, const char *msg)
{
    cr_event_reset(ev);
    set(ev, CR_F_HOST, "web-01");
    if (program)
        set(ev, CR_F_PROGRAM, program);
    set(ev, CR_F_MSG, msg);
    return ev;
}

/* Ids of the rules that matched, space-separated, for readable asserts. */
static const char *match_ids(struct cr_event *ev)
{
    static char buf[1024];
    uint32_t out[32];
    int n = cr_matcher_match(m, ev, out, 32);
    cr_assert_geq(n, 0);
    buf[0] = 0;
    for (int i = 0; i < n; i++) {
        strcat(buf, i ? " " : "");
        strcat(buf, rs->rules[out[i]].id);
    }
    return buf;
}

static int field_eq(const struct cr_event *ev, int field, const char *want)
{
    return cr_event_has(ev, (unsigned)field) && ev->f[field].len == strlen(want) &&
           memcmp(ev->f[field].p, want, strlen(want)) == 0;
}

Test(matcher, sshd_failed_password_captures_user_and_src_ip)
{
    struct cr_event ev;
    syslog_ev(&ev, "sshd",
              "Failed password for invalid user admin from 203.0.113.7 port 52144 ssh2");
    cr_assert_str_eq(match_ids(&ev), "sshd.auth.failed");
    cr_assert(field_eq(&ev, CR_F_USER, "admin"));
    cr_assert(field_eq(&ev, CR_F_SRC_IP, "203.0.113.7"));
    /* The captures are slices into the msg bytes, not copies. */
    cr_assert(ev.f[CR_F_USER].p > ev.f[CR_F_MSG].p);
}

Test(matcher, where_on_program)
{
    struct cr_event ev;
    syslog_ev(&ev, "httpd", "Failed password for root from 203.0.113.7 port 22 ssh2");
    cr_assert_str_eq(match_ids(&ev), "");
    cr_assert(!cr_event_has(&ev, CR_F_USER));
    syslog_ev(&ev, NULL, "Failed password for root from 203.0.113.7 port 22 ssh2");
    cr_assert_str_eq(match_ids(&ev), "", "a missing field never equals");
}

Test(matcher, not_match_excludes)
{
    struct cr_event ev;
    syslog_ev(&ev, "sshd", "Accepted publickey for deploy from 10.1.2.3 port 40000 ssh2");
    cr_assert_str_eq(match_ids(&ev), "sshd.accepted.notroot");
    syslog_ev(&ev, "sshd", "Accepted publickey for root from 10.1.2.3 port 40000 ssh2");
    cr_assert_str_eq(match_ids(&ev), "");
}

Test(matcher, caseless)
{
    struct cr_event ev;
    syslog_ev(&ev, "kernel", "Out Of Memory: Killed process 4242 (java)");
    cr_assert_str_eq(match_ids(&ev), "kernel.oom");
    syslog_ev(&ev, "kernel", "out of memory: kill process 4242 (java)");
    cr_assert_str_eq(match_ids(&ev), "kernel.oom");
}

Test(matcher, prefilter_backreference_confirmed_and_rejected)
{
    int r = cr_ruleset_find_rule(rs, "repeated.word");
    cr_assert_geq(r, 0);
    cr_assert_eq(rs->patterns[rs->rules[r].patterns[0]].kind, CR_PAT_PREFILTER);
    cr_assert(rs->patterns[rs->rules[r].patterns[0]].hs_flags & HS_FLAG_PREFILTER);

    struct cr_event ev;
    syslog_ev(&ev, "batch", "job finished finished in 3s");
    cr_assert_str_eq(match_ids(&ev), "repeated.word");

    /* Hyperscan's prefilter approximates the back-reference, so this is
     * a candidate; PCRE2 must reject it. */
    uint64_t runs = cr_matcher_stats(m)->pcre_runs;
    syslog_ev(&ev, "batch", "job finished quickly in 3s");
    cr_assert_str_eq(match_ids(&ev), "");
    cr_assert_gt(cr_matcher_stats(m)->pcre_runs, runs, "the prefilter hit went to PCRE2");
}

Test(matcher, prefilter_lookbehind)
{
    int r = cr_ruleset_find_rule(rs, "admin.lookbehind");
    cr_assert_eq(rs->patterns[rs->rules[r].patterns[0]].kind, CR_PAT_PREFILTER);
    struct cr_event ev;
    syslog_ev(&ev, "su", "session opened for user=admin by uid=0");
    cr_assert_str_eq(match_ids(&ev), "admin.lookbehind");
    syslog_ev(&ev, "su", "session opened for group=admin by uid=0");
    cr_assert_str_eq(match_ids(&ev), "");
}

Test(matcher, two_fields_must_both_match)
{
    struct cr_event ev;
    syslog_ev(&ev, NULL, "Interface GigabitEthernet0/1, changed state to down");
    cr_assert_str_eq(match_ids(&ev), "", "event_type missing");
    set(&ev, CR_F_EVENT_TYPE, "LINK-3-UPDOWN");
    cr_assert_str_eq(match_ids(&ev), "link.down");
    int f = cr_ruleset_field(rs, "interface");
    cr_assert_geq(f, CR_F__BUILTIN);
    cr_assert(field_eq(&ev, f, "GigabitEthernet0/1"));

    syslog_ev(&ev, NULL, "Interface GigabitEthernet0/1, changed state to down");
    set(&ev, CR_F_EVENT_TYPE, "LINEPROTO-5-UPDOWN");
    cr_assert_str_eq(match_ids(&ev), "");
    cr_assert(!cr_event_has(&ev, f), "a failed rule writes no captures");
}

Test(matcher, unconditional_where_only_rule)
{
    cr_assert_geq(rs->nunconditional, 1);
    struct cr_event ev;
    syslog_ev(&ev, "CRON", "(backup) CMD (/usr/local/bin/backup.sh)");
    cr_assert_str_eq(match_ids(&ev), "cron.any");
    syslog_ev(&ev, "crond", "(root) CMD (run-parts /etc/cron.hourly)");
    cr_assert_str_eq(match_ids(&ev), "cron.any");
    set(&ev, CR_F_USER, "root");
    cr_assert_str_eq(match_ids(&ev), "", "not: {user: root}");
    syslog_ev(&ev, "cron", "(backup) CMD (/usr/local/bin/backup.sh)");
    cr_assert_str_eq(match_ids(&ev), "", "where is exact bytes: case matters");
}

Test(matcher, invalid_utf8_bytes)
{
    struct cr_event ev;
    static const char msg[] = "\xc3\x28\xff Failed password for b\xe9la from 198.51.100.9 port 1";
    syslog_ev(&ev, "sshd", msg);
    cr_assert_str_eq(match_ids(&ev), "sshd.auth.failed");
    cr_assert(field_eq(&ev, CR_F_USER, "b\xe9la"));
    cr_assert(field_eq(&ev, CR_F_SRC_IP, "198.51.100.9"));

    static const char raw[] = "md: disk \xff\xfesdc failed";
    syslog_ev(&ev, "kernel", raw);
    cr_assert_str_eq(match_ids(&ev), "raw.bytes");
    cr_assert(field_eq(&ev, cr_ruleset_field(rs, "disk"), "sdc"));
}

Test(matcher, json_path_extra_field)
{
    int f = cr_ruleset_field(rs, "userIdentity.type");
    cr_assert_geq(f, CR_F__BUILTIN);
    cr_assert_str_eq(rs->field_names[f], "userIdentity.type");
    struct cr_event ev;
    cr_event_reset(&ev);
    set(&ev, CR_F_EVENT_TYPE, "ConsoleLogin");
    set(&ev, f, "Root");
    cr_assert_str_eq(match_ids(&ev), "cloud.root.login");
    set(&ev, f, "IAMUser");
    cr_assert_str_eq(match_ids(&ev), "");
}

Test(matcher, negated_prefilter_pattern_confirmed)
{
    struct cr_event ev;
    syslog_ev(&ev, "app", "a=b c=d");
    cr_assert_str_eq(match_ids(&ev), "not.prefiltered");
    syslog_ev(&ev, "app", "a=b x=x");
    cr_assert_str_eq(match_ids(&ev), "", "negated hit confirmed by PCRE2");
}

Test(matcher, several_rules_in_rule_order_and_max)
{
    struct cr_event ev;
    syslog_ev(&ev, "sshd", "Failed password for admin from 10.9.9.9 port 2 user=admin admin");
    cr_assert_str_eq(match_ids(&ev), "sshd.auth.failed repeated.word admin.lookbehind");
    uint32_t out[1];
    syslog_ev(&ev, "sshd", "Failed password for admin from 10.9.9.9 port 2 user=admin admin");
    cr_assert_eq(cr_matcher_match(m, &ev, out, 1), 1);
    cr_assert_str_eq(rs->rules[out[0]].id, "sshd.auth.failed");
    /* State is reset between events: an unrelated event matches nothing. */
    syslog_ev(&ev, "sshd", "Connection closed by 10.9.9.9");
    cr_assert_str_eq(match_ids(&ev), "");
}

/* A fresh matcher whose first events have no bytes to decode (the source
 * field absent, or empty) has no buffer yet: nothing may point into it
 * (found by fuzz_rules under UBSan: NULL + 0 in derive_fields). */
Test(matcher, transforms_before_any_buffer)
{
    struct cr_matcher *fresh = cr_matcher_new(rs);
    cr_assert_not_null(fresh);
    struct cr_event ev;
    uint32_t out[32];
    syslog_ev(&ev, "nginx", "union select x from y");
    cr_assert_eq(cr_matcher_match(fresh, &ev, out, 32), 0);
    syslog_ev(&ev, "nginx", "GET");
    set(&ev, CR_F_OBJECT_ID, "");
    cr_assert_eq(cr_matcher_match(fresh, &ev, out, 32), 0);
    int df = cr_ruleset_field(rs, "object_id|url_decode");
    cr_assert(df >= 0 && cr_event_has(&ev, (unsigned)df) && ev.f[df].len == 0);
    cr_matcher_free(fresh);
}

/* transforms: the rules see the decoded request; two rules with the same
 * chain on the same field share one derived field (one scan); the source
 * field stays as it was. */
Test(matcher, transforms_decode_before_matching)
{
    cr_assert_eq(rs->nderived, 2, "%d", rs->nderived);
    struct cr_event ev;
    const char *uri =
        "/items?q=1%27%2F%2A%2A%2FUNION%2F%2A%2A%2F%0ASeLeCt%20password%20FROM%20users";
    syslog_ev(&ev, "nginx", "GET");
    set(&ev, CR_F_OBJECT_ID, uri);
    cr_assert_str_eq(match_ids(&ev), "web.union web.union.other");
    cr_assert(field_eq(&ev, CR_F_OBJECT_ID, uri), "the source field is unchanged");
    int tf = cr_ruleset_field(rs, "table");
    cr_assert(tf >= 0 && field_eq(&ev, tf, "users"), "capture from the decoded value");
    int df = cr_ruleset_field(rs, "object_id|url_decode|remove_comments|compress_whitespace|"
                                  "lowercase");
    cr_assert(df >= 0 && field_eq(&ev, df, "/items?q=1' union select password from users"));
    /* double-encoded traversal */
    syslog_ev(&ev, "nginx", "GET");
    set(&ev, CR_F_OBJECT_ID, "/static/%252e%252e%252f%252e%252e%252fetc/passwd");
    cr_assert_str_eq(match_ids(&ev), "web.traversal");
    /* not_match sees the decoded value too; a plain request matches nothing */
    syslog_ev(&ev, "nginx", "GET");
    set(&ev, CR_F_OBJECT_ID, "/q?s=SELECT%201%20FROM%20DUAL");
    cr_assert_str_eq(match_ids(&ev), "");
    syslog_ev(&ev, "nginx", "GET");
    set(&ev, CR_F_OBJECT_ID, "/select-plan?union=1&order=asc");
    cr_assert_str_eq(match_ids(&ev), "");
    /* an event without the source field has no derived field either */
    syslog_ev(&ev, "nginx", "union select x from y");
    cr_assert_str_eq(match_ids(&ev), "");
    cr_assert_not(cr_event_has(&ev, (unsigned)df));
    /* a value far larger than any before: the buffer grows, the match holds */
    size_t big = 200000;
    char *v = malloc(big + 64);
    cr_assert_not_null(v);
    memset(v, 'a', big);
    strcpy(v + big, "%20UNION%20ALL%20SELECT%201");
    syslog_ev(&ev, "nginx", "GET");
    set(&ev, CR_F_OBJECT_ID, v);
    cr_assert_str_eq(match_ids(&ev), "web.union");
    free(v);
}
