/*
 * assess.h - an incident version graded against the inventory, merged with
 * what its stored version already holds.
 *
 * The writer (engine/pipeline/writer.c) calls cr_assess for every incident
 * version before it stores it. From the version's own members (category,
 * first/last seen, `rule_priority`, `impact`, `assets`: incident.h) and
 * the inventory it derives:
 *  - `systems` (each {id, name, tier, tenant, via}) and `tenants`: the
 *    systems of the incident's assets, and for an outage those of every
 *    asset that depends on them (a storage pool's volumes' VMs' systems);
 *    an asset that belongs to no system stands for itself, with its tier
 *    as a shared component (cr_inventory_asset_tier);
 *  - the outage `duration`: the span of its evidence, plus the wall-clock
 *    time since the last new evidence while it is not yet restored;
 *  - `reg_level_proposed`, `priority` and `grading` (tier, loss, reasons)
 *    from cr_grade_compute; while open, a level or priority never goes
 *    down from what the stored version had, and each change is a history
 *    entry ("regrade", with the reason);
 *  - `reg_level`: the confirmed level if an administrator confirmed one,
 *    else the proposed;
 *  - the deadlines (lifecycle.h, cr_incident_set_deadlines) from
 *    `detected_at`, the wall-clock time corral first stored it.
 * Lifecycle members (`status`, the state times, `history`, confirmations,
 * `parent`/`children`, analyst inputs) come from the stored version: the
 * correlator knows nothing of them, and a new version never undoes what an
 * analyst did.
 *
 * cr_assess_regrade grades a stored incident again with no new evidence
 * (the wall clock moved): the same computation, from its stored members.
 *
 * Threading: one thread uses an assessor at a time (its walk scratch is
 * written by every assessment).
 */
#ifndef CR_ASSESS_H
#define CR_ASSESS_H

#include "engine/assets/inventory.h"
#include "engine/grade/policy.h"

#include <jansson.h>
#include <stdint.h>

struct cr_assessor {
    const struct cr_inventory *inv; /* NULL: every incident matches no asset */
    struct cr_grade_policy policy;
    struct cr_inventory_walk *walk; /* the caller's walk scratch (needed with inv) */
};

/* obj: the new version (cr_incident_to_jobj); prev: the stored version or
 * NULL. Edits obj. Returns 1 if the level or priority changed from prev
 * (or obj is new), 0 otherwise. */
int cr_assess(const struct cr_assessor *a, json_t *obj, const json_t *prev, int64_t now_ms);

/* Grade the stored obj again at now_ms (why: the history's reason, "time
 * passed", "analyst input"). Returns 1 if its level or
 * priority rose (obj edited), else 0 (obj unchanged). Closed and restored
 * incidents are left as they are. */
int cr_assess_regrade(const struct cr_assessor *a, json_t *obj, int64_t now_ms, const char *why);

/* The wall clock grading reads: CORRAL_NOW (RFC 3339) when set, so tests
 * and examples can move time; else the real clock. */
int64_t cr_assess_now(void);

#endif
