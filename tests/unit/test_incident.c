/*
 * test_incident.c - the incident record: id, bounds, escaping and the JSON
 * contract (key order and names that users' scripts read).
 */
#include "base/event.h"
#include "engine/store/incident.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

static int is_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return s[n] == 0;
}

Test(incident_id, deterministic_and_sensitive_to_each_part)
{
    char a[33], b[33], c[33];
    cr_incident_make_id(a, "ssh-brute", "203.0.113.5", 11, 1700000000000);
    cr_incident_make_id(b, "ssh-brute", "203.0.113.5", 11, 1700000000000);
    cr_assert(is_lower_hex(a, 32));
    cr_assert_str_eq(a, b);

    cr_incident_make_id(c, "ssh-brutf", "203.0.113.5", 11, 1700000000000);
    cr_assert_str_neq(a, c);
    cr_incident_make_id(c, "ssh-brute", "203.0.113.6", 11, 1700000000000);
    cr_assert_str_neq(a, c);
    cr_incident_make_id(c, "ssh-brute", "203.0.113.5", 11, 1700000000001);
    cr_assert_str_neq(a, c);
    /* Only keylen bytes of the key count. */
    cr_incident_make_id(c, "ssh-brute", "203.0.113.5XYZ", 11, 1700000000000);
    cr_assert_str_eq(a, c);
}

Test(incident_id, framing_separates_rule_and_key)
{
    char a[33], b[33], e[33];
    cr_incident_make_id(a, "ab", "c", 1, 0);
    cr_incident_make_id(b, "a", "bc", 2, 0);
    cr_assert_str_neq(a, b);
    /* Key bytes may hold NULs (composite keys). */
    cr_incident_make_id(a, "r", "x\0y", 3, 0);
    cr_incident_make_id(b, "r", "x\0z", 3, 0);
    cr_assert_str_neq(a, b);
    cr_incident_make_id(e, "r", NULL, 0, 0);
    cr_assert(is_lower_hex(e, 32));
}

Test(incident_id, stable_across_versions)
{
    /* Replays must rewrite the incidents an older build stored: the id of a
     * fixed input is pinned. Changing the hash scheme breaks idempotent
     * replay and must be a deliberate migration, not an accident. */
    char a[33];
    cr_incident_make_id(a, "ssh-brute", "203.0.113.5", 11, 1700000000000);
    cr_assert_str_eq(a, "c902b12bb5b1eeb1c841ddb0b586ea5f");

    /* And it is XXH3-128 of the documented framing: u64 LE rule length,
     * rule, u64 LE key length, key, u64 LE window start; big-endian hex. */
    unsigned char buf[64];
    size_t n = 0;
    uint64_t v = 9;
    for (int i = 0; i < 8; i++)
        buf[n++] = (unsigned char)(v >> (8 * i));
    memcpy(buf + n, "ssh-brute", 9);
    n += 9;
    v = 11;
    for (int i = 0; i < 8; i++)
        buf[n++] = (unsigned char)(v >> (8 * i));
    memcpy(buf + n, "203.0.113.5", 11);
    n += 11;
    v = 1700000000000;
    for (int i = 0; i < 8; i++)
        buf[n++] = (unsigned char)(v >> (8 * i));
    XXH128_hash_t h = XXH3_128bits(buf, n);
    char want[33];
    snprintf(want, sizeof want, "%016llx%016llx", (unsigned long long)h.high64,
             (unsigned long long)h.low64);
    cr_assert_str_eq(a, want);
}

Test(incident_bounds, refs_keep_the_first_and_count_the_rest)
{
    struct cr_incident *inc = calloc(1, sizeof *inc);
    for (int i = 0; i < CR_INC_MAX_REFS + 8; i++)
        cr_incident_add_ref(inc, (uint32_t)(i % 3), (uint64_t)i + 100, 1000 + i);
    cr_assert_eq(inc->nrefs, CR_INC_MAX_REFS);
    cr_assert_eq(inc->refs_dropped, 8);
    cr_assert_eq(inc->refs[0].position, 100);
    cr_assert_eq(inc->refs[0].time_ms, 1000);
    cr_assert_eq(inc->refs[CR_INC_MAX_REFS - 1].position, 100 + CR_INC_MAX_REFS - 1);
    cr_assert_eq(inc->refs[1].input, 1);
    free(inc);
}

