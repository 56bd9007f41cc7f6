/*
 * rule_load.h - private to rules/: the pieces of cr_ruleset_load that are
 * split across files (YAML walking in rule_load.c and sigma.c, linking and
 * compiling in ruleset.c). Hyperscan (hs_db.c) and the error formatter
 * (rule_error.c) are below it: they include nothing of the load.
 */
#ifndef CR_RULE_LOAD_H
#define CR_RULE_LOAD_H

#include "base/yaml_doc.h"
#include "rules/ruleset.h"

#include <stddef.h>

/* A correlation's references, kept by name until every file is read. */
struct cr_pending_ref {
    const char *name; /* borrowed from the YAML document */
    int line;
};

struct cr_load {
    struct cr_ruleset *rs;
    char *err;
    size_t errlen;
    int nerr;
    struct cr_yaml **docs; /* kept open until linking is done: refs borrow names */
    int ndocs;
    /* refs[c][i] is step i of correlation c (parallel to rs->corrs). */
    struct cr_pending_ref (*refs)[CR_MAX_STEPS];
    int *group_by_line;      /* per correlation: line of its group_by (for messages) */
    int *rule_group_by_line; /* per rule */
    uint64_t capture_names[CR_FIELD_WORDS]; /* bit i: some rule captures into field i */
    /* Field names corral's own rule files read (not Sigma's, which come through the
     * logsource mapping), with where each was first named: checked for typos once
     * everything is loaded (cr_load_check_fields). */
    uint64_t own_ref[CR_FIELD_WORDS];
    uint64_t sigma_ref[CR_FIELD_WORDS]; /* bit i: a Sigma rule's mapping names field i */
    struct cr_field_ref {
        const char *file; /* borrowed from the loaded documents */
        int line;
    } field_ref[CR_MAX_FIELDS];
    int in_sigma; /* compiling Sigma rules: cr_load_field marks sigma_ref */
    int cap_rules, cap_corrs, cap_patterns;
    /* Sigma: rule documents kept until every file is read (the logsource
     * mapping may come in a later file), and the mapping (rules/sigma.c). */
    struct cr_sigma_doc {
        struct cr_yaml *y;
        yaml_node_t *root;
        int applied; /* a filter document: the rules it was ANDed to */
    } * sigma_docs;
    int nsigma_docs;
    int *filter_docs; /* indexes into sigma_docs of the filter documents, while compiling */
    int nfilter_docs;
    struct cr_sigma_map *sigma_map;
    struct cr_sigma_gate {
        uint64_t key;
        uint32_t pat;
        uint8_t used;
    } * sigma_gates; /* gate patterns shared between Sigma rules (sigma.c) */
    uint32_t sigma_gates_cap, sigma_gates_n;
};

/* Refuse the field names corral's own rules read that are neither parsed fields, nor
 * captured by some rule, nor JSON paths, and are one or two edits away from a name that
 * is: "unknown field 'progam' (did you mean 'program'?)". Other names are JSON keys or
 * key=value keys the parsers look up, and stay. */
void cr_load_check_fields(struct cr_load *L);

/* Rule ids: index of the rule named id, -1 if none (linear; load time). */
int cr_load_rule_index(struct cr_load *L, const char *id);
/* A new, zeroed correlation appended to L->rs (value_field -1), with its
 * refs row and group_by line cleared. */
struct cr_correlation *cr_load_new_corr(struct cr_load *L, int *index);
/* value_sum / value_avg: one condition bound (op gt, gte, lt, lte or eq;
 * val a decimal number) into c->num_lo / num_hi. Returns 0, or -1 with why. */
int cr_load_num_bound(struct cr_correlation *c, const char *op, const char *val, char *why,
                      size_t wl);
/* After every bound: is the condition one that can be run? 0, or -1 with why
 * (no bound; eq with another; no value satisfies it; a value_sum with an
 * upper bound only, which every key's first event satisfies). */
int cr_load_num_check(const struct cr_correlation *c, int neq, char *why, size_t wl);
/* A new, zeroed rule appended to L->rs (grows the arrays). */
struct cr_rule *cr_load_new_rule(struct cr_load *L, uint32_t *index);
/* A new pattern for rule `rule` on `field`; regex copied. PCRE2 code is
 * compiled only when `need_pcre` (a regex Hyperscan may only prefilter);
 * returns its index or -1 after writing PCRE2's message to msg. */
int cr_load_new_pattern(struct cr_load *L, uint32_t rule, int field, const char *regex,
                        unsigned hs_flags, int caseless, int need_pcre, int line, char *msg,
                        size_t msglen);

/* Sigma (rules/sigma.c). A document is Sigma if its root has `detection`
 * or `correlation`; a mapping file has `sigma_logsources`. */
int cr_sigma_is_rule(struct cr_yaml *y, yaml_node_t *root);
int cr_sigma_is_map(struct cr_yaml *y, yaml_node_t *root);
void cr_sigma_add_doc(struct cr_load *L, struct cr_yaml *y, yaml_node_t *root);
/* Parse a mapping file (strict: problems are load errors). */
void cr_sigma_load_map(struct cr_load *L, struct cr_yaml *y, yaml_node_t *root);
/* Compile every kept Sigma document into rules, skipping (and counting in
 * L->rs->sigma) those corral cannot run. Called once every file is read. */
void cr_sigma_compile_all(struct cr_load *L);
void cr_sigma_map_free(struct cr_sigma_map *m);
void cr_sigma_free_rule(struct cr_rule *r);

/* "file:line: reason" appended to err on its own line; counts it. */
void cr_load_error(struct cr_load *L, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* (callers without a cr_load use rules/rule_error.h) */

/* Field id of a name, registering an extra field if needed. -1 (and an
 * error reported at file:line) when CR_MAX_FIELDS is exhausted. */
int cr_load_field(struct cr_load *L, const char *name, const char *file, int line);

/* Read one rule file into L->rs (rules, correlations, patterns compiled
 * with PCRE2). Problems are reported and counted in L; the document is kept
 * in L->docs. */
void cr_load_file(struct cr_load *L, const char *path);

#endif
