/*
 * policy.c - see policy.h. One table of keys; the defaults are the table's
 * own text, parsed like a user's file, so a default is written once.
 */
#include "engine/grade/policy.h"

#include "base/yaml_doc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum ktype { K_DUR, K_INT, K_LEVEL, K_PCT };

struct key {
    const char *name;
    enum ktype type;
    size_t off;
    const char *def;
    const char *doc;
};

#define P(f) offsetof(struct cr_grade_policy, f)

static const struct key keys[] = {
    {"tier.shared_tenants", K_INT, P(shared_tenants), "10",
     "a shared component (storage pool, core switch) whose failure reaches this many tenants "
     "is T2"},
    {"tier.unknown", K_INT, P(unknown_tier), "3",
     "the tier of an incident whose records match no asset of the inventory"},
    {"loss.full_outage.l3", K_DUR, P(full_outage_ms[0]), "30m", "full outage for loss L3"},
    {"loss.full_outage.l2", K_DUR, P(full_outage_ms[1]), "2h", "full outage for loss L2"},
    {"loss.full_outage.l1", K_DUR, P(full_outage_ms[2]), "6h", "full outage for loss L1"},
    {"loss.main_outage.l3", K_DUR, P(main_outage_ms[0]), "2h", "main-function outage for L3"},
    {"loss.main_outage.l2", K_DUR, P(main_outage_ms[1]), "6h", "main-function outage for L2"},
    {"loss.main_outage.l1", K_DUR, P(main_outage_ms[2]), "24h", "main-function outage for L1"},
    {"loss.hosts_compromised.l3", K_INT, P(hosts_l3), "1", "compromised hosts for L3"},
    {"loss.hosts_compromised.l2", K_INT, P(hosts_l2), "10", "compromised hosts for L2"},
    {"loss.hosts_compromised.l1_percent", K_INT, P(hosts_l1_pct), "50",
     "share of a system's hosts compromised for L1"},
    {"matrix.T1.L1", K_LEVEL, P(matrix[0][0]), "I", "level of a T1 system with loss L1"},
    {"matrix.T1.L2", K_LEVEL, P(matrix[0][1]), "II", "T1 with L2"},
    {"matrix.T1.L3", K_LEVEL, P(matrix[0][2]), "III", "T1 with L3"},
    {"matrix.T1.L4", K_LEVEL, P(matrix[0][3]), "IV", "T1 with L4"},
    {"matrix.T2.L1", K_LEVEL, P(matrix[1][0]), "II", "T2 with L1"},
    {"matrix.T2.L2", K_LEVEL, P(matrix[1][1]), "III", "T2 with L2"},
    {"matrix.T2.L3", K_LEVEL, P(matrix[1][2]), "IV", "T2 with L3"},
    {"matrix.T2.L4", K_LEVEL, P(matrix[1][3]), "IV", "T2 with L4"},
    {"matrix.T3.L1", K_LEVEL, P(matrix[2][0]), "III", "T3 with L1"},
    {"matrix.T3.L2", K_LEVEL, P(matrix[2][1]), "IV", "T3 with L2"},
    {"matrix.T3.L3", K_LEVEL, P(matrix[2][2]), "IV", "T3 with L3"},
    {"matrix.T3.L4", K_LEVEL, P(matrix[2][3]), "IV", "T3 with L4"},
    {"triggers.personal_info.I", K_INT, P(pi_records[0]), "100000000",
     "personal-information records leaked for level I"},
    {"triggers.personal_info.II", K_INT, P(pi_records[1]), "10000000", "... for II"},
    {"triggers.personal_info.III", K_INT, P(pi_records[2]), "1000000", "... for III"},
    {"triggers.personal_info.IV", K_INT, P(pi_records[3]), "100000", "... for IV"},
    {"triggers.personal_info.any", K_LEVEL, P(pi_any_level), "IV",
     "the least level of any confirmed personal-information leak"},
    {"triggers.portal.province.I", K_DUR, P(portal_province_ms[0]), "24h",
     "a provincial portal unreachable this long: level I"},
    {"triggers.portal.city.II", K_DUR, P(portal_city_ms[1]), "6h",
     "a city (地市级) or provincial portal unreachable this long: II"},
    {"triggers.portal.city.III", K_DUR, P(portal_city_ms[2]), "2h", "... III"},
    {"triggers.portal.any.IV", K_DUR, P(portal_any_ms[3]), "30m",
     "any portal unreachable this long: IV"},
    {"triggers.cii.full.I", K_DUR, P(cii_full_ms[0]), "6h",
     "a CII system wholly interrupted this long: I"},
    {"triggers.cii.full.II", K_DUR, P(cii_full_ms[1]), "2h", "... II"},
    {"triggers.cii.full.III", K_DUR, P(cii_full_ms[2]), "30m", "... III"},
    {"triggers.cii.main.I", K_DUR, P(cii_main_ms[0]), "24h",
     "a CII system's main function interrupted this long: I"},
    {"triggers.cii.main.II", K_DUR, P(cii_main_ms[1]), "6h", "... II"},
    {"triggers.cii.main.III", K_DUR, P(cii_main_ms[2]), "2h", "... III"},
    {"triggers.defacement.home.I", K_DUR, P(deface_home_ms[0]), "6h",
     "a home page defaced this long: I"},
    {"triggers.defacement.home.II", K_DUR, P(deface_home_ms[1]), "2h", "... II"},
    {"triggers.defacement.home.III", K_DUR, P(deface_home_ms[2]), "30m", "... III"},
    {"triggers.defacement.other.I", K_DUR, P(deface_other_ms[0]), "24h",
     "another page defaced this long: I"},
    {"triggers.defacement.other.II", K_DUR, P(deface_other_ms[1]), "12h", "... II"},
    {"triggers.defacement.other.III", K_DUR, P(deface_other_ms[2]), "2h", "... III"},
    {"triggers.defacement.any", K_LEVEL, P(deface_any_level), "IV",
     "the least level of any defacement of a government page"},
    {"triggers.economic_loss_cny.I", K_INT, P(economic_cny[0]), "100000000",
     "direct economic loss (CNY) for I"},
    {"triggers.economic_loss_cny.II", K_INT, P(economic_cny[1]), "20000000", "... II"},
    {"triggers.economic_loss_cny.III", K_INT, P(economic_cny[2]), "5000000", "... III"},
    {"regrade.interval", K_DUR, P(regrade_interval_ms), "60s",
     "how often (wall clock) a run looks at its open incidents for rungs time has crossed"},
    {"topology.window", K_DUR, P(topology_window_ms), "30m",
     "a fault of a dependant (a VM, a host, a switch port) within this time of its parent's "
     "failure (UPS, core switch, storage pool, host) is grouped under it as a consequence"},
    {"priority.P1.tenants", K_INT, P(p1_tenants), "10", "tenants impacted for P1"},
    {"priority.P1.systems", K_INT, P(p1_systems), "20", "systems impacted for P1"},
    {"priority.P1.control_plane_down", K_DUR, P(p1_control_plane_ms), "15m",
     "cloud control plane down this long: P1"},
    {"priority.P1.ups_runtime_min", K_INT, P(p1_ups_runtime_min), "15",
     "mains lost and UPS runtime at most this many minutes: P1"},
    {"priority.P1.inlet_c", K_INT, P(p1_inlet_c), "32", "cold-aisle inlet at least this °C: P1"},
    {"priority.P2.tenants", K_INT, P(p2_tenants), "3", "tenants impacted for P2"},
    {"priority.P2.systems", K_INT, P(p2_systems), "5", "systems impacted for P2"},
    {"priority.P2.inlet_c", K_INT, P(p2_inlet_c), "27", "inlet at least this °C: P2"},
    {"targets.P1.respond", K_DUR, P(respond_ms[0]), "15m", "P1: acknowledge within"},
    {"targets.P1.on_site", K_DUR, P(on_site_ms[0]), "30m", "P1: on site within"},
    {"targets.P1.restore", K_DUR, P(restore_ms[0]), "2h", "P1: restore or mitigate within"},
    {"targets.P1.resolve", K_DUR, P(resolve_ms[0]), "4h", "P1: resolve within"},
    {"targets.P2.respond", K_DUR, P(respond_ms[1]), "30m", "P2: acknowledge within"},
    {"targets.P2.on_site", K_DUR, P(on_site_ms[1]), "2h", "P2: on site within"},
    {"targets.P2.restore", K_DUR, P(restore_ms[1]), "4h", "P2: restore within"},
    {"targets.P2.resolve", K_DUR, P(resolve_ms[1]), "24h", "P2: resolve within"},
    {"targets.P3.respond", K_DUR, P(respond_ms[2]), "2h", "P3: acknowledge within"},
    {"targets.P3.on_site", K_DUR, P(on_site_ms[2]), "4h", "P3: on site within"},
    {"targets.P3.restore", K_DUR, P(restore_ms[2]), "8h", "P3: restore within"},
    {"targets.P3.resolve", K_DUR, P(resolve_ms[2]), "3d",
     "P3: resolve within (DOMAIN.md: 3 working days, counted here as calendar time)"},
    {"targets.P4.respond", K_DUR, P(respond_ms[3]), "1d", "P4: acknowledge within (1 working day)"},
    {"targets.P4.on_site", K_DUR, P(on_site_ms[3]), "1d", "P4: on site (next working day)"},
    {"targets.P4.restore", K_DUR, P(restore_ms[3]), "0", "P4: no restore target (0 = none)"},
    {"targets.P4.resolve", K_DUR, P(resolve_ms[3]), "5d", "P4: resolve within (5 working days)"},
    {"reporting.min_level", K_LEVEL, P(report_min_level), "III",
     "incidents of this level or above are reported to the regulator"},
    {"reporting.cii", K_DUR, P(report_cii_ms), "1h", "report due after detection, CII systems"},
    {"reporting.other", K_DUR, P(report_other_ms), "4h", "report due after detection, others"},
    {"reporting.summary", K_DUR, P(summary_ms), "30d", "summary report due after closing"},
    {"availability.iaas", K_PCT, P(avail_iaas_ppm), "99.95",
     "monthly availability target of a cloud IaaS resource pool (compute, storage, network)"},
    {"availability.vm", K_PCT, P(avail_vm_ppm), "99.9", "... of a single VM"},
    {"availability.extranet_core", K_PCT, P(avail_extranet_ppm), "99.99",
     "... of the government extranet core (links)"},
    {"availability.facility", K_PCT, P(avail_facility_ppm), "99.99",
     "... of data-centre power and cooling"},
};
#define NKEYS (sizeof keys / sizeof *keys)