Test(incident_bounds, samples_are_bounded_escaped_and_cut_at_a_character)
{
    struct cr_incident *inc = calloc(1, sizeof *inc);
    cr_incident_add_sample(inc, "a\0b\xff", 4);
    cr_assert_str_eq(inc->samples[0], "a\\x00b\\xFF");

    /* 510 ASCII bytes then a 3-byte character: 513 bytes do not fit in 511. */
    char big[600];
    memset(big, 'x', 510);
    memcpy(big + 510, "\xe4\xb8\xad", 3);
    cr_incident_add_sample(inc, big, 513);
    cr_assert_eq(strlen(inc->samples[1]), 510);

    /* An escape is never split either. */
    memset(big, 'y', 509);
    big[509] = (char)0xfe;
    cr_incident_add_sample(inc, big, 510);
    cr_assert_eq(strlen(inc->samples[2]), 509);

    cr_incident_add_sample(inc, "four", 4);
    cr_incident_add_sample(inc, "five", 4);
    cr_incident_add_sample(inc, "six", 3);
    cr_assert_eq(inc->nsamples, CR_INC_MAX_SAMPLES);
    cr_assert_str_eq(inc->samples[4], "five");
    free(inc);
}

Test(incident_bounds, reasons_format_bound_and_stay_utf8)
{
    struct cr_incident *inc = calloc(1, sizeof *inc);
    cr_incident_add_reason(inc, "%d failures from %s", 12, "203.0.113.5");
    cr_assert_str_eq(inc->reasons[0], "12 failures from 203.0.113.5");

    /* 158 ASCII + a 3-byte character: vsnprintf would cut it after one byte. */
    char text[200];
    memset(text, 'r', 158);
    memcpy(text + 158, "\xe4\xb8\xad", 4);
    cr_incident_add_reason(inc, "%s", text);
    cr_assert_eq(strlen(inc->reasons[1]), 158);

    cr_incident_add_reason(inc, "three");
    cr_incident_add_reason(inc, "four");
    cr_incident_add_reason(inc, "five");
    cr_assert_eq(inc->nreasons, CR_INC_MAX_REASONS);
    cr_assert_str_eq(inc->reasons[3], "four");
    free(inc);
}

Test(incident_levels, names_and_parse)
{
    cr_assert_null(cr_reg_level_name(0));
    cr_assert_str_eq(cr_reg_level_name(1), "I");
    cr_assert_str_eq(cr_reg_level_name(3), "III");
    cr_assert_str_eq(cr_reg_level_name(4), "IV");
    cr_assert_null(cr_reg_level_name(5));
    cr_assert_null(cr_reg_level_name(-1));

    cr_assert_eq(cr_reg_level_parse("II"), 2);
    cr_assert_eq(cr_reg_level_parse("iv"), 4);
    cr_assert_eq(cr_reg_level_parse("3"), 3);
    cr_assert_eq(cr_reg_level_parse("null"), 0);
    cr_assert_eq(cr_reg_level_parse(""), 0);
    cr_assert_eq(cr_reg_level_parse(NULL), 0);
    cr_assert_eq(cr_reg_level_parse("V"), -1);
    cr_assert_eq(cr_reg_level_parse("5"), -1);
    cr_assert_eq(cr_reg_level_parse("IIII"), -1);
    cr_assert_eq(cr_reg_level_parse("12"), -1);
}

Test(incident_escape, utf8_passes_and_bad_bytes_become_hex)
{
    char out[256];
    const char *zh = "\xe7\x99\xbb\xe5\xbd\x95\xe5\xa4\xb1\xe8\xb4\xa5 ok \xf0\x9f\x94\x92";
    size_t n = cr_raw_escape(out, sizeof out, zh, strlen(zh));
    cr_assert_eq(n, strlen(zh));
    cr_assert_str_eq(out, zh);

    /* Overlong NUL, a surrogate, a lone continuation, above U+10FFFF and a
     * sequence cut by the end of the input. */
    const char bad[] = "\xc0\x80|\xed\xa0\x80|\x80|\xf4\x90\x80\x80|\xe4\xb8";
    cr_raw_escape(out, sizeof out, bad, sizeof bad - 1);
    cr_assert_str_eq(out, "\\xC0\\x80|\\xED\\xA0\\x80|\\x80|\\xF4\\x90\\x80\\x80|\\xE4\\xB8");

    /* Bounded: stops before a unit that does not fit, reports consumed bytes. */
    n = cr_raw_escape(out, 6, "ab\xff", 3);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(out, "ab");
    n = cr_raw_escape(out, 7, "ab\xff", 3);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(out, "ab\\xFF");
    n = cr_raw_escape(out, 1, "abc", 3);
    cr_assert_eq(n, 0);
    cr_assert_str_eq(out, "");
}

