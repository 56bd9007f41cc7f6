/*
 * log.h - the lines a running corral writes about itself (run, serve, the
 * Kafka consumer, reloads): one line per message on stderr, with the time
 * and the level, as text or, on request, as JSON for a log shipper.
 *
 *   2026-12-08T03:40:00.123Z info  corral run: serving http://127.0.0.1:8080 ...
 *   {"time":"2026-12-08T03:40:00.123Z","level":"info","msg":"corral run: serving ..."}
 *
 * The format is process-wide: `log.format` in corral.yaml (text or json),
 * or CORRAL_LOG_FORMAT in the environment, which wins (a unit file can set
 * it for every command). Usage errors and the output of one-shot commands
 * (query, check, report) are not log lines and do not come here.
 *
 * Threading: any thread; each line is one write, so lines never interleave.
 */
#ifndef CR_LOG_H
#define CR_LOG_H

enum cr_log_level { CR_LV_DEBUG, CR_LV_INFO, CR_LV_WARN, CR_LV_ERROR };

/* 1: JSON lines; 0: text. CORRAL_LOG_FORMAT=json|text overrides it. */
void cr_log_set_json(int json);
/* "text" or "json" into *json; -1 if neither. */
int cr_log_parse_format(const char *s, int *json);

void cr_log_line(enum cr_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
