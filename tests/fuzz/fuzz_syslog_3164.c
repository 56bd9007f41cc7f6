/*
 * fuzz_syslog_3164.c - RFC 3164 syslog (parsers/syslog_3164.c with its
 * Cisco / Huawei VRP / H3C variants and the headerless fallback, the
 * timestamp code of base/timeparse.c, the access-log payload
 * recogniser that cr_syslog_payload runs on the message, the key=value
 * scan of parsers/kv.c with auditd's hex decoding, and the event XML of
 * parsers/event_xml.c over expat).
 *
 * One input is one record (no trailing newline), parsed three ways: by
 * cr_parse_rfc3164 + cr_syslog_payload (what a `format: rfc3164` input
 * does), with an explicit year, and through cr_parse in auto mode (the
 * sniffing that sends anything not JSON or RFC 5424 here), and once more
 * in auto mode with extra names as Sigma's auditd/FortiGate/Sysmon rules
 * use them (kv.c and event_xml.c run only then; their decoded values live
 * in the parser's buffer).
 *
 * A finding means a record read from a log file or Kafka can crash the
 * worker (out-of-bounds read, UB) or yields an event that breaks the
 * contract of parsers/parser.h (fuzz_common.h lists what is checked).
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cr_parser *p, *p_year, *p_auto, *p_kv;
    static const char *const k[] = {"type",
                                    "a0",
                                    "a1",
                                    "a2",
                                    "exe",
                                    "proctitle",
                                    "name",
                                    "key",
                                    "cwd",
                                    "SYSCALL",
                                    "cfgpath",
                                    "x",
                                    "Event.System.EventID",
                                    "Event.System.Provider.#attributes.Name",
                                    "Event.EventData.Image",
                                    "Event.EventData.CommandLine"};
    enum { NK = sizeof k / sizeof *k };
    static const char *kv_names[CR_F__BUILTIN + NK];
    if (!p) {
        for (unsigned i = 0; i < NK; i++)
            kv_names[CR_F__BUILTIN + i] = k[i];
        p_kv = fuzz_parser(CR_FMT_AUTO, kv_names, CR_F__BUILTIN + NK);
        p = fuzz_parser(CR_FMT_RFC3164, NULL, 0);
        struct cr_parse_opts o = {.format = CR_FMT_RFC3164,
                                  .year = 2026,
                                  .tz_offset_min = 480,
                                  .reference_ms = FUZZ_REFERENCE_MS};
        p_year = cr_parser_new(&o);
        p_auto = fuzz_parser(CR_FMT_AUTO, NULL, 0);
    }
    /* a copy of exactly size bytes: ASan catches a read one past the record */
    char *rec = malloc(size ? size : 1);
    memcpy(rec, data, size);
    struct cr_event ev;

    enum cr_parse_result r = cr_parse_rfc3164(p, rec, size, 12345, &ev);
    r = cr_syslog_payload(&ev, r);
    fuzz_check_event(r, rec, size, &ev);
    fuzz_check_within(rec, size, &ev);
    fuzz_check_byte_flags(rec, size, &ev);
    if (ev.flags & CR_EV_NO_TIME)
        FUZZ_ASSERT(ev.time_ms == 12345);

    r = cr_parse_rfc3164(p_year, rec, size, CR_TIME_NONE, &ev);
    fuzz_check_event(r, rec, size, &ev);

    r = cr_parse(p_auto, rec, size, 0, &ev);
    fuzz_check_event(r, rec, size, &ev);

    r = cr_parse(p_kv, rec, size, 0, &ev);
    fuzz_check_event(r, rec, size, &ev);
    fuzz_check_within(rec, size, &ev);

    free(rec);
    return 0;
}
