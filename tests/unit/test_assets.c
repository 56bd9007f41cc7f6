/*
 * test_assets.c - the asset inventory (engine/assets/inventory.h): a city's
 * tenants, systems and assets loaded from YAML, found from what events
 * carry (host names, addresses and prefixes, cloud accounts, Kubernetes
 * namespaces), graded to DOMAIN.md (b)'s importance tiers, with a shared
 * storage pool reaching many tenants; and every kind of bad inventory
 * refused with file:line.
 */
#include "engine/assets/inventory.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *CITY =
    "tenants:\n"
    "  - {id: t-gov, name: 市政府办公厅}\n"
    "  - {id: t-hr, name: 人社局}\n"
    "  - {id: t-health, name: 卫健委}\n"
    "systems:\n"
    "  - {id: portal, name: 市政府门户网站, tenant: t-gov, dengbao: 3, portal: city}\n"
    "  - {id: social-security, name: 社保核心系统, tenant: t-hr, dengbao: 4}\n"
    "  - {id: payroll, tenant: t-hr, dengbao: 3, cii: true}\n"
    "  - {id: clinic-booking, tenant: t-health, dengbao: 2}\n"
    "  - {id: intranet-wiki, tenant: t-gov}\n"
    "assets:\n"
    "  - {id: ups-a, kind: ups, names: [ups-a.dc1]}\n"
    "  - {id: pool-1, kind: storage_pool, depends_on: [ups-a]}\n"
    "  - {id: core-sw, kind: network_device, names: [CORE-SW-01], ips: [10.0.0.1]}\n"
    "  - {id: host-7, kind: host, depends_on: [core-sw, ups-a], names: [hv07],\n"
    "     ips: [10.1.7.1]}\n"
    "  - {id: vm-portal, kind: vm, system: portal, depends_on: [host-7, pool-1],\n"
    "     names: [web-01, web-01.gov.local], ips: [10.1.7.21, '2001:db8::21']}\n"
    "  - {id: vm-ss, kind: vm, system: social-security, depends_on: [host-7, pool-1],\n"
    "     names: [ss-db-01]}\n"
    "  - {id: vm-clinic, kind: vm, system: clinic-booking, depends_on: [pool-1]}\n"
    "  - {id: office-lan, kind: ip_range, tenant: t-gov, cidrs: [10.20.0.0/16, 10.20.5.0/24,\n"
    "     '2001:db8:20::/48']}\n"
    "  - {id: aws-hr, kind: cloud_account, system: payroll, accounts: ['123456789012']}\n"
    "  - {id: ns-booking, kind: k8s_namespace, system: clinic-booking,\n"
    "     namespaces: [gke-prod/booking]}\n";

static struct cr_inventory *load(const char *text, int shared)
{
    char err[4096] = "";
    struct cr_inventory_opts o = {.shared_tenants = shared};
    struct cr_inventory *inv =
        cr_inventory_load_string("city.yaml", text, strlen(text), &o, err, sizeof err);
    cr_assert_not_null(inv, "%s", err);
    return inv;
}

static const char *id_of(const struct cr_inventory *inv, int a)
{
    return a < 0 ? "(none)" : cr_inventory_asset(inv, a)->id;
}

#define FOUND(inv, call, want) cr_assert_str_eq(id_of(inv, call), want)

