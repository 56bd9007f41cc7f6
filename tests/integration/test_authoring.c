/*
 * test_authoring.c - the rule author's tools through the real binary on
 * the shipped config. `corral explain`: a record given as an argument and records on stdin; the
 * parsed and captured fields, the matching rules with the fields they test, the incident's key, the
 * correlations fed (chaining included), a record no rule matches, and a wrong config. `corral
 * test-rules`: a failing expectation names the keys that differed in the closest incident, and a
 * fixture with a repeated key is invalid.
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs `corral SUB ARGS` in the source tree with text in a temporary file,
 * given on stdin (as_stdin) or as the last argument; stdout and stderr. */
static char *run_corral(const char *sub, const char *args, const char *text, int as_stdin, int *rc)
{
    static char cmd[16384];
    char *tmp = cr_test_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/fx.yaml", tmp);
    cr_assert_eq(cr_test_write_file(path, text, strlen(text)), 0);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s %s %s'%s' 2>&1", CORRAL_SOURCE_DIR, CORRAL_BINARY,
             sub, args, as_stdin ? "< " : "", path);
    char *out = NULL;
    *rc = cr_test_run(cmd, &out);
    cr_test_rmtree(tmp);
    free(tmp);
    cr_assert_not_null(out, "%s", cmd);
    return out;
}

static char *explain(const char *args, const char *stdin_text, int *rc)
{
    return run_corral("explain", args, stdin_text, 1, rc);
}

static char *test_rules(const char *fixture, int *rc)
{
    return run_corral("test-rules", "", fixture, 0, rc);
}

static void has(const char *out, const char *want)
{
    cr_assert(strstr(out, want), "missing \"%s\" in:\n%s", want, out);
}

Test(authoring, a_syslog_record_its_captures_and_the_correlations_it_feeds)
{
    int rc;
    char *out = explain("'<38>Mar  2 08:00:00 web-01 sshd[1040]: Failed password for root "
                        "from 203.0.113.5 port 40001 ssh2'",
                        "", &rc);
    cr_assert_eq(rc, 0, "%s", out);
    has(out, "parsed as rfc3164, time 2026-03-02T08:00:00.000Z");
    has(out, "  program = 'sshd'\n");
    has(out, "  src_ip = '203.0.113.5'   (captured by a rule)\n");
    has(out, "rules that match (1):\n  sshd.auth.failed: SSH authentication failure\n");
    has(out, "tests: program='sshd'");
    has(out, "feeds ssh.bruteforce (event_count, fires at 5 within 60s, S-ATK-BRUTE P3): "
             "key src_ip='203.0.113.5'\n");
    /* chaining: what reads the brute force in turn, indented under it */
    has(out, "        feeds ssh.login_after_bruteforce (temporal_ordered, step 1 of 2");
    free(out);
}

Test(authoring, json_records_on_stdin_and_a_sigma_rule)
{
    int rc;
    char *out = explain(
        "",
        "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"verb\":\"create\",\"user\":"
        "{\"username\":\"dev\"},\"objectRef\":{\"resource\":\"pods\",\"namespace\":\"ops\","
        "\"name\":\"x\"},\"responseStatus\":{\"code\":201},\"requestObject\":{\"spec\":"
        "{\"containers\":[{\"name\":\"a\",\"securityContext\":{\"privileged\":true}}]}},"
        "\"stageTimestamp\":\"2026-03-02T09:00:00Z\"}\n"
        "\n"
        "not a known shape at all\n",
        &rc);
    cr_assert_eq(rc, 0, "%s", out);
    has(out, "parsed as json, time 2026-03-02T09:00:00.000Z");
    has(out, "  requestObject.spec = '{\"containers\":[{\"name\":\"a\",\"securityContext\":"
             "{\"privileged\":true}}]}'\n");
    has(out, "  corral.k8s.privileged_workload: Privileged workload created\n");
    has(out, "Sigma, level high, logsource kubernetes/audit/, ATT&CK T1611");
    has(out, "opens an incident: S-OPS-PRIV P2, key user='dev'\n");
    /* the blank line is skipped; the last record matches nothing */
    has(out, "record (24 bytes): not a known shape at all\n");
    has(out, "no rule matches\n");
    cr_assert_eq(strstr(out, "record (0 bytes)"), NULL, "%s", out);
    free(out);
}

Test(authoring, a_wrong_config_is_a_config_error)
{
    int rc;
    char *out = explain("-c /nonexistent/corral.yaml 'x'", "", &rc);
    cr_assert_eq(rc, 78, "%s", out);
    has(out, "/nonexistent/corral.yaml");
    free(out);
}

#define FIVE_FAILURES                                                                              \
    "    events:\n      - at: 0s\n        log: \"<38>Mar  2 08:00:00 web-01 sshd[1040]: Failed "   \
    "password for root from 203.0.113.5 port 40001 ssh2\"\n        repeat: 5\n        every: "     \
    "10s\n"

