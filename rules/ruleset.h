/*
 * ruleset.h - the compiled, immutable rule set: match rules, correlations,
 * their Hyperscan databases and PCRE2 programs.
 *
 * A ruleset is built once from YAML rule files (cr_ruleset_load) and then
 * only read: every worker and shard thread shares it without locks. What a
 * thread mutates while matching (Hyperscan scratch, PCRE2 match data) lives
 * in a struct cr_matcher that each worker creates for itself.
 *
 * The language (docs/rules.md has the full reference):
 *
 *   rules:                              # match rules: one event each
 *     - id: sshd.auth.failed
 *       title: SSH authentication failure
 *       where: { program: sshd }        # equality on fields; a list = any of
 *       match: 'Failed password for (?:invalid user )?(?<user>\S+) from (?<src_ip>\S+)'
 *       # or: match: { msg: '...', event_type: '...' }   (every regex must match)
 *       # optional: not_match: '...' (or a map)           (none may match)
 *       # optional: caseless: true
 *       # optional: transforms: [url_decode, lowercase]   (decode the matched fields first)
 *       # optional, makes every match an incident:
 *       # group_by: [src_ip]
 *       # incident: { category: S-ATK-EXPL, reg_category: NA/NAEXPLOIT,
 *       #             priority: P2, reg_level: IV, title: ..., open_for: 1h }
 *   correlations:
 *     - id: ssh.bruteforce
 *       type: event_count               # or value_count, value_sum, value_avg,
 *                                       #  value_percentile, temporal, temporal_ordered,
 *                                       #  absence
 *       rules: [sshd.auth.failed]       # match rule ids (temporal_ordered: steps in order;
 *                                       #  temporal: any order; absence: [start, follow-up];
 *                                       #  a step may be a correlation id: chaining)
 *       # value_count only: field: dst_port   (its distinct values are counted)
 *       # value_sum / value_avg / value_percentile: field: bytes (its numbers are
 *       #  summed / averaged / ranked; value_percentile: percentile: 95)
 *       group_by: [src_ip]
 *       timespan: 60s
 *       condition: { gte: 5 }           # event_count: gt, gte, lt, lte, eq, or a range;
 *                                       #  value_*: numbers; temporal: { gte: N } of them
 *       incident: { category: S-ATK-BRUTE, reg_category: NA/NACRED, priority: P3 }
 *     - id: ssh.bruteforce_then_privesc   # a cross-key sequence: each step joins on a
 *       type: temporal_ordered            # field of the previous one
 *       steps:
 *         - { rule: ssh.bruteforce }
 *         - { rule: sshd.auth.accepted, join: { src_ip: src_ip } }
 *         - { rule: sudo.command, join: { user: user } }
 *       timespan: 30m
 *       incident: { category: S-ATK-COMP, priority: P1 }
 *     - id: cloud.login_new_ip          # new_value: a value of `field` the key has not
 *       type: new_value                 # shown within `history`, after `learn`
 *       rules: [aws.console_login.success]
 *       group_by: [user]
 *       field: src_ip
 *       history: 30d
 *       learn: 1d
 *       max_values: 32
 *       incident: { category: S-ABN-ACCESS }
 *
 * Named captures `(?<name>...)` set event fields; a capture named like a
 * builtin field (src_ip, user, host) overwrites it, any other name becomes a
 * new field (disk, interface, service).
 *
 * Ownership: cr_ruleset_load returns a ruleset the caller frees with
 * cr_ruleset_free, after every matcher made from it is freed.
 */
#ifndef CR_RULESET_H
#define CR_RULESET_H

#include "base/event.h"
#include "base/impact.h"
#include "rules/transform.h"

#include <stddef.h>
#include <stdint.h>

#define CR_MAX_GROUP_BY 4
#define CR_MAX_STEPS 8

struct cr_incident_spec {
    char category[24];       /* DOMAIN.md (a) id, e.g. S-ATK-BRUTE; validated against the table */
    char reg_category[32];   /* GB/T 20986 code, e.g. NA/NACRED; defaults from the category */
    char priority[4];        /* P1..P4 */
    int reg_level;           /* 1..4 for I..IV, 0 = null */
    char *title;             /* defaults to the rule's title */
    int64_t open_for_ms;     /* how long after last_seen the incident takes new evidence */
    uint64_t max_keys;       /* state budget of the rule or correlation that opens it (its
                              * YAML `max_keys`; 0 = only the shard's budget) */
    struct cr_impact impact; /* `impact:` over the category's defaults (base/impact.h) */
    int measure_field;       /* 1 + the field impact.measure is read from; 0 = none */
    char *annotation;        /* `attack: [T1110, ...]` as {"attack":[...]} (the JSON members
                              * its incidents add, like a Sigma rule's), or NULL */
    uint16_t fields[4];      /* `fields:` whose values the incident carries (the user and
                              * host a brute force got into, a captured file name) */
    int nfields;
};
#define CR_INC_FIELDS 4

