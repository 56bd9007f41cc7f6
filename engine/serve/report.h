/*
 * report.h - the service report: what the supervisor (监理方) and the
 * administrator (管理方) review each month, computed from the stored
 * incidents a filter selects (`corral report`, GET /api/v1/report).
 *
 * Over the period [from, to] and within the filter's scope (a tenant token
 * sees its own tenants only; --tenant narrows further):
 *  - incidents detected in the period (first_seen inside it): by category,
 *    by regulatory level, by priority, security and fault;
 *  - timeliness per priority against the grading policy's targets:
 *    respond (MTTA), restore (MTTR), resolve, and the regulator's report
 *    for levels that need one. A deadline counts as met when the state
 *    (or a later one: a move may skip a state that does not apply) was
 *    reached by its due time, breached when it was reached later or is
 *    still unreached past its due time (at the period's end, or now if
 *    that is earlier), pending otherwise;
 *  - the open backlog at the period's end: incidents detected by then and
 *    not closed by then, by priority and by age, and how many are overdue;
 *  - top entities and top rules by incidents;
 *  - availability: for each system named by a full-outage incident of an
 *    infrastructure category (compute, storage, network, platform,
 *    facilities), its downtime in the period (the union of its outages,
 *    from first_seen to the restore, else the resolve, else the last
 *    evidence while open, clipped to the period) and the availability
 *    against the policy's target for the class (iaas, vm, extranet_core,
 *    facility). Systems without such an incident were available
 *    throughout.
 * The JSON is the report; the HTML renders the same JSON (inline SVG
 * charts, no external asset: the site may be air-gapped).
 *
 * Threading: one caller at a time per store handle, as cr_store_query.
 */
#ifndef CR_REPORT_H
#define CR_REPORT_H

#include "engine/grade/policy.h"
#include "engine/serve/filter.h"
#include "engine/store/store.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* The report over [from_ms, to_ms] of the incidents f selects (its time
 * bounds should be the period's: active at some point in it). p: the
 * grading policy (targets); now_ms: the clock for what is still pending.
 * Returns a new object, or NULL with the reason in err. */
json_t *cr_report_build(struct cr_store *s, const struct cr_filter *f, int64_t from_ms,
                        int64_t to_ms, int64_t now_ms, const struct cr_grade_policy *p, char *err,
                        size_t errlen);

/* The report as one HTML page (malloc'd, NUL-terminated; *len its length). */
char *cr_report_html(const json_t *report, size_t *len);

#endif
