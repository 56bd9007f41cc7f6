/*
 * test_grading.c - grading through the real `corral run` (engine/grade,
 * the writer): DOMAIN.md (b)'s worked example 1 as a golden case from
 * records and an inventory (a city portal down because the storage pool
 * under it is offline) at each rung; re-grading by the wall clock with an
 * injected clock (CORRAL_NOW); `corral incident` moves, refusals and
 * level confirmation; `corral query --overdue`; and new evidence after
 * closing opening a new incident that follows the closed one.
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *tmp;

static void setup(void) { tmp = cr_test_tmpdir(); }
static void teardown(void)
{
    unsetenv("CORRAL_NOW");
    cr_test_rmtree(tmp);
    free(tmp);
}

TestSuite(grading, .init = setup, .fini = teardown, .timeout = 120);

static const char *INVENTORY =
    "tenants:\n"
    "  - {id: t-gov, name: 市政府办公厅}\n"
    "systems:\n"
    "  - {id: gov-portal, name: 市政府门户网站, tenant: t-gov, dengbao: 3, portal: city}\n"
    "assets:\n"
    "  - {id: pool-1, kind: storage_pool, names: [pool-1]}\n"
    "  - {id: vol-portal, kind: volume, depends_on: [pool-1]}\n"
    "  - {id: vm-portal, kind: vm, system: gov-portal, depends_on: [vol-portal],\n"
    "     names: [web-01]}\n";

/* Written from what a storage array says when a pool goes offline, not
 * from these test lines. */
static const char *RULES =
    "rules:\n"
    "  - id: storage.pool_offline\n"
    "    title: Storage pool offline\n"
    "    where: { program: storaged }\n"
    "    match: 'pool (?<device>[A-Za-z0-9_.-]+) (?:went|is still) offline'\n"
    "    group_by: [device]\n"
    "    incident: { category: F-STO-UNAV, priority: P3, open_for: 24h }\n";

static void write_case(void)
{
    char path[4200], cfg[8192];
    snprintf(path, sizeof path, "%s/assets.yaml", tmp);
    cr_assert_eq(cr_test_write_file(path, INVENTORY, strlen(INVENTORY)), 0);
    snprintf(path, sizeof path, "%s/rules.yaml", tmp);
    cr_assert_eq(cr_test_write_file(path, RULES, strlen(RULES)), 0);
    snprintf(cfg, sizeof cfg,
             "rules: [rules.yaml]\nassets: assets.yaml\ngrading: %s\n"
             "asset_fields: [device, host]\ninput: { year: 2026 }\n",
             cr_test_source_path("configs/grading.yaml"));
    snprintf(path, sizeof path, "%s/corral.yaml", tmp);
    cr_assert_eq(cr_test_write_file(path, cfg, strlen(cfg)), 0);
}

/* The array's alarm at 08:00 and its reminders every 30 min until minute
 * `until`, in file `name`. */
static void write_log(const char *name, int from_min, int until_min)
{
    char buf[8192], path[4200];
    size_t n = 0;
    for (int m = from_min; m <= until_min; m += 30)
        n += (size_t)snprintf(buf + n, sizeof buf - n,
                              "<11>Mar  2 %02d:%02d:00 stor-ctl-01 storaged[700]: pool pool-1 %s "
                              "offline (controller B lost both paths)\n",
                              8 + m / 60, m % 60, m == 0 ? "went" : "is still");
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    cr_assert_eq(cr_test_write_file(path, buf, n), 0);
}

