/*
 * kafka_produce.c - `corral produce`: lines of a file to records of a topic.
 *
 * Shape: getline() per line, rd_kafka_producev() with RD_KAFKA_MSG_F_COPY
 * (the line buffer is reused at once), and rd_kafka_poll(rk, 0) after each
 * record so delivery reports are served as we go rather than piling up.
 * QUEUE_FULL is answered with a blocking poll and a retry of the same line:
 * the reader slows to the broker's pace and nothing is dropped. At the end
 * rd_kafka_flush() runs until the queue is empty; it is bounded by
 * message.timeout.ms, after which undeliverable records come back as failed
 * delivery reports and are counted.
 *
 * Keys are slices of the line (no copy); see cr_produce_key_of in the header
 * for the exact rules. They are deliberately lexical, not a syslog parse:
 * placement must be cheap and must not depend on parser configuration.
 */
#include "engine/kafka/kafka_produce.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int cr_produce_key_parse(const char *s, enum cr_produce_key *key)
{
    if (strcmp(s, "none") == 0)
        *key = CR_KEY_NONE;
    else if (strcmp(s, "host") == 0)
        *key = CR_KEY_HOST;
    else if (strcmp(s, "src_ip") == 0)
        *key = CR_KEY_SRC_IP;
    else
        return -1;
    return 0;
}

/* ---- keys ---- */

static int is_word(char c) { return isalnum((unsigned char)c) || c == '_'; }

static int is_ipchar(char c) { return isxdigit((unsigned char)c) || c == ':' || c == '.'; }

static int parse_ip(const char *s, size_t n, int family)
{
    char buf[INET6_ADDRSTRLEN + 1];
    unsigned char addr[16];
    if (n == 0 || n >= sizeof buf)
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return inet_pton(family, buf, addr) == 1;
}

static int key_src_ip(const char *p, size_t len, const char **key, size_t *keylen)
{
    size_t i = 0;
    while (i < len) {
        if (!is_ipchar(p[i])) {
            i++;
            continue;
        }
        size_t start = i;
        while (i < len && is_ipchar(p[i]))
            i++;
        /* a run glued to a word ("Failed", "0x1f") is not an address */
        if ((start > 0 && is_word(p[start - 1])) || (i < len && is_word(p[i])))
            continue;
        size_t n = i - start;
        /* sentence punctuation after an address: "from 10.0.0.1." */
        while (n > 0 && (p[start + n - 1] == '.' || p[start + n - 1] == ':'))
            n--;
        if (memchr(p + start, '.', n) && parse_ip(p + start, n, AF_INET))
            goto found;
        if (memchr(p + start, ':', n) && parse_ip(p + start, n, AF_INET6))
            goto found;
        /* IPv4 with a port: "10.0.0.1:22" */
        const char *colon = memchr(p + start, ':', n);
        if (colon && memchr(p + start, '.', (size_t)(colon - (p + start))) &&
            parse_ip(p + start, (size_t)(colon - (p + start)), AF_INET)) {
            n = (size_t)(colon - (p + start));
            goto found;
        }
        continue;
    found:
        *key = p + start;
        *keylen = n;
        return 0;
    }
    return -1;
}

/* Length of the space-free token at p (stopping at len). */
static size_t token(const char *p, size_t len)
{
    size_t n = 0;
    while (n < len && p[n] != ' ')
        n++;
    return n;
}

static int key_host(const char *p, size_t len, const char **key, size_t *keylen)
{
    size_t i = 0;
    while (i < len && (p[i] == ' ' || p[i] == '\t'))
        i++;
    if (i < len && p[i] == '{')
        return -1; /* JSON event: its host lives in a field, not at a position */
    if (i < len && p[i] == '<') {
        size_t j = i + 1;
        while (j < len && j < i + 5 && isdigit((unsigned char)p[j]))
            j++;
        if (j == i + 1 || j >= len || p[j] != '>')
            return -1;
        i = j + 1;
        /* RFC 5424: VERSION SP TIMESTAMP SP HOSTNAME */
        if (i + 1 < len && isdigit((unsigned char)p[i]) &&
            (p[i + 1] == ' ' ||
             (i + 2 < len && isdigit((unsigned char)p[i + 1]) && p[i + 2] == ' '))) {
            i += token(p + i, len - i) + 1; /* version */
            if (i >= len)
                return -1;
            i += token(p + i, len - i) + 1; /* timestamp */
            if (i >= len)
                return -1;
            size_t n = token(p + i, len - i);
            if (n == 0 || (n == 1 && p[i] == '-'))
                return -1;
            *key = p + i;
            *keylen = n;
            return 0;
        }
    }
    /* RFC 3164: "Mmm dd hh:mm:ss HOST" (day space-padded: "Mar  2") */
    if (i + 15 < len && isalpha((unsigned char)p[i]) && isalpha((unsigned char)p[i + 1]) &&
        isalpha((unsigned char)p[i + 2]) && p[i + 3] == ' ' &&
        (p[i + 4] == ' ' || isdigit((unsigned char)p[i + 4])) && isdigit((unsigned char)p[i + 5]) &&
        p[i + 6] == ' ' && p[i + 9] == ':' && p[i + 12] == ':' && p[i + 15] == ' ') {
        i += 16;
    } else if (i + 10 < len && isdigit((unsigned char)p[i]) && p[i + 4] == '-' && p[i + 7] == '-' &&
               p[i + 10] == 'T') {
        /* ISO timestamp in a BSD header (rsyslog's RSYSLOG_FileFormat) */
        i += token(p + i, len - i) + 1;
    } else {
        return -1;
    }
    if (i >= len)
        return -1;
    size_t n = token(p + i, len - i);
    /* "Mmm dd hh:mm:ss sshd[1]: ..." has no HOST: a tag is not a host name */
    if (n == 0 || p[i + n - 1] == ':')
        return -1;
    *key = p + i;
    *keylen = n;
    return 0;
}

