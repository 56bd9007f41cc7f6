/*
 * topology.c - see topology.h. A small array of the run's open fault
 * incidents: faults are rare next to events, and a linear scan over a few
 * thousand entries per incident version is cheaper than keeping an index
 * of the dependency graph in step with them.
 */
#include "engine/grade/topology.h"

#include "base/event.h"
#include "engine/grade/lifecycle.h"

#include <stdlib.h>
#include <string.h>

struct entry {
    char id[33];
    int asset;  /* in the inventory of the run */
    int root;   /* a failure: may be the parent of its dependants' incidents */
    int parent; /* has a root already */
    int64_t first, last;
};

struct cr_topology {
    struct entry e[CR_TOPOLOGY_MAX];
    int n;
    struct cr_inventory_walk walk;
};

struct cr_topology *cr_topology_new(void) { return calloc(1, sizeof(struct cr_topology)); }
void cr_topology_free(struct cr_topology *t)
{
    if (t)
        cr_inventory_walk_free(&t->walk);
    free(t);
}

static int is_failure(const json_t *obj)
{
    const json_t *im = json_object_get(obj, "impact");
    const char *out = json_string_value(json_object_get(im, "outage"));
    return (out && strcmp(out, "none") != 0) || json_is_true(json_object_get(im, "mains_lost")) ||
           json_is_true(json_object_get(im, "on_battery"));
}

/* Is asset d a dependant of asset r (directly or not, r itself excluded)? */
static int depends(struct cr_topology *t, const struct cr_inventory *inv, int r, int d)
{
    return cr_inventory_depends_on(inv, d, r, &t->walk);
}

static int near(const struct entry *a, int64_t first, int64_t last, int64_t window)
{
    return first <= a->last + window && a->first <= last + window;
}

static void add_child(json_t *root, const char *id)
{
    json_t *c = json_object_get(root, "children");
    if (!json_is_array(c)) {
        c = json_array();
        json_object_set_new(root, "children", c);
    }
    for (size_t i = 0; i < json_array_size(c); i++)
        if (!strcmp(json_string_value(json_array_get(c, i)), id))
            return;
    json_array_append_new(c, json_string(id));
}

void cr_topology_adopt(json_t *child, const char *root_id)
{
    json_object_set_new(child, "parent", json_string(root_id));
    json_object_set(child, "suppressed", json_true());
}

static struct entry *find(struct cr_topology *t, const char *id)
{
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->e[i].id, id))
            return &t->e[i];
    return NULL;
}

void cr_topology_place(struct cr_topology *t, const struct cr_inventory *inv, json_t *obj,
                       int64_t window_ms, struct cr_topology_result *res)
{
    memset(res, 0, sizeof *res);
    const char *id = json_string_value(json_object_get(obj, "id"));
    const char *cat = json_string_value(json_object_get(obj, "category"));
    const char *a0 = json_string_value(json_array_get(json_object_get(obj, "assets"), 0));
    int asset = inv && a0 ? cr_inventory_find_asset(inv, a0) : -1;
    /* only failures (outages, power) of an asset take part; a software
     * fault (F-SW-*) is its own cause, whatever runs under it */
    if (!id || !cat || cat[0] != 'F' || asset < 0 || !is_failure(obj) || !strncmp(cat, "F-SW-", 5))
        return;
    int64_t first = cr_json_time(obj, "first_seen"), last = cr_json_time(obj, "last_seen");
    if (first == CR_TIME_NONE || last == CR_TIME_NONE)
        return;
    struct entry *me = find(t, id);
    if (!me) {
        if (t->n == CR_TOPOLOGY_MAX) { /* forget the oldest */
            memmove(&t->e[0], &t->e[1], sizeof t->e[0] * (CR_TOPOLOGY_MAX - 1));
            t->n--;
        }
        me = &t->e[t->n++];
        memset(me, 0, sizeof *me);
        snprintf(me->id, sizeof me->id, "%s", id);
        me->asset = asset;
    }
    me->first = first;
    me->last = last;
    me->root = is_failure(obj) && cr_incident_state(obj) < CR_ST_RESTORED;
    me->parent = json_object_get(obj, "parent") != NULL;
    /* its root: an open failure of something it depends on, near in time */
    for (int i = 0; i < t->n && !me->parent; i++) {
        struct entry *r = &t->e[i];
        if (r == me || !r->root || !near(r, first, last, window_ms) ||
            !depends(t, inv, r->asset, asset))
            continue;
        cr_topology_adopt(obj, r->id);
        me->parent = 1;
        snprintf(res->root, sizeof res->root, "%s", r->id);
    }
    if (me->parent)
        return;
    /* or it is the root of earlier incidents below it that have none yet */
    for (int i = 0; i < t->n && me->root && res->nadopt < CR_TOPOLOGY_ADOPT_MAX; i++) {
        struct entry *c = &t->e[i];
        if (c == me || c->parent || !near(c, first, last, window_ms) ||
            !depends(t, inv, asset, c->asset))
            continue;
        c->parent = 1;
        add_child(obj, c->id);
        snprintf(res->adopt[res->nadopt++], 33, "%s", c->id);
    }
}

void cr_topology_add_child(json_t *root, const char *id) { add_child(root, id); }