static int corral(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int corral(char **out, const char *fmt, ...)
{
    char args[8192], cmd[12288];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s", tmp, CORRAL_BINARY, args);
    return cr_test_run(cmd, out);
}

/* The one stored incident. */
static json_t *the_incident(void)
{
    char *out = NULL;
    cr_assert_eq(corral(&out, "query --store st --format ndjson"), 0);
    cr_assert(out && strchr(out, '\n') == strrchr(out, '\n'), "one incident: %s", out);
    json_t *o = json_loads(out, 0, NULL);
    cr_assert(o, "%s", out);
    free(out);
    return o;
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "(null)";
}

static void run_until(int until_min)
{
    char d[64];
    snprintf(d, sizeof d, "rm -rf '%s/st'", tmp);
    cr_assert_eq(system(d), 0);
    write_log("a.log", 0, until_min);
    char *out = NULL;
    int rc = corral(&out, "run -c corral.yaml --input a.log --store st --quiet 2>&1");
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
}

/* DOMAIN.md (b) worked example 1: at 30 min L3 -> IV, P2; at 2 h L2 ->
 * III, reportable from detection (4 h clock), P1; at 6 h II. */
Test(grading, worked_example_1_at_each_rung_from_records)
{
    write_case();
    setenv("CORRAL_NOW", "2026-03-02T08:00:10Z", 1); /* as if live: detected at once */
    run_until(30);
    json_t *o = the_incident();
    cr_expect_str_eq(str(o, "reg_level"), "IV");
    cr_expect_str_eq(str(o, "priority"), "P2");
    cr_expect_str_eq(str(o, "rule_priority"), "P3");
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(o, "assets"), 0)), "pool-1");
    json_t *sys = json_array_get(json_object_get(o, "systems"), 1);
    cr_expect_str_eq(str(sys, "id"), "gov-portal");
    cr_expect_str_eq(str(sys, "tier"), "T2");
    cr_expect_str_eq(str(sys, "via"), "depends on pool-1");
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(o, "tenants"), 0)), "t-gov");
    cr_expect_str_eq(str(o, "detected_at"), "2026-03-02T08:00:10.000Z");
    cr_expect_str_eq(str(o, "respond_due"), "2026-03-02T08:30:10.000Z", "P2: 30 min");
    cr_expect(json_is_null(json_object_get(o, "report_due")));
    json_decref(o);

    run_until(120);
    o = the_incident();
    cr_expect_str_eq(str(o, "reg_level"), "III");
    cr_expect_str_eq(str(o, "priority"), "P1");
    cr_expect_str_eq(str(o, "report_due"), "2026-03-02T12:00:10.000Z",
                     "reportable: 4 h from detection");
    char *r = json_dumps(json_object_get(o, "reasons"), 0);
    cr_expect(strstr(r, "matrix T2 x L2 -> III"), "%s", r);
    cr_expect(strstr(r, "trigger: city portal gov-portal unreachable for 2h -> III"), "%s", r);
    free(r);
    json_decref(o);

    run_until(360);
    o = the_incident();
    cr_expect_str_eq(str(o, "reg_level"), "II");
    json_decref(o);
}

/* The records stop at 30 min (IV, P2) and the outage goes on: as the wall
 * clock passes the 2 h rung the incident is graded III, P1, and the
 * change is in its history; levels never go down. */
