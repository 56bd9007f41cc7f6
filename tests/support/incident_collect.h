/*
 * incident_collect.h - flush a correlator in a unit test and keep the latest
 * version of each incident by id (what the store would hold), plus whether
 * any version of it was an opening. Shared by the correlator and reload
 * tests, which inspect incidents rather than writer messages.
 */
#ifndef CR_INCIDENT_COLLECT_H
#define CR_INCIDENT_COLLECT_H

#include "engine/correlate/correlate.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

/* got[0..*n) holds one incident per id; created may be NULL. */
static inline void cr_test_collect(struct cr_correlator *c, struct cr_incident *got, int *created,
                                   int *n, int max)
{
    struct cr_version *h, *t;
    cr_correlator_flush(c, &h, &t);
    for (struct cr_version *m = h, *next; m; m = next) {
        next = m->next;
        int k;
        for (k = 0; k < *n; k++)
            if (strcmp(got[k].id, m->inc.id) == 0)
                break;
        if (k == *n) {
            cr_assert_lt(*n, max);
            (*n)++;
            if (created)
                created[k] = 0;
        }
        got[k] = m->inc;
        if (created)
            created[k] |= m->created;
        free(m);
    }
}

#endif
