/*
 * cloudevents_kafka.h - CloudEvents carried in Kafka records (the Kafka
 * protocol binding): tell the two content modes apart, and turn a
 * binary-mode record into the structured JSON envelope.
 *
 * corral parses one CloudEvents shape only: the structured JSON envelope
 * (json_event.c). Ingest calls cr_cloudevents_kafka_mode() on each record's
 * headers; a STRUCTURED value goes to cr_parse() as it is, a BINARY one is
 * first rewritten by cr_cloudevents_binary_to_json() into the caller's
 * buffer, and that envelope is both what is parsed and the raw evidence kept
 * for analysts (self-describing, unlike a bare value whose attributes lived
 * in headers that the store does not keep).
 *
 * Nothing here allocates or keeps state: both calls are pure functions of
 * their arguments and may be called from any thread. Headers and value are
 * borrowed for the duration of the call.
 *
 * Caveats (decisions, see cloudevents_kafka.c for the reasons):
 *  - header names are bytes compared case-sensitively: "content-type" and
 *    the "ce_" prefix must be spelled so; the attribute name after "ce_" is
 *    folded to lowercase (the spec allows only lowercase names);
 *  - the Kafka key is not an input: the binding maps it to nothing by
 *    default, and a producer using the opt-in partitionkey mapper also sends
 *    a ce_partitionkey header, which is kept like any extension;
 *  - a record with only `content-type: application/json` (no ce_ headers) is
 *    CR_CE_NONE: it is not a CloudEvent by its headers, and cr_parse() in
 *    JSON/auto mode still recognises an envelope in the value by itself.
 */
#ifndef CR_CLOUDEVENTS_KAFKA_H
#define CR_CLOUDEVENTS_KAFKA_H

#include <stddef.h>

enum cr_ce_mode {
    CR_CE_NONE = 0,       /* not a CloudEvent by its headers (or one corral cannot read) */
    CR_CE_STRUCTURED = 1, /* content-type application/cloudevents+json: value is the envelope */
    CR_CE_BINARY = 2,     /* ce_specversion header: attributes in headers, value is the data */
};

/* One Kafka record header. value may be NULL (a null header) with len 0;
 * it is then read as an empty string. Borrowed. */
struct cr_kafka_header {
    const char *name; /* NUL-terminated */
    const void *value;
    size_t len;
};

/* Classify a Kafka record by its headers h[0..n).
 *  - The first "content-type" header whose media type is
 *    application/cloudevents+json (any case, optional parameters such as
 *    "; charset=utf-8") -> CR_CE_STRUCTURED.
 *  - Any other application/cloudevents* type (cloudevents-batch+json,
 *    cloudevents+avro...) -> CR_CE_NONE: the binding says such a record is
 *    structured, so its ce_ headers (if any) are not binary-mode
 *    attributes, and corral has no parser for those formats. The record is
 *    then ingested as a plain value.
 *  - Otherwise a "ce_specversion" header -> CR_CE_BINARY (what the
 *    CloudEvents SDKs test too). Whether the other required headers are
 *    there is for cr_cloudevents_binary_to_json() to report, so a broken
 *    producer shows up as a conversion error rather than as plain records.
 *  - Otherwise CR_CE_NONE. */
enum cr_ce_mode cr_cloudevents_kafka_mode(const struct cr_kafka_header *h, size_t n);

/* Binary mode -> structured JSON envelope, written into out[0..outcap).
 *
 * Returns the envelope's length; out is NUL-terminated after it (so the
 * envelope plus one byte must fit in outcap). On success err holds "" or,
 * when the data could not be embedded as its content type says (a JSON
 * content type over a value that is not valid JSON), a note saying so: the
 * record is still a valid CloudEvent, so that is not a failure.
 *
 * Returns -1 with a reason in err (truncated to errlen) when:
 *  - ce_specversion, ce_id, ce_source or ce_type is missing or empty;
 *  - ce_specversion is not "1.0";
 *  - a ce_ header's name or value, or the content-type value, is not valid
 *    UTF-8;
 *  - an attribute appears twice (also ce_ID next to ce_id), or a ce_ header
 *    is named data / data_base64 (those are envelope members, not
 *    attributes), or there are more than CR_CE_MAX_ATTRS ce_ headers;
 *  - content-type says the record is in structured mode;
 *  - the envelope does not fit in outcap (err says how many bytes it needs).
 * out's contents are unspecified after a failure.
 *
 * The envelope: specversion, id, source, type; datacontenttype from the
 * content-type header (or, without one, ce_datacontenttype); then every
 * other ce_ header in header order (time, subject, dataschema, extensions)
 * as a string member named in lowercase; then the data:
 *  - empty value (or NULL, a tombstone): no data member;
 *  - JSON content type (application/json, text/json, any +json suffix) and
 *    a valid JSON value: embedded verbatim as "data";
 *  - otherwise valid UTF-8: a JSON string "data";
 *  - otherwise: "data_base64" (standard alphabet, padded).
 * Every header value is JSON-escaped; no header is interpreted beyond the
 * checks above (ce_time is passed on as written). */
#define CR_CE_MAX_ATTRS 256
long cr_cloudevents_binary_to_json(const struct cr_kafka_header *h, size_t n, const void *value,
                                   size_t vlen, char *out, size_t outcap, char *err, size_t errlen);

/* 1 if buf[0..len) is one valid JSON text (any value, surrounding
 * whitespace allowed) that simdjson will also accept: UTF-8, paired
 * surrogates, integers within int64/uint64, doubles below overflow,
 * nesting at most CR_CE_JSON_MAX_DEPTH. A syntax check only: iterative,
 * allocates nothing, builds nothing. Exposed for the tests. */
#define CR_CE_JSON_MAX_DEPTH 256
int cr_cloudevents_json_valid(const char *buf, size_t len);

#endif