static struct cr_incident *sample_incident(void)
{
    struct cr_incident *inc = calloc(1, sizeof *inc);
    cr_incident_make_id(inc->id, "ssh-brute", "203.0.113.5", 11, 1763754900000);
    strcpy(inc->rule, "ssh-brute");
    strcpy(inc->title, "SSH brute force from 203.0.113.5");
    strcpy(inc->category, "S-ATK-BRUTE");
    strcpy(inc->reg_category, "NA/NACRED");
    strcpy(inc->priority, "P3");
    strcpy(inc->status, "detected");
    inc->reg_level = 0;
    inc->nentities = 2;
    strcpy(inc->entities[0].name, "src_ip");
    strcpy(inc->entities[0].value, "203.0.113.5");
    strcpy(inc->entities[1].name, "host");
    strcpy(inc->entities[1].value, "web-01");
    inc->window_start_ms = 1763754900000; /* 2025-11-21T19:55:00.000Z */
    inc->first_seen_ms = 1763754901234;
    inc->last_seen_ms = 1763754960000;
    inc->event_count = 12;
    cr_incident_add_ref(inc, 0, 41, 1763754901234);
    cr_incident_add_ref(inc, 2, 7, CR_TIME_NONE);
    cr_incident_add_sample(inc, "Failed password for root from 203.0.113.5", 41);
    cr_incident_add_reason(inc, "%d failed logins in %d s", 12, 60);
    return inc;
}

Test(incident_json, contract_keys_values_and_order)
{
    struct cr_incident *inc = sample_incident();
    const char *names[] = {"auth.log", NULL};
    char *js = cr_incident_to_json(inc, names, 2);
    cr_assert_not_null(js);
    cr_assert_null(strchr(js, '\n'), "compact, one line");

    /* Key order is a contract: check it on the text. */
    const char *order[] = {
        "\"id\":",           "\"rule\":",        "\"title\":",      "\"category\":",
        "\"reg_category\":", "\"entities\":",    "\"first_seen\":", "\"last_seen\":",
        "\"window_start\":", "\"event_count\":", "\"priority\":",   "\"reg_level\":",
        "\"status\":",       "\"evidence\":",    "\"refs\":",       "\"samples\":",
        "\"refs_dropped\":", "\"reasons\":"};
    const char *prev = js;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const char *p = strstr(js, order[i]);
        cr_assert_not_null(p, "missing %s", order[i]);
        cr_assert(p >= prev, "%s out of order", order[i]);
        prev = p;
    }
    cr_assert(strstr(js, "\"entities\":{\"src_ip\":\"203.0.113.5\",\"host\":\"web-01\"}"));

    json_error_t e;
    json_t *o = json_loads(js, 0, &e);
    cr_assert_not_null(o, "invalid JSON: %s", e.text);
    cr_assert_str_eq(json_string_value(json_object_get(o, "id")), inc->id);
    cr_assert_str_eq(json_string_value(json_object_get(o, "reg_category")), "NA/NACRED");
    cr_assert_str_eq(json_string_value(json_object_get(o, "first_seen")),
                     "2025-11-21T19:55:01.234Z");
    cr_assert_str_eq(json_string_value(json_object_get(o, "window_start")),
                     "2025-11-21T19:55:00.000Z");
    cr_assert_eq(json_integer_value(json_object_get(o, "event_count")), 12);
    cr_assert(json_is_null(json_object_get(o, "reg_level")));
    cr_assert_str_eq(json_string_value(json_object_get(o, "status")), "detected");
    json_t *ev = json_object_get(o, "evidence");
    json_t *refs = json_object_get(ev, "refs");
    cr_assert_eq(json_array_size(refs), 2);
    json_t *r0 = json_array_get(refs, 0), *r1 = json_array_get(refs, 1);
    cr_assert_str_eq(json_string_value(json_object_get(r0, "input")), "auth.log");
    cr_assert_eq(json_integer_value(json_object_get(r0, "position")), 41);
    cr_assert_str_eq(json_string_value(json_object_get(r0, "time")), "2025-11-21T19:55:01.234Z");
    /* Input 2 has no name (out of range): the index, and a missing time is null. */
    cr_assert_eq(json_integer_value(json_object_get(r1, "input")), 2);
    cr_assert(json_is_null(json_object_get(r1, "time")));
    cr_assert_eq(json_integer_value(json_object_get(ev, "refs_dropped")), 0);
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(ev, "samples"), 0)),
                     "Failed password for root from 203.0.113.5");
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(o, "reasons"), 0)),
                     "12 failed logins in 60 s");
    json_decref(o);
    free(js);

    /* Level set; no input names at all. */
    inc->reg_level = 3;
    js = cr_incident_to_json(inc, NULL, 0);
    o = json_loads(js, 0, NULL);
    cr_assert_str_eq(json_string_value(json_object_get(o, "reg_level")), "III");
    r0 = json_array_get(json_object_get(json_object_get(o, "evidence"), "refs"), 0);
    cr_assert_eq(json_integer_value(json_object_get(r0, "input")), 0);
    json_decref(o);
    free(js);
    free(inc);
}

