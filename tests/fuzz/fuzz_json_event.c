/*
 * fuzz_json_event.c - JSON events (parsers/json_event.c over simdjson,
 * parsers/json_simd.cpp): CloudEvents structured mode, Kubernetes audit,
 * CloudTrail, GCP audit and generic JSON, with the dotted-path lookup of
 * extra fields ("userIdentity.type", "sourceIPs.0") that rules use.
 *
 * Each input is one record, parsed as format json, as format cloudevents
 * (the envelope is required) and in auto mode. The parsers keep their
 * simdjson DOM across records, as a worker does, so state left behind by
 * one record and read by the next would show too.
 *
 * A fourth parser has more extra names than CR_XNAMES_WALK_MIN, so it walks
 * the record once instead of looking each name up (what Sigma's thousands
 * of field names switch on); it must set exactly the fields the lookup
 * parser sets, to the same bytes.
 *
 * A finding means a JSON record (from Kafka or a file) can crash the
 * worker, e.g. a string slice past the DOM's buffer or a deep document
 * blowing the stack, or an event that breaks parser.h (fuzz_common.h).
 */
#include "fuzz_common.h"

static const char *const EXTRA[] = {
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL, /* builtins */
    "userIdentity.type",
    "objectRef.resource",
    "sourceIPs.0",
    "data.user.name",
    "requestParameters.bucketName",
    "protoPayload.methodName",
    "a.b.c.d.e",
    "x.0.1",
};
_Static_assert(sizeof EXTRA / sizeof EXTRA[0] == CR_F__BUILTIN + 8,
               "EXTRA starts at CR_F__BUILTIN");

static const char *MANY[CR_F__BUILTIN + 8 + CR_XNAMES_WALK_MIN + 8];
static char pad[CR_XNAMES_WALK_MIN + 8][16];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cr_parser *pj, *pce, *pauto, *pwalk;
    unsigned n = sizeof EXTRA / sizeof EXTRA[0];
    if (!pj) {
        pj = fuzz_parser(CR_FMT_JSON, EXTRA, n);
        pce = fuzz_parser(CR_FMT_CLOUDEVENTS, EXTRA, n);
        pauto = fuzz_parser(CR_FMT_AUTO, EXTRA, n);
        for (unsigned i = 0; i < n; i++)
            MANY[i] = EXTRA[i];
        for (unsigned i = 0; i < CR_XNAMES_WALK_MIN + 8; i++) {
            snprintf(pad[i], sizeof pad[i], "p.%u", i);
            MANY[n + i] = pad[i];
        }
        pwalk = fuzz_parser(CR_FMT_JSON, MANY, sizeof MANY / sizeof MANY[0]);
    }
    char *rec = malloc(size ? size : 1);
    memcpy(rec, data, size);
    struct cr_event ev;

    static struct cr_event ew;
    enum cr_parse_result r = cr_parse_json(pwalk, rec, size, 99, &ew);
    fuzz_check_event(r, rec, size, &ew);
    r = cr_parse_json(pj, rec, size, 99, &ev);
    fuzz_check_event(r, rec, size, &ev);
    if (ev.flags & CR_EV_NO_TIME)
        FUZZ_ASSERT(ev.time_ms == 99);
    for (unsigned f = CR_F__BUILTIN; f < n; f++) { /* the walk sets what the lookups set */
        FUZZ_ASSERT(cr_event_has(&ev, f) == cr_event_has(&ew, f));
        if (cr_event_has(&ev, f))
            FUZZ_ASSERT(ev.f[f].len == ew.f[f].len &&
                        memcmp(ev.f[f].p, ew.f[f].p, ev.f[f].len) == 0);
    }
    r = cr_parse(pce, rec, size, 0, &ev);
    fuzz_check_event(r, rec, size, &ev);
    r = cr_parse(pauto, rec, size, 0, &ev);
    fuzz_check_event(r, rec, size, &ev);
    free(rec);
    return 0;
}
