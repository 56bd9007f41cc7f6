/*
 * test_cloudevents_kafka.c - parsers/cloudevents_kafka.c: content-mode
 * detection, binary mode rewritten as a structured envelope, the records it
 * must refuse, the JSON validity check (against simdjson itself, since data
 * it accepts is embedded verbatim), and the Kafka binding scenarios of the
 * CloudEvents conformance suite in ../shared/data.
 *
 * Every envelope is read back twice: by the project's own parser (cr_parse,
 * CR_FMT_CLOUDEVENTS: the fields rules will see) and by jansson, which is
 * independent of the code under test and tells exact member values apart.
 */
#include "event_assert.h"
#include "base/utf8.h"
#include "parsers/cloudevents_kafka.h"
#include "parsers/json_simd.h"
#include "parsers/parser.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FALLBACK 99LL

/* A header from a string literal (the length excludes the NUL). */
#define H(n, v)                                                                                    \
    {                                                                                              \
        (n), (v), sizeof(v) - 1                                                                    \
    }
#define NH(a) (sizeof(a) / sizeof((a)[0]))

enum {
    X_DATA_MESSAGE = CR_F__BUILTIN,
    X_DATA,
    X_DATA_BASE64,
    X_TRACEPARENT,
    X_PARTITIONKEY,
    X_DATACONTENTTYPE,
    X_DATA_USER_NAME,
    X_DATA_ITEMS_1,
    X__END
};

static const char *const EXTRA[CR_MAX_FIELDS] = {
    [X_DATA_MESSAGE] = "data.message",     [X_DATA] = "data",
    [X_DATA_BASE64] = "data_base64",       [X_TRACEPARENT] = "traceparent",
    [X_PARTITIONKEY] = "partitionkey",     [X_DATACONTENTTYPE] = "datacontenttype",
    [X_DATA_USER_NAME] = "data.user.name", [X_DATA_ITEMS_1] = "data.items.1",
};

static struct cr_parser *P;
static struct cr_event EV;
static char OUT[16384];
static long OUTLEN;
static char ERR[256];
static json_t *J; /* the last envelope, as jansson reads it */

static void setup(void)
{
    struct cr_parse_opts o = {0};
    o.format = CR_FMT_CLOUDEVENTS;
    o.extra_names = EXTRA;
    o.n_extra_names = X__END;
    P = cr_parser_new(&o);
    cr_assert_not_null(P);
    J = NULL;
}

static void teardown(void)
{
    json_decref(J);
    J = NULL;
    cr_parser_free(P);
}

static long conv(const struct cr_kafka_header *h, size_t n, const void *v, size_t vl)
{
    memset(ERR, 'X', sizeof ERR); /* "err is set" must be the code's doing */
    return cr_cloudevents_binary_to_json(h, n, v, vl, OUT, sizeof OUT, ERR, sizeof ERR);
}

/* Convert, then require that both readers accept the envelope as a
 * CloudEvent. */
static void conv_ok(const struct cr_kafka_header *h, size_t n, const void *v, size_t vl)
{
    OUTLEN = conv(h, n, v, vl);
    cr_assert_gt(OUTLEN, 0, "conversion failed: %s", ERR);
    cr_assert_eq(strlen(OUT), (size_t)OUTLEN, "envelope not NUL-terminated at its length");
    enum cr_parse_result r = cr_parse(P, OUT, (size_t)OUTLEN, FALLBACK, &EV);
    cr_assert_neq(r, CR_PARSE_ERROR, "corral cannot parse the envelope: %s", OUT);
    cr_assert_eq(EV.format, CR_FMT_CLOUDEVENTS, "not recognised as CloudEvents: %s", OUT);
    json_error_t je;
    json_decref(J);
    J = json_loadb(OUT, (size_t)OUTLEN, JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, &je);
    cr_assert_not_null(J, "jansson: %s in %s", je.text, OUT);
    cr_assert(json_is_object(J));
}

static void conv_fails(const struct cr_kafka_header *h, size_t n, const void *v, size_t vl,
                       const char *why)
{
    long r = conv(h, n, v, vl);
    cr_assert_eq(r, -1, "accepted, gave %s", r > 0 ? OUT : "?");
    cr_assert(memchr(ERR, '\0', sizeof ERR), "err not NUL-terminated");
    cr_assert(strstr(ERR, why), "err '%s' does not say '%s'", ERR, why);
}

/* Member key of J is the string want (exact bytes, NUL allowed);
 * want == NULL: the member is absent. */
static void member_is(const char *key, const char *want, size_t wlen)
{
    json_t *m = json_object_get(J, key);
    if (!want) {
        cr_assert_null(m, "member %s should be absent in %s", key, OUT);
        return;
    }
    cr_assert(json_is_string(m), "member %s missing or not a string in %s", key, OUT);
    cr_assert(json_string_length(m) == wlen && memcmp(json_string_value(m), want, wlen) == 0,
              "member %s = '%s', want '%.*s'", key, json_string_value(m), (int)wlen, want);
}

static void member_str(const char *key, const char *want)
{
    member_is(key, want, want ? strlen(want) : 0);
}