/* One equality predicate: field == one of vals (exact bytes). */
struct cr_where {
    uint16_t field;
    uint16_t nvals;
    uint8_t negate; /* `not: {field: v}` */
    char **vals;
    uint32_t *lens;
};

enum cr_pattern_kind {
    CR_PAT_EXACT = 0,     /* Hyperscan compiled it as written; no captures: a hit is final */
    CR_PAT_PREFILTER = 1, /* Hyperscan compiled it with HS_FLAG_PREFILTER: PCRE2 must confirm */
    CR_PAT_CAPTURE = 2,   /* exact or prefiltered, and it has named captures: PCRE2 extracts */
};

struct cr_pattern {
    uint32_t rule;   /* index into rules[] */
    uint16_t field;  /* field it is matched against */
    uint8_t kind;    /* enum cr_pattern_kind */
    uint8_t negated; /* from not_match: a hit disqualifies the rule */
    uint8_t gate;    /* a Sigma logsource `select` pattern: its hit is recorded for the
                      * condition but does not make the rule a candidate (every record of
                      * the logsource would make all its rules candidates) */
    char *regex;
    unsigned hs_flags;
    void *pcre;                 /* pcre2_code_8 *, always compiled (JIT where possible) */
    int jit;                    /* 1 if JIT compiled */
    uint16_t ncapture;          /* named captures */
    uint16_t capture_group[16]; /* group number of each named capture */
    uint16_t capture_field[16]; /* field id it sets */
    int line;                   /* line of the regex in its rule file (for messages) */
};

/* A Sigma rule's detection (rules/sigma.c), evaluated by the matcher after
 * Hyperscan has reported which of the rule's patterns hit. Atoms are tests
 * of one field (any of its mapped alternatives); the condition is a postfix
 * program over them. */
enum cr_atom_kind {
    CR_ATOM_PATTERNS = 0, /* any of patterns [pat, pat + npat) hit (PCRE2 confirms prefilters) */
    CR_ATOM_EXISTS,       /* the field is present */
    CR_ATOM_NULL,         /* the field is absent or empty (Sigma `null`) */
    CR_ATOM_EMPTY,        /* the field is present and empty (Sigma '') */
    CR_ATOM_CIDR,         /* the field is an IPv4/IPv6 address inside net/prefix */
    CR_ATOM_NUM,          /* the field, read as a number, compares (op) with num */
    CR_ATOM_FIELDREF,     /* the field equals another field (case-insensitive) */
};
enum cr_num_op { CR_NUM_LT = 0, CR_NUM_LTE, CR_NUM_GT, CR_NUM_GTE };

#define CR_ATOM_MAX_ALT 4 /* field alternatives of one Sigma field (event shapes) */

struct cr_atom {
    uint8_t kind;   /* enum cr_atom_kind */
    uint8_t op;     /* CR_ATOM_NUM: enum cr_num_op; CR_ATOM_CIDR: 4 or 6 */
    uint8_t prefix; /* CR_ATOM_CIDR: prefix length */
    uint8_t nalt;   /* fields[0..nalt): any of them */
    uint16_t fields[CR_ATOM_MAX_ALT];
    uint16_t ref_fields[CR_ATOM_MAX_ALT]; /* CR_ATOM_FIELDREF: the other field's alternatives */
    uint8_t nref;
    uint32_t pat, npat; /* CR_ATOM_PATTERNS: expr->pat_idx[pat .. pat + npat) are its
                         * indices into ruleset->patterns */
    double num;
    uint8_t net[16];
};

enum cr_expr_op { CR_OP_ATOM = 0, CR_OP_AND, CR_OP_OR, CR_OP_NOT, CR_OP_TRUE, CR_OP_FALSE };
struct cr_expr_step {
    uint8_t op;   /* enum cr_expr_op */
    uint32_t arg; /* CR_OP_ATOM: atom index; CR_OP_AND / CR_OP_OR: how many operands */
};
#define CR_EXPR_MAX_DEPTH 65536 /* operands on the stack at once; a sanity limit */

struct cr_expr {
    int depth;         /* the most operands on the stack while evaluating */
    uint32_t *pat_idx; /* the atoms' patterns (gates may be shared with other rules) */
    struct cr_atom *atoms;
    int natoms;
    struct cr_expr_step *prog; /* the detection */
    int nprog;
    struct cr_expr_step *gate; /* the logsource's select, evaluated first (inside prog's
                                * allocation, after the detection); ngate 0 when none */
    int ngate;
};

