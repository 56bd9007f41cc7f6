/*
 * test_query_cli.c - `corral query` and `corral rejects` run in-process on a
 * temporary store: filters, order, the three formats, exit codes and
 * messages for bad arguments.
 */
#include "base/event.h"
#include "engine/store/incident.h"
#include "cli/commands.h"
#include "engine/store/store.h"
#include "base/timeparse.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *dir;
static char *stored[8]; /* JSON of each incident as written, by index */

/* 2020-11-21T00:00:00Z: fixed-date incidents, far from the relative ones
 * (which are placed around the real now). */
#define DAY0 1605916800000LL

static struct cr_incident *mk(int i, const char *key, int64_t first, const char *cat,
                              const char *prio, int level, const char *title)
{
    struct cr_incident *inc = calloc(1, sizeof *inc);
    snprintf(inc->rule, sizeof inc->rule, "rule-%d", i);
    cr_incident_make_id(inc->id, inc->rule, key, strlen(key), first);
    snprintf(inc->title, sizeof inc->title, "%s", title);
    snprintf(inc->category, sizeof inc->category, "%s", cat);
    snprintf(inc->reg_category, sizeof inc->reg_category, "NA/NACRED");
    snprintf(inc->priority, sizeof inc->priority, "%s", prio);
    snprintf(inc->status, sizeof inc->status, "detected");
    inc->reg_level = level;
    inc->nentities = 2;
    snprintf(inc->entities[0].name, sizeof inc->entities[0].name, "src_ip");
    snprintf(inc->entities[0].value, sizeof inc->entities[0].value, "%s", key);
    snprintf(inc->entities[1].name, sizeof inc->entities[1].name, "user");
    snprintf(inc->entities[1].value, sizeof inc->entities[1].value, "u%d", i);
    inc->window_start_ms = first;
    inc->first_seen_ms = first;
    inc->last_seen_ms = first + 600000;
    inc->event_count = (uint64_t)(10 * (i + 1));
    cr_incident_add_ref(inc, 0, 100 + (uint64_t)i, first);
    cr_incident_add_sample(inc, "raw \xff line", 10);
    return inc;
}

static void setup(void)
{
    dir = cr_test_tmpdir();
    cr_assert_not_null(dir);
    char err[256];
    struct cr_store *s = cr_store_open(dir, NULL, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000;
    struct cr_incident *inc[5] = {
        mk(0, "10.0.0.1", DAY0 - 86400000, "S-ATK-BRUTE", "P3", 0, "SSH brute force"),
        mk(1, "10.0.0.2", DAY0 + 3600000, "S-ATK-SCAN", "P4", 0, "Port scan, \"wide\""),
        mk(2, "10.0.0.1", DAY0 + 7200000, "S-ATK-BRUTE", "P1", 3,
           "\xe7\x99\xbb\xe5\xbd\x95\xe5\xa4\xb1\xe8\xb4\xa5 brute force on the city portal login "
           "page"),
        /* Relative times: one 3 h ago (last_seen 2 h 50 min ago), one 1 h ago. */
        mk(3, "10.0.0.3", now - 3 * 3600000, "F-FAC-UPS", "P2", 4, "UPS on battery"),
        mk(4, "10.0.0.1", now - 3600000, "S-ATK-BRUTE", "P2", 0, "multi\nline title"),
    };
    cr_assert_eq(cr_store_begin(s), 0);
    const char *names[] = {"auth.log"};
    for (int i = 0; i < 5; i++) {
        stored[i] = cr_incident_to_json(inc[i], names, 1);
        cr_assert_eq(cr_store_put_incident(s, inc[i], stored[i], strlen(stored[i])), 0, "%s",
                     cr_store_errmsg(s));
        free(inc[i]);
    }
    cr_assert_eq(cr_store_put_reject(s, "auth.log", 12, "unparseable", "GET /\x00\xff\n", 8), 0);
    cr_assert_eq(cr_store_put_reject(s, "kafka:logs/1", 3, "too long", "ok", 2), 0);
    cr_assert_eq(cr_store_commit(s), 0);
    cr_store_close(s);
}

static void teardown(void)
{
    for (int i = 0; i < 5; i++)
        free(stored[i]);
    cr_test_rmtree(dir);
    free(dir);
}

TestSuite(query_cli, .init = setup, .fini = teardown);

struct res {
    int rc;
    char *out;
    char *err;
};

/* a with "@DIR" replaced by the store directory (also in "--store=@DIR"). */
static char *subst_dir(const char *a)
{
    const char *at = strstr(a, "@DIR");
    if (!at)
        return strdup(a);
    char *r = malloc(strlen(a) + strlen(dir) + 1);
    sprintf(r, "%.*s%s%s", (int)(at - a), a, dir, at + 4);
    return r;
}

/* Run a command with a NULL-terminated list of arguments after argv[0]. */
static struct res run_cmd(int rejects, ...)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = strdup(rejects ? "rejects" : "query");
    va_list ap;
    va_start(ap, rejects);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && argc < 31)
        argv[argc++] = subst_dir(a);
    va_end(ap);
    argv[argc] = NULL;
    char *args[32];
    memcpy(args, argv, sizeof args); /* getopt permutes argv */

    struct res r = {0, NULL, NULL};
    size_t olen, elen;
    FILE *out = open_memstream(&r.out, &olen);
    FILE *err = open_memstream(&r.err, &elen);
    r.rc =
        rejects ? cr_cmd_rejects_io(argc, argv, out, err) : cr_cmd_query_io(argc, argv, out, err);
    fclose(out);
    fclose(err);
    for (int i = 0; i < argc; i++)
        free(args[i]);
    return r;
}

