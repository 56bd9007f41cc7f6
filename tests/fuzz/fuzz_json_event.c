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
 * A finding means a JSON record (from Kafka or a file) can crash the
 * worker, e.g. a string slice past the DOM's buffer or a deep document
 * blowing the stack, or an event that breaks parser.h (fuzz_common.h).
 */
#include "fuzz_common.h"

static const char *const EXTRA[] = {
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, /* builtins */
    "userIdentity.type", "objectRef.resource", "sourceIPs.0", "data.user.name",
    "requestParameters.bucketName", "protoPayload.methodName", "a.b.c.d.e", "x.0.1",
};
_Static_assert(sizeof EXTRA / sizeof EXTRA[0] == CR_F__BUILTIN + 8, "EXTRA starts at CR_F__BUILTIN");

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cr_parser *pj, *pce, *pauto;
    unsigned n = sizeof EXTRA / sizeof EXTRA[0];
    if (!pj) {
        pj = fuzz_parser(CR_FMT_JSON, EXTRA, n);
        pce = fuzz_parser(CR_FMT_CLOUDEVENTS, EXTRA, n);
        pauto = fuzz_parser(CR_FMT_AUTO, EXTRA, n);
    }
    char *rec = malloc(size ? size : 1);
    memcpy(rec, data, size);
    struct cr_event ev;

    enum cr_parse_result r = cr_parse_json(pj, rec, size, 99, &ev);
    fuzz_check_event(r, rec, size, &ev);
    if (ev.flags & CR_EV_NO_TIME)
        FUZZ_ASSERT(ev.time_ms == 99);
    r = cr_parse(pce, rec, size, 0, &ev);
    fuzz_check_event(r, rec, size, &ev);
    r = cr_parse(pauto, rec, size, 0, &ev);
    fuzz_check_event(r, rec, size, &ev);
    free(rec);
    return 0;
}
