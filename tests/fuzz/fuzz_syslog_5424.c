/*
 * fuzz_syslog_5424.c - RFC 5424 syslog (parsers/syslog_5424.c: PRI and
 * version, RFC 3339 timestamps with fractions and zones, NILVALUEs,
 * structured data with escapes, BOM'd messages) plus the access-log
 * payload recogniser that cr_syslog_payload runs on the message.
 *
 * Each input is one record, parsed by cr_parse_rfc5424 + cr_syslog_payload
 * and, with "<PRI>1 " in front if it lacks one, by cr_parse in auto mode
 * (which sniffs "<PRI>1 " and sends it here).
 *
 * A finding means a syslog record can crash a worker or yields an event
 * that breaks parsers/parser.h's contract (see fuzz_common.h).
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cr_parser *p, *p_auto;
    if (!p) {
        p = fuzz_parser(CR_FMT_RFC5424, NULL, 0);
        p_auto = fuzz_parser(CR_FMT_AUTO, NULL, 0);
    }
    char *rec = malloc(size ? size : 1);
    memcpy(rec, data, size);
    struct cr_event ev;

    enum cr_parse_result r = cr_parse_rfc5424(p, rec, size, 777, &ev);
    r = cr_syslog_payload(&ev, r);
    fuzz_check_event(r, rec, size, &ev);
    fuzz_check_within(rec, size, &ev);
    fuzz_check_byte_flags(rec, size, &ev);
    if (ev.flags & CR_EV_NO_TIME)
        FUZZ_ASSERT(ev.time_ms == 777);
    free(rec);

    /* the same bytes behind a version-1 header, through the sniffer */
    static const char hdr[] = "<34>1 ";
    size_t n = size + sizeof hdr - 1;
    rec = malloc(n);
    memcpy(rec, hdr, sizeof hdr - 1);
    memcpy(rec + sizeof hdr - 1, data, size);
    r = cr_parse(p_auto, rec, n, 0, &ev);
    fuzz_check_event(r, rec, n, &ev);
    free(rec);
    return 0;
}
