/*
 * inventory.c - see inventory.h.
 *
 * Shape: three arrays (tenants, systems, assets) filled in file order, and
 * hash tables over them built once at load: ids (for references), host
 * names, cloud accounts and namespaces (for lookups), and one table per
 * prefix length of the addresses (an address is a /32 or /128 prefix), so
 * a longest-prefix lookup probes one table per length in use, longest
 * first. Addresses are kept as 16 bytes (IPv4 mapped into IPv6). The
 * reverse dependency graph gives, per asset, how many tenants its failure
 * reaches; it is computed once, at load, by a walk from each asset.
 */
#include "engine/assets/inventory.h"

#include "base/yaml_doc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* ---- string tables ------------------------------------------------------ */

struct sent {
    const char *key; /* borrowed from the inventory's own strings; NULL: empty */
    size_t len;
    int val;
};

struct smap {
    struct sent *v;
    size_t cap, n; /* cap: a power of two */
};

/* With fold, the hash of the key's first 256 bytes in lower case, seeded
 * with its length: keys that differ in case hash alike however long they
 * are (key_eq compares them whole). */
static uint64_t fold_hash(const char *s, size_t n, int fold)
{
    if (!fold)
        return XXH3_64bits(s, n);
    char buf[256];
    size_t m = n < sizeof buf ? n : sizeof buf;
    for (size_t i = 0; i < m; i++)
        buf[i] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + 32) : s[i];
    return XXH3_64bits_withSeed(buf, m, n);
}

static int key_eq(const char *a, const char *b, size_t n, int fold)
{
    if (!fold)
        return memcmp(a, b, n) == 0;
    for (size_t i = 0; i < n; i++) {
        char x = a[i] >= 'A' && a[i] <= 'Z' ? (char)(a[i] + 32) : a[i];
        char y = b[i] >= 'A' && b[i] <= 'Z' ? (char)(b[i] + 32) : b[i];
        if (x != y)
            return 0;
    }
    return 1;
}

static int smap_get(const struct smap *m, const char *k, size_t n, int fold)
{
    if (!m->cap)
        return -1;
    for (size_t i = fold_hash(k, n, fold) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        const struct sent *e = &m->v[i];
        if (!e->key)
            return -1;
        if (e->len == n && key_eq(e->key, k, n, fold))
            return e->val;
    }
}

/* 0, or the value already there for this key. */
static int smap_put(struct smap *m, const char *k, size_t n, int val, int fold, int *old)
{
    if ((m->n + 1) * 2 > m->cap) {
        struct smap g = {calloc(m->cap ? m->cap * 2 : 64, sizeof *g.v), m->cap ? m->cap * 2 : 64,
                         0};
        if (!g.v)
            abort();
        for (size_t i = 0; i < m->cap; i++)
            if (m->v[i].key) {
                int o;
                smap_put(&g, m->v[i].key, m->v[i].len, m->v[i].val, fold, &o);
            }
        free(m->v);
        *m = g;
    }
    for (size_t i = fold_hash(k, n, fold) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        struct sent *e = &m->v[i];
        if (!e->key) {
            *e = (struct sent){k, n, val};
            m->n++;
            return 0;
        }
        if (e->len == n && key_eq(e->key, k, n, fold)) {
            *old = e->val;
            return -1;
        }
    }
}

/* ---- address prefixes --------------------------------------------------- */

struct pent {
    uint8_t addr[16]; /* masked to the table's length */
    int used;
    int val;
};

struct ptab {
    int bits; /* prefix length, 0..128 (IPv4 /n is ::ffff:0:0/96+n) */
    struct pent *v;
    size_t cap, n;
};

static void mask(uint8_t a[16], int bits)
{
    for (int i = 0; i < 16; i++) {
        int keep = bits >= (i + 1) * 8 ? 8 : bits <= i * 8 ? 0 : bits - i * 8;
        a[i] &= (uint8_t)(0xff00u >> keep);
    }
}

static int ptab_get(const struct ptab *t, const uint8_t a[16])
{
    if (!t->cap)
        return -1;
    for (size_t i = XXH3_64bits(a, 16) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        if (!t->v[i].used)
            return -1;
        if (memcmp(t->v[i].addr, a, 16) == 0)
            return t->v[i].val;
    }
}