Test(grading, the_wall_clock_raises_an_open_outage)
{
    write_case();
    setenv("CORRAL_NOW", "2026-03-02T08:30:05Z", 1);
    run_until(30);
    json_t *o = the_incident();
    cr_expect_str_eq(str(o, "reg_level"), "IV");
    json_decref(o);
    char *out = NULL;
    setenv("CORRAL_NOW", "2026-03-02T09:00:00Z", 1);
    cr_assert_eq(corral(&out, "incident regrade all --store st -c corral.yaml"), 0, "%s", out);
    cr_expect(strstr(out, "0 incident(s) graded higher"), "%s", out);
    free(out);
    setenv("CORRAL_NOW", "2026-03-02T10:01:00Z", 1);
    cr_assert_eq(corral(&out, "incident regrade all --store st -c corral.yaml"), 0, "%s", out);
    cr_expect(strstr(out, "1 incident(s) graded higher"), "%s", out);
    free(out);
    o = the_incident();
    cr_expect_str_eq(str(o, "reg_level"), "III");
    cr_expect_str_eq(str(o, "priority"), "P1");
    json_t *h = json_object_get(o, "history");
    json_t *last = json_array_get(h, json_array_size(h) - 1);
    cr_expect_str_eq(str(last, "action"), "regrade");
    cr_expect_str_eq(str(last, "from"), "IV/P2");
    cr_expect_str_eq(str(last, "to"), "III/P1");
    cr_expect(strstr(str(last, "note"), "time passed"), "%s", str(last, "note"));
    json_decref(o);
    /* restored: time no longer counts */
    setenv("CORRAL_NOW", "2026-03-02T10:05:00Z", 1);
    o = the_incident();
    char *id = strdup(str(o, "id"));
    json_decref(o);
    cr_assert_eq(corral(&out, "incident transition %s restored --store st --actor li.wei", id), 0);
    free(out);
    setenv("CORRAL_NOW", "2026-03-02T16:00:00Z", 1);
    cr_assert_eq(corral(&out, "incident regrade all --store st -c corral.yaml"), 0, "%s", out);
    cr_expect(strstr(out, "0 incident(s) graded higher"), "%s", out);
    free(out);
    o = the_incident();
    cr_expect_str_eq(str(o, "reg_level"), "III", "restored at 2 h 5 min: still III, not II");
    json_decref(o);
    free(id);
}

static char *first_id(void)
{
    json_t *o = the_incident();
    char *id = strdup(str(o, "id"));
    json_decref(o);
    return id;
}

Test(grading, lifecycle_on_the_command_line_and_overdue)
{
    write_case();
    setenv("CORRAL_NOW", "2026-03-02T08:30:05Z", 1);
    run_until(30);
    char *id = first_id(), *out = NULL;
    char pre[13];
    snprintf(pre, sizeof pre, "%s", id);
    /* P2: acknowledge within 30 min; at 09:10 it is late */
    setenv("CORRAL_NOW", "2026-03-02T09:10:00Z", 1);
    cr_assert_eq(corral(&out, "query --store st --overdue 2>&1"), 0);
    cr_expect(strstr(out, "LATE:respond"), "%s", out);
    cr_expect(strstr(out, "1 incident(s) overdue"), "%s", out);
    free(out);
    /* refusals: exit 1, the reason, nothing changed */
    cr_expect_eq(corral(&out, "incident transition %s closed --store st --actor li.wei 2>&1", pre),
                 1);
    cr_expect(strstr(out, "closed needs resolved first"), "%s", out);
    free(out);
    cr_expect_eq(corral(&out, "incident ack %s --store st --actor jl --role supervisor 2>&1", pre),
                 1);
    cr_expect(strstr(out, "the supervisor role may not"), "%s", out);
    free(out);
    cr_expect_eq(corral(&out, "incident confirm-level %s III --store st --actor li.wei 2>&1", pre),
                 1);
    cr_expect(strstr(out, "only the administrator"), "%s", out);
    free(out);
    cr_expect_eq(corral(&out, "incident ack %s --store st 2>&1", pre), 2, "no actor: usage");
    free(out);
    /* moves */
    cr_assert_eq(corral(&out, "incident ack %s --store st --actor li.wei --note 'on it' 2>&1", pre),
                 0, "%s", out);
    free(out);
    cr_assert_eq(corral(&out,
                        "incident confirm-level %s III --store st --actor wang --role "
                        "administrator -c corral.yaml 2>&1",
                        pre),
                 0, "%s", out);
    free(out);
    cr_assert_eq(
        corral(&out, "incident note %s 'vendor engineer called' --store st --actor li.wei", pre),
        0);
    free(out);
    json_t *o = the_incident();
    cr_expect_str_eq(str(o, "status"), "acknowledged");
    cr_expect_str_eq(str(o, "reg_level"), "III");
    cr_expect_str_eq(str(o, "reg_level_proposed"), "IV");
    cr_expect_str_eq(str(o, "confirmed_by"), "wang");
    cr_expect_str_eq(str(o, "report_due"), "2026-03-02T12:30:05.000Z");
    json_t *h = json_object_get(o, "history");
    cr_expect_eq(json_array_size(h), 4, "grade, ack, confirmation, note");
    cr_expect_str_eq(str(json_array_get(h, 3), "note"), "vendor engineer called");
    json_decref(o);
    /* reportable now: closing needs the report first */
    cr_assert_eq(corral(&out, "incident transition %s resolved --store st --actor li.wei", pre), 0);
    free(out);
    cr_expect_eq(corral(&out, "incident transition %s closed --store st --actor li.wei 2>&1", pre),
                 1);
    cr_expect(strstr(out, "must be reported before it is closed"), "%s", out);
    free(out);
    free(id);
}

