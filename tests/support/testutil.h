/*
 * testutil.h - helpers shared by the Criterion test binaries.
 *
 * Paths: tests run from the build tree; CORRAL_SOURCE_DIR (set by CMake)
 * locates the project, and the shared data sets are at
 * CORRAL_SOURCE_DIR/../shared/data. Tests that need them call
 * cr_test_shared_path(), then cr_test_need_shared(): where it is absent the
 * test skips with a clear message, except in CI (CI set in the environment,
 * as CI runs .ci/run), where shared/ is always there and its absence fails.
 */
#ifndef CR_TESTUTIL_H
#define CR_TESTUTIL_H

#include <stddef.h>

/* Absolute path of ../shared/data/<rel>, or NULL if ../shared/data is absent.
 * Returns a static buffer (one per call site is not needed: copy if kept). */
const char *cr_test_shared_path(const char *rel);
/* 1 if running in CI (the environment has CI set, non-empty). */
int cr_test_in_ci(void);
/* After `x = cr_test_shared_path(...)`: x NULL skips the test with the
 * printf-style message, or fails it in CI. Criterion test files only. */
#define cr_test_need_shared(x, ...)                                                                \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            if (cr_test_in_ci())                                                                   \
                cr_assert_fail("required in CI: " __VA_ARGS__);                                    \
            else                                                                                   \
                cr_skip_test(__VA_ARGS__);                                                         \
        }                                                                                          \
    } while (0)
/* Path under the source tree. Static buffer. */
const char *cr_test_source_path(const char *rel);
/* Fresh empty temporary directory; caller frees the string. */
char *cr_test_tmpdir(void);
/* Remove a directory tree (best effort; kept when CORRAL_TEST_KEEP is set). */
void cr_test_rmtree(const char *dir);
/* Read a whole file into a malloc'd NUL-terminated buffer; NULL on error. */
char *cr_test_slurp(const char *path, size_t *len);
/* Write a file; returns 0 or -1. */
int cr_test_write_file(const char *path, const char *data, size_t len);
/* Run a shell command, capture stdout into a malloc'd string (may be NULL),
 * return the exit status (or -1). */
int cr_test_run(const char *cmd, char **out);

/* Append n sshd "Failed password for root from 203.0.113.5" lines (RFC 3164,
 * Mar 2 08:00:00, then every 10 s; ports 40001...) to buf at *len. */
void cr_test_ssh_failures(char *buf, size_t cap, size_t *len, int n);

#endif