/* The rungs are one list-valued key, outside the table of scalars. */
static const char *const rungs_def[] = {"30m", "2h", "6h", "12h", "24h"};
#define RUNGS_KEY "regrade.rungs"
#define RUNGS_DOC "durations at which an open incident's outage is graded again"

static int parse_level(const char *s)
{
    static const char *const names[] = {"I", "II", "III", "IV"};
    for (int i = 0; s && i < 4; i++)
        if (strcasecmp(s, names[i]) == 0)
            return i + 1;
    return -1;
}

/* Parse text as key k's type into *out; 0 or -1. */
static int parse_value(const struct key *k, const char *s, int64_t *out)
{
    if (!s || !*s)
        return -1;
    if (k->type == K_DUR)
        return cr_parse_duration_ms(s, out);
    if (k->type == K_LEVEL) {
        int l = parse_level(s);
        if (l < 0)
            return -1;
        *out = l;
        return 0;
    }
    if (k->type == K_PCT) { /* "99.95" -> 999500 ppm; at most 4 decimals, 0..100 */
        int64_t whole = 0, frac = 0;
        int nd = 0;
        const char *c = s;
        for (; *c >= '0' && *c <= '9' && whole <= 100; c++)
            whole = whole * 10 + (*c - '0');
        if (c == s)
            return -1;
        if (*c == '.')
            for (c++; *c >= '0' && *c <= '9' && nd < 4; c++, nd++)
                frac = frac * 10 + (*c - '0');
        if (*c == '%')
            c++;
        if (*c)
            return -1;
        while (nd++ < 4)
            frac *= 10;
        int64_t ppm = whole * 10000 + frac;
        if (ppm > 1000000)
            return -1;
        *out = ppm;
        return 0;
    }
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end || v < 0)
        return -1;
    *out = v;
    return 0;
}

