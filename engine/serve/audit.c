/*
 * audit.c - see audit.h. The chain is SHA-256 (OpenSSL's EVP, the library
 * Debian builds librdkafka with); lines are encoded with jansson, whose
 * compact, ordered output is what the hash covers byte for byte.
 */
#include "engine/serve/audit.h"

#include "base/timeparse.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HASH_HEX 64
static const char zero_hash[HASH_HEX + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";
static const char hash_member[] = ",\"hash\":\"";

struct cr_audit {
    pthread_mutex_t mu;
    int fd;
    char path[4096];
    uint64_t seq; /* of the last line */
    char head[HASH_HEX + 1];
};

static void sha256_hex(const char *prev, const char *body, size_t len, char out[HASH_HEX + 1])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_DigestInit_ex(c, EVP_sha256(), NULL);
    EVP_DigestUpdate(c, prev, HASH_HEX);
    EVP_DigestUpdate(c, body, len);
    EVP_DigestFinal_ex(c, md, &n);
    EVP_MD_CTX_free(c);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* A line's parts: the body the hash covers, and the hash it claims. */
static int split_line(const char *line, size_t len, size_t *body, const char **hash)
{
    size_t tail = sizeof hash_member - 1 + HASH_HEX + 2; /* ,"hash":"<64>"} */
    if (len < tail + 2 || memcmp(line + len - tail, hash_member, sizeof hash_member - 1) != 0 ||
        memcmp(line + len - 2, "\"}", 2) != 0)
        return -1;
    *body = len - tail;
    *hash = line + len - tail + sizeof hash_member - 1;
    return 0;
}

/* Walk the file's complete lines; *complete = bytes up to the last '\n'. */
static int walk(const char *path, int (*cb)(const char *, size_t, uint64_t, void *), void *arg,
                size_t *complete, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0, done = 0;
    ssize_t n;
    uint64_t lineno = 0;
    int rc = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] != '\n')
            break; /* torn: not complete */
        done += (size_t)n;
        line[--n] = 0;
        if ((rc = cb(line, (size_t)n, ++lineno, arg)) != 0)
            break;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        rc = -1;
    }
    free(line);
    fclose(f);
    if (complete)
        *complete = done;
    return rc;
}

struct verify {
    uint64_t n;
    char head[HASH_HEX + 1];
    char *err;
    size_t errlen;
    const char *path;
};

static int verify_line(const char *line, size_t len, uint64_t lineno, void *arg)
{
    struct verify *v = arg;
    size_t body;
    const char *claimed;
    if (split_line(line, len, &body, &claimed) != 0) {
        snprintf(v->err, v->errlen, "%s:%llu: not an audit entry (no hash at its end)", v->path,
                 (unsigned long long)lineno);
        return -1;
    }
    json_t *o = json_loadb(line, len, 0, NULL);
    const char *prev = json_string_value(json_object_get(o, "prev"));
    json_int_t seq = json_integer_value(json_object_get(o, "seq"));
    int ok = o && prev && strlen(prev) == HASH_HEX;
    char want[HASH_HEX + 1];
    if (!ok)
        snprintf(v->err, v->errlen, "%s:%llu: not an audit entry (broken JSON or no prev)", v->path,
                 (unsigned long long)lineno);
    else if (strcmp(prev, v->head) != 0)
        snprintf(v->err, v->errlen,
                 "%s:%llu: the chain breaks here: prev is %.12s..., the line before hashes to "
                 "%.12s... (a line was removed, inserted or reordered)",
                 v->path, (unsigned long long)lineno, prev, v->head);
    else if (seq != (json_int_t)(v->n + 1))
        snprintf(v->err, v->errlen, "%s:%llu: seq %lld where %llu was due", v->path,
                 (unsigned long long)lineno, (long long)seq, (unsigned long long)(v->n + 1));
    else if (sha256_hex(v->head, line, body, want), memcmp(want, claimed, HASH_HEX) != 0)
        snprintf(v->err, v->errlen,
                 "%s:%llu: the line was changed: it hashes to %.12s..., not "
                 "the %.12s... it records",
                 v->path, (unsigned long long)lineno, want, claimed);
    else {
        memcpy(v->head, want, sizeof want);
        v->n++;
        json_decref(o);
        return 0;
    }
    json_decref(o);
    return -1;
}

int cr_audit_verify(const char *path, uint64_t *entries, char head[65], char *err, size_t errlen)
{
    struct verify v = {0, "", err, errlen, path};
    memcpy(v.head, zero_hash, sizeof v.head);
    size_t complete = 0;
    if (walk(path, verify_line, &v, &complete, err, errlen) != 0)
        return -1;
    struct stat st;
    if (stat(path, &st) == 0 && (size_t)st.st_size > complete) {
        snprintf(err, errlen, "%s:%llu: a torn last line (%zu bytes without an end)", path,
                 (unsigned long long)v.n + 1, (size_t)st.st_size - complete);
        return -1;
    }
    if (entries)
        *entries = v.n;
    if (head)
        memcpy(head, v.head, HASH_HEX + 1);
    return 0;
}

struct each {
    int (*cb)(const char *, size_t, void *);
    void *arg;
};

static int each_line(const char *line, size_t len, uint64_t lineno, void *arg)
{
    (void)lineno;
    struct each *e = arg;
    return e->cb(line, len, e->arg) ? 1 : 0;
}

int cr_audit_each(const char *path, int (*cb)(const char *line, size_t len, void *arg), void *arg,
                  char *err, size_t errlen)
{
    struct each e = {cb, arg};
    return walk(path, each_line, &e, NULL, err, errlen) < 0 ? -1 : 0;
}

