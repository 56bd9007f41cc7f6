/*
 * topology.h - root cause from the dependency graph: when a parent asset
 * fails, the incidents of what depends on it are its consequences.
 *
 * A UPS that drops, a core switch that goes down, a storage pool that goes
 * offline, a host under its VMs: each takes its dependants with it, and
 * each dependant raises its own incident (host unreachable, link down,
 * service failing). An analyst needs one incident to act on, with what it
 * affects, and the others linked to it. The writer keeps the open failures
 * of the run here (an incident whose impact is an outage or a loss of
 * power, with its asset and time span) and asks, for each new version:
 *  - is its asset a dependant of an open failure's asset, with the two
 *    spans within `window` of each other? Then that failure is its root:
 *    the version gets `parent` and `suppressed: true` (kept, counted,
 *    queryable, not lost), the root lists it in `children`;
 *  - is it itself a failure above open incidents that have no root yet?
 *    Then it becomes their root (the writer rewrites them).
 * Only failures take part, as root and as consequence: an outage (full,
 * main function or degraded) or a loss of power, of an asset in the
 * inventory; a software fault (F-SW-*) is its own cause, whatever it runs
 * on, and a security incident is never a consequence of a fault.
 * The root's grade already counts the dependants' systems and tenants
 * (assess.h walks the dependants of an outage), so grouping changes no
 * level; it says which incident is the cause.
 *
 * Bounded: at most CR_TOPOLOGY_MAX open failures are remembered (the
 * oldest go first); a failure past its span plus the window is forgotten.
 *
 * Threading: owned by the writer thread.
 */
#ifndef CR_TOPOLOGY_H
#define CR_TOPOLOGY_H

#include "engine/assets/inventory.h"

#include <jansson.h>
#include <stdint.h>

#define CR_TOPOLOGY_MAX 4096

struct cr_topology;

struct cr_topology *cr_topology_new(void);
void cr_topology_free(struct cr_topology *t);

#define CR_TOPOLOGY_ADOPT_MAX 64

struct cr_topology_result {
    char root[33]; /* "" or the root obj joined: the caller adds obj to its stored
                    * `children` (cr_topology_add_child) */
    int nadopt;    /* earlier incidents obj now roots (obj lists them already): the
                    * caller sets their `parent` (cr_topology_adopt) and stores them */
    char adopt[CR_TOPOLOGY_ADOPT_MAX][33];
};

/* Place version obj (graded, assess.h) in the graph: sets its `parent`
 * and `suppressed`, or its `children`, as found. */
void cr_topology_place(struct cr_topology *t, const struct cr_inventory *inv, json_t *obj,
                       int64_t window_ms, struct cr_topology_result *res);

/* Make child (a stored incident) a consequence of root_id; add id to a
 * root's children (once). */
void cr_topology_adopt(json_t *child, const char *root_id);
void cr_topology_add_child(json_t *root, const char *id);

#endif
