/*
 * test_pipeline.c - the whole engine through the real `corral` binary:
 * generated corpus with planted scenarios -> run -> query, compared with
 * the generator's ground truth; the same input with 1 and with several
 * workers and shards gives identical incidents; bad input is counted and
 * kept; command-line errors give the documented exit codes.
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *tmp;

static void setup(void) { tmp = cr_test_tmpdir(); }

static void teardown(void)
{
    cr_test_rmtree(tmp);
    free(tmp);
}

static void gen(const char *name, int lines, int bad)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' --seed 7 --lines %d %s --out '%s/%s.log' --truth '%s/%s.truth'",
             CORRAL_GEN_CORPUS, lines, bad ? "--bad" : "", tmp, name, tmp, name);
    cr_assert_eq(cr_test_run(cmd, NULL), 0, "gen_corpus failed: %s", cmd);
}

/* Runs corral; returns the --stats-json object. */
static json_t *run(const char *input, const char *store, int workers, int shards)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "'%s' run -c '%s' --input '%s' --store '%s/%s' --workers %d --shards %d --quiet "
             "--stats-json",
             CORRAL_BINARY, cr_test_source_path("configs/corral.yaml"), input, tmp, store, workers,
             shards);
    char *out = NULL;
    int rc = cr_test_run(cmd, &out);
    cr_assert_eq(rc, 0, "corral run exited %d: %s", rc, cmd);
    json_error_t je;
    json_t *st = json_loads(out, 0, &je);
    cr_assert(st != NULL, "stats are not JSON: %s", out);
    free(out);
    return st;
}

static json_t *query(const char *store, const char *extra)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' query --store '%s/%s' --format ndjson %s", CORRAL_BINARY, tmp,
             store, extra ? extra : "");
    char *out = NULL;
    cr_assert_eq(cr_test_run(cmd, &out), 0, "%s", cmd);
    json_t *arr = json_array();
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        cr_assert(o != NULL, "bad ndjson line: %s", line);
        json_array_append_new(arr, o);
    }
    free(out);
    return arr;
}

static json_t *find(json_t *incidents, const char *category, json_t *entities)
{
    size_t i;
    json_t *inc;
    json_array_foreach(incidents, i, inc)
    {
        if (strcmp(json_string_value(json_object_get(inc, "category")), category) == 0 &&
            json_equal(json_object_get(inc, "entities"), entities))
            return inc;
    }
    return NULL;
}

static json_t *load_truth(const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.truth", tmp, name);
    char *text = cr_test_slurp(path, NULL);
    cr_assert(text != NULL);
    json_t *arr = json_array();
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        cr_assert(o != NULL, "bad truth line: %s", line);
        json_array_append_new(arr, o);
    }
    free(text);
    return arr;
}

/* Every planted scenario is detected with its category, entities and event
 * count; no near miss fires; nothing else fires. */