/* The head at open: the last complete line's seq and hash (the chain
 * itself is verify's to check; an open must stay cheap on a long log). */
struct last {
    uint64_t seq;
    char hash[HASH_HEX + 1];
    int bad;
    uint64_t bad_line;
};

static int last_line(const char *line, size_t len, uint64_t lineno, void *arg)
{
    struct last *l = arg;
    size_t body;
    const char *h;
    json_t *o = split_line(line, len, &body, &h) == 0 ? json_loadb(line, len, 0, NULL) : NULL;
    json_int_t seq = json_integer_value(json_object_get(o, "seq"));
    l->bad = !o || seq <= 0;
    l->bad_line = lineno;
    if (!l->bad) {
        l->seq = (uint64_t)seq;
        memcpy(l->hash, h, HASH_HEX);
        l->hash[HASH_HEX] = 0;
    }
    json_decref(o);
    return 0;
}

struct cr_audit *cr_audit_open(const char *path, size_t *torn_cut, char *err, size_t errlen)
{
    if (torn_cut)
        *torn_cut = 0;
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        snprintf(err, errlen, "audit log %s: %s", path, strerror(errno));
        return NULL;
    }
    struct last l = {0, "", 0, 0};
    memcpy(l.hash, zero_hash, sizeof l.hash);
    size_t complete = 0;
    if (walk(path, last_line, &l, &complete, err, errlen) != 0) {
        close(fd);
        return NULL;
    }
    if (l.bad) {
        snprintf(err, errlen,
                 "audit log %s:%llu: the last entry does not parse; run `corral audit verify "
                 "%s` and keep the log as evidence before starting a new one",
                 path, (unsigned long long)l.bad_line, path);
        close(fd);
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && (size_t)st.st_size > complete) {
        if (ftruncate(fd, (off_t)complete) != 0) {
            snprintf(err, errlen, "audit log %s: cutting a torn last line: %s", path,
                     strerror(errno));
            close(fd);
            return NULL;
        }
        if (torn_cut)
            *torn_cut = (size_t)st.st_size - complete;
    }
    struct cr_audit *a = calloc(1, sizeof *a);
    if (!a) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&a->mu, NULL);
    a->fd = fd;
    snprintf(a->path, sizeof a->path, "%s", path);
    a->seq = l.seq;
    memcpy(a->head, l.hash, sizeof a->head);
    return a;
}

void cr_audit_close(struct cr_audit *a)
{
    if (!a)
        return;
    close(a->fd);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

const char *cr_audit_path(const struct cr_audit *a) { return a->path; }

int cr_audit_append(struct cr_audit *a, const struct cr_audit_entry *e, int64_t now_ms, char *err,
                    size_t errlen)
{
    char at[32];
    cr_time_format(now_ms, at, sizeof at);
    pthread_mutex_lock(&a->mu);
    json_t *o = json_object();
    json_object_set_new(o, "seq", json_integer((json_int_t)(a->seq + 1)));
    json_object_set_new(o, "at", json_string(at));
    json_object_set_new(o, "actor", json_string(e->actor ? e->actor : "-"));
    json_object_set_new(o, "role", json_string(e->role ? e->role : "-"));
    json_object_set_new(o, "action", json_string(e->action ? e->action : "?"));
    /* Client-supplied text (a path, parameters) may be any bytes: jansson
     * refuses invalid UTF-8, so such a value is recorded as its hex. */
    const char *vals[2] = {e->target ? e->target : "", e->detail ? e->detail : ""};
    const char *keys[2] = {"target", "detail"};
    for (int i = 0; i < 2; i++) {
        json_t *s = json_string(vals[i]);
        if (!s) {
            size_t n = strlen(vals[i]);
            char *hex = malloc(2 * n + 5);
            if (hex) {
                memcpy(hex, "hex:", 4);
                for (size_t j = 0; j < n; j++)
                    snprintf(hex + 4 + 2 * j, 3, "%02x", (unsigned char)vals[i][j]);
                s = json_string(hex);
                free(hex);
            }
        }
        json_object_set_new(o, keys[i], s ? s : json_string(""));
    }
    json_object_set_new(o, "result", json_integer(e->result));
    json_object_set_new(o, "remote", json_string(e->remote ? e->remote : ""));
    json_object_set_new(o, "prev", json_string(a->head));
    char *body = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    int rc = -1;
    if (!body) {
        snprintf(err, errlen, "audit log %s: cannot encode an entry", a->path);
        goto out;
    }
    size_t blen = strlen(body) - 1; /* without the closing brace */
    char hash[HASH_HEX + 1];
    sha256_hex(a->head, body, blen, hash);
    size_t len = blen + sizeof hash_member - 1 + HASH_HEX + 3;
    char *line = malloc(len + 1);
    if (!line) {
        snprintf(err, errlen, "out of memory");
        free(body);
        goto out;
    }
    snprintf(line, len + 1, "%.*s%s%s\"}\n", (int)blen, body, hash_member, hash);
    free(body);
    off_t before = lseek(a->fd, 0, SEEK_END);
    ssize_t w = write(a->fd, line, len);
    free(line);
    if (w != (ssize_t)len || fdatasync(a->fd) != 0) {
        int saved = errno;
        if (w > 0 && w != (ssize_t)len && before >= 0 && ftruncate(a->fd, before) != 0)
            saved = errno; /* a half line stays: the next open cuts it */
        snprintf(err, errlen, "audit log %s: %s", a->path,
                 w < 0 || w == (ssize_t)len ? strerror(saved) : "short write");
        goto out;
    }
    a->seq++;
    memcpy(a->head, hash, sizeof hash);
    rc = 0;
out:
    pthread_mutex_unlock(&a->mu);
    return rc;
}
