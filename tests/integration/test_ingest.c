/*
 * test_ingest.c - file and stdin ingest through the real binary with tiny
 * batches (4 KiB) and records (1 KiB), so that lines straddle batch
 * boundaries, oversized lines span several reads, and CRLF endings and a
 * missing final newline all occur. Every line must arrive exactly once,
 * intact (it still matches its rule), or be counted as oversized.
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *tmp;
static int nlines, noversized;

static void setup(void)
{
    tmp = cr_test_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/c.yaml", tmp);
    char cfg[8192];
    snprintf(cfg, sizeof cfg,
             "engine: {workers: 2, shards: 2, batch_size: 4KiB, batches: 4, queue_depth: 16}\n"
             "input: {year: 2026, max_record_size: 1KiB}\n"
             "rules: [%s]\n",
             cr_test_source_path("configs/rules"));
    cr_assert_eq(cr_test_write_file(path, cfg, strlen(cfg)), 0);

    /* deterministic line lengths from 40 to ~3000 bytes */
    snprintf(path, sizeof path, "%s/in.log", tmp);
    FILE *f = fopen(path, "wb");
    uint32_t x = 12345;
    nlines = noversized = 0;
    for (int i = 0; i < 3000; i++) {
        x = x * 1103515245u + 12345u;
        int pad = (int)((x >> 8) % 1100);
        if (i % 97 == 0)
            pad = 1500 + (int)((x >> 4) % 1500); /* oversized: 1.5-3 KiB */
        char head[160];
        int h = snprintf(head, sizeof head,
                         "<38>Mar  2 08:%02d:%02d web-01 sshd[1]: Failed password for root from "
                         "10.%d.%d.%d port 22 ssh2 ",
                         (i / 60) % 60, i % 60, i / 65536, (i / 256) % 256, i % 256);
        fwrite(head, 1, (size_t)h, f);
        for (int k = 0; k < pad; k++)
            fputc('a' + k % 26, f);
        nlines++;
        if (h + pad > 1024)
            noversized++;
        if (i == 2999)
            break; /* no final newline */
        fputs(i % 3 == 0 ? "\r\n" : "\n", f);
    }
    fclose(f);
}

static void teardown(void)
{
    cr_test_rmtree(tmp);
    free(tmp);
}

static json_t *run(const char *how)
{
    char cmd[16384];
    if (strcmp(how, "file") == 0)
        snprintf(cmd, sizeof cmd,
                 "'%s' run -c '%s/c.yaml' --input '%s/in.log' --store '%s/s1' --quiet "
                 "--stats-json",
                 CORRAL_BINARY, tmp, tmp, tmp);
    else /* through a pipe: reads come back short */
        snprintf(cmd, sizeof cmd,
                 "cat '%s/in.log' | '%s' run -c '%s/c.yaml' --input - --store '%s/s2' --quiet "
                 "--stats-json",
                 tmp, CORRAL_BINARY, tmp, tmp);
    char *out = NULL;
    int rc = cr_test_run(cmd, &out);
    cr_assert_eq(rc, 0, "%s", cmd);
    json_error_t je;
    json_t *st = json_loads(out, 0, &je);
    cr_assert(st != NULL, "%s", out);
    free(out);
    return st;
}

static void check(json_t *st)
{
    cr_assert_eq(json_integer_value(json_object_get(st, "records")), nlines);
    cr_assert_eq(json_integer_value(json_object_get(st, "oversized")), noversized);
    /* every record arrives once with its head intact, so each still matches
     * its rule: oversized ones keep their first max_record_size bytes */
    cr_assert_eq(json_integer_value(json_object_get(st, "rule_matches")), nlines,
                 "%lld of %d records matched",
                 json_integer_value(json_object_get(st, "rule_matches")), nlines);
    cr_assert_eq(json_integer_value(json_object_get(st, "rejects_kept")), noversized);
    cr_assert_eq(json_integer_value(json_object_get(st, "parse_errors")), 0);
}

Test(ingest, file_with_tiny_batches, .init = setup, .fini = teardown, .timeout = 120)
{
    json_t *st = run("file");
    check(st);
    json_decref(st);
}

Test(ingest, pipe_with_short_reads, .init = setup, .fini = teardown, .timeout = 120)
{
    json_t *st = run("pipe");
    check(st);
    json_decref(st);
}
