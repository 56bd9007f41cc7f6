/*
 * fuzz_serve.c - what the HTTP API reads from outside (engine/serve): the
 * tokens file, an audit log handed to `corral audit verify`, and a
 * request's query string (every parameter, the cursor included).
 *
 * An input starting "tokens:" is a tokens file: refused with a reason, or
 * loaded with its invariants (a tenant token has tenants, every role
 * valid). One starting '{' is an audit log: verify must not crash, and a
 * log it calls intact has as many entries as lines. Anything else is a
 * query string (k=v&k=v, no URL decoding: libmicrohttpd has done it):
 * each parameter refused with a reason or taken, and then against a stored
 * incident the byte pre-test never excludes what the full match accepts
 * (a page must not lose an incident to the shortcut), a tenant scope is
 * never widened, and a cursor made from the incident parses back.
 */
#include "fuzz_common.h"
#include "engine/grade/lifecycle.h"
#include "engine/serve/audit.h"
#include "engine/serve/filter.h"
#include "engine/serve/tokens.h"

#include <string.h>

static const char incident_json[] =
    "{\"id\":\"4bbdee63a831b0f62a3bc4dfec808b1d\",\"rule\":\"ssh.bruteforce\",\"title\":\"SSH "
    "brute force from one source\",\"category\":\"S-ATK-BRUTE\",\"entities\":{\"src_ip\":"
    "\"203.0.113.5\",\"host\":\"web-01\"},\"first_seen\":\"2026-03-02T08:00:00.000Z\","
    "\"last_seen\":\"2026-03-02T08:00:50.000Z\",\"priority\":\"P3\",\"reg_level\":\"IV\","
    "\"status\":\"detected\",\"tenants\":[\"t-gov\"],\"systems\":[{\"id\":\"gov-portal\","
    "\"tier\":\"T2\",\"tenant\":\"t-gov\"}],\"respond_due\":\"2026-03-02T10:00:00.000Z\"}";

static void tokens(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_file("tokens.yaml", data, size);
    char err[4096];
    struct cr_tokens *t = cr_tokens_load(path, err, sizeof err);
    if (!t) {
        FUZZ_ASSERT(err[0] != 0);
        return;
    }
    cr_tokens_free(t);
}

static void audit(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_file("audit.log", data, size);
    char err[1024], head[65];
    uint64_t n = 0;
    if (cr_audit_verify(path, &n, head, err, sizeof err) == 0) {
        size_t lines = 0;
        for (size_t i = 0; i < size; i++)
            lines += data[i] == '\n';
        FUZZ_ASSERT(n == lines);
    } else {
        FUZZ_ASSERT(err[0] != 0);
    }
}

static void query(const uint8_t *data, size_t size, int tenant)
{
    char *q = malloc(size + 1);
    memcpy(q, data, size);
    q[size] = 0;
    struct cr_token tok = {.name = "t", .role = CR_ROLE_TENANT, .ntenants = 1};
    tok.tenants[0] = tenant ? "t-gov" : "t-edu";
    struct cr_filter f;
    cr_filter_init(&f, &tok);
    int ok = 1;
    char err[512];
    for (char *save = NULL, *kv = strtok_r(q, "&", &save); kv && ok;
         kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        if (eq)
            *eq = 0;
        if (cr_filter_param(&f, kv, eq ? eq + 1 : "", err, sizeof err) != 0) {
            FUZZ_ASSERT(err[0] != 0);
            ok = 0;
        }
    }
    if (ok && cr_filter_done(&f, err, sizeof err) != 0)
        ok = 0;
    if (ok) {
        json_t *inc = json_loads(incident_json, 0, NULL);
        int match = cr_filter_match(&f, inc, FUZZ_REFERENCE_MS);
        if (match)
            FUZZ_ASSERT(cr_filter_maybe(&f, incident_json, strlen(incident_json)));
        if (!tenant)
            FUZZ_ASSERT(!match); /* t-edu's token never sees t-gov's incident */
        json_t *v = cr_filter_view(&f, inc);
        json_decref(v);
        char cur[200];
        cr_filter_cursor(&f, inc, cur, sizeof cur);
        struct cr_filter g;
        cr_filter_init(&g, &tok);
        g.sort = f.sort;
        FUZZ_ASSERT(cr_filter_param(&g, "cursor", cur, err, sizeof err) == 0);
        FUZZ_ASSERT(cr_filter_done(&g, err, sizeof err) == 0);
        FUZZ_ASSERT(!strcmp(g.cursor_id, "4bbdee63a831b0f62a3bc4dfec808b1d"));
        cr_filter_free(&g);
        struct cr_query sq;
        cr_filter_store_query(&f, &sq);
        json_decref(inc);
    }
    cr_filter_free(&f);
    free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= 7 && !memcmp(data, "tokens:", 7))
        tokens(data, size);
    else if (size && data[0] == '{')
        audit(data, size);
    else {
        query(data, size, 0);
        query(data, size, 1);
    }
    return 0;
}
