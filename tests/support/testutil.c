/*
 * testutil.c - see testutil.h.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CORRAL_SOURCE_DIR
#define CORRAL_SOURCE_DIR "."
#endif

const char *cr_test_shared_path(const char *rel)
{
    static char buf[4096];
    struct stat st;
    snprintf(buf, sizeof buf, "%s/../shared/data", CORRAL_SOURCE_DIR);
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
        return NULL;
    snprintf(buf, sizeof buf, "%s/../shared/data/%s", CORRAL_SOURCE_DIR, rel);
    if (stat(buf, &st) != 0)
        return NULL;
    return buf;
}

int cr_test_in_ci(void)
{
    const char *ci = getenv("CI");
    return ci && *ci;
}

const char *cr_test_source_path(const char *rel)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", CORRAL_SOURCE_DIR, rel);
    return buf;
}

char *cr_test_tmpdir(void)
{
    char tmpl[] = "/tmp/corral-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

void cr_test_rmtree(const char *dir)
{
    char cmd[4200];
    if (!dir || strncmp(dir, "/tmp/corral-test-", 17) != 0)
        return;
    if (getenv("CORRAL_TEST_KEEP")) { /* debugging a failure: look at its files */
        fprintf(stderr, "kept %s\n", dir);
        return;
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        /* best effort */
    }
}

char *cr_test_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    fclose(f);
    if (!buf)
        return NULL;
    buf[n] = 0;
    if (len)
        *len = n;
    return buf;
}

int cr_test_write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, len, f);
    return (fclose(f) == 0 && w == len) ? 0 : -1;
}

int cr_test_run(const char *cmd, char **out)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n, p)) > 0) {
        n += r;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
    }
    buf[n] = 0;
    int st = pclose(p);
    if (out)
        *out = buf;
    else
        free(buf);
    if (st == -1)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void cr_test_ssh_failures(char *buf, size_t cap, size_t *len, int n)
{
    for (int i = 0; i < n && *len < cap; i++)
        *len += (size_t)snprintf(buf + *len, cap - *len,
                                 "<38>Mar  2 08:00:%02d web-01 sshd[1040]: Failed password for "
                                 "root from 203.0.113.5 port %d ssh2\n",
                                 i * 10, 40001 + i);
}
