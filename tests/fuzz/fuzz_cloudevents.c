/*
 * fuzz_cloudevents.c - CloudEvents over Kafka (parsers/cloudevents_kafka.c):
 * content-mode detection from record headers, the binary-mode to
 * structured-envelope rewrite (JSON escaping, base64, the embedded-JSON
 * check cr_cloudevents_json_valid) and the parse of the envelope it makes.
 *
 * Input layout (fuzz_cloudevents_encode in seedgen.c writes the seeds):
 *   u8 nheaders  (0..255)
 *   per header:  u8 name length, name bytes,
 *                u16 BE value length (0xffff = a null header), value bytes
 *   u16 BE small output capacity (exercises the "does not fit" path)
 *   the rest:    the record value
 * Truncated input just ends the header list.
 *
 * Checked (cloudevents_kafka.h): a success returns len < outcap with
 * out[len] == 0 and an envelope that is valid JSON for
 * cr_cloudevents_json_valid and parses as a CloudEvent (CR_FMT_CLOUDEVENTS
 * gives no CR_PARSE_ERROR); a call with less room gives the same envelope
 * or fails, and never writes past outcap.
 *
 * A finding means one Kafka record's headers can crash ingest or produce
 * an envelope the parser (or an analyst's JSON tool) cannot read.
 */
#include "fuzz_common.h"
#include "parsers/cloudevents_kafka.h"

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cr_parser *pce;
    if (!pce)
        pce = fuzz_parser(CR_FMT_CLOUDEVENTS, NULL, 0);
    size_t i = 0;
    unsigned nh = size ? data[i++] : 0;
    struct cr_kafka_header *h = calloc(nh ? nh : 1, sizeof *h);
    char **names = calloc(nh ? nh : 1, sizeof *names);
    unsigned n = 0;
    for (; n < nh; n++) {
        if (i + 1 > size)
            break;
        size_t nl = data[i++];
        if (i + nl + 2 > size)
            break;
        names[n] = malloc(nl + 1);
        memcpy(names[n], data + i, nl);
        names[n][nl] = 0; /* an embedded NUL just ends the name, as in C */
        i += nl;
        size_t vl = be16(data + i);
        i += 2;
        h[n].name = names[n];
        if (vl == 0xffff) {
            h[n].value = NULL;
            h[n].len = 0;
        } else {
            if (i + vl > size) {
                free(names[n]);
                break;
            }
            /* a copy of exactly vl bytes, so an overread is caught */
            void *v = malloc(vl ? vl : 1);
            memcpy(v, data + i, vl);
            h[n].value = v;
            h[n].len = vl;
            i += vl;
        }
    }
    size_t small = 0;
    if (i + 2 <= size) {
        small = be16(data + i);
        i += 2;
    }
    size_t vlen = size - i;
    char *value = malloc(vlen ? vlen : 1);
    memcpy(value, data + i, vlen);
    const void *vptr = (vlen == 0 && (small & 1)) ? NULL : value; /* tombstones too */

    enum cr_ce_mode mode = cr_cloudevents_kafka_mode(h, n);
    FUZZ_ASSERT(mode == CR_CE_NONE || mode == CR_CE_STRUCTURED || mode == CR_CE_BINARY);

    /* enough room for any envelope: every byte escaped as \u00XX, names too */
    size_t cap = 65536 + 8 * size;
    char *out = malloc(cap);
    char err[256];
    long len = cr_cloudevents_binary_to_json(h, n, vptr, vlen, out, cap, err, sizeof err);
    FUZZ_ASSERT(len >= -1);
    if (len >= 0) {
        FUZZ_ASSERT((size_t)len < cap);
        FUZZ_ASSERT(out[len] == 0);
        FUZZ_ASSERT(memchr(err, 0, sizeof err) != NULL);
        FUZZ_ASSERT(cr_cloudevents_json_valid(out, (size_t)len));
        struct cr_event ev;
        enum cr_parse_result r = cr_parse(pce, out, (size_t)len, 0, &ev);
        fuzz_check_event(r, out, (size_t)len, &ev);
        FUZZ_ASSERT(r != CR_PARSE_ERROR);
    } else {
        FUZZ_ASSERT(err[0] != 0);
    }

    /* a small, exactly sized buffer: same envelope or a failure */
    if (small) {
        char *o2 = malloc(small);
        long l2 = cr_cloudevents_binary_to_json(h, n, vptr, vlen, o2, small, err, sizeof err);
        if (l2 >= 0) {
            FUZZ_ASSERT(len == l2);
            FUZZ_ASSERT(memcmp(out, o2, (size_t)l2 + 1) == 0);
        }
        free(o2);
    }

    free(out);
    free(value);
    for (unsigned k = 0; k < n; k++) {
        free(names[k]);
        free((void *)h[k].value);
    }
    free(names);
    free(h);
    return 0;
}
