/*
 * policy.h - the grading policy: every number DOMAIN.md (b) tags [P], as
 * data.
 *
 * Operators replace DOMAIN.md's proposed figures with their contract's, so
 * none of them is a constant in the grading code: each is a key of this
 * table, with its default, its unit and what it means. The built-in
 * defaults are DOMAIN.md's; `configs/grading.yaml` is the same table as a
 * file the config names (`grading:`) and a user edits (a test holds the
 * file and the table equal). A key the file does not set keeps its default.
 *
 * File shape: nested mappings whose dotted paths are the keys, e.g.
 *
 *   loss:
 *     full_outage: { l3: 30m, l2: 2h, l1: 6h }
 *   targets:
 *     P1: { respond: 15m, restore: 2h, resolve: 4h }
 *
 * Durations take the config's units (30m, 2h, 3d); levels are I..IV;
 * counts are integers. Unknown keys, wrong types and out-of-range values
 * are refused with `file:line: reason`, all of them at once.
 *
 * Threading: immutable once loaded.
 */
#ifndef CR_GRADE_POLICY_H
#define CR_GRADE_POLICY_H

#include <stddef.h>
#include <stdint.h>

#define CR_GRADE_MAX_RUNGS 8

struct cr_grade_policy {
    /* step 1: importance tier */
    int64_t shared_tenants; /* a shared component reaching this many tenants is T2 */
    int64_t unknown_tier;   /* the tier of an incident that matches no asset */
    /* step 2: loss grade. [0] L3, [1] L2, [2] L1 */
    int64_t full_outage_ms[3];
    int64_t main_outage_ms[3];
    int64_t hosts_l3, hosts_l2; /* compromised hosts for L3, L2 */
    int64_t hosts_l1_pct;       /* compromised share of a system's hosts for L1 */
    /* the matrix: level (1..4) of tier t (1..3) and loss l (1..4) at [t-1][l-1] */
    int64_t matrix[3][4];
    /* step 3: social-impact triggers. [0] I, [1] II, [2] III, [3] IV */
    int64_t pi_records[4];
    int64_t pi_any_level; /* any confirmed personal-information leak: at least this level */
    int64_t portal_province_ms[4], portal_city_ms[4], portal_any_ms[4]; /* 0: no rung */
    int64_t cii_full_ms[4], cii_main_ms[4];
    int64_t deface_home_ms[4], deface_other_ms[4];
    int64_t deface_any_level;
    int64_t economic_cny[4];
    /* re-grading */
    int64_t rungs_ms[CR_GRADE_MAX_RUNGS];
    int nrungs;
    int64_t regrade_interval_ms; /* wall clock: how often open incidents are looked at */
    int64_t topology_window_ms;  /* a dependant's fault this near a parent's failure is its
                                  * consequence (topology.h) */
    /* step 4: priority criteria */
    int64_t p1_tenants, p1_systems, p1_control_plane_ms, p1_ups_runtime_min, p1_inlet_c;
    int64_t p2_tenants, p2_systems, p2_inlet_c;
    /* targets per priority, [0] P1 .. [3] P4; 0 = none */
    int64_t respond_ms[4], on_site_ms[4], restore_ms[4], resolve_ms[4];
    /* reporting (≥ report_min_level) and the summary after closing */
    int64_t report_min_level;
    int64_t report_cii_ms, report_other_ms;
    int64_t summary_ms;
    /* availability targets (the service report), in parts per million:
     * 99.95 % is 999500 */
    int64_t avail_iaas_ppm, avail_vm_ppm, avail_extranet_ppm, avail_facility_ppm;
};

/* DOMAIN.md's defaults. */
void cr_grade_policy_defaults(struct cr_grade_policy *p);

/* Load a policy file over the defaults. Returns 0, or -1 with every
 * problem in err as "file:line: reason", one per line. */
int cr_grade_policy_load(const char *path, struct cr_grade_policy *p, char *err, size_t errlen);
int cr_grade_policy_load_string(const char *name, const char *text, size_t len,
                                struct cr_grade_policy *p, char *err, size_t errlen);

/* Every key, for docs and the file test: cb(key, default as written, doc). */
void cr_grade_policy_each_key(void (*cb)(const char *key, const char *def, const char *doc,
                                         void *arg),
                              void *arg);

#endif