Test(assets, events_find_their_asset)
{
    struct cr_inventory *inv = load(CITY, 0);
    cr_assert_eq(cr_inventory_ntenants(inv), 3);
    cr_assert_eq(cr_inventory_nsystems(inv), 5);
    cr_assert_eq(cr_inventory_nassets(inv), 10);
    /* host names as syslog carries them: any case */
    FOUND(inv, cr_inventory_by_name(inv, "web-01", 6), "vm-portal");
    FOUND(inv, cr_inventory_by_name(inv, "WEB-01.gov.local", 16), "vm-portal");
    FOUND(inv, cr_inventory_by_name(inv, "core-sw-01", 10), "core-sw");
    cr_assert_eq(cr_inventory_by_name(inv, "web-02", 6), -1);
    /* addresses: exact, then the longest prefix that holds them */
    FOUND(inv, cr_inventory_by_ip(inv, "10.1.7.21", 9), "vm-portal");
    FOUND(inv, cr_inventory_by_ip(inv, "2001:db8::21", 12), "vm-portal");
    FOUND(inv, cr_inventory_by_ip(inv, "10.20.5.9", 9), "office-lan");
    FOUND(inv, cr_inventory_by_ip(inv, "10.20.200.1", 11), "office-lan");
    FOUND(inv, cr_inventory_by_ip(inv, "2001:db8:20:1::5", 16), "office-lan");
    cr_assert_eq(cr_inventory_by_ip(inv, "10.21.0.1", 9), -1);
    cr_assert_eq(cr_inventory_by_ip(inv, "203.0.113.5", 11), -1, "an outside address");
    cr_assert_eq(cr_inventory_by_ip(inv, "not-an-ip", 9), -1);
    /* cloud accounts and namespaces */
    FOUND(inv, cr_inventory_by_account(inv, "123456789012", 12), "aws-hr");
    FOUND(inv, cr_inventory_by_namespace(inv, "gke-prod/booking", 16), "ns-booking");
    /* an asset's tenant is its own, else its system's */
    const struct cr_asset *a = cr_inventory_asset(inv, cr_inventory_find_asset(inv, "aws-hr"));
    cr_assert_str_eq(cr_inventory_tenant(inv, a->tenant)->id, "t-hr");
    cr_assert_str_eq(cr_inventory_system(inv, a->system)->id, "payroll");
    cr_inventory_free(inv);
}

Test(assets, importance_tiers_as_domain_md_grades_them)
{
    struct cr_inventory *inv = load(CITY, 3);
    /* step 1: CII or 等保 4 -> T1; 等保 3 or a 地市级 portal -> T2; else T3 */
    cr_assert_eq(cr_inventory_tier(inv, cr_inventory_find_system(inv, "payroll")), CR_TIER_1);
    cr_assert_eq(cr_inventory_tier(inv, cr_inventory_find_system(inv, "social-security")),
                 CR_TIER_1);
    cr_assert_eq(cr_inventory_tier(inv, cr_inventory_find_system(inv, "portal")), CR_TIER_2);
    cr_assert_eq(cr_inventory_tier(inv, cr_inventory_find_system(inv, "clinic-booking")),
                 CR_TIER_3);
    cr_assert_eq(cr_inventory_tier(inv, cr_inventory_find_system(inv, "intranet-wiki")), CR_TIER_3,
                 "unrated is T3");
    /* a shared component: the pool's failure reaches all three tenants'
     * systems (the UPS under it too); with the threshold at 3 both are T2 */
    int pool = cr_inventory_find_asset(inv, "pool-1"), ups = cr_inventory_find_asset(inv, "ups-a");
    cr_assert_eq(cr_inventory_reach_tenants(inv, pool), 3);
    cr_assert_eq(cr_inventory_reach_tenants(inv, ups), 3);
    cr_assert_eq(cr_inventory_asset_tier(inv, pool), CR_TIER_2);
    /* the host reaches two tenants (portal, social security): below 3 */
    int host = cr_inventory_find_asset(inv, "host-7");
    cr_assert_eq(cr_inventory_reach_tenants(inv, host), 2);
    cr_assert_eq(cr_inventory_asset_tier(inv, host), CR_TIER_3);
    /* a system's asset keeps the system's tier (never lowered) */
    cr_assert_eq(cr_inventory_asset_tier(inv, cr_inventory_find_asset(inv, "vm-ss")), CR_TIER_1);
    cr_inventory_free(inv);
    /* the default threshold is DOMAIN.md's 10 tenants: the pool is T3 then */
    inv = load(CITY, 0);
    cr_assert_eq(cr_inventory_asset_tier(inv, cr_inventory_find_asset(inv, "pool-1")), CR_TIER_3);
    cr_inventory_free(inv);
}

