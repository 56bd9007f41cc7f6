/*
 * grade.h - DOMAIN.md (b) as a function: what an incident affects and what
 * it did, in; proposed level, priority and the reasons, out.
 *
 * Steps, each with its numbers from the policy (policy.h):
 *  1. the importance tier of each affected system (the caller takes it from
 *     the inventory: cr_inventory_asset_tier);
 *  2. the loss grade of each: outage scope and duration against the rungs,
 *     compromised hosts (a count, and a share of the system's hosts), data
 *     impact, ransomware on production;
 *  3. the level: the highest matrix(tier, loss) over the systems, raised by
 *     the social-impact triggers (personal-information records, portal and
 *     CII interruption, defacement, economic loss);
 *  4. the priority: the most urgent of the rule's own, the objective
 *     criteria (level, T1/T2 outages, tenants and systems impacted, control
 *     plane, facility power, temperature and fire, ransomware, lateral
 *     movement and exfiltration, a compromised host, defacement), and what
 *     the level implies (I-III: P1; IV: at least P3).
 *
 * Pure: no clock, no inventory, no allocation; the same input grades the
 * same everywhere (a run, a re-grade by the wall clock, a test).
 *
 * Threading: none needed.
 */
#ifndef CR_GRADE_H
#define CR_GRADE_H

#include "base/impact.h"
#include "engine/grade/policy.h"

#include <stdint.h>

#define CR_GRADE_MAX_REASONS 10
#define CR_GRADE_REASON 200

/* One affected system (or an asset that belongs to none). */
struct cr_grade_system {
    const char *id;
    int tier;        /* 1..3 (inventory.h enum cr_tier) */
    int cii;         /* critical information infrastructure */
    int portal;      /* inventory.h enum cr_portal: 0 none, 1 city, 2 province */
    int hosts;       /* hosts and VMs the system has (0: unknown) */
    int compromised; /* ... of them compromised in this incident */
    const char *why; /* how the incident reaches it ("depends on pool-1"), or NULL */
};

struct cr_grade_input {
    const char *category; /* DOMAIN.md (a) id */
    int rule_priority;    /* 1..4 from the rule (P1..P4); 0 = none */
    struct cr_impact impact;
    int64_t duration_ms; /* how long the outage (or defacement) has lasted so far */
    int has_measure;
    int64_t measure; /* the impact's measure (records, runtime minutes, °C) */
    const struct cr_grade_system *systems;
    int nsystems;
    int ntenants;              /* distinct tenants affected */
    int64_t economic_loss_cny; /* analyst input; 0 = none */
};

struct cr_grade {
    int level;      /* proposed reg_level 1..4 (I..IV) */
    int priority;   /* 1..4 (P1..P4) */
    int loss;       /* the loss grade (1..4) of the system that set the level */
    int tier;       /* ... and its tier */
    int reportable; /* level at or above the policy's report_min_level */
    int cii;        /* a CII system is affected (the 1 h report route) */
    int nreasons;
    char reasons[CR_GRADE_MAX_REASONS][CR_GRADE_REASON];
};

void cr_grade_compute(const struct cr_grade_policy *p, const struct cr_grade_input *in,
                      struct cr_grade *out);

/* "2h30m" for 9,000,000 ms: how durations read in reasons. */
void cr_grade_format_duration(int64_t ms, char *buf, size_t len);

#endif