Test(pipeline, exact_detections_against_ground_truth, .init = setup, .fini = teardown,
     .timeout = 300)
{
    gen("c", 60000, 1);
    char input[4200];
    snprintf(input, sizeof input, "%s/c.log", tmp);
    json_t *st = run(input, "s", 2, 2);
    /* every line is a record, the malformed ones (--bad) included */
    cr_assert_eq(json_integer_value(json_object_get(st, "records")), 60000);
    cr_assert_geq(json_integer_value(json_object_get(st, "rejects_kept")), 5,
                  "the --bad records are kept raw");
    json_t *incidents = query("s", NULL);
    json_t *truth = load_truth("c");
    size_t i, planted = 0, near = 0;
    json_t *t;
    json_array_foreach(truth, i, t)
    {
        const char *expect = json_string_value(json_object_get(t, "expect"));
        const char *cat = json_string_value(json_object_get(t, "category"));
        json_t *ent = json_object_get(t, "entities");
        if (!cat || !ent)
            continue; /* bad_record lines */
        json_t *inc = find(incidents, cat, ent);
        char *es = json_dumps(ent, JSON_COMPACT);
        if (expect && strcmp(expect, "none") == 0) {
            near++;
            cr_expect(inc == NULL, "near miss %s %s fired", cat, es);
        } else {
            planted++;
            cr_expect(inc != NULL, "planted %s %s not detected", cat, es);
            if (inc && json_object_get(t, "events"))
                cr_expect_eq(json_integer_value(json_object_get(inc, "event_count")),
                             json_integer_value(json_object_get(t, "events")),
                             "%s %s: event_count %lld, planted %lld", cat, es,
                             json_integer_value(json_object_get(inc, "event_count")),
                             json_integer_value(json_object_get(t, "events")));
        }
        free(es);
    }
    cr_assert_gt(planted, 7, "the corpus should plant every scenario kind");
    cr_assert_gt(near, 5);
    cr_expect_eq(json_array_size(incidents), planted, "%zu incidents for %zu planted scenarios",
                 json_array_size(incidents), planted);
    json_decref(truth);
    json_decref(incidents);
    json_decref(st);
}

/* Incidents depend on the input only: 1 worker / 1 shard and 3 workers /
 * 4 shards store byte-identical incidents (ids, times, counts, evidence). */
Test(pipeline, same_incidents_for_any_thread_count, .init = setup, .fini = teardown, .timeout = 300)
{
    gen("d", 150000, 0);
    char input[4200];
    snprintf(input, sizeof input, "%s/d.log", tmp);
    /* the wall clock (detected_at, deadlines, history) is the same for both
     * runs: the one input corral does not take from the records */
    setenv("CORRAL_NOW", "2026-03-02T09:00:00Z", 1);
    json_decref(run(input, "one", 1, 1));
    json_decref(run(input, "many", 3, 4));
    unsetenv("CORRAL_NOW");
    json_t *a = query("one", NULL), *b = query("many", NULL);
    cr_assert_gt(json_array_size(a), 10);
    cr_assert_eq(json_array_size(a), json_array_size(b));
    /* both are ordered by first_seen, then id: compare element by element */
    for (size_t i = 0; i < json_array_size(a); i++) {
        char *x = json_dumps(json_array_get(a, i), JSON_SORT_KEYS | JSON_COMPACT);
        char *y = json_dumps(json_array_get(b, i), JSON_SORT_KEYS | JSON_COMPACT);
        cr_assert_str_eq(x, y);
        free(x);
        free(y);
    }
    /* a replay into the same store rewrites, never duplicates */
    json_decref(run(input, "one", 2, 2));
    json_t *c = query("one", NULL);
    cr_assert_eq(json_array_size(c), json_array_size(a));
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

/* Malformed records are counted, reported and kept raw; none stops the run. */
Test(pipeline, bad_records_counted_and_kept, .init = setup, .fini = teardown, .timeout = 120)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/bad.log", tmp);
    static const char bad[] = "<38>Mar  2 08:00:00 h sshd[1]: ok line\n"
                              "{\"eventName\": \"Cons\n"
                              "\n"
                              "<38>Mar  2 08:00:01 h app: bad \xff\xfe utf8\n"
                              "<38>Mar  2 08:00:02 h app: nul \0 byte\n"
                              "last line without newline";
    cr_assert_eq(cr_test_write_file(path, bad, sizeof bad - 1), 0);
    json_t *st = run(path, "s", 1, 1);
    cr_assert_eq(json_integer_value(json_object_get(st, "records")), 6);
    cr_assert_geq(json_integer_value(json_object_get(st, "parse_errors")), 2);
    cr_assert_eq(json_integer_value(json_object_get(st, "invalid_utf8")), 1);
    cr_assert_eq(json_integer_value(json_object_get(st, "nul_bytes")), 1);
    long long kept = json_integer_value(json_object_get(st, "rejects_kept"));
    cr_assert_geq(kept, 4);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' rejects --store '%s/s' --format ndjson", CORRAL_BINARY, tmp);
    char *out = NULL;
    cr_assert_eq(cr_test_run(cmd, &out), 0);
    int lines = 0;
    for (char *p = out; *p; p++)
        lines += *p == '\n';
    cr_assert_eq(lines, kept, "rejects listed %d, kept %lld:\n%s", lines, kept, out);
    cr_assert(strstr(out, "Cons") != NULL, "%s", out);
    free(out);
    json_decref(st);
}