static int ptab_put(struct ptab *t, const uint8_t a[16], int val, int *old)
{
    if ((t->n + 1) * 2 > t->cap) {
        struct ptab g = {t->bits, calloc(t->cap ? t->cap * 2 : 16, sizeof *g.v),
                         t->cap ? t->cap * 2 : 16, 0};
        if (!g.v)
            abort();
        for (size_t i = 0; i < t->cap; i++)
            if (t->v[i].used) {
                int o;
                ptab_put(&g, t->v[i].addr, t->v[i].val, &o);
            }
        free(t->v);
        *t = g;
    }
    for (size_t i = XXH3_64bits(a, 16) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        struct pent *e = &t->v[i];
        if (!e->used) {
            memcpy(e->addr, a, 16);
            e->used = 1;
            e->val = val;
            t->n++;
            return 0;
        }
        if (memcmp(e->addr, a, 16) == 0) {
            *old = e->val;
            return -1;
        }
    }
}

/* "10.1.2.3" or "2001:db8::1", and with "/n" if prefix; into 16 bytes and
 * a prefix length over them. Returns 0, or -1 if it does not parse. */
static int parse_addr(const char *s, size_t n, int prefix, uint8_t out[16], int *bits)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    char *slash = strchr(buf, '/');
    long len = -1;
    if (slash) {
        if (!prefix)
            return -1;
        char *end;
        *slash = 0;
        len = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end)
            return -1;
    } else if (prefix)
        return -1;
    memset(out, 0, 16);
    struct in_addr v4;
    if (inet_pton(AF_INET, buf, &v4) == 1) {
        if (len > 32)
            return -1;
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &v4, 4);
        *bits = 96 + (int)(len < 0 ? 32 : len);
    } else if (inet_pton(AF_INET6, buf, out) == 1) {
        if (len > 128)
            return -1;
        *bits = (int)(len < 0 ? 128 : len);
    } else
        return -1;
    if (len >= 0) { /* a prefix must not have host bits: 10.1.2.3/24 is a typo */
        uint8_t m[16];
        memcpy(m, out, 16);
        mask(m, *bits);
        if (memcmp(m, out, 16) != 0)
            return -1;
    }
    return 0;
}

/* ---- the inventory ------------------------------------------------------ */

struct cr_inventory {
    struct cr_tenant_unit *tenants;
    struct cr_system *systems;
    struct cr_asset *assets;
    int ntenants, nsystems, nassets;
    struct smap tenant_ids, system_ids, asset_ids;
    struct smap names, accounts, namespaces;
    struct ptab *prefixes; /* longest first */
    int nprefixes;
    int *reach;  /* per asset: tenants its failure reaches */
    int *rstart; /* reverse graph: the assets depending on a directly are */
    int *rdeps;  /* rdeps[rstart[a] .. rstart[a + 1]) */
    int shared_tenants;
    uint64_t hash;  /* of the text it was loaded from */
    char **strings; /* every string the tables borrow */
    size_t nstrings, cap_strings;
};

static const char *const kind_names[CR_ASSET__KINDS] = {
    "host",         "vm",     "network_device", "facility",      "ups",           "pdu",     "rack",
    "storage_pool", "volume", "k8s_cluster",    "k8s_namespace", "cloud_account", "ip_range"};

const char *cr_asset_kind_name(enum cr_asset_kind k)
{
    return k < CR_ASSET__KINDS ? kind_names[k] : "?";
}

static char *keep(struct cr_inventory *inv, const char *s)
{
    if (inv->nstrings == inv->cap_strings) {
        inv->cap_strings = inv->cap_strings ? inv->cap_strings * 2 : 256;
        inv->strings = realloc(inv->strings, inv->cap_strings * sizeof *inv->strings);
        if (!inv->strings)
            abort();
    }
    char *d = strdup(s ? s : "");
    if (!d)
        abort();
    return inv->strings[inv->nstrings++] = d;
}

