/*
 * checkpoint.c - see checkpoint.h.
 */
#include "engine/store/checkpoint.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void reserve(struct cr_ckpt_buf *b, size_t more)
{
    if (b->len + more <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        abort(); /* losing a checkpoint silently is not an option */
    b->p = p;
    b->cap = cap;
}

static void put_head(struct cr_ckpt_buf *b, int op, const void *key, size_t klen)
{
    b->p[b->len++] = (char)op;
    b->p[b->len++] = (char)(klen >> 8);
    b->p[b->len++] = (char)klen;
    memcpy(b->p + b->len, key, klen);
    b->len += klen;
}

void cr_ckpt_put(struct cr_ckpt_buf *b, const void *key, size_t klen, const void *const *parts,
                 const size_t *lens, int nparts)
{
    size_t vlen = 0;
    for (int i = 0; i < nparts; i++)
        if (parts[i])
            vlen += lens[i];
    reserve(b, 3 + klen + 4 + vlen);
    put_head(b, 1, key, klen);
    for (int i = 0; i < 4; i++)
        b->p[b->len++] = (char)(vlen >> (24 - 8 * i));
    for (int i = 0; i < nparts; i++)
        if (parts[i]) {
            memcpy(b->p + b->len, parts[i], lens[i]);
            b->len += lens[i];
        }
}

void cr_ckpt_del(struct cr_ckpt_buf *b, const void *key, size_t klen)
{
    reserve(b, 3 + klen);
    put_head(b, 2, key, klen);
}

int cr_ckpt_apply(const char *p, size_t len, struct cr_store *s)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t i = 0;
    while (i < len) {
        if (i + 3 > len)
            return CR_STORE_ERR;
        int op = u[i];
        size_t klen = (size_t)u[i + 1] << 8 | u[i + 2];
        i += 3;
        if (i + klen > len)
            return CR_STORE_ERR;
        const char *key = p + i;
        i += klen;
        int rc;
        if (op == 1) {
            if (i + 4 > len)
                return CR_STORE_ERR;
            size_t vlen =
                (size_t)u[i] << 24 | (size_t)u[i + 1] << 16 | (size_t)u[i + 2] << 8 | u[i + 3];
            i += 4;
            if (i + vlen > len)
                return CR_STORE_ERR;
            rc = cr_store_put_state(s, key, klen, p + i, vlen);
            i += vlen;
        } else if (op == 2) {
            rc = cr_store_del_state(s, key, klen);
        } else
            return CR_STORE_ERR;
        if (rc != 0)
            return rc;
    }
    return 0;
}
