/*
 * rule_load.h - private to rules/: the pieces of cr_ruleset_load that are
 * split across files (YAML walking in rule_load.c, linking and compiling in
 * ruleset.c, Hyperscan in hs_db.c) and the one error formatter they share.
 */
#ifndef CR_RULE_LOAD_H
#define CR_RULE_LOAD_H

#include "../engine/yaml_doc.h"
#include "ruleset.h"

#include <stddef.h>

/* A correlation's references, kept by name until every file is read. */
struct cr_pending_ref {
    const char *name;   /* borrowed from the YAML document */
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
    int *group_by_line; /* per correlation: line of its group_by (for messages) */
    int *rule_group_by_line; /* per rule */
    uint64_t capture_names; /* bit i: some rule captures into field i */
    int cap_rules, cap_corrs, cap_patterns;
};

/* "file:line: reason" appended to err on its own line; counts it. */
void cr_load_error(struct cr_load *L, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Same formatting for callers without a cr_load (hs_db.c). */
void cr_rules_error(char *err, size_t errlen, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Field id of a name, registering an extra field if needed. -1 (and an
 * error reported at file:line) when CR_MAX_FIELDS is exhausted. */
int cr_load_field(struct cr_load *L, const char *name, const char *file, int line);

/* Read one rule file into L->rs (rules, correlations, patterns compiled
 * with PCRE2). Problems are reported and counted in L; the document is kept
 * in L->docs. */
void cr_load_file(struct cr_load *L, const char *path);

#endif