void cr_inventory_free(struct cr_inventory *inv)
{
    if (!inv)
        return;
    for (int i = 0; i < inv->nassets; i++)
        free(inv->assets[i].deps);
    free(inv->tenants);
    free(inv->systems);
    free(inv->assets);
    free(inv->tenant_ids.v);
    free(inv->system_ids.v);
    free(inv->asset_ids.v);
    free(inv->names.v);
    free(inv->accounts.v);
    free(inv->namespaces.v);
    for (int i = 0; i < inv->nprefixes; i++)
        free(inv->prefixes[i].v);
    free(inv->prefixes);
    free(inv->reach);
    free(inv->rstart);
    free(inv->rdeps);
    for (size_t i = 0; i < inv->nstrings; i++)
        free(inv->strings[i]);
    free(inv->strings);
    free(inv);
}

struct ld {
    struct cr_yaml *y;
    struct cr_inventory *inv;
    char *err;
    size_t errlen;
    int bad;
    yaml_node_t **anodes; /* per asset: its entry, for messages after the first pass */
};

#define FAIL(L, node, ...)                                                                         \
    do {                                                                                           \
        cr_yaml_error((L)->y, (node), (L)->err, (L)->errlen, __VA_ARGS__);                         \
        (L)->bad++;                                                                                \
    } while (0)

/* A required non-empty string member of entry m. */
static const char *need_str(struct ld *L, yaml_node_t *m, const char *key, const char *what)
{
    yaml_node_t *n = cr_yaml_get(L->y, m, key);
    const char *s = n ? cr_yaml_str(n) : NULL;
    if (!s || !*s) {
        FAIL(L, n ? n : m, "%s: '%s' must be a non-empty string", what, key);
        return NULL;
    }
    if (strcmp(key, "id") == 0 && strlen(s) > CR_INVENTORY_ID_MAX) {
        FAIL(L, n, "%s: id '%.20s...' is longer than %d bytes", what, s, CR_INVENTORY_ID_MAX);
        return NULL;
    }
    return s;
}

static const char *opt_str(struct ld *L, yaml_node_t *m, const char *key, const char *what)
{
    yaml_node_t *n = cr_yaml_get(L->y, m, key);
    if (!n || cr_yaml_is_null(n))
        return NULL;
    const char *s = cr_yaml_str(n);
    if (!s || !*s) {
        FAIL(L, n, "%s: '%s' must be a non-empty string", what, key);
        return NULL;
    }
    return s;
}

/* The entries of top-level list `key`, each a mapping; calls fn on each. */
static void each_entry(struct ld *L, yaml_node_t *root, const char *key,
                       void (*fn)(struct ld *, yaml_node_t *))
{
    yaml_node_t *n = cr_yaml_get(L->y, root, key);
    if (!n || cr_yaml_is_null(n))
        return;
    if (!cr_yaml_is_seq(n)) {
        FAIL(L, n, "%s: expected a list", key);
        return;
    }
    for (int i = 0; i < cr_yaml_seq_len(n); i++) {
        yaml_node_t *e = cr_yaml_seq_at(L->y, n, i);
        if (!cr_yaml_is_map(e)) {
            FAIL(L, e, "%s: each entry must be a mapping", key);
            continue;
        }
        fn(L, e);
    }
}

static void dup_id(struct ld *L, yaml_node_t *m, const char *what, const char *id, int line)
{
    FAIL(L, m, "%s '%s' is defined twice (first at line %d)", what, id, line);
}

static void load_tenant(struct ld *L, yaml_node_t *m)
{
    static const char *const keys[] = {"id", "name", NULL};
    L->bad += cr_yaml_check_keys(L->y, m, keys, "a tenant", L->err, L->errlen);
    const char *id = need_str(L, m, "id", "tenant");
    if (!id)
        return;
    struct cr_inventory *inv = L->inv;
    int i = inv->ntenants;
    inv->tenants = realloc(inv->tenants, (size_t)(i + 1) * sizeof *inv->tenants);
    if (!inv->tenants)
        abort();
    struct cr_tenant_unit *t = &inv->tenants[i];
    t->id = keep(inv, id);
    t->name = keep(inv, opt_str(L, m, "name", "tenant"));
    t->line = cr_yaml_line(m);
    int old;
    if (smap_put(&inv->tenant_ids, t->id, strlen(t->id), i, 0, &old) != 0) {
        dup_id(L, m, "tenant", id, inv->tenants[old].line);
        return;
    }
    inv->ntenants++;
}

