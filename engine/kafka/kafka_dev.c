/*
 * kafka_dev.c - the embedded development broker: a librdkafka mock cluster
 * plus an optional loopback TCP forwarder for a fixed bootstrap port.
 *
 * The mock cluster needs a host rd_kafka_t "for internal book keeping"
 * (rdkafka_mock.h); a producer handle with no bootstrap servers is the
 * cheapest one, and it never produces anything.
 *
 * The forwarder is one poll(2) thread, because the traffic it carries is
 * tiny: a client's bootstrap connection sends ApiVersions and Metadata and
 * then moves to the broker address named in the Metadata response (the mock
 * broker's own 127.0.0.1:EPHEMERAL). Each accepted connection gets one
 * upstream connection to the mock broker and two fixed buffers; a direction
 * stops reading while its buffer waits to be written, so a slow reader
 * applies backpressure instead of growing memory. Half-closes are passed on
 * with shutdown(SHUT_WR). A self-pipe wakes the thread for stop.
 */
#include "engine/kafka/kafka_dev.h"
#include "engine/kafka/kafka_produce.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FWD_BUF (64 * 1024)
#define FWD_MAX_CONN 256

/* One forwarded connection. Direction d carries bytes read from fd[d] to
 * fd[1 - d]; buf[d] holds them until written. fd[0] is the client. */
struct fwd_conn {
    int fd[2];
    size_t len[2], off[2];
    int eof[2];  /* fd[d] returned end of file */
    int shut[2]; /* direction d finished: fd[1 - d] was shut down for writing */
    char buf[2][FWD_BUF];
};

struct cr_kafka_dev {
    rd_kafka_t *rk; /* host handle of the mock cluster */
    rd_kafka_mock_cluster_t *mc;
    char bootstrap[256];

    /* forwarder (listen given) */
    int fwd_on;
    int lfd;     /* listening socket */
    int wake[2]; /* self-pipe: a byte on wake[1] stops the thread */
    pthread_t thr;
    struct sockaddr_storage up; /* the mock broker's address */
    socklen_t uplen;
    struct fwd_conn *conns[FWD_MAX_CONN];
    int nconn;
};

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

/* "HOST:PORT" with HOST an IPv4 literal or a bracketed IPv6 literal. Only
 * numeric loopback addresses pass: a host name could resolve to anything,
 * and the mock broker must stay unreachable from other machines. */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sslen, char *err,
                        size_t errlen)
{
    char host[64];
    const char *port;
    if (!s || !*s) {
        seterr(err, errlen, "empty listen address (expected 127.0.0.1:PORT)");
        return -1;
    }
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':' || (size_t)(rb - s - 1) >= sizeof host) {
            seterr(err, errlen, "invalid listen address '%s' (expected [::1]:PORT)", s);
            return -1;
        }
        memcpy(host, s + 1, (size_t)(rb - s - 1));
        host[rb - s - 1] = '\0';
        port = rb + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon || (size_t)(colon - s) >= sizeof host || strchr(s, ':') != colon) {
            seterr(err, errlen, "invalid listen address '%s' (expected 127.0.0.1:PORT)", s);
            return -1;
        }
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
        port = colon + 1;
    }
    char *end;
    errno = 0;
    long p = strtol(port, &end, 10);
    if (!*port || *end || errno || p < 0 || p > 65535) {
        seterr(err, errlen, "invalid port in listen address '%s'", s);
        return -1;
    }
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127) {
            seterr(err, errlen,
                   "refusing to listen on %s: the development broker listens on loopback "
                   "only (127.0.0.0/8 or ::1)",
                   s);
            return -1;
        }
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)p);
        *sslen = sizeof *sin;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        if (memcmp(&sin6->sin6_addr, &in6addr_loopback, sizeof in6addr_loopback) != 0) {
            seterr(err, errlen,
                   "refusing to listen on %s: the development broker listens on loopback "
                   "only (127.0.0.0/8 or ::1)",
                   s);
            return -1;
        }
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)p);
        *sslen = sizeof *sin6;
        return 0;
    }
    seterr(err, errlen,
           "refusing to listen on '%s': give a numeric loopback address (127.0.0.1:PORT or "
           "[::1]:PORT), not a host name",
           s);
    return -1;
}

int cr_kafka_dev_check_listen(const char *listen, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    return parse_listen(listen, &ss, &len, err, errlen);
}

static void format_addr(const struct sockaddr_storage *ss, char *out, size_t outlen)
{
    char host[INET6_ADDRSTRLEN];
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        snprintf(out, outlen, "[%s]:%u", host, (unsigned)ntohs(a->sin6_port));
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        snprintf(out, outlen, "%s:%u", host, (unsigned)ntohs(a->sin_port));
    }
}

/* The mock's bootstrap list is "HOST:PORT[,HOST:PORT...]"; with one broker
 * there is one entry. Resolve it numerically where possible. */
