/*
 * fuzz_inventory.c - the asset inventory loader (engine/assets/inventory.c
 * over base/yaml_doc.c and libyaml): tenants, systems, assets, references,
 * addresses and prefixes, dependency cycles, the reach walk.
 *
 * Each input is the text of one assets.yaml, loaded from memory. Checked
 * (inventory.h): NULL comes with at least one reason in err; an accepted
 * inventory's references are in range, its tiers are 1-3, a tenant reach
 * is at most the tenant count, and every lookup of the input's own first
 * line (as a name, an address, an account, a namespace) returns -1 or an
 * asset. A finding means an inventory file can crash `corral run` or
 * `corral check` at start-up, or a leak on an error path.
 */
#include "fuzz_common.h"
#include "engine/assets/inventory.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[8192];
    err[0] = 0;
    struct cr_inventory *inv =
        cr_inventory_load_string("assets.yaml", (const char *)data, size, NULL, err, sizeof err);
    if (!inv) {
        FUZZ_ASSERT(err[0] != 0);
        return 0;
    }
    int nt = cr_inventory_ntenants(inv), ns = cr_inventory_nsystems(inv),
        na = cr_inventory_nassets(inv);
    for (int i = 0; i < ns; i++) {
        const struct cr_system *s = cr_inventory_system(inv, i);
        FUZZ_ASSERT(s->tenant >= -1 && s->tenant < nt);
        enum cr_tier t = cr_inventory_tier(inv, i);
        FUZZ_ASSERT(t >= CR_TIER_1 && t <= CR_TIER_3);
    }
    for (int i = 0; i < na; i++) {
        const struct cr_asset *a = cr_inventory_asset(inv, i);
        FUZZ_ASSERT(a->system >= -1 && a->system < ns);
        FUZZ_ASSERT(a->tenant >= -1 && a->tenant < nt);
        for (int d = 0; d < a->ndeps; d++)
            FUZZ_ASSERT(a->deps[d] >= 0 && a->deps[d] < na);
        int r = cr_inventory_reach_tenants(inv, i);
        FUZZ_ASSERT(r >= 0 && r <= nt);
        enum cr_tier t = cr_inventory_asset_tier(inv, i);
        FUZZ_ASSERT(t >= CR_TIER_1 && t <= CR_TIER_3);
    }
    size_t n = 0;
    while (n < size && n < 256 && data[n] != '\n')
        n++;
    const char *s = (const char *)data;
    int r[4] = {cr_inventory_by_name(inv, s, n), cr_inventory_by_ip(inv, s, n),
                cr_inventory_by_account(inv, s, n), cr_inventory_by_namespace(inv, s, n)};
    for (int i = 0; i < 4; i++)
        FUZZ_ASSERT(r[i] >= -1 && r[i] < na);
    cr_inventory_free(inv);
    return 0;
}