#define query(...) run_cmd(0, __VA_ARGS__, NULL)
#define rejects(...) run_cmd(1, __VA_ARGS__, NULL)

static void res_free(struct res *r)
{
    free(r->out);
    free(r->err);
}

/* The incident indexes printed, in output order, as "4 3 2" (ndjson). */
static void order_of(const char *out, char *buf, size_t len)
{
    buf[0] = 0;
    const char *line = out;
    while (*line) {
        const char *nl = strchr(line, '\n');
        cr_assert_not_null(nl, "every line ends in a newline");
        int found = -1;
        for (int i = 0; i < 5; i++) {
            if ((size_t)(nl - line) == strlen(stored[i]) &&
                memcmp(line, stored[i], (size_t)(nl - line)) == 0)
                found = i;
        }
        cr_assert_neq(found, -1, "line is not a stored incident verbatim: %.*s", (int)(nl - line),
                      line);
        size_t n = strlen(buf);
        snprintf(buf + n, len - n, "%s%d", n ? " " : "", found);
        line = nl + 1;
    }
}

static void expect_order(struct res r, const char *want)
{
    char got[64];
    cr_assert_eq(r.rc, 0, "rc %d, stderr: %s", r.rc, r.err);
    cr_assert_str_eq(r.err, "");
    order_of(r.out, got, sizeof got);
    cr_assert_str_eq(got, want);
    res_free(&r);
}

Test(query_cli, ndjson_is_verbatim_newest_first_and_every_filter)
{
    expect_order(query("--store", "@DIR", "--format", "ndjson"), "4 3 2 1 0");
    expect_order(query("--format=ndjson", "--store=@DIR", "--limit", "2"), "4 3");
    expect_order(query("--store", "@DIR", "--format", "ndjson", "--category", "S-ATK-BRUTE"),
                 "4 2 0");
    expect_order(query("--store", "@DIR", "--format", "ndjson", "--priority", "p2"), "4 3");
    expect_order(query("--store", "@DIR", "--format", "ndjson", "--entity", "src_ip=10.0.0.1"),
                 "4 2 0");
    expect_order(query("--store", "@DIR", "--format", "ndjson", "--entity", "user=u1"), "1");
    /* Dates: midnight UTC. since is on last_seen, until on first_seen. */
    expect_order(query("--store", "@DIR", "--format", "ndjson", "--since", "2020-11-21", "--until",
                       "2020-11-21T02:00:00Z"),
                 "2 1");
    expect_order(query("--store", "@DIR", "--format", "ndjson", "--until", "2020-11-21"), "0");
    /* 0 ended at DAY0 - 86400000 + 600000 = 2020-11-20T00:10:00Z. */
    expect_order(query("--store", "@DIR", "--format", "ndjson", "--until", "2020-11-22", "--since",
                       "2020-11-20T00:10:00.001Z"),
                 "2 1");
    /* Relative: 3 ended 2 h 50 min ago, 4 ended 50 min ago. */
    expect_order(query("--store", "@DIR", "--format", "ndjson", "--since", "-2h"), "4");
    expect_order(query("--store", "@DIR", "--format", "ndjson", "--since", "-4h"), "4 3");
    expect_order(query("--store", "@DIR", "--format", "ndjson", "--since", "-4h", "--until", "-2h"),
                 "3");
    expect_order(query("--store", "@DIR", "--format", "ndjson", "--category", "S-ATK-BRUTE",
                       "--entity", "src_ip=10.0.0.1", "--priority", "P1"),
                 "2");
    /* Nothing matched is not an error. */
    expect_order(query("--store", "@DIR", "--format", "ndjson", "--category", "S-NOPE"), "");
}