/* Each bad inventory is refused whole, with every problem at its line. */
Test(assets, a_bad_inventory_names_file_line_and_cause)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"tenants: [{id: a}]\nsystems:\n  - {id: s, tenant: b}\n",
         "city.yaml:3: system 's': unknown tenant 'b'"},
        {"tenants: [{id: a}, {id: a}]\n",
         "city.yaml:1: tenant 'a' is defined twice (first at line 1)"},
        {"systems:\n  - {id: s, dengbao: 5}\n",
         "city.yaml:2: system 's': dengbao (等保 level): 5 is out of range"},
        {"systems:\n  - {id: s, portal: national}\n", "city.yaml:2: system 's': portal must be"},
        {"assets:\n  - {id: x, kind: toaster}\n", "city.yaml:2: asset 'x': unknown kind 'toaster'"},
        {"assets:\n  - {id: x, kind: host, depends_on: [y]}\n",
         "city.yaml:2: asset 'x': depends_on: unknown asset 'y'"},
        {"assets:\n  - {id: x, kind: host, ips: [10.1.2.300]}\n",
         "city.yaml:2: asset 'x': '10.1.2.300' is not an IPv4 or IPv6 address"},
        {"assets:\n  - {id: x, kind: ip_range, cidrs: [10.1.2.3/24]}\n",
         "city.yaml:2: asset 'x': '10.1.2.3/24' is not a prefix"},
        {"assets:\n  - {id: x, kind: host, names: [h1]}\n  - {id: y, kind: vm, names: [H1]}\n",
         "city.yaml:3: names 'H1' is claimed by two assets ('x' at line 2)"},
        {"assets:\n  - {id: x, kind: host, depends_on: [y]}\n  - {id: y, kind: rack, depends_on: "
         "[x]}\n",
         "city.yaml:3: a dependency cycle: asset 'y' depends on 'x', which leads back to it"},
        {"assets:\n  - {id: x, kind: host, colour: red}\n", "city.yaml:2: unknown key 'colour'"},
        {"hosts: []\n", "city.yaml:1: unknown key 'hosts'"},
        {"assets: {id: x}\n", "city.yaml:1: assets: expected a list"},
        {"tenants:\n  - {id: a}\n  - {id: a}\nassets:\n  - {id: x, kind: host, ips: [bad]}\n",
         "city.yaml:3: tenant 'a' is defined twice"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[4096] = "";
        struct cr_inventory *inv = cr_inventory_load_string(
            "city.yaml", cases[i].text, strlen(cases[i].text), NULL, err, sizeof err);
        cr_assert_null(inv, "case %zu should be refused:\n%s", i, cases[i].text);
        cr_assert(strstr(err, cases[i].want), "case %zu: want '%s' in:\n%s", i, cases[i].want, err);
    }
    /* every problem at once, not the first only */
    const char *two = "tenants:\n  - {id: a}\n  - {id: a}\nassets:\n  - {id: x, kind: host, "
                      "ips: [bad]}\n";
    char err[4096] = "";
    cr_assert_null(cr_inventory_load_string("city.yaml", two, strlen(two), NULL, err, sizeof err));
    cr_assert(strstr(err, "city.yaml:3:") && strstr(err, "city.yaml:5:"), "%s", err);
}

Test(assets, a_missing_file_names_the_path)
{
    char err[512] = "";
    cr_assert_null(cr_inventory_load("/nonexistent/assets.yaml", NULL, err, sizeof err));
    cr_assert(strstr(err, "/nonexistent/assets.yaml"), "%s", err);
}

/* `corral check` validates the inventory the config names, as it does the
 * rules: counts on success, every problem and exit 78 on failure. */
Test(assets, corral_check_validates_the_inventory)
{
    char *d = cr_test_tmpdir();
    char path[4200], cmd[16384], *out = NULL;
    snprintf(path, sizeof path, "%s/c.yaml", d);
    char cfg[4400];
    int n = snprintf(cfg, sizeof cfg, "rules: [%s]\nassets: a.yaml\n",
                     cr_test_source_path("configs/rules"));
    cr_assert_eq(cr_test_write_file(path, cfg, (size_t)n), 0);
    snprintf(path, sizeof path, "%s/a.yaml", d);
    cr_assert_eq(cr_test_write_file(path, CITY, strlen(CITY)), 0);
    snprintf(cmd, sizeof cmd, "'%s' check -c '%s/c.yaml' 2>&1", CORRAL_BINARY, d);
    cr_assert_eq(cr_test_run(cmd, &out), 0, "%s", out);
    cr_assert(strstr(out, "inventory: 3 tenants, 5 systems, 10 assets"), "%s", out);
    free(out);
    const char *bad = "systems:\n  - {id: s, tenant: nobody}\n";
    cr_assert_eq(cr_test_write_file(path, bad, strlen(bad)), 0);
    snprintf(cmd, sizeof cmd, "'%s' check -c '%s/c.yaml' 2>&1; echo rc=$?", CORRAL_BINARY, d);
    cr_assert_eq(cr_test_run(cmd, &out), 0);
    cr_assert(strstr(out, "a.yaml:2: system 's': unknown tenant 'nobody'"), "%s", out);
    cr_assert(strstr(out, "rc=78"), "%s", out);
    free(out);
    cr_test_rmtree(d);
    free(d);
}

