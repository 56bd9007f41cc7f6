/*
 * seedgen.c - writes the seeds of the fuzz targets whose inputs are binary
 * encodings that no file in the repository holds:
 *   OUTDIR/checkpoint/  checkpoint deltas, made by cr_correlator_snapshot
 *                       and cr_reorder_snapshot over the rule set of
 *                       fuzz_rules_fixture.h while matches of every
 *                       consumer are fed (the bytes a real run writes);
 *   OUTDIR/incident/    incident JSON made by cr_incident_to_json from the
 *                       incidents those matches open (what the store holds);
 *   OUTDIR/cloudevents/ Kafka header sets + values in the layout
 *                       fuzz_cloudevents.c reads (binary and structured
 *                       mode, a missing attribute, a null header, ...).
 * Run by seeds.sh; not a fuzz target itself.
 */
#include "fuzz_rules_fixture.h"
#include "engine/store/checkpoint.h"
#include "engine/correlate/correlate.h"
#include "engine/store/incident.h"
#include "engine/pipeline/reorder.h"
#include "rules/ruleset.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *out;
static int nseed;

static void write_seed(const char *sub, const void *p, size_t len)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", out, sub);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/gen-%04d", out, sub, nseed++);
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(p, 1, len, f) != len)) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

static struct cr_ruleset *rs;
static struct cr_correlator *c;
static struct cr_reorder *ro;
static uint64_t pos;

static void feed(const char *rule, int route, const char *key, int64_t sec, const char *value,
                 int held)
{
    struct cr_match m;
    memset(&m, 0, sizeof m);
    m.kind = CR_MSG_MATCH;
    int r = cr_ruleset_find_rule(rs, rule);
    if (r < 0 || route >= rs->rules[r].nroutes)
        return;
    m.rule = (uint32_t)r;
    m.route = (uint8_t)route;
    m.key_len = (uint16_t)strlen(key);
    memcpy(m.key, key, m.key_len);
    m.time_ms = 1772438400000LL + sec * 1000;
    m.seen_ms = INT64_MIN;
    m.position = ++pos;
    m.src = 0x1234u + (uint32_t)(pos % 3);
    m.tenant = (uint32_t)(pos % 2);
    m.value = value ? (uint64_t)strlen(value) * 0x9e3779b97f4a7c15ull + (unsigned char)value[0] : 0;
    m.raw_len = (uint16_t)snprintf(m.raw, sizeof m.raw, "%s %s %lld", rule, key, (long long)sec);
    if (held) {
        int64_t behind;
        cr_reorder_push(ro, &m, &behind);
    } else
        cr_correlator_apply(c, &m);
}

static void flush_incidents(void)
{
    struct cr_version *h = NULL, *t = NULL;
    cr_correlator_flush(c, &h, &t);
    static const char *const names[] = {"auth.log", "kafka:logs/0"};
    for (struct cr_version *w = h, *nx; w; w = nx) {
        nx = w->next;
        char *json = cr_incident_to_json(&w->inc, names, 2);
        if (json) {
            write_seed("incident", json, strlen(json));
            free(json);
        }
        free(w);
    }
}

static void snapshot(int with_reorder)
{
    size_t len = 0;
    char *d = cr_correlator_snapshot(c, &len);
    if (len)
        write_seed("checkpoint", d, len);
    if (with_reorder) {
        struct cr_ckpt_buf b = {0};
        cr_reorder_snapshot(ro, &b);
        if (b.len)
            write_seed("checkpoint", b.p, b.len);
        /* a delta holding both, as a shard's checkpoint does */
        if (b.len && len) {
            char *both = malloc(len + b.len);
            memcpy(both, d, len);
            memcpy(both + len, b.p, b.len);
            write_seed("checkpoint", both, len + b.len);
            free(both);
        }
        free(b.p);
    }
    free(d);
}

static void scenario(int tenant_budget)
{
    c = cr_correlator_new(rs, 1000);
    if (tenant_budget)
        cr_correlator_set_tenant_budget(c, 2);
    cr_correlator_enable_checkpoints(c);
    ro = cr_reorder_new(rs, 5000, 0, 1u << 20);
    const char *ips[] = {"203.0.113.7", "198.51.100.1", "192.0.2.9"};
    for (int i = 0; i < 3; i++) {
        const char *ip = ips[i];
        for (int k = 0; k < 2 + i; k++)
            feed("fail", 0, ip, 10 * i + k, NULL, 0);
        snapshot(0);
        feed("ok", 0, ip, 10 * i + 5, NULL, 0);
        feed("fail", 1, "root", 10 * i + 6, NULL, 0);
        feed("deny", 0, ip, 10 * i + 7, "22", 0);
        feed("deny", 0, ip, 10 * i + 8, "23", 0);
        feed("deny", 0, ip, 10 * i + 9, "8080", 0);
        snapshot(0);
    }
    feed("panic", 0, "db-01", 40, NULL, 0);
    feed("req", 0, "web-01", 41, NULL, 0);
    feed("req", 0, "web-01", 42, NULL, 0);
    feed("bstart", 0, "nas-01", 43, NULL, 0);
    feed("console", 0, "alice", 44, "192.0.2.1", 0);
    feed("console", 0, "alice", 1000, "192.0.2.2", 0);
    feed("sudo", 0, "alice", 45, NULL, 0);
    feed("ok", 1, "alice", 46, NULL, 0);
    feed("fail", 0, "203.0.113.99", 50, NULL, 1);
    feed("sudo", 0, "bob", 51, NULL, 1);
    snapshot(1);
    flush_incidents();
    snapshot(1);
    cr_correlator_advance(c, 1772438400000LL + 7200 * 1000LL); /* absence fires, states expire */
    flush_incidents();
    snapshot(1);
    cr_reorder_free(ro);
    cr_correlator_free(c);
}

