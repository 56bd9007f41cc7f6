/*
 * bench_query.c - how fast the HTTP API answers on a large store, and
 * whether it keeps answering while a writer writes at full speed.
 *
 *   bench_query [--incidents N] [--requests R] [--dir DIR]
 *
 * Builds a store of N incidents (default 1,000,000) shaped as the engine
 * writes them (entities, tenants, systems, grading, deadlines, history;
 * about 1.5 KB each), over 40 categories, 4 levels, 11 states and 60
 * tenants, then starts the server in this process (engine/serve, 4
 * threads, the audit log on) and times R requests (default 200) of each
 * query over loopback, one client: p50, p99 and the maximum, in ms. The
 * baseline of the same run is the store walk alone: the same first page
 * read with cr_store_query in this process (no HTTP, no JSON parse, no
 * audit), so the ratio says what the API adds. Then the same queries
 * again while another thread writes new incidents as fast as the store
 * takes them (batches of 1,000, one durable commit each), as `corral run`
 * does.
 *
 * Figures: docs/benchmarks.md, "HTTP API query latency". No assertion:
 * a benchmark measures, tests check.
 */
#include "engine/grade/lifecycle.h"
#include "engine/serve/audit.h"
#include "engine/serve/server.h"
#include "engine/serve/tokens.h"
#include "engine/store/incident.h"
#include "engine/store/store.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TOKEN "bench-operator-token-000000001"
#define TENANT_TOKEN "bench-tenant-token-00000000002"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const char *const states[] = {
    "detected", "acknowledged",       "graded", "reported",     "on_site", "mitigated", "restored",
    "resolved", "verified_by_tenant", "closed", "summary_filed"};
static const char *const levels[] = {"I", "II", "III", "IV"};

/* Incident i, as stored JSON and its index. */
static char *make(uint64_t i, struct cr_incident *idx)
{
    struct cr_incident inc;
    memset(&inc, 0, sizeof inc);
    char key[64];
    snprintf(key, sizeof key, "10.%u.%u.%u", (unsigned)(i >> 16 & 255), (unsigned)(i >> 8 & 255),
             (unsigned)(i & 255));
    snprintf(inc.rule, sizeof inc.rule, "rule.%02u", (unsigned)(i % 40));
    int64_t t0 = 1772438400000LL + (int64_t)i * 3000; /* one every 3 s from 2026-03-02 */
    cr_incident_make_id(inc.id, inc.rule, key, strlen(key), t0);
    snprintf(inc.title, sizeof inc.title, "Benchmark incident %llu of rule %s",
             (unsigned long long)i, inc.rule);
    snprintf(inc.category, sizeof inc.category, "%s-%02u", i % 2 ? "S-ATK" : "F-NET",
             (unsigned)(i % 40));
    snprintf(inc.reg_category, sizeof inc.reg_category, "NA/NACRED");
    snprintf(inc.priority, sizeof inc.priority, "P%u", (unsigned)(1 + i % 4));
    snprintf(inc.status, sizeof inc.status, "detected");
    inc.nentities = 2;
    snprintf(inc.entities[0].name, sizeof inc.entities[0].name, "src_ip");
    snprintf(inc.entities[0].value, sizeof inc.entities[0].value, "%s", key);
    snprintf(inc.entities[1].name, sizeof inc.entities[1].name, "host");
    snprintf(inc.entities[1].value, sizeof inc.entities[1].value, "host-%03u", (unsigned)(i % 997));
    inc.window_start_ms = inc.first_seen_ms = t0;
    inc.last_seen_ms = t0 + 60000;
    inc.event_count = 5 + (int64_t)(i % 50);
    char *j = cr_incident_to_json(&inc, NULL, 0);
    json_t *o = json_loads(j, 0, NULL);
    free(j);
    char t[16];
    snprintf(t, sizeof t, "t-%02u", (unsigned)(i % 60));
    json_object_set_new(o, "status", json_string(states[i % 11]));
    json_object_set_new(o, "reg_level", json_string(levels[(i / 7) % 4]));
    json_object_set_new(o, "tenants", json_pack("[s]", t));
    json_object_set_new(o, "systems",
                        json_pack("[{s:s,s:s,s:s,s:s}]", "id", "sys", "name", "业务系统", "tier",
                                  "T2", "tenant", t));
    json_object_set_new(o, "grading",
                        json_pack("{s:s,s:s,s:[s,s]}", "tier", "T2", "loss", "L3", "reasons",
                                  "sys (T2): 1 host compromised -> loss L3; matrix T2 x L3 -> III",
                                  "priority P2: level III"));
    json_object_set_new(o, "respond_due", json_string("2026-03-02T10:00:00.000Z"));
    json_object_set_new(o, "resolve_due", json_string("2026-03-05T08:00:00.000Z"));
    json_object_set_new(o, "history",
                        json_pack("[{s:s,s:s,s:s,s:s,s:s}]", "at", "2026-03-02T08:00:00.000Z",
                                  "actor", "corral", "role", "engine", "action", "grade", "to",
                                  "III/P2"));
    cr_incident_index_from_json(o, idx);
    char *out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return out;
}

