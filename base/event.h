/*
 * event.h - the normalized event: what a parser makes of one record.
 *
 * An event never owns memory. Every field is a slice (pointer + length) into
 * bytes that someone else owns: the input batch (syslog fields, regex
 * captures) or the parsing thread's JSON parser (unescaped JSON strings).
 * Those bytes stay valid until the worker moves to the next record, which is
 * exactly as long as an event lives: it is built on the worker's stack,
 * matched, turned into match records (which copy what they need) and
 * forgotten. That is what keeps the hot path free of allocation.
 *
 * Fields are addressed by small integer ids. The first CR_F__BUILTIN ids are
 * the normalized fields of DOMAIN.md (c) that parsers fill; ids from
 * CR_F__BUILTIN up to CR_MAX_FIELDS - 1 are assigned by the ruleset to the
 * extra names its rules use (regex captures such as `disk`, or JSON paths
 * such as `userIdentity.type`). Only fields whose bit is set in `present`
 * are valid: clearing CR_FIELD_WORDS words per event is cheaper than clearing
 * the 32 KiB slice array.
 *
 * Threading: an event belongs to the thread that built it and never crosses
 * threads.
 */
#ifndef CR_EVENT_H
#define CR_EVENT_H

#include <stdint.h>
#include <stddef.h>

/* 2048: the builtins, corral's own extra names and SigmaHQ's 390 field names
 * in each of the three Windows JSON shapes (rules/sigma.c, configs/sigma/),
 * with room for a site's own. An event carries only a bitset of this size
 * and the slices it sets; the matcher visits only present fields. */
#define CR_MAX_FIELDS 2048
#define CR_FIELD_WORDS (CR_MAX_FIELDS / 64)
#define CR_TIME_NONE INT64_MIN

/* Normalized field ids. Names (as used in rules and incidents) are in
 * cr_field_builtin_name(); keep both lists in the same order. */
enum cr_field {
    CR_F_HOST = 0,   /* source host (syslog HOSTNAME, JSON host/cluster) */
    CR_F_PROGRAM,    /* syslog TAG/APP-NAME program, JSON eventSource */
    CR_F_PID,        /* syslog PROCID or [pid] */
    CR_F_MSGID,      /* RFC 5424 MSGID */
    CR_F_MSG,        /* free-text message (syslog MSG; JSON message) */
    CR_F_EVENT_TYPE, /* vendor event code: Cisco LINK-3-UPDOWN, Huawei IFNET/2/LINKDOWN, eventName,
                        verb */
    CR_F_SEVERITY_VENDOR, /* the vendor's own severity text or digit */
    CR_F_SOURCE_PRODUCT,  /* cisco, huawei, h3c, cloudtrail, k8s-audit, cloudevents, ... */
    CR_F_SRC_IP,
    CR_F_SRC_PORT,
    CR_F_DST_IP,
    CR_F_DST_PORT,
    CR_F_PROTOCOL,
    CR_F_USER,    /* DOMAIN.md subject_user */
    CR_F_ACTION,  /* normalized action / API call */
    CR_F_OUTCOME, /* success | failure | unknown */
    CR_F_REASON,
    CR_F_OBJECT_TYPE,
    CR_F_OBJECT_ID,
    CR_F_TENANT_ID,
    CR_F_COMMAND,
    CR_F_USER_AGENT,
    CR_F_EVENT_ID, /* the record's own id (CloudEvents id, CloudTrail eventID, K8s auditID) */
    CR_F_STRUCTURED_DATA, /* RFC 5424 SD, verbatim */
    CR_F__BUILTIN
};

/* Record formats. */
enum cr_format {
    CR_FMT_AUTO = 0,
    CR_FMT_RFC3164,
    CR_FMT_RFC5424,
    CR_FMT_JSON, /* any JSON object; sub-kind detected (cloudtrail, k8s audit, cloudevents, generic)
                  */
    CR_FMT_CLOUDEVENTS, /* JSON, but must be a CloudEvents structured-mode envelope */
    CR_FMT_RAW,         /* no parsing: msg = the whole record */
    CR_FMT__COUNT
};