Test(authoring, a_failing_fixture_names_what_differed)
{
    int rc;
    char *out = test_rules("tests:\n  - name: wrong expectations\n" FIVE_FAILURES
                           "    expect:\n      - { rule: ssh.bruteforce, entities: { src_ip: "
                           "203.0.113.6 }, event_count: 4, priority: P3 }\n",
                           &rc);
    cr_assert_eq(rc, 1, "%s", out);
    has(out, "expected (line 9) not produced: the closest, ssh.bruteforce, differs: "
             "event_count is 5, expected 4; entities.src_ip is '203.0.113.5', expected "
             "'203.0.113.6'\n");
    free(out);
    out = test_rules("tests:\n  - name: right\n" FIVE_FAILURES
                     "    expect:\n      - { rule: ssh.bruteforce, entities: { src_ip: "
                     "203.0.113.5 }, event_count: 5 }\n",
                     &rc);
    cr_assert_eq(rc, 0, "%s", out);
    has(out, "1 passed, 0 failed");
    free(out);
}

Test(authoring, a_fixture_with_a_repeated_key_is_invalid)
{
    int rc;
    char *out = test_rules("tests:\n  - name: a\n    name: b\n" FIVE_FAILURES, &rc);
    cr_assert_eq(rc, 78, "%s", out);
    has(out, "fx.yaml:3: duplicate key 'name' (first on line 2)");
    free(out);
}

/* An incident of a Sigma rule carries its ATT&CK ids and its attribution
 * (id, title, level, status, author, references), through `corral run` and
 * the store to `corral query`. */
Test(authoring, a_sigma_incident_carries_attack_and_attribution)
{
    char *tmp = cr_test_tmpdir();
    char path[4200], cmd[16384];
    snprintf(path, sizeof path, "%s/ct.json", tmp);
    const char *rec =
        "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\","
        "\"userName\":\"ops\"},\"eventTime\":\"2026-03-02T08:00:00Z\",\"eventSource\":"
        "\"cloudtrail.amazonaws.com\",\"eventName\":\"StopLogging\"}\n";
    cr_assert_eq(cr_test_write_file(path, rec, strlen(rec)), 0);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && '%s' run -c configs/corral.yaml --input '%s' --store '%s/st' --quiet && "
             "'%s' query --store '%s/st' --format ndjson",
             CORRAL_SOURCE_DIR, CORRAL_BINARY, path, tmp, CORRAL_BINARY, tmp);
    char *out = NULL;
    cr_assert_eq(cr_test_run(cmd, &out), 0, "%s", cmd);
    has(out, "\"rule\":\"corral.aws.cloudtrail.logging_stopped\"");
    has(out, "\"priority\":\"P2\"");
    has(out,
        "\"attack\":[\"T1562.008\"],\"sigma\":{\"id\":\"corral.aws.cloudtrail.logging_stopped\","
        "\"title\":\"CloudTrail logging stopped or deleted\",\"level\":\"high\",\"status\":"
        "\"stable\",\"author\":\"corral maintainers\",\"references\":[]}");
    free(out);
    cr_test_rmtree(tmp);
    free(tmp);
}

/* With an inventory (configs/corral.yaml names the sample's), explain says
 * what the record's host and addresses are: asset, system, tier, tenant, and
 * what is in no inventory. */
Test(authoring, explain_names_the_assets_a_record_is_about)
{
    int rc;
    char *out = explain("-c configs/corral.yaml",
                        "<38>Mar  2 08:00:00 web-03 sshd[1]: Failed password for root from "
                        "203.0.113.9 port 22 ssh2\n"
                        "<38>Mar  2 08:00:00 DB-02 sshd[1]: Accepted password for admin from "
                        "10.21.3.4 port 22 ssh2\n",
                        &rc);
    cr_assert_eq(rc, 0, "%s", out);
    has(out, "host web-03: asset web-03 (vm), system gov-portal 市政府门户网站, tier T2, tenant "
             "t-gov");
    has(out, "src_ip 203.0.113.9: in no asset of the inventory (graded with the defaults)");
    /* syslog's host names in any case; 等保 4 and CII make T1 */
    has(out, "host DB-02: asset db-02 (host), system social-security");
    has(out, "tier T1");
    has(out, "src_ip 10.21.3.4: asset office-lan (ip_range), tier T3, tenant t-gov");
    free(out);
}

/* A web request through the default pack: the decoded copies the transforms make are shown
 * as such, with the rule that matched on them. */
Test(authoring, transformed_fields_are_shown_decoded)
{
    int rc;
    char *out = explain("'203.0.113.50 - - [02/Mar/2026:12:00:00 +0000] \"GET "
                        "/item.php?id=-1%20UnIoN/**/SeLeCt%201 HTTP/1.1\" 200 512 \"-\" \"x\"'",
                        "", &rc);
    cr_assert_eq(rc, 0, "%s", out);
    has(out, "  object_id = '/item.php?id=-1%20UnIoN/**/SeLeCt%201'\n");
    has(out, "  object_id|url_decode|remove_comments|compress_whitespace|lowercase = "
             "'/item.php?id=-1 union select 1'   (decoded by a rule's transforms)\n");
    has(out, "  web.sqli.union: SQL injection (union-based) in a web request\n");
    free(out);
}
