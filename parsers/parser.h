/*
 * parser.h - turn one record (a line, a Kafka value) into a struct cr_event.
 *
 * One struct cr_parser per worker thread: it holds the JSON parser and its
 * buffers, so parsing allocates nothing per record once warmed up. The
 * format is chosen per input by configuration (cr_parse_opts.format);
 * CR_FMT_AUTO sniffs each record: '{' -> JSON (CloudEvents structured mode,
 * Kubernetes audit, CloudTrail, GCP audit or generic JSON), "<PRI>1 " ->
 * RFC 5424, anything else -> RFC 3164 with the vendor variants (Cisco,
 * Huawei VRP, H3C) and a headerless fallback. A syslog message that is a
 * web access-log line (nginx/Apache) also gets its fields (access_log.c),
 * and a key=value message (auditd, FortiGate) the rule-requested keys (kv.c).
 *
 * Parsing never fails in the sense of losing a record: a record that does
 * not fit its format still yields an event whose msg is the whole record and
 * whose flags say what was wrong (CR_EV_PARSE_ERROR etc.). The return value
 * tells the caller which counter to bump.
 *
 * Event time policy (docs/architecture.md, "Event time"):
 *  - a record with a full timestamp (RFC 5424, RFC 3339 in JSON, 3164 with a
 *    year after the time) uses it; a missing zone means opts.tz_offset_min;
 *  - an RFC 3164 stamp without a year takes opts.year if set, otherwise the
 *    year that puts the stamp closest before opts.reference_ms (a stamp up to
 *    31 days after the reference still counts as this year: clock skew;
 *    further than that means last year: December logs read in January);
 *  - a record with no time at all gets opts.fallback_ms (the Kafka record
 *    timestamp, or for files the previous record's time) and CR_EV_NO_TIME.
 *
 * Threading: a parser is used by one thread at a time. Slices in the event
 * point into `rec` or into the parser's buffers and are valid until the
 * next cr_parse() call on the same parser.
 */
#ifndef CR_PARSER_H
#define CR_PARSER_H

#include "base/event.h"

#include <stddef.h>
#include <stdint.h>

struct cr_parse_opts {
    enum cr_format format; /* CR_FMT_AUTO by default */
    int tz_offset_min;     /* zone of stamps that carry none, minutes east of UTC */
    int year;              /* 0 = infer from reference_ms */
    int64_t reference_ms;  /* "now" for year inference; 0 = wall clock at parser creation */
    /* Extra (non-builtin) field names the rules use, indexed by field id:
     * extra_names[i] names field id i (NULL where unused). JSON parsing
     * fills each one whose name is a dotted path found in the document
     * (e.g. "userIdentity.type", "objectRef.resource", "sourceIPs.0");
     * a key=value syslog message fills each one named by a key (kv.c).
     * Borrowed; must outlive the parser. */
    const char *const *extra_names;
    unsigned n_extra_names; /* length of extra_names (ids < n are looked up) */
};

/* With more than this many extra names, a JSON record is walked once and
 * each scalar's path looked up among the names (a hash), instead of each
 * name being looked up in the record; the fields set are the same. */
#define CR_XNAMES_WALK_MIN 32

enum cr_parse_result {
    CR_PARSE_OK = 0,
    CR_PARSE_FALLBACK = 1, /* parsed, but only as headerless / partial: flags say how */
    CR_PARSE_ERROR = 2,    /* did not fit the format; event carries msg = raw, except
                              CR_EV_NO_ENVELOPE (valid JSON, fields kept) */
};

struct cr_parser;

/* Returns NULL only on out-of-memory. opts is copied. */
struct cr_parser *cr_parser_new(const struct cr_parse_opts *opts);
void cr_parser_free(struct cr_parser *p);
/* Years to add to opts.year for the records that follow (a file replay
 * that rolled over from December to January; ingest_file.c). Ignored when
 * opts.year is 0 (inferred years). */
void cr_parser_set_year_add(struct cr_parser *p, int32_t years);
/* Change the format of the records that follow (inputs differ per topic). */
void cr_parser_set_format(struct cr_parser *p, enum cr_format format);

/* Parse one record (no trailing newline). ev is reset and filled; ev->raw
 * = rec. fallback_ms is used when the record has no time. Always fills
 * CR_F_MSG. */
enum cr_parse_result cr_parse(struct cr_parser *p, const char *rec, size_t len, int64_t fallback_ms,
                              struct cr_event *ev);

/* Lower-level entry points, used by cr_parse and by tests. Same contract. */
enum cr_parse_result cr_parse_rfc3164(struct cr_parser *p, const char *rec, size_t len,
                                      int64_t fallback_ms, struct cr_event *ev);
enum cr_parse_result cr_parse_rfc5424(struct cr_parser *p, const char *rec, size_t len,
                                      int64_t fallback_ms, struct cr_event *ev);
enum cr_parse_result cr_parse_json(struct cr_parser *p, const char *rec, size_t len,
                                   int64_t fallback_ms, struct cr_event *ev);

/* After a syslog parse: recognise structured payloads in msg (web access
 * logs today: client address, method, URI, status, agent) and set their
 * fields. Returns the possibly upgraded result. */
enum cr_parse_result cr_syslog_payload(struct cr_event *ev, enum cr_parse_result r);

#endif
