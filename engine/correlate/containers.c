/*
 * containers.c - the correlator's small containers: open incidents by state
 * (omap), the (input, tenant) table states name by index, the state vectors.
 */
#include "engine/correlate/correlate_int.h"

struct cr_incident *corr_incident_alloc(void)
{
    struct open_meta *m = calloc(1, sizeof *m + sizeof(struct cr_incident));
    if (!m)
        abort();
    return (struct cr_incident *)(void *)(m + 1);
}

void corr_incident_free(struct cr_incident *inc)
{
    if (inc)
        free(meta(inc));
}

struct cr_incident *corr_omap_get(const struct omap *m, const struct state *s)
{
    if (!m->cap)
        return NULL;
    for (size_t i = omap_home(m, s);; i = (i + 1) & (m->cap - 1)) {
        if (m->v[i].s == s)
            return m->v[i].inc;
        if (!m->v[i].s)
            return NULL;
    }
}

void corr_omap_put(struct omap *m, const struct state *s, struct cr_incident *inc)
{
    if (2 * (m->n + 1) > m->cap) {
        struct omap old = *m;
        m->cap = old.cap ? old.cap * 2 : 64;
        m->v = calloc(m->cap, sizeof *m->v);
        if (!m->v)
            abort();
        m->n = 0;
        for (size_t i = 0; i < old.cap; i++)
            if (old.v[i].s)
                corr_omap_put(m, old.v[i].s, old.v[i].inc);
        free(old.v);
    }
    size_t i = omap_home(m, s);
    while (m->v[i].s && m->v[i].s != s)
        i = (i + 1) & (m->cap - 1);
    if (!m->v[i].s)
        m->n++;
    m->v[i] = (struct omap_ent){s, inc};
}

/* Remove s's entry; returns its incident. */
struct cr_incident *corr_omap_del(struct omap *m, const struct state *s)
{
    if (!m->cap)
        return NULL;
    size_t mask = m->cap - 1, i = omap_home(m, s);
    while (m->v[i].s != s) {
        if (!m->v[i].s)
            return NULL;
        i = (i + 1) & mask;
    }
    struct cr_incident *inc = m->v[i].inc;
    for (size_t j = i;;) {
        j = (j + 1) & mask;
        if (!m->v[j].s)
            break;
        size_t h = omap_home(m, m->v[j].s);
        /* move entry j back to i unless its home lies cyclically in (i, j] */
        if ((i <= j) ? (h <= i || h > j) : (h <= i && h > j)) {
            m->v[i] = m->v[j];
            i = j;
        }
    }
    m->v[i] = (struct omap_ent){NULL, NULL};
    m->n--;
    return inc;
}

uint32_t corr_ctx_get(struct ctx_tab *t, uint32_t src, uint32_t tenant)
{
    if (t->n && t->v[t->last].src == src && t->v[t->last].tenant == tenant)
        return t->last;
    if (2 * (t->n + 1) > t->nslot) {
        free(t->slot);
        t->nslot = t->nslot ? t->nslot * 2 : 16;
        t->slot = calloc(t->nslot, sizeof *t->slot);
        if (!t->slot)
            abort();
        for (uint32_t k = 0; k < t->n; k++) {
            uint32_t i = ctx_home(t, t->v[k].src, t->v[k].tenant);
            while (t->slot[i])
                i = (i + 1) & (t->nslot - 1);
            t->slot[i] = k + 1;
        }
    }
    uint32_t i = ctx_home(t, src, tenant);
    for (; t->slot[i]; i = (i + 1) & (t->nslot - 1)) {
        const struct ctx_ent *e = &t->v[t->slot[i] - 1];
        if (e->src == src && e->tenant == tenant)
            return t->last = t->slot[i] - 1;
    }
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->v = realloc(t->v, (size_t)t->cap * sizeof *t->v);
        if (!t->v)
            abort();
    }
    t->v[t->n] = (struct ctx_ent){src, tenant};
    t->slot[i] = t->n + 1;
    return t->last = t->n++;
}

void corr_svec_push(struct svec *a, struct state *s)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 256;
        a->v = realloc(a->v, a->cap * sizeof *a->v);
        if (!a->v)
            abort();
    }
    a->v[a->n++] = s;
}
