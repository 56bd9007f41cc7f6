/*
 * fuzz_common.h - helpers the libFuzzer targets of tests/fuzz share.
 *
 *  - fuzz_tmpfile(): a per-process scratch file (created once, rewritten
 *    each iteration) for the loaders that only take a path;
 *  - fuzz_tmpdir(): a per-process scratch directory (stores, rule files),
 *    on /dev/shm when it exists so LMDB's syncs cost nothing;
 *  - fuzz_check_event(): the invariants parser.h documents for every
 *    cr_parse* result, checked on each parsed record.
 *
 * A failed invariant calls abort(), which libFuzzer reports as a crash
 * with the input that caused it.
 */
#ifndef CR_FUZZ_COMMON_H
#define CR_FUZZ_COMMON_H

#include "base/utf8.h"
#include "base/event.h"
#include "parsers/parser.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FUZZ_ASSERT(cond)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond);      \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A fixed "now" (2026-03-02T08:00:00Z) so year inference is deterministic. */
#define FUZZ_REFERENCE_MS 1772438400000LL

static inline const char *fuzz_tmpdir(void)
{
    static char dir[256];
    if (!dir[0]) {
        struct stat st;
        const char *base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof dir, "%s/corral-fuzz-%d", base, (int)getpid());
        if (mkdir(dir, 0700) != 0 && stat(dir, &st) != 0) {
            perror(dir);
            abort();
        }
    }
    return dir;
}

/* Write data to DIR/name (name keeps its suffix: the rule loader wants
 * .yaml) and return the path. */
static inline const char *fuzz_write_file(const char *name, const uint8_t *data, size_t size)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", fuzz_tmpdir(), name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        abort();
    }
    if (size && fwrite(data, 1, size, f) != size) {
        perror(path);
        abort();
    }
    fclose(f);
    return path;
}

/* Remove DIR/name and DIR at exit (best effort; a crash leaves them). */
static inline void fuzz_rm_rf(const char *path)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0) {
        /* nothing to do: a leftover scratch dir is harmless */
    }
}

static volatile unsigned fuzz_sink;

/* Read every byte of a slice (ASan reports a slice that points outside
 * live memory). */
static inline void fuzz_touch(const char *p, size_t len)
{
    unsigned h = 0;
    for (size_t i = 0; i < len; i++)
        h = h * 31 + (unsigned char)p[i];
    fuzz_sink += h;
}

/* What parser.h promises for any record:
 *  - the result is one of CR_PARSE_OK / FALLBACK / ERROR;
 *  - ev->raw is the record; CR_F_MSG is always filled;
 *  - CR_PARSE_ERROR comes with CR_EV_PARSE_ERROR and msg = the whole record,
 *    except valid JSON without a CloudEvents envelope (CR_EV_NO_ENVELOPE);
 *  - facility is -1 or 0..23, severity -1 or 0..7;
 *  - every present field is a readable slice (into rec or parser buffers). */
static inline void fuzz_check_event(enum cr_parse_result r, const char *rec, size_t len,
                                    const struct cr_event *ev)
{
    FUZZ_ASSERT(r == CR_PARSE_OK || r == CR_PARSE_FALLBACK || r == CR_PARSE_ERROR);
    FUZZ_ASSERT(ev->raw.p == rec && ev->raw.len == len);
    FUZZ_ASSERT(cr_event_has(ev, CR_F_MSG));
    if (r == CR_PARSE_ERROR) {
        FUZZ_ASSERT(ev->flags & CR_EV_PARSE_ERROR);
        if (!(ev->flags & CR_EV_NO_ENVELOPE))
            FUZZ_ASSERT(ev->f[CR_F_MSG].p == rec && ev->f[CR_F_MSG].len == len);
    }
    if (ev->flags & CR_EV_NO_ENVELOPE)
        FUZZ_ASSERT(r == CR_PARSE_ERROR && ev->format != CR_FMT_CLOUDEVENTS);
    FUZZ_ASSERT(ev->facility >= -1 && ev->facility <= 23);
    FUZZ_ASSERT(ev->severity >= -1 && ev->severity <= 7);
    for (unsigned i = 0; i < CR_MAX_FIELDS; i++) {
        if (!cr_event_has(ev, i))
            continue;
        FUZZ_ASSERT(ev->f[i].len == 0 || ev->f[i].p != NULL);
        fuzz_touch(ev->f[i].p, ev->f[i].len);
    }
}

/* Syslog fields (not JSON ones, which may be unescaped into the parser's
 * DOM) are slices of the record itself or of constant names
 * ("cisco", "failure"...); a slice that starts inside the record must also
 * end inside it. */
static inline void fuzz_check_within(const char *rec, size_t len, const struct cr_event *ev)
{
    uintptr_t lo = (uintptr_t)rec, hi = lo + len;
    for (unsigned i = 0; i < CR_MAX_FIELDS; i++) {
        if (!cr_event_has(ev, i) || ev->f[i].len == 0)
            continue;
        uintptr_t p = (uintptr_t)ev->f[i].p;
        if (p >= lo && p < hi)
            FUZZ_ASSERT(p + ev->f[i].len <= hi);
    }
}

/* The byte scan of cr_parse_begin (parser_int.h): CR_EV_NUL exactly when
 * the record holds a NUL, CR_EV_BAD_UTF8 exactly when it is not valid
 * UTF-8. Syslog parsers only slice the record, so nothing else sets them. */
static inline void fuzz_check_byte_flags(const char *rec, size_t len, const struct cr_event *ev)
{
    FUZZ_ASSERT(!!(ev->flags & CR_EV_NUL) == (len && memchr(rec, 0, len) != NULL));
    FUZZ_ASSERT(!!(ev->flags & CR_EV_BAD_UTF8) == !cr_utf8_valid(rec, len));
}

static inline struct cr_parser *fuzz_parser(enum cr_format fmt, const char *const *extra,
                                            unsigned nextra)
{
    struct cr_parse_opts o = {.format = fmt,
                              .tz_offset_min = 0,
                              .year = 0,
                              .reference_ms = FUZZ_REFERENCE_MS,
                              .extra_names = extra,
                              .n_extra_names = nextra};
    struct cr_parser *p = cr_parser_new(&o);
    FUZZ_ASSERT(p != NULL);
    return p;
}

#endif