static int fill(struct cr_store *s, uint64_t from, uint64_t n)
{
    for (uint64_t b = from; b < from + n; b += 1000) {
        if (cr_store_begin(s) != 0)
            return -1;
        for (uint64_t i = b; i < b + 1000 && i < from + n; i++) {
            struct cr_incident idx;
            char *j = make(i, &idx);
            int rc = cr_store_put_incident(s, &idx, j, strlen(j));
            free(j);
            if (rc)
                return -1;
        }
        if (cr_store_commit(s) != 0)
            return -1;
    }
    return 0;
}

/* One GET over a fresh loopback connection; returns the status. */
static int get(int port, const char *path, const char *token)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    char req[2048];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                     "Connection: close\r\n\r\n",
                     path, token);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    static _Thread_local char buf[1 << 16];
    int status = -1, first = 1;
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0)
        if (first) {
            status = atoi(buf + 9);
            first = 0;
        }
    close(fd);
    return status;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void measure(int port, const char *name, const char *path, const char *token, int reqs)
{
    double *t = malloc(sizeof *t * (size_t)reqs);
    int bad = 0;
    for (int i = 0; i < reqs; i++) {
        double t0 = now_ms();
        bad += get(port, path, token) != 200;
        t[i] = now_ms() - t0;
    }
    qsort(t, (size_t)reqs, sizeof *t, cmp);
    printf("  %-34s p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms%s\n", name, t[reqs / 2],
           t[(reqs * 99) / 100], t[reqs - 1], bad ? "  (non-200 answers!)" : "");
    free(t);
}

struct page {
    int n;
};
static int count(const char *json, size_t len, void *arg)
{
    (void)json;
    (void)len;
    return ++((struct page *)arg)->n >= 51;
}

struct writer {
    struct cr_store *s;
    uint64_t next;
    atomic_int stop;
    uint64_t written;
    double ms;
};

static void *write_loop(void *arg)
{
    struct writer *w = arg;
    double t0 = now_ms();
    while (!atomic_load(&w->stop)) {
        if (fill(w->s, w->next, 1000) != 0)
            break;
        w->next += 1000;
        w->written += 1000;
    }
    w->ms = now_ms() - t0;
    return NULL;
}

