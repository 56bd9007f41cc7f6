/*
 * audit.h - the append-only, hash-chained audit log of the HTTP API.
 *
 * Every request that reaches an endpoint behind a token (a query, an
 * export, an incident read, a move, a level confirmation, a failed
 * authentication, an audit read) appends one line, before the response
 * goes out:
 *
 *   {"seq":N,"at":"RFC 3339","actor":"li.wei","role":"operator",
 *    "action":"transition","target":"4bbd...","detail":"acknowledged",
 *    "result":200,"remote":"127.0.0.1","prev":"<64 hex>","hash":"<64 hex>"}
 *
 * hash = SHA-256(prev || the line's bytes up to, not including,
 * `,"hash":`), prev the hash of the line before (64 zeros for the first).
 * So an edit, a removal or a reordering anywhere breaks the chain from
 * that line on, and `corral audit verify` (cr_audit_verify) names the
 * first line that does not follow. A supervisor who keeps the last hash
 * (the verify output prints it) also sees a truncation.
 *
 * Nobody edits it through the API: there is no endpoint that writes it
 * except by acting. Each line is one write(2) to an O_APPEND descriptor,
 * then fdatasync: a line the API answered for is on disk. A crash between
 * the write and the sync can leave a torn last line; the next open cuts
 * it off (it was never acknowledged) and logs that it did.
 *
 * Threading: cr_audit_append may be called from any thread (a mutex
 * orders the chain); the rest from one thread.
 */
#ifndef CR_AUDIT_H
#define CR_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct cr_audit;

/* Open (creating) the log at path and find the chain's head. A log whose
 * last complete line does not parse is refused (verify it). Returns NULL
 * with the reason in err. *torn_cut (may be NULL) is set to the bytes of a
 * torn last line cut off. */
struct cr_audit *cr_audit_open(const char *path, size_t *torn_cut, char *err, size_t errlen);
void cr_audit_close(struct cr_audit *a);
const char *cr_audit_path(const struct cr_audit *a);

struct cr_audit_entry {
    const char *actor;  /* a token's name, or "-" for a failed authentication */
    const char *role;   /* the token's role, or "-" */
    const char *action; /* query, export, read, transition, ..., auth_failed */
    const char *target; /* an incident id, a path, or "" */
    const char *detail; /* the parameters or the move, or "" */
    int result;         /* the HTTP status answered */
    const char *remote; /* the client's address */
};

/* Append at now_ms. Returns 0, or -1 with the reason in err (the caller
 * answers 500 and does not act: an action that cannot be recorded is not
 * taken). */
int cr_audit_append(struct cr_audit *a, const struct cr_audit_entry *e, int64_t now_ms, char *err,
                    size_t errlen);

/* Check the chain of the log at path. Returns 0 if every line follows,
 * with the number of entries and the last hash; -1 with "line N: reason"
 * in err otherwise (the first line that breaks it). */
int cr_audit_verify(const char *path, uint64_t *entries, char head[65], char *err, size_t errlen);

/* Each entry of the log at path, oldest first, as its line (borrowed for
 * the call; no newline). cb returns non-zero to stop. */
int cr_audit_each(const char *path, int (*cb)(const char *line, size_t len, void *arg), void *arg,
                  char *err, size_t errlen);

#endif
