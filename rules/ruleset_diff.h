/*
 * ruleset_diff.h - what changed between two loaded rule sets, rule by rule.
 *
 * A hot reload (engine/pipeline/reload.c) keeps the correlation state of every rule
 * and correlation whose definition did not change, and drops the rest. This
 * module says which ones those are: a definition hash per match rule and
 * per correlation, and a summary of two rule sets (added, changed, removed,
 * unchanged).
 *
 * The hashes cover what a definition means, not where it sits: field and
 * step references are hashed by name, never by index, so adding a rule (or
 * a capture that creates a new field) elsewhere does not make an untouched
 * rule look changed. A comment or a reordering of files is no change. What
 * a correlation's definition covers is its own block (type, steps by id,
 * group_by, window, threshold, counted field, incident); a change to the
 * regex of a rule it counts changes that rule, not the correlation, so the
 * correlation's windows survive a tweak of the patterns that feed it.
 *
 * Threading: pure functions over immutable rule sets; any thread.
 */
#ifndef CR_RULESET_DIFF_H
#define CR_RULESET_DIFF_H

#include "rules/ruleset.h"

#include <stdint.h>

/* Definition hash of match rule r of rs (id, title, where, patterns,
 * group_by, incident block). */
uint64_t cr_rule_def_hash(const struct cr_ruleset *rs, int r);
/* Definition hash of correlation k of rs. */
uint64_t cr_corr_def_hash(const struct cr_ruleset *rs, int k);

struct cr_ruleset_diff {
    int rules_added, rules_changed, rules_removed, rules_unchanged;
    int corrs_added, corrs_changed, corrs_removed, corrs_unchanged;
};

/* Compare the rules and correlations of `from` and `to` by id and
 * definition hash. */
void cr_ruleset_diff(const struct cr_ruleset *from, const struct cr_ruleset *to,
                     struct cr_ruleset_diff *d);

#endif
