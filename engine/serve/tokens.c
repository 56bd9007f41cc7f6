/*
 * tokens.c - see tokens.h.
 */
#include "engine/serve/tokens.h"

#include "base/yaml_doc.h"
#include "engine/grade/lifecycle.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_TOKEN_LEN 16
#define MAX_TOKENS 4096

struct cr_tokens {
    struct cr_token *v;
    size_t n;
};

static void sha256(const char *text, size_t len, unsigned char md[32])
{
    unsigned int n = 0;
    EVP_Digest(text, len, md, &n, EVP_sha256(), NULL);
}

void cr_tokens_hash_hex(const char *text, size_t len, char out[65])
{
    unsigned char md[32];
    sha256(text, len, md);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

void cr_tokens_free(struct cr_tokens *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        for (int j = 0; j < t->v[i].ntenants; j++)
            free(t->v[i].tenants[j]);
    free(t->v);
    free(t);
}

size_t cr_tokens_count(const struct cr_tokens *t) { return t ? t->n : 0; }

#define BAD(node, ...)                                                                             \
    do {                                                                                           \
        cr_yaml_error(y, (node), err, errlen, __VA_ARGS__);                                        \
        goto fail;                                                                                 \
    } while (0)

struct cr_tokens *cr_tokens_load(const char *path, char *err, size_t errlen)
{
    struct cr_yaml *y = cr_yaml_load(path, err, errlen);
    if (!y)
        return NULL;
    struct cr_tokens *t = calloc(1, sizeof *t);
    yaml_node_t *root = cr_yaml_root(y);
    yaml_node_t *list = root ? cr_yaml_get(y, root, "tokens") : NULL;
    if (!t)
        goto oom;
    if (y->dup_line) {
        char why[160];
        snprintf(err, errlen, "%s:%d: %s", path, y->dup_line,
                 cr_yaml_dup_reason(y, why, sizeof why));
        goto fail;
    }
    if (!root || !cr_yaml_is_map(root))
        BAD(root, "expected a mapping with a `tokens:` list");
    for (int i = 0; i < cr_yaml_map_len(root); i++) {
        yaml_node_t *kn;
        const char *k = cr_yaml_map_key(y, root, i, &kn);
        if (!k || strcmp(k, "tokens") != 0)
            BAD(kn, "unknown key '%s' (expected tokens)", k ? k : "");
    }
    if (!list || !cr_yaml_is_seq(list))
        BAD(list ? list : root, "tokens: expected a list of {name, role, sha256 | token}");
    int n = cr_yaml_seq_len(list);
    if (n > MAX_TOKENS)
        BAD(list, "tokens: %d entries, at most %d", n, MAX_TOKENS);
    t->v = calloc((size_t)(n ? n : 1), sizeof *t->v);
    if (!t->v)
        goto oom;
    for (int i = 0; i < n; i++) {
        yaml_node_t *e = cr_yaml_seq_at(y, list, i);
        struct cr_token *tok = &t->v[t->n];
        if (!cr_yaml_is_map(e))
            BAD(e, "tokens[%d]: expected a mapping {name, role, sha256 | token}", i);
        const char *name = NULL, *secret = NULL, *digest = NULL;
        yaml_node_t *tenants = NULL, *secret_node = NULL;
        tok->role = -1;
        for (int j = 0; j < cr_yaml_map_len(e); j++) {
            yaml_node_t *kn, *v = cr_yaml_map_value(y, e, j);
            const char *k = cr_yaml_map_key(y, e, j, &kn);
            const char *s = cr_yaml_str(v);
            if (k && !strcmp(k, "tenants")) {
                tenants = v;
                continue;
            }
            if (!k || !s || !*s)
                BAD(v, "tokens[%d].%s: expected a non-empty string", i, k ? k : "?");
            if (!strcmp(k, "name"))
                name = s;
            else if (!strcmp(k, "role")) {
                if ((tok->role = cr_role_parse(s)) < 0)
                    BAD(v,
                        "tokens[%d].role: unknown role '%s' (administrator, operator, tenant, "
                        "supervisor)",
                        i, s);
            } else if (!strcmp(k, "token"))
                secret = s, secret_node = v;
            else if (!strcmp(k, "sha256"))
                digest = s, secret_node = v;
            else
                BAD(kn, "tokens[%d]: unknown key '%s' (name, role, tenants, sha256, token)", i, k);
        }
        if (!name)
            BAD(e, "tokens[%d]: a name is required (it is the actor the audit log records)", i);
        if (strlen(name) >= sizeof tok->name)
            BAD(e, "tokens[%d].name: longer than %zu characters", i, sizeof tok->name - 1);
        for (size_t j = 0; j < t->n; j++)
            if (!strcmp(t->v[j].name, name))
                BAD(e, "tokens[%d]: the name '%s' is used twice", i, name);
        snprintf(tok->name, sizeof tok->name, "%s", name);
        if (tok->role < 0)
            BAD(e, "tokens[%d] (%s): a role is required", i, name);
        if (!!secret == !!digest)
            BAD(e, "tokens[%d] (%s): give exactly one of sha256 (preferred) and token", i, name);
        if (secret && strlen(secret) < MIN_TOKEN_LEN)
            BAD(secret_node, "tokens[%d] (%s): a token needs at least %d characters", i, name,
                MIN_TOKEN_LEN);
        if (secret)
            sha256(secret, strlen(secret), tok->digest);
        else {
            int ok = strlen(digest) == 64;
            for (int b = 0; ok && b < 32; b++) {
                int hi = hexval(digest[2 * b]), lo = hexval(digest[2 * b + 1]);
                ok = hi >= 0 && lo >= 0;
                tok->digest[b] = (unsigned char)(hi << 4 | lo);
            }
            if (!ok)
                BAD(secret_node, "tokens[%d] (%s): sha256 is 64 hex digits", i, name);
        }
        if (tenants) {
            if (tok->role != CR_ROLE_TENANT)
                BAD(tenants, "tokens[%d] (%s): only a tenant token has tenants", i, name);
            if (!cr_yaml_is_seq(tenants) || cr_yaml_seq_len(tenants) == 0)
                BAD(tenants, "tokens[%d] (%s): tenants is a non-empty list of tenant ids", i, name);
            if (cr_yaml_seq_len(tenants) > CR_TOKEN_MAX_TENANTS)
                BAD(tenants, "tokens[%d] (%s): at most %d tenants", i, name, CR_TOKEN_MAX_TENANTS);
            for (int j = 0; j < cr_yaml_seq_len(tenants); j++) {
                yaml_node_t *tn = cr_yaml_seq_at(y, tenants, j);
                const char *s = cr_yaml_str(tn);
                if (!s || !*s)
                    BAD(tn, "tokens[%d] (%s): a tenant id is a non-empty string", i, name);
                if (!(tok->tenants[tok->ntenants++] = strdup(s)))
                    goto oom;
            }
        } else if (tok->role == CR_ROLE_TENANT)
            BAD(e, "tokens[%d] (%s): a tenant token needs `tenants:` (the tenant ids it sees)", i,
                name);
        for (size_t j = 0; j < t->n; j++)
            if (!memcmp(t->v[j].digest, tok->digest, 32))
                BAD(secret_node, "tokens[%d] (%s): the same token as %s", i, name, t->v[j].name);
        t->n++;
    }
    cr_yaml_free(y);
    return t;
oom:
    snprintf(err, errlen, "%s: out of memory", path);
fail:
    if (t && t->v && t->n < (size_t)cr_yaml_seq_len(list)) /* the entry being read */
        for (int j = 0; j < t->v[t->n].ntenants; j++)
            free(t->v[t->n].tenants[j]);
    cr_tokens_free(t);
    cr_yaml_free(y);
    return NULL;
}

const struct cr_token *cr_tokens_find(const struct cr_tokens *t, const char *presented, size_t len)
{
    if (!t || !presented || !len)
        return NULL;
    unsigned char md[32];
    sha256(presented, len, md);
    const struct cr_token *hit = NULL;
    for (size_t i = 0; i < t->n; i++) /* no early exit: the time does not depend on which */
        if (CRYPTO_memcmp(md, t->v[i].digest, 32) == 0)
            hit = &t->v[i];
    return hit;
}

int cr_token_has_tenant(const struct cr_token *tok, const char *tenant)
{
    if (tok->role != CR_ROLE_TENANT)
        return 1;
    for (int i = 0; tenant && i < tok->ntenants; i++)
        if (!strcmp(tok->tenants[i], tenant))
            return 1;
    return 0;
}
