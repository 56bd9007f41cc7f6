/*
 * incidents.c - incidents of correlation state: opening, updating, closing,
 * and handing their versions out at batch ends (flush).
 */
#include "engine/correlate/correlate_int.h"

/* Take s's incident out of where it is kept (not freed). */
struct cr_incident *corr_open_detach(struct cr_correlator *c, struct state *s)
{
    if (!s->open)
        return NULL;
    struct cr_incident *inc;
    char *slot = open_slot(c, s);
    if (slot)
        memcpy(&inc, slot, sizeof inc);
    else
        inc = corr_omap_del(&c->opens, s);
    s->open = 0;
    return inc;
}

/* Keep inc as s's incident (where open_slot says). */
void corr_open_attach(struct cr_correlator *c, struct state *s, struct cr_incident *inc)
{
    if (!inc)
        return;
    char *slot = open_slot(c, s);
    if (slot)
        memcpy(slot, &inc, sizeof inc);
    else
        corr_omap_put(&c->opens, s, inc);
    s->open = 1;
}

void corr_open_set(struct cr_correlator *c, struct state *s, struct cr_incident *inc)
{
    corr_open_attach(c, s, inc);
    c->nopen++;
}

/* Forget s's open incident (freed). */
void corr_open_clear(struct cr_correlator *c, struct state *s)
{
    if (!s->open)
        return;
    corr_incident_free(corr_open_detach(c, s));
    c->nopen--;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* A fresh incident for a consumer owning state s. */
struct cr_incident *corr_new_incident_key(struct cr_correlator *c, const char *rule_id,
                                          const char *rule_title,
                                          const struct cr_incident_spec *spec,
                                          const uint16_t *group_by, int ngroup, const char *key,
                                          size_t keylen, int64_t window_start)
{
    const struct cr_ruleset *rs = c->rs;
    struct cr_incident *inc = corr_incident_alloc();
    cr_incident_make_id(inc->id, rule_id, key, keylen, window_start);
    copy_str(inc->rule, sizeof inc->rule, rule_id);
    copy_str(inc->title, sizeof inc->title, spec->title ? spec->title : rule_title);
    copy_str(inc->category, sizeof inc->category, spec->category);
    copy_str(inc->reg_category, sizeof inc->reg_category, spec->reg_category);
    copy_str(inc->priority, sizeof inc->priority, spec->priority[0] ? spec->priority : "P3");
    inc->reg_level = spec->reg_level;
    inc->impact = spec->impact;
    copy_str(inc->status, sizeof inc->status, "detected");
    inc->window_start_ms = window_start;
    /* entities: the group_by field names with the key's values */
    size_t off = 0;
    for (int i = 0; i < ngroup && i < CR_INC_MAX_ENTITIES; i++) {
        const char *v = key + off;
        const char *end = memchr(v, CR_KEY_SEP, keylen - off);
        size_t vlen = end ? (size_t)(end - v) : keylen - off;
        const char *name = group_by[i] < rs->nfields ? rs->field_names[group_by[i]] : "?";
        copy_str(inc->entities[i].name, sizeof inc->entities[i].name, name);
        size_t cap = sizeof inc->entities[i].value - 1;
        size_t n = vlen < cap ? vlen : cap;
        memcpy(inc->entities[i].value, v, n);
        inc->entities[i].value[n] = 0;
        inc->nentities++;
        off += vlen + 1;
        if (off > keylen)
            break;
    }
    return inc;
}

void corr_note_match(const struct cr_correlator *c, struct cr_incident *inc,
                     const struct cr_match *m)
{
    cr_incident_add_sample(inc, m->raw, m->raw_len);
    for (size_t o = 0; o + 3 <= m->carried_len;) {
        unsigned f = (unsigned char)m->carried[o] | (unsigned)(unsigned char)m->carried[o + 1] << 8;
        size_t len = (unsigned char)m->carried[o + 2];
        if (o + 3 + len > m->carried_len)
            break;
        if (f < (unsigned)c->rs->nfields)
            cr_incident_add_field(inc, c->rs->field_names[f], m->carried + o + 3, len);
        o += 3 + len;
    }
    cr_incident_add_asset(inc, m->asset, 0);
    cr_incident_add_asset(inc, m->src_asset, 1);
    if (m->has_measure) {
        inc->has_measure = 1;
        inc->measure = m->measure;
    }
}

/* A fresh incident whose key is the key of state s. */
struct cr_incident *corr_new_incident(struct cr_correlator *c, const char *rule_id,
                                      const char *rule_title, const struct cr_incident_spec *spec,
                                      const uint16_t *group_by, int ngroup, struct state *s,
                                      int64_t window_start)
{
    return corr_new_incident_key(c, rule_id, rule_title, spec, group_by, ngroup, state_key(c, s),
                                 s->keylen, window_start);
}

int64_t corr_open_for(const struct cr_incident_spec *spec, int64_t fallback)
{
    return spec->open_for_ms > 0 ? spec->open_for_ms : fallback;
}

/* What the incident of a state's owner carries beside its fields (a Sigma
 * rule's or correlation's attribution), or NULL. */
static const char *annotation_of(const struct cr_correlator *c, uint32_t owner)
{
    if (owner >= (uint32_t)c->rs->nrules) {
        const struct cr_correlation *co = &c->rs->corrs[owner - (uint32_t)c->rs->nrules];
        return co->annotation ? co->annotation : co->incident.annotation;
    }
    const struct cr_rule *r = &c->rs->rules[owner];
    if (r->sigma)
        return r->sigma->annotation;
    return r->incident ? r->incident->annotation : NULL;
}

/* The incident of state s is past its open window: forget it (its last
 * version was flushed, or is flushed now). */
struct cr_incident *corr_close_if_expired(struct cr_correlator *c, struct state *s, int64_t t,
                                          struct cr_version **extra_head)
{
    struct cr_incident *inc = open_get(c, s);
    if (!inc || t <= meta(inc)->until)
        return inc;
    if (s->dirty) {
        /* unflushed changes of the old incident: hand them out now */
        struct cr_version *m = cr_version_new(inc, s->created, annotation_of(c, s->owner));
        m->next = *extra_head;
        *extra_head = m;
        s->created = 0;
        /* keep s in the dirty list: harmless, flush skips states without incidents */
    }
    corr_open_clear(c, s);
    return NULL;
}

void corr_update_incident(struct cr_correlator *c, struct state *s, struct cr_incident *inc,
                          const struct cr_match *m, int64_t t, int64_t open_ms)
{
    inc->event_count++;
    if (t > inc->last_seen_ms)
        inc->last_seen_ms = t;
    if (t < inc->first_seen_ms)
        inc->first_seen_ms = t;
    if (m) {
        cr_incident_add_ref(inc, m->input, m->position, t);
        corr_note_match(c, inc, m);
    }
    if (t + open_ms > meta(inc)->until)
        meta(inc)->until = t + open_ms;
    c->stats.incident_updates++;
    corr_mark_dirty(c, s);
}

/* State s now has incident inc open until `until` (event time): it is new,
 * counted, and goes to the writer at the next flush. */
void corr_open_incident(struct cr_correlator *c, struct state *s, struct cr_incident *inc,
                        int64_t until)
{
    corr_open_set(c, s, inc);
    meta(inc)->until = until;
    s->created = 1;
    c->stats.incidents_opened++;
    corr_mark_dirty(c, s);
}

void corr_apply_rule_incident(struct cr_correlator *c, uint32_t r, const struct cr_match *m,
                              struct cr_version **extra)
{
    const struct cr_rule *rule = &c->rs->rules[r];
    const struct cr_incident_spec *spec = rule->incident;
    int64_t ofor = corr_open_for(spec, 3600000);
    int64_t t = m->time_ms;
    struct state *s = corr_lookup(c, r, m->key, m->key_len);
    if (t > s->last_ms)
        s->last_ms = t;
    struct cr_incident *open = corr_close_if_expired(c, s, t, extra);
    if (open) {
        corr_update_incident(c, s, open, m, t, ofor);
        return;
    }
    struct cr_incident *inc =
        corr_new_incident(c, rule->id, rule->title, spec, rule->group_by, rule->ngroup_by, s, t);
    inc->detection = 1;
    inc->first_seen_ms = inc->last_seen_ms = t;
    inc->event_count = 1;
    cr_incident_add_ref(inc, m->input, m->position, t);
    corr_note_match(c, inc, m);
    cr_incident_add_reason(inc, "matched rule %s", rule->id);
    corr_open_incident(c, s, inc, t + ofor);
}

/* An updated incident goes out at most every EMIT_EVERY batch ends (an
 * opening always at once): in an alert storm every hot incident changes in
 * every batch, and writing each version cost more than correlating. */
#define EMIT_EVERY 16

static size_t flush_impl(struct cr_correlator *c, struct cr_version **head,
                         struct cr_version **tail, int force)
{
    corr_fire_due(c);
    struct cr_version *h = c->extra, *t = NULL;
    size_t n = 0;
    c->extra = NULL;
    for (struct cr_version *m = h; m; m = m->next) {
        t = m;
        n++;
    }
    /* newest first (the order incidents have always gone out in); the states
     * that wait keep their relative order in the next round */
    c->later.n = 0;
    for (size_t i = c->dirty.n; i-- > 0;) {
        struct state *s = c->dirty.v[i];
        struct cr_incident *inc = open_get(c, s);
        if (inc && !force && !s->created && c->flushes - meta(inc)->emitted < EMIT_EVERY) {
            corr_svec_push(&c->later, s);
            continue;
        }
        s->dirty = 0;
        if (!inc)
            continue;
        struct cr_version *m = cr_version_new(inc, s->created, annotation_of(c, s->owner));
        s->created = 0;
        meta(inc)->emitted = c->flushes;
        m->next = NULL;
        if (t)
            t->next = m;
        else
            h = m;
        t = m;
        n++;
    }
    /* the old walk relinked waiting states in reverse: later.v[0] was walked
     * first and is now the oldest */
    struct svec tmp = c->dirty;
    c->dirty = c->later;
    c->later = tmp;
    /* expiry walks the whole table: do it every 64 flushes, or when over budget */
    if (++c->flushes % 64 == 0 || c->stats.states > c->max_keys)
        corr_expire(c);
    if (c->tenants_over)
        corr_evict_tenants_over(c);
    *head = h;
    *tail = t;
    return n;
}

size_t cr_correlator_flush(struct cr_correlator *c, struct cr_version **head,
                           struct cr_version **tail)
{
    return flush_impl(c, head, tail, 1);
}

size_t cr_correlator_flush_batch(struct cr_correlator *c, struct cr_version **head,
                                 struct cr_version **tail)
{
    return flush_impl(c, head, tail, 0);
}
