/*
 * test_json_event.c - parsers/json_event.c and json_simd.cpp: detection and
 * mapping of CloudEvents, Kubernetes audit, CloudTrail, GCP audit and
 * generic JSON, extra dotted paths, broken JSON; then the real records in
 * ../shared/data (CloudEvents spec examples, Google event payloads, Panther
 * CloudTrail/K8s tests, Falco K8s audit events). jansson (already a corral
 * dependency) re-serialises the embedded records, independently of the
 * code under test.
 */
#include "event_assert.h"
#include "parsers/parser.h"
#include "base/timeparse.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FALLBACK 99LL

static struct cr_parser *P;
static struct cr_event EV;
static const char *const EXTRA[CR_MAX_FIELDS] = {
    [CR_F__BUILTIN] = "userIdentity.type",
    [CR_F__BUILTIN + 1] = "objectRef.subresource",
    [CR_F__BUILTIN + 2] = "annotations.authorization.k8s.io/decision",
    [CR_F__BUILTIN + 3] = "responseStatus.code",
};

static void setup(void)
{
    struct cr_parse_opts o = {0};
    o.extra_names = EXTRA;
    o.n_extra_names = CR_F__BUILTIN + 4;
    P = cr_parser_new(&o);
    cr_assert_not_null(P);
}

static void teardown(void) { cr_parser_free(P); }

static enum cr_parse_result parse(const char *rec)
{
    return cr_parse(P, rec, strlen(rec), FALLBACK, &EV);
}

static int has_value(unsigned f, const char *want)
{
    return cr_event_has(&EV, f) && EV.f[f].len == strlen(want) &&
           memcmp(EV.f[f].p, want, EV.f[f].len) == 0;
}

static void field_is(unsigned f, const char *want) { cr_assert_field(&EV, f, want); }

static void time_is(const char *rfc3339) { cr_assert_time(&EV, rfc3339); }

TestSuite(json, .init = setup, .fini = teardown);

static const char K8S[] =
    "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\","
    "\"auditID\":\"a1b2\",\"stage\":\"ResponseComplete\",\"requestURI\":\"/api/v1/namespaces/"
    "prod/pods/web-0/exec?command=sh\",\"verb\":\"create\",\"user\":{\"username\":\"alice\","
    "\"groups\":[\"dev\"]},\"sourceIPs\":[\"10.0.0.7\",\"10.0.0.1\"],\"userAgent\":\"kubectl/"
    "v1.29\",\"objectRef\":{\"resource\":\"pods\",\"namespace\":\"prod\",\"name\":\"web-0\","
    "\"subresource\":\"exec\"},\"responseStatus\":{\"metadata\":{},\"code\":101},"
    "\"requestReceivedTimestamp\":\"2026-11-21T10:00:00.000001Z\",\"stageTimestamp\":"
    "\"2026-11-21T10:00:00.250000Z\",\"annotations\":{\"authorization.k8s.io/decision\":"
    "\"allow\"}}";

Test(json, k8s_audit)
{
    cr_assert_eq(parse(K8S), CR_PARSE_OK);
    cr_assert_eq(EV.format, CR_FMT_JSON);
    field_is(CR_F_SOURCE_PRODUCT, "k8s-audit");
    field_is(CR_F_USER, "alice");
    field_is(CR_F_SRC_IP, "10.0.0.7");
    field_is(CR_F_ACTION, "create");
    field_is(CR_F_EVENT_TYPE, "create");
    field_is(CR_F_OBJECT_TYPE, "pods");
    field_is(CR_F_OBJECT_ID, "prod/web-0");
    field_is(CR_F_OUTCOME, "success");
    field_is(CR_F_USER_AGENT, "kubectl/v1.29");
    field_is(CR_F_EVENT_ID, "a1b2");
    field_is(CR_F_MSG, "/api/v1/namespaces/prod/pods/web-0/exec?command=sh");
    field_is(CR_F_HOST, NULL);
    time_is("2026-11-21T10:00:00.250Z");
    field_is(CR_F__BUILTIN + 1, "exec");
    field_is(CR_F__BUILTIN + 2, "allow"); /* flat key with dots */
    field_is(CR_F__BUILTIN + 3, "101");   /* number rendered as text */
    field_is(CR_F__BUILTIN, NULL);
}

Test(json, k8s_forbidden_and_cluster_scoped)
{
    parse("{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"verb\":\"list\","
          "\"user\":{\"username\":\"system:anonymous\"},\"objectRef\":{\"resource\":\"secrets\","
          "\"name\":\"db\"},\"responseStatus\":{\"code\":403,\"reason\":\"Forbidden\"},"
          "\"requestReceivedTimestamp\":\"2026-11-21T10:00:00Z\"}");
    field_is(CR_F_OUTCOME, "failure");
    field_is(CR_F_REASON, "Forbidden");
    field_is(CR_F_OBJECT_ID, "db");
    time_is("2026-11-21T10:00:00Z");
    /* no requestURI: the raw JSON is the message */
    cr_assert_eq(EV.f[CR_F_MSG].p, EV.raw.p);
}

