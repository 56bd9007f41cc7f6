/*
 * fuzz_config.c - the configuration loader (engine/config/config.c over
 * base/yaml_doc.c and libyaml): every section of corral.yaml, durations,
 * sizes, zones, formats, Kafka topics and properties, path resolution.
 *
 * Each input is the text of one corral.yaml, written to a scratch
 * DIR/corral.yaml and loaded with cr_config_load; then released with
 * cr_config_free (also after a failure: the struct is filled with
 * defaults first). cr_parse_tz also gets the first line of the input.
 *
 * Checked (config.h): 0 or -1; -1 comes with at least one reason in err;
 * an accepted config has paths resolved (its rule paths, store) and counts
 * within their arrays.
 *
 * A finding means a config file can crash `corral run` / `reload` /
 * `test-rules` at start-up, or a leak on an error path.
 */
#include "fuzz_common.h"
#include "engine/config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_file("corral.yaml", data, size);
    struct cr_config c;
    char err[8192];
    err[0] = 0;
    int rc = cr_config_load(path, &c, err, sizeof err);
    FUZZ_ASSERT(rc == 0 || rc == -1);
    if (rc == -1) {
        FUZZ_ASSERT(err[0] != 0);
    } else {
        FUZZ_ASSERT(c.nrule_paths >= 0 && c.nrule_paths <= CR_MAX_RULE_PATHS);
        FUZZ_ASSERT(c.nkafka_topics >= 0 && c.nkafka_topics <= CR_MAX_TOPICS);
        FUZZ_ASSERT(c.nkafka_props >= 0 && c.nkafka_props <= CR_MAX_KAFKA_PROPS);
        for (int i = 0; i < c.nrule_paths; i++)
            FUZZ_ASSERT(c.rule_paths[i] != NULL);
        char *sp = cr_config_path(&c, "x/y");
        FUZZ_ASSERT(sp != NULL);
        free(sp);
    }
    cr_config_free(&c);

    /* a zone spelled as the first line (up to 64 bytes) */
    char tz[65];
    size_t n = 0;
    while (n < size && n < 64 && data[n] != '\n' && data[n] != 0) {
        tz[n] = (char)data[n];
        n++;
    }
    tz[n] = 0;
    int minutes = 0;
    if (cr_parse_tz(tz, &minutes) == 0)
        FUZZ_ASSERT(minutes > -24 * 60 && minutes < 24 * 60);
    return 0;
}
