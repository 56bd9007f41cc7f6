/*
 * test_log.c - the log lines of base/log.c: text with time and level, JSON
 * on request (config or CORRAL_LOG_FORMAT, which wins), escaping, one whole
 * line per message even from many threads at once.
 */
#include "base/log.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static char path[256];

static void to_file(void)
{
    snprintf(path, sizeof path, "/tmp/corral-log-test-%d.txt", (int)getpid());
    cr_assert_not_null(freopen(path, "w", stderr));
}

static char *lines(void)
{
    fflush(stderr);
    char *t = cr_test_slurp(path, NULL);
    cr_assert_not_null(t);
    return t;
}

static void fin(void) { unlink(path); }

Test(log, text_has_time_and_level, .fini = fin)
{
    unsetenv("CORRAL_LOG_FORMAT");
    to_file();
    cr_log_set_json(0);
    cr_log_line(CR_LV_WARN, "corral run: %d states evicted\n", 3);
    char *t = lines();
    /* 2026-12-08T03:40:00.123Z warn  corral run: 3 states evicted */
    cr_assert_eq(strlen(t), 24 + 1 + 5 + 1 + strlen("corral run: 3 states evicted") + 1, "%s", t);
    cr_assert_eq(t[4], '-');
    cr_assert_eq(t[10], 'T');
    cr_assert_eq(t[23], 'Z');
    cr_assert_str_eq(t + 25, "warn  corral run: 3 states evicted\n");
    free(t);
}

Test(log, json_escapes_and_env_wins, .fini = fin)
{
    to_file();
    cr_log_set_json(1);
    cr_log_line(CR_LV_ERROR, "corral: cannot open \"%s\"\t(%s)", "a\\b", "x");
    setenv("CORRAL_LOG_FORMAT", "text", 1);
    cr_log_set_json(1); /* the config says json; the environment says text */
    cr_log_line(CR_LV_INFO, "plain");
    unsetenv("CORRAL_LOG_FORMAT");
    char *t = lines();
    char *nl = strchr(t, '\n');
    cr_assert_not_null(nl);
    *nl = 0;
    cr_assert(strncmp(t, "{\"time\":\"", 9) == 0, "%s", t);
    cr_assert_not_null(strstr(t, "\",\"level\":\"error\",\"msg\":\"corral: cannot open "
                                 "\\\"a\\\\b\\\"\\u0009(x)\"}"),
                       "%s", t);
    cr_assert_not_null(strstr(nl + 1, " info  plain\n"), "%s", nl + 1);
    cr_assert_eq(cr_log_parse_format("yaml", &(int){0}), -1);
    free(t);
}

static void *spam(void *arg)
{
    for (int i = 0; i < 500; i++)
        cr_log_line(CR_LV_INFO, "thread %ld line %d %s", (long)arg, i,
                    "................................................................");
    return NULL;
}

Test(log, lines_stay_whole_across_threads, .fini = fin)
{
    unsetenv("CORRAL_LOG_FORMAT");
    to_file();
    cr_log_set_json(0);
    pthread_t th[4];
    for (long i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, spam, (void *)i);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    char *t = lines();
    int n = 0;
    for (char *l = strtok(t, "\n"); l; l = strtok(NULL, "\n"), n++)
        cr_assert(strstr(l, " info  thread ") && strstr(l, "................................"
                                                           "................................"),
                  "a torn line: %s", l);
    cr_assert_eq(n, 2000);
    free(t);
}
