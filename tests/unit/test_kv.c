/*
 * test_kv.c - key=value messages (parsers/kv.c): quoting, auditd's hex
 * encoding, ENRICHED separators, FortiGate's quoted pairs, malformed and
 * truncated pairs, oversized values and invalid UTF-8. A record is never
 * lost: whatever the pairs look like, msg stays the whole message.
 * Run with few names (a lookup per key) and with many (the parser's hash).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse_names.h"

enum {
    F_TYPE = CR_F__BUILTIN,
    F_A0,
    F_A1,
    F_A2,
    F_EXE,
    F_PROCTITLE,
    F_NAME,
    F_KEY,
    F_DEVNAME,
    F_USER_UI,
    F_STATUS,
    F_LOGID,
    F_SYSCALL,
    F_AUID,
    F_X,
    F__END
};

static const char *const base_names[] = {"type",      "a0",    "a1",      "a2",      "exe",
                                         "proctitle", "name",  "key",     "devname", "ui",
                                         "status",    "logid", "SYSCALL", "AUID",    "x"};

static void make(int many) { pn_make(base_names, sizeof base_names / sizeof *base_names, many); }

ParameterizedTestParameters(kv, all)
{
    static int v[] = {0, 1};
    return cr_make_param_array(int, v, 2);
}

ParameterizedTest(int *many, kv, all, .fini = pn_free)
{
    make(*many);

    /* bare audit.log: quoted, hex (a space inside), time from audit(...) */
    const char *r = "type=EXECVE msg=audit(1700000000.123:4567): argc=3 a0=\"curl\" a1=\"-s\" "
                    "a2=687474703A2F2F782079";
    cr_assert_eq(pn_parse(r), CR_PARSE_OK);
    pn_want(F_TYPE, "EXECVE");
    pn_want(F_A0, "curl");
    pn_want(F_A1, "-s");
    pn_want(F_A2, "http://x y");
    pn_want(CR_F_EVENT_TYPE, "EXECVE");
    pn_want(CR_F_SOURCE_PRODUCT, "auditd");
    cr_assert_eq(pn_ev.time_ms, 1700000000123LL);
    cr_assert_eq(pn_ev.flags & (CR_EV_NO_TIME | CR_EV_HEADERLESS), 0u);
    pn_msg_is_whole(r);

    /* proctitle: argv separated by NULs, which become spaces */
    pn_parse("type=PROCTITLE msg=audit(1700000000.123:4567): proctitle=6375726C002D730068747470");
    pn_want(F_PROCTITLE, "curl -s http");

    /* unquoted non-hex values of hex keys stay as they are: name=(null), odd length */
    pn_parse("type=PATH msg=audit(1700000000.123:4567): item=0 name=(null) nametype=UNKNOWN");
    pn_want(F_NAME, "(null)");
    pn_parse("type=EXECVE msg=audit(1700000000.123:4567): argc=1 a0=ABC");
    pn_want(F_A0, "ABC");

    /* hex decoding to invalid UTF-8: kept, flagged */
    pn_parse("type=EXECVE msg=audit(1700000000.123:4567): argc=1 a0=FF41");
    pn_want(F_A0, "\xff"
                  "A");
    cr_assert(pn_ev.flags & CR_EV_BAD_UTF8);

    /* hex is auditd's only: another vendor's unquoted hex stays */
    pn_parse("<14>May  1 10:00:00 fw app: x=414243 a0=4142");
    pn_want(F_X, "414243");
    pn_want(F_A0, "4142");

    /* ENRICHED: 0x1d before the interpreted upper-case keys */
    pn_parse("type=SYSCALL msg=audit(1700000001.000:1): syscall=59 exe=\"/bin/sh\"\x1d"
             "ARCH=x86_64 SYSCALL=execve AUID=\"root\"");
    pn_want(F_EXE, "/bin/sh");
    pn_want(F_SYSCALL, "execve");
    pn_want(F_AUID, "root");

    /* via syslog with node=: the header's time, host and program stay */
    cr_assert_eq(pn_parse("<14>Dec  4 10:00:00 web1 audispd: node=web1 type=USER_LOGIN "
                          "msg=audit(1700000002.000:9): key=\"k 1\" exe=\"/usr/sbin/sshd\""),
                 CR_PARSE_OK);
    pn_want(F_TYPE, "USER_LOGIN");
    pn_want(F_KEY, "k 1");
    pn_want(CR_F_HOST, "web1");
    pn_want(CR_F_PROGRAM, "audispd");

    /* FortiGate */
    r = "<189>date=2024-05-01 time=10:00:00 devname=\"FGT-1\" devid=\"FG100E\" "
        "logid=\"0100032002\" "
        "type=\"event\" subtype=\"system\" level=\"alert\" vd=\"root\" user=\"admin\" "
        "ui=\"https(10.0.0.1)\" action=\"login\" status=\"failed\" msg=\"Administrator admin login "
        "failed\"";
    pn_parse(r);
    pn_want(F_DEVNAME, "FGT-1");
    pn_want(F_LOGID, "0100032002");
    pn_want(F_USER_UI, "https(10.0.0.1)");
    pn_want(F_STATUS, "failed");
    pn_want(F_TYPE, "event");
    pn_want(CR_F_SOURCE_PRODUCT, "fortigate");
    pn_want(CR_F_ACTION, "login");
    pn_want(CR_F_USER, "admin");
    pn_want(CR_F_EVENT_TYPE, "0100032002");
    pn_want(CR_F_HOST, "FGT-1");

    /* malformed: empty key, empty value, words without '=', a repeated key (first counts) */
    pn_parse("type=X msg=audit(1700000003.000:1): =junk a0= word a1=\"v\" a1=\"second\" exe");
    pn_want(F_A0, "");
    pn_want(F_A1, "v");
    cr_assert_not(cr_event_has(&pn_ev, F_EXE));

    /* truncated: an unterminated quote takes the rest; a key at the very end */
    r = "type=EXECVE msg=audit(1700000004.000:1): a0=\"unterminated value a1";
    pn_parse(r);
    pn_want(F_A0, "unterminated value a1");
    pn_msg_is_whole(r);
    pn_parse("type=EXECVE msg=audit(1700000004.000:1): a0");
    cr_assert_not(cr_event_has(&pn_ev, F_A0));
    pn_parse("type=EXECVE msg=audit(170000");
    pn_want(F_TYPE, "EXECVE");
    cr_assert(pn_ev.flags & CR_EV_NO_TIME, "a broken audit() stamp is no time");
    cr_assert_eq(pn_ev.time_ms, 42);

    /* oversized: a hex value larger than the decode buffer stays hex, the record stays */
    size_t big = 40000;
    char *rec = malloc(big + 64);
    cr_assert_not_null(rec);
    int h = snprintf(rec, 64, "type=EXECVE msg=audit(1700000005.000:1): a0=");
    for (size_t i = 0; i < big; i++)
        rec[h + i] = "41"[i & 1];
    rec[h + big] = 0;
    pn_parse(rec);
    cr_assert_eq(pn_ev.f[F_A0].len, big);
    cr_assert_eq(pn_ev.f[F_A0].p[0], '4');
    pn_msg_is_whole(rec);
    free(rec);

    /* not key=value: nothing set */
    pn_parse("<14>Dec  4 10:00:00 web1 sshd[1]: Accepted password for type=x from 10.0.0.1");
    cr_assert_not(cr_event_has(&pn_ev, F_TYPE));
}

Test(kv, no_extra_names_no_scan)
{
    struct cr_parse_opts o = {.format = CR_FMT_AUTO, .year = 2026};
    struct cr_parser *q = cr_parser_new(&o);
    cr_assert_not_null(q);
    const char *r = "type=EXECVE msg=audit(1700000000.123:4567): argc=1 a0=\"curl\"";
    cr_parse(q, r, strlen(r), 42, &pn_ev);
    cr_assert_not(cr_event_has(&pn_ev, CR_F_SOURCE_PRODUCT));
    cr_assert(pn_ev.flags & CR_EV_HEADERLESS);
    cr_parser_free(q);
}