static int count_lines(const char *s, const char *eol)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, eol)) != NULL; p += strlen(eol))
        n++;
    return n;
}

Test(query_cli, table_has_header_aligned_columns_and_one_line_rows)
{
    struct res r = query("--store", "@DIR");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert_eq(count_lines(r.out, "\n"), 6, "header + 5 rows:\n%s", r.out);
    cr_assert_eq(strncmp(r.out, "FIRST_SEEN", 10), 0);
    const char *cols[] = {"PRIO", "LEVEL", "CATEGORY", "ENTITIES", "EVENTS", "TITLE", "ID"};
    char header[256];
    snprintf(header, sizeof header, "%.*s", (int)(strchr(r.out, '\n') - r.out), r.out);
    const char *hp = header;
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        const char *p = strstr(hp, cols[i]);
        cr_assert(p, "header lacks %s (or out of order): %s", cols[i], header);
        hp = p;
    }

    /* Row for incident 2: level III, P1, Chinese title cut with an ellipsis
     * at the title width, ID as a 12-digit prefix at the same column as in
     * the header (display columns, CJK counted twice). */
    json_t *o = json_loads(stored[2], 0, NULL);
    const char *id = json_string_value(json_object_get(o, "id"));
    char prefix[13];
    snprintf(prefix, sizeof prefix, "%s", id);
    const char *row = strstr(r.out, "2020-11-21T02:00:00.000Z");
    cr_assert_not_null(row);
    const char *eol = strchr(row, '\n');
    cr_assert(strstr(row, "P1   III"), "%.*s", (int)(eol - row), row);
    cr_assert(strstr(row, "src_ip=10.0.0.1 user=u2"));
    cr_assert(strstr(row, "\xe2\x80\xa6"), "long title is cut with an ellipsis");
    const char *idpos = strstr(row, prefix);
    cr_assert(idpos && idpos < eol && idpos + 12 == eol, "ID prefix ends the row");
    cr_assert(!strstr(row, id) || strstr(row, id) > eol, "only a prefix of the id");
    int width = 0;
    for (const unsigned char *p = (const unsigned char *)row; p < (const unsigned char *)idpos;
         p++) {
        if ((*p & 0xC0) != 0x80)
            width += (*p >= 0xE4 && *p <= 0xE9) ? 2 : 1; /* CJK U+4E00.. wide; … is not */
    }
    const char *hid = strstr(r.out, " ID\n");
    cr_assert_eq(width, (int)(hid + 1 - r.out), "ID column aligned with the header");
    /* Reg level null shows as '-'; a newline in a title does not break the row. */
    cr_assert(strstr(r.out, "multi line title"));
    cr_assert(strstr(r.out, "P4   -     detected                 S-ATK-SCAN"), "%s", r.out);
    json_decref(o);
    res_free(&r);
}

Test(query_cli, csv_rfc4180)
{
    struct res r = query("--store", "@DIR", "--format", "csv", "--category", "S-ATK-SCAN");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    json_t *o = json_loads(stored[1], 0, NULL);
    char want[1024];
    snprintf(want, sizeof want,
             "id,first_seen,last_seen,priority,reg_level,category,reg_category,rule,title,"
             "entities,event_count,status,tenants\r\n"
             "%s,2020-11-21T01:00:00.000Z,2020-11-21T01:10:00.000Z,P4,,S-ATK-SCAN,NA/NACRED,"
             "rule-1,\"Port scan, \"\"wide\"\"\",src_ip=10.0.0.2;user=u1,20,detected,\r\n",
             json_string_value(json_object_get(o, "id")));
    cr_assert_str_eq(r.out, want);
    json_decref(o);
    res_free(&r);

    r = query("--store", "@DIR", "--format", "csv");
    cr_assert_eq(count_lines(r.out, "\r\n"), 6);
    cr_assert(strstr(r.out, ",III,"), "reg level in csv");
    cr_assert(strstr(r.out, "\"multi\nline title\""), "embedded newline quoted");
    res_free(&r);
}

