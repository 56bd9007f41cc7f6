/*
 * test_syslog_5424.c - parsers/syslog_5424.c: the RFC 5424 section 6.5
 * examples, NILVALUEs, fractions and offsets, structured data with escapes,
 * BOM removal, auto-detection against 3164, broken headers; and the
 * rsyslog fuzz seeds plus every 5424 line in rsyslog's parse1 files.
 */
#include "event_assert.h"
#include "parsers/parser.h"
#include "base/timeparse.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FALLBACK 777LL

static struct cr_parser *P;
static struct cr_event EV;

static void setup(void)
{
    struct cr_parse_opts o = {0};
    o.reference_ms = 1795290900000LL;
    P = cr_parser_new(&o);
    cr_assert_not_null(P);
}

static void teardown(void) { cr_parser_free(P); }

static enum cr_parse_result parse(const char *line)
{
    return cr_parse(P, line, strlen(line), FALLBACK, &EV);
}

static void field_is(unsigned f, const char *want) { cr_assert_field(&EV, f, want); }

static void time_is(const char *rfc3339) { cr_assert_time(&EV, rfc3339); }

TestSuite(rfc5424, .init = setup, .fini = teardown);

Test(rfc5424, example_1_bom_and_nil)
{
    cr_assert_eq(parse("<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - "
                       "\xEF\xBB\xBF'su root' failed for lonvick on /dev/pts/8"),
                 CR_PARSE_OK);
    cr_assert_eq(EV.format, CR_FMT_RFC5424);
    cr_assert_eq(EV.facility, 4);
    cr_assert_eq(EV.severity, 2);
    field_is(CR_F_HOST, "mymachine.example.com");
    field_is(CR_F_PROGRAM, "su");
    field_is(CR_F_PID, NULL);
    field_is(CR_F_MSGID, "ID47");
    field_is(CR_F_STRUCTURED_DATA, NULL);
    field_is(CR_F_MSG, "'su root' failed for lonvick on /dev/pts/8");
    time_is("2003-10-11T22:14:15.003Z");
    cr_assert_eq(EV.flags, 0);
}

Test(rfc5424, example_2_offset_and_microseconds)
{
    parse("<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make "
          "the do-nuts.");
    field_is(CR_F_HOST, "192.0.2.1");
    field_is(CR_F_PROGRAM, "myproc");
    field_is(CR_F_PID, "8710");
    field_is(CR_F_MSGID, NULL);
    field_is(CR_F_MSG, "%% It's time to make the do-nuts.");
    time_is("2003-08-24T12:14:15Z");
}

Test(rfc5424, example_3_4_structured_data)
{
    cr_assert_eq(parse("<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
                       "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]"
                       "[examplePriority@32473 class=\"high\"]"),
                 CR_PARSE_OK);
    field_is(CR_F_STRUCTURED_DATA, "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" "
                                   "eventID=\"1011\"][examplePriority@32473 class=\"high\"]");
    field_is(CR_F_MSG, "");
    parse("<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
          "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] "
          "\xEF\xBB\xBF"
          "An application event log entry...");
    field_is(CR_F_MSG, "An application event log entry...");
    field_is(CR_F_STRUCTURED_DATA,
             "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]");
}

Test(rfc5424, escaped_sd_values)
{
    /* ']' and '"' inside a value are escaped and must not end the element */
    parse("<13>1 2026-11-21T10:00:00+08:00 h app 1 m [x@1 a=\"q\\\"uote\" b=\"br\\]acket\" "
          "c=\"back\\\\\"][y@1 d=\"]\"] tail msg");
    field_is(CR_F_STRUCTURED_DATA,
             "[x@1 a=\"q\\\"uote\" b=\"br\\]acket\" c=\"back\\\\\"][y@1 d=\"]\"]");
    field_is(CR_F_MSG, "tail msg");
    time_is("2026-11-21T02:00:00Z");
}

Test(rfc5424, nil_timestamp_uses_fallback)
{
    cr_assert_eq(parse("<14>1 - - - - - - no header at all"), CR_PARSE_FALLBACK);
    cr_assert(EV.flags & CR_EV_NO_TIME);
    cr_assert_eq(EV.time_ms, FALLBACK);
    field_is(CR_F_HOST, NULL);
    field_is(CR_F_PROGRAM, NULL);
    field_is(CR_F_MSG, "no header at all");
}

Test(rfc5424, autodetect)
{
    parse("  <14>1 2026-11-21T10:00:00Z h a - - - x");
    cr_assert_eq(EV.format, CR_FMT_RFC5424);
    /* "<14>10 ..." is not version 1 */
    parse("<14>10:00:00 h a: x");
    cr_assert_eq(EV.format, CR_FMT_RFC3164);
    parse("<14>Nov 21 10:00:00 h a: x");
    cr_assert_eq(EV.format, CR_FMT_RFC3164);
}

