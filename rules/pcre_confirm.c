/*
 * pcre_confirm.c - PCRE2 compile, JIT and per-thread matching; see
 * pcre_confirm.h for why every pattern is compiled here, and why without
 * PCRE2_UTF.
 *
 * The match path is the part that matters: pcre2_jit_match when the JIT
 * compiled (it skips the argument checks of pcre2_match), one match data
 * sized for the largest pattern so nothing is allocated per event, and the
 * JIT stack created only after the first PCRE2_ERROR_JIT_STACKLIMIT.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "rules/pcre_confirm.h"

#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int cr_pcre_compile(const char *regex, int caseless, void **code, int *jit, char *msg,
                    size_t msglen, size_t *erroffset)
{
    int errcode;
    PCRE2_SIZE off = 0;
    uint32_t opts = PCRE2_DOTALL | (caseless ? PCRE2_CASELESS : 0);
    pcre2_code *c =
        pcre2_compile((PCRE2_SPTR)regex, PCRE2_ZERO_TERMINATED, opts, &errcode, &off, NULL);
    if (!c) {
        PCRE2_UCHAR buf[256];
        if (pcre2_get_error_message(errcode, buf, sizeof buf) < 0)
            snprintf((char *)buf, sizeof buf, "error %d", errcode);
        snprintf(msg, msglen, "%s", (const char *)buf);
        *erroffset = off;
        return -1;
    }
    /* A JIT failure (no JIT support on this CPU, out of executable memory)
     * is not an error: the interpreter gives the same answers, slower. */
    size_t jitsize = 0;
    *jit = pcre2_jit_compile(c, PCRE2_JIT_COMPLETE) == 0 &&
           pcre2_pattern_info(c, PCRE2_INFO_JITSIZE, &jitsize) == 0 && jitsize > 0;
    *code = c;
    return 0;
}

void cr_pcre_free(void *code) { pcre2_code_free(code); }

int cr_pcre_names(void *code, void (*fn)(void *ctx, const char *name, int group), void *ctx)
{
    uint32_t count = 0, entry = 0, top = 0;
    PCRE2_SPTR table = NULL;
    pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &top);
    pcre2_pattern_info(code, PCRE2_INFO_NAMECOUNT, &count);
    pcre2_pattern_info(code, PCRE2_INFO_NAMEENTRYSIZE, &entry);
    pcre2_pattern_info(code, PCRE2_INFO_NAMETABLE, &table);
    /* Each entry: 2-byte big-endian group number, then the NUL-terminated name. */
    for (uint32_t i = 0; i < count && table; i++) {
        const unsigned char *e = table + (size_t)i * entry;
        fn(ctx, (const char *)e + 2, (e[0] << 8) | e[1]);
    }
    return (int)top;
}

int cr_pcre_thread_init(struct cr_pcre_thread *t, size_t ovector_pairs)
{
    memset(t, 0, sizeof *t);
    t->md = pcre2_match_data_create((uint32_t)(ovector_pairs ? ovector_pairs : 1), NULL);
    t->mctx = pcre2_match_context_create(NULL);
    if (!t->md || !t->mctx) {
        cr_pcre_thread_free(t);
        return -1;
    }
    pcre2_set_match_limit(t->mctx, CR_PCRE_MATCH_LIMIT);
    pcre2_set_depth_limit(t->mctx, CR_PCRE_DEPTH_LIMIT);
    return 0;
}

void cr_pcre_thread_free(struct cr_pcre_thread *t)
{
    pcre2_match_data_free(t->md);
    pcre2_match_context_free(t->mctx);
    pcre2_jit_stack_free(t->jit_stack);
    memset(t, 0, sizeof *t);
}

int cr_pcre_run(struct cr_pcre_thread *t, const struct cr_pattern *p, const char *subject,
                size_t len)
{
    int rc;
    if (p->jit) {
        rc = pcre2_jit_match(p->pcre, (PCRE2_SPTR)subject, len, 0, 0, t->md, t->mctx);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT && !t->jit_stack) {
            /* Deep patterns need more than the default 32 KiB machine
             * stack; give this thread its own and retry once. */
            t->jit_stack = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, NULL);
            if (t->jit_stack) {
                pcre2_jit_stack_assign(t->mctx, NULL, t->jit_stack);
                rc = pcre2_jit_match(p->pcre, (PCRE2_SPTR)subject, len, 0, 0, t->md, t->mctx);
            }
        }
    } else {
        rc = pcre2_match(p->pcre, (PCRE2_SPTR)subject, len, 0, 0, t->md, t->mctx);
    }
    if (rc >= 0)
        return 1; /* rc == 0 means the ovector was too small: still a match */
    return rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

const size_t *cr_pcre_ovector(const struct cr_pcre_thread *t)
{
    return pcre2_get_ovector_pointer(t->md);
}