static int ref(struct ld *L, yaml_node_t *m, const char *key, const struct smap *ids,
               const char *what)
{
    yaml_node_t *n = cr_yaml_get(L->y, m, key);
    if (!n || cr_yaml_is_null(n))
        return -1;
    const char *s = cr_yaml_str(n);
    int i = s ? smap_get(ids, s, strlen(s), 0) : -1;
    if (i < 0)
        FAIL(L, n, "%s: unknown %s '%s'", what, key, s ? s : "");
    return i;
}

static void load_system(struct ld *L, yaml_node_t *m)
{
    static const char *const keys[] = {"id", "name", "tenant", "dengbao", "cii", "portal", NULL};
    L->bad += cr_yaml_check_keys(L->y, m, keys, "a system", L->err, L->errlen);
    const char *id = need_str(L, m, "id", "system");
    if (!id)
        return;
    struct cr_inventory *inv = L->inv;
    struct cr_system s = {.tenant = -1, .line = cr_yaml_line(m)};
    char what[160];
    snprintf(what, sizeof what, "system '%s'", id);
    s.tenant = ref(L, m, "tenant", &inv->tenant_ids, what);
    yaml_node_t *n;
    int64_t v;
    if ((n = cr_yaml_get(L->y, m, "dengbao")) && !cr_yaml_is_null(n)) {
        char dw[200];
        snprintf(dw, sizeof dw, "%s: dengbao (等保 level)", what);
        if (cr_yaml_int(L->y, n, dw, 1, 4, &v, L->err, L->errlen) == 0)
            s.dengbao = (int)v;
        else
            L->bad++;
    }
    if ((n = cr_yaml_get(L->y, m, "cii")) &&
        cr_yaml_bool(L->y, n, "cii", &s.cii, L->err, L->errlen) != 0)
        L->bad++;
    if ((n = cr_yaml_get(L->y, m, "portal"))) {
        const char *p = cr_yaml_str(n);
        if (p && !strcmp(p, "none"))
            s.portal = CR_PORTAL_NONE;
        else if (p && !strcmp(p, "city"))
            s.portal = CR_PORTAL_CITY;
        else if (p && !strcmp(p, "province"))
            s.portal = CR_PORTAL_PROVINCE;
        else
            FAIL(L, n, "%s: portal must be none, city (地市级) or province (省级)", what);
    }
    int i = inv->nsystems;
    inv->systems = realloc(inv->systems, (size_t)(i + 1) * sizeof *inv->systems);
    if (!inv->systems)
        abort();
    s.id = keep(inv, id);
    s.name = keep(inv, opt_str(L, m, "name", what));
    inv->systems[i] = s;
    int old;
    if (smap_put(&inv->system_ids, s.id, strlen(s.id), i, 0, &old) != 0) {
        dup_id(L, m, "system", id, inv->systems[old].line);
        return;
    }
    inv->nsystems++;
}

/* First pass over assets: ids, kinds, system and tenant (dependencies need
 * every id first). */
static void load_asset(struct ld *L, yaml_node_t *m)
{
    static const char *const keys[] = {"id",         "kind",       "system", "tenant",
                                       "depends_on", "names",      "ips",    "cidrs",
                                       "accounts",   "namespaces", NULL};
    L->bad += cr_yaml_check_keys(L->y, m, keys, "an asset", L->err, L->errlen);
    const char *id = need_str(L, m, "id", "asset");
    if (!id)
        return;
    char what[160];
    snprintf(what, sizeof what, "asset '%s'", id);
    struct cr_inventory *inv = L->inv;
    struct cr_asset a = {.system = -1, .tenant = -1, .line = cr_yaml_line(m)};
    const char *k = need_str(L, m, "kind", what);
    int kind = -1;
    for (int i = 0; k && i < CR_ASSET__KINDS; i++)
        if (!strcmp(k, kind_names[i]))
            kind = i;
    if (k && kind < 0)
        FAIL(L, cr_yaml_get(L->y, m, "kind"),
             "%s: unknown kind '%s' (host, vm, network_device, facility, ups, pdu, rack, "
             "storage_pool, volume, k8s_cluster, k8s_namespace, cloud_account, ip_range)",
             what, k);
    a.kind = kind < 0 ? CR_ASSET_HOST : (enum cr_asset_kind)kind;
    a.system = ref(L, m, "system", &inv->system_ids, what);
    a.tenant = ref(L, m, "tenant", &inv->tenant_ids, what);
    if (a.tenant < 0 && a.system >= 0)
        a.tenant = inv->systems[a.system].tenant;
    a.id = keep(inv, id);
    int i = inv->nassets;
    inv->assets = realloc(inv->assets, (size_t)(i + 1) * sizeof *inv->assets);
    if (!inv->assets)
        abort();
    inv->assets[i] = a;
    int old;
    if (smap_put(&inv->asset_ids, a.id, strlen(a.id), i, 0, &old) != 0) {
        dup_id(L, m, "asset", id, inv->assets[old].line);
        return;
    }
    L->anodes = realloc(L->anodes, (size_t)(i + 1) * sizeof *L->anodes);
    if (!L->anodes)
        abort();
    L->anodes[i] = m;
    inv->nassets++;
}

