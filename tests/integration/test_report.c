/*
 * test_report.c - `corral report` and GET /api/v1/report on a store the
 * real engine made from a small timeline (a kernel panic on a CII database
 * host of t-hr, an OOM storm and an SSH brute force against t-edu's hosts),
 * moved through its lifecycle with `corral incident` at injected clocks
 * (CORRAL_NOW), so every figure of the report is known by construction:
 *   panic (P1):  acknowledged after 10 min (target 15 min: met), restored
 *                after 1 h 30 min (2 h: met), resolved after 5 h (4 h: breached);
 *   brute force (P3): acknowledged after 3 h (2 h: breached);
 *   OOM storm (P2): never acknowledged (30 min: breached by the report's time).
 * Availability: db-02's system was fully down 1 h 30 min in March, under
 * 99.95 %. The HTML is one self-contained page; a tenant token's report
 * counts its own tenant's incidents only; bad parameters are refused.
 */
#include "httptest.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADMIN "admin-token-000000000000001"
#define EDU "tenant-edu-token-00000000004"

static char *tmp;
static struct cr_test_server srv;

/* in time order: a record minutes behind the newest is late for windows */
static const char *LOG =
    "<0>Mar  2 12:00:00 db-02 kernel: [ 1234.5] Kernel panic - not syncing: Fatal exception\n"
    "<0>Mar  2 12:00:00 db-09 kernel: Out of memory: Killed process 311 (java) total-vm:10kB\n"
    "<38>Mar  2 12:00:01 db-10 sshd[1]: Failed password for root from 203.0.113.5 port 1 ssh2\n"
    "<38>Mar  2 12:00:02 db-10 sshd[1]: Failed password for root from 203.0.113.5 port 2 ssh2\n"
    "<38>Mar  2 12:00:03 db-10 sshd[1]: Failed password for root from 203.0.113.5 port 3 ssh2\n"
    "<38>Mar  2 12:00:04 db-10 sshd[1]: Failed password for root from 203.0.113.5 port 4 ssh2\n"
    "<38>Mar  2 12:00:05 db-10 sshd[1]: Failed password for root from 203.0.113.5 port 5 ssh2\n"
    "<0>Mar  2 12:02:00 db-09 kernel: Out of memory: Killed process 312 (java) total-vm:10kB\n"
    "<0>Mar  2 12:04:00 db-09 kernel: Out of memory: Killed process 313 (java) total-vm:10kB\n";

static char *corral(const char *now, const char *fmt, const char *arg)
{
    char cmd[8192], args[4096];
    snprintf(args, sizeof args, fmt, arg);
    snprintf(cmd, sizeof cmd, "CORRAL_NOW=%s '%s' %s 2>&1", now, CORRAL_BINARY, args);
    char *out = NULL;
    int rc = cr_test_run(cmd, &out);
    cr_assert_eq(rc, 0, "%s: %s", cmd, out);
    return out;
}

/* The id of the one incident of rule `rule`. */
static char *id_of(json_t *all, const char *rule)
{
    size_t i;
    json_t *o;
    json_array_foreach(
        all, i, o) if (!strcmp(json_string_value(json_object_get(o, "rule")),
                               rule)) return strdup(json_string_value(json_object_get(o, "id")));
    cr_assert_fail("no incident of %s", rule);
    return NULL;
}

static void move(const char *now, const char *action, const char *id, const char *extra)
{
    char args[4096];
    snprintf(args, sizeof args, "incident %s %s %s --store '%s/st' -c '%s' --actor li.wei", action,
             id, extra, tmp, cr_test_source_path("configs/corral.yaml"));
    free(corral(now, "%s", args));
}