int cr_produce_key_of(enum cr_produce_key policy, const char *line, size_t len, const char **key,
                      size_t *keylen)
{
    switch (policy) {
    case CR_KEY_HOST:
        return key_host(line, len, key, keylen);
    case CR_KEY_SRC_IP:
        return key_src_ip(line, len, key, keylen);
    case CR_KEY_NONE:
    default:
        return -1;
    }
}

/* ---- producing ---- */

static void log_line(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    static const char *const names[8] = {"emerg",   "alert",  "crit", "error",
                                         "warning", "notice", "info", "debug"};
    (void)rk;
    fprintf(stderr, "corral: kafka: %s %s: %s\n", level >= 0 && level < 8 ? names[level] : "log",
            fac, buf);
}

void cr_kafka_conf_set_log(rd_kafka_conf_t *conf) { rd_kafka_conf_set_log_cb(conf, log_line); }

/* How long `corral produce` waits for the brokers to answer at all before
 * it gives up (a dead or wrong address must not hang it), and the default
 * bound on one record's delivery (-X message.timeout.ms overrides it). */
#define PRODUCE_CONNECT_MS 10000
#define PRODUCE_MESSAGE_TIMEOUT "30000"

int cr_kafka_conf_set_props(rd_kafka_conf_t *conf, const char *const *props, char *err,
                            size_t errlen)
{
    char errstr[512];
    for (size_t i = 0; props && props[i]; i++) {
        const char *eq = strchr(props[i], '=');
        if (!eq || eq == props[i]) {
            seterr(err, errlen, "property '%s': expected key=value", props[i]);
            return -1;
        }
        char name[256];
        size_t n = (size_t)(eq - props[i]);
        if (n >= sizeof name) {
            seterr(err, errlen, "property name too long: %.40s...", props[i]);
            return -1;
        }
        memcpy(name, props[i], n);
        name[n] = '\0';
        if (rd_kafka_conf_set(conf, name, eq + 1, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
            seterr(err, errlen, "property '%s': %s", name, errstr);
            return -1;
        }
    }
    return 0;
}

struct dr_state {
    uint64_t delivered, failed;
    rd_kafka_resp_err_t first;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct dr_state *st = opaque;
    if (m->err) {
        if (!st->failed)
            st->first = m->err;
        st->failed++;
    } else {
        st->delivered++;
    }
}

static int set(rd_kafka_conf_t *conf, const char *k, const char *v, char *err, size_t errlen)
{
    char errstr[512];
    if (rd_kafka_conf_set(conf, k, v, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        seterr(err, errlen, "property '%s': %s", k, errstr);
        return -1;
    }
    return 0;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* --rate: record i is not produced before start + i / rate. The wait is
 * spent in rd_kafka_poll, which serves delivery reports meanwhile. */
static void pace(rd_kafka_t *rk, double rate, int64_t start_us, uint64_t i)
{
    if (rate <= 0)
        return;
    int64_t due = start_us + (int64_t)((double)i * 1e6 / rate);
    for (int64_t t = now_us(); t < due; t = now_us()) {
        int64_t ms = (due - t) / 1000;
        if (ms <= 0) {
            struct timespec ts = {0, (long)(due - t) * 1000};
            nanosleep(&ts, NULL);
            break;
        }
        rd_kafka_poll(rk, (int)(ms > 100 ? 100 : ms));
    }
}

int cr_kafka_produce_file(const char *brokers, const char *topic, const char *path,
                          enum cr_produce_key key, const char *const *props, uint64_t *produced,
                          char *err, size_t errlen)
{
    return cr_kafka_produce_file_at(brokers, topic, path, key, props, 0, produced, err, errlen);
}

int cr_kafka_produce_file_at(const char *brokers, const char *topic, const char *path,
                             enum cr_produce_key key, const char *const *props, double rate,
                             uint64_t *produced, char *err, size_t errlen)
{
    struct dr_state st = {0, 0, RD_KAFKA_RESP_ERR_NO_ERROR};
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_t *rkt = NULL;
    FILE *f = NULL;
    char *line = NULL;
    size_t cap = 0;
    uint64_t enqueued = 0, rejected = 0;
    rd_kafka_resp_err_t reject_err = RD_KAFKA_RESP_ERR_NO_ERROR;
    int rc = -1;
    char errstr[512];

    if (produced)
        *produced = 0;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (set(conf, "bootstrap.servers", brokers, err, errlen) ||
        set(conf, "enable.idempotence", "true", err, errlen) ||
        set(conf, "linger.ms", "20", err, errlen) ||
        set(conf, "compression.type", "lz4", err, errlen) ||
        set(conf, "message.timeout.ms", PRODUCE_MESSAGE_TIMEOUT, err, errlen) ||
        cr_kafka_conf_set_props(conf, props, err, errlen)) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    cr_kafka_conf_set_log(conf);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, &st);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr); /* owns conf */
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        seterr(err, errlen, "cannot create producer: %s", errstr);
        return -1;
    }
    rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (!rkt) {
        seterr(err, errlen, "topic '%s': %s", topic, rd_kafka_err2str(rd_kafka_last_error()));
        goto out;
    }

    /* the brokers answer, or we say so now instead of queueing into the void */
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t me = rd_kafka_metadata(rk, 0, rkt, &md, PRODUCE_CONNECT_MS);
    if (me != RD_KAFKA_RESP_ERR_NO_ERROR) {
        seterr(err, errlen, "cannot reach the brokers at %s within %d s: %s", brokers,
               PRODUCE_CONNECT_MS / 1000, rd_kafka_err2str(me));
        goto out;
    }
    rd_kafka_metadata_destroy(md);

    f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        seterr(err, errlen, "cannot open %s: %s", path, strerror(errno));
        goto out;
    }
    ssize_t n;
    int fatal = 0;
    int64_t start_us = now_us();
    uint64_t nread = 0;
    while (!fatal && (n = getline(&line, &cap, f)) >= 0) {
        pace(rk, rate, start_us, nread++);
        size_t len = (size_t)n;
        if (len && line[len - 1] == '\n')
            len--;
        if (len && line[len - 1] == '\r')
            len--;
        const char *k = NULL;
        size_t klen = 0;
        if (cr_produce_key_of(key, line, len, &k, &klen) != 0)
            k = NULL, klen = 0;
        for (;;) {
            rd_kafka_resp_err_t e = rd_kafka_producev(
                rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_VALUE(line, len), RD_KAFKA_V_KEY(k, klen),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
                enqueued++;
                break;
            }
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(rk, 100); /* backpressure: wait for deliveries, retry */
                continue;
            }
            /* refused before queueing (too large, fatal idempotence state):
             * it can never be delivered, so it counts as a failed delivery */
            if (!rejected)
                reject_err = e;
            rejected++;
            fatal = e == RD_KAFKA_RESP_ERR__FATAL;
            break;
        }
        rd_kafka_poll(rk, 0);
    }
    int read_errno = ferror(f) ? errno : 0;
    /* every queued record gets a report: flush returns once the queue is empty
     * (message.timeout.ms bounds it: expired records report as failed) */
    while (rd_kafka_flush(rk, 1000) == RD_KAFKA_RESP_ERR__TIMED_OUT)
        ;
    if (produced)
        *produced = st.delivered;
    if (read_errno) {
        /* reported after the flush: what was read is still delivered */
        seterr(err, errlen, "read error on %s: %s", path, strerror(read_errno));
        goto out;
    }
    if (st.failed || rejected) {
        char fe[256] = "";
        if (rd_kafka_fatal_error(rk, fe, sizeof fe) == RD_KAFKA_RESP_ERR_NO_ERROR)
            snprintf(fe, sizeof fe, "%s", rd_kafka_err2str(st.failed ? st.first : reject_err));
        seterr(err, errlen, "%llu of %llu records not delivered to %s (first error: %s)",
               (unsigned long long)(st.failed + rejected),
               (unsigned long long)(enqueued + rejected), topic, fe);
        goto out;
    }
    if (st.delivered != enqueued) {
        /* cannot happen with a drained queue; checked so a silent loss cannot pass */
        seterr(err, errlen, "%llu records queued but %llu delivered", (unsigned long long)enqueued,
               (unsigned long long)st.delivered);
        goto out;
    }
    rc = 0;
out:
    free(line);
    if (f && f != stdin)
        fclose(f);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return rc;
}
