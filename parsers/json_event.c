/*
 * json_event.c - JSON records: CloudEvents, Kubernetes audit, CloudTrail,
 * GCP audit and generic JSON, normalized into struct cr_event.
 *
 * Owns cr_parse_json(). The document is parsed once by simdjson (through
 * json_simd.h) and then asked for paths; which paths depends on the kind of
 * record, told apart by the keys only that kind has:
 *
 *   specversion                          -> CloudEvents (structured mode);
 *                                           data.protoPayload -> + GCP audit
 *   kind "Event" + apiVersion audit.k8s.io -> Kubernetes audit (or, with
 *                                           no apiVersion, + auditID)
 *   eventSource + eventName              -> AWS CloudTrail
 *   protoPayload.methodName              -> GCP Cloud Audit Logs
 *   anything else                        -> generic (@timestamp, host, msg...)
 *
 * The mappings follow reference/ecosystem.md 2.6-2.8. Values are borrowed
 * from the DOM (valid until the next record); the only value built here,
 * the K8s "namespace/name" object id, goes into the parser's scratch.
 * A record that is not a JSON object keeps msg = raw and PARSE_ERROR and
 * nothing else, so a rule can still grep it. Every event without a message
 * field of its own gets the raw JSON as msg for the same reason.
 */
#include "parsers/parser_int.h"

#include "base/timeparse.h"

#define CR_PATH(s) (s), sizeof(s) - 1

static const char *cr_json_str(struct cr_parser *p, const char *path, size_t n, size_t *len)
{
    struct cr_json_val v;
    if (cr_json_get(p->json, path, n, &v) != CR_JSON_STRING)
        return NULL;
    *len = v.len;
    return v.s;
}

/* Set field from a scalar at path (strings, and numbers/bools as text).
 * Returns 1 if set. */
static int cr_map(struct cr_parser *p, struct cr_event *ev, unsigned field, const char *path,
                  size_t n)
{
    struct cr_json_val v;
    enum cr_json_type t = cr_json_get_text(p->json, path, n, &v);
    if (t == CR_JSON_MISSING || t == CR_JSON_NULL || !v.s)
        return 0;
    cr_event_set(ev, field, v.s, v.len);
    return 1;
}

/* Same with a path built as prefix + path (GCP audit inside CloudEvents). */
static int cr_map_pre(struct cr_parser *p, struct cr_event *ev, unsigned field, const char *pre,
                      size_t pre_len, const char *path, size_t n)
{
    char buf[128];
    if (pre_len + n > sizeof buf)
        return 0;
    memcpy(buf, pre, pre_len);
    memcpy(buf + pre_len, path, n);
    return cr_map(p, ev, field, buf, pre_len + n);
}

/* The walk only finds which rule-requested paths a record has; each found
 * is then looked up as before (cr_map), so the walk and the lookups agree by
 * construction on which value wins when a record has a path twice
 * (duplicate keys, a flat "a.b" beside a nested a.b). Except for a path
 * without a dot: its lookup is the root's first member of that name, which
 * is where the walk first meets the path, so that value is kept from the
 * walk (has_ref) and not looked up again (a linear search of the root's
 * members each: a Windows record's fields are all root members). */
#define CR_WALK_FOUND 256

struct walk_ctx {
    struct cr_parser *p;
    struct cr_event *ev;
    uint16_t found[CR_WALK_FOUND];
    uint8_t has_ref[CR_WALK_FOUND];
    struct cr_json_ref ref[CR_WALK_FOUND];
    int nfound, overflow;
};