/* Event flags: what went wrong or was noticed while parsing. A flagged
 * event is still matched and counted; nothing is dropped. */
enum {
    CR_EV_PARSE_ERROR = 1u << 0, /* the record did not fit its format; msg = raw
                                    (unless CR_EV_NO_ENVELOPE) */
    CR_EV_TRUNCATED = 1u << 1,   /* longer than max_line_bytes; raw holds the first part */
    CR_EV_BAD_UTF8 = 1u << 2,    /* invalid UTF-8 somewhere in the record */
    CR_EV_NUL = 1u << 3,         /* contains NUL bytes */
    CR_EV_NO_TIME = 1u << 4,     /* no usable time in the record: time_ms is the fallback */
    CR_EV_HEADERLESS = 1u << 5,  /* syslog without a recognisable header */
    CR_EV_NO_ENVELOPE = 1u << 6, /* with PARSE_ERROR: valid JSON read as cloudevents but
                                    without an envelope; its JSON fields are kept */
};

struct cr_slice {
    const char *p;
    uint32_t len;
};

struct cr_event {
    struct cr_slice raw;              /* the whole record, as received (possibly truncated) */
    int64_t time_ms;                  /* event time, ms since the epoch, UTC */
    uint64_t present[CR_FIELD_WORDS]; /* bit i set = f[i] valid */
    uint32_t flags;                   /* CR_EV_* */
    uint8_t format;                   /* enum cr_format actually parsed */
    int8_t facility;                  /* syslog facility 0-23, -1 if none */
    int8_t severity;                  /* syslog severity 0-7, -1 if none */
    uint8_t reserved;
    uint32_t repeat;   /* how many records this one stands for: syslog's "message repeated
                        * N times: [ ... ]" is N (CR_EV_MAX_REPEAT at most), else 1 */
    uint32_t input;    /* index of the input (file, topic) the record came from */
    uint64_t position; /* record position in that input: line number for files */
    struct cr_slice f[CR_MAX_FIELDS];
};

static inline void cr_event_reset(struct cr_event *ev)
{
    for (int i = 0; i < CR_FIELD_WORDS; i++)
        ev->present[i] = 0;
    ev->flags = 0;
    ev->format = CR_FMT_AUTO;
    ev->facility = -1;
    ev->severity = -1;
    ev->time_ms = CR_TIME_NONE;
    ev->repeat = 1;
}

#define CR_EV_MAX_REPEAT 10000

static inline void cr_event_set(struct cr_event *ev, unsigned field, const char *p, size_t len)
{
    ev->f[field].p = p;
    ev->f[field].len = (uint32_t)len;
    ev->present[field >> 6] |= (uint64_t)1 << (field & 63);
}

static inline int cr_event_has(const struct cr_event *ev, unsigned field)
{
    return (ev->present[field >> 6] >> (field & 63)) & 1;
}

static inline void cr_event_unset(struct cr_event *ev, unsigned field)
{
    ev->present[field >> 6] &= ~((uint64_t)1 << (field & 63));
}

/* How many fields are present (tests, fuzz checks). */
static inline int cr_event_nfields(const struct cr_event *ev)
{
    int n = 0;
    for (int i = 0; i < CR_FIELD_WORDS; i++)
        n += __builtin_popcountll(ev->present[i]);
    return n;
}

/* Name of a builtin field ("host", "src_ip", ...), NULL if out of range. */
const char *cr_field_builtin_name(unsigned field);
/* Builtin field id for a name, or -1. Accepts DOMAIN.md aliases
 * (subject_user -> user, source_host -> host). */
int cr_field_builtin_id(const char *name, size_t len);
const char *cr_format_name(enum cr_format f);
/* Format by name ("auto", "syslog", "rfc3164", "rfc5424", "json", "cloudevents", "raw"); -1 if
 * unknown. */
int cr_format_from_name(const char *name);

#endif