/* What a Sigma rule says about itself, for incidents and attribution (the
 * rules' licence requires the author to be kept). */
struct cr_sigma_meta {
    char *level, *status, *author, *references; /* references: one per line */
    char *tags;                                 /* space-separated */
    char *attack;                               /* ATT&CK technique ids, space-separated */
    char *logsource;                            /* "product/service/category" */
    char *annotation; /* what the rule's incidents carry, as one compact JSON object:
                       * {"attack":[...],"sigma":{id,title,level,status,author,
                       * references}}; built once at load (cr_incident_to_json_ann) */
};

struct cr_rule {
    char *id;
    char *title;
    char *file;
    int line;
    struct cr_where *where;
    int nwhere;
    uint32_t *patterns; /* indices into ruleset->patterns (positive ones first) */
    int npatterns;      /* positive patterns (all must hit) */
    int nnegated;       /* followed by this many negated ones */
    int has_captures;
    struct cr_incident_spec *incident; /* non-NULL: every match opens/updates an incident */
    uint16_t group_by[CR_MAX_GROUP_BY];
    int ngroup_by;
    /* Routes: one per distinct group_by among this rule's consumers (its own
     * incident and the correlations that list it). A match is emitted once
     * per route, keyed by the route's group_by fields. */
    int nroutes;
    struct cr_route {
        uint16_t group_by[CR_MAX_GROUP_BY];
        int ngroup_by;
        int value_field; /* value_count, new_value: the field whose values count; -1 none */
        uint8_t
            value_num; /* value_sum, value_avg, value_percentile: the match carries value_field's
                        * number (cr_match.value holds a double's bits), not a hash */
        uint16_t pin;  /* 0: the shard is chosen by the key; else 1 + the index of the
                        * correlation whose id places every state of its chaining group on
                        * one shard (cross-key sequences: cr_ruleset_pin, correlate.h) */
        uint8_t absent_ok; /* a group_by field the event lacks keys as "-" rather than
                            * dropping the match (a Sigma rule's own incident route) */
    } routes[4];
    uint64_t capture_fields[CR_FIELD_WORDS]; /* bit i set: a capture of this rule sets field i */
    uint16_t carry[8]; /* fields whose values its matches carry (cr_match.carried): its own
                        * incident's `fields`, then those of the correlations that count it */
    int ncarry;
    int measure_field;           /* 1 + the field whose number the worker reads from a match into
                                  * cr_match.measure: its own incident's impact measure, else that of
                                  * the first correlation that counts it; 0 = none */
    struct cr_expr *expr;        /* a Sigma rule: its detection; patterns[] are its atoms'
                                  * (none negated) and `npatterns` counts them */
    uint8_t expr_needs_hit;      /* the detection cannot hold unless a pattern hit */
    struct cr_sigma_meta *sigma; /* non-NULL for a Sigma rule */
};

enum cr_corr_type {
    CR_CORR_EVENT_COUNT = 1,      /* N matches of any listed rule in the window */
    CR_CORR_TEMPORAL_ORDERED = 2, /* the steps in order, within the window */
    CR_CORR_VALUE_COUNT = 3,      /* N distinct values of `field` in the window */
    CR_CORR_TEMPORAL = 4,         /* every listed step, in any order, within the window */
    CR_CORR_ABSENCE = 5,          /* step 0 not followed by step 1 within the window */
    CR_CORR_NEW_VALUE = 6,        /* a value of `field` the key has not shown within `history` */
    CR_CORR_VALUE_SUM = 7,        /* the sum of the numbers in `field` in the window */
    CR_CORR_VALUE_AVG = 8,        /* their mean */
    CR_CORR_VALUE_PERCENTILE = 9, /* their `percentile`-th percentile */
};

/* A step input: a match rule or (for chaining) another correlation. */
struct cr_input_ref {
    uint8_t is_correlation;
    uint32_t index;
};

/* The fields a correlation's step s keys its matches by. */
#define CR_STEP_GROUP_BY(co, s) ((co)->per_step_group_by ? (co)->step_group_by[s] : (co)->group_by)

