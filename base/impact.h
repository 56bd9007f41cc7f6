/*
 * impact.h - what an incident does to the things it affects, as a rule
 * declares it: the grading inputs of DOMAIN.md (b) that come from
 * detection rather than from the inventory.
 *
 * A rule's `incident:` block may carry `impact:` (docs/rules.md):
 *
 *   impact:
 *     outage: full | main | degraded   the affected systems lose all, their main
 *                                      function, or quality, for as long as the
 *                                      incident lasts (first_seen .. now)
 *     compromised: true                each distinct target asset is a
 *                                      compromised host
 *     data: important | key_leaked | key_tampered | key_destroyed
 *     ransomware: true                 ransomware on production
 *     lateral: true                    confirmed lateral movement / exfiltration
 *     defacement: home | other         a government page was defaced
 *     control_plane: true              the cloud control plane is down
 *     mains_lost: true                 utility power lost (facility)
 *     on_battery: true                 a UPS runs on battery
 *     fire: true                       smoke or fire alarm in a machine room
 *     records: FIELD                   personal-information records exposed
 *     runtime: FIELD                   UPS battery minutes remaining
 *     temperature: FIELD               cold-aisle inlet temperature, °C
 *
 * The category gives defaults (cr_impact_defaults): F-APP-DOWN is a full
 * outage, S-MAL-RANS ransomware, F-FAC-FIRE a fire, and so on; what the
 * rule writes wins. The three FIELD entries name a field of the matching
 * event whose number the worker reads (cr_match.measure); the incident
 * keeps the latest value seen.
 *
 * Threading: plain values, copied into every incident.
 */
#ifndef CR_IMPACT_H
#define CR_IMPACT_H

#include <stdint.h>

enum cr_outage { CR_OUTAGE_NONE, CR_OUTAGE_DEGRADED, CR_OUTAGE_MAIN, CR_OUTAGE_FULL };

enum cr_data_impact {
    CR_DATA_NONE,
    CR_DATA_IMPORTANT,     /* important data's CIA affected: L3 */
    CR_DATA_KEY_LEAKED,    /* key data confirmed exfiltrated: L2 */
    CR_DATA_KEY_TAMPERED,  /* key data tampered with: L2 */
    CR_DATA_KEY_DESTROYED, /* key data destroyed or encrypted, no restore: L1 */
};

enum cr_deface { CR_DEFACE_NONE, CR_DEFACE_OTHER, CR_DEFACE_HOME };

/* What the measure field of a rule holds (one per rule). */
enum cr_measure {
    CR_MEASURE_NONE,
    CR_MEASURE_RECORDS,     /* personal-information records exposed */
    CR_MEASURE_RUNTIME,     /* UPS minutes remaining */
    CR_MEASURE_TEMPERATURE, /* inlet °C */
};

#define CR_IMPACT_SET 0x8000u /* in `declared`: the rule wrote impact: */

struct cr_impact {
    uint8_t outage;  /* enum cr_outage */
    uint8_t data;    /* enum cr_data_impact */
    uint8_t deface;  /* enum cr_deface */
    uint8_t measure; /* enum cr_measure */
    uint8_t compromised, ransomware, lateral, control_plane, mains_lost, on_battery, fire;
    uint8_t pad;
    char measure_field[48]; /* the event field the measure is read from ("" = none) */
};

/* The defaults a DOMAIN.md (a) category implies (zero for none). */
void cr_impact_defaults(struct cr_impact *im, const char *category);

const char *cr_outage_name(int o);
const char *cr_data_impact_name(int d);
const char *cr_deface_name(int d);
const char *cr_measure_name(int m);
/* Parse a name; -1 if unknown. */
int cr_outage_parse(const char *s);
int cr_data_impact_parse(const char *s);
int cr_deface_parse(const char *s);
int cr_measure_parse(const char *s);

#endif
