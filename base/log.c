/*
 * log.c - see log.h. The line is built in a buffer and written with one
 * fputs, so stdio's per-call lock keeps lines whole across threads.
 */
#include "base/log.h"

#include "base/timeparse.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static atomic_int log_json = -1; /* -1: not set; read CORRAL_LOG_FORMAT on first use */

int cr_log_parse_format(const char *s, int *json)
{
    if (s && !strcmp(s, "json"))
        *json = 1;
    else if (s && !strcmp(s, "text"))
        *json = 0;
    else
        return -1;
    return 0;
}

void cr_log_set_json(int json)
{
    int env;
    if (cr_log_parse_format(getenv("CORRAL_LOG_FORMAT"), &env) == 0)
        json = env;
    atomic_store(&log_json, json);
}

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void cr_log_line(enum cr_log_level level, const char *fmt, ...)
{
    if (atomic_load(&log_json) < 0)
        cr_log_set_json(0);
    char msg[2048], when[40], line[4400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n')
        msg[--n] = 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    cr_time_format((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, when, sizeof when);
    const char *lv = level_names[level <= CR_LV_ERROR ? level : CR_LV_ERROR];
    if (!atomic_load(&log_json)) {
        snprintf(line, sizeof line, "%s %-5s %s\n", when, lv, msg);
    } else {
        size_t o = (size_t)snprintf(line, sizeof line,
                                    "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"", when, lv);
        for (const unsigned char *c = (const unsigned char *)msg; *c && o + 8 < sizeof line; c++) {
            if (*c == '"' || *c == '\\') {
                line[o++] = '\\';
                line[o++] = (char)*c;
            } else if (*c < 0x20) {
                o += (size_t)snprintf(line + o, sizeof line - o, "\\u%04x", *c);
            } else {
                line[o++] = (char)*c;
            }
        }
        snprintf(line + o, sizeof line - o, "\"}\n");
    }
    fputs(line, stderr);
}
