/*
 * enrich.h - the asset of a matching record: which inventory entry its
 * fields name.
 *
 * Grading needs the systems and tenants an incident affects, and those
 * follow from its assets (engine/assets/inventory.h). A worker asks this
 * module once per record that matched a rule (never for the others: only
 * matches reach an incident): the values of the configured `asset_fields`
 * are tried in order, each as a host name, an address (exact, then the
 * longest prefix), a cloud account and a Kubernetes namespace, and the
 * first the inventory knows is the record's asset. The source address
 * (src_ip) is looked up too: a source inside the inventory (lateral
 * movement, a compromised host) is named as such. A record that matches
 * no asset is not dropped: its incident is graded with the policy's
 * defaults (tier.unknown) and counted (`unenriched_matches`).
 *
 * Cost: a few hash probes per matching record, no allocation
 * (bench/bench_inventory.c measures the lookups; docs/benchmarks.md).
 *
 * Ownership and threading: a worker owns its struct cr_enrich; the
 * inventory is borrowed, immutable and shared (lookups are read-only).
 */
#ifndef CR_ENRICH_H
#define CR_ENRICH_H

#include "base/event.h"
#include "engine/assets/inventory.h"
#include "rules/ruleset.h"

#include <stddef.h>

#define CR_ENRICH_MAX_FIELDS 8

struct cr_enrich {
    const struct cr_inventory *inv; /* NULL: no inventory, nothing found */
    int fields[CR_ENRICH_MAX_FIELDS];
    int nfields;
    int src_field; /* src_ip, -1 if the ruleset has none */
};

/* Resolve names (comma-separated, config asset_fields) against the
 * ruleset's fields; a name the ruleset does not know is skipped (no record
 * carries it). Call again after a rules swap. */
void cr_enrich_init(struct cr_enrich *e, const struct cr_inventory *inv,
                    const struct cr_ruleset *rs, const char *names);

/* The asset index of the record (-1: none) and of its source (-1). */
int cr_enrich_asset(const struct cr_enrich *e, const struct cr_event *ev);
int cr_enrich_source(const struct cr_enrich *e, const struct cr_event *ev);

/* The number in field f of ev (a leading integer, "40", "40.5", "-3"):
 * 1 and *out, or 0 if absent or not a number. */
int cr_event_number(const struct cr_event *ev, int f, int64_t *out);

#endif
