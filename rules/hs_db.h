/*
 * hs_db.h - Hyperscan databases of a ruleset: one block-mode database per
 * field, exact/prefilter classification, and the scratch prototype.
 *
 * Why per field: an event is scanned once per field it has, and the guide
 * warns against "union" databases. Why classification here: whether
 * Hyperscan can take a pattern exactly is only known by asking it; what it
 * cannot take (back-references, look-behind, atomic groups...) it can
 * usually take with HS_FLAG_PREFILTER, giving a superset of matches that
 * PCRE2 confirms (see architecture.md B.3).
 *
 * Expressions: capture groups are rewritten to non-capturing `(?:` before
 * compiling (captures never change the match set, and PCRE2 does the
 * extracting), except that a prefilter retry uses the pattern as written
 * so that numbered back-references still refer to their group. Patterns
 * are compiled WITHOUT HS_FLAG_UTF8: records may contain invalid UTF-8 and
 * scanning that with UTF-8 patterns is undefined; we match bytes.
 *
 * Threading: load-time only. The databases and the scratch prototype are
 * then read-only; each matcher clones the prototype.
 */
#ifndef CR_HS_DB_H
#define CR_HS_DB_H

#include "rules/ruleset.h"

#include <stddef.h>

/* Flags every "did it match" pattern gets (plus HS_FLAG_CASELESS from the rule). */
#define CR_HS_BASE_FLAGS (HS_FLAG_SINGLEMATCH | HS_FLAG_DOTALL)

/* Build rs->hs[], rs->nhs and rs->scratch_proto from rs->patterns (whose
 * field, regex, hs_flags, ncapture, rule and line are set), updating each
 * pattern's kind and hs_flags. Uses and fills the cache in cache_dir if not
 * NULL. A pattern Hyperscan refuses even as a prefilter is reported as
 * "file:line: rule 'id': regex '...': hyperscan: <reason>" appended to err.
 * Returns the number of such errors (0 = success), or -1 after an error
 * that is not any pattern's fault (out of memory, scratch allocation). */
int cr_hs_db_build(struct cr_ruleset *rs, const char *cache_dir, char *err, size_t errlen);
void cr_hs_db_free(struct cr_ruleset *rs);

/* The pattern with every capturing group made non-capturing. Caller frees. */
char *cr_hs_rewrite_captures(const char *re);

#endif
