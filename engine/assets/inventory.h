/*
 * inventory.h - the asset inventory (configs/assets.yaml): who uses what,
 * how important it is, and what depends on what.
 *
 * Grading (DOMAIN.md (b)) starts from the systems an incident affects:
 * their 等保 level, CII flag and portal class give each an importance tier,
 * and the dependency graph (UPS -> PDU -> rack -> host -> VM -> system;
 * core switch -> access switch -> host; storage pool -> volume -> VM)
 * carries a parent's failure to the systems and tenants below it. This
 * module owns that model and its lookups; enrichment and grading use it.
 *
 *   tenants:  [{id, name}]                                  使用方
 *   systems:  [{id, name, tenant, dengbao: 1-4, cii: bool,
 *               portal: none|city|province}]                业务系统
 *   assets:   [{id, kind, system, tenant, depends_on: [ids],
 *               names: [host names], ips: [addresses], cidrs: [prefixes],
 *               accounts: [cloud accounts], namespaces: [cluster/namespace]}]
 *
 * kind: host, vm, network_device, facility, ups, pdu, rack, storage_pool,
 * volume, k8s_cluster, k8s_namespace, cloud_account, ip_range. An asset
 * without a tenant takes its system's; a shared component (a storage
 * pool, a core switch) often has neither, and reaches systems and tenants
 * through what depends on it.
 *
 * Validation is exhaustive and names file:line: unknown keys, duplicate
 * ids, references to an unknown tenant, system or asset, a dependency
 * cycle, an address or prefix that does not parse, a name claimed by two
 * assets. A refused inventory is not loaded at all.
 *
 * Lookups are what enrichment does per event: a host name (ASCII case
 * folded), an address (exact, then the longest prefix that holds it), a
 * cloud account or a Kubernetes namespace, each an open-addressing hash
 * probe or a scan of the prefixes of one length at a time. Nothing is
 * allocated by a lookup.
 *
 * Ownership: cr_inventory_load returns an inventory the caller frees with
 * cr_inventory_free. Threading: immutable once loaded; any thread may look
 * up concurrently.
 */
#ifndef CR_INVENTORY_H
#define CR_INVENTORY_H

#include <stddef.h>
#include <stdint.h>

/* Ids are at most this long (incidents carry them in fixed fields). */
#define CR_INVENTORY_ID_MAX 47

enum cr_asset_kind {
    CR_ASSET_HOST,
    CR_ASSET_VM,
    CR_ASSET_NETWORK_DEVICE,
    CR_ASSET_FACILITY,
    CR_ASSET_UPS,
    CR_ASSET_PDU,
    CR_ASSET_RACK,
    CR_ASSET_STORAGE_POOL,
    CR_ASSET_VOLUME,
    CR_ASSET_K8S_CLUSTER,
    CR_ASSET_K8S_NAMESPACE,
    CR_ASSET_CLOUD_ACCOUNT,
    CR_ASSET_IP_RANGE,
    CR_ASSET__KINDS
};

enum cr_portal { CR_PORTAL_NONE, CR_PORTAL_CITY, CR_PORTAL_PROVINCE };

/* DOMAIN.md (b) step 1. */
enum cr_tier { CR_TIER_1 = 1, CR_TIER_2 = 2, CR_TIER_3 = 3 };

struct cr_tenant_unit {
    char *id, *name;
    int line;
};

struct cr_system {
    char *id, *name;
    int tenant;  /* index into tenants, -1: none */
    int dengbao; /* 等保 level 1-4, 0: unrated */
    int cii;
    enum cr_portal portal;
    int line;
};

struct cr_asset {
    char *id;
    enum cr_asset_kind kind;
    int system; /* index into systems, -1: none */
    int tenant; /* index into tenants (its own, else its system's), -1: none */
    int *deps;  /* indexes of the assets it depends on */
    int ndeps;
    int line;
};

struct cr_inventory_opts {
    /* DOMAIN.md (b) step 1 [P]: a shared component whose failure reaches
     * at least this many tenants is T2 (default 10; the grading policy's
     * tier.shared_tenants, engine/grade/policy.h). */
    int shared_tenants;
};