static void setup(void)
{
    tmp = cr_test_tmpdir();
    char path[4400];
    snprintf(path, sizeof path, "%s/in.log", tmp);
    cr_assert_eq(cr_test_write_file(path, LOG, strlen(LOG)), 0);
    snprintf(path, sizeof path, "%s/tokens.yaml", tmp);
    const char *tokens = "tokens:\n"
                         "  - {name: zhang.admin, role: administrator, token: " ADMIN "}\n"
                         "  - {name: edu-portal, role: tenant, tenants: [t-edu], token: " EDU "}\n";
    cr_assert_eq(cr_test_write_file(path, tokens, strlen(tokens)), 0);
    /* the config with input.year 2026, so "Mar  2" is 2026 */
    char cfg[4096], *text = cr_test_slurp(cr_test_source_path("configs/corral.yaml"), NULL);
    cr_assert_not_null(text);
    char *y = strstr(text, "  year: null");
    cr_assert_not_null(y);
    memcpy(y, "  year: 2026", 12);
    snprintf(cfg, sizeof cfg, "%s/configs", tmp);
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", cr_test_source_path("configs"), cfg);
    cr_assert_eq(cr_test_run(cmd, NULL), 0);
    snprintf(path, sizeof path, "%s/corral.yaml", cfg);
    cr_assert_eq(cr_test_write_file(path, text, strlen(text)), 0);
    free(text);
    char args[9000];
    snprintf(args, sizeof args, "run -c '%s' --input '%s/in.log' --store '%s/st' --quiet", path,
             tmp, tmp);
    free(corral("2026-03-02T12:00:00Z", "%s", args));
    snprintf(args, sizeof args, "query --store '%s/st' --format ndjson", tmp);
    char *out = corral("2026-03-02T12:00:00Z", "%s", args);
    json_t *all = json_array();
    for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n"))
        json_array_append_new(all, json_loads(l, 0, NULL));
    free(out);
    cr_assert_eq(json_array_size(all), 3, "panic, OOM storm, brute force");
    char *panic = id_of(all, "kernel.panic"), *brute = id_of(all, "ssh.bruteforce");
    json_decref(all);
    move("2026-03-02T12:10:00Z", "ack", panic, "");
    move("2026-03-02T13:30:00Z", "transition", panic, "restored");
    move("2026-03-02T17:00:00Z", "transition", panic, "resolved");
    move("2026-03-02T15:00:00Z", "ack", brute, "");
    free(panic);
    free(brute);
}

static void teardown(void)
{
    cr_test_serve_stop(&srv);
    cr_test_rmtree(tmp);
    free(tmp);
}

TestSuite(report, .init = setup, .fini = teardown, .timeout = 120);

static json_t *at(json_t *o, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *k = strtok(buf, "."); k && o; k = strtok(NULL, "."))
        o = json_object_get(o, k);
    cr_assert_not_null(o, "no %s", path);
    return o;
}

static long long num(json_t *r, const char *path) { return json_integer_value(at(r, path)); }

