/*
 * tenant.h - per-tenant state counts for correlation budgets.
 *
 * Hundreds of tenant units share one engine (DOMAIN.md). A tenant whose
 * logs explode into new keys must not evict another tenant's windows: the
 * correlator counts its states per tenant and, past
 * correlation.max_keys_per_tenant, evicts within that tenant (correlate.c).
 * This table owns those counts: tenant (a 32-bit hash of the value of
 * correlation.tenant_field; 0 = no tenant, never stored) -> live states and
 * states evicted by the tenant budget.
 *
 * Open addressing with linear probing, grown by doubling: memory follows
 * the number of tenants, allocated when a new tenant is first seen, never
 * per event. Two tenants whose values hash alike share a count (1 in 2^32
 * per pair; with 1000 tenants about 1 in 10^4 runs has one shared count).
 *
 * Ownership and threading: one per correlator, used by its shard thread only.
 */
#ifndef CR_TENANT_H
#define CR_TENANT_H

#include <stddef.h>
#include <stdint.h>

struct cr_tenant {
    uint32_t tenant; /* 0: empty slot */
    uint32_t pad;
    uint64_t states;  /* live now */
    uint64_t evicted; /* by the tenant budget */
};

struct cr_tenants {
    struct cr_tenant *v;
    size_t cap, n; /* cap: a power of two, or 0 before the first tenant */
};

/* The entry of tenant t (!= 0), added with zero counts if new. Aborts on OOM. */
struct cr_tenant *cr_tenants_get(struct cr_tenants *ts, uint32_t t);
/* The entry of t, or NULL if the table never saw it. */
struct cr_tenant *cr_tenants_find(const struct cr_tenants *ts, uint32_t t);
/* Copy up to n entries with evictions into out, most evictions first (ties:
 * smaller tenant first, so the order is deterministic). Returns how many. */
size_t cr_tenants_top(const struct cr_tenants *ts, struct cr_tenant *out, size_t n);
/* Bytes held by the table. */
size_t cr_tenants_memory(const struct cr_tenants *ts);
void cr_tenants_free(struct cr_tenants *ts);

#endif