static void field_is(unsigned f, const char *want)
{
    if (f < CR_F__BUILTIN) {
        cr_assert_field(&EV, f, want);
        return;
    }
    if (!want) {
        cr_assert(!cr_event_has(&EV, f), "%s should be absent", EXTRA[f]);
        return;
    }
    cr_assert(cr_event_has(&EV, f), "%s absent (want '%s') in %s", EXTRA[f], want, OUT);
    cr_assert(EV.f[f].len == strlen(want) && memcmp(EV.f[f].p, want, EV.f[f].len) == 0,
              "%s = '%.*s', want '%s'", EXTRA[f], (int)EV.f[f].len, EV.f[f].p, want);
}

/* ---- mode detection --------------------------------------------------------- */

TestSuite(ce_mode);

Test(ce_mode, structured_with_and_without_charset)
{
    const char *cts[] = {
        "application/cloudevents+json", "application/cloudevents+json; charset=utf-8",
        "Application/CloudEvents+JSON;charset=UTF-8", " application/cloudevents+json "};
    for (size_t i = 0; i < NH(cts); i++) {
        struct cr_kafka_header h[] = {{"traceparent", "00-ab-cd-01", 11},
                                      {"content-type", cts[i], strlen(cts[i])}};
        cr_assert_eq(cr_cloudevents_kafka_mode(h, NH(h)), CR_CE_STRUCTURED, "'%s'", cts[i]);
    }
}

Test(ce_mode, content_type_decides_over_ce_headers)
{
    /* The binding: application/cloudevents... means structured, whatever else is there. */
    struct cr_kafka_header h[] = {H("ce_specversion", "1.0"), H("ce_id", "1"),
                                  H("content-type", "application/cloudevents+json")};
    cr_assert_eq(cr_cloudevents_kafka_mode(h, NH(h)), CR_CE_STRUCTURED);
}

Test(ce_mode, binary)
{
    struct cr_kafka_header h[] = {H("ce_specversion", "1.0"), H("ce_id", "a"), H("ce_source", "/s"),
                                  H("ce_type", "t"), H("content-type", "application/json")};
    cr_assert_eq(cr_cloudevents_kafka_mode(h, NH(h)), CR_CE_BINARY);
    /* specversion alone still says binary: the converter then names what is missing */
    cr_assert_eq(cr_cloudevents_kafka_mode(h, 1), CR_CE_BINARY);
}

Test(ce_mode, neither)
{
    cr_assert_eq(cr_cloudevents_kafka_mode(NULL, 0), CR_CE_NONE);
    struct cr_kafka_header plain[] = {H("traceparent", "00-ab"), {"x-null", NULL, 0}};
    cr_assert_eq(cr_cloudevents_kafka_mode(plain, NH(plain)), CR_CE_NONE);
    /* content-type alone, even JSON: not a CloudEvent by its headers (decision in the header) */
    struct cr_kafka_header json[] = {H("content-type", "application/json")};
    cr_assert_eq(cr_cloudevents_kafka_mode(json, NH(json)), CR_CE_NONE);
    /* ce_ headers without specversion are someone's own convention */
    struct cr_kafka_header partial[] = {H("ce_id", "1"), H("ce_type", "t")};
    cr_assert_eq(cr_cloudevents_kafka_mode(partial, NH(partial)), CR_CE_NONE);
}

Test(ce_mode, names_are_case_sensitive)
{
    struct cr_kafka_header a[] = {H("Content-Type", "application/cloudevents+json")};
    cr_assert_eq(cr_cloudevents_kafka_mode(a, NH(a)), CR_CE_NONE);
    struct cr_kafka_header b[] = {H("CE_specversion", "1.0"), H("ce-specversion", "1.0")};
    cr_assert_eq(cr_cloudevents_kafka_mode(b, NH(b)), CR_CE_NONE);
}

Test(ce_mode, structured_formats_corral_cannot_read)
{
    const char *cts[] = {"application/cloudevents-batch+json", "application/cloudevents+avro",
                         "application/cloudevents+protobuf"};
    for (size_t i = 0; i < NH(cts); i++) {
        struct cr_kafka_header h[] = {{"content-type", cts[i], strlen(cts[i])},
                                      H("ce_specversion", "1.0")};
        cr_assert_eq(cr_cloudevents_kafka_mode(h, NH(h)), CR_CE_NONE, "'%s'", cts[i]);
    }
}

/* ---- binary -> structured ------------------------------------------------------ */

TestSuite(ce_binary, .init = setup, .fini = teardown);