static int64_t *field(struct cr_grade_policy *p, const struct key *k)
{
    return (int64_t *)((char *)p + k->off);
}

void cr_grade_policy_defaults(struct cr_grade_policy *p)
{
    memset(p, 0, sizeof *p);
    for (size_t i = 0; i < NKEYS; i++)
        if (parse_value(&keys[i], keys[i].def, field(p, &keys[i])) != 0)
            abort(); /* a default that does not parse is a bug of this table */
    p->nrungs = (int)(sizeof rungs_def / sizeof *rungs_def);
    for (int i = 0; i < p->nrungs; i++)
        if (cr_parse_duration_ms(rungs_def[i], &p->rungs_ms[i]) != 0)
            abort();
}

void cr_grade_policy_each_key(void (*cb)(const char *, const char *, const char *, void *),
                              void *arg)
{
    for (size_t i = 0; i < NKEYS; i++)
        cb(keys[i].name, keys[i].def, keys[i].doc, arg);
    char def[128] = "[";
    for (size_t i = 0; i < sizeof rungs_def / sizeof *rungs_def; i++)
        snprintf(def + strlen(def), sizeof def - strlen(def), "%s%s", i ? ", " : "", rungs_def[i]);
    strcat(def, "]");
    cb(RUNGS_KEY, def, RUNGS_DOC, arg);
}

