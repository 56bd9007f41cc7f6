/*
 * parse_names.h - a parser with rule-requested extra names, for the tests of
 * the payload scans that fill them (test_kv.c, test_event_xml.c).
 *
 * Each test file gets its own copy of this state (static): the parser, the
 * last event, the names. pn_make builds the parser with the names given at
 * CR_F__BUILTIN.., and with `many`, 64 more, so the parser hashes its names
 * (the path Sigma rule sets take) instead of looking each one up.
 */
#ifndef CR_TEST_PARSE_NAMES_H
#define CR_TEST_PARSE_NAMES_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "parsers/parser.h"

static const char *pn_names[CR_MAX_FIELDS];
static struct cr_parser *pn_p;
static struct cr_event pn_ev;

static inline void pn_make(const char *const *base, unsigned nbase, int many)
{
    memset(pn_names, 0, sizeof pn_names);
    for (unsigned i = 0; i < nbase; i++)
        pn_names[CR_F__BUILTIN + i] = base[i];
    unsigned n = CR_F__BUILTIN + nbase;
    if (many) {
        static char pad[64][16];
        for (int i = 0; i < 64; i++) {
            snprintf(pad[i], sizeof pad[i], "pad%d", i);
            pn_names[n++] = pad[i];
        }
    }
    struct cr_parse_opts o = {.format = CR_FMT_AUTO, .year = 2026};
    o.extra_names = pn_names;
    o.n_extra_names = n;
    pn_p = cr_parser_new(&o);
    cr_assert_not_null(pn_p);
}

static inline void pn_free(void) { cr_parser_free(pn_p); }

/* Parse rec with fallback time 42 into pn_ev. */
static inline enum cr_parse_result pn_parse(const char *rec)
{
    return cr_parse(pn_p, rec, strlen(rec), 42, &pn_ev);
}

static inline void pn_want(unsigned f, const char *v)
{
    cr_assert(cr_event_has(&pn_ev, f), "field %s missing", pn_names[f]);
    cr_assert_eq(pn_ev.f[f].len, strlen(v), "%s: '%.*s' != '%s'", pn_names[f], (int)pn_ev.f[f].len,
                 pn_ev.f[f].p, v);
    cr_assert_eq(memcmp(pn_ev.f[f].p, v, pn_ev.f[f].len), 0, "%s: '%.*s' != '%s'", pn_names[f],
                 (int)pn_ev.f[f].len, pn_ev.f[f].p, v);
}

/* msg is exactly m: nothing of the message was lost */
static inline void pn_msg_is_whole(const char *m)
{
    cr_assert_eq(pn_ev.f[CR_F_MSG].len, strlen(m));
    cr_assert_eq(memcmp(pn_ev.f[CR_F_MSG].p, m, strlen(m)), 0);
}

#endif