struct cr_correlation {
    char *id;
    char *title;
    char *file;
    int line;
    enum cr_corr_type type;
    struct cr_input_ref steps[CR_MAX_STEPS]; /* event_count: the counted rules (any of) */
    int nsteps;
    uint16_t group_by[CR_MAX_GROUP_BY];
    int ngroup_by;
    /* Set when the steps find the key in different fields (Sigma `aliases`,
     * or rules of different logsources): step s, a match rule, is keyed by
     * step_group_by[s] (ngroup_by fields, in the order of group_by); group_by
     * is then step 0's and names the incident's entities. */
    uint8_t per_step_group_by;
    uint16_t step_group_by[CR_MAX_STEPS][CR_MAX_GROUP_BY];
    int64_t timespan_ms; /* new_value: its history */
    uint32_t gte;        /* event_count / value_count threshold (the lower bound); temporal:
                          * how many of its distinct steps must happen (nsteps: all) */
    uint32_t lte;        /* event_count: upper bound; UINT32_MAX = none */
    uint8_t windowed;    /* event_count with an upper bound: one window per key, anchored
                          * at its first match, decided when event time passes its end */
    int value_field;     /* value_count, new_value, value_sum, value_avg: the field; -1 otherwise */
    /* value_sum / value_avg: the condition on the aggregate, as bounds:
     * num_lo (-INFINITY: none) and num_hi (INFINITY: none), each inclusive
     * unless its *_strict is set (gt, lt); eq is lo = hi, both inclusive */
    double num_lo, num_hi;
    uint8_t num_lo_strict, num_hi_strict;
    uint8_t percentile;  /* value_percentile: which one, 0..100 (50: the median) */
    int64_t learn_ms;    /* new_value: values are learned silently this long after the
                          * key's first match */
    uint32_t max_values; /* new_value: most recently seen values kept per key */
    /* temporal_ordered written with `steps:` and `join:` (a cross-key sequence):
     * step s > 0 joins when its field in_field equals the previous step's
     * prev_field. group_by is then the join fields (in_field of steps
     * 1..n-1): the key of the sequence's incidents. */
    uint8_t joined;
    struct cr_join_step {
        uint16_t in_field, prev_field; /* step s > 0: this step's field = previous step's */
        /* The key a step's input carries: for a match rule the route fields
         * [in_field, next step's prev_field] (one of them at the ends, or one if
         * equal); for a chained correlation its group_by. */
        uint16_t fields[CR_MAX_GROUP_BY];
        int nfields;
        int8_t in_pos, out_pos; /* where in_field / the next step's prev_field are in
                                 * fields; -1 at step 0 / the last step */
    } join[CR_MAX_STEPS];
    uint16_t pin; /* 0, or as cr_route.pin: every state of this correlation is on one shard */
    struct cr_incident_spec incident;
    char *annotation; /* a Sigma correlation: as cr_sigma_meta.annotation; else NULL */
};

/* Does correlation co read the numbers of its field (value_sum, value_avg,
 * value_percentile)? */
static inline uint8_t cr_corr_value_num(const struct cr_correlation *co)
{
    return co->type == CR_CORR_VALUE_SUM || co->type == CR_CORR_VALUE_AVG ||
           co->type == CR_CORR_VALUE_PERCENTILE;
}

/* Why a Sigma rule was skipped (rules/sigma.c); names in cr_sigma_skip_name. */
enum cr_sigma_skip {
    CR_SIGMA_SKIP_STATUS = 0,  /* status: deprecated or unsupported */
    CR_SIGMA_SKIP_LOGSOURCE,   /* no sigma_logsources entry maps its logsource */
    CR_SIGMA_SKIP_MODIFIER,    /* a value modifier corral does not know */
    CR_SIGMA_SKIP_CONDITION,   /* a condition corral cannot read (aggregation, syntax) */
    CR_SIGMA_SKIP_REGEX,       /* a regex PCRE2 or Hyperscan refuses */
    CR_SIGMA_SKIP_PLACEHOLDER, /* `expand` with a placeholder no config defines */
    CR_SIGMA_SKIP_CORRELATION, /* a Sigma correlation or filter rule */
    CR_SIGMA_SKIP_INVALID,     /* not a valid Sigma rule (missing id, detection...) */
    CR_SIGMA_SKIP_DUPLICATE,   /* its id is taken */
    CR_SIGMA_SKIP_LIMIT,       /* over a compile-time limit (fields, nesting, values) */
    CR_SIGMA_SKIP__COUNT
};
const char *cr_sigma_skip_name(enum cr_sigma_skip why);

struct cr_sigma_stats {
    int loaded, skipped;
    int silent;  /* loaded below sigma_min_level: they match, open no incident of their own */
    int filters; /* filter documents applied to at least one rule (not in loaded) */
    int by_reason[CR_SIGMA_SKIP__COUNT];
    char *skips; /* "file:line: reason" per skipped rule, one per line (malloc'd; may be NULL) */
};