static const char *const type_what[] = {"a duration (30m, 2h, 3d)", "a non-negative integer",
                                        "a level (I, II, III, IV)",
                                        "a percentage from 0 to 100 (99.95)"};

static int set_rungs(struct cr_yaml *y, yaml_node_t *n, struct cr_grade_policy *p, char *err,
                     size_t errlen)
{
    int len = cr_yaml_seq_len(n);
    if (!cr_yaml_is_seq(n) || len < 1 || len > CR_GRADE_MAX_RUNGS) {
        cr_yaml_error(y, n, err, errlen, "%s: expected a list of 1 to %d durations", RUNGS_KEY,
                      CR_GRADE_MAX_RUNGS);
        return 1;
    }
    int bad = 0;
    int64_t prev = 0;
    for (int i = 0; i < len; i++) {
        yaml_node_t *it = cr_yaml_seq_at(y, n, i);
        int64_t v;
        if (!cr_yaml_str(it) || cr_parse_duration_ms(cr_yaml_str(it), &v) != 0 || v <= prev) {
            cr_yaml_error(y, it, err, errlen, "%s: expected increasing durations (30m, 2h)",
                          RUNGS_KEY);
            bad++;
            continue;
        }
        p->rungs_ms[i] = prev = v;
    }
    if (!bad)
        p->nrungs = len;
    return bad;
}

