/*
 * test_sigma_auditd.c - Sigma rules on auditd records (product: linux,
 * service: auditd), parsed by kv.c from audit.log text, bare and forwarded
 * through syslog, with the default mapping configs/sigma/logsources.yaml.
 *
 * The rules are written in SigmaHQ's form from auditd's documented record
 * format (type=EXECVE argc/aN, quoted or hex-encoded values); near misses
 * must not match. The last test loads SigmaHQ's own linux/auditd rules
 * from the shared data set and requires that none is skipped for its
 * logsource.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/parser.h"
#include "rules/matcher.h"
#include "testutil.h"

static char *dir;
static char err[65536];
static struct cr_ruleset *rs;
static struct cr_matcher *m;
static struct cr_parser *parser;

static void put(const char *name, const char *text)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    cr_assert_eq(cr_test_write_file(path, text, strlen(text)), 0);
}

static void start(void)
{
    const char *paths[] = {cr_test_source_path("configs/sigma"), dir};
    err[0] = 0;
    rs = cr_ruleset_load(paths, 2, NULL, err, sizeof err);
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

TestSuite(sigma_auditd);

static struct cr_event ev;

static const char *matches(const char *rec)
{
    static char buf[2048];
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

#define RULE(id, title, detection)                                                                 \
    "title: " title "\nid: " id "\nstatus: test\nauthor: corral tests\nlevel: high\n"              \
    "logsource:\n  product: linux\n  service: auditd\ndetection:\n" detection

Test(sigma_auditd, execve_arguments_quoted_and_hex_match, .init = setup, .fini = teardown)
{
    put("base64.yml", RULE("5a3e1b4c-0000-4000-8000-000000000001", "Base64 decode",
                           "  selection:\n    type: EXECVE\n    a0: base64\n"
                           "    a1|contains: '-d'\n  condition: selection\n"));
    put("wget.yml", RULE("5a3e1b4c-0000-4000-8000-000000000002", "Wget to tmp",
                         "  selection:\n    type: EXECVE\n    a0: wget\n"
                         "    a2|startswith: '/tmp/'\n  condition: selection\n"));
    put("exe.yml", RULE("5a3e1b4c-0000-4000-8000-000000000003", "Nc by exe",
                        "  selection:\n    type: SYSCALL\n    exe|endswith: '/nc'\n"
                        "    key: net_tools\n  condition: selection\n"));
    start();
    /* bare audit.log: the time is msg=audit(...) */
    cr_assert_str_eq(matches("type=EXECVE msg=audit(1764850000.123:4567): argc=3 a0=\"base64\" "
                             "a1=\"-d\" a2=\"/tmp/x\""),
                     "Base64 decode");
    cr_assert_eq(ev.time_ms, 1764850000123LL);
    cr_assert_eq(ev.flags & (CR_EV_HEADERLESS | CR_EV_NO_TIME), 0u);
    /* a2 hex-encoded because it has a space: "/tmp/a b" */
    cr_assert_str_eq(matches("type=EXECVE msg=audit(1764850001.000:4568): argc=3 a0=\"wget\" "
                             "a1=\"-O\" a2=2F746D702F612062"),
                     "Wget to tmp");
    /* through syslog (audisp-syslog): a 3164 header then the record */
    cr_assert_str_eq(matches("<14>Dec  4 10:00:00 web1 audispd: node=web1 type=SYSCALL "
                             "msg=audit(1764850002.000:4569): arch=c000003e syscall=59 "
                             "success=yes exit=0 ppid=100 pid=101 auid=1000 uid=1000 "
                             "comm=\"nc\" exe=\"/usr/bin/nc\" key=\"net_tools\""),
                     "Nc by exe");
    cr_assert_eq(ev.f[CR_F_HOST].len, 4u);
    cr_assert_eq(memcmp(ev.f[CR_F_HOST].p, "web1", 4), 0);
    /* near misses: another program, the hex not decoded to /tmp, not auditd */
    cr_assert_str_eq(matches("type=EXECVE msg=audit(1764850003.000:4570): argc=2 a0=\"base32\" "
                             "a1=\"-d\""),
                     "");
    cr_assert_str_eq(matches("type=EXECVE msg=audit(1764850004.000:4571): argc=3 a0=\"wget\" "
                             "a1=\"-O\" a2=2F7661722F78"),
                     "");
    cr_assert_str_eq(matches("<14>Dec  4 10:00:00 web1 app: a0=base64 a1=-d type=EXECVE"), "");
    cr_assert_str_eq(matches("type=SYSCALL msg=audit(1764850005.000:4572): exe=\"/usr/bin/nc\" "
                             "key=\"other\""),
                     "");
}