struct cr_ruleset {
    struct cr_rule *rules;
    int nrules;
    struct cr_correlation *corrs;
    int ncorrs;
    struct cr_pattern *patterns;
    int npatterns;

    /* Field names: builtin ones first, then extra names (captures, JSON
     * paths) at ids CR_F__BUILTIN..nfields-1. */
    const char *field_names[CR_MAX_FIELDS];
    int nfields;
    /* Derived fields (a rule's `transforms:`, rules/transform.h): field is
     * the transforms of src, computed by the matcher before its scans; its
     * name is "src|t1|t2", one per distinct (src, chain) in the ruleset. */
    struct cr_derived {
        uint16_t field, src;
        uint8_t ops[CR_MAX_XFORMS];
        uint8_t nops;
    } * derived;
    int nderived;

    /* Hyperscan: one block-mode database per field that has patterns. */
    struct cr_hs_field {
        uint16_t field;
        void *db;                /* hs_database_t * */
        uint32_t *pattern_of_id; /* hs id -> index into patterns[] */
        int npat;
        int from_cache; /* 1 if deserialized from the on-disk cache */
    } hs[CR_MAX_FIELDS];
    int nhs;
    int16_t hs_of_field[CR_MAX_FIELDS]; /* index into hs[] of a field's database, -1 none */
    uint32_t *same_next; /* per pattern: the next pattern with the same expression, flags and
                          * field (compiled once, reported for all; UINT32_MAX ends) */
    void *scratch_proto; /* hs_scratch_t *, grown for every database; matchers clone it */

    /* Rules that have no positive pattern: checked on every event (rare). */
    uint32_t *unconditional;
    int nunconditional;

    size_t max_captures; /* for sizing PCRE2 match data */
    int max_expr_depth;  /* deepest Sigma condition: sizes each matcher's stack */
    uint64_t hash;       /* of the whole compiled content (reload: what changed) */

    /* Every rule and correlation id, sorted, behind cr_ruleset_find_*. Ids
     * are one namespace: a temporal step names either kind. */
    struct cr_id_entry {
        const char *id;
        uint32_t index;
        uint8_t is_correlation;
    } * ids;
    int nids;

    struct cr_sigma_stats sigma;
};

struct cr_ruleset_opts {
    const char *cache_dir; /* Hyperscan database cache; NULL = no cache */
};

/* Load and compile rule files. `paths` are files or directories (every
 * *.yaml / *.yml inside, sorted by name). On any error returns NULL and
 * writes every problem found, one "file:line: reason" per line, to err. */
struct cr_ruleset *cr_ruleset_load(const char *const *paths, int npaths,
                                   const struct cr_ruleset_opts *opts, char *err, size_t errlen);
void cr_ruleset_free(struct cr_ruleset *rs);

/* "event_count", "value_sum", ... ("?" for no type). */
const char *cr_corr_type_name(enum cr_corr_type t);
int cr_ruleset_find_rule(const struct cr_ruleset *rs, const char *id);
int cr_ruleset_find_corr(const struct cr_ruleset *rs, const char *id);
/* Placement, the one function that says which shard owns correlation
 * state: a state lives on XXH3_64bits(key bytes, seed 0) modulo nshards
 * (seed and hash are part of the contract: changing them moves keys
 * between shards, and a checkpoint's states with them), except the states of a pinned group (a
 * cross-key sequence and everything chained to it), which all live on the shard of the pinning
 * correlation's id. The worker places matches with the route form and a
 * restarting shard places checkpointed states with the state form; both
 * must agree, so both are here.
 *   route: the route a match travels (its pin), key: the route key.
 *   state: the consumer id (rule or correlation) and the key of the state. */
uint32_t cr_ruleset_route_shard(const struct cr_ruleset *rs, const struct cr_route *rt,
                                const char *key, size_t len, int nshards);
uint32_t cr_ruleset_state_shard(const struct cr_ruleset *rs, const char *id, const char *key,
                                size_t len, int nshards);
/* The pin of the state owner named id (a rule or correlation id): 0 when its
 * states are placed by their key, else as cr_route.pin. */
uint16_t cr_ruleset_pin(const struct cr_ruleset *rs, const char *id);
/* Field id by name (builtin or extra), -1 if the rules never use it. */
int cr_ruleset_field(const struct cr_ruleset *rs, const char *name);

/* Category table of DOMAIN.md (a): default reg_category of a category id,
 * or NULL if the id is not a known category. */
const char *cr_category_reg_default(const char *category);
/* The table itself, for listing: the i-th category id (0-based), or NULL past
 * the end. */
const char *cr_category_id(int i);

#endif
