/*
 * bench_json.c - the measurement behind "simdjson, not jansson" for JSON
 * records (reference/ecosystem.md 6.1, redone on corral's own code path).
 *
 * Loads real Kubernetes audit events (falco-k8s-audit/events) and CloudTrail
 * records (panther-cloud-rule-tests/rule_tests.jsonl) from ../shared/data,
 * or falls back to two embedded synthetic records when that is absent.
 * Then, per data set:
 *   - corral: cr_parse_json() - simdjson DOM parse + the full mapping of
 *     json_event.c (detection, ~12 path lookups, time parsing);
 *   - jansson: json_loadb() + the same field lookups by path + the same
 *     time parsing + json_decref(), i.e. what a jansson-based
 *     json_event.c would do per record.
 * Prints events/s and MB/s of both and the ratio.
 *
 * Usage: bench_json [seconds-per-measurement (default 2)] [data dir]
 * (default data dir: ../shared/data beside the source tree)
 */
#include "parsers/parser.h"
#include "base/timeparse.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <time.h>

struct recs {
    char **p;
    size_t *len;
    size_t n, cap, bytes;
};

static void add(struct recs *r, const char *s, size_t len)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->p = realloc(r->p, r->cap * sizeof *r->p);
        r->len = realloc(r->len, r->cap * sizeof *r->len);
        if (!r->p || !r->len)
            abort();
    }
    r->p[r->n] = malloc(len);
    memcpy(r->p[r->n], s, len);
    r->len[r->n++] = len;
    r->bytes += len;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void load_k8s(const char *data, struct recs *r)
{
    char dir[8192];
    snprintf(dir, sizeof dir, "%s/falco-k8s-audit/events", data);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strstr(de->d_name, ".json"))
            continue;
        char path[8192 + 512];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "r");
        char line[1 << 16];
        while (f && fgets(line, sizeof line, f)) {
            size_t l = strcspn(line, "\r\n");
            if (l && strstr(line, "\"kind\":\"Event\""))
                add(r, line, l);
        }
        if (f)
            fclose(f);
    }
    closedir(d);
}

static void load_cloudtrail(const char *data, struct recs *r)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/panther-cloud-rule-tests/rule_tests.jsonl", data);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    static char line[1 << 20];
    while (fgets(line, sizeof line, f)) {
        json_t *row = json_loads(line, 0, NULL);
        json_t *log = json_object_get(row, "log");
        if (json_is_string(json_object_get(log, "eventName")) &&
            json_is_string(json_object_get(log, "eventSource"))) {
            char *s = json_dumps(log, JSON_COMPACT);
            add(r, s, strlen(s));
            free(s);
        }
        json_decref(row);
    }
    fclose(f);
}

static const char SYN_K8S[] =
    "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":"
    "\"0b1c\",\"stage\":\"ResponseComplete\",\"requestURI\":\"/api/v1/namespaces/prod/pods/web-0/"
    "exec?command=sh\",\"verb\":\"create\",\"user\":{\"username\":\"alice\",\"groups\":[\"dev\","
    "\"system:authenticated\"]},\"sourceIPs\":[\"10.0.0.7\"],\"userAgent\":\"kubectl/v1.29.1\","
    "\"objectRef\":{\"resource\":\"pods\",\"namespace\":\"prod\",\"name\":\"web-0\","
    "\"apiVersion\":\"v1\",\"subresource\":\"exec\"},\"responseStatus\":{\"metadata\":{},"
    "\"code\":101},\"requestReceivedTimestamp\":\"2026-11-21T10:00:00.000001Z\","
    "\"stageTimestamp\":\"2026-11-21T10:00:00.250000Z\",\"annotations\":{"
    "\"authorization.k8s.io/decision\":\"allow\",\"authorization.k8s.io/reason\":\"RBAC\"}}";
static const char SYN_CT[] =
    "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"principalId\":\"AIDA\","
    "\"arn\":\"arn:aws:iam::123456789012:user/bob\",\"accountId\":\"123456789012\",\"accessKeyId\":"
    "\"AKIA\",\"userName\":\"bob\"},\"eventTime\":\"2026-11-21T10:00:00Z\",\"eventSource\":"
    "\"iam.amazonaws.com\",\"eventName\":\"AttachUserPolicy\",\"awsRegion\":\"us-east-1\","
    "\"sourceIPAddress\":\"198.51.100.7\",\"userAgent\":\"aws-cli/2.15.0 Python/3.11\","
    "\"requestParameters\":{\"userName\":\"eve\",\"policyArn\":\"arn:aws:iam::aws:policy/"
    "AdministratorAccess\"},\"responseElements\":null,\"requestID\":\"r-1\",\"eventID\":\"e-1\","
    "\"readOnly\":false,\"eventType\":\"AwsApiCall\",\"recipientAccountId\":\"123456789012\"}";

/* Path lookup in jansson, dotted with numeric array indexes. */
static json_t *jpath(json_t *v, const char *path)
{
    char seg[128];
    while (v && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof seg)
            return NULL;
        memcpy(seg, path, n);
        seg[n] = 0;
        v = json_is_array(v) ? json_array_get(v, strtoul(seg, NULL, 10)) : json_object_get(v, seg);
        path += n + (path[n] == '.');
    }
    return v;
}