static const char CLOUDTRAIL[] =
    "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"principalId\":\"AID\","
    "\"arn\":\"arn:aws:iam::123456789012:user/bob\",\"accountId\":\"123456789012\","
    "\"userName\":\"bob\"},\"eventTime\":\"2026-11-21T10:00:00Z\",\"eventSource\":"
    "\"iam.amazonaws.com\",\"eventName\":\"AttachUserPolicy\",\"awsRegion\":\"us-east-1\","
    "\"sourceIPAddress\":\"198.51.100.7\",\"userAgent\":\"aws-cli/2.15\",\"errorCode\":"
    "\"AccessDenied\",\"requestParameters\":{\"userName\":\"eve\"},\"eventID\":\"e-1\","
    "\"recipientAccountId\":\"123456789012\"}";

Test(json, cloudtrail)
{
    cr_assert_eq(parse(CLOUDTRAIL), CR_PARSE_OK);
    field_is(CR_F_SOURCE_PRODUCT, "cloudtrail");
    field_is(CR_F_ACTION, "AttachUserPolicy");
    field_is(CR_F_EVENT_TYPE, "AttachUserPolicy");
    field_is(CR_F_PROGRAM, "iam.amazonaws.com");
    field_is(CR_F_SRC_IP, "198.51.100.7");
    field_is(CR_F_USER, "bob");
    field_is(CR_F_TENANT_ID, "123456789012");
    field_is(CR_F_OUTCOME, "failure");
    field_is(CR_F_REASON, "AccessDenied");
    field_is(CR_F_USER_AGENT, "aws-cli/2.15");
    field_is(CR_F_EVENT_ID, "e-1");
    field_is(CR_F_HOST, NULL); /* awsRegion is not a host */
    field_is(CR_F__BUILTIN, "IAMUser");
    time_is("2026-11-21T10:00:00Z");
    cr_assert_eq(EV.f[CR_F_MSG].len, strlen(CLOUDTRAIL));
}

Test(json, cloudtrail_console_login_and_root)
{
    parse("{\"eventSource\":\"signin.amazonaws.com\",\"eventName\":\"ConsoleLogin\","
          "\"userIdentity\":{\"type\":\"Root\",\"arn\":\"arn:aws:iam::1:root\"},"
          "\"responseElements\":{\"ConsoleLogin\":\"Failure\"},\"errorMessage\":"
          "\"Failed authentication\",\"eventTime\":\"2026-11-21T10:00:00Z\"}");
    field_is(CR_F_OUTCOME, "failure");
    field_is(CR_F_REASON, "Failed authentication");
    field_is(CR_F_USER, "arn:aws:iam::1:root");
    parse("{\"eventSource\":\"signin.amazonaws.com\",\"eventName\":\"ConsoleLogin\","
          "\"userIdentity\":{\"userName\":\"ann\"},\"responseElements\":{\"ConsoleLogin\":"
          "\"Success\"}}");
    field_is(CR_F_OUTCOME, "success");
    cr_assert(EV.flags & CR_EV_NO_TIME);
    cr_assert_eq(EV.time_ms, FALLBACK);
}

static const char GCP[] =
    "{\"protoPayload\":{\"@type\":\"type.googleapis.com/google.cloud.audit.AuditLog\","
    "\"status\":{\"code\":7,\"message\":\"PERMISSION_DENIED\"},\"authenticationInfo\":"
    "{\"principalEmail\":\"mallory@example.com\"},\"requestMetadata\":{\"callerIp\":"
    "\"203.0.113.5\"},\"serviceName\":\"compute.googleapis.com\",\"methodName\":"
    "\"v1.compute.instances.delete\",\"resourceName\":\"projects/p1/zones/z/instances/vm1\"},"
    "\"insertId\":\"ins1\",\"resource\":{\"type\":\"gce_instance\",\"labels\":{\"project_id\":"
    "\"p1\"}},\"timestamp\":\"2026-11-21T10:00:00.5Z\"}";

Test(json, gcp_audit)
{
    parse(GCP);
    field_is(CR_F_SOURCE_PRODUCT, "gcp-audit");
    field_is(CR_F_ACTION, "v1.compute.instances.delete");
    field_is(CR_F_EVENT_TYPE, "v1.compute.instances.delete");
    field_is(CR_F_USER, "mallory@example.com");
    field_is(CR_F_SRC_IP, "203.0.113.5");
    field_is(CR_F_PROGRAM, "compute.googleapis.com");
    field_is(CR_F_OBJECT_ID, "projects/p1/zones/z/instances/vm1");
    field_is(CR_F_OUTCOME, "failure");
    field_is(CR_F_REASON, "PERMISSION_DENIED");
    field_is(CR_F_TENANT_ID, "p1");
    time_is("2026-11-21T10:00:00.5Z");
}

Test(json, cloudevents_with_gcp_payload)
{
    char buf[4096];
    snprintf(buf, sizeof buf,
             "{\"specversion\":\"1.0\",\"id\":\"ce-9\",\"source\":\"//cloudaudit.googleapis.com/"
             "projects/p1\",\"type\":\"google.cloud.audit.log.v1.written\",\"subject\":\"s1\","
             "\"time\":\"2026-11-21T11:00:00Z\",\"datacontenttype\":\"application/json\","
             "\"data\":%s}",
             GCP);
    cr_assert_eq(parse(buf), CR_PARSE_OK);
    cr_assert_eq(EV.format, CR_FMT_CLOUDEVENTS);
    field_is(CR_F_SOURCE_PRODUCT, "cloudevents");
    field_is(CR_F_EVENT_ID, "ce-9");
    field_is(CR_F_ACTION, "v1.compute.instances.delete");
    field_is(CR_F_USER, "mallory@example.com");
    time_is("2026-11-21T11:00:00Z"); /* the envelope's time */
}