Test(ce_binary, json_data_embedded_with_all_attributes)
{
    static const char value[] =
        "{\"user\":{\"name\":\"alice\"},\"items\":[\"a\",\"b\"],\"n\":3,\"ok\":true}";
    struct cr_kafka_header h[] = {
        H("ce_specversion", "1.0"),
        H("ce_id", "0f9c-7a21"),
        H("ce_source", "//iam.example.com/users"),
        H("ce_type", "com.example.iam.login.failed"),
        H("ce_time", "2026-03-14T09:26:53.589Z"),
        H("ce_subject", "users/alice"),
        H("content-type", "application/json"),
        H("ce_traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        H("ce_partitionkey", "alice"),
        H("x-producer", "\xff\xfe binary tracing blob"), /* not ours: not checked, not copied */
    };
    conv_ok(h, NH(h), value, sizeof value - 1);
    field_is(CR_F_EVENT_ID, "0f9c-7a21");
    field_is(CR_F_EVENT_TYPE, "com.example.iam.login.failed");
    field_is(CR_F_PROGRAM, "//iam.example.com/users");
    field_is(CR_F_OBJECT_ID, "users/alice");
    field_is(CR_F_SOURCE_PRODUCT, "cloudevents");
    cr_assert_time(&EV, "2026-03-14T09:26:53.589Z");
    field_is(X_DATA_USER_NAME, "alice");
    field_is(X_DATA_ITEMS_1, "b");
    field_is(X_TRACEPARENT, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    field_is(X_PARTITIONKEY, "alice");
    field_is(X_DATACONTENTTYPE, "application/json");
    member_str("specversion", "1.0");
    member_str("x-producer", NULL);
    member_str("data_base64", NULL);
    json_t *want = json_loads(value, JSON_DECODE_INT_AS_REAL, NULL);
    cr_assert(json_equal(json_object_get(J, "data"), want), "data differs: %s", OUT);
    json_decref(want);
    cr_assert_str_empty(ERR);
}

Test(ce_binary, json_media_types)
{
    const char *cts[] = {"application/json; charset=utf-8", "text/json",
                         "application/vnd.example.audit+json", "APPLICATION/JSON"};
    static const char value[] = " [1, {\"message\": \"x\"}] ";
    for (size_t i = 0; i < NH(cts); i++) {
        struct cr_kafka_header h[] = {H("ce_specversion", "1.0"),
                                      H("ce_id", "1"),
                                      H("ce_source", "/s"),
                                      H("ce_type", "t"),
                                      {"content-type", cts[i], strlen(cts[i])}};
        conv_ok(h, NH(h), value, sizeof value - 1);
        cr_assert(json_is_array(json_object_get(J, "data")), "%s: %s", cts[i], OUT);
    }
}

Test(ce_binary, text_data_as_string)
{
    static const char value[] = "disk \"/dev/sda1\" 98% full\n\tC:\\temp \x01 caf\xc3\xa9";
    struct cr_kafka_header h[] = {H("ce_specversion", "1.0"), H("ce_id", "42"),
                                  H("ce_source", "host-7"), H("ce_type", "disk.alert"),
                                  H("content-type", "text/plain; charset=utf-8")};
    conv_ok(h, NH(h), value, sizeof value - 1);
    member_is("data", value, sizeof value - 1);
    field_is(X_DATA, value);
    member_str("data_base64", NULL);
}

Test(ce_binary, json_looking_data_without_content_type_stays_text)
{
    static const char value[] = "{\"message\":\"hi\"}";
    struct cr_kafka_header h[] = {H("ce_specversion", "1.0"), H("ce_id", "1"), H("ce_source", "/s"),
                                  H("ce_type", "t")};
    conv_ok(h, NH(h), value, sizeof value - 1);
    member_is("data", value, sizeof value - 1);
    member_str("datacontenttype", NULL);
    field_is(X_DATA_MESSAGE, NULL);
}

Test(ce_binary, binary_data_as_base64)
{
    static const struct {
        const char *v;
        size_t n;
        const char *b64;
    } cases[] = {
        {"\xff\xfe\x00\x01\x02", 5, "//4AAQI="},
        {"\xff", 1, "/w=="},
        {"\xff\xfe", 2, "//4="},
        {"\xff\xfe\xfd", 3, "//79"},
        {"\x80"
         "abc\xc3",
         5, "gGFiY8M="},
    };
    for (size_t i = 0; i < NH(cases); i++) {
        struct cr_kafka_header h[] = {H("ce_specversion", "1.0"), H("ce_id", "1"),
                                      H("ce_source", "/s"), H("ce_type", "t"),
                                      H("content-type", "application/octet-stream")};
        conv_ok(h, NH(h), cases[i].v, cases[i].n);
        member_str("data_base64", cases[i].b64);
        member_str("data", NULL);
        field_is(X_DATA_BASE64, cases[i].b64);
    }
}

Test(ce_binary, header_values_escaped)
{
    static const char id[] = "a\"b\\c\nd\re\tf\x01g\x1fh\bi\fj/k\xc3\xa9\xf0\x9f\x94\xa5";
    static const char src[] = "\"}],\"id\":\"forged";
    struct cr_kafka_header h[] = {H("ce_specversion", "1.0"), H("ce_id", id), H("ce_source", src),
                                  H("ce_type", "t"), H("ce_note", "nul\0inside")};
    conv_ok(h, NH(h), NULL, 0);
    member_is("id", id, sizeof id - 1);
    member_is("source", src, sizeof src - 1);
    member_is("note", "nul\0inside", 10);
    field_is(CR_F_EVENT_ID, id);
    field_is(CR_F_PROGRAM, src);
    /* No raw control byte may reach the envelope. */
    for (long i = 0; i < OUTLEN; i++)
        cr_assert((unsigned char)OUT[i] >= 0x20, "raw control byte 0x%02x at %ld", OUT[i], i);
}

Test(ce_binary, extension_names_lowercased)
{
    struct cr_kafka_header h[] = {H("ce_specversion", "1.0"),   H("ce_id", "1"),
                                  H("ce_source", "/s"),         H("ce_type", "t"),
                                  H("ce_TraceParent", "00-ab"), H("ce_SEQUENCE", "17")};
    conv_ok(h, NH(h), NULL, 0);
    member_str("traceparent", "00-ab");
    member_str("sequence", "17");
    member_str("TraceParent", NULL);
    field_is(X_TRACEPARENT, "00-ab");
}

Test(ce_binary, empty_and_null_value_mean_no_data)
{
    struct cr_kafka_header h[] = {H("ce_specversion", "1.0"),
                                  H("ce_id", "1"),
                                  H("ce_source", "/s"),
                                  H("ce_type", "t"),
                                  H("content-type", "application/json"),
                                  {"ce_empty", NULL, 0}};
    conv_ok(h, NH(h), "", 0);
    member_str("data", NULL);
    member_str("data_base64", NULL);
    member_str("empty", "");
    conv_ok(h, NH(h), NULL, 0);
    member_str("data", NULL);
    cr_assert_str_empty(ERR);
}

Test(ce_binary, content_type_wins_over_ce_datacontenttype)
{
    static const char value[] = "{\"message\":\"m\"}";
    struct cr_kafka_header only[] = {H("ce_specversion", "1.0"), H("ce_id", "1"),
                                     H("ce_source", "/s"), H("ce_type", "t"),
                                     H("ce_datacontenttype", "application/json")};
    conv_ok(only, NH(only), value, sizeof value - 1);
    member_str("datacontenttype", "application/json");
    field_is(X_DATA_MESSAGE, "m");

    struct cr_kafka_header both[] = {H("ce_specversion", "1.0"),
                                     H("ce_id", "1"),
                                     H("ce_source", "/s"),
                                     H("ce_type", "t"),
                                     H("ce_datacontenttype", "application/json"),
                                     H("content-type", "text/plain")};
    conv_ok(both, NH(both), value, sizeof value - 1);
    member_str("datacontenttype", "text/plain");
    member_is("data", value, sizeof value - 1);
    /* one datacontenttype member, not two */
    cr_assert_null(strstr(strstr(OUT, "datacontenttype") + 1, "datacontenttype"), "%s", OUT);
}

Test(ce_binary, invalid_json_with_json_type_kept_not_failed)
{
    /* Decision: the attributes are valid, so the event converts; the bytes are kept
     * as a string (or base64) and err carries a note for ingest to count. */
    static const char trunc[] = "{\"message\": \"Hello Wor";
    struct cr_kafka_header h[] = {H("ce_specversion", "1.0"), H("ce_id", "1"), H("ce_source", "/s"),
                                  H("ce_type", "t"), H("content-type", "application/json")};
    conv_ok(h, NH(h), trunc, sizeof trunc - 1);
    member_is("data", trunc, sizeof trunc - 1);
    cr_assert(strstr(ERR, "not valid JSON"), "no note: '%s'", ERR);
    cr_assert(strstr(ERR, "a string"), "'%s'", ERR);

    static const char bin[] = "{\"m\": \"\xff\"}";
    conv_ok(h, NH(h), bin, sizeof bin - 1);
    member_str("data_base64", "eyJtIjogIv8ifQ==");
    cr_assert(strstr(ERR, "data_base64"), "'%s'", ERR);

    /* data simdjson would refuse must not be embedded: it would sink the whole envelope */
    static const char big[] = "{\"n\": 1e400}";
    conv_ok(h, NH(h), big, sizeof big - 1);
    member_is("data", big, sizeof big - 1);
}

/* ---- records that must be refused ---------------------------------------------- */

TestSuite(ce_bad, .init = setup, .fini = teardown);

Test(ce_bad, missing_or_empty_required_header)
{
    static const char *const req[] = {"ce_specversion", "ce_id", "ce_source", "ce_type"};
    for (size_t skip = 0; skip < 4; skip++) {
        struct cr_kafka_header h[5];
        size_t n = 0;
        for (size_t i = 0; i < 4; i++)
            if (i != skip)
                h[n++] = (struct cr_kafka_header){req[i], i == 0 ? "1.0" : "v", i == 0 ? 3 : 1};
        h[n++] = (struct cr_kafka_header)H("content-type", "text/plain");
        char want[64];
        snprintf(want, sizeof want, "missing %s", req[skip]);
        conv_fails(h, n, "x", 1, want);
        /* present but empty (or a null header) is no better */
        h[n] = (struct cr_kafka_header){req[skip], NULL, 0};
        snprintf(want, sizeof want, "empty %s", req[skip]);
        conv_fails(h, n + 1, "x", 1, want);
    }
}

Test(ce_bad, unsupported_specversion)
{
    const char *bad[] = {"0.3", "1", "1.0 ", "2.0", "garbage", "1.0\n"};
    for (size_t i = 0; i < NH(bad); i++) {
        struct cr_kafka_header h[] = {{"ce_specversion", bad[i], strlen(bad[i])},
                                      H("ce_id", "1"),
                                      H("ce_source", "/s"),
                                      H("ce_type", "t")};
        conv_fails(h, NH(h), NULL, 0, "not supported");
    }
}

Test(ce_bad, non_utf8_header_value)
{
    struct cr_kafka_header src[] = {H("ce_specversion", "1.0"), H("ce_id", "1"),
                                    H("ce_source", "/s\xc3\x28"), H("ce_type", "t")};
    conv_fails(src, NH(src), NULL, 0, "ce_source value is not valid UTF-8");
    struct cr_kafka_header ext[] = {H("ce_specversion", "1.0"), H("ce_id", "1"),
                                    H("ce_source", "/s"), H("ce_type", "t"),
                                    H("ce_traceparent", "\xed\xa0\x80")}; /* a surrogate */
    conv_fails(ext, NH(ext), NULL, 0, "not valid UTF-8");
    struct cr_kafka_header ct[] = {H("ce_specversion", "1.0"), H("ce_id", "1"),
                                   H("ce_source", "/s"), H("ce_type", "t"),
                                   H("content-type", "text/plain\xff")};
    conv_fails(ct, NH(ct), NULL, 0, "content-type value is not valid UTF-8");
    struct cr_kafka_header name[] = {H("ce_specversion", "1.0"), H("ce_id", "1"),
                                     H("ce_source", "/s"), H("ce_type", "t"), H("ce_b\xe9", "v")};
    conv_fails(name, NH(name), NULL, 0, "name is not valid UTF-8");
}

Test(ce_bad, output_buffer_too_small)
{
    static const char value[] = "{\"message\": \"Hello World!\"}";
    struct cr_kafka_header h[] = {H("ce_specversion", "1.0"),
                                  H("ce_id", "1234-1234-1234"),
                                  H("ce_source", "/mycontext"),
                                  H("ce_type", "t\"q"),
                                  H("content-type", "application/json"),
                                  H("ce_bin", "\x01\x02")};
    long need = conv(h, NH(h), value, sizeof value - 1);
    cr_assert_gt(need, 0, "%s", ERR);
    static char buf[1024];
    /* Every capacity short of length + NUL fails, says the size needed, and
     * writes nothing past its end. */
    for (long cap = 0; cap <= need; cap++) {
        memset(buf, '#', sizeof buf);
        long r = cr_cloudevents_binary_to_json(h, NH(h), value, sizeof value - 1, buf, (size_t)cap,
                                               ERR, sizeof ERR);
        cr_assert_eq(r, -1, "cap %ld accepted", cap);
        char want[64];
        snprintf(want, sizeof want, "needs %ld bytes", need + 1);
        cr_assert(strstr(ERR, want), "cap %ld: '%s'", cap, ERR);
        for (size_t i = (size_t)cap; i < sizeof buf; i++)
            cr_assert_eq(buf[i], '#', "cap %ld: byte %zu written", cap, i);
    }
    long r = cr_cloudevents_binary_to_json(h, NH(h), value, sizeof value - 1, buf, (size_t)need + 1,
                                           ERR, sizeof ERR);
    cr_assert_eq(r, need);
    cr_assert_str_eq(buf, OUT);
    /* a tiny err buffer is still NUL-terminated */
    char tiny[8];
    cr_assert_eq(
        cr_cloudevents_binary_to_json(h, NH(h), value, sizeof value - 1, buf, 4, tiny, sizeof tiny),
        -1);
    cr_assert_eq(strlen(tiny), sizeof tiny - 1);
}

Test(ce_bad, duplicate_and_reserved_attributes)
{
    struct cr_kafka_header dup[] = {H("ce_specversion", "1.0"), H("ce_id", "1"),
                                    H("ce_source", "/s"), H("ce_type", "t"), H("ce_id", "2")};
    conv_fails(dup, NH(dup), NULL, 0, "'id' appears twice");
    struct cr_kafka_header folded[] = {H("ce_specversion", "1.0"), H("ce_id", "1"),
                                       H("ce_source", "/s"), H("ce_type", "t"), H("ce_ID", "2")};
    conv_fails(folded, NH(folded), NULL, 0, "'ID' appears twice");
    struct cr_kafka_header ct2[] = {H("ce_specversion", "1.0"),
                                    H("ce_id", "1"),
                                    H("ce_source", "/s"),
                                    H("ce_type", "t"),
                                    H("content-type", "text/plain"),
                                    H("content-type", "application/json")};
    conv_fails(ct2, NH(ct2), NULL, 0, "duplicate content-type");
    struct cr_kafka_header data[] = {H("ce_specversion", "1.0"), H("ce_id", "1"),
                                     H("ce_source", "/s"), H("ce_type", "t"), H("ce_data", "{}")};
    conv_fails(data, NH(data), NULL, 0, "envelope member");
    struct cr_kafka_header b64[] = {H("ce_specversion", "1.0"), H("ce_id", "1"),
                                    H("ce_source", "/s"), H("ce_type", "t"),
                                    H("ce_Data_Base64", "AA==")};
    conv_fails(b64, NH(b64), NULL, 0, "envelope member");
    struct cr_kafka_header bare[] = {H("ce_specversion", "1.0"), H("ce_id", "1"),
                                     H("ce_source", "/s"), H("ce_type", "t"), H("ce_", "x")};
    conv_fails(bare, NH(bare), NULL, 0, "names no attribute");
}

Test(ce_bad, structured_content_type)
{
    struct cr_kafka_header h[] = {H("ce_specversion", "1.0"), H("ce_id", "1"), H("ce_source", "/s"),
                                  H("ce_type", "t"),
                                  H("content-type", "application/cloudevents+json")};
    conv_fails(h, NH(h), "{}", 2, "structured mode");
}

Test(ce_bad, too_many_ce_headers)
{
    enum { N = CR_CE_MAX_ATTRS + 1 };
    static struct cr_kafka_header h[N];
    static char names[N][16];
    h[0] = (struct cr_kafka_header)H("ce_specversion", "1.0");
    h[1] = (struct cr_kafka_header)H("ce_id", "1");
    h[2] = (struct cr_kafka_header)H("ce_source", "/s");
    h[3] = (struct cr_kafka_header)H("ce_type", "t");
    for (size_t i = 4; i < N; i++) {
        snprintf(names[i], sizeof names[i], "ce_x%zu", i);
        h[i] = (struct cr_kafka_header){names[i], "v", 1};
    }
    conv_ok(h, N - 1, NULL, 0); /* exactly the limit is fine */
    member_str("x255", "v");
    conv_fails(h, N, NULL, 0, "more than 256");
}

/* ---- the JSON validity check ----------------------------------------------------- */

TestSuite(ce_json);

static int simdjson_accepts(struct cr_json *j, const char *v, size_t n)
{
    static char doc[4096];
    cr_assert_lt(n + 7, sizeof doc);
    memcpy(doc, "{\"d\":", 5);
    memcpy(doc + 5, v, n);
    doc[5 + n] = '}';
    return cr_json_parse(j, doc, n + 6) == 0;
}

Test(ce_json, valid_and_invalid_agree_with_simdjson)
{
    static const struct {
        const char *v;
        int ok; /* 1 valid, 0 invalid, 2 refused here though simdjson takes it */
    } cases[] = {
        {"{}", 1},
        {"[]", 1},
        {" {\"a\" : [1, -2.5e-3, true, false, null, \"x\"]} ", 1},
        {"\"plain\"", 1},
        {"0", 1},
        {"-0", 1},
        {"1E+2", 1},
        {"\"\\u00e9\\/\\n\"", 1},
        {"\"\\uD83D\\uDE00\"", 1},
        {"{\"a\":{\"a\":1,\"a\":2}}", 1},
        {"18446744073709551615", 1},
        {"-9223372036854775808", 1},
        {"1.7976931348623157e308", 1},
        {"4.9e-324", 1},
        {"1e-99999", 1},
        {"17976931348623157e292", 1},
        {"1797693134862315799999e287", 1},
        {"0.0000000000000000000000000000001e320", 1},
        {"1.7976931348623158e308", 2}, /* below the rounding point: refused to be safe */
        {"", 0},
        {"   ", 0},
        {"{", 0},
        {"}", 0},
        {"[1,]", 0},
        {"{\"a\":1,}", 0},
        {"{\"a\" 1}", 0},
        {"{1:2}", 0},
        {"[1 2]", 0},
        {"01", 0},
        {"1.", 0},
        {".5", 0},
        {"-", 0},
        {"1e", 0},
        {"+1", 0},
        {"tru", 0},
        {"nul", 0},
        {"True", 0},
        {"NaN", 0},
        {"\"a", 0},
        {"\"\\x\"", 0},
        {"\"\\u12\"", 0},
        {"\"\\uD800\"", 0},
        {"\"\\uDC00\"", 0},
        {"\"\\uD800\\u0041\"", 0},
        {"\"tab\there\"", 0},
        {"1 2", 0},
        {"{} {}", 0},
        {"[1]]", 0},
        {"[}", 0},
        {"{]", 0},
        {"18446744073709551616", 0},
        {"-9223372036854775809", 0},
        {"123456789012345678901234567890", 0},
        {"1e400", 0},
        {"-1e309", 0},
        {"1.7976931348623159e308", 0},
        {"1e99999999999999999999", 0},
        {"\"\xff\"", 0},
        {"'single'", 0},
        {"[1,\n2,\r\n3]", 1},
        {"\"\\\"\"", 1},
    };
    struct cr_json *j = cr_json_new();
    cr_assert_not_null(j);
    for (size_t i = 0; i < NH(cases); i++) {
        size_t n = strlen(cases[i].v);
        cr_assert_eq(cr_cloudevents_json_valid(cases[i].v, n), cases[i].ok == 1, "'%s'",
                     cases[i].v);
        if (n > 0 && cases[i].v[0] != ' ') /* simdjson skips space inside {"d":...} anyway */
            cr_assert_eq(simdjson_accepts(j, cases[i].v, n), cases[i].ok != 0, "simdjson on '%s'",
                         cases[i].v);
    }
    cr_json_free(j);
}

Test(ce_json, depth_is_bounded_not_recursive)
{
    static char doc[2 * 100000 + 1];
    for (int depth = CR_CE_JSON_MAX_DEPTH - 1; depth <= CR_CE_JSON_MAX_DEPTH + 1; depth++) {
        /* [[[...]]] and {"a":{"a":...1}}: the stack keeps both kinds */
        memset(doc, '[', (size_t)depth);
        memset(doc + depth, ']', (size_t)depth);
        cr_assert_eq(cr_cloudevents_json_valid(doc, 2 * (size_t)depth),
                     depth <= CR_CE_JSON_MAX_DEPTH, "arrays %d deep", depth);
        size_t n = 0;
        for (int i = 0; i < depth; i++) {
            memcpy(doc + n, "{\"a\":", 5);
            n += 5;
        }
        doc[n++] = '1';
        memset(doc + n, '}', (size_t)depth);
        n += (size_t)depth;
        cr_assert_eq(cr_cloudevents_json_valid(doc, n), depth <= CR_CE_JSON_MAX_DEPTH,
                     "objects %d deep", depth);
    }
    /* 100k levels: refused, without recursion to overflow the stack */
    memset(doc, '[', 100000);
    memset(doc + 100000, ']', 100000);
    cr_assert_eq(cr_cloudevents_json_valid(doc, 200000), 0);
}

/* Property: whatever the data and header bytes, a successful conversion is
 * an envelope both readers accept. Mutations of a realistic record drive
 * the validator, the escaper and base64 through their edge cases. */
Test(ce_json, mutated_records_always_give_parseable_envelopes, .init = setup, .fini = teardown)
{
    static const char seed[] = "{\"user\":{\"name\":\"al\\u00e9ce\",\"ids\":[1,2.5e3,-7]},"
                               "\"ok\":true,\"note\":null,\"s\":\"a\\\"b\"}";
    static const char alphabet[] = "{}[]\":,\\u0123456789eE+-.tfn \x01\x7f\xc3\xa9\xff\xd8";
    char v[sizeof seed + 8], id[24];
    uint64_t rng = 0x9e3779b97f4a7c15u;
    int embedded = 0, kept = 0;
    for (int iter = 0; iter < 20000; iter++) {
        memcpy(v, seed, sizeof seed);
        size_t vl = sizeof seed - 1;
        int muts = 1 + iter % 3;
        for (int m = 0; m < muts; m++) {
            rng = rng * 6364136223846793005u + 1442695040888963407u;
            size_t pos = (size_t)(rng >> 33) % vl;
            char c = alphabet[(rng >> 20) % (sizeof alphabet - 1)];
            if ((rng >> 60) & 1)
                v[pos] = c;
            else
                vl = pos + 1; /* truncate */
        }
        memcpy(id, v, sizeof id - 1);
        id[sizeof id - 1] = '\0';
        size_t idl = strnlen(id, sizeof id);
        struct cr_kafka_header h[] = {H("ce_specversion", "1.0"),
                                      {"ce_id", id, idl},
                                      H("ce_source", "/s"),
                                      H("ce_type", "t"),
                                      H("content-type", "application/json")};
        if (idl == 0 || !cr_utf8_valid(id, idl)) {
            cr_assert_eq(conv(h, NH(h), v, vl), -1);
            continue;
        }
        conv_ok(h, NH(h), v, vl);
        if (json_object_get(J, "data") && !json_is_string(json_object_get(J, "data")))
            embedded++;
        else
            kept++;
        member_is("id", id, idl);
    }
    /* both branches must have been exercised for the property to mean anything */
    cr_assert_gt(embedded, 1000);
    cr_assert_gt(kept, 1000);
}

/* ---- the conformance suite's Kafka binding scenarios ------------------------------ */

#define GK_ROWS 16
#define GK_CELL 256
#define GK_DOC 4096

struct gk_table {
    int n;
    char k[GK_ROWS][GK_CELL];
    char v[GK_ROWS][GK_CELL];
};

struct gk_scenario {
    char name[GK_CELL];
    char payload[GK_DOC];
    char data[GK_DOC];
    struct gk_table headers, attrs;
    int n_cols, n_examples;
    char cols[4][GK_CELL];
    char examples[GK_ROWS][4][GK_CELL];
};

static char *gk_trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* "| a | b |" -> cells; returns their count. */
static int gk_row(char *line, char cells[][GK_CELL], int max)
{
    int n = 0;
    char *p = strchr(line, '|');
    while (p && n < max) {
        char *q = strchr(p + 1, '|');
        if (!q)
            break;
        *q = '\0';
        snprintf(cells[n++], GK_CELL, "%s", gk_trim(p + 1));
        *q = '|';
        p = q;
    }
    return n;
}

/* Replace <col> by the example's value. */
static void gk_subst(const struct gk_scenario *s, int ex, const char *in, char *out, size_t cap)
{
    size_t o = 0;
    while (*in && o + 1 < cap) {
        int done = 0;
        for (int c = 0; c < s->n_cols && !done; c++) {
            size_t cl = strlen(s->cols[c]);
            if (in[0] == '<' && strncmp(in + 1, s->cols[c], cl) == 0 && in[1 + cl] == '>') {
                o += (size_t)snprintf(out + o, cap - o, "%s", s->examples[ex][c]);
                in += cl + 2;
                done = 1;
            }
        }
        if (!done)
            out[o++] = *in++;
    }
    out[o < cap ? o : cap - 1] = '\0';
}

static int gk_binary_runs, gk_structured_runs;

static void gk_run(const struct gk_scenario *s, int ex)
{
    static char names[GK_ROWS][GK_CELL], vals[GK_ROWS][GK_CELL], payload[GK_DOC];
    struct cr_kafka_header h[GK_ROWS];
    for (int i = 0; i < s->headers.n; i++) {
        gk_subst(s, ex, s->headers.k[i], names[i], GK_CELL);
        gk_subst(s, ex, s->headers.v[i], vals[i], GK_CELL);
        h[i] = (struct cr_kafka_header){names[i], vals[i], strlen(vals[i])};
    }
    gk_subst(s, ex, s->payload, payload, sizeof payload);
    enum cr_ce_mode mode = cr_cloudevents_kafka_mode(h, (size_t)s->headers.n);
    const char *env;
    size_t env_len;
    if (strstr(s->name, "Binary")) {
        cr_assert_eq(mode, CR_CE_BINARY, "%s: mode %d", s->name, mode);
        conv_ok(h, (size_t)s->headers.n, payload, strlen(payload));
        env = OUT;
        env_len = (size_t)OUTLEN;
        gk_binary_runs++;
    } else {
        cr_assert(strstr(s->name, "Structured"), "scenario '%s' names no mode", s->name);
        cr_assert_eq(mode, CR_CE_STRUCTURED, "%s (%s): mode %d", s->name,
                     ex >= 0 ? s->examples[ex][0] : "", mode);
        env = payload;
        env_len = strlen(payload);
        json_decref(J);
        J = json_loadb(env, env_len, JSON_DECODE_INT_AS_REAL, NULL);
        cr_assert_not_null(J);
        gk_structured_runs++;
    }
    cr_assert_neq(cr_parse(P, env, env_len, FALLBACK, &EV), CR_PARSE_ERROR, "%s", env);
    cr_assert_gt(s->attrs.n, 0, "%s: no expected attributes", s->name);
    for (int i = 0; i < s->attrs.n; i++) {
        const char *k = s->attrs.k[i], *v = s->attrs.v[i];
        member_str(k, v);
        if (strcmp(k, "id") == 0)
            field_is(CR_F_EVENT_ID, v);
        else if (strcmp(k, "type") == 0)
            field_is(CR_F_EVENT_TYPE, v);
        else if (strcmp(k, "source") == 0)
            field_is(CR_F_PROGRAM, v);
        else if (strcmp(k, "time") == 0)
            cr_assert_time(&EV, v);
        else if (strcmp(k, "datacontenttype") == 0)
            field_is(X_DATACONTENTTYPE, v);
    }
    if (s->data[0]) {
        json_t *want = json_loads(s->data, JSON_DECODE_INT_AS_REAL, NULL);
        cr_assert_not_null(want, "%s: expected data is not JSON", s->name);
        cr_assert(json_equal(json_object_get(J, "data"), want), "%s: data differs in %s", s->name,
                  env);
        json_decref(want);
    }
}

static void gk_finish(struct gk_scenario *s)
{
    if (!s->name[0])
        return;
    if (s->n_cols == 0) {
        gk_run(s, -1);
    } else {
        cr_assert_gt(s->n_examples, 0, "%s: outline without examples", s->name);
        for (int e = 0; e < s->n_examples; e++)
            gk_run(s, e);
    }
    memset(s, 0, sizeof *s);
}

Test(ce_conformance, kafka_protocol_binding_feature, .init = setup, .fini = teardown)
{
    const char *path = cr_test_shared_path(
        "cloudevents-samples/conformance/features__kafka-protocol-binding.feature");
    cr_test_need_shared(path, "cloudevents-samples: ../shared/data absent");
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    static struct gk_scenario s;
    memset(&s, 0, sizeof s);
    enum { NONE, HEADERS, ATTRS, EXAMPLES } table = NONE;
    char *docstr = NULL; /* where the open """ block goes */
    size_t indent = 0, dl = 0;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        char *t = gk_trim(line);
        if (docstr) {
            if (strcmp(t, "\"\"\"") == 0) {
                docstr = NULL;
                continue;
            }
            size_t skip = 0; /* Gherkin: drop the opening quotes' indentation */
            while (skip < indent && line[skip] == ' ')
                skip++;
            dl += (size_t)snprintf(docstr + dl, GK_DOC - dl, "%s%s", dl ? "\n" : "", line + skip);
            continue;
        }
        if (strncmp(t, "Scenario", 8) == 0) {
            gk_finish(&s);
            snprintf(s.name, sizeof s.name, "%s", t);
            table = NONE;
        } else if (strcmp(t, "\"\"\"") == 0) {
            indent = (size_t)(t - line);
            dl = 0;
            docstr = s.payload[0] || table == ATTRS ? s.data : s.payload;
            docstr[0] = '\0';
            table = NONE;
        } else if (strstr(t, "Kafka headers:")) {
            table = HEADERS;
        } else if (strstr(t, "attributes are:")) {
            table = ATTRS;
        } else if (strncmp(t, "Examples:", 9) == 0) {
            table = EXAMPLES;
        } else if (t[0] == '|' && table != NONE) {
            char cells[4][GK_CELL];
            int nc = gk_row(t, cells, 4);
            struct gk_table *tb = table == HEADERS ? &s.headers : &s.attrs;
            if (table == EXAMPLES) {
                if (s.n_cols == 0) {
                    s.n_cols = nc;
                    memcpy(s.cols, cells, sizeof cells);
                } else if (s.n_examples < GK_ROWS) {
                    memcpy(s.examples[s.n_examples++], cells, sizeof cells);
                }
            } else if (nc == 2 && strcmp(cells[0], "key") != 0 && tb->n < GK_ROWS) {
                snprintf(tb->k[tb->n], GK_CELL, "%s", cells[0]);
                snprintf(tb->v[tb->n], GK_CELL, "%s", cells[1]);
                tb->n++;
            }
        } else if (t[0] && t[0] != '|') {
            table = NONE;
        }
    }
    fclose(f);
    gk_finish(&s);
    cr_assert_geq(gk_binary_runs, 1, "no binary-mode scenario found in %s", path);
    cr_assert_geq(gk_structured_runs, 2, "structured-mode examples missing in %s", path);
}