Test(report, figures_known_by_construction)
{
    char args[4096];
    snprintf(args, sizeof args, "report --store '%s/st' --from 2026-03-01 --to 2026-04-01", tmp);
    char *out = corral("2026-03-03T00:00:00Z", "%s", args);
    json_t *r = json_loads(out, 0, NULL);
    cr_assert_not_null(r, "%s", out);
    free(out);
    cr_assert_eq(num(r, "incidents.total"), 3);
    cr_assert_eq(num(r, "incidents.security"), 1);
    cr_assert_eq(num(r, "incidents.fault"), 2);
    cr_assert_eq(num(r, "incidents.by_category.F-CMP-HOST"), 1);
    cr_assert_eq(num(r, "incidents.by_category.F-CMP-RES"), 1);
    cr_assert_eq(num(r, "incidents.by_category.S-ATK-BRUTE"), 1);
    /* the panic: P1 */
    cr_assert_eq(num(r, "timeliness.P1.respond.met"), 1);
    cr_assert_eq(json_real_value(at(r, "timeliness.P1.respond.mtta_s")), 600.0);
    cr_assert_eq(num(r, "timeliness.P1.restore.met"), 1);
    cr_assert_eq(json_real_value(at(r, "timeliness.P1.restore.mttr_s")), 5400.0);
    cr_assert_eq(num(r, "timeliness.P1.resolve.breached"), 1);
    cr_assert_eq(json_real_value(at(r, "timeliness.P1.resolve.breach_rate")), 1.0);
    /* the OOM storm (P2): never acknowledged, due 12:30-ish, breached as of the report */
    cr_assert_eq(num(r, "timeliness.P2.respond.breached"), 1);
    cr_assert(json_is_null(at(r, "timeliness.P2.respond.mtta_s")));
    /* the brute force (P3): acknowledged after 3 h */
    cr_assert_eq(num(r, "timeliness.P3.respond.breached"), 1);
    cr_assert_eq(json_real_value(at(r, "timeliness.P3.respond.mtta_s")), 10800.0);
    cr_assert_eq(num(r, "timeliness.all.respond.met"), 1);
    cr_assert_eq(num(r, "timeliness.all.respond.breached"), 2);
    /* backlog: the OOM storm and the brute force are open, both overdue */
    cr_assert_eq(num(r, "backlog.open"), 2);
    cr_assert_eq(num(r, "backlog.overdue"), 2);
    cr_assert_eq(num(r, "backlog.by_age.under_1d"), 2, "12 h old at the report's time");
    cr_assert_eq(num(r, "backlog.by_age.1d_to_7d"), 0);
    /* top entities: one incident each */
    cr_assert_eq(json_array_size(at(r, "top_entities")), 3);
    /* availability: social-security down 1 h 30 min of March's 31 days */
    json_t *units = at(r, "availability.iaas.units");
    cr_assert_eq(json_array_size(units), 1, "%s", json_dumps(units, 0));
    json_t *u = json_array_get(units, 0);
    cr_assert_str_eq(json_string_value(json_object_get(u, "unit")), "social-security");
    cr_assert_eq(json_integer_value(json_object_get(u, "downtime_s")), 5400);
    double want = 100.0 * (1.0 - 5400.0 / (31.0 * 86400.0));
    double got = json_real_value(json_object_get(u, "availability_percent"));
    cr_assert(got > want - 1e-9 && got < want + 1e-9, "%f", got);
    cr_assert(json_is_false(json_object_get(u, "met")));
    cr_assert_eq(num(r, "availability.iaas.missed"), 1);
    cr_assert_eq(json_real_value(at(r, "availability.iaas.target_percent")), 99.95);
    json_decref(r);

    /* a period before any of it: nothing detected, the clocks empty */
    snprintf(args, sizeof args, "report --store '%s/st' --from 2026-02-01 --to 2026-03-01", tmp);
    out = corral("2026-03-03T00:00:00Z", "%s", args);
    r = json_loads(out, 0, NULL);
    free(out);
    cr_assert_eq(num(r, "incidents.total"), 0);
    cr_assert_eq(num(r, "backlog.open"), 0);
    json_decref(r);

    /* --tenant narrows */
    snprintf(args, sizeof args,
             "report --store '%s/st' --from 2026-03-01 --to 2026-04-01 --tenant t-hr", tmp);
    out = corral("2026-03-03T00:00:00Z", "%s", args);
    r = json_loads(out, 0, NULL);
    free(out);
    cr_assert_eq(num(r, "incidents.total"), 1);
    cr_assert_eq(num(r, "incidents.by_category.F-CMP-HOST"), 1);
    json_decref(r);
}

Test(report, html_is_one_self_contained_page)
{
    char args[4096];
    snprintf(
        args, sizeof args,
        "report --store '%s/st' --from 2026-03-01 --to 2026-04-01 --format html -o '%s/r.html'",
        tmp, tmp);
    free(corral("2026-03-03T00:00:00Z", "%s", args));
    char path[4200];
    snprintf(path, sizeof path, "%s/r.html", tmp);
    char *html = cr_test_slurp(path, NULL);
    cr_assert_not_null(html);
    cr_assert(strstr(html, "<!doctype html>") == html);
    cr_assert_not_null(strstr(html, "<svg"));
    cr_assert_not_null(strstr(html, "social-security"), "%s", html);
    cr_assert_not_null(strstr(html, "(missed)"));
    /* no external asset: no script, no stylesheet link, no src, nothing fetched */
    cr_assert_null(strstr(html, "<script"));
    cr_assert_null(strstr(html, "<link"));
    cr_assert_null(strstr(html, "src="));
    cr_assert_null(strstr(html, "href="));
    free(html);
}