/* New evidence for a closed incident opens a new one that follows it: the
 * closed one stays as the analysts left it. */
Test(grading, evidence_after_closing_opens_a_new_incident)
{
    write_case();
    setenv("CORRAL_NOW", "2026-03-02T08:30:05Z", 1);
    write_log("a.log", 0, 0);
    char *out = NULL;
    cr_assert_eq(corral(&out, "run -c corral.yaml --input a.log --store st --resume --quiet 2>&1"),
                 0, "%s", out);
    free(out);
    char *id = first_id();
    cr_assert_eq(corral(&out, "incident transition %s resolved --store st --actor li.wei", id), 0);
    free(out);
    cr_assert_eq(corral(&out, "incident transition %s closed --store st --actor li.wei", id), 0);
    free(out);
    write_log("b.log", 30, 60);
    cr_assert_eq(corral(&out, "run -c corral.yaml --input b.log --store st --resume --quiet 2>&1"),
                 0, "%s", out);
    free(out);
    cr_assert_eq(corral(&out, "query --store st --format ndjson"), 0);
    json_t *closed = NULL, *fresh = NULL;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        json_t *o = json_loads(line, 0, NULL);
        cr_assert(o);
        if (!strcmp(str(o, "id"), id))
            closed = o;
        else
            fresh = o;
    }
    free(out);
    cr_assert(closed && fresh, "the closed incident and a new one");
    cr_expect_str_eq(str(closed, "status"), "closed");
    cr_expect_eq(json_integer_value(json_object_get(closed, "event_count")), 1,
                 "the closed one keeps what it had");
    cr_expect_str_eq(str(fresh, "follows"), id);
    cr_expect_str_eq(str(fresh, "status"), "detected");
    json_decref(closed);
    json_decref(fresh);
    free(id);
}

/* A core switch goes down: the hosts behind it become unreachable, before
 * and after its own alarm. Their incidents are grouped under the switch's
 * (parent on each, children on the root, suppressed but stored); a host
 * behind another switch is not. */