static int leaf_found(void *vctx, const char *path, size_t len, const struct cr_json_ref *ref)
{
    struct walk_ctx *wc = vctx;
    int f = cr_parser_xname(wc->p, path, len);
    if (f < 0)
        return 0;
    for (int i = 0; i < wc->nfound; i++)
        if (wc->found[i] == f)
            return 0;
    if (wc->nfound == CR_WALK_FOUND) {
        wc->overflow = 1;
        return 1; /* stop: every name is looked up instead */
    }
    wc->has_ref[wc->nfound] = memchr(path, '.', len) == NULL;
    if (wc->has_ref[wc->nfound])
        wc->ref[wc->nfound] = *ref;
    wc->found[wc->nfound++] = (uint16_t)f;
    return 0;
}

/* cr_map of found[i] (see walk_ctx). */
static void cr_map_found(struct cr_parser *p, struct cr_event *ev, const struct walk_ctx *wc, int i)
{
    unsigned f = wc->found[i];
    if (!wc->has_ref[i]) {
        cr_map(p, ev, f, p->opts.extra_names[f], strlen(p->opts.extra_names[f]));
        return;
    }
    struct cr_json_val v;
    enum cr_json_type t = cr_json_ref_text(p->json, &wc->ref[i], &v);
    if (t == CR_JSON_MISSING || t == CR_JSON_NULL || !v.s)
        return;
    cr_event_set(ev, f, v.s, v.len);
}

static int cr_streq(const char *s, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    return s && n == m && memcmp(s, lit, m) == 0;
}

/* A time value: RFC 3339 string, or epoch seconds / ms / us / ns number. */
static int cr_json_time(struct cr_parser *p, const char *path, size_t n, int64_t *ms)
{
    struct cr_json_val v;
    switch (cr_json_get(p->json, path, n, &v)) {
    case CR_JSON_STRING:
        return v.len > 0 && cr_time_parse_rfc3339(v.s, v.len, p->opts.tz_offset_min, ms) == v.len;
    case CR_JSON_INT:
    case CR_JSON_DOUBLE: {
        double d = v.d;
        if (!(d > 0) || d >= 1e20) /* NaN, negative, or past any unit (year 5138 in ns is 1e20) */
            return 0;
        /* Magnitude tells the unit: 1e11 s is year 5138, 1e11 ms is 1973. */
        if (d < 1e11)
            d *= 1000;
        else if (d >= 1e17)
            d /= 1e6;
        else if (d >= 1e14)
            d /= 1e3;
        *ms = (int64_t)d;
        return 1;
    }
    default:
        return 0;
    }
}

static void cr_set_time(struct cr_parser *p, struct cr_event *ev, const char *path, size_t n)
{
    int64_t t;
    if (ev->time_ms == CR_TIME_NONE && cr_json_time(p, path, n, &t))
        ev->time_ms = t;
}

static void cr_set_lit(struct cr_event *ev, unsigned field, const char *lit)
{
    cr_event_set(ev, field, lit, strlen(lit));
}

/* GCP Cloud Audit LogEntry, at the root (pre = "") or under "data.". */
static void cr_map_gcp(struct cr_parser *p, struct cr_event *ev, const char *pre, size_t pl)
{
    cr_map_pre(p, ev, CR_F_ACTION, pre, pl, CR_PATH("protoPayload.methodName"));
    cr_map_pre(p, ev, CR_F_EVENT_TYPE, pre, pl, CR_PATH("protoPayload.methodName"));
    cr_map_pre(p, ev, CR_F_USER, pre, pl,
               CR_PATH("protoPayload.authenticationInfo.principalEmail"));
    cr_map_pre(p, ev, CR_F_SRC_IP, pre, pl, CR_PATH("protoPayload.requestMetadata.callerIp"));
    cr_map_pre(p, ev, CR_F_USER_AGENT, pre, pl,
               CR_PATH("protoPayload.requestMetadata.callerSuppliedUserAgent"));
    cr_map_pre(p, ev, CR_F_PROGRAM, pre, pl, CR_PATH("protoPayload.serviceName"));
    cr_map_pre(p, ev, CR_F_OBJECT_ID, pre, pl, CR_PATH("protoPayload.resourceName"));
    cr_map_pre(p, ev, CR_F_OBJECT_TYPE, pre, pl, CR_PATH("resource.type"));
    cr_map_pre(p, ev, CR_F_TENANT_ID, pre, pl, CR_PATH("resource.labels.project_id"));
    /* google.rpc.Status: code 0 (or absent) is OK */
    char path[64];
    memcpy(path, pre, pl);
    memcpy(path + pl, "protoPayload.status.code", 24);
    struct cr_json_val v;
    if (cr_json_get(p->json, path, pl + 24, &v) == CR_JSON_INT && v.i != 0) {
        cr_set_lit(ev, CR_F_OUTCOME, "failure");
        cr_map_pre(p, ev, CR_F_REASON, pre, pl, CR_PATH("protoPayload.status.message"));
    } else {
        cr_set_lit(ev, CR_F_OUTCOME, "success");
    }
    if (!cr_event_has(ev, CR_F_EVENT_ID))
        cr_map_pre(p, ev, CR_F_EVENT_ID, pre, pl, CR_PATH("insertId"));
    memcpy(path + pl, "timestamp", 9);
    cr_set_time(p, ev, path, pl + 9);
}

