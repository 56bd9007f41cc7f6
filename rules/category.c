/*
 * category.c - the incident category table of DOMAIN.md (a).
 *
 * Every incident carries two categories: the operational one (S-... for
 * security, F-... for faults) that rule authors write, and the GB/T 20986
 * regulatory code that grading and reports need. Rule authors may set the
 * regulatory code explicitly; when they do not, it comes from this table.
 * Where DOMAIN.md lists two candidate codes for one category (MP/MPEVIR or
 * MPOTH, RO/ROPINTENT or ROPMISTAKE, ...) the first is the default: the
 * author of a rule who knows better writes reg_category.
 *
 * The table is small and looked up only while loading rules, so a linear
 * scan is the right data structure.
 */
#include "rules/ruleset.h"

#include <string.h>

static const struct {
    const char *id;
    const char *reg;
} categories[] = {
    /* Security domain. */
    {"S-MAL-RANS", "MP/MPRANS"},
    {"S-MAL-MINER", "MP/MPMINER"},
    {"S-MAL-TROJ", "MP/MPTROJ"},
    {"S-MAL-WORM", "MP/MPWORM"},
    {"S-MAL-OTH", "MP/MPEVIR"},
    {"S-ATK-SCAN", "NA/NASCAN"},
    {"S-ATK-BRUTE", "NA/NACRED"},
    {"S-ATK-EXPL", "NA/NAEXPLOIT"},
    {"S-ATK-WEBSHELL", "NA/NABACKIMPL"},
    {"S-ATK-DDOS", "NA/NADOS"},
    {"S-ATK-DEFACE", "NA/NAWEBMOD"},
    {"S-ATK-DARKLINK", "NA/NALINK"},
    {"S-ATK-DNS", "NA/NADNSHIJ"},
    {"S-ATK-COMP", "NA/NAHACKED"},
    {"S-ATK-APT", "NA/NAAPT"},
    {"S-DATA-LEAK", "DS/DSDATALEAK"},
    {"S-DATA-TAMPER", "DS/DSDATAALTER"},
    {"S-DATA-LOSS", "DS/DSDATALOSS"},
    {"S-OPS-PRIV", "RO/ROPABUSE"},
    {"S-OPS-CLOUDPRIV", "RO/ROPINTENT"},
    {"S-HAZ-VULN", "SHE/SHEVULN"},
    {"S-HAZ-CONF", "SHE/SHECONFIG"},
    {"S-ABN-ACCESS", "AB/ABACCESS"},
    {"S-ABN-TRAFFIC", "AB/ABTRAFFIC"},
    {"S-CONT", "IC/*"},
    /* Fault domain. */
    {"F-CMP-HOST", "DE/DETECH"},
    {"F-CMP-VM", "DE/DETECH"},
    {"F-CMP-HV", "DE/DETECH"},
    {"F-CMP-RES", "DE/DETECH"},
    {"F-STO-UNAV", "DE/DETECH"},
    {"F-STO-PERF", "DE/DETECH"},
    {"F-STO-HW", "DE/DETECH"},
    {"F-STO-CAP", "SHE/SHEOTH"},
    {"F-STO-BKP", "DE/DETECH"},
    {"F-NET-LINK", "DE/DETECH"},
    {"F-NET-DEV", "DE/DETECH"},
    {"F-NET-PERF", "DE/DETECH"},
    {"F-NET-SVC", "DE/DETECH"},
    {"F-NET-SECDEV", "DE/DETECH"},
    {"F-PLT-CTRL", "DE/DETECH"},
    {"F-SW-OS", "DE/DETECH"},
    {"F-SW-DB", "DE/DETECH"},
    {"F-SW-MW", "DE/DETECH"},
    {"F-SW-CERT", "SHE/SHECONFIG"},
    {"F-APP-DOWN", "DE/DETECH"},
    {"F-APP-DEG", "DE/DETECH"},
    {"F-FAC-PWR", "DE/DEACCFAC"},
    {"F-FAC-UPS", "DE/DEACCFAC"},
    {"F-FAC-GEN", "DE/DEACCFAC"},
    {"F-FAC-COOL", "DE/DEACCFAC"},
    {"F-FAC-ENV", "DE/DEACCFAC"},
    {"F-FAC-LEAK", "DE/DEPHYS"},
    {"F-FAC-FIRE", "DE/DEPHYS"},
    {"F-FAC-SEC", "RO/ROPINTENT"},
    {"F-OFF-TERM", "DE/DETECH"},
    {"F-OFF-VC", "DE/DETECH"},
    {"F-CHG-FAIL", "RO/ROPMISTAKE"},
    {"F-EXT-DIS", "FOC/*"},
};

const char *cr_category_reg_default(const char *category)
{
    if (!category)
        return NULL;
    for (size_t i = 0; i < sizeof categories / sizeof categories[0]; i++)
        if (strcmp(categories[i].id, category) == 0)
            return categories[i].reg;
    return NULL;
}

const char *cr_category_id(int i)
{
    return i >= 0 && (size_t)i < sizeof categories / sizeof categories[0] ? categories[i].id : NULL;
}
