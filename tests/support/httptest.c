/*
 * httptest.c - see httptest.h.
 */
#include "httptest.h"

#include "testutil.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int cr_test_serve(struct cr_test_server *s, const char *dir, const char *name, const char *fmt, ...)
{
    memset(s, 0, sizeof *s);
    char args[8192], cmd[16384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(s->log, sizeof s->log, "%s/%s.log", dir, name);
    snprintf(cmd, sizeof cmd, "exec %s %s 2>%s", CORRAL_BINARY, args, s->log);
    unlink(s->log);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    s->pid = pid;
    for (int i = 0; i < 3000; i++) {
        char *log = cr_test_slurp(s->log, NULL);
        const char *p = log ? strstr(log, "serving http://127.0.0.1:") : NULL;
        const char *ps = log ? strstr(log, "serving https://127.0.0.1:") : NULL;
        if (p || ps) {
            s->port = atoi(p ? p + strlen("serving http://127.0.0.1:")
                             : ps + strlen("serving https://127.0.0.1:"));
            snprintf(s->url, sizeof s->url, "%s://127.0.0.1:%d", p ? "http" : "https", s->port);
            free(log);
            return 0;
        }
        free(log);
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            s->pid = 0;
            return -1;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return -1;
}

int cr_test_serve_stop(struct cr_test_server *s)
{
    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    int st = 0;
    waitpid(s->pid, &st, 0);
    s->pid = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

const char *cr_test_http_cainfo;

struct sink {
    char *buf;
    size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    struct sink *k = arg;
    size_t m = size * n;
    char *b = realloc(k->buf, k->len + m + 1);
    if (!b)
        return 0;
    memcpy(b + k->len, p, m);
    k->buf = b;
    k->len += m;
    k->buf[k->len] = 0;
    return m;
}

long cr_test_http(const struct cr_test_server *s, const char *method, const char *path,
                  const char *token, const char *body, char **out, char *ctype, size_t cap)
{
    CURL *c = curl_easy_init();
    if (!c)
        return -1;
    char url[8192], auth[1024];
    snprintf(url, sizeof url, "%s%s", s->url, path);
    struct curl_slist *h = NULL;
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    if (body)
        h = curl_slist_append(h, "Content-Type: application/json");
    struct sink k = {NULL, 0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &k);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    if (cr_test_http_cainfo) {
        curl_easy_setopt(c, CURLOPT_CAINFO, cr_test_http_cainfo);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L); /* a test certificate for 127.0.0.1 */
    }
    long code = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (ctype && cap) {
        char *ct = NULL;
        curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
        snprintf(ctype, cap, "%s", ct ? ct : "");
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (out)
        *out = k.buf ? k.buf : strdup("");
    else
        free(k.buf);
    return code;
}
