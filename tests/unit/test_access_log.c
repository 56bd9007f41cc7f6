/*
 * test_access_log.c - web access-log lines (NCSA combined) are taken apart
 * into fields, bare or wrapped in syslog; look-alikes are left alone.
 */
#include "parsers/parser.h"
#include "event_assert.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct cr_parser *p;

static void setup(void)
{
    struct cr_parse_opts o = {.format = CR_FMT_AUTO, .year = 2026};
    p = cr_parser_new(&o);
}

static void teardown(void) { cr_parser_free(p); }

TestSuite(access_log, .init = setup, .fini = teardown);

Test(access_log, bare_combined_line)
{
    const char *l = "198.51.100.9 - bob [02/Mar/2026:12:01:00 +0100] \"GET /../../etc/passwd "
                    "HTTP/1.1\" 404 150 \"-\" \"curl/7.88\"";
    struct cr_event ev;
    cr_assert_eq(cr_parse(p, l, strlen(l), 0, &ev), CR_PARSE_OK);
    cr_assert_field(&ev, CR_F_SRC_IP, "198.51.100.9");
    cr_assert_field(&ev, CR_F_USER, "bob");
    cr_assert_field(&ev, CR_F_ACTION, "GET");
    cr_assert_field(&ev, CR_F_OBJECT_ID, "/../../etc/passwd");
    cr_assert_field(&ev, CR_F_PROTOCOL, "HTTP/1.1");
    cr_assert_field(&ev, CR_F_REASON, "404");
    cr_assert_field(&ev, CR_F_OUTCOME, "failure");
    cr_assert_field(&ev, CR_F_USER_AGENT, "curl/7.88");
    cr_assert_field(&ev, CR_F_EVENT_TYPE, "http_request");
    cr_assert_eq(ev.flags & (CR_EV_NO_TIME | CR_EV_HEADERLESS), 0);
    /* 12:01:00 +01:00 = 11:01:00 UTC */
    cr_assert_eq(ev.time_ms, 1772449260000LL, "%lld", (long long)ev.time_ms);
}

Test(access_log, syslog_wrapped_keeps_header_time)
{
    const char *l = "<190>Mar  2 12:00:00 web-01 nginx: 2001:db8::7 - - [02/Mar/2026:11:59:59 "
                    "+0000] \"POST /login HTTP/2.0\" 200 512 \"-\" \"Mozilla/5.0 (X11)\"";
    struct cr_event ev;
    cr_assert_eq(cr_parse(p, l, strlen(l), 0, &ev), CR_PARSE_OK);
    cr_assert_field(&ev, CR_F_HOST, "web-01");
    cr_assert_field(&ev, CR_F_PROGRAM, "nginx");
    cr_assert_field(&ev, CR_F_SRC_IP, "2001:db8::7");
    cr_assert(!cr_event_has(&ev, CR_F_USER), "'-' is no user");
    cr_assert_field(&ev, CR_F_ACTION, "POST");
    cr_assert_field(&ev, CR_F_OUTCOME, "success");
    cr_assert_field(&ev, CR_F_USER_AGENT, "Mozilla/5.0 (X11)");
    cr_assert_eq(ev.time_ms, 1772452800000LL, "the syslog header's time is kept");
}

Test(access_log, malformed_request_line_keeps_what_it_has)
{
    const char *l = "203.0.113.4 - - [02/Mar/2026:12:00:00 +0000] \"\\x16\\x03\\x01\" 400 0";
    struct cr_event ev;
    cr_parse(p, l, strlen(l), 0, &ev);
    cr_assert_field(&ev, CR_F_SRC_IP, "203.0.113.4");
    cr_assert_field(&ev, CR_F_REASON, "400");
    cr_assert(!cr_event_has(&ev, CR_F_OBJECT_ID));
}

Test(access_log, look_alikes_are_not_access_logs)
{
    const char *lines[] = {
        "<38>Mar  2 08:00:00 h app: 10.0.0.1 connected",
        "<38>Mar  2 08:00:00 h app: 10.0.0.1 - - [not a time] \"GET / HTTP/1.1\" 200 1",
        "<38>Mar  2 08:00:00 h app: deadbeef - - [02/Mar/2026:12:00:00 +0000] \"GET /\" 200 1",
        "<38>Mar  2 08:00:00 h app: 1.2.3.4 - - [02/Mar/2026:12:00:00 +0000] unterminated",
        "<38>Mar  2 08:00:00 h app: 1.2.3.4 - - [02/Mar/2026:12:00:00 +0000] \"GET / HTTP",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        struct cr_event ev;
        cr_parse(p, lines[i], strlen(lines[i]), 0, &ev);
        cr_assert(!cr_event_has(&ev, CR_F_SRC_IP), "%s", lines[i]);
        cr_assert(!cr_event_has(&ev, CR_F_OBJECT_ID), "%s", lines[i]);
    }
}

