/*
 * test_json_batch.c - a record that is a JSON array of events, through the
 * real binary on the shipped config: each object is parsed, counted and
 * matched as a record of its own at the array's position, a broken object
 * is that object's parse error (the others still count), and a log line
 * that merely starts with '[' stays one record.
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CT(name, user)                                                                             \
    "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"" user       \
    "\"},\"eventTime\":\"2026-03-02T08:00:00Z\",\"eventSource\":\"cloudtrail.amazonaws.com\","     \
    "\"eventName\":\"" name "\",\"sourceIPAddress\":\"198.51.100.7\"}"

static long long jint(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

Test(json_batch, each_object_of_a_batch_is_a_record)
{
    char *tmp = cr_test_tmpdir();
    char path[4200], cmd[16384];
    snprintf(path, sizeof path, "%s/in.json", tmp);
    const char *in = "[" CT("DescribeTrails", "ops") ", " CT(
        "StopLogging", "mallory") ", {\"eventTime\":\"2026-03-02T08:00:01Z\",\"eventName\":}]\n"
                                  "[2026-03-02 08:00:02] INFO app started\n" CT("DeleteTrail",
                                                                                "eve") "\n";
    cr_assert_eq(cr_test_write_file(path, in, strlen(in)), 0);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && '%s' run -c configs/corral.yaml --input '%s' --store '%s/st' --quiet "
             "--stats-json",
             CORRAL_SOURCE_DIR, CORRAL_BINARY, path, tmp);
    char *out = NULL;
    cr_assert_eq(cr_test_run(cmd, &out), 0, "%s", cmd);
    json_error_t je;
    json_t *st = json_loads(out, JSON_DISABLE_EOF_CHECK, &je);
    cr_assert_not_null(st, "%s", out);
    cr_assert_eq(jint(st, "json_batches"), 1, "%s", out);
    cr_assert_eq(jint(st, "records"), 5, "three objects, the '[' line, the last record: %s", out);
    cr_assert_eq(jint(st, "parse_errors") + jint(st, "headerless"), 2,
                 "the broken object and the bracketed log line: %s", out);
    cr_assert_eq(jint(st, "accepted") + jint(st, "rejected"), 5, "%s", out);
    json_decref(st);
    free(out);
    out = NULL;
    snprintf(cmd, sizeof cmd, "'%s' query --store '%s/st' --format ndjson", CORRAL_BINARY, tmp);
    cr_assert_eq(cr_test_run(cmd, &out), 0, "%s", cmd);
    /* the object inside the batch opened its incident, and the plain record its own */
    int n = 0;
    for (const char *p = out; (p = strstr(p, "corral.aws.cloudtrail.logging_stopped")); p++)
        n++;
    cr_assert_geq(n, 1, "%s", out);
    cr_assert(strstr(out, "\"entities\":{\"user\":\"mallory\"}"), "the batch's StopLogging: %s",
              out);
    cr_assert(strstr(out, "\"entities\":{\"user\":\"eve\"}"), "the record after the batch: %s",
              out);
    free(out);
    cr_test_rmtree(tmp);
    free(tmp);
}