Test(rfc5424, broken_headers)
{
    const char *bad[] = {
        "<14>1 ",
        "<14>1 2026-11-21T10:00:00Z",
        "<14>1 2026-11-21T10:00:00Z host app",
        "<14>1 2026-11-21T10:00:00Z host app 1 2",
        "<14>1 2026-11-21T10:00:00Z host app 1 2 [unterminated x=\"y]",
        "<14>1 2026-11-21T10:00:00Z host app 1 2 [a x=\"y\\\"]",
        "<14>1 2026-11-21T10:00:00Z host app 1 2 nosd",
        "<14>1 2026-11-21T10:00:00Z  app 1 2 - x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum cr_parse_result r = cr_parse_rfc5424(P, bad[i], strlen(bad[i]), FALLBACK, &EV);
        cr_assert_eq(r, CR_PARSE_ERROR, "accepted: %s", bad[i]);
        cr_assert(EV.flags & CR_EV_PARSE_ERROR);
        field_is(CR_F_MSG, bad[i]);
    }
    /* not 5424 at all, forced through the 5424 parser */
    cr_assert_eq(cr_parse_rfc5424(P, "Nov 21 10:00:00 h a: x", 22, FALLBACK, &EV), CR_PARSE_ERROR);
    cr_assert_eq(cr_parse_rfc5424(P, "", 0, FALLBACK, &EV), CR_PARSE_ERROR);
}

Test(rfc5424, never_reads_past_len)
{
    const char *l = "<165>1 2003-10-11T22:14:15.003+02:00 mymachine evntslog 12 ID47 "
                    "[a@1 iut=\"3\\]\" x=\"\\\\\"][b@2 c=\"d\"] \xEF\xBB\xBFmsg";
    size_t n = strlen(l);
    for (size_t k = 0; k <= n; k++) {
        char *copy = malloc(k ? k : 1);
        memcpy(copy, l, k);
        cr_parse_rfc5424(P, copy, k, FALLBACK, &EV);
        cr_assert(cr_event_has(&EV, CR_F_MSG));
        free(copy);
    }
}

Test(rfc5424_data, rsyslog_fuzz_seeds_and_parse1, .init = setup, .fini = teardown)
{
    const char *dir = cr_test_shared_path("rsyslog-parser-tests/fuzz-corpus");
    cr_test_need_shared(dir, "rsyslog-parser-tests: ../shared/data absent");
    char dirbuf[4096];
    snprintf(dirbuf, sizeof dirbuf, "%s", dir);
    DIR *d = opendir(dirbuf);
    cr_assert_not_null(d);
    struct dirent *de;
    int seeds = 0, seeds5424 = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dirbuf, de->d_name);
        size_t len;
        char *text = cr_test_slurp(path, &len);
        cr_assert_not_null(text);
        while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
            len--;
        enum cr_parse_result r = cr_parse(P, text, len, FALLBACK, &EV);
        cr_assert_neq(r, CR_PARSE_ERROR, "%s", de->d_name);
        if (EV.format == CR_FMT_RFC5424) {
            seeds5424++;
            /* every 5424 seed has a PRI and a header */
            cr_assert_geq(EV.facility, 0, "%s", de->d_name);
        }
        seeds++;
        free(text);
    }
    closedir(d);
    cr_assert_geq(seeds, 7);
    cr_assert_geq(seeds5424, 3);

    /* the 5424 lines of parse1: hostname and APP-NAME as rsyslog saw them */
    const char *files[] = {"rfc5424-1.parse1", "rfc5424-2.parse1", "rfc5424-3.parse1",
                           "rfc5424-4.parse1"};
    for (size_t i = 0; i < 4; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "rsyslog-parser-tests/parse1/%s", files[i]);
        size_t len;
        char *text = cr_test_slurp(cr_test_shared_path(rel), &len);
        cr_assert_not_null(text);
        char *save = NULL, *line = strtok_r(text, "\n", &save);
        while (line && line[0] == '#')
            line = strtok_r(NULL, "\n", &save);
        char *expect = strtok_r(NULL, "\n", &save);
        cr_assert_not_null(expect);
        cr_assert_eq(cr_parse(P, line, strlen(line), FALLBACK, &EV), CR_PARSE_OK, "%s", line);
        char want[1024];
        snprintf(want, sizeof want, ",%.*s,,%.*s", (int)EV.f[CR_F_HOST].len, EV.f[CR_F_HOST].p,
                 (int)EV.f[CR_F_PROGRAM].len, EV.f[CR_F_PROGRAM].p);
        cr_assert_not_null(strstr(expect, want), "%s: '%s' not in '%s'", files[i], want, expect);
        free(text);
    }
}