static void cr_map_k8s(struct cr_parser *p, struct cr_event *ev)
{
    cr_set_lit(ev, CR_F_SOURCE_PRODUCT, "k8s-audit");
    cr_set_time(p, ev, CR_PATH("stageTimestamp"));
    cr_set_time(p, ev, CR_PATH("requestReceivedTimestamp"));
    cr_map(p, ev, CR_F_USER, CR_PATH("user.username"));
    cr_map(p, ev, CR_F_SRC_IP, CR_PATH("sourceIPs.0"));
    cr_map(p, ev, CR_F_ACTION, CR_PATH("verb"));
    cr_map(p, ev, CR_F_EVENT_TYPE, CR_PATH("verb"));
    cr_map(p, ev, CR_F_OBJECT_TYPE, CR_PATH("objectRef.resource"));
    cr_map(p, ev, CR_F_USER_AGENT, CR_PATH("userAgent"));
    cr_map(p, ev, CR_F_EVENT_ID, CR_PATH("auditID"));
    cr_map(p, ev, CR_F_MSG, CR_PATH("requestURI"));
    size_t ns_len = 0, name_len = 0;
    const char *ns = cr_json_str(p, CR_PATH("objectRef.namespace"), &ns_len);
    const char *name = cr_json_str(p, CR_PATH("objectRef.name"), &name_len);
    if (name && ns && ns_len + 1 + name_len <= CR_PARSER_SCRATCH - p->scratch_used) {
        char *dst = p->scratch + p->scratch_used;
        memcpy(dst, ns, ns_len);
        dst[ns_len] = '/';
        memcpy(dst + ns_len + 1, name, name_len);
        p->scratch_used += ns_len + 1 + name_len;
        cr_event_set(ev, CR_F_OBJECT_ID, dst, ns_len + 1 + name_len);
    } else if (name) {
        cr_event_set(ev, CR_F_OBJECT_ID, name, name_len);
    }
    struct cr_json_val v;
    if (cr_json_get(p->json, CR_PATH("responseStatus.code"), &v) == CR_JSON_INT) {
        cr_set_lit(ev, CR_F_OUTCOME, v.i < 400 ? "success" : "failure");
        cr_map(p, ev, CR_F_REASON, CR_PATH("responseStatus.reason"));
    } else {
        cr_set_lit(ev, CR_F_OUTCOME, "unknown"); /* RequestReceived stage: no answer yet */
    }
}

/* GKE's audit entries are GCP audit logs of service k8s.io whose methodName
 * spells the Kubernetes request: io.k8s.<group>.<version>.<resource>
 * [.<subresource>].<verb>, the group itself dotted (io.k8s.core.v1.pods.
 * exec.create, io.k8s.authorization.rbac.v1.clusterrolebindings.create).
 * The GCP fields stay; verb and resource become corral's action and
 * object_type, as a native audit event's do, so one Kubernetes rule reads
 * both. */