Test(grading, topology_groups_dependants_under_the_failed_parent)
{
    static const char *inv =
        "tenants:\n  - {id: t-gov}\n  - {id: t-hr}\n"
        "systems:\n  - {id: portal, tenant: t-gov, dengbao: 3, portal: city}\n"
        "  - {id: payroll, tenant: t-hr, dengbao: 2}\n"
        "assets:\n"
        "  - {id: sw-core-1, kind: network_device, names: [sw-core-1]}\n"
        "  - {id: sw-core-2, kind: network_device, names: [sw-core-2]}\n"
        "  - {id: host-1, kind: host, depends_on: [sw-core-1], names: [host-1]}\n"
        "  - {id: host-3, kind: host, depends_on: [sw-core-1], names: [host-3]}\n"
        "  - {id: host-2, kind: host, depends_on: [sw-core-2], names: [host-2]}\n"
        "  - {id: vm-portal, kind: vm, system: portal, depends_on: [host-1]}\n"
        "  - {id: vm-pay, kind: vm, system: payroll, depends_on: [host-3]}\n";
    static const char *rules = "rules:\n"
                               "  - id: net.device_down\n"
                               "    title: Network device down\n"
                               "    where: { program: netmon }\n"
                               "    match: 'device (?<device>[A-Za-z0-9_.-]+) is down'\n"
                               "    group_by: [device]\n"
                               "    incident: { category: F-NET-DEV, priority: P3 }\n"
                               "  - id: host.unreachable\n"
                               "    title: Host unreachable\n"
                               "    where: { program: netmon }\n"
                               "    match: 'host (?<device>[A-Za-z0-9_.-]+) is unreachable'\n"
                               "    group_by: [device]\n"
                               "    incident: { category: F-CMP-HOST, priority: P3 }\n";
    static const char *log =
        "<11>Mar  2 07:59:30 mon-01 netmon[9]: host host-3 is unreachable (3 probes lost)\n"
        "<11>Mar  2 08:00:00 mon-01 netmon[9]: device sw-core-1 is down (no LLDP, no ping)\n"
        "<11>Mar  2 08:01:00 mon-01 netmon[9]: host host-1 is unreachable (3 probes lost)\n"
        "<11>Mar  2 08:02:00 mon-01 netmon[9]: host host-2 is unreachable (3 probes lost)\n";
    char path[4200], cfg[512];
    snprintf(path, sizeof path, "%s/assets.yaml", tmp);
    cr_assert_eq(cr_test_write_file(path, inv, strlen(inv)), 0);
    snprintf(path, sizeof path, "%s/rules.yaml", tmp);
    cr_assert_eq(cr_test_write_file(path, rules, strlen(rules)), 0);
    snprintf(path, sizeof path, "%s/a.log", tmp);
    cr_assert_eq(cr_test_write_file(path, log, strlen(log)), 0);
    snprintf(cfg, sizeof cfg,
             "rules: [rules.yaml]\nassets: assets.yaml\nasset_fields: [device]\n"
             "input: { year: 2026 }\n");
    snprintf(path, sizeof path, "%s/corral.yaml", tmp);
    cr_assert_eq(cr_test_write_file(path, cfg, strlen(cfg)), 0);
    char *out = NULL;
    /* one worker and shard: the root must also be found when its own
     * incident is written after a child's (host-3) */
    cr_assert_eq(corral(&out, "run -c corral.yaml --input a.log --store st --quiet --workers 1 "
                              "--shards 1 2>&1"),
                 0, "%s", out);
    free(out);
    cr_assert_eq(corral(&out, "query --store st --format ndjson"), 0);
    json_t *by[5] = {0}; /* sw-core-1, host-1, host-2, host-3 */
    const char *names[4] = {"sw-core-1", "host-1", "host-2", "host-3"};
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        json_t *o = json_loads(line, 0, NULL);
        cr_assert(o);
        const char *a = json_string_value(json_array_get(json_object_get(o, "assets"), 0));
        for (int i = 0; i < 4; i++)
            if (a && !strcmp(a, names[i]))
                by[i] = o;
    }
    free(out);
    for (int i = 0; i < 4; i++)
        cr_assert(by[i], "an incident for %s", names[i]);
    const char *root = str(by[0], "id");
    cr_expect_str_eq(str(by[1], "parent"), root, "host-1 after the switch");
    cr_expect_str_eq(str(by[3], "parent"), root, "host-3 before the switch");
    cr_expect(json_is_true(json_object_get(by[1], "suppressed")));
    cr_expect(!json_object_get(by[2], "parent"), "host-2 is behind another switch");
    json_t *ch = json_object_get(by[0], "children");
    cr_expect_eq(json_array_size(ch), 2);
    /* the root's grade counts what is behind it: both systems, both tenants */
    cr_expect_eq(json_array_size(json_object_get(by[0], "tenants")), 2);
    for (int i = 0; i < 4; i++)
        json_decref(by[i]);
}