struct cr_inventory;

/* opts may be NULL (defaults). On any problem returns NULL with every one
 * of them in err, one "file:line: reason" per line. */
struct cr_inventory *cr_inventory_load(const char *path, const struct cr_inventory_opts *opts,
                                       char *err, size_t errlen);
/* The same from text (tests, fuzzing); name stands for the file. */
struct cr_inventory *cr_inventory_load_string(const char *name, const char *text, size_t len,
                                              const struct cr_inventory_opts *opts, char *err,
                                              size_t errlen);
void cr_inventory_free(struct cr_inventory *inv);
/* A hash of the text it was loaded from (0 for NULL): a reload tells
 * whether the inventory changed. */
uint64_t cr_inventory_hash(const struct cr_inventory *inv);

int cr_inventory_ntenants(const struct cr_inventory *inv);
int cr_inventory_nsystems(const struct cr_inventory *inv);
int cr_inventory_nassets(const struct cr_inventory *inv);
const struct cr_tenant_unit *cr_inventory_tenant(const struct cr_inventory *inv, int i);
const struct cr_system *cr_inventory_system(const struct cr_inventory *inv, int i);
const struct cr_asset *cr_inventory_asset(const struct cr_inventory *inv, int i);
/* Index of the tenant, system or asset with this id, or -1. */
int cr_inventory_find_tenant(const struct cr_inventory *inv, const char *id);
int cr_inventory_find_system(const struct cr_inventory *inv, const char *id);
int cr_inventory_find_asset(const struct cr_inventory *inv, const char *id);

/* Lookups from event fields: the asset, or -1. */
int cr_inventory_by_name(const struct cr_inventory *inv, const char *name, size_t len);
int cr_inventory_by_ip(const struct cr_inventory *inv, const char *ip, size_t len);
int cr_inventory_by_account(const struct cr_inventory *inv, const char *acct, size_t len);
int cr_inventory_by_namespace(const struct cr_inventory *inv, const char *ns, size_t len);

/* The importance tier of system i: T1 for CII or 等保 4; T2 for 等保 3 or a
 * city or provincial portal; T3 otherwise (等保 2 or lower, unrated). */
enum cr_tier cr_inventory_tier(const struct cr_inventory *inv, int system);
/* The tier of asset i as the thing an incident affects: its system's, and
 * at least T2 for a shared component, one whose failure reaches
 * opts.shared_tenants tenants or more; T3 without a system otherwise. */
enum cr_tier cr_inventory_asset_tier(const struct cr_inventory *inv, int asset);
/* The tenants a failure of asset i reaches: its own and those of every
 * asset that depends on it, directly or not. */
int cr_inventory_reach_tenants(const struct cr_inventory *inv, int asset);

/* Scratch for walks of the dependency graph, owned by the caller (one per
 * thread that walks): the result and a visited stamp per asset, grown to
 * the inventory's size on first use, so a walk costs what it visits, with
 * no allocation after the first and no cap (a shared pool under 20,000
 * VMs reaches all of them). Zero-initialise; free with
 * cr_inventory_walk_free. */
struct cr_inventory_walk {
    int *out;
    unsigned *stamp;
    int cap;
    unsigned gen;
};
void cr_inventory_walk_free(struct cr_inventory_walk *w);

/* Asset i and every asset that depends on it, directly or not, nearest
 * first, in w->out (i is w->out[0]; valid until w's next walk). Returns
 * how many (0 for an index out of range). */
int cr_inventory_dependants(const struct cr_inventory *inv, int asset, struct cr_inventory_walk *w);
/* 1 if asset d depends on asset r, directly or not (d != r): a walk up
 * d's depends_on, which is short where the walk down from a UPS is not. */
int cr_inventory_depends_on(const struct cr_inventory *inv, int d, int r,
                            struct cr_inventory_walk *w);

const char *cr_asset_kind_name(enum cr_asset_kind k);

#endif