/* Walk mapping n whose keys continue the dotted path prefix. */
static int walk(struct cr_yaml *y, yaml_node_t *n, const char *prefix, struct cr_grade_policy *p,
                char *err, size_t errlen)
{
    int bad = 0;
    for (int i = 0; i < cr_yaml_map_len(n); i++) {
        yaml_node_t *kn;
        const char *k = cr_yaml_map_key(y, n, i, &kn);
        yaml_node_t *v = cr_yaml_map_value(y, n, i);
        char path[128];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", k ? k : "");
        if (strcmp(path, RUNGS_KEY) == 0) {
            bad += set_rungs(y, v, p, err, errlen);
            continue;
        }
        const struct key *key = NULL;
        size_t plen = strlen(path);
        int inner = 0; /* some key lies below this path */
        for (size_t j = 0; j < NKEYS; j++) {
            if (strcmp(keys[j].name, path) == 0)
                key = &keys[j];
            else if (strncmp(keys[j].name, path, plen) == 0 && keys[j].name[plen] == '.')
                inner = 1;
        }
        if (!strncmp(RUNGS_KEY, path, plen) && RUNGS_KEY[plen] == '.')
            inner = 1;
        if (key) {
            int64_t val;
            if (parse_value(key, cr_yaml_str(v), &val) != 0) {
                cr_yaml_error(y, v, err, errlen, "%s: expected %s", path, type_what[key->type]);
                bad++;
            } else
                *field(p, key) = val;
        } else if (inner && cr_yaml_is_map(v)) {
            bad += walk(y, v, path, p, err, errlen);
        } else {
            cr_yaml_error(y, kn, err, errlen, "unknown grading key '%s'", path);
            bad++;
        }
    }
    return bad;
}

/* Checks across keys: tiers in range, rungs of one ladder increasing. */
static int check(struct cr_yaml *y, yaml_node_t *root, const struct cr_grade_policy *p, char *err,
                 size_t errlen)
{
    int bad = 0;
    if (p->unknown_tier < 1 || p->unknown_tier > 3) {
        cr_yaml_error(y, root, err, errlen, "tier.unknown: expected 1, 2 or 3");
        bad++;
    }
    const struct {
        const char *name;
        const int64_t *v;
    } ladders[] = {{"loss.full_outage", p->full_outage_ms},
                   {"loss.main_outage", p->main_outage_ms}};
    for (size_t i = 0; i < sizeof ladders / sizeof *ladders; i++)
        if (!(ladders[i].v[0] <= ladders[i].v[1] && ladders[i].v[1] <= ladders[i].v[2])) {
            cr_yaml_error(y, root, err, errlen, "%s: expected l3 <= l2 <= l1", ladders[i].name);
            bad++;
        }
    return bad;
}

static int load(struct cr_yaml *y, struct cr_grade_policy *p, char *err, size_t errlen)
{
    yaml_node_t *root = cr_yaml_root(y);
    if (y->dup_line) {
        char why[160];
        cr_yaml_error(y, root, err, errlen, "%s", cr_yaml_dup_reason(y, why, sizeof why));
        return -1;
    }
    if (!root || cr_yaml_is_null(root))
        return 0;
    if (!cr_yaml_is_map(root)) {
        cr_yaml_error(y, root, err, errlen, "a grading policy is a mapping of keys");
        return -1;
    }
    struct cr_grade_policy tmp = *p;
    int bad = walk(y, root, "", &tmp, err, errlen);
    if (!bad)
        bad = check(y, root, &tmp, err, errlen);
    if (bad)
        return -1;
    *p = tmp;
    return 0;
}

int cr_grade_policy_load(const char *path, struct cr_grade_policy *p, char *err, size_t errlen)
{
    if (errlen)
        err[0] = 0;
    struct cr_yaml *y = cr_yaml_load(path, err, errlen);
    if (!y)
        return -1;
    int rc = load(y, p, err, errlen);
    cr_yaml_free(y);
    return rc;
}

int cr_grade_policy_load_string(const char *name, const char *text, size_t len,
                                struct cr_grade_policy *p, char *err, size_t errlen)
{
    if (errlen)
        err[0] = 0;
    struct cr_yaml *y = cr_yaml_load_string(name, text, len, err, errlen);
    if (!y)
        return -1;
    int rc = load(y, p, err, errlen);
    cr_yaml_free(y);
    return rc;
}