/* Every one of the 10,000 real Apache lines yields client, method, target,
 * status and its own time; prefixes of a line never read past the end. */
Test(access_log, real_apache_log)
{
    const char *path = cr_test_shared_path("elastic-examples-apache-access/apache_access.log");
    cr_test_need_shared(path, "../shared/data/elastic-examples-apache-access absent");
    size_t len;
    char *text = cr_test_slurp(path, &len);
    cr_assert(text != NULL);
    int n = 0, ok = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        struct cr_event ev;
        size_t l = strlen(line);
        cr_parse(p, line, l, 0, &ev);
        n++;
        if (cr_event_has(&ev, CR_F_SRC_IP) && cr_event_has(&ev, CR_F_ACTION) &&
            cr_event_has(&ev, CR_F_REASON) && !(ev.flags & CR_EV_NO_TIME) &&
            ev.time_ms > 1400000000000LL)
            ok++;
        else
            cr_log_warn("not taken apart: %s", line);
        char *copy = malloc(l);
        for (size_t k = 0; k < l; k += 7) {
            memcpy(copy, line, k);
            cr_parse(p, copy, k, 0, &ev);
        }
        free(copy);
    }
    cr_assert_eq(n, 10000);
    cr_assert_eq(ok, n, "%d of %d lines taken apart", ok, n);
    free(text);
}

/* Apache's vhost_combined (other_vhosts_access.log): `%v:%p` first */
Test(access_log, vhost_combined_and_one_digit_day)
{
    const char *l = "www.example.com:443 198.51.100.9 - - [02/Mar/2026:12:01:00 +0000] \"GET "
                    "/a?b=1 HTTP/1.1\" 200 10 \"-\" \"curl/8.0\"";
    struct cr_event ev;
    cr_assert_eq(cr_parse(p, l, strlen(l), 0, &ev), CR_PARSE_OK);
    cr_assert_field(&ev, CR_F_SRC_IP, "198.51.100.9");
    cr_assert_field(&ev, CR_F_OBJECT_ID, "/a?b=1");
    cr_assert_field(&ev, CR_F_USER_AGENT, "curl/8.0");
    l = "10.0.0.8:80 198.51.100.9 - - [02/Mar/2026:12:01:00 +0000] \"GET / HTTP/1.1\" 200 1";
    cr_assert_eq(cr_parse(p, l, strlen(l), 0, &ev), CR_PARSE_OK);
    cr_assert_field(&ev, CR_F_SRC_IP, "198.51.100.9");
    /* a one-digit day, as some hand-written formats print it */
    l = "10.0.0.5 - - [1/Apr/2014:00:00:01 -0500] \"GET / HTTP/1.1\" 403 181 \"-\" \"x\"";
    cr_assert_eq(cr_parse(p, l, strlen(l), 0, &ev), CR_PARSE_OK);
    cr_assert_eq(ev.time_ms, 1396328401000LL, "%lld", (long long)ev.time_ms);
    /* look-alikes: a word and a port before something that is not a client */
    l = "kernel:12 usb 1-1: new device [02/Mar/2026:12:01:00 +0000] \"x\"";
    cr_parse(p, l, strlen(l), 0, &ev);
    cr_assert(!cr_event_has(&ev, CR_F_SRC_IP));
    l = "web:80 - - [02/Mar/2026:12:01:00 +0000] \"GET / HTTP/1.1\" 200 1";
    cr_parse(p, l, strlen(l), 0, &ev);
    cr_assert(!cr_event_has(&ev, CR_F_OBJECT_ID), "a vhost needs a client after it");
    l = "Mar 02 12:01:00 not an access log line at all, just words";
    cr_parse(p, l, strlen(l), 0, &ev);
    cr_assert(!cr_event_has(&ev, CR_F_OBJECT_ID));
}
