/*
 * pcre_confirm.h - PCRE2 side of "Hyperscan first, PCRE2 where it must".
 *
 * Every pattern is compiled with PCRE2 at load time, even the ones
 * Hyperscan handles exactly: it is what checks the syntax (with an offset
 * for the message), what lists the named captures, and what confirms
 * prefiltered hits. JIT is used where it compiles; the interpreter is the
 * fallback.
 *
 * Patterns are compiled WITHOUT PCRE2_UTF: records may hold invalid UTF-8
 * (a truncated multi-byte sequence, Latin-1 from an old device) and matching
 * is on bytes, exactly like the Hyperscan side (no HS_FLAG_UTF8). A rule
 * that needs Unicode classes is out of scope for now.
 *
 * Threading: compiled code is shared read-only. Each matcher thread owns a
 * struct cr_pcre_thread (match data, match context with limits, and a JIT
 * stack created lazily the first time the default 32 KiB one is too small).
 */
#ifndef CR_PCRE_CONFIRM_H
#define CR_PCRE_CONFIRM_H

#include "rules/ruleset.h"

#include <stddef.h>

/* Limits on one match: a pathological pattern costs at most this much and
 * then counts as "no match" (cr_matcher_stats.pcre_errors). */
#define CR_PCRE_MATCH_LIMIT 200000u
#define CR_PCRE_DEPTH_LIMIT 10000u

/* Compile `regex` (DOTALL, plus CASELESS if caseless) into *code (a
 * pcre2_code_8 *) and JIT it; *jit = 1 if JIT succeeded. On a syntax error
 * returns -1, writes PCRE2's message to msg and the offset to *erroffset. */
int cr_pcre_compile(const char *regex, int caseless, void **code, int *jit, char *msg,
                    size_t msglen, size_t *erroffset);
void cr_pcre_free(void *code);

/* Named captures of compiled code: calls fn(ctx, name, group) for each.
 * Returns the highest group number (0 if none). */
int cr_pcre_names(void *code, void (*fn)(void *ctx, const char *name, int group), void *ctx);

struct cr_pcre_thread {
    void *md;        /* pcre2_match_data_8 * */
    void *mctx;      /* pcre2_match_context_8 * */
    void *jit_stack; /* pcre2_jit_stack_8 *, NULL until needed */
};

/* ovector_pairs: the largest capture count + 1 in the ruleset. */
int cr_pcre_thread_init(struct cr_pcre_thread *t, size_t ovector_pairs);
void cr_pcre_thread_free(struct cr_pcre_thread *t);

/* Run a pattern on subject. Returns 1 on a match (offsets in
 * cr_pcre_ovector(t)), 0 on no match, -1 on an error (limit hit). */
int cr_pcre_run(struct cr_pcre_thread *t, const struct cr_pattern *p, const char *subject,
                size_t len);
const size_t *cr_pcre_ovector(const struct cr_pcre_thread *t);

#endif