static struct ptab *prefix_table(struct cr_inventory *inv, int bits)
{
    for (int i = 0; i < inv->nprefixes; i++)
        if (inv->prefixes[i].bits == bits)
            return &inv->prefixes[i];
    inv->prefixes = realloc(inv->prefixes, (size_t)(inv->nprefixes + 1) * sizeof *inv->prefixes);
    if (!inv->prefixes)
        abort();
    int at = inv->nprefixes++;
    while (at > 0 && inv->prefixes[at - 1].bits < bits) { /* longest first */
        inv->prefixes[at] = inv->prefixes[at - 1];
        at--;
    }
    inv->prefixes[at] = (struct ptab){.bits = bits};
    return &inv->prefixes[at];
}

/* A list member of asset entry m: each string through add(). */
static void each_str(struct ld *L, yaml_node_t *m, const char *key, int asset,
                     void (*add)(struct ld *, yaml_node_t *, const char *, int, const char *))
{
    yaml_node_t *n = cr_yaml_get(L->y, m, key);
    if (!n || cr_yaml_is_null(n))
        return;
    if (!cr_yaml_is_seq(n)) {
        FAIL(L, n, "asset '%s': %s must be a list", L->inv->assets[asset].id, key);
        return;
    }
    for (int i = 0; i < cr_yaml_seq_len(n); i++) {
        yaml_node_t *e = cr_yaml_seq_at(L->y, n, i);
        const char *s = cr_yaml_str(e);
        if (!s || !*s)
            FAIL(L, e, "asset '%s': %s: entries must be non-empty strings",
                 L->inv->assets[asset].id, key);
        else
            add(L, e, s, asset, key);
    }
}

static void claimed(struct ld *L, yaml_node_t *e, const char *key, const char *s, int other)
{
    FAIL(L, e, "%s '%s' is claimed by two assets ('%s' at line %d)", key, s,
         L->inv->assets[other].id, L->inv->assets[other].line);
}

static void add_key(struct ld *L, yaml_node_t *e, const char *s, int asset, const char *key)
{
    struct cr_inventory *inv = L->inv;
    struct smap *m = !strcmp(key, "names")      ? &inv->names
                     : !strcmp(key, "accounts") ? &inv->accounts
                                                : &inv->namespaces;
    const char *k = keep(inv, s);
    int old;
    if (smap_put(m, k, strlen(k), asset, m == &inv->names, &old) != 0)
        claimed(L, e, key, s, old);
}

static void add_addr(struct ld *L, yaml_node_t *e, const char *s, int asset, const char *key)
{
    int prefix = !strcmp(key, "cidrs"), bits;
    uint8_t a[16];
    if (parse_addr(s, strlen(s), prefix, a, &bits) != 0) {
        FAIL(L, e, "asset '%s': '%s' is not %s", L->inv->assets[asset].id, s,
             prefix ? "a prefix (10.1.0.0/16, 2001:db8::/32; no host bits)"
                    : "an IPv4 or IPv6 address");
        return;
    }
    int old;
    if (ptab_put(prefix_table(L->inv, bits), a, asset, &old) != 0)
        claimed(L, e, key, s, old);
}

static void add_dep(struct ld *L, yaml_node_t *e, const char *s, int asset, const char *key)
{
    struct cr_inventory *inv = L->inv;
    int d = smap_get(&inv->asset_ids, s, strlen(s), 0);
    if (d < 0) {
        FAIL(L, e, "asset '%s': depends_on: unknown asset '%s'", inv->assets[asset].id, s);
        return;
    }
    struct cr_asset *a = &inv->assets[asset];
    a->deps = realloc(a->deps, (size_t)(a->ndeps + 1) * sizeof *a->deps);
    if (!a->deps)
        abort();
    a->deps[a->ndeps++] = d;
}