static int resolve_upstream(struct cr_kafka_dev *d, const char *bootstraps, char *err,
                            size_t errlen)
{
    char host[256];
    size_t n = strcspn(bootstraps, ",");
    if (n >= sizeof host) {
        seterr(err, errlen, "mock bootstrap address too long: %s", bootstraps);
        return -1;
    }
    memcpy(host, bootstraps, n);
    host[n] = '\0';
    char *colon = strrchr(host, ':');
    if (!colon) {
        seterr(err, errlen, "unexpected mock bootstrap address '%s'", host);
        return -1;
    }
    *colon = '\0';
    const char *port = colon + 1;
    char *h = host;
    if (h[0] == '[') {
        h++;
        char *rb = strchr(h, ']');
        if (rb)
            *rb = '\0';
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int rc = getaddrinfo(h, port, &hints, &res);
    if (rc != 0 || !res) {
        seterr(err, errlen, "cannot resolve mock broker address %s:%s: %s", h, port,
               gai_strerror(rc));
        return -1;
    }
    memcpy(&d->up, res->ai_addr, res->ai_addrlen);
    d->uplen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static void conn_close(struct cr_kafka_dev *d, int i)
{
    struct fwd_conn *c = d->conns[i];
    close(c->fd[0]);
    close(c->fd[1]);
    free(c);
    d->conns[i] = d->conns[--d->nconn];
}

static void fwd_accept(struct cr_kafka_dev *d)
{
    for (;;) {
        int cfd = accept4(d->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0)
            return; /* EAGAIN, or a connection that died in the backlog */
        if (d->nconn >= FWD_MAX_CONN) {
            close(cfd); /* a bootstrap forwarder never needs this many */
            continue;
        }
        /* The mock broker is in this process on loopback: a blocking connect
         * completes at once (the kernel finishes the handshake). */
        int ufd = socket(d->up.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (ufd < 0 || connect(ufd, (struct sockaddr *)&d->up, d->uplen) != 0) {
            if (ufd >= 0)
                close(ufd);
            close(cfd);
            continue;
        }
        fcntl(ufd, F_SETFL, fcntl(ufd, F_GETFL) | O_NONBLOCK);
        struct fwd_conn *c = calloc(1, sizeof *c);
        if (!c) {
            close(ufd);
            close(cfd);
            continue;
        }
        c->fd[0] = cfd;
        c->fd[1] = ufd;
        d->conns[d->nconn++] = c;
    }
}

/* Move bytes for connection i as poll reported; returns -1 if the pair must
 * be closed (error on either side, or both directions finished). */
static int fwd_serve(struct fwd_conn *c, const short *rev)
{
    for (int s = 0; s < 2; s++) {
        /* write side: fd[s] receives what fd[1 - s] sent */
        int from = 1 - s;
        if ((rev[s] & POLLOUT) && c->len[from] > c->off[from]) {
            ssize_t w = send(c->fd[s], c->buf[from] + c->off[from], c->len[from] - c->off[from],
                             MSG_NOSIGNAL);
            if (w < 0 && errno != EAGAIN && errno != EINTR)
                return -1;
            if (w > 0) {
                c->off[from] += (size_t)w;
                if (c->off[from] == c->len[from])
                    c->off[from] = c->len[from] = 0;
            }
        }
        /* read side: only into an empty buffer, so a slow peer pushes back.
         * (A hangup on a side whose buffer is still full keeps poll waking
         * until the other side drains it: on loopback that is microseconds.) */
        if ((rev[s] & (POLLIN | POLLHUP | POLLERR)) && !c->eof[s] && c->len[s] == 0) {
            ssize_t r = recv(c->fd[s], c->buf[s], FWD_BUF, 0);
            if (r == 0)
                c->eof[s] = 1;
            else if (r < 0 && errno != EAGAIN && errno != EINTR)
                return -1;
            else if (r > 0)
                c->len[s] = (size_t)r;
        }
    }
    for (int s = 0; s < 2; s++) {
        if (c->eof[s] && c->len[s] == 0 && !c->shut[s]) {
            shutdown(c->fd[1 - s], SHUT_WR);
            c->shut[s] = 1;
        }
    }
    return c->shut[0] && c->shut[1] ? -1 : 0;
}

static void *fwd_main(void *arg)
{
    struct cr_kafka_dev *d = arg;
    struct pollfd pfd[2 + 2 * FWD_MAX_CONN];
    for (;;) {
        pfd[0] = (struct pollfd){.fd = d->wake[0], .events = POLLIN};
        pfd[1] = (struct pollfd){.fd = d->lfd, .events = POLLIN};
        int n = 2;
        for (int i = 0; i < d->nconn; i++) {
            struct fwd_conn *c = d->conns[i];
            for (int s = 0; s < 2; s++) {
                short ev = 0;
                if (!c->eof[s] && c->len[s] == 0)
                    ev |= POLLIN;
                if (c->len[1 - s] > c->off[1 - s])
                    ev |= POLLOUT;
                pfd[n++] = (struct pollfd){.fd = c->fd[s], .events = ev};
            }
        }
        if (poll(pfd, (nfds_t)n, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pfd[0].revents)
            break;
        /* serve existing pairs before accepting, so indexes match pfd */
        int nold = d->nconn;
        for (int i = nold - 1; i >= 0; i--) {
            short rev[2] = {pfd[2 + 2 * i].revents, pfd[3 + 2 * i].revents};
            if ((rev[0] | rev[1]) && fwd_serve(d->conns[i], rev) != 0)
                conn_close(d, i); /* moves the last pair to i: already served (i descends) */
        }
        if (pfd[1].revents & POLLIN)
            fwd_accept(d);
    }
    while (d->nconn > 0)
        conn_close(d, d->nconn - 1);
    return NULL;
}

static int fwd_start(struct cr_kafka_dev *d, const char *addr, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (parse_listen(addr, &ss, &sslen, err, errlen) != 0)
        return -1;
    if (resolve_upstream(d, rd_kafka_mock_cluster_bootstraps(d->mc), err, errlen) != 0)
        return -1;
    d->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (d->lfd < 0) {
        seterr(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(d->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(d->lfd, (struct sockaddr *)&ss, sslen) != 0 || listen(d->lfd, 64) != 0) {
        seterr(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
        return -1;
    }
    /* report the bound port, which differs from the request for PORT 0 */
    sslen = sizeof ss;
    getsockname(d->lfd, (struct sockaddr *)&ss, &sslen);
    format_addr(&ss, d->bootstrap, sizeof d->bootstrap);
    if (pipe2(d->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        seterr(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    int rc = pthread_create(&d->thr, NULL, fwd_main, d);
    if (rc != 0) {
        seterr(err, errlen, "cannot start the forwarder thread: %s", strerror(rc));
        return -1;
    }
    d->fwd_on = 1;
    return 0;
}

struct cr_kafka_dev *cr_kafka_dev_start(int partitions, const char *listen,
                                        const char *const *topics, int ntopics, char *err,
                                        size_t errlen)
{
    char errstr[512];
    if (partitions < 1) {
        seterr(err, errlen, "partitions must be at least 1 (got %d)", partitions);
        return NULL;
    }
    /* refuse a bad listen address before creating anything */
    if (listen && cr_kafka_dev_check_listen(listen, err, errlen) != 0)
        return NULL;
    struct cr_kafka_dev *d = calloc(1, sizeof *d);
    if (!d) {
        seterr(err, errlen, "out of memory");
        return NULL;
    }
    d->lfd = d->wake[0] = d->wake[1] = -1;

    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* The host handle never connects anywhere. log_level 4 drops its notice
     * "No `bootstrap.servers` configured" while keeping the mock's warnings. */
    if (rd_kafka_conf_set(conf, "client.id", "corral-kafka-dev", errstr, sizeof errstr) !=
            RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        seterr(err, errlen, "%s", errstr);
        free(d);
        return NULL;
    }
    cr_kafka_conf_set_log(conf);
    d->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr); /* owns conf */
    if (!d->rk) {
        rd_kafka_conf_destroy(conf);
        seterr(err, errlen, "cannot create the mock host handle: %s", errstr);
        free(d);
        return NULL;
    }
    d->mc = rd_kafka_mock_cluster_new(d->rk, 1);
    if (!d->mc) {
        seterr(err, errlen, "cannot create the mock cluster");
        goto fail;
    }
    for (int i = 0; i < ntopics; i++) {
        rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(d->mc, topics[i], partitions, 1);
        if (e) {
            seterr(err, errlen, "cannot create topic '%s': %s", topics[i], rd_kafka_err2str(e));
            goto fail;
        }
    }
    if (listen) {
        if (fwd_start(d, listen, err, errlen) != 0)
            goto fail;
    } else {
        snprintf(d->bootstrap, sizeof d->bootstrap, "%s", rd_kafka_mock_cluster_bootstraps(d->mc));
    }
    return d;
fail:
    cr_kafka_dev_stop(d);
    return NULL;
}

const char *cr_kafka_dev_bootstrap(const struct cr_kafka_dev *d) { return d->bootstrap; }

rd_kafka_mock_cluster_t *cr_kafka_dev_mock(struct cr_kafka_dev *d) { return d->mc; }

void cr_kafka_dev_stop(struct cr_kafka_dev *d)
{
    if (!d)
        return;
    if (d->fwd_on) {
        /* the pipe is empty and non-blocking: this one byte always fits */
        ssize_t w = write(d->wake[1], "x", 1);
        (void)w;
        pthread_join(d->thr, NULL);
    }
    if (d->lfd >= 0)
        close(d->lfd);
    if (d->wake[0] >= 0) {
        close(d->wake[0]);
        close(d->wake[1]);
    }
    /* the cluster before its host handle: it is bookkept by d->rk */
    if (d->mc)
        rd_kafka_mock_cluster_destroy(d->mc);
    if (d->rk)
        rd_kafka_destroy(d->rk);
    free(d);
}
