/*
 * metrics.c - GET /metrics: Prometheus text format 0.0.4, every name
 * starting corral_ (reference/ecosystem.md §1.8: Debian has no C client,
 * so the exposition is written here).
 *
 * Three sources, each described once:
 *  - the server's own counters (http.h, CR_HTTP_COUNTERS);
 *  - the store: its size against the map, its tables, and the incidents
 *    by category, level and state, with the open ones that are overdue.
 *    That needs a walk of every incident, so it is cached for
 *    METRICS_CACHE_MS (a scrape every 15 s of a store with a million
 *    incidents must not walk it every time); the walk reads the few
 *    members it needs from the stored bytes and parses only open
 *    incidents (overdue needs their deadlines);
 *  - the backend's (a running engine's counters, queue depths, Kafka lag,
 *    checkpoint age, reloads: cli/serve_run.c).
 */
#include "engine/serve/http.h"

#include "engine/grade/lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_CACHE_MS 10000
#define MAX_SERIES 4096

struct series {
    char category[32], level[8], status[24];
    uint64_t n, overdue;
};

struct tally {
    struct series *v;
    size_t n, cap;
    int64_t now;
    int full; /* more label sets than MAX_SERIES: the rest count as "other" */
};

/* The string value of "key" in raw JSON (the first occurrence: corral
 * writes these members once, at the top level, before any nested object
 * that could repeat the name), copied into out; "" if absent. */
static void raw_member(const char *json, size_t len, const char *key, char *out, size_t cap)
{
    char pat[40];
    int n = snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = memmem(json, len, pat, (size_t)n);
    out[0] = 0;
    if (!p)
        return;
    p += n;
    const char *end = memchr(p, '"', len - (size_t)(p - json));
    if (!end)
        return;
    size_t m = (size_t)(end - p) < cap - 1 ? (size_t)(end - p) : cap - 1;
    memcpy(out, p, m);
    out[m] = 0;
    for (size_t i = 0; i < m; i++) /* label values: keep them plain */
        if (out[i] == '\\' || (unsigned char)out[i] < 0x20)
            out[i] = '_';
}

static int tally_one(const char *json, size_t len, void *arg)
{
    struct tally *t = arg;
    struct series s = {"", "", "", 1, 0};
    raw_member(json, len, "category", s.category, sizeof s.category);
    raw_member(json, len, "reg_level", s.level, sizeof s.level);
    raw_member(json, len, "status", s.status, sizeof s.status);
    if (cr_state_parse(s.status) < CR_ST_CLOSED) {
        json_t *o = json_loadb(json, len, 0, NULL);
        json_t *od = o ? cr_incident_overdue(o, t->now) : NULL;
        s.overdue = json_array_size(od) > 0;
        json_decref(od);
        json_decref(o);
    }
    for (size_t i = 0; i < t->n; i++) {
        struct series *x = &t->v[i];
        if (!strcmp(x->category, s.category) && !strcmp(x->level, s.level) &&
            !strcmp(x->status, s.status)) {
            x->n++;
            x->overdue += s.overdue;
            return 0;
        }
    }
    if (t->n == MAX_SERIES) { /* "other" is there: it takes the rest */
        t->v[MAX_SERIES - 1].n++;
        t->v[MAX_SERIES - 1].overdue += s.overdue;
        return 0;
    }
    if (t->n == MAX_SERIES - 1) {
        /* the last series is "other": every label set past the others */
        t->full = 1;
        snprintf(s.category, sizeof s.category, "other");
        snprintf(s.level, sizeof s.level, "other");
        snprintf(s.status, sizeof s.status, "other");
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct series *v = realloc(t->v, cap * sizeof *v);
        if (!v)
            return 1;
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n++] = s;
    return 0;
}

