/*
 * incident.h - the incident record: what corral detects and stores.
 *
 * Correlation shards create incidents (malloc: incidents are rare next to
 * events) and keep the open ones in memory while they take new evidence;
 * at batch boundaries a shard sends a copy of each changed incident to the
 * writer, which owns that copy, encodes it as JSON and frees it.
 *
 * The id is deterministic: a hash of (rule id, key, window start), printed
 * as 32 hex digits. Replaying the same input rewrites the same incidents
 * instead of adding duplicates.
 *
 * JSON encoding (one object; `corral query --format ndjson` prints it),
 * keys always in this order (a contract: users' scripts read these names):
 *   id, rule, title, category, reg_category, entities {name: value},
 *   first_seen, last_seen, window_start (RFC 3339 UTC, ms, or null),
 *   event_count, priority, reg_level ("I".."IV" or null), status,
 *   evidence {refs: [{input, position, time}], samples: [raw...],
 *   refs_dropped}, reasons [text...], then the grading inputs:
 *   rule_priority, kind ("detection": a match rule's own incident;
 *   "correlation"), impact {outage, ... , measure}, assets [ids],
 *   source_assets [ids]. The writer's grading (engine/grade/assess.h) adds
 *   what it derives after these: tenants, systems, cii, duration_s,
 *   grading, reg_level_proposed, deadlines, lifecycle times, history,
 *   parent/children (docs/operations.md, Grading).
 *
 * Threading: an incident has one owner at a time; ownership moves by
 * pointer through a ring, never shared.
 */
#ifndef CR_INCIDENT_H
#define CR_INCIDENT_H

#include "base/impact.h"

#include <stddef.h>
#include <stdint.h>

#define CR_INC_MAX_ENTITIES 4
#define CR_INC_MAX_ASSETS 8
#define CR_INC_MAX_FIELDS 8
#define CR_ASSET_ID_MAX 48
#define CR_INC_MAX_REFS 32
#define CR_INC_MAX_SAMPLES 5
#define CR_INC_MAX_REASONS 4
#define CR_INC_SAMPLE_BYTES 512

struct cr_evidence_ref {
    uint32_t input;    /* input index (see the run's input names) */
    uint64_t position; /* line number for files, offset for Kafka */
    int64_t time_ms;
};

struct cr_incident {
    char id[33];
    char rule[96];
    char title[160];
    char category[24];
    char reg_category[32];
    char priority[4];
    int reg_level;   /* 1..4, 0 = null */
    char status[16]; /* "detected" on creation (DOMAIN.md lifecycle) */
    int nentities;
    struct {
        char name[32];
        char value[128];
    } entities[CR_INC_MAX_ENTITIES];
    int64_t first_seen_ms;
    int64_t last_seen_ms;
    int64_t window_start_ms;
    uint64_t event_count;
    int nrefs;
    uint64_t refs_dropped; /* evidence refs beyond CR_INC_MAX_REFS */
    struct cr_evidence_ref refs[CR_INC_MAX_REFS];
    int nsamples;
    char samples[CR_INC_MAX_SAMPLES][CR_INC_SAMPLE_BYTES];
    int nreasons;
    char reasons[CR_INC_MAX_REASONS][160];
    /* grading inputs (engine/grade): what the rule says the incident does,
     * the latest value of its measure, and the distinct assets its records
     * named (enrichment, engine/pipeline/enrich.h), targets and sources */
    struct cr_impact impact;
    int detection; /* a match rule's own incident (1), not a correlation's (0) */
    int has_measure;
    int64_t measure;
    int nassets, nsource_assets;
    char assets[CR_INC_MAX_ASSETS][CR_ASSET_ID_MAX];
    char source_assets[CR_INC_MAX_ASSETS][CR_ASSET_ID_MAX];
    /* the distinct (field, value) pairs of its rules' `fields`, first seen first */
    int nfields;
    struct {
        char name[32];
        char value[64];
    } fields[CR_INC_MAX_FIELDS];
};

/* Deterministic id: 128-bit hash of rule, key bytes and window start. */
void cr_incident_make_id(char out[33], const char *rule, const char *key, size_t keylen,
                         int64_t window_start_ms);