Test(sigma_auditd, enriched_format_interpreted_keys, .init = setup, .fini = teardown)
{
    put("sc.yml", RULE("5a3e1b4c-0000-4000-8000-000000000004", "Execve by syscall name",
                       "  selection:\n    type: SYSCALL\n    SYSCALL: execve\n"
                       "    exe: /usr/bin/xwd\n  condition: selection\n"));
    start();
    cr_assert_str_eq(matches("type=SYSCALL msg=audit(1764850010.000:1): arch=c000003e syscall=59 "
                             "success=yes exe=\"/usr/bin/xwd\"\x1d"
                             "ARCH=x86_64 SYSCALL=execve AUID=\"alice\" UID=\"alice\""),
                     "Execve by syscall name");
    cr_assert_str_eq(matches("type=SYSCALL msg=audit(1764850010.000:2): arch=c000003e syscall=2 "
                             "success=yes exe=\"/usr/bin/xwd\"\x1d"
                             "ARCH=x86_64 SYSCALL=open AUID=\"alice\""),
                     "");
}

#define NET_RULE(id, title, product, service, detection)                                           \
    "title: " title "\nid: " id "\nstatus: test\nauthor: corral tests\nlevel: high\n"              \
    "logsource:\n  product: " product "\n  service: " service "\ndetection:\n" detection

/* FortiOS event log, system config change (FortiOS Log Reference, logid 0100044547) */
#define FGT(action, cfgpath)                                                                       \
    "<189>date=2026-05-01 time=10:00:00 devname=\"FGT-HQ\" devid=\"FG100E4Q17000000\" "            \
    "eventtime=1777629600000000000 tz=\"+0000\" logid=\"0100044547\" type=\"event\" "              \
    "subtype=\"system\" level=\"information\" vd=\"root\" logdesc=\"Object attribute "             \
    "configured\" "                                                                                \
    "user=\"admin\" ui=\"GUI(10.0.0.5)\" action=\"" action "\" cfgtid=1 cfgpath=\"" cfgpath "\" "  \
    "cfgobj=\"7\" msg=\"" action " " cfgpath " 7\""

Test(sigma_auditd, fortigate_event_config_changes, .init = setup, .fini = teardown)
{
    put("fgt.yml", NET_RULE("5a3e1b4c-0000-4000-8000-000000000005", "New firewall policy",
                            "fortigate", "event",
                            "  selection:\n    action: 'Add'\n    cfgpath: 'firewall.policy'\n"
                            "  condition: selection\n"));
    start();
    cr_assert_str_eq(matches(FGT("Add", "firewall.policy")), "New firewall policy");
    cr_assert_eq(ev.f[CR_F_HOST].len, 6u); /* devname, no syslog host */
    cr_assert_str_eq(matches(FGT("Edit", "firewall.policy")), "");
    cr_assert_str_eq(matches(FGT("Add", "firewall.address")), "");
    /* the same pairs but not FortiGate's (no devid/logid): not this logsource */
    cr_assert_str_eq(matches("<189>date=2026-05-01 time=10:00:00 type=\"event\" action=\"Add\" "
                             "cfgpath=\"firewall.policy\""),
                     "");
}

Test(sigma_auditd, cisco_aaa_logged_commands, .init = setup, .fini = teardown)
{
    put("cisco.yml",
        NET_RULE("5a3e1b4c-0000-4000-8000-000000000006", "Disable logging", "cisco", "aaa",
                 "  keywords:\n    - 'no logging'\n    - 'no aaa new-model'\n"
                 "  condition: keywords\n"));
    start();
    cr_assert_str_eq(matches("<189>52: core-sw1: *Dec  4 10:00:00.123 UTC: "
                             "%PARSER-5-CFGLOG_LOGGEDCMD: User:netadmin  logged command:no logging "
                             "console"),
                     "Disable logging");
    /* the words in another Cisco message, and a config command that is not one of them */
    cr_assert_str_eq(matches("<189>53: core-sw1: *Dec  4 10:00:01.000 UTC: %SYS-5-CONFIG_I: "
                             "Configured from console by netadmin, no logging change"),
                     "");
    cr_assert_str_eq(matches("<189>54: core-sw1: *Dec  4 10:00:02.000 UTC: "
                             "%PARSER-5-CFGLOG_LOGGEDCMD: User:netadmin  logged command:logging "
                             "host 10.0.0.9"),
                     "");
}

/* SigmaHQ's published linux/auditd rules: every one loads (none is skipped
 * for its logsource). */
Test(sigma_auditd, sigmahq_linux_auditd_rules_load, .init = setup, .fini = teardown)
{
    const char *hq0 = cr_test_shared_path("sigmahq-rules/rules/linux/auditd");
    cr_test_need_shared(hq0, "no ../shared/data");
    char hq[1200], map[1200];
    snprintf(hq, sizeof hq, "%s", hq0);
    snprintf(map, sizeof map, "%s", cr_test_source_path("configs/sigma"));
    const char *paths[] = {map, hq};
    err[0] = 0;
    rs = cr_ruleset_load(paths, 2, NULL, err, sizeof err);
    cr_assert_not_null(rs, "%s", err);
    const struct cr_sigma_stats *st = &rs->sigma;
    cr_assert_geq(st->loaded, 50, "only %d loaded: %s", st->loaded, st->skips ? st->skips : "");
    cr_assert_eq(st->by_reason[CR_SIGMA_SKIP_LOGSOURCE], 0, "%s", st->skips ? st->skips : "");
}