/* Second pass: what needs every id (dependencies) and the lookup keys. */
static void link_asset(struct ld *L, yaml_node_t *m)
{
    const char *id = cr_yaml_str(cr_yaml_get(L->y, m, "id"));
    int i = id ? smap_get(&L->inv->asset_ids, id, strlen(id), 0) : -1;
    if (i < 0 || L->inv->assets[i].line != cr_yaml_line(m))
        return; /* refused in the first pass (or the second of a duplicate) */
    each_str(L, m, "depends_on", i, add_dep);
    each_str(L, m, "names", i, add_key);
    each_str(L, m, "accounts", i, add_key);
    each_str(L, m, "namespaces", i, add_key);
    each_str(L, m, "ips", i, add_addr);
    each_str(L, m, "cidrs", i, add_addr);
}

/* Depth-first over depends_on; a grey node met again is a cycle. */
static int find_cycle(struct ld *L, int a, uint8_t *color)
{
    color[a] = 1;
    const struct cr_asset *x = &L->inv->assets[a];
    for (int i = 0; i < x->ndeps; i++) {
        int d = x->deps[i];
        if (color[d] == 1) {
            FAIL(L, L->anodes[a],
                 "a dependency cycle: asset '%s' depends on '%s', which leads back to it", x->id,
                 L->inv->assets[d].id);
            return 1;
        }
        if (color[d] == 0 && find_cycle(L, d, color))
            return 1;
    }
    color[a] = 2;
    return 0;
}

/* Tenants reached from each asset: itself and its dependants, transitively
 * (the reverse of depends_on). */
static void compute_reach(struct cr_inventory *inv)
{
    int n = inv->nassets;
    int *cnt = calloc((size_t)n + 1, sizeof *cnt), *dep_of, *pos;
    inv->reach = calloc((size_t)n + 1, sizeof *inv->reach);
    if (!cnt || !inv->reach)
        abort();
    for (int a = 0; a < n; a++)
        for (int i = 0; i < inv->assets[a].ndeps; i++)
            cnt[inv->assets[a].deps[i] + 1]++;
    for (int a = 0; a < n; a++)
        cnt[a + 1] += cnt[a];
    dep_of = malloc(sizeof *dep_of * (size_t)(cnt[n] + 1));
    pos = malloc(sizeof *pos * (size_t)(n + 1));
    int *stack = malloc(sizeof *stack * (size_t)(n + 1));
    /* stamped with the walk's number, so no walk clears them: n walks
     * cost the assets and edges they visit, not n times n */
    unsigned *seen = calloc((size_t)n + 1, sizeof *seen);
    unsigned *tseen = calloc((size_t)inv->ntenants + 1, sizeof *tseen);
    if (!dep_of || !pos || !stack || !seen || !tseen)
        abort();
    memcpy(pos, cnt, sizeof *pos * (size_t)n);
    for (int a = 0; a < n; a++)
        for (int i = 0; i < inv->assets[a].ndeps; i++)
            dep_of[pos[inv->assets[a].deps[i]]++] = a;
    for (int a = 0; a < n; a++) {
        unsigned walk = (unsigned)a + 1;
        int sp = 0, tenants = 0;
        stack[sp++] = a;
        seen[a] = walk;
        while (sp) {
            int x = stack[--sp];
            int t = inv->assets[x].tenant;
            if (t >= 0 && tseen[t] != walk) {
                tseen[t] = walk;
                tenants++;
            }
            for (int j = cnt[x]; j < cnt[x + 1]; j++)
                if (seen[dep_of[j]] != walk) {
                    seen[dep_of[j]] = walk;
                    stack[sp++] = dep_of[j];
                }
        }
        inv->reach[a] = tenants;
    }
    inv->rstart = cnt; /* kept: cr_inventory_dependants walks it */
    inv->rdeps = dep_of;
    free(pos);
    free(stack);
    free(seen);
    free(tseen);
}