/* Append an evidence ref / raw sample / reason, keeping the bounds: refs
 * beyond CR_INC_MAX_REFS only count in refs_dropped (the first refs are
 * kept: they show how the incident started); samples and reasons beyond
 * their maximum are ignored. A sample is passed through cr_raw_escape()
 * and cut to CR_INC_SAMPLE_BYTES - 1 bytes at a character boundary. */
void cr_incident_add_ref(struct cr_incident *inc, uint32_t input, uint64_t position,
                         int64_t time_ms);
void cr_incident_add_sample(struct cr_incident *inc, const char *raw, size_t len);
/* Add an asset id to the targets (source = 0) or sources, once; ignored
 * past CR_INC_MAX_ASSETS or when empty. */
void cr_incident_add_asset(struct cr_incident *inc, const char *id, int source);
/* Add a (field, value) pair once; ignored past CR_INC_MAX_FIELDS. */
void cr_incident_add_field(struct cr_incident *inc, const char *name, const char *value,
                           size_t len);
void cr_incident_add_reason(struct cr_incident *inc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "I".."IV" or NULL for 0. */
const char *cr_reg_level_name(int level);
/* 1..4 for "I".."IV" (also "1".."4"), 0 for "null"/"", -1 if invalid. */
int cr_reg_level_parse(const char *s);

/* Make raw record bytes printable as valid UTF-8 for JSON: valid UTF-8
 * passes unchanged; a NUL or a byte that does not start or continue a
 * valid sequence becomes the four ASCII characters \xHH (so GBK and other
 * legacy bytes stay recoverable, unlike with U+FFFD). Writes at most
 * dstlen - 1 bytes plus a NUL, never splitting a character or an escape;
 * dstlen >= 4 * len + 1 always holds everything. Returns the number of
 * input bytes consumed. */
size_t cr_raw_escape(char *dst, size_t dstlen, const char *raw, size_t len);

/* Times are formatted with cr_time_format() from base/timeparse.h;
 * CR_TIME_NONE (event.h) is encoded as null. */

/* JSON encoding with jansson, compact, one line. input_names[i] names
 * input i (the array and its entries may be NULL: the ref's `input` is then
 * the index as a number). Every string goes through cr_raw_escape(), so the
 * output is valid UTF-8 whatever the log bytes were. Returns a malloc'd
 * NUL-terminated string, caller frees with free(); NULL only if out of
 * memory. */
char *cr_incident_to_json(const struct cr_incident *inc, const char *const *input_names,
                          int ninputs);
/* The same with the members of annotation (a compact JSON object: a Sigma
 * rule's "attack" and "sigma", cr_sigma_meta.annotation) added after the
 * incident's own; NULL or "" adds nothing, and so does text that is not a
 * JSON object. */
char *cr_incident_to_json_ann(const struct cr_incident *inc, const char *const *input_names,
                              int ninputs, const char *annotation);

/* The same as a jansson object (the caller owns the reference), for
 * grading to add its members to (engine/grade/assess.h); NULL if out of
 * memory. */
typedef struct json_t json_t;
json_t *cr_incident_to_jobj(const struct cr_incident *inc, const char *const *input_names,
                            int ninputs, const char *annotation);

/* The members of a stored incident's JSON the store indexes (id,
 * category, first and last seen, priority, entities) into inc, the rest
 * zero: to store an edited version again (a lifecycle move, a re-grade).
 * 0, or -1 if the object lacks a valid id or time. */
int cr_incident_index_from_json(const json_t *o, struct cr_incident *inc);

/* One version of an incident as the correlator hands it out: a copy of the
 * incident, whether this version opened it, whether it is provisional (a
 * release at the end of the input that a resumed run may still change,
 * store.h), and the JSON object its rule adds (a Sigma rule's attack and
 * sigma, cr_sigma_meta.annotation; "" for none), copied because the ruleset
 * may be swapped out before the writer encodes it. One malloc per version;
 * lists link through next. The owner frees with free() (or
 * cr_version_free_list). */
struct cr_version {
    struct cr_version *next;
    int created;
    int provisional;
    struct cr_incident inc;
    char annotation[];
};

/* Aborts when out of memory: an incident must not be lost. annotation may
 * be NULL. */
struct cr_version *cr_version_new(const struct cr_incident *inc, int created,
                                  const char *annotation);
void cr_version_free_list(struct cr_version *v);

#endif