static char *incident_series(struct cr_server *srv)
{
    struct tally t = {NULL, 0, 0, cr_http_now(srv), 0};
    struct cr_query q = CR_QUERY_ALL;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return NULL;
    int rc = cr_store_query(srv->b.store, &q, tally_one, &t);
    fputs("# HELP corral_incidents Stored incidents by category, level and state.\n"
          "# TYPE corral_incidents gauge\n",
          m);
    for (size_t i = 0; rc == 0 && i < t.n; i++)
        fprintf(m, "corral_incidents{category=\"%s\",reg_level=\"%s\",status=\"%s\"} %llu\n",
                t.v[i].category, t.v[i].level[0] ? t.v[i].level : "none",
                t.v[i].status[0] ? t.v[i].status : "detected", (unsigned long long)t.v[i].n);
    fputs("# HELP corral_incidents_overdue Open incidents past a deadline they have not met.\n"
          "# TYPE corral_incidents_overdue gauge\n",
          m);
    uint64_t overdue = 0;
    for (size_t i = 0; rc == 0 && i < t.n; i++) {
        overdue += t.v[i].overdue;
        if (t.v[i].overdue)
            fprintf(m, "corral_incidents_overdue{category=\"%s\",reg_level=\"%s\"} %llu\n",
                    t.v[i].category, t.v[i].level[0] ? t.v[i].level : "none",
                    (unsigned long long)t.v[i].overdue);
    }
    fprintf(m,
            "# HELP corral_open_incidents_overdue Open incidents past a deadline, all together.\n"
            "# TYPE corral_open_incidents_overdue gauge\ncorral_open_incidents_overdue %llu\n",
            (unsigned long long)overdue);
    fprintf(m,
            "# HELP corral_metrics_series_truncated 1 when incidents had more label sets than %d.\n"
            "# TYPE corral_metrics_series_truncated gauge\ncorral_metrics_series_truncated %d\n",
            MAX_SERIES, t.full);
    fclose(m);
    free(t.v);
    if (rc != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

void cr_metrics_handle(struct cr_req *r)
{
    struct cr_server *s = r->srv;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return cr_http_error(r, 500, "out of memory");
    fprintf(m,
            "# HELP corral_build_info corral's version.\n# TYPE corral_build_info gauge\n"
            "corral_build_info{version=\"%s\"} 1\n",
            CORRAL_VERSION);
#define CR_HTTP_PROM(field, name, help)                                                            \
    fprintf(m, "# HELP %s %s.\n# TYPE %s counter\n%s %llu\n", name, help, name, name,              \
            (unsigned long long)atomic_load(&s->stats.field));
    CR_HTTP_COUNTERS(CR_HTTP_PROM)
#undef CR_HTTP_PROM
    struct cr_store_usage u;
    if (cr_store_usage(s->b.store, &u) == 0) {
        fprintf(m,
                "# HELP corral_store_map_bytes The store's map size: it cannot grow past it.\n"
                "# TYPE corral_store_map_bytes gauge\ncorral_store_map_bytes %llu\n"
                "# HELP corral_store_used_bytes Bytes of the map in use.\n"
                "# TYPE corral_store_used_bytes gauge\ncorral_store_used_bytes %llu\n"
                "# HELP corral_store_map_used_ratio Used bytes over the map size.\n"
                "# TYPE corral_store_map_used_ratio gauge\ncorral_store_map_used_ratio %.6f\n"
                "# HELP corral_store_incidents_stored Incidents in the store.\n"
                "# TYPE corral_store_incidents_stored gauge\ncorral_store_incidents_stored %llu\n"
                "# HELP corral_store_rejects_stored Rejected raw records kept in the store.\n"
                "# TYPE corral_store_rejects_stored gauge\ncorral_store_rejects_stored %llu\n"
                "# HELP corral_store_state_entries Correlation state entries checkpointed.\n"
                "# TYPE corral_store_state_entries gauge\ncorral_store_state_entries %llu\n"
                "# HELP corral_store_commits_total Write transactions committed to the store.\n"
                "# TYPE corral_store_commits_total counter\ncorral_store_commits_total %llu\n",
                (unsigned long long)u.map_bytes, (unsigned long long)u.used_bytes,
                u.map_bytes ? (double)u.used_bytes / (double)u.map_bytes : 0.0,
                (unsigned long long)u.incidents, (unsigned long long)u.rejects,
                (unsigned long long)u.state_entries, (unsigned long long)u.last_txn);
    }
    int64_t now = cr_http_now(s);
    pthread_mutex_lock(&s->cache_mu);
    if (!s->cache_text || now - s->cache_at >= METRICS_CACHE_MS || now < s->cache_at) {
        char *t = incident_series(s);
        if (t) {
            free(s->cache_text);
            s->cache_text = t;
            s->cache_at = now;
        }
    }
    if (s->cache_text)
        fputs(s->cache_text, m);
    pthread_mutex_unlock(&s->cache_mu);
    if (s->b.metrics)
        s->b.metrics(s->b.arg, m);
    fclose(m);
    cr_http_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", buf, len);
}