Test(report, usage_errors)
{
    char cmd[8192], *out = NULL;
    snprintf(cmd, sizeof cmd, "'%s' report --store '%s/st' 2>&1", CORRAL_BINARY, tmp);
    cr_assert_eq(cr_test_run(cmd, &out), 2, "%s", out);
    cr_assert_not_null(strstr(out, "--from TIME is required"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' report --store '%s/st' --from 2026-03-01 --format pdf 2>&1",
             CORRAL_BINARY, tmp);
    cr_assert_eq(cr_test_run(cmd, &out), 2, "%s", out);
    cr_assert_not_null(strstr(out, "'pdf' is not json or html"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' report --store '%s/st' --from yesterdayish 2>&1", CORRAL_BINARY,
             tmp);
    cr_assert_eq(cr_test_run(cmd, &out), 2, "%s", out);
    free(out);
}

Test(report, api_scoped_by_the_token)
{
    setenv("CORRAL_NOW", "2026-03-03T00:00:00Z", 1);
    cr_assert_eq(cr_test_serve(&srv, tmp, "serve",
                               "serve --store '%s/st' --tokens '%s/tokens.yaml' --listen "
                               "127.0.0.1:0 -c '%s/configs/corral.yaml'",
                               tmp, tmp, tmp),
                 0, "corral serve did not start: %s", cr_test_slurp(srv.log, NULL));
    unsetenv("CORRAL_NOW");
    char *out = NULL;
    const char *q = "/api/v1/report?from=2026-03-01&to=2026-04-01";
    cr_assert_eq(cr_test_http(&srv, "GET", q, ADMIN, NULL, &out, NULL, 0), 200, "%s", out);
    json_t *r = json_loads(out, 0, NULL);
    free(out);
    cr_assert_eq(num(r, "incidents.total"), 3);
    json_decref(r);
    /* t-edu sees its two, whatever it asks for */
    cr_assert_eq(cr_test_http(&srv, "GET", q, EDU, NULL, &out, NULL, 0), 200, "%s", out);
    r = json_loads(out, 0, NULL);
    free(out);
    cr_assert_eq(num(r, "incidents.total"), 2);
    cr_assert_eq(json_array_size(at(r, "availability.iaas.units")), 0,
                 "t-hr's outage is not t-edu's");
    json_decref(r);
    cr_assert_eq(cr_test_http(&srv, "GET",
                              "/api/v1/report?from=2026-03-01&to=2026-04-01&tenant=t-hr", EDU, NULL,
                              &out, NULL, 0),
                 200, "%s", out);
    r = json_loads(out, 0, NULL);
    free(out);
    cr_assert_eq(num(r, "incidents.total"), 0, "a tenant filter narrows inside the scope");
    json_decref(r);
    /* HTML, errors, no token */
    char ctype[128] = "";
    cr_assert_eq(cr_test_http(&srv, "GET", "/api/v1/report?from=2026-03-01&format=html", ADMIN,
                              NULL, &out, ctype, sizeof ctype),
                 200);
    cr_assert_not_null(strstr(out, "<svg"));
    free(out);
    cr_assert_eq(cr_test_http(&srv, "GET", "/api/v1/report?format=pdf", ADMIN, NULL, &out, NULL, 0),
                 400);
    cr_assert_not_null(strstr(out, "not json or html"), "%s", out);
    free(out);
    cr_assert_eq(cr_test_http(&srv, "GET", "/api/v1/report?from=never", ADMIN, NULL, &out, NULL, 0),
                 400);
    free(out);
    cr_assert_eq(cr_test_http(&srv, "GET", q, NULL, NULL, &out, NULL, 0), 401);
    free(out);
    cr_assert_eq(cr_test_http(&srv, "POST", q, ADMIN, "{}", &out, NULL, 0), 405);
    free(out);
}
