/*
 * test_golden.c - data-driven end-to-end cases: tests/golden/<case>/.
 *
 * Each case directory holds
 *   config.yaml     a corral config (its `rules:` may point at the shipped
 *                   pack, ../../../configs/rules, or at the case's own file)
 *   input.log       the records
 *   expected.jsonl  one JSON object per expected incident; only the keys it
 *                   names are compared (rule, category, entities,
 *                   event_count, first_seen, last_seen, priority, reg_level,
 *                   reg_category, ...), and the number of incidents stored
 *                   must equal the number of lines. An empty file means "no
 *                   incident at all" (near misses).
 * The runner runs the real `corral run` and `corral query --format ndjson`
 * and compares. Adding a case needs no C: make a directory.
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1 if every key of `want` is in `got` with an equal value (objects are
 * compared the same way, recursively, so entities must match exactly). */
static int subset(json_t *want, json_t *got)
{
    if (json_is_object(want)) {
        if (!json_is_object(got))
            return 0;
        const char *k;
        json_t *v;
        json_object_foreach(want, k, v)
        {
            json_t *g = json_object_get(got, k);
            if (!g || !subset(v, g))
                return 0;
        }
        return 1;
    }
    return json_equal(want, got);
}

static int entities_equal(json_t *want, json_t *got)
{
    json_t *we = json_object_get(want, "entities"), *ge = json_object_get(got, "entities");
    if (!we)
        return 1;
    return ge && json_equal(we, ge);
}

static void run_case(const char *dir)
{
    char cmd[32768], path[9000];
    char *tmp = cr_test_tmpdir();
    snprintf(cmd, sizeof cmd,
             "'%s' run -c '%s/config.yaml' --input '%s/input.log' --store '%s/store' --quiet",
             CORRAL_BINARY, dir, dir, tmp);
    char *out = NULL;
    int rc = cr_test_run(cmd, &out);
    cr_assert_eq(rc, 0, "%s: corral run exited %d", dir, rc);
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' query --store '%s/store' --format ndjson", CORRAL_BINARY, tmp);
    rc = cr_test_run(cmd, &out);
    cr_assert_eq(rc, 0, "%s: corral query exited %d", dir, rc);

    json_t *got = json_array();
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        cr_assert(o != NULL, "%s: query printed invalid JSON: %s", dir, line);
        json_array_append_new(got, o);
    }
    free(out);

    snprintf(path, sizeof path, "%s/expected.jsonl", dir);
    size_t len;
    char *exp = cr_test_slurp(path, &len);
    cr_assert(exp != NULL, "%s: no expected.jsonl", dir);
    size_t nexp = 0;
    int lineno = 0;
    for (char *line = strtok(exp, "\n"); line; line = strtok(NULL, "\n")) {
        lineno++;
        if (line[0] == '#' || line[0] == 0)
            continue;
        json_error_t je;
        json_t *want = json_loads(line, 0, &je);
        cr_assert(want != NULL, "%s/expected.jsonl:%d: invalid JSON: %s", dir, lineno, je.text);
        nexp++;
        int found = 0;
        for (size_t i = 0; i < json_array_size(got) && !found; i++) {
            json_t *g = json_array_get(got, i);
            found = subset(want, g) && entities_equal(want, g);
        }
        if (!found) {
            char *all = json_dumps(got, JSON_INDENT(1));
            cr_assert_fail("%s/expected.jsonl:%d: no stored incident matches %s\nstored:\n%s", dir,
                           lineno, line, all);
        }
        json_decref(want);
    }
    if (json_array_size(got) != nexp) {
        char *all = json_dumps(got, JSON_INDENT(1));
        cr_assert_fail("%s: %zu incidents stored, %zu expected:\n%s", dir, json_array_size(got),
                       nexp, all);
    }
    free(exp);
    json_decref(got);
    cr_test_rmtree(tmp);
    free(tmp);
}

/* One test per case (a failing case does not hide the others): the
 * directories of tests/golden, in name order. */
struct golden_case {
    char name[64];
};

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct golden_case *)a)->name, ((const struct golden_case *)b)->name);
}

static size_t list_cases(struct golden_case *out, size_t cap)
{
    DIR *d = opendir(cr_test_source_path("tests/golden"));
    if (!d)
        return 0;
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.' && n < cap)
            snprintf(out[n++].name, sizeof out->name, "%.63s", e->d_name);
    closedir(d);
    qsort(out, n, sizeof *out, by_name);
    return n;
}

static void free_cases(struct criterion_test_params *p) { cr_free(p->params); }

ParameterizedTestParameters(golden, each_case)
{
    struct golden_case found[256];
    size_t n = list_cases(found, 256);
    struct golden_case *cases = cr_malloc(sizeof *cases * (n ? n : 1));
    memcpy(cases, found, sizeof *cases * n);
    return cr_make_param_array(struct golden_case, cases, n, free_cases);
}

ParameterizedTest(struct golden_case *c, golden, each_case, .timeout = 120)
{
    char dir[8400];
    snprintf(dir, sizeof dir, "%s/%s", cr_test_source_path("tests/golden"), c->name);
    cr_log_info("golden case %s", c->name); /* --verbose names each */
    run_case(dir);
}

/* ... and there are cases: an empty or missing directory runs none above. */
Test(golden, the_cases_are_there)
{
    struct golden_case found[256];
    cr_assert_geq(list_cases(found, 256), 7, "tests/golden holds seven cases");
}
