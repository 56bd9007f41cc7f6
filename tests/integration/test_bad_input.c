/*
 * test_bad_input.c - a large damaged corpus (tests/support/mutate_corpus.py:
 * bit flips, truncation, NUL bytes, invalid UTF-8, giant lines, broken
 * JSON, blank lines, CRLF) through the real binary, counted to the record:
 * records read = accepted + rejected, rejected = the sum of its causes,
 * each byte-level cause exactly what the script computed on its own, every
 * undamaged record accepted, and every rejected record kept raw in the
 * store under its line number. Then JSON read as cloudevents without an
 * envelope, which is its own cause.
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

static json_t *load_json(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_DISABLE_EOF_CHECK, &je);
    cr_assert_not_null(j, "not JSON (%s): %.300s", je.text, text);
    return j;
}

static long long num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    cr_assert(json_is_integer(v), "no counter %s", key);
    return json_integer_value(v);
}

static char *run_stats(const char *cfg, const char *input, const char *store)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && '%s' run -c %s --quiet --input %s --store %s --stats-json", tmp,
             CORRAL_BINARY, cfg, input, store);
    char *out = NULL;
    cr_assert_eq(cr_test_run(cmd, &out), 0, "%s", cmd);
    return out;
}

Test(bad_input, a_mutated_corpus_is_counted_to_the_record, .init = setup, .fini = teardown,
     .timeout = 300)
{
    char cmd[16384];
    snprintf(
        cmd, sizeof cmd,
        "cd '%s' && '%s' --seed 5 --lines 120000 --out src.log --truth t >/dev/null 2>&1 && "
        "python3 '%s/tests/support/mutate_corpus.py' src.log "
        "'%s/tests/golden/cloud_json/input.log' "
        "mut.log expect.json 16384 3 && "
        "printf 'rules: [%s/configs/rules]\\ninput: { year: 2026, max_record_size: 16KiB }\\n' "
        "> c.yaml",
        tmp, CORRAL_GEN_CORPUS, CORRAL_SOURCE_DIR, CORRAL_SOURCE_DIR, CORRAL_SOURCE_DIR);
    cr_assert_eq(cr_test_run(cmd, NULL), 0, "%s", cmd);
    snprintf(cmd, sizeof cmd, "%s/expect.json", tmp);
    size_t len = 0;
    char *text = cr_test_slurp(cmd, &len);
    cr_assert_not_null(text);
    json_t *want = load_json(text);
    free(text);

    char *out = run_stats("c.yaml", "mut.log", "s");
    json_t *st = load_json(out);
    free(out);
    json_t *by = json_object_get(st, "rejected_by_cause");
    cr_assert(json_is_object(by));

    long long records = num(st, "records"), accepted = num(st, "accepted"),
              rejected = num(st, "rejected");
    cr_assert_eq(records, num(want, "records"));
    cr_assert_eq(accepted + rejected, records);
    long long sum = 0;
    const char *cause;
    json_t *v;
    json_object_foreach(by, cause, v) sum += json_integer_value(v);
    cr_assert_eq(sum, rejected, "causes add up to %lld of %lld rejects", sum, rejected);
    static const char *const exact[] = {"oversized", "nul_byte", "invalid_utf8", "broken_json",
                                        "empty"};
    long long known = 0;
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++) {
        long long n = (long long)json_array_size(json_object_get(want, exact[i]));
        cr_assert_gt(n, 100, "the corpus should hold many %s records", exact[i]);
        cr_assert_eq(num(by, exact[i]), n, "%s: corral counted %lld, the corpus holds %lld",
                     exact[i], num(by, exact[i]), n);
        known += n;
    }
    /* the rest are damaged syslog lines no shape fits; undamaged ones never */
    cr_assert_eq(num(by, "unparseable"), rejected - known);
    cr_assert_geq(accepted, num(want, "undamaged"));
    cr_assert_lt(num(by, "unparseable"), records - num(want, "undamaged"));
    /* the older counters agree */
    cr_assert_eq(num(st, "oversized"), num(by, "oversized"));
    cr_assert_eq(num(st, "parsed_ok") + num(st, "headerless") + num(st, "parse_errors"), records);

    /* Every rejected record is kept raw under its line number, with its
     * reason (a late match of the same record adds its own, "a; b"). */
    snprintf(cmd, sizeof cmd,
             "cd '%s' && '%s' rejects --store s --format ndjson | python3 -c \""
             "import json,sys\n"
             "want=json.load(open('expect.json'))\n"
             "pos={}\n"
             "for l in sys.stdin:\n"
             "    d=json.loads(l)\n"
             "    rs=[r for r in d['reason'].split('; ') if not r.startswith('late: ')]\n"
             "    if rs: pos[d['position']]=rs[0]\n"
             "words={'oversized':'oversized','nul_byte':'NUL byte','invalid_utf8':'invalid UTF-8',"
             "'broken_json':'invalid or truncated JSON','empty':'empty record'}\n"
             "bad=[(c,p) for c,w in words.items() for p in want[c] if w not in pos.get(p,'')]\n"
             "print(len(pos), len(bad), bad[:3])\"",
             tmp, CORRAL_BINARY);
    out = NULL;
    cr_assert_eq(cr_test_run(cmd, &out), 0);
    long long kept = 0, missing = -1;
    cr_assert_eq(sscanf(out, "%lld %lld", &kept, &missing), 2, "%s", out);
    cr_assert_eq(kept, rejected, "%lld rejects kept for %lld rejected records", kept, rejected);
    cr_assert_eq(missing, 0, "rejects not kept with their cause: %s", out);
    free(out);
    json_decref(st);
    json_decref(want);
}

/* Configured as cloudevents: JSON without an envelope is rejected as such
 * (its fields still reach the rules), not as broken JSON; envelopes pass. */
Test(bad_input, json_without_an_envelope_is_its_own_cause, .init = setup, .fini = teardown,
     .timeout = 120)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && python3 -c \""
             "import json,sys\n"
             "for i,l in enumerate(open(sys.argv[1])):\n"
             "    print(l.strip())\n"
             "    print(json.dumps({'specversion':'1.0','id':'e%%d'%%i,'source':'//cloud',"
             "'type':'aws.cloudtrail','time':'2026-03-02T08:00:00Z','data':json.loads(l)}))\n"
             "print('{\\\"specversion\\\": \\\"1.0\\\", \\\"id\\\":')\n"
             "\" '%s/tests/golden/cloud_json/input.log' > ce.log && "
             "printf 'rules: [%s/configs/rules]\\ninput: { year: 2026, format: cloudevents }\\n'"
             " > ce.yaml",
             tmp, CORRAL_SOURCE_DIR, CORRAL_SOURCE_DIR);
    cr_assert_eq(cr_test_run(cmd, NULL), 0, "%s", cmd);
    char *out = run_stats("ce.yaml", "ce.log", "s");
    json_t *st = load_json(out);
    free(out);
    json_t *by = json_object_get(st, "rejected_by_cause");
    cr_assert_eq(num(st, "records"), 31);
    cr_assert_eq(num(st, "accepted"), 15);
    cr_assert_eq(num(by, "no_cloudevents_envelope"), 15);
    cr_assert_eq(num(by, "broken_json"), 1);
    cr_assert_eq(num(st, "rejected"), 16);
    json_decref(st);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && '%s' rejects --store s --format ndjson | grep -c 'JSON without a "
             "CloudEvents envelope'",
             tmp, CORRAL_BINARY);
    out = NULL;
    cr_test_run(cmd, &out);
    cr_assert_eq(atoi(out), 15, "%s", out);
    free(out);
}