/* A name longer than the folding buffer is still found in any case. */
Test(assets, long_names_fold_whole)
{
    char name[320], text[512];
    for (int i = 0; i < 300; i++)
        name[i] = (char)('a' + i % 26);
    name[300] = 0;
    snprintf(text, sizeof text, "assets:\n  - {id: x, kind: host, names: [%s]}\n", name);
    struct cr_inventory *inv = load(text, 0);
    for (int i = 0; i < 300; i++)
        name[i] = (char)(name[i] - 32);
    FOUND(inv, cr_inventory_by_name(inv, name, 300), "x");
    name[299] = 'A';
    cr_assert_eq(cr_inventory_by_name(inv, name, 300), -1, "the last byte differs");
    cr_inventory_free(inv);
}

/* Walks of the dependency graph: everything under a UPS (through the pool
 * and the host), whether one asset depends on another, and no cap on a
 * shared pool with thousands of VMs under it. */
Test(assets, dependants_and_ancestors)
{
    struct cr_inventory *inv = load(CITY, 10);
    struct cr_inventory_walk w = {0};
    int ups = cr_inventory_find_asset(inv, "ups-a");
    int n = cr_inventory_dependants(inv, ups, &w);
    cr_expect_eq(w.out[0], ups);
    const char *want[] = {"pool-1", "host-7", "vm-portal", "vm-ss", "vm-clinic"};
    cr_expect_eq(n, 6, "the UPS and the five assets under it");
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        int found = 0;
        for (int k = 1; k < n; k++)
            found |= !strcmp(id_of(inv, w.out[k]), want[i]);
        cr_expect(found, "%s is under ups-a", want[i]);
    }
    int clinic = cr_inventory_find_asset(inv, "vm-clinic"),
        core = cr_inventory_find_asset(inv, "core-sw"),
        portal = cr_inventory_find_asset(inv, "vm-portal");
    cr_expect(cr_inventory_depends_on(inv, clinic, ups, &w), "through pool-1");
    cr_expect(cr_inventory_depends_on(inv, portal, core, &w), "through host-7");
    cr_expect(!cr_inventory_depends_on(inv, clinic, core, &w));
    cr_expect(!cr_inventory_depends_on(inv, core, ups, &w));
    cr_expect(!cr_inventory_depends_on(inv, ups, ups, &w), "not on itself");
    cr_expect_eq(cr_inventory_dependants(inv, -1, &w), 0);
    cr_inventory_free(inv);

    /* 5,000 VMs on one pool: all of them */
    size_t cap = 5000 * 64 + 256, len = 0;
    char *big = malloc(cap);
    len += (size_t)snprintf(big, cap, "assets:\n  - {id: pool, kind: storage_pool}\n");
    for (int i = 0; i < 5000; i++)
        len += (size_t)snprintf(big + len, cap - len,
                                "  - {id: vm-%d, kind: vm, depends_on: [pool]}\n", i);
    inv = load(big, 10);
    cr_expect_eq(cr_inventory_dependants(inv, cr_inventory_find_asset(inv, "pool"), &w), 5001);
    cr_expect(cr_inventory_depends_on(inv, cr_inventory_find_asset(inv, "vm-4999"),
                                      cr_inventory_find_asset(inv, "pool"), &w));
    cr_inventory_free(inv);
    free(big);
    cr_inventory_walk_free(&w);
}
