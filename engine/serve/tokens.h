/*
 * tokens.h - who may call the HTTP API: bearer tokens, each with a name, a
 * role (DOMAIN.md's 1-N-1-1: administrator 管理方, operator 服务方, tenant
 * 使用方, supervisor 监理方) and, for a tenant, the tenant ids it speaks for.
 *
 * The file (serve.tokens, --tokens) is YAML:
 *
 *   tokens:
 *     - name: li.wei
 *       role: operator
 *       sha256: 5e88...      # SHA-256 of the token: printf %s TOKEN | sha256sum
 *     - name: edu-portal
 *       role: tenant
 *       tenants: [t-edu]
 *       token: a-long-random-string   # accepted; sha256 keeps it off the disk
 *
 * Every problem is refused with `file:line: reason` (a duplicate name, an
 * unknown role, a tenant token without tenants, a token shorter than 16
 * characters). A presented token is hashed and compared with every entry
 * in constant time.
 *
 * Ownership: cr_tokens_load returns a set the caller frees; entries are
 * borrowed from it. Threading: read-only after load; any thread may look up.
 */
#ifndef CR_TOKENS_H
#define CR_TOKENS_H

#include <stddef.h>

#define CR_TOKEN_MAX_TENANTS 64

struct cr_token {
    char name[64];
    int role; /* enum cr_role (engine/grade/lifecycle.h) */
    char *tenants[CR_TOKEN_MAX_TENANTS];
    int ntenants;
    unsigned char digest[32];
};

struct cr_tokens;

struct cr_tokens *cr_tokens_load(const char *path, char *err, size_t errlen);
void cr_tokens_free(struct cr_tokens *t);
size_t cr_tokens_count(const struct cr_tokens *t);

/* The entry whose token is `presented` (len bytes), or NULL. */
const struct cr_token *cr_tokens_find(const struct cr_tokens *t, const char *presented, size_t len);

/* Does the token speak for tenant id? (Always for a role that is not
 * tenant-scoped.) */
int cr_token_has_tenant(const struct cr_token *tok, const char *tenant);

/* SHA-256 of text as 64 hex digits (for `corral serve --hash-token`). */
void cr_tokens_hash_hex(const char *text, size_t len, char out[65]);

#endif
