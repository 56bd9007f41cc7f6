/*
 * remote.c - see remote.h.
 */
#include "cli/remote.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

int cr_remote_init(struct cr_remote *r, const char *server, const char *token_file, FILE *err)
{
    r->server = server;
    r->token[0] = 0;
    if (!token_file) {
        fprintf(err,
                "corral: --server needs --token-file FILE (the API token, on its first line)\n");
        return -1;
    }
    FILE *f = fopen(token_file, "r");
    if (!f || !fgets(r->token, sizeof r->token, f)) {
        fprintf(err, "corral: cannot read a token from %s\n", token_file);
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    r->token[strcspn(r->token, "\r\n")] = 0;
    if (!r->token[0]) {
        fprintf(err, "corral: %s: the first line is empty\n", token_file);
        return -1;
    }
    return 0;
}

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
    b[k->len] = 0;
    return m;
}

void cr_remote_param(char *buf, size_t cap, size_t *len, const char *key, const char *value)
{
    char *v = curl_easy_escape(NULL, value, 0);
    *len += (size_t)snprintf(buf + *len, *len < cap ? cap - *len : 0, "%s%s=%s",
                             *len && buf[*len - 1] != '?' ? "&" : "", key, v ? v : "");
    curl_free(v);
}

long cr_remote_call(const struct cr_remote *r, const char *method, const char *path,
                    const char *body, char **out, FILE *err)
{
    *out = NULL;
    CURL *c = curl_easy_init();
    if (!c)
        return -1;
    char url[8192], auth[600];
    snprintf(url, sizeof url, "%s%s", r->server, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", r->token);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    if (body)
        h = curl_slist_append(h, "Content-Type: application/json");
    struct sink k = {NULL, 0};
    char ebuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &k);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
    long status = -1;
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    else
        fprintf(err, "corral: %s: %s\n", url, ebuf[0] ? ebuf : curl_easy_strerror(rc));
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    *out = k.buf;
    return status;
}
