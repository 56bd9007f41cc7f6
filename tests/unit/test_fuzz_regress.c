/*
 * test_fuzz_regress.c - every input a fuzz campaign (tests/fuzz,
 * docs/fuzzing.md) found failing, replayed through the same target code in
 * the normal test run, so the fix stays fixed without clang or libFuzzer.
 *
 * Each target's source is compiled in here with its entry point renamed;
 * the invariants it checks (fuzz_common.h) abort on failure, which
 * Criterion reports as a crashed test. The inputs are the minimised
 * artifacts: short text ones as C literals here, binary ones as files under
 * tests/fuzz/regress/<target>/, named after what they found; every file
 * there is replayed, so adding a finding is adding a file.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "testutil.h"

#define LLVMFuzzerTestOneInput fuzz_json_event_one
#include "../fuzz/fuzz_json_event.c"
#undef LLVMFuzzerTestOneInput

#define LLVMFuzzerInitialize fuzz_checkpoint_init
#define LLVMFuzzerTestOneInput fuzz_checkpoint_one
#include "../fuzz/fuzz_checkpoint.c"
#undef LLVMFuzzerInitialize
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

/* Found by a 3,000 s fuzz_json_event campaign (2026-12-07, UBSan): an
 * epoch number too large for any unit (1.7e76) was cast to int64, which is
 * undefined. Now not a time: the record takes the fallback and the flag. */
Test(fuzz_regress, json_epoch_number_past_any_unit)
{
    REPLAY(fuzz_json_event_one, "{\"ts\":1733333333333333333333333333333333333333333333333333333333"
                                "3333333333333333395290900.25,\"hostname\":\"h\",\"msg\":\"x\"}");
}

/* Every file under tests/fuzz/regress/<target>/ through one target; the
 * number replayed must match the number of files (none silently skipped). */
static int replay_dir(const char *target, int (*one)(const uint8_t *, size_t))
{
    char rel[128];
    snprintf(rel, sizeof rel, "tests/fuzz/regress/%s", target);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", cr_test_source_path(rel));
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "%s", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len;
        char *data = cr_test_slurp(path, &len);
        cr_assert_not_null(data, "%s", path);
        fprintf(stderr, "replaying %s/%s (%zu bytes)\n", target, e->d_name, len);
        cr_assert_eq(one((const uint8_t *)data, len), 0, "%s", path);
        free(data);
        n++;
    }
    closedir(d);
    return n;
}

/* Found by a 400 s fuzz_checkpoint campaign (2026-12-06, 111 crashing
 * inputs, four causes), each a forged state a restarting shard would
 * have read from its store:
 *  - new_value-window-past-state, event_count-refs-past-state: an entry
 *    count larger than the rule's state (or a window without its head)
 *    was accepted for windowed layouts, and the window walk read past it
 *    (heap-buffer-overflow in apply_newval, evref_input);
 *  - sequence-start-int64-min: a sequence stage started at INT64_MIN made
 *    `t - start` overflow (signed overflow in apply_seq);
 *  - time-format-int64-min: an incident time near INT64_MIN overflowed the
 *    day arithmetic of cr_time_format.
 * Restore now refuses the first two, and the arithmetic cannot overflow.
 * Then (a 180 s run, 2026-12-08, with value_sum and value_percentile in
 * the rules):
 *  - event_count-ring-time-int64-min: an event_count entry at INT64_MIN
 *    made `newest - oldest` overflow (signed overflow in corr_apply_count). */
Test(fuzz_regress, checkpoint_forged_states)
{
    int argc = 0;
    char **argv = NULL;
    cr_assert_eq(fuzz_checkpoint_init(&argc, &argv), 0);
    cr_assert_eq(replay_dir("checkpoint", fuzz_checkpoint_one), 5);
}