static void expect_usage(struct res r, const char *cmd, const char *what)
{
    cr_assert_eq(r.rc, 2, "rc %d for %s", r.rc, what);
    cr_assert_str_eq(r.out, "", "nothing on stdout");
    cr_assert(strstr(r.err, what), "stderr '%s' lacks '%s'", r.err, what);
    char hint[64];
    snprintf(hint, sizeof hint, "Try 'corral %s --help'", cmd);
    cr_assert(strstr(r.err, hint), "%s", r.err);
    cr_assert_eq(count_lines(r.err, "\n"), 2, "one line and the hint: %s", r.err);
    res_free(&r);
}

Test(query_cli, bad_arguments_are_usage_errors)
{
    expect_usage(query("--store", "@DIR", "--bogus"), "query", "unknown option '--bogus'");
    expect_usage(query("--store", "@DIR", "-x"), "query", "unknown option '-x'");
    expect_usage(query("--store"), "query", "needs an argument");
    expect_usage(query("--format", "xml", "--store", "@DIR"), "query", "invalid format 'xml'");
    expect_usage(query("--store", "@DIR", "--priority", "P5"), "query", "invalid priority");
    expect_usage(query("--store", "@DIR", "--priority", "high"), "query", "invalid priority");
    expect_usage(query("--store", "@DIR", "--limit", "0"), "query", "invalid limit");
    expect_usage(query("--store", "@DIR", "--limit", "-3"), "query", "invalid limit");
    expect_usage(query("--store", "@DIR", "--limit", "10x"), "query", "invalid limit");
    expect_usage(query("--store", "@DIR", "--since", "yesterday"), "query", "--since");
    expect_usage(query("--store", "@DIR", "--until", "2026-13-01"), "query", "--until");
    expect_usage(query("--store", "@DIR", "--entity", "10.0.0.1"), "query", "name=value");
    expect_usage(query("--store", "@DIR", "--entity", "=x"), "query", "name=value");
    expect_usage(query("--store", "@DIR", "--category", ""), "query", "--category");
    expect_usage(query("--store", "@DIR", "extra"), "query", "unexpected argument 'extra'");
    expect_usage(query("--format", "ndjson"), "query", "--store DIR is required");
    expect_usage(rejects("--store", "@DIR", "--format", "csv"), "rejects", "invalid format");
    expect_usage(rejects("--limit", "3"), "rejects", "unknown option '--limit'");
    expect_usage(rejects(""), "rejects", "unexpected argument");
}

Test(query_cli, help_and_runtime_errors)
{
    struct res r = query("--help");
    cr_assert_eq(r.rc, 0);
    cr_assert(strstr(r.out, "Usage: corral query --store DIR"));
    cr_assert(strstr(r.out, "--entity K=V"));
    cr_assert_str_eq(r.err, "");
    res_free(&r);
    r = rejects("-h");
    cr_assert_eq(r.rc, 0);
    cr_assert(strstr(r.out, "Usage: corral rejects --store DIR"));
    res_free(&r);

    char missing[4200];
    snprintf(missing, sizeof missing, "%s/absent", dir);
    r = query("--store", missing);
    cr_assert_eq(r.rc, 1);
    char want[4300];
    snprintf(want, sizeof want, "corral: no store at %s\n", missing);
    cr_assert_str_eq(r.err, want);
    cr_assert_str_eq(r.out, "");
    res_free(&r);
    r = rejects("--store", missing);
    cr_assert_eq(r.rc, 1);
    cr_assert_str_eq(r.err, want);
    res_free(&r);
}

Test(query_cli, rejects_table_and_ndjson)
{
    struct res r = rejects("--store", "@DIR");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert_eq(count_lines(r.out, "\n"), 3, "%s", r.out);
    cr_assert(strstr(r.out, "INPUT"));
    const char *row = strstr(r.out, "unparseable");
    cr_assert_not_null(row);
    cr_assert(strstr(row, "GET /\\x00\\xFF\\n\n"), "raw escaped on one line: %s", row);
    cr_assert(strstr(r.out, "\nauth.log                             12 unparseable"), "%s", r.out);
    cr_assert(strstr(r.out, "\nkafka:logs/1                          3 too long"),
              "input order: %s", r.out);
    res_free(&r);

    r = rejects("--store", "@DIR", "--format", "ndjson");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert_str_eq(r.out, "{\"input\":\"auth.log\",\"position\":12,\"reason\":\"unparseable\","
                            "\"raw\":\"GET /\\\\x00\\\\xFF\\n\"}\n"
                            "{\"input\":\"kafka:logs/1\",\"position\":3,\"reason\":\"too long\","
                            "\"raw\":\"ok\"}\n");
    res_free(&r);
}