Test(json, cloudevents_plain)
{
    parse("{\"specversion\":\"1.0\",\"type\":\"com.github.pull_request.opened\",\"source\":"
          "\"https://github.com/cloudevents/spec/pull\",\"subject\":\"123\",\"id\":\"A234-1234\","
          "\"time\":\"2018-04-05T17:31:00Z\",\"data\":\"<much wow=\\\"xml\\\"/>\"}");
    field_is(CR_F_EVENT_ID, "A234-1234");
    field_is(CR_F_EVENT_TYPE, "com.github.pull_request.opened");
    field_is(CR_F_PROGRAM, "https://github.com/cloudevents/spec/pull");
    field_is(CR_F_OBJECT_ID, "123");
    time_is("2018-04-05T17:31:00Z");
}

Test(json, generic)
{
    parse("{\"@timestamp\":\"2026-11-21T10:00:00+08:00\",\"host\":{\"name\":\"node-3\"},"
          "\"message\":\"disk full on /var\",\"user\":\"root\",\"src_ip\":\"10.1.1.1\","
          "\"dst_port\":443,\"outcome\":null}");
    field_is(CR_F_HOST, "node-3");
    field_is(CR_F_MSG, "disk full on /var");
    field_is(CR_F_USER, "root");
    field_is(CR_F_SRC_IP, "10.1.1.1");
    field_is(CR_F_DST_PORT, "443");
    field_is(CR_F_OUTCOME, NULL);
    time_is("2026-11-21T02:00:00Z");
    parse("{\"ts\":1795290900.25,\"hostname\":\"h\",\"msg\":\"x\"}");
    time_is("2026-11-21T19:55:00.250Z");
    field_is(CR_F_HOST, "h");
    parse("{\"time\":1795290900123,\"host.name\":\"flat\"}");
    time_is("2026-11-21T19:55:00.123Z");
    field_is(CR_F_HOST, "flat");
    cr_assert_eq(parse("{\"a\":1}"), CR_PARSE_FALLBACK);
    cr_assert(EV.flags & CR_EV_NO_TIME);
    field_is(CR_F_MSG, "{\"a\":1}");
}

Test(json, escapes_are_unescaped)
{
    parse("{\"message\":\"tab\\there \\u00e9 \\\"q\\\"\"}");
    field_is(CR_F_MSG, "tab\there \xc3\xa9 \"q\"");
}

Test(json, broken)
{
    const char *bad[] = {"{",   "{\"a\":",   "{\"a\":1,}", "[1,2]",      "{\"a\":\"\\x\"}",
                         "{}x", "{\"a\" 1}", "\"str\"",    "{\"a\":tru}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(cr_parse_json(P, bad[i], strlen(bad[i]), FALLBACK, &EV), CR_PARSE_ERROR,
                     "accepted %s", bad[i]);
        cr_assert(EV.flags & CR_EV_PARSE_ERROR);
        cr_assert(cr_event_nfields(&EV) == 1 && cr_event_has(&EV, CR_F_MSG), "%s", bad[i]);
        cr_assert_eq(EV.f[CR_F_MSG].len, strlen(bad[i]));
    }
    cr_assert_eq(cr_parse_json(P, "", 0, FALLBACK, &EV), CR_PARSE_ERROR);
    /* every truncation of a real record, from an exact-size heap copy */
    size_t n = strlen(K8S);
    for (size_t k = 0; k < n; k++) {
        char *copy = malloc(k ? k : 1);
        memcpy(copy, K8S, k);
        cr_assert_eq(cr_parse(P, copy, k, FALLBACK, &EV), CR_PARSE_ERROR, "prefix %zu", k);
        free(copy);
    }
    /* after errors the parser still works */
    cr_assert_eq(parse(K8S), CR_PARSE_OK);
    field_is(CR_F_USER, "alice");
}

Test(json, cloudevents_format_requires_envelope)
{
    struct cr_parse_opts o = {0};
    o.format = CR_FMT_CLOUDEVENTS;
    struct cr_parser *q = cr_parser_new(&o);
    cr_assert_eq(cr_parse(q, K8S, strlen(K8S), FALLBACK, &EV), CR_PARSE_ERROR);
    cr_assert(EV.flags & CR_EV_PARSE_ERROR);
    /* valid JSON: flagged as such, fields kept for the rules */
    cr_assert(EV.flags & CR_EV_NO_ENVELOPE);
    cr_assert_neq(EV.format, CR_FMT_CLOUDEVENTS);
    /* broken JSON is not "without an envelope" */
    cr_assert_eq(cr_parse(q, "{\"specversion\":", 15, FALLBACK, &EV), CR_PARSE_ERROR);
    cr_assert_not(EV.flags & CR_EV_NO_ENVELOPE);
    cr_assert_eq(EV.f[CR_F_MSG].p, EV.raw.p);
    cr_parser_free(q);
}

Test(json, invalid_utf8_flagged)
{
    parse("{\"message\":\"caf\xe9\"}");
    cr_assert(EV.flags & CR_EV_BAD_UTF8);
    cr_assert(EV.flags & CR_EV_PARSE_ERROR); /* simdjson validates UTF-8 */
}

/* ---- real data ---------------------------------------------------------- */

static char *dump(json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT);
    cr_assert_not_null(s);
    return s;
}

static void expect_str(json_t *obj, const char *key, unsigned f, const char *ctx)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        return;
    cr_assert(has_value(f, json_string_value(v)), "%s: %s = '%s' not extracted (got '%.*s')", ctx,
              key, json_string_value(v), (int)EV.f[f].len, cr_event_has(&EV, f) ? EV.f[f].p : "");
}