int main(int argc, char **argv)
{
    uint64_t n = 1000000;
    int reqs = 200;
    const char *dir = "/tmp/corral-bench-query";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--incidents"))
            n = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--requests"))
            reqs = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--dir"))
            dir = argv[i + 1];
    }
    char cmd[4200], err[1024];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    if (system(cmd) != 0)
        return 1;
    char sdir[4200];
    snprintf(sdir, sizeof sdir, "%s/st", dir);
    struct cr_store_opts so = {.map_size = 16ULL << 30};
    struct cr_store *s = cr_store_open(sdir, &so, err, sizeof err);
    if (!s) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    double t0 = now_ms();
    if (fill(s, 0, n) != 0) {
        fprintf(stderr, "filling: %s\n", cr_store_errmsg(s));
        return 1;
    }
    struct cr_store_usage u;
    cr_store_usage(s, &u);
    printf("store: %llu incidents, %.0f MB used, filled in %.1f s\n",
           (unsigned long long)u.incidents, u.used_bytes / 1e6, (now_ms() - t0) / 1e3);

    char tpath[4200], apath[4200];
    snprintf(tpath, sizeof tpath, "%s/tokens.yaml", dir);
    FILE *f = fopen(tpath, "w");
    fprintf(f,
            "tokens:\n  - {name: bench, role: operator, token: %s}\n"
            "  - {name: t07, role: tenant, tenants: [t-07], token: %s}\n",
            TOKEN, TENANT_TOKEN);
    fclose(f);
    snprintf(apath, sizeof apath, "%s/audit.log", dir);
    struct cr_tokens *tok = cr_tokens_load(tpath, err, sizeof err);
    struct cr_audit *au = cr_audit_open(apath, NULL, err, sizeof err);
    struct cr_serve_backend b = {
        .store = s, .tokens = tok, .audit = au, .audit_path = apath, .writer = "bench"};
    struct cr_serve_opts o = {.listen = "127.0.0.1:0", .threads = 4};
    struct cr_server *srv = cr_server_start(&o, &b, err, sizeof err);
    if (!tok || !au || !srv) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    int port = cr_server_port(srv);

    /* baseline: the first page straight from the store */
    double *bt = malloc(sizeof *bt * (size_t)reqs);
    for (int i = 0; i < reqs; i++) {
        struct cr_query q = CR_QUERY_ALL;
        struct page p = {0};
        double a = now_ms();
        cr_store_query(s, &q, count, &p);
        bt[i] = now_ms() - a;
    }
    qsort(bt, (size_t)reqs, sizeof *bt, cmp);
    printf("baseline, the first 51 incidents by cr_store_query: p50 %.3f ms  p99 %.3f ms\n",
           bt[reqs / 2], bt[(reqs * 99) / 100]);
    free(bt);

    static const struct {
        const char *name, *path;
        int tenant;
    } qs[] = {
        {"first page, no filter", "/api/v1/incidents", 0},
        {"status=detected (1 in 11)", "/api/v1/incidents?status=detected", 0},
        {"reg_level=I&priority=P1", "/api/v1/incidents?reg_level=I&priority=P1", 0},
        {"category=S-ATK (prefix)", "/api/v1/incidents?category=S-ATK", 0},
        {"tenant token (1 tenant of 60)", "/api/v1/incidents", 1},
        {"host=host-042 (entity index)", "/api/v1/incidents?host=host-042", 0},
        {"one incident by id", NULL, 0},
    };
    struct cr_incident first;
    char *fj = make(n / 2, &first);
    free(fj);
    char one[128];
    snprintf(one, sizeof one, "/api/v1/incidents/%s", first.id);
    printf("API over loopback, %d requests each, one client:\n", reqs);
    for (size_t i = 0; i < sizeof qs / sizeof *qs; i++)
        measure(port, qs[i].name, qs[i].path ? qs[i].path : one,
                qs[i].tenant ? TENANT_TOKEN : TOKEN, reqs);
    printf("API while a writer thread commits batches of 1,000 new incidents:\n");
    struct writer w = {s, n, 0, 0, 0};
    pthread_t th;
    pthread_create(&th, NULL, write_loop, &w);
    for (size_t i = 0; i < sizeof qs / sizeof *qs; i++)
        measure(port, qs[i].name, qs[i].path ? qs[i].path : one,
                qs[i].tenant ? TENANT_TOKEN : TOKEN, reqs);
    atomic_store(&w.stop, 1);
    pthread_join(th, NULL);
    printf("  (the writer wrote %llu incidents meanwhile, %.0f/s)\n", (unsigned long long)w.written,
           w.written / (w.ms / 1e3));
    cr_server_stop(srv);
    cr_audit_close(au);
    cr_tokens_free(tok);
    cr_store_close(s);
    return 0;
}
