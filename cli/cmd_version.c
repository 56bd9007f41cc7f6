/*
 * cmd_version.c - `corral version`: corral's version and those of the
 * libraries it runs on, as linked (what a bug report needs).
 */
#include "cli/commands.h"

#include "engine/store/store.h"

#include <hs/hs.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <yaml.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

int cr_cmd_version(int argc, char **argv)
{
    printf("corral %s\n", CORRAL_VERSION);
    printf("hyperscan %s\n", hs_version());
    char pcre[64];
    pcre2_config(PCRE2_CONFIG_VERSION, pcre);
    printf("pcre2 %s\n", pcre);
    printf("librdkafka %s\n", rd_kafka_version_str());
    printf("libyaml %s\n", yaml_get_version_string());
    printf("lmdb %s\n", cr_store_lib_version());
    return 0;
}