Test(json_data, cloudevents_spec_examples, .init = setup, .fini = teardown)
{
    const char *path = cr_test_shared_path("cloudevents-samples/spec_examples.jsonl");
    cr_test_need_shared(path, "cloudevents-samples: ../shared/data absent");
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    char line[1 << 16];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        json_t *row = json_loads(line, 0, NULL);
        cr_assert_not_null(row);
        json_t *ev = json_object_get(row, "event");
        if (json_is_object(ev) && json_object_get(ev, "specversion")) {
            char *s = dump(ev);
            cr_assert_neq(cr_parse(P, s, strlen(s), FALLBACK, &EV), CR_PARSE_ERROR, "%s", s);
            cr_assert_eq(EV.format, CR_FMT_CLOUDEVENTS, "%s", s);
            field_is(CR_F_SOURCE_PRODUCT, "cloudevents");
            expect_str(ev, "id", CR_F_EVENT_ID, s);
            expect_str(ev, "type", CR_F_EVENT_TYPE, s);
            expect_str(ev, "source", CR_F_PROGRAM, s);
            json_t *t = json_object_get(ev, "time");
            if (json_is_string(t)) {
                int64_t want;
                cr_assert_eq(cr_time_parse(json_string_value(t), &want), 0);
                cr_assert_eq(EV.time_ms, want, "%s", s);
            }
            free(s);
            n++;
        } else if (!json_is_object(ev)) {
            /* wire-format blocks: must not crash, whatever they are */
            const char *raw = json_string_value(json_object_get(row, "raw"));
            if (raw)
                cr_parse(P, raw, strlen(raw), FALLBACK, &EV);
        }
        json_decref(row);
    }
    fclose(f);
    cr_log_info("cloudevents spec examples: %d envelopes", n);
    cr_assert_geq(n, 15);
}

Test(json_data, google_audit_payloads_in_envelope, .init = setup, .fini = teardown)
{
    const char *dir = cr_test_shared_path("cloudevents-samples/google-cloudevents-data");
    cr_test_need_shared(dir, "cloudevents-samples: ../shared/data absent");
    char dirbuf[4096];
    snprintf(dirbuf, sizeof dirbuf, "%s", dir);
    DIR *d = opendir(dirbuf);
    cr_assert_not_null(d);
    struct dirent *de;
    int n = 0, audit = 0;
    while ((de = readdir(d)) != NULL) {
        if (!strstr(de->d_name, ".json"))
            continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dirbuf, de->d_name);
        json_t *data = json_load_file(path, 0, NULL);
        cr_assert_not_null(data, "%s", de->d_name);
        json_t *env = json_pack("{s:s, s:s, s:s, s:s, s:s, s:O}", "specversion", "1.0", "id",
                                de->d_name, "source", "//example/src", "type", "google.test",
                                "time", "2026-11-21T10:00:00Z", "data", data);
        char *s = dump(env);
        cr_assert_eq(cr_parse(P, s, strlen(s), FALLBACK, &EV), CR_PARSE_OK, "%s", de->d_name);
        field_is(CR_F_EVENT_ID, de->d_name);
        field_is(CR_F_SOURCE_PRODUCT, "cloudevents");
        json_t *pp = json_object_get(data, "protoPayload");
        if (pp) {
            audit++;
            expect_str(pp, "methodName", CR_F_ACTION, de->d_name);
            expect_str(pp, "serviceName", CR_F_PROGRAM, de->d_name);
            expect_str(pp, "resourceName", CR_F_OBJECT_ID, de->d_name);
            expect_str(json_object_get(pp, "authenticationInfo"), "principalEmail", CR_F_USER,
                       de->d_name);
            /* and the bare LogEntry is GCP audit on its own */
            char *bare = dump(data);
            cr_parse(P, bare, strlen(bare), FALLBACK, &EV);
            field_is(CR_F_SOURCE_PRODUCT, "gcp-audit");
            expect_str(pp, "methodName", CR_F_EVENT_TYPE, de->d_name);
            free(bare);
        } else {
            field_is(CR_F_EVENT_TYPE, "google.test");
        }
        free(s);
        json_decref(env);
        json_decref(data);
        n++;
    }
    closedir(d);
    cr_assert_geq(n, 19);
    cr_assert_geq(audit, 3);
}

