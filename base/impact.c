/*
 * impact.c - see impact.h. Name tables and the defaults by category: small
 * and used only when rules load, so linear scans.
 */
#include "base/impact.h"

#include <string.h>

static const char *const outage_names[] = {"none", "degraded", "main", "full"};
static const char *const data_names[] = {"none", "important", "key_leaked", "key_tampered",
                                         "key_destroyed"};
static const char *const deface_names[] = {"none", "other", "home"};
static const char *const measure_names[] = {"none", "records", "runtime", "temperature"};

#define NAME_OF(tab, v) ((v) >= 0 && (size_t)(v) < sizeof tab / sizeof *tab ? tab[v] : "?")

static int parse_in(const char *const *tab, size_t n, const char *s)
{
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(tab[i], s) == 0)
            return (int)i;
    return -1;
}

const char *cr_outage_name(int o) { return NAME_OF(outage_names, o); }
const char *cr_data_impact_name(int d) { return NAME_OF(data_names, d); }
const char *cr_deface_name(int d) { return NAME_OF(deface_names, d); }
const char *cr_measure_name(int m) { return NAME_OF(measure_names, m); }
int cr_outage_parse(const char *s) { return parse_in(outage_names, 4, s); }
int cr_data_impact_parse(const char *s) { return parse_in(data_names, 5, s); }
int cr_deface_parse(const char *s) { return parse_in(deface_names, 3, s); }
int cr_measure_parse(const char *s) { return parse_in(measure_names, 4, s); }

void cr_impact_defaults(struct cr_impact *im, const char *cat)
{
    memset(im, 0, sizeof *im);
    if (!cat)
        return;
    /* full outages of what the incident names: a system, a host, a device */
    static const char *const full[] = {"F-APP-DOWN", "F-CMP-HOST", "F-CMP-VM",  "F-CMP-HV",
                                       "F-STO-UNAV", "F-NET-LINK", "F-NET-DEV", "F-PLT-CTRL",
                                       "F-SW-DB",    "F-SW-OS",    "F-SW-MW",   "F-NET-SVC"};
    static const char *const degraded[] = {"F-APP-DEG", "F-STO-PERF", "F-NET-PERF", "F-CMP-RES"};
    for (size_t i = 0; i < sizeof full / sizeof *full; i++)
        if (strcmp(cat, full[i]) == 0)
            im->outage = CR_OUTAGE_FULL;
    for (size_t i = 0; i < sizeof degraded / sizeof *degraded; i++)
        if (strcmp(cat, degraded[i]) == 0)
            im->outage = CR_OUTAGE_DEGRADED;
    if (strcmp(cat, "F-PLT-CTRL") == 0)
        im->control_plane = 1;
    if (strcmp(cat, "S-MAL-RANS") == 0)
        im->ransomware = 1;
    if (strcmp(cat, "S-ATK-COMP") == 0 || strcmp(cat, "S-MAL-TROJ") == 0 ||
        strcmp(cat, "S-MAL-WORM") == 0 || strcmp(cat, "S-ATK-WEBSHELL") == 0)
        im->compromised = 1;
    if (strcmp(cat, "S-ATK-APT") == 0)
        im->lateral = 1; /* a multi-stage chain: moved inside */
    if (strcmp(cat, "S-DATA-LEAK") == 0)
        im->data = CR_DATA_IMPORTANT;
    if (strcmp(cat, "S-DATA-TAMPER") == 0)
        im->data = CR_DATA_IMPORTANT;
    if (strcmp(cat, "S-ATK-DEFACE") == 0)
        im->deface = CR_DEFACE_OTHER;
    if (strcmp(cat, "F-FAC-PWR") == 0)
        im->mains_lost = 1;
    if (strcmp(cat, "F-FAC-UPS") == 0)
        im->on_battery = 1;
    if (strcmp(cat, "F-FAC-FIRE") == 0)
        im->fire = 1;
}