/* fuzz_cloudevents.c's layout */
struct hdr {
    const char *name, *value; /* value NULL: a null header */
};

static void ce_seed(const struct hdr *h, int n, const char *value)
{
    unsigned char buf[8192];
    size_t i = 0;
    buf[i++] = (unsigned char)n;
    for (int k = 0; k < n; k++) {
        size_t nl = strlen(h[k].name);
        buf[i++] = (unsigned char)nl;
        memcpy(buf + i, h[k].name, nl);
        i += nl;
        size_t vl = h[k].value ? strlen(h[k].value) : 0xffff;
        buf[i++] = (unsigned char)(vl >> 8);
        buf[i++] = (unsigned char)vl;
        if (h[k].value) {
            memcpy(buf + i, h[k].value, vl);
            i += vl;
        }
    }
    buf[i++] = 0;
    buf[i++] = 200; /* small output capacity */
    size_t l = strlen(value);
    memcpy(buf + i, value, l);
    write_seed("cloudevents", buf, i + l);
}

static void cloudevents_seeds(void)
{
    struct hdr bin[] = {{"ce_specversion", "1.0"},
                        {"ce_id", "A234-1234-1234"},
                        {"ce_source", "/mycontext/subcontext"},
                        {"ce_type", "com.example.someevent"},
                        {"ce_time", "2018-04-05T03:56:24Z"},
                        {"ce_subject", "users/alice"},
                        {"ce_comexampleextension1", "value"},
                        {"content-type", "application/json; charset=utf-8"}};
    ce_seed(bin, 8, "{\"user\":\"alice\",\"action\":\"login\",\"ok\":true}");
    ce_seed(bin, 7, "plain text data");
    bin[7].value = "application/octet-stream";
    ce_seed(bin, 8, "\x01\x02\xff\xfe binary");
    bin[7].value = "application/cloudevents+json";
    ce_seed(bin, 8,
            "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/s\",\"type\":\"t\",\"data\":{}}");
    bin[7].value = "application/cloudevents-batch+json";
    ce_seed(bin, 8, "[]");
    bin[7].value = "text/json";
    ce_seed(bin, 8, "[1, 2.5e3, \"\\ud83d\\ude00\", null, {\"a\":[{}]}]");
    bin[7].value = "application/vnd.x+json";
    ce_seed(bin, 8, "{bad json");
    struct hdr missing[] = {{"ce_specversion", "1.0"}, {"ce_id", "1"}, {"ce_type", "t"}};
    ce_seed(missing, 3, "");
    struct hdr nul[] = {{"ce_specversion", "1.0"}, {"ce_id", "1"}, {"ce_source", "/s"},
                        {"ce_type", "t"},          {"ce_ID", "2"}, {"ce_datacontenttype", NULL}};
    ce_seed(nul, 6, "x");
    struct hdr v03[] = {{"ce_specversion", "0.3"},
                        {"ce_id", "1"},
                        {"ce_source", "/s"},
                        {"ce_type", "t"},
                        {"ce_data", "d"}};
    ce_seed(v03, 5, "");
    struct hdr none[] = {{"content-type", "application/json"}, {"key", "k"}};
    ce_seed(none, 2, "{\"a\":1}");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    out = argv[1];
    mkdir(out, 0755);
    char tmpl[] = "/tmp/corral-seedgen-XXXXXX";
    if (!mkdtemp(tmpl)) {
        perror("mkdtemp");
        return 1;
    }
    char path[200];
    snprintf(path, sizeof path, "%s/rules.yaml", tmpl);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    fputs(FUZZ_CKPT_RULES, f);
    fclose(f);
    char err[4096] = "";
    const char *paths[] = {path};
    rs = cr_ruleset_load(paths, 1, NULL, err, sizeof err);
    unlink(path);
    rmdir(tmpl);
    if (!rs) {
        fprintf(stderr, "seedgen: rules: %s\n", err);
        return 1;
    }
    scenario(0);
    scenario(1);
    cr_ruleset_free(rs);
    cloudevents_seeds();
    printf("seedgen: %d seeds in %s\n", nseed, out);
    return 0;
}