Test(json_data, panther_cloudtrail_and_k8s, .init = setup, .fini = teardown)
{
    const char *path = cr_test_shared_path("panther-cloud-rule-tests/rule_tests.jsonl");
    cr_test_need_shared(path, "panther-cloud-rule-tests: ../shared/data absent");
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    static char line[1 << 20];
    int ct = 0, k8s = 0, gcp = 0, aks = 0, total = 0;
    while (fgets(line, sizeof line, f)) {
        json_t *row = json_loads(line, 0, NULL);
        cr_assert_not_null(row);
        json_t *log = json_object_get(row, "log");
        if (!json_is_object(log)) {
            json_decref(row);
            continue;
        }
        char *s = dump(log);
        enum cr_parse_result r = cr_parse(P, s, strlen(s), FALLBACK, &EV);
        cr_assert_neq(r, CR_PARSE_ERROR, "%s", s);
        total++;
        const char *kind = json_string_value(json_object_get(log, "kind"));
        const char *api = json_string_value(json_object_get(log, "apiVersion"));
        if (json_is_string(json_object_get(log, "eventName")) &&
            json_is_string(json_object_get(log, "eventSource")) &&
            !json_object_get(log, "specversion")) {
            ct++;
            field_is(CR_F_SOURCE_PRODUCT, "cloudtrail");
            expect_str(log, "eventName", CR_F_ACTION, s);
            expect_str(log, "eventSource", CR_F_PROGRAM, s);
            expect_str(log, "sourceIPAddress", CR_F_SRC_IP, s);
            expect_str(log, "eventID", CR_F_EVENT_ID, s);
            json_t *uid = json_object_get(log, "userIdentity");
            if (json_is_string(json_object_get(uid, "userName")))
                expect_str(uid, "userName", CR_F_USER, s);
            else
                expect_str(uid, "arn", CR_F_USER, s);
            field_is(CR_F_OUTCOME,
                     json_object_get(log, "errorCode") ||
                             (json_is_string(json_object_get(
                                  json_object_get(log, "responseElements"), "ConsoleLogin")) &&
                              strcmp(json_string_value(json_object_get(
                                         json_object_get(log, "responseElements"), "ConsoleLogin")),
                                     "Success") != 0)
                         ? "failure"
                         : "success");
            field_is(CR_F_HOST, NULL);
            json_t *t = json_object_get(log, "eventTime");
            int64_t want;
            if (json_is_string(t) && cr_time_parse(json_string_value(t), &want) == 0)
                cr_assert_eq(EV.time_ms, want, "%s", s);
        } else if (kind && api && strcmp(kind, "Event") == 0 &&
                   strncmp(api, "audit.k8s.io", 12) == 0) {
            k8s++;
            field_is(CR_F_SOURCE_PRODUCT, "k8s-audit");
            expect_str(log, "verb", CR_F_ACTION, s);
            expect_str(log, "auditID", CR_F_EVENT_ID, s);
            expect_str(json_object_get(log, "user"), "username", CR_F_USER, s);
            expect_str(json_object_get(log, "objectRef"), "resource", CR_F_OBJECT_TYPE, s);
            json_t *ips = json_object_get(log, "sourceIPs");
            if (json_is_string(json_array_get(ips, 0)))
                cr_assert(has_value(CR_F_SRC_IP, json_string_value(json_array_get(ips, 0))));
        } else if (json_is_string(
                       json_object_get(json_object_get(log, "protoPayload"), "methodName"))) {
            gcp++;
            json_t *pp = json_object_get(log, "protoPayload");
            const char *svc = json_string_value(json_object_get(pp, "serviceName"));
            const char *m = json_string_value(json_object_get(pp, "methodName"));
            if (svc && strcmp(svc, "k8s.io") == 0 && strncmp(m, "io.k8s.", 7) == 0 &&
                strchr(m + 7, '.')) { /* GKE: a Kubernetes request, its verb last */
                field_is(CR_F_SOURCE_PRODUCT, "k8s-audit");
                field_is(CR_F_ACTION, strrchr(m, '.') + 1);
            } else {
                field_is(CR_F_SOURCE_PRODUCT, "gcp-audit");
                expect_str(pp, "methodName", CR_F_ACTION, s);
            }
        } else if (json_is_string(json_object_get(log, "category")) &&
                   strcmp(json_string_value(json_object_get(log, "category")), "kube-audit") ==
                       0) { /* AKS: the event is the text in properties.log */
            json_t *inner = json_loads(
                json_string_value(json_object_get(json_object_get(log, "properties"), "log")), 0,
                NULL);
            if (inner) {
                aks++;
                field_is(CR_F_SOURCE_PRODUCT, "k8s-audit");
                expect_str(inner, "verb", CR_F_ACTION, s);
                json_decref(inner);
            }
        }
        free(s);
        json_decref(row);
    }
    fclose(f);
    cr_log_info("panther: %d records, %d cloudtrail, %d k8s, %d gcp, %d aks", total, ct, k8s, gcp,
                aks);
    cr_assert_geq(aks, 10);
    cr_assert_geq(ct, 400);
    cr_assert_geq(k8s, 50);
    cr_assert_geq(gcp, 50);
}