static size_t jstr(json_t *root, const char *path)
{
    json_t *v = jpath(root, path);
    return json_is_string(v) ? json_string_length(v) : 0;
}

/* The jansson equivalent of json_event.c for these two kinds. */
static size_t jansson_one(const char *s, size_t len)
{
    json_t *root = json_loadb(s, len, 0, NULL);
    if (!root)
        return 0;
    size_t acc = 0;
    int64_t t = 0;
    json_t *kind = json_object_get(root, "kind");
    if (json_is_string(kind) && strcmp(json_string_value(kind), "Event") == 0) {
        static const char *const k[] = {"user.username",  "sourceIPs.0",
                                        "verb",           "objectRef.resource",
                                        "userAgent",      "auditID",
                                        "requestURI",     "objectRef.namespace",
                                        "objectRef.name", "responseStatus.reason"};
        for (size_t i = 0; i < sizeof k / sizeof *k; i++)
            acc += jstr(root, k[i]);
        acc += (size_t)json_integer_value(jpath(root, "responseStatus.code"));
        json_t *ts = json_object_get(root, "stageTimestamp");
        if (json_is_string(ts))
            cr_time_parse_rfc3339(json_string_value(ts), json_string_length(ts), 0, &t);
    } else {
        static const char *const k[] = {"eventName",        "eventSource",
                                        "sourceIPAddress",  "userIdentity.userName",
                                        "userIdentity.arn", "recipientAccountId",
                                        "errorCode",        "userAgent",
                                        "eventID",          "responseElements.ConsoleLogin"};
        for (size_t i = 0; i < sizeof k / sizeof *k; i++)
            acc += jstr(root, k[i]);
        json_t *ts = json_object_get(root, "eventTime");
        if (json_is_string(ts))
            cr_time_parse_rfc3339(json_string_value(ts), json_string_length(ts), 0, &t);
    }
    json_decref(root);
    return acc + (size_t)(t & 1);
}

static double run(int which, struct cr_parser *p, const struct recs *r, double secs, size_t *n_out)
{
    size_t n = 0, sink = 0;
    struct cr_event ev;
    /* warm-up: grow simdjson's buffers, fault in pages */
    for (size_t i = 0; i < r->n; i++)
        sink += which ? jansson_one(r->p[i], r->len[i])
                      : (cr_parse_json(p, r->p[i], r->len[i], 0, &ev), ev.present[0]);
    double t0 = now_s(), t1;
    do {
        for (int rep = 0; rep < 50; rep++)
            for (size_t i = 0; i < r->n; i++) {
                if (which) {
                    sink += jansson_one(r->p[i], r->len[i]);
                } else {
                    cr_parse_json(p, r->p[i], r->len[i], 0, &ev);
                    sink += ev.present[0] + ev.f[CR_F_USER].len;
                }
                n++;
            }
        t1 = now_s();
    } while (t1 - t0 < secs);
    if (sink == 42)
        fputs("", stderr); /* keep the work observable */
    *n_out = n;
    return (double)n / (t1 - t0);
}

static void bench(const char *name, struct cr_parser *p, const struct recs *r, double secs)
{
    size_t n;
    double avg = (double)r->bytes / (double)r->n;
    double simd = run(0, p, r, secs, &n);
    double jan = run(1, p, r, secs, &n);
    printf("%-11s %4zu records, avg %5.0f B | corral/simdjson %9.0f ev/s %7.1f MB/s | "
           "jansson %8.0f ev/s %6.1f MB/s | ratio %.1fx\n",
           name, r->n, avg, simd, simd * avg / 1e6, jan, jan * avg / 1e6, simd / jan);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 2.0;
    char data[4096];
    if (argc > 2) {
        snprintf(data, sizeof data, "%s", argv[2]);
    } else {
        /* ../shared/data next to the source tree, found from this file's
         * path (absolute under CMake, relative to the tree otherwise). */
        const char *slash = strrchr(__FILE__, '/');
        int dir_len = slash ? (int)(slash - __FILE__) : 1;
        snprintf(data, sizeof data, "%.*s/../../shared/data", dir_len, slash ? __FILE__ : ".");
    }
    struct recs k8s = {0}, ct = {0};
    load_k8s(data, &k8s);
    load_cloudtrail(data, &ct);
    const char *origin = "real data from ";
    if (k8s.n == 0 || ct.n == 0) {
        origin = "synthetic records (data absent): ";
        if (k8s.n == 0)
            add(&k8s, SYN_K8S, sizeof SYN_K8S - 1);
        if (ct.n == 0)
            add(&ct, SYN_CT, sizeof SYN_CT - 1);
    }
    printf("bench_json: %s%s, %.1f s per measurement\n", origin, data, secs);
    struct cr_parse_opts o = {0};
    o.format = CR_FMT_JSON;
    struct cr_parser *p = cr_parser_new(&o);
    if (!p)
        return 1;
    bench("k8s-audit", p, &k8s, secs);
    bench("cloudtrail", p, &ct, secs);
    cr_parser_free(p);
    return 0;
}
