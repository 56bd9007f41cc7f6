/*
 * event_assert.h - Criterion assertions about parsed events, shared by the
 * parser tests so a failure always reads the same way ("src_ip = 'x',
 * want 'y'").
 */
#ifndef CR_EVENT_ASSERT_H
#define CR_EVENT_ASSERT_H

#include "base/event.h"
#include "base/timeparse.h"

#include <criterion/criterion.h>
#include <string.h>

/* Field f of ev equals want; want == NULL means the field must be absent. */
static inline void cr_assert_field(const struct cr_event *ev, unsigned f, const char *want)
{
    if (!want) {
        cr_assert(!cr_event_has(ev, f), "%s should be absent, is '%.*s'", cr_field_builtin_name(f),
                  (int)ev->f[f].len, ev->f[f].p);
        return;
    }
    cr_assert(cr_event_has(ev, f), "%s absent (want '%s')", cr_field_builtin_name(f), want);
    cr_assert(ev->f[f].len == strlen(want) && memcmp(ev->f[f].p, want, ev->f[f].len) == 0,
              "%s = '%.*s', want '%s'", cr_field_builtin_name(f), (int)ev->f[f].len, ev->f[f].p,
              want);
}

/* ev carries its own time and it is rfc3339. */
static inline void cr_assert_time(const struct cr_event *ev, const char *rfc3339)
{
    int64_t want;
    cr_assert(cr_time_parse(rfc3339, &want) == 0, "bad expected time %s", rfc3339);
    char got[32];
    cr_time_format(ev->time_ms, got, sizeof got);
    cr_assert_eq(ev->time_ms, want, "time %s, want %s", got, rfc3339);
    cr_assert(!(ev->flags & CR_EV_NO_TIME), "the event has no time of its own");
}

#endif