Test(json_data, falco_k8s_audit, .init = setup, .fini = teardown)
{
    const char *dir = cr_test_shared_path("falco-k8s-audit/events");
    cr_test_need_shared(dir, "falco-k8s-audit: ../shared/data absent");
    char dirbuf[4096];
    snprintf(dirbuf, sizeof dirbuf, "%s", dir);
    DIR *d = opendir(dirbuf);
    cr_assert_not_null(d);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d)) != NULL) {
        if (!strstr(de->d_name, ".json"))
            continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dirbuf, de->d_name);
        size_t flen;
        char *text = cr_test_slurp(path, &flen);
        cr_assert_not_null(text);
        /* one event per line (a few files hold several) */
        for (char *line = text, *nl; line < text + flen; line = nl + 1) {
            nl = memchr(line, '\n', (size_t)(text + flen - line));
            if (!nl)
                nl = text + flen;
            size_t len = (size_t)(nl - line);
            if (len == 0)
                continue;
            json_t *doc = json_loadb(line, len, 0, NULL);
            cr_assert_not_null(doc, "%s", de->d_name);
            enum cr_parse_result r = cr_parse(P, line, len, FALLBACK, &EV);
            const char *kind = json_string_value(json_object_get(doc, "kind"));
            if (!kind || strcmp(kind, "Event") != 0) {
                /* Falco's negative fixtures ({"kind": 0}): generic JSON */
                cr_assert_neq(r, CR_PARSE_ERROR);
                field_is(CR_F_SOURCE_PRODUCT, NULL);
                json_decref(doc);
                continue;
            }
            cr_assert_eq(r, CR_PARSE_OK, "%s", de->d_name);
            field_is(CR_F_SOURCE_PRODUCT, "k8s-audit");
            expect_str(doc, "verb", CR_F_ACTION, de->d_name);
            expect_str(doc, "auditID", CR_F_EVENT_ID, de->d_name);
            expect_str(doc, "requestURI", CR_F_MSG, de->d_name);
            expect_str(json_object_get(doc, "user"), "username", CR_F_USER, de->d_name);
            json_t *ref = json_object_get(doc, "objectRef");
            expect_str(ref, "resource", CR_F_OBJECT_TYPE, de->d_name);
            if (json_is_string(json_object_get(ref, "namespace")) &&
                json_is_string(json_object_get(ref, "name"))) {
                char want[1024];
                snprintf(want, sizeof want, "%s/%s",
                         json_string_value(json_object_get(ref, "namespace")),
                         json_string_value(json_object_get(ref, "name")));
                field_is(CR_F_OBJECT_ID, want);
            }
            json_t *code = json_object_get(json_object_get(doc, "responseStatus"), "code");
            if (json_is_integer(code))
                field_is(CR_F_OUTCOME, json_integer_value(code) < 400 ? "success" : "failure");
            int64_t want;
            const char *st = json_string_value(json_object_get(doc, "stageTimestamp"));
            if (st && cr_time_parse(st, &want) == 0)
                cr_assert_eq(EV.time_ms, want, "%s", de->d_name);
            json_decref(doc);
            n++;
        }
        free(text);
    }
    closedir(d);
    cr_assert_geq(n, 40);
}

/* Many rule-requested paths (Sigma's) switch the parser from a lookup per
 * name to one walk of the record: both must set exactly the same fields to
 * the same bytes. Checked on real records of three sources (Falco's
 * Kubernetes audit events, OTRF's CloudTrail and Windows JSON) against real
 * paths: nested keys, array indexes, flat keys with dots, numbers, booleans,
 * and names no record has. */
static const char *const PATHS[] = {
    "annotations.authorization.k8s.io/decision",
    "objectRef.resource",
    "objectRef.subresource",
    "responseStatus.code",
    "user.groups.0",
    "user.groups.1",
    "sourceIPs.0",
    "requestObject.spec.containers.0.securityContext.privileged",
    "userIdentity.type",
    "userIdentity.arn",
    "userIdentity.sessionContext.sessionIssuer.userName",
    "requestParameters.bucketName",
    "requestParameters.DescribeInstanceTypesRequest.MaxResults",
    "eventType",
    "@version",
    "awsRegion",
    "EventID",
    "Channel",
    "Image",
    "CommandLine",
    "ParentImage",
    "TargetImage",
    "GrantedAccess",
    "Hashes",
    "Event.EventData.Image",
    "winlog.event_data.Image",
    "nope",
    "nope.deeper.0",
    "level",
    "stage",
    /* containers: their compact text, found by the walk as by a lookup */
    "requestObject.spec",
    "user.groups",
};

Test(json, one_walk_sets_what_a_lookup_per_name_sets)
{
    const char *names[CR_MAX_FIELDS] = {0};
    size_t np = sizeof PATHS / sizeof PATHS[0];
    for (size_t i = 0; i < np; i++)
        names[CR_F__BUILTIN + i] = PATHS[i];
    struct cr_parse_opts few = {0}, many = {0};
    few.extra_names = many.extra_names = names;
    few.n_extra_names = (unsigned)(CR_F__BUILTIN + np); /* below the walk threshold? */
    static char pad[40][16];
    for (int i = 0; i < 40; i++) {
        snprintf(pad[i], sizeof pad[i], "padding.%d", i);
        names[CR_F__BUILTIN + np + (size_t)i] = pad[i];
    }
    many.n_extra_names = (unsigned)(CR_F__BUILTIN + np + 40);
    struct cr_parser *a = cr_parser_new(&few), *b = cr_parser_new(&many);
    cr_assert(a && b);
    cr_assert(np <= CR_XNAMES_WALK_MIN, "the first parser must look names up one by one");
    const char *files[] = {
        "falco-k8s-audit/events/attach_pod.json",
        "falco-k8s-audit/events/create_cluster_role_wildcard_verbs.json",
        "otrf-security-datasets/aws/ec2_proxy_s3_exfiltration_2020-09-14011940.json",
        "otrf-security-datasets/windows/cmd_lsass_memory_dumpert_syscalls_2020-10-1822561997.json",
    };
    size_t records = 0, fields = 0;
    for (size_t fi = 0; fi < sizeof files / sizeof files[0]; fi++) {
        const char *path = cr_test_shared_path(files[fi]);
        cr_test_need_shared(path, "%s", files[fi]);
        size_t len;
        char *buf = cr_test_slurp(path, &len);
        cr_assert_not_null(buf, "%s", path);
        for (char *line = buf, *nl; line < buf + len; line = nl + 1) {
            nl = memchr(line, '\n', (size_t)(buf + len - line));
            if (!nl)
                nl = buf + len;
            size_t n = (size_t)(nl - line);
            if (n == 0)
                continue;
            static struct cr_event ea, eb;
            cr_parse(a, line, n, FALLBACK, &ea);
            cr_parse(b, line, n, FALLBACK, &eb);
            records++;
            for (size_t i = 0; i < np; i++) {
                unsigned f = (unsigned)(CR_F__BUILTIN + i);
                cr_assert_eq(cr_event_has(&ea, f), cr_event_has(&eb, f), "%s: %s in %.80s",
                             files[fi], PATHS[i], line);
                if (!cr_event_has(&ea, f))
                    continue;
                fields++;
                cr_assert(ea.f[f].len == eb.f[f].len &&
                              memcmp(ea.f[f].p, eb.f[f].p, ea.f[f].len) == 0,
                          "%s: %s: '%.*s' vs '%.*s'", files[fi], PATHS[i], (int)ea.f[f].len,
                          ea.f[f].p, (int)eb.f[f].len, eb.f[f].p);
            }
        }
        free(buf);
    }
    cr_assert_gt(records, 200);
    cr_assert_gt(fields, 900,
                 "the paths must be found, not only be absent in both: %zu in %zu records", fields,
                 records);
    cr_parser_free(a);
    cr_parser_free(b);
}