static struct cr_inventory *load(struct cr_yaml *y, const struct cr_inventory_opts *opts, char *err,
                                 size_t errlen)
{
    if (!y)
        return NULL;
    struct cr_inventory *inv = calloc(1, sizeof *inv);
    if (!inv)
        abort();
    inv->shared_tenants = opts && opts->shared_tenants > 0 ? opts->shared_tenants : 10;
    struct ld L = {y, inv, err, errlen, 0, NULL};
    yaml_node_t *root = cr_yaml_root(y);
    if (y->dup_line) {
        char why[128];
        snprintf(err, errlen, "%s:%d: %s", y->file, y->dup_line,
                 cr_yaml_dup_reason(y, why, sizeof why));
        L.bad++;
    } else if (!cr_yaml_is_map(root)) {
        FAIL(&L, root, "an inventory is a mapping of tenants, systems and assets");
    } else {
        static const char *const top[] = {"tenants", "systems", "assets", NULL};
        L.bad += cr_yaml_check_keys(y, root, top, "the inventory", err, errlen);
        each_entry(&L, root, "tenants", load_tenant);
        each_entry(&L, root, "systems", load_system);
        each_entry(&L, root, "assets", load_asset);
        each_entry(&L, root, "assets", link_asset);
        uint8_t *color = calloc((size_t)inv->nassets + 1, 1);
        if (!color)
            abort();
        for (int a = 0; a < inv->nassets && !L.bad; a++)
            if (!color[a])
                find_cycle(&L, a, color);
        free(color);
    }
    cr_yaml_free(y);
    free(L.anodes);
    if (L.bad) {
        cr_inventory_free(inv);
        return NULL;
    }
    compute_reach(inv);
    return inv;
}

