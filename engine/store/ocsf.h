/*
 * ocsf.h - an incident as OCSF (Open Cybersecurity Schema Framework 1.1)
 * for SIEMs and data lakes that read OCSF: `corral query --format ocsf`.
 *
 * A correlation's incident (`kind: correlation`) or a root cause is an
 * Incident Finding (class 2005); a match rule's own incident (`kind:
 * detection`, one rule firing, however often) is a Detection Finding
 * (class 2004). The mapping:
 *   time, start_time, end_time   detected_at / first_seen / last_seen (ms)
 *   severity_id                  reg_level I..IV -> 5 Critical, 4 High, 3 Medium, 2 Low
 *   priority_id (2005)           P1..P4 -> 4 Critical, 3 High, 2 Medium, 1 Low
 *   status_id                    detected 1 New; acknowledged .. restored 2 In Progress;
 *                                resolved, verified_by_tenant 4 Resolved; closed 5 Closed
 *   finding_info                 uid (the incident id), title, types [category,
 *                                reg_category], analytic {uid: rule, name: title,
 *                                type_id 1 Rule}, attacks (the ATT&CK ids, when the rule
 *                                has them), related_events (evidence refs)
 *   resources                    the affected systems and assets ({uid, name, type,
 *                                criticality: the tier}); observables: the entities
 *   metadata                     product {name: corral, vendor_name: corral}, version
 *   unmapped                     corral's own members OCSF has no place for (tenants,
 *                                grading reasons, deadlines, history, parent, children)
 *
 * Threading: pure; any thread.
 */
#ifndef CR_OCSF_H
#define CR_OCSF_H

#include <jansson.h>

/* The OCSF object of a stored incident (new reference), or NULL if inc is
 * not an incident object. */
json_t *cr_incident_to_ocsf(const json_t *inc);

#endif