/* Epoch numbers: the magnitude says the unit (s, ms, us, ns); one past any
 * unit, negative or not finite is no time at all (found by fuzzing: the cast
 * of 1.7e76 to int64 was undefined). */
Test(json, epoch_numbers_out_of_range_are_not_times)
{
    cr_assert_eq(parse("{\"ts\":1772438400,\"msg\":\"x\"}"), CR_PARSE_OK);
    cr_assert_eq(EV.time_ms, 1772438400000LL);
    cr_assert_eq(parse("{\"ts\":1772438400123456789,\"msg\":\"x\"}"), CR_PARSE_OK);
    cr_assert_eq(EV.time_ms, 1772438400123LL, "nanoseconds");
    const char *bad[] = {"{\"ts\":1.7333333333333333e76,\"msg\":\"x\"}",
                         "{\"ts\":-5,\"msg\":\"x\"}", "{\"ts\":1e300,\"msg\":\"x\"}",
                         "{\"ts\":1e20,\"msg\":\"x\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(parse(bad[i]), CR_PARSE_FALLBACK, "%s", bad[i]);
        cr_assert(EV.flags & CR_EV_NO_TIME, "%s", bad[i]);
        cr_assert_eq(EV.time_ms, FALLBACK, "%s", bad[i]);
    }
}

/* A Windows event in the three shapes people ship has its host and time:
 * NXLog's flat fields (from OTRF's dataset), evtx_dump's Event.System,
 * Winlogbeat's winlog; the host is what Sigma's Windows incidents group by. */
Test(json, windows_event_shapes_have_host_and_time)
{
    parse("{\"EventID\":1,\"Channel\":\"Microsoft-Windows-Sysmon/Operational\","
          "\"Hostname\":\"WORKSTATION5\",\"TimeCreated\":\"2020-10-18T10:56:18.799Z\"}");
    field_is(CR_F_HOST, "WORKSTATION5");
    cr_assert_eq(EV.time_ms, 1603018578799LL);
    parse("{\"Event\":{\"System\":{\"EventID\":4688,\"Computer\":\"dc01.corp\","
          "\"TimeCreated\":{\"#attributes\":{\"SystemTime\":\"2026-03-02T08:00:00.000000Z\"}}}}}");
    field_is(CR_F_HOST, "dc01.corp");
    cr_assert_eq(EV.time_ms, 1772438400000LL);
    parse("{\"@timestamp\":\"2026-03-02T08:00:00Z\",\"winlog\":{\"computer_name\":\"ws6.corp\","
          "\"event_id\":1}}");
    field_is(CR_F_HOST, "ws6.corp");
    cr_assert_eq(EV.time_ms, 1772438400000LL);
}

/* A rule naming a container (an object or an array) matches its compact
 * text, strings decoded, whichever element holds the value; one too large
 * for the scratch area is absent rather than cut. */
Test(json, containers_are_their_compact_text)
{
    static const char *const names[CR_MAX_FIELDS] = {
        [CR_F__BUILTIN] = "requestParameters.ipPermissions",
        [CR_F__BUILTIN + 1] = "tags",
        [CR_F__BUILTIN + 2] = "big",
        [CR_F__BUILTIN + 3] = "empty",
    };
    struct cr_parse_opts o = {0};
    o.extra_names = names;
    o.n_extra_names = CR_F__BUILTIN + 4;
    struct cr_parser *p = cr_parser_new(&o);
    cr_assert_not_null(p);
    static char rec[40000];
    int n = snprintf(rec, sizeof rec,
                     "{\"eventName\":\"AuthorizeSecurityGroupIngress\",\"eventSource\":"
                     "\"ec2.amazonaws.com\",\"requestParameters\":{\"ipPermissions\":"
                     "{\"items\": [ {\"fromPort\":22, \"ipRanges\":{\"items\":[{\"cidrIp\":"
                     "\"10.0.0.0/8\"},{\"cidrIp\":\"0.0.0.0/0\",\"description\":\"a \\\"b\\\"\"}]},"
                     "\"ok\":true,\"x\":null,\"f\":1.5}]}},\"tags\":[\"a\",2],\"empty\":{},"
                     "\"big\":[\"");
    memset(rec + n, 'x', 20000);
    n += 20000;
    n += snprintf(rec + n, sizeof rec - (size_t)n, "\"]}");
    cr_parse(p, rec, (size_t)n, FALLBACK, &EV);
    cr_assert_field(
        &EV, CR_F__BUILTIN,
        "{\"items\":[{\"fromPort\":22,\"ipRanges\":{\"items\":[{\"cidrIp\":\"10.0.0.0/8\"},"
        "{\"cidrIp\":\"0.0.0.0/0\",\"description\":\"a \"b\"\"}]},\"ok\":true,\"x\":null,"
        "\"f\":1.5}]}");
    cr_assert_field(&EV, CR_F__BUILTIN + 1, "[\"a\",2]");
    cr_assert_field(&EV, CR_F__BUILTIN + 3, "{}");
    cr_assert_not(cr_event_has(&EV, CR_F__BUILTIN + 2), "20 kB does not fit: absent, not cut");
    cr_parser_free(p);
}

