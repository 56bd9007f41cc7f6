/*
 * matcher.h - per-thread matching of events against a ruleset.
 *
 * For each event: one hs_scan per field that has a database ("Hyperscan
 * first"), collect the candidate rules the scans reported, then in rule
 * order check each candidate's `where` predicates, make sure every one of
 * its patterns hit and no negated one did, and run PCRE2 only where it must
 * (prefiltered patterns to confirm, capturing patterns to extract fields).
 * Rules without patterns are checked on every event.
 *
 * Captures are written into the event as slices into the matched field's
 * bytes, so they live as long as the event.
 *
 * Ownership and threading: a matcher belongs to one thread. It borrows the
 * ruleset, which must outlive it. It owns a clone of the Hyperscan scratch
 * and its PCRE2 match data; nothing is allocated per event.
 */
#ifndef CR_MATCHER_H
#define CR_MATCHER_H

#include "rules/ruleset.h"

struct cr_matcher;

struct cr_matcher *cr_matcher_new(const struct cr_ruleset *rs);
void cr_matcher_free(struct cr_matcher *m);

/* Match one event. Writes the indices of matching rules, in rule order, to
 * out (at most max) and returns how many. May add capture fields to ev.
 * Returns -1 on an internal Hyperscan error (a bug: invalid db/scratch). */
int cr_matcher_match(struct cr_matcher *m, struct cr_event *ev, uint32_t *out, int max);

/* Counters since creation (single thread; read them from the owning thread
 * or after it stopped). */
struct cr_matcher_stats {
    uint64_t events;
    uint64_t hs_scans;
    uint64_t candidates;  /* rules reported by Hyperscan (a Sigma rule whose logsource
                           * select failed is not recorded, matcher.c) */
    uint64_t pcre_runs;   /* PCRE2 confirm/extract calls */
    uint64_t matches;     /* rules that matched */
    uint64_t pcre_errors; /* match limit hit etc.; counted as no match */
};
const struct cr_matcher_stats *cr_matcher_stats(const struct cr_matcher *m);

#endif