Test(incident_json, invalid_utf8_anywhere_still_gives_valid_json)
{
    struct cr_incident *inc = sample_incident();
    /* GBK bytes in a title and an entity, a NUL and 0xFF in a raw sample,
     * and a sample array filled by hand without going through add_sample. */
    strcpy(inc->title, "\xb5\xc7\xc2\xbc failed");
    strcpy(inc->entities[1].value, "host-\xff");
    strcpy(inc->entities[1].name, "h\xfe");
    cr_incident_add_sample(inc, "x\0y\xff", 4);
    memset(inc->samples[2], 'z', CR_INC_SAMPLE_BYTES); /* no terminating NUL */
    inc->samples[2][5] = (char)0x80;
    inc->nsamples = 3;
    char *js = cr_incident_to_json(inc, NULL, 0);
    cr_assert_not_null(js);
    json_error_t e;
    json_t *o = json_loads(js, 0, &e);
    cr_assert_not_null(o, "invalid JSON: %s", e.text);
    /* GBK 登录 is B5 C7 C2 BC; C2 BC happens to be valid UTF-8 (U+00BC) and
     * passes as is: escaping is per byte sequence, not a charset guess. */
    cr_assert_str_eq(json_string_value(json_object_get(o, "title")), "\\xB5\\xC7\xC2\xBC failed");
    json_t *ents = json_object_get(o, "entities");
    cr_assert_str_eq(json_string_value(json_object_get(ents, "h\\xFE")), "host-\\xFF");
    json_t *samples = json_object_get(json_object_get(o, "evidence"), "samples");
    cr_assert_str_eq(json_string_value(json_array_get(samples, 1)), "x\\x00y\\xFF");
    const char *s2 = json_string_value(json_array_get(samples, 2));
    cr_assert_eq(strlen(s2), CR_INC_SAMPLE_BYTES + 3, "bounded by the field, 0x80 escaped");
    json_decref(o);
    free(js);
    free(inc);
}

Test(incident_json, refs_dropped_and_huge_counts)
{
    struct cr_incident *inc = sample_incident();
    for (int i = 0; i < 100; i++)
        cr_incident_add_ref(inc, 0, (uint64_t)i, 0);
    inc->event_count = UINT64_MAX;
    char *js = cr_incident_to_json(inc, NULL, 0);
    json_t *o = json_loads(js, 0, NULL);
    cr_assert_not_null(o);
    json_t *ev = json_object_get(o, "evidence");
    cr_assert_eq(json_array_size(json_object_get(ev, "refs")), CR_INC_MAX_REFS);
    cr_assert_eq(json_integer_value(json_object_get(ev, "refs_dropped")), 102 - CR_INC_MAX_REFS);
    cr_assert_eq(json_integer_value(json_object_get(o, "event_count")), INT64_MAX);
    json_decref(o);
    free(js);
    free(inc);
}

/* A Sigma rule's attribution rides along after the incident's own keys;
 * it never overrides them, and text that is not a JSON object adds nothing. */
Test(incident_json, annotation_members_follow_the_incident)
{
    struct cr_incident *inc = sample_incident();
    char *plain = cr_incident_to_json(inc, NULL, 0);
    char *js = cr_incident_to_json_ann(
        inc, NULL, 0,
        "{\"attack\":[\"T1110\"],\"sigma\":{\"id\":\"x-1\",\"level\":\"high\"},\"rule\":\"nope\"}");
    cr_assert_not_null(js);
    const char *reasons = strstr(js, "\"reasons\":"),
               *attack = strstr(js, "\"attack\":[\"T1110\"]");
    cr_assert(reasons && attack && attack > reasons, "%s", js);
    cr_assert(strstr(js, "\"sigma\":{\"id\":\"x-1\",\"level\":\"high\"}"), "%s", js);
    cr_assert_null(strstr(js, "\"nope\""), "the incident's own rule stays: %s", js);
    cr_assert(strncmp(js, plain, strlen(plain) - 1) == 0, "the incident's own part is unchanged");
    free(js);
    js = cr_incident_to_json_ann(inc, NULL, 0, "[1,2]");
    cr_assert_str_eq(js, plain);
    free(js);
    js = cr_incident_to_json_ann(inc, NULL, 0, "{broken");
    cr_assert_str_eq(js, plain);
    free(js);
    free(plain);
    free(inc);
}