/* AKS: the audit event is JSON text in properties.log of an Azure
 * diagnostic record; GKE: a GCP audit entry of k8s.io whose methodName
 * spells the request. Both read as Kubernetes audit events. */
Test(json, aks_and_gke_kubernetes_audit_are_unwrapped)
{
    static const char aks[] =
        "{\"time\":\"2026-03-02T09:00:00.2Z\",\"category\":\"kube-audit\",\"operationName\":"
        "\"Microsoft.ContainerService/managedClusters/diagnosticLogs/"
        "Read\",\"properties\":{\"log\":"
        "\"{\\\"kind\\\":\\\"Event\\\",\\\"apiVersion\\\":\\\"audit.k8s.io/v1\\\",\\\"auditID\\\":"
        "\\\"x1\\\",\\\"verb\\\":\\\"create\\\",\\\"user\\\":{\\\"username\\\":\\\"dev\\\"},"
        "\\\"objectRef\\\":{\\\"resource\\\":\\\"pods\\\",\\\"subresource\\\":\\\"exec\\\"},"
        "\\\"responseStatus\\\":{\\\"code\\\":101},\\\"stageTimestamp\\\":"
        "\\\"2026-03-02T09:00:00.1Z\\\"}\",\"stream\":\"stdout\"}}";
    cr_assert_eq(parse(aks), CR_PARSE_OK);
    field_is(CR_F_SOURCE_PRODUCT, "k8s-audit");
    field_is(CR_F_USER, "dev");
    field_is(CR_F__BUILTIN + 1, "exec");
    time_is("2026-03-02T09:00:00.1Z");
    cr_assert(EV.raw.len == strlen(aks), "the raw record stays the envelope");

    static const char aks_broken[] =
        "{\"time\":\"2026-03-02T09:00:00.2Z\",\"category\":\"kube-audit\",\"properties\":"
        "{\"log\":\"{\\\"kind\\\":\\\"Event\\\",\\\"verb\\\":\",\"stream\":\"stdout\"}}";
    cr_assert_eq(parse(aks_broken), CR_PARSE_OK, "the envelope is read when its text is not JSON");
    cr_assert_not(has_value(CR_F_SOURCE_PRODUCT, "k8s-audit"));
    time_is("2026-03-02T09:00:00.2Z");

    static const char gke[] =
        "{\"insertId\":\"g1\",\"protoPayload\":{\"serviceName\":\"k8s.io\",\"methodName\":"
        "\"io.k8s.authorization.rbac.v1.clusterrolebindings.create\",\"authenticationInfo\":"
        "{\"principalEmail\":\"dev@city.gov\"}},\"timestamp\":\"2026-03-02T09:00:00.3Z\"}";
    cr_assert_eq(parse(gke), CR_PARSE_OK);
    field_is(CR_F_SOURCE_PRODUCT, "k8s-audit");
    field_is(CR_F_ACTION, "create");
    field_is(CR_F_OBJECT_TYPE, "clusterrolebindings");
    field_is(CR_F_USER, "dev@city.gov");
    static const char gke_sub[] =
        "{\"protoPayload\":{\"serviceName\":\"k8s.io\",\"methodName\":"
        "\"io.k8s.core.v1.pods.exec.create\"},\"timestamp\":\"2026-03-02T09:00:00.3Z\"}";
    parse(gke_sub);
    field_is(CR_F_OBJECT_TYPE, "pods");
    field_is(CR_F_ACTION, "create");
    static const char gke_odd[] = /* no version segment: left a GCP audit entry */
        "{\"protoPayload\":{\"serviceName\":\"k8s.io\",\"methodName\":\"io.k8s.get\"},"
        "\"timestamp\":\"2026-03-02T09:00:00.3Z\"}";
    parse(gke_odd);
    field_is(CR_F_SOURCE_PRODUCT, "gcp-audit");
}

/* CloudTrail shipped by Beats or Logstash may carry only @timestamp. */
Test(json, cloudtrail_time_from_at_timestamp)
{
    parse("{\"@timestamp\":\"2026-03-02T08:00:00.500Z\",\"eventSource\":\"iam.amazonaws.com\","
          "\"eventName\":\"CreateUser\"}");
    field_is(CR_F_SOURCE_PRODUCT, "cloudtrail");
    time_is("2026-03-02T08:00:00.500Z");
    parse("{\"eventTime\":\"2026-03-02T09:00:00Z\",\"@timestamp\":\"2026-03-02T08:00:00Z\","
          "\"eventSource\":\"iam.amazonaws.com\",\"eventName\":\"CreateUser\"}");
    time_is("2026-03-02T09:00:00Z"); /* eventTime first: when it happened, not when shipped */
}
