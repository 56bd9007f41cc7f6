/*
 * bench_split.c - the memchr line-split denominator.
 *
 * Owns: the reference rate every corral throughput number is divided by
 * (performance.md section 8.1 rule 2: "single-core memchr line split, offsets stored").
 * On 2 shared vCPUs absolute rates drift between runs, so run_benchmarks.sh measures this in
 * the same run as the engine and reports ratios.
 *
 * Shape: read the whole file into memory first (I/O is not what is measured), size the
 * offset array with one untimed counting pass, then time N passes of "memchr for '\n', store
 * the line's start offset" and keep the best (least disturbed by the neighbours). A checksum
 * of the stored offsets is printed so the compiler cannot drop the stores.
 *
 * Output: a human line, then one machine line for scripts:
 *   RESULT lines=N bytes=N best_s=S lines_per_s=X mb_per_s=Y
 * MB is 10^6 bytes. A final line without '\n' counts as a line.
 *
 * Self-contained: no corral library code, so it measures only libc's memchr.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "bench_split: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
        if (n == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    int err = ferror(f);
    fclose(f);
    if (!buf || err) {
        fprintf(stderr, "bench_split: reading %s failed\n", path);
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* One timed pass: store each line's start offset; returns the number of lines. */
static size_t split(const char *buf, size_t len, uint64_t *off)
{
    size_t n = 0, pos = 0;
    while (pos < len) {
        off[n++] = pos;
        const char *nl = memchr(buf + pos, '\n', len - pos);
        if (!nl)
            break;
        pos = (size_t)(nl - buf) + 1;
    }
    return n;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    long repeat = 10;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
            char *end;
            repeat = strtol(argv[++i], &end, 10);
            if (*end || repeat < 1) {
                fprintf(stderr, "bench_split: --repeat wants a positive integer\n");
                return 2;
            }
        } else if (!path && argv[i][0] != '-') {
            path = argv[i];
        } else {
            path = NULL;
            break;
        }
    }
    if (!path) {
        fprintf(stderr, "usage: bench_split FILE [--repeat N]\n");
        return 2;
    }
    size_t len;
    char *buf = read_file(path, &len);
    if (!buf)
        return 1;

    /* Untimed: count lines to size the offset array (also faults the buffer in). */
    size_t lines = 0;
    for (const char *p = buf, *end = buf + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        lines++;
        if (!nl)
            break;
        p = nl + 1;
    }
    uint64_t *off = malloc((lines + 1) * sizeof *off);
    if (!off) {
        fprintf(stderr, "bench_split: out of memory\n");
        free(buf);
        return 1;
    }
    memset(off, 0, (lines + 1) * sizeof *off);

    double best = 1e30;
    uint64_t check = 0;
    for (long r = 0; r < repeat; r++) {
        double t0 = now_s();
        size_t n = split(buf, len, off);
        double dt = now_s() - t0;
        if (n != lines) {
            fprintf(stderr, "bench_split: pass %ld saw %zu lines, expected %zu\n", r, n, lines);
            return 1;
        }
        check += off[n ? n - 1 : 0] + off[n / 2];
        if (dt < best)
            best = dt;
    }
    if (best <= 0)
        best = 1e-9;
    double lps = (double)lines / best, mbps = (double)len / best / 1e6;
    printf("bench_split: %s: %zu lines, %zu bytes (mean %.1f B/line), best of %ld: %.4f s, "
           "%.2f M lines/s, %.1f MB/s (checksum %llu)\n",
           path, lines, len, lines ? (double)len / (double)lines : 0.0, repeat, best, lps / 1e6,
           mbps, (unsigned long long)check);
    printf("RESULT lines=%zu bytes=%zu best_s=%.6f lines_per_s=%.0f mb_per_s=%.1f\n", lines, len,
           best, lps, mbps);
    free(off);
    free(buf);
    return 0;
}
