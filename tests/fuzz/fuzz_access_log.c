/*
 * fuzz_access_log.c - web access-log lines (NCSA common/combined, as nginx
 * and Apache write them: parsers/access_log.c), bare and wrapped in syslog.
 *
 * Each input is the message of one record. It is parsed
 *  - bare, through cr_parse in auto mode (a headerless 3164 record whose
 *    message is an access-log line gets the fields),
 *  - behind an RFC 3164 header ("<190>Mar  2 12:00:00 web-01 nginx: "),
 *  - behind an RFC 5424 header,
 *  - and directly by cr_access_log_fields on an event whose msg it is.
 *
 * A finding means an access-log line can crash a worker (the recogniser
 * scans quoted strings, brackets and numbers by hand) or breaks the
 * event contract (fuzz_common.h).
 */
#include "fuzz_common.h"
#include "parsers/parser_int.h"

static void wrapped(struct cr_parser *p, const char *hdr, const uint8_t *data, size_t size)
{
    size_t hl = strlen(hdr), n = hl + size;
    char *rec = malloc(n);
    memcpy(rec, hdr, hl);
    memcpy(rec + hl, data, size);
    struct cr_event ev;
    enum cr_parse_result r = cr_parse(p, rec, n, 0, &ev);
    fuzz_check_event(r, rec, n, &ev);
    fuzz_check_within(rec, n, &ev);
    free(rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cr_parser *p;
    if (!p)
        p = fuzz_parser(CR_FMT_AUTO, NULL, 0);
    char *rec = malloc(size ? size : 1);
    memcpy(rec, data, size);
    struct cr_event ev;
    enum cr_parse_result r = cr_parse(p, rec, size, 0, &ev);
    fuzz_check_event(r, rec, size, &ev);

    /* the recogniser alone, on a message that is exactly the input */
    cr_parse_begin(&ev, rec, size, CR_FMT_RFC3164);
    cr_event_set(&ev, CR_F_MSG, rec, size);
    ev.time_ms = 0;
    cr_access_log_fields(&ev);
    fuzz_check_event(CR_PARSE_OK, rec, size, &ev);
    fuzz_check_within(rec, size, &ev);
    free(rec);

    wrapped(p, "<190>Mar  2 12:00:00 web-01 nginx: ", data, size);
    wrapped(p, "<190>1 2026-03-02T12:00:00Z web-01 nginx - - - ", data, size);
    return 0;
}
