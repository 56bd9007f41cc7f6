/*
 * parser_int.h - what the files of parsers/ share and nobody else sees.
 *
 * The definition of struct cr_parser (one per worker thread: options, the
 * JSON DOM, scratch for the few values a parser has to build itself) and
 * the small helpers every format uses: starting an event, the byte scan
 * that sets CR_EV_BAD_UTF8 / CR_EV_NUL, and the time policy of parser.h
 * (year inference, fallback). Keeping them here rather than in parser.h
 * leaves the public contract free of simdjson and of layout details.
 */
#ifndef CR_PARSER_INT_H
#define CR_PARSER_INT_H

#include "parsers/parser.h"
#include "base/utf8.h"
#include "parsers/json_simd.h"

#include <string.h>

/* Bytes for values the JSON path assembles (K8s "namespace/name"). */
#define CR_PARSER_SCRATCH 1024
/* Bytes for decoded key=value values of one record (kv.c); auditd's
 * EXECVE records carry at most ~8 KiB of argv before they split. */
#define CR_PARSER_KVBUF 16384
/* Bytes expat may use for one event XML record (event_xml.c): its input
 * buffer holds a copy of the record, so this bounds the XML records read. */
#define CR_PARSER_XML_ARENA (256 * 1024)

struct cr_parser {
    struct cr_parse_opts opts;
    int64_t reference_ms; /* opts.reference_ms, or the wall clock at creation */
    int reference_year;   /* civil year of reference_ms in opts.tz_offset_min */
    struct cr_json *json;
    char scratch[CR_PARSER_SCRATCH];
    size_t scratch_used; /* reset per record */
    int32_t year_add;    /* added to opts.year (cr_parser_set_year_add) */
    /* Rule-requested JSON paths by name, when there are many (Sigma): a JSON
     * record is then walked once and each scalar's path looked up here,
     * instead of looking every name up in the record. NULL: few names. */
    struct cr_xname {
        uint64_t hash;
        const char *name; /* borrowed from opts.extra_names; NULL = empty slot */
        uint32_t len;
        uint16_t field;
    } * xnames;
    uint32_t xmask; /* slots - 1 (a power of two) */
    /* Values of the current record the parser had to build: decoded auditd
     * hex (kv.c), unescaped XML text (event_xml.c). */
    size_t kv_used;
    char kvbuf[CR_PARSER_KVBUF];
    /* expat's memory for the current event XML record (event_xml.c) */
    size_t xml_used;
    _Alignas(16) unsigned char xml_arena[CR_PARSER_XML_ARENA];
};

/* The field id of a rule-requested path, -1 if no rule names it. */
int cr_parser_xname(const struct cr_parser *p, const char *path, size_t len);
/* The same, also when the names are few (no xnames table): the lookup
 * kv.c and event_xml.c do for each name they find. */
int cr_parser_extra_field(const struct cr_parser *p, const char *name, size_t len);

/* If msg is a web access-log line (NCSA common/combined), set its fields
 * (access_log.c). Returns 1 if it was one. */
int cr_access_log_fields(struct cr_event *ev);

/* After a syslog parse: if msg is key=value (auditd, FortiGate...) and the
 * rules name extra fields, set those found (kv.c). Returns the possibly
 * upgraded result (a bare audit.log line has its own time). */
enum cr_parse_result cr_kv_fields(struct cr_parser *p, struct cr_event *ev, enum cr_parse_result r);

/* After a syslog parse: if msg is event XML (<Event>...: Sysmon for Linux,
 * forwarded Windows events) and the rules name extra fields, set those
 * found (event_xml.c). Returns the possibly changed result. */
enum cr_parse_result cr_xml_fields(struct cr_parser *p, struct cr_event *ev,
                                   enum cr_parse_result r);

/* Application log lines (app_log.c). cr_app_log_fields: if s[i..], right
 * after a stamp, is "[- ]LEVEL ...", set severity, program, msg and return
 * 1. cr_app_log_stamp: an HDFS ("081109 203615 148") or Spark ("17/06/09
 * 20:10:40") stamp at s[i..] followed by a level: its end and *ms, else 0. */
int cr_app_log_fields(const char *s, size_t len, size_t i, struct cr_event *ev);
size_t cr_app_log_stamp(const struct cr_parser *p, const char *s, size_t len, size_t i, int64_t *ms,
                        struct cr_event *ev);

/* Reset ev for rec and set the byte-level flags (UTF-8, NUL). */
void cr_parse_begin(struct cr_event *ev, const char *rec, size_t len, enum cr_format fmt);

/* ms for a stamp without a year, per the policy in parser.h; -1 if the
 * fields are invalid in every candidate year (Feb 30). */
int64_t cr_parser_infer_year(const struct cr_parser *p, int mon, int day, int h, int mi, int s,
                             int ms, int tz_min);

/* The event has no time of its own: fallback and CR_EV_NO_TIME. */
static inline void cr_event_no_time(struct cr_event *ev, int64_t fallback_ms)
{
    ev->time_ms = fallback_ms;
    ev->flags |= CR_EV_NO_TIME;
}

/* The record did not fit: msg = raw, PARSE_ERROR. */
static inline enum cr_parse_result cr_parse_fail(struct cr_event *ev, const char *rec, size_t len)
{
    cr_event_set(ev, CR_F_MSG, rec, len);
    ev->flags |= CR_EV_PARSE_ERROR;
    return CR_PARSE_ERROR;
}

#endif
