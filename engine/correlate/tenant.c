/*
 * tenant.c - see tenant.h.
 */
#include "engine/correlate/tenant.h"

#include <stdlib.h>
#include <string.h>

static size_t slot(uint32_t t, size_t cap)
{
    return (size_t)(t * UINT32_C(2654435761)) & (cap - 1); /* the hash is already mixed */
}

struct cr_tenant *cr_tenants_find(const struct cr_tenants *ts, uint32_t t)
{
    if (!ts->cap || t == 0)
        return NULL;
    for (size_t i = slot(t, ts->cap);; i = (i + 1) & (ts->cap - 1)) {
        if (ts->v[i].tenant == t)
            return &ts->v[i];
        if (ts->v[i].tenant == 0)
            return NULL;
    }
}

static void grow(struct cr_tenants *ts)
{
    size_t cap = ts->cap ? ts->cap * 2 : 64;
    struct cr_tenant *v = calloc(cap, sizeof *v);
    if (!v)
        abort();
    for (size_t i = 0; i < ts->cap; i++) {
        if (!ts->v[i].tenant)
            continue;
        size_t j = slot(ts->v[i].tenant, cap);
        while (v[j].tenant)
            j = (j + 1) & (cap - 1);
        v[j] = ts->v[i];
    }
    free(ts->v);
    ts->v = v;
    ts->cap = cap;
}

struct cr_tenant *cr_tenants_get(struct cr_tenants *ts, uint32_t t)
{
    struct cr_tenant *e = cr_tenants_find(ts, t);
    if (e)
        return e;
    if ((ts->n + 1) * 4 > ts->cap * 3) /* keep the load under 3/4 */
        grow(ts);
    size_t i = slot(t, ts->cap);
    while (ts->v[i].tenant)
        i = (i + 1) & (ts->cap - 1);
    ts->v[i] = (struct cr_tenant){.tenant = t};
    ts->n++;
    return &ts->v[i];
}

static int by_evictions(const void *a, const void *b)
{
    const struct cr_tenant *x = a, *y = b;
    if (x->evicted != y->evicted)
        return x->evicted > y->evicted ? -1 : 1;
    return x->tenant < y->tenant ? -1 : x->tenant > y->tenant;
}

size_t cr_tenants_top(const struct cr_tenants *ts, struct cr_tenant *out, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < ts->cap; i++)
        if (ts->v[i].tenant && ts->v[i].evicted)
            k++;
    if (!k || !n)
        return 0;
    struct cr_tenant *all = malloc(k * sizeof *all);
    if (!all)
        abort();
    k = 0;
    for (size_t i = 0; i < ts->cap; i++)
        if (ts->v[i].tenant && ts->v[i].evicted)
            all[k++] = ts->v[i];
    qsort(all, k, sizeof *all, by_evictions);
    if (k > n)
        k = n;
    memcpy(out, all, k * sizeof *all);
    free(all);
    return k;
}

size_t cr_tenants_memory(const struct cr_tenants *ts) { return ts->cap * sizeof *ts->v; }

void cr_tenants_free(struct cr_tenants *ts)
{
    free(ts->v);
    ts->v = NULL;
    ts->cap = ts->n = 0;
}