/* tier.shared_tenants of the policy file is the inventory's threshold for
 * a shared component: the same pool is T3 reaching 1 tenant at the default
 * 10, T2 when the contract says 1. */
Test(grading, the_policy_sets_the_shared_component_threshold)
{
    write_case();
    write_log("a.log", 0, 0);
    char *out = NULL, path[4200];
    for (int round = 0; round < 2; round++) {
        snprintf(path, sizeof path, "%s/g.yaml", tmp);
        const char *pol =
            round ? "tier: { shared_tenants: 1 }\n" : "tier: { shared_tenants: 10 }\n";
        cr_assert_eq(cr_test_write_file(path, pol, strlen(pol)), 0);
        char cfg[512];
        snprintf(cfg, sizeof cfg,
                 "rules: [rules.yaml]\nassets: assets.yaml\ngrading: g.yaml\n"
                 "asset_fields: [device, host]\ninput: { year: 2026 }\n");
        snprintf(path, sizeof path, "%s/corral.yaml", tmp);
        cr_assert_eq(cr_test_write_file(path, cfg, strlen(cfg)), 0);
        cr_assert_eq(
            corral(&out, "run -c corral.yaml --input a.log --store st%d --quiet 2>&1", round), 0,
            "%s", out);
        free(out);
        cr_assert_eq(corral(&out, "query --store st%d --format ndjson", round), 0);
        json_t *o = json_loads(out, JSON_DISABLE_EOF_CHECK, NULL);
        free(out);
        cr_assert(o);
        json_t *pool = json_array_get(json_object_get(o, "systems"), 0);
        cr_expect_str_eq(str(pool, "id"), "pool-1");
        cr_expect_str_eq(str(pool, "tier"), round ? "T2" : "T3", "round %d", round);
        json_decref(o);
    }
}

/* What only an analyst knows goes in as an input and the incident is
 * graded again: worked example 3's 1.2 million records leaked makes it
 * III (reportable) and P1; a wrong key or value is refused. */
Test(grading, analyst_inputs_grade_again)
{
    write_case();
    setenv("CORRAL_NOW", "2026-03-02T08:30:05Z", 1);
    run_until(30);
    char *id = first_id(), *out = NULL;
    cr_expect_eq(
        corral(&out, "incident input %s pi_records=lots --store st --actor li.wei 2>&1", id), 1);
    cr_expect(strstr(out, "unknown input 'pi_records=lots'"), "%s", out);
    free(out);
    cr_expect_eq(
        corral(&out, "incident input %s pi_records=5 --store st --actor t --role tenant 2>&1", id),
        1);
    cr_expect(strstr(out, "the tenant role may not change grading inputs"), "%s", out);
    free(out);
    cr_assert_eq(corral(&out,
                        "incident input %s pi_records=1200000 --store st --actor li.wei "
                        "-c corral.yaml 2>&1",
                        id),
                 0, "%s", out);
    free(out);
    json_t *o = the_incident();
    cr_expect_str_eq(str(o, "reg_level"), "III");
    cr_expect_str_eq(str(o, "priority"), "P1");
    cr_expect_str_eq(str(o, "report_due"), "2026-03-02T12:30:05.000Z");
    char *r = json_dumps(json_object_get(json_object_get(o, "grading"), "reasons"), 0);
    cr_expect(strstr(r, "1200000 personal-information records leaked -> III"), "%s", r);
    free(r);
    json_t *h = json_object_get(o, "history");
    cr_expect_str_eq(str(json_array_get(h, 1), "action"), "input");
    cr_expect_str_eq(str(json_array_get(h, 1), "to"), "pi_records=1200000");
    cr_expect_str_eq(str(json_array_get(h, 2), "action"), "regrade");
    cr_expect(strstr(str(json_array_get(h, 2), "note"), "analyst input"), "%s",
              str(json_array_get(h, 2), "note"));
    json_decref(o);
    free(id);
}
