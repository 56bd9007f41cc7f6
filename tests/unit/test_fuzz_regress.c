/*
 * test_fuzz_regress.c - every input a fuzz campaign (tests/fuzz,
 * docs/fuzzing.md) found failing, replayed through the same target code in
 * the normal test run, so the fix stays fixed without clang or libFuzzer.
 *
 * Each target's source is compiled in here with its entry point renamed;
 * the invariants it checks (fuzz_common.h) abort on failure, which
 * Criterion reports as a crashed test. The inputs are the minimised
 * artifacts, written as C literals; each says what it found.
 */
#include <criterion/criterion.h>
#include <stddef.h>
#include <stdint.h>

#define LLVMFuzzerTestOneInput fuzz_json_event_one
#include "../fuzz/fuzz_json_event.c"
#undef LLVMFuzzerTestOneInput

static void replay(int (*one)(const uint8_t *, size_t), const char *data, size_t len)
{
    cr_assert_eq(one((const uint8_t *)data, len), 0);
}

#define REPLAY(one, lit) replay(one, lit, sizeof lit - 1)

/* Found by fuzz_json_event in its first 2,000 runs (2026-12-06): valid JSON
 * read as cloudevents without an envelope is a parse error whose message
 * is the "message" field, not the record, against parser.h's promise; and
 * its reject said "invalid or truncated JSON". Now flagged
 * CR_EV_NO_ENVELOPE, with its own reject reason. */
Test(fuzz_regress, json_without_cloudevents_envelope)
{
    REPLAY(fuzz_json_event_one, "{\"message\":\"tab\\there \\u00e9 \\\"q\\\"\"}");
    REPLAY(fuzz_json_event_one, "{\"message\":\"x\",\"time\":\"2026-03-02T08:00:00Z\"}");
    REPLAY(fuzz_json_event_one, "[1,2,3]");
}