Test(pipeline, exit_codes, .init = setup, .fini = teardown)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' 2>/dev/null", CORRAL_BINARY);
    cr_assert_eq(cr_test_run(cmd, NULL), 2);
    snprintf(cmd, sizeof cmd, "'%s' frobnicate 2>/dev/null", CORRAL_BINARY);
    cr_assert_eq(cr_test_run(cmd, NULL), 2);
    snprintf(cmd, sizeof cmd, "'%s' run --input x.log 2>/dev/null", CORRAL_BINARY);
    cr_assert_eq(cr_test_run(cmd, NULL), 2, "missing -c is a usage error");
    /* no --input and no Kafka brokers/topics configured: nothing to read */
    snprintf(cmd, sizeof cmd, "'%s' run -c '%s' --store '%s/s' 2>&1", CORRAL_BINARY,
             cr_test_source_path("configs/corral.yaml"), tmp);
    char *msg = NULL;
    cr_assert_eq(cr_test_run(cmd, &msg), 2, "%s", msg);
    cr_assert(strstr(msg, "no input") != NULL, "%s", msg);
    free(msg);
    snprintf(cmd, sizeof cmd, "'%s' run -c '%s' --input x.log --brokers 127.0.0.1:1 2>/dev/null",
             CORRAL_BINARY, cr_test_source_path("configs/corral.yaml"));
    cr_assert_eq(cr_test_run(cmd, NULL), 2, "Kafka options with --input are a usage error");
    snprintf(cmd, sizeof cmd, "'%s' run --help", CORRAL_BINARY);
    cr_assert_eq(cr_test_run(cmd, NULL), 0);
    snprintf(cmd, sizeof cmd, "'%s' version", CORRAL_BINARY);
    char *out = NULL;
    cr_assert_eq(cr_test_run(cmd, &out), 0);
    cr_assert(strstr(out, "corral ") && strstr(out, "hyperscan ") && strstr(out, "pcre2 "), "%s",
              out);
    free(out);
    /* a config error is EX_CONFIG (78) with file:line */
    char cfg[4200];
    snprintf(cfg, sizeof cfg, "%s/bad.yaml", tmp);
    const char *text = "engine: {workers: -1}\nrules: [nowhere]\n";
    cr_test_write_file(cfg, text, strlen(text));
    snprintf(cmd, sizeof cmd, "'%s' check -c '%s' 2>&1", CORRAL_BINARY, cfg);
    cr_assert_eq(cr_test_run(cmd, &out), 78);
    char want[4300];
    snprintf(want, sizeof want, "%s:1: ", cfg);
    cr_assert(strstr(out, want) != NULL, "%s", out);
    free(out);
    /* the shipped config checks clean */
    snprintf(cmd, sizeof cmd, "'%s' check -c '%s'", CORRAL_BINARY,
             cr_test_source_path("configs/corral.yaml"));
    cr_assert_eq(cr_test_run(cmd, &out), 0, "%s", out);
    free(out);
    /* a missing input file is a runtime error naming the file */
    snprintf(cmd, sizeof cmd, "'%s' run -c '%s' --input /nonexistent.log --store '%s/s' 2>&1",
             CORRAL_BINARY, cr_test_source_path("configs/corral.yaml"), tmp);
    cr_assert_eq(cr_test_run(cmd, &out), 1);
    cr_assert(strstr(out, "/nonexistent.log") != NULL, "%s", out);
    free(out);
}