struct cr_inventory *cr_inventory_load(const char *path, const struct cr_inventory_opts *opts,
                                       char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    char *text = NULL;
    size_t len = 0, cap = 0, n;
    do {
        if (len + 65536 > cap) {
            cap = cap ? cap * 2 : 65536;
            text = realloc(text, cap);
            if (!text)
                abort();
        }
        n = fread(text + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        snprintf(err, errlen, "%s: cannot read", path);
        free(text);
        return NULL;
    }
    struct cr_inventory *inv = cr_inventory_load_string(path, text, len, opts, err, errlen);
    free(text);
    return inv;
}

struct cr_inventory *cr_inventory_load_string(const char *name, const char *text, size_t len,
                                              const struct cr_inventory_opts *opts, char *err,
                                              size_t errlen)
{
    if (err && errlen)
        err[0] = 0;
    struct cr_inventory *inv =
        load(cr_yaml_load_string(name, text, len, err, errlen), opts, err, errlen);
    if (inv)
        inv->hash = XXH3_64bits(text, len);
    return inv;
}

uint64_t cr_inventory_hash(const struct cr_inventory *inv) { return inv ? inv->hash : 0; }

int cr_inventory_ntenants(const struct cr_inventory *inv) { return inv->ntenants; }
int cr_inventory_nsystems(const struct cr_inventory *inv) { return inv->nsystems; }
int cr_inventory_nassets(const struct cr_inventory *inv) { return inv->nassets; }

const struct cr_tenant_unit *cr_inventory_tenant(const struct cr_inventory *inv, int i)
{
    return i >= 0 && i < inv->ntenants ? &inv->tenants[i] : NULL;
}

const struct cr_system *cr_inventory_system(const struct cr_inventory *inv, int i)
{
    return i >= 0 && i < inv->nsystems ? &inv->systems[i] : NULL;
}

const struct cr_asset *cr_inventory_asset(const struct cr_inventory *inv, int i)
{
    return i >= 0 && i < inv->nassets ? &inv->assets[i] : NULL;
}

int cr_inventory_find_tenant(const struct cr_inventory *inv, const char *id)
{
    return smap_get(&inv->tenant_ids, id, strlen(id), 0);
}

int cr_inventory_find_system(const struct cr_inventory *inv, const char *id)
{
    return smap_get(&inv->system_ids, id, strlen(id), 0);
}

int cr_inventory_find_asset(const struct cr_inventory *inv, const char *id)
{
    return smap_get(&inv->asset_ids, id, strlen(id), 0);
}

int cr_inventory_by_name(const struct cr_inventory *inv, const char *name, size_t len)
{
    return smap_get(&inv->names, name, len, 1);
}

int cr_inventory_by_account(const struct cr_inventory *inv, const char *acct, size_t len)
{
    return smap_get(&inv->accounts, acct, len, 0);
}

int cr_inventory_by_namespace(const struct cr_inventory *inv, const char *ns, size_t len)
{
    return smap_get(&inv->namespaces, ns, len, 0);
}

int cr_inventory_by_ip(const struct cr_inventory *inv, const char *ip, size_t len)
{
    uint8_t a[16];
    int bits;
    if (!inv->nprefixes || parse_addr(ip, len, 0, a, &bits) != 0)
        return -1;
    for (int i = 0; i < inv->nprefixes; i++) {
        const struct ptab *t = &inv->prefixes[i];
        uint8_t m[16];
        memcpy(m, a, 16);
        mask(m, t->bits);
        int v = ptab_get(t, m);
        if (v >= 0)
            return v;
    }
    return -1;
}

enum cr_tier cr_inventory_tier(const struct cr_inventory *inv, int system)
{
    const struct cr_system *s = cr_inventory_system(inv, system);
    if (!s)
        return CR_TIER_3;
    if (s->cii || s->dengbao == 4)
        return CR_TIER_1;
    if (s->dengbao == 3 || s->portal != CR_PORTAL_NONE)
        return CR_TIER_2;
    return CR_TIER_3;
}

int cr_inventory_reach_tenants(const struct cr_inventory *inv, int asset)
{
    return asset >= 0 && asset < inv->nassets ? inv->reach[asset] : 0;
}

void cr_inventory_walk_free(struct cr_inventory_walk *w)
{
    free(w->out);
    free(w->stamp);
    memset(w, 0, sizeof *w);
}

/* Make w hold n assets and start a walk: a fresh stamp value. */
static void walk_begin(struct cr_inventory_walk *w, int n)
{
    if (w->cap < n) {
        w->out = realloc(w->out, sizeof *w->out * (size_t)n);
        unsigned *st = realloc(w->stamp, sizeof *w->stamp * (size_t)n);
        if (!w->out || !st)
            abort();
        memset(st + w->cap, 0, sizeof *st * (size_t)(n - w->cap));
        w->stamp = st;
        w->cap = n;
    }
    if (++w->gen == 0) { /* wrapped: old stamps could equal new ones */
        memset(w->stamp, 0, sizeof *w->stamp * (size_t)w->cap);
        w->gen = 1;
    }
}

int cr_inventory_dependants(const struct cr_inventory *inv, int asset, struct cr_inventory_walk *w)
{
    if (asset < 0 || asset >= inv->nassets)
        return 0;
    walk_begin(w, inv->nassets);
    int n = 0;
    w->out[n++] = asset;
    w->stamp[asset] = w->gen;
    /* out is the queue: breadth first, nearest dependants first */
    for (int head = 0; head < n; head++) {
        int x = w->out[head];
        for (int j = inv->rstart[x]; j < inv->rstart[x + 1]; j++) {
            int d = inv->rdeps[j];
            if (w->stamp[d] != w->gen) {
                w->stamp[d] = w->gen;
                w->out[n++] = d;
            }
        }
    }
    return n;
}

int cr_inventory_depends_on(const struct cr_inventory *inv, int d, int r,
                            struct cr_inventory_walk *w)
{
    if (d < 0 || d >= inv->nassets || r < 0 || r >= inv->nassets || d == r)
        return 0;
    walk_begin(w, inv->nassets);
    int sp = 0;
    w->out[sp++] = d; /* out is the stack */
    w->stamp[d] = w->gen;
    while (sp) {
        const struct cr_asset *a = &inv->assets[w->out[--sp]];
        for (int i = 0; i < a->ndeps; i++) {
            int p = a->deps[i];
            if (p == r)
                return 1;
            if (w->stamp[p] != w->gen) {
                w->stamp[p] = w->gen;
                w->out[sp++] = p;
            }
        }
    }
    return 0;
}

enum cr_tier cr_inventory_asset_tier(const struct cr_inventory *inv, int asset)
{
    const struct cr_asset *a = cr_inventory_asset(inv, asset);
    if (!a)
        return CR_TIER_3;
    enum cr_tier t = cr_inventory_tier(inv, a->system);
    if (t > CR_TIER_2 && inv->reach[asset] >= inv->shared_tenants)
        t = CR_TIER_2;
    return t;
}