static int cr_k8s_version(const char *s, size_t n) /* v1, v1beta1, v2alpha1 */
{
    if (n < 2 || s[0] != 'v' || s[1] < '0' || s[1] > '9')
        return 0;
    size_t i = 1;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i == n)
        return 1;
    size_t t = n - i >= 5 && memcmp(s + i, "alpha", 5) == 0  ? 5
               : n - i >= 4 && memcmp(s + i, "beta", 4) == 0 ? 4
                                                             : 0;
    if (!t)
        return 0;
    for (i += t; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static void cr_map_gke(struct cr_event *ev, const char *m, size_t n)
{
    const char *seg[12];
    size_t len[12];
    int k = 0;
    for (size_t i = 0, start = 0; i <= n && k < 12; i++)
        if (i == n || m[i] == '.') {
            seg[k] = m + start;
            len[k++] = i - start;
            start = i + 1;
        }
    int v = 3; /* io.k8s.<group...>.<version> */
    while (v < k && !cr_k8s_version(seg[v], len[v]))
        v++;
    if (v + 2 > k - 1 || k - 1 - v > 3) /* resource, [subresource], verb after it */
        return;
    cr_set_lit(ev, CR_F_SOURCE_PRODUCT, "k8s-audit");
    cr_event_set(ev, CR_F_ACTION, seg[k - 1], len[k - 1]);
    cr_event_set(ev, CR_F_EVENT_TYPE, seg[k - 1], len[k - 1]);
    cr_event_set(ev, CR_F_OBJECT_TYPE, seg[v + 1], len[v + 1]);
}

static void cr_map_cloudtrail(struct cr_parser *p, struct cr_event *ev, const char *name,
                              size_t name_len)
{
    cr_set_lit(ev, CR_F_SOURCE_PRODUCT, "cloudtrail");
    cr_set_time(p, ev, CR_PATH("eventTime"));
    cr_set_time(p, ev, CR_PATH("@timestamp")); /* shipped by Beats / Logstash without eventTime */
    cr_map(p, ev, CR_F_ACTION, CR_PATH("eventName"));
    cr_map(p, ev, CR_F_EVENT_TYPE, CR_PATH("eventName"));
    cr_map(p, ev, CR_F_PROGRAM, CR_PATH("eventSource"));
    cr_map(p, ev, CR_F_SRC_IP, CR_PATH("sourceIPAddress"));
    if (!cr_map(p, ev, CR_F_USER, CR_PATH("userIdentity.userName")))
        cr_map(p, ev, CR_F_USER, CR_PATH("userIdentity.arn"));
    if (!cr_map(p, ev, CR_F_TENANT_ID, CR_PATH("recipientAccountId")))
        cr_map(p, ev, CR_F_TENANT_ID, CR_PATH("userIdentity.accountId"));
    cr_map(p, ev, CR_F_USER_AGENT, CR_PATH("userAgent"));
    cr_map(p, ev, CR_F_EVENT_ID, CR_PATH("eventID"));
    int failed = cr_map(p, ev, CR_F_REASON, CR_PATH("errorCode"));
    size_t r_len;
    const char *r;
    if (cr_streq(name, name_len, "ConsoleLogin") &&
        (r = cr_json_str(p, CR_PATH("responseElements.ConsoleLogin"), &r_len)) != NULL) {
        /* Console logins report failure here, usually without errorCode. */
        failed = !cr_streq(r, r_len, "Success");
        if (failed && !cr_event_has(ev, CR_F_REASON))
            cr_map(p, ev, CR_F_REASON, CR_PATH("errorMessage"));
    }
    cr_set_lit(ev, CR_F_OUTCOME, failed ? "failure" : "success");
}

static void cr_map_cloudevents(struct cr_parser *p, struct cr_event *ev)
{
    cr_set_lit(ev, CR_F_SOURCE_PRODUCT, "cloudevents");
    cr_map(p, ev, CR_F_EVENT_ID, CR_PATH("id"));
    cr_map(p, ev, CR_F_PROGRAM, CR_PATH("source"));
    cr_map(p, ev, CR_F_EVENT_TYPE, CR_PATH("type"));
    cr_map(p, ev, CR_F_OBJECT_ID, CR_PATH("subject"));
    cr_set_time(p, ev, CR_PATH("time"));
    struct cr_json_val v;
    if (cr_json_get(p->json, CR_PATH("data.protoPayload"), &v) == CR_JSON_OBJECT)
        cr_map_gcp(p, ev, CR_PATH("data."));
}

/* Generic JSON: builtin field names found at the top level. */
static int cr_root_field(void *ctx, const char *key, size_t key_len, const struct cr_json_val *v)
{
    struct cr_event *ev = ctx;
    if (!v->s || v->type == CR_JSON_NULL)
        return 0;
    int id = cr_field_builtin_id(key, key_len);
    if (id >= 0 && !cr_event_has(ev, (unsigned)id))
        cr_event_set(ev, (unsigned)id, v->s, v->len);
    return 0;
}

static void cr_map_generic(struct cr_parser *p, struct cr_event *ev)
{
    cr_set_time(p, ev, CR_PATH("@timestamp"));
    cr_set_time(p, ev, CR_PATH("timestamp"));
    cr_set_time(p, ev, CR_PATH("time"));
    cr_set_time(p, ev, CR_PATH("ts"));
    /* Windows events in the shapes people ship: NXLog's flat fields,
     * evtx_dump's Event.System, Winlogbeat's winlog (its time is @timestamp) */
    cr_set_time(p, ev, CR_PATH("EventTime"));
    cr_set_time(p, ev, CR_PATH("TimeCreated"));
    cr_set_time(p, ev, CR_PATH("Event.System.TimeCreated.#attributes.SystemTime"));
    size_t n;
    const char *s;
    if ((s = cr_json_str(p, CR_PATH("host"), &n)) ||
        (s = cr_json_str(p, CR_PATH("hostname"), &n)) ||
        (s = cr_json_str(p, CR_PATH("host.name"), &n)) ||
        (s = cr_json_str(p, CR_PATH("Hostname"), &n)) ||
        (s = cr_json_str(p, CR_PATH("Event.System.Computer"), &n)) ||
        (s = cr_json_str(p, CR_PATH("winlog.computer_name"), &n)))
        cr_event_set(ev, CR_F_HOST, s, n);
    if (!cr_map(p, ev, CR_F_MSG, CR_PATH("message")))
        cr_map(p, ev, CR_F_MSG, CR_PATH("msg"));
    cr_json_foreach_root(p->json, cr_root_field, ev);
}

enum cr_parse_result cr_parse_json(struct cr_parser *p, const char *rec, size_t len,
                                   int64_t fallback_ms, struct cr_event *ev)
{
    cr_parse_begin(ev, rec, len, CR_FMT_JSON);
    p->scratch_used = 0;
    if (len == 0 || cr_json_parse(p->json, rec, len) != 0) {
        cr_event_no_time(ev, fallback_ms);
        return cr_parse_fail(ev, rec, len);
    }
    size_t n1, n2;
    const char *s1, *s2;
    struct cr_json_val v;
    int is_ce = 0;
    /* AKS ships the API server's audit events as Azure diagnostic records
     * (category kube-audit / kube-audit-admin) holding the event as JSON
     * text in properties.log: that text is the record (the raw stays the
     * envelope). If it does not parse, the envelope is parsed again. */
    if ((s1 = cr_json_str(p, CR_PATH("category"), &n1)) &&
        (cr_streq(s1, n1, "kube-audit") || cr_streq(s1, n1, "kube-audit-admin")) &&
        (s2 = cr_json_str(p, CR_PATH("properties.log"), &n2)) && n2 > 1 && s2[0] == '{' &&
        cr_json_parse(p->json, s2, n2) != 0 && cr_json_parse(p->json, rec, len) != 0) {
        cr_event_no_time(ev, fallback_ms);
        return cr_parse_fail(ev, rec, len);
    }
    if (cr_json_get(p->json, CR_PATH("specversion"), &v) == CR_JSON_STRING) {
        is_ce = 1;
        ev->format = CR_FMT_CLOUDEVENTS;
        cr_map_cloudevents(p, ev);
    } else if ((s1 = cr_json_str(p, CR_PATH("kind"), &n1)) && cr_streq(s1, n1, "Event") &&
               ((s2 = cr_json_str(p, CR_PATH("apiVersion"), &n2))
                    ? n2 >= 12 && memcmp(s2, "audit.k8s.io", 12) == 0
                    /* older webhook feeds (and Falco's fixtures) drop apiVersion */
                    : cr_json_get(p->json, CR_PATH("auditID"), &v) == CR_JSON_STRING)) {
        cr_map_k8s(p, ev);
    } else if ((s1 = cr_json_str(p, CR_PATH("eventName"), &n1)) &&
               cr_json_get(p->json, CR_PATH("eventSource"), &v) == CR_JSON_STRING) {
        cr_map_cloudtrail(p, ev, s1, n1);
    } else if (cr_json_get(p->json, CR_PATH("protoPayload.methodName"), &v) == CR_JSON_STRING) {
        cr_set_lit(ev, CR_F_SOURCE_PRODUCT, "gcp-audit");
        cr_map_gcp(p, ev, "", 0);
        if ((s1 = cr_json_str(p, CR_PATH("protoPayload.serviceName"), &n1)) &&
            cr_streq(s1, n1, "k8s.io") &&
            (s2 = cr_json_str(p, CR_PATH("protoPayload.methodName"), &n2)) && n2 > 7 &&
            memcmp(s2, "io.k8s.", 7) == 0)
            cr_map_gke(ev, s2, n2);
    } else {
        cr_map_generic(p, ev);
    }

    /* Rule-requested paths (userIdentity.type, objectRef.subresource...):
     * many (Sigma) by one walk of the record, few by a lookup each. */
    struct walk_ctx wc; /* not zeroed: 9 KiB, and only nfound entries are read */
    wc.p = p;
    wc.ev = ev;
    wc.nfound = 0;
    wc.overflow = 0;
    if (p->xnames)
        cr_json_walk(p->json, leaf_found, &wc);
    if (p->xnames && !wc.overflow) {
        for (int i = 0; i < wc.nfound; i++)
            cr_map_found(p, ev, &wc, i);
    } else {
        unsigned n_extra =
            p->opts.n_extra_names < CR_MAX_FIELDS ? p->opts.n_extra_names : CR_MAX_FIELDS;
        for (unsigned id = CR_F__BUILTIN; id < n_extra; id++) {
            const char *name = p->opts.extra_names ? p->opts.extra_names[id] : NULL;
            if (name)
                cr_map(p, ev, id, name, strlen(name));
        }
    }

    if (!cr_event_has(ev, CR_F_MSG))
        cr_event_set(ev, CR_F_MSG, rec, len);
    enum cr_parse_result res = CR_PARSE_OK;
    if (ev->time_ms == CR_TIME_NONE) {
        cr_event_no_time(ev, fallback_ms);
        res = CR_PARSE_FALLBACK;
    }
    if (p->opts.format == CR_FMT_CLOUDEVENTS && !is_ce) {
        /* Configured as CloudEvents but no envelope: say so, keep the fields. */
        ev->flags |= CR_EV_PARSE_ERROR | CR_EV_NO_ENVELOPE;
        res = CR_PARSE_ERROR;
    }
    return res;
}
