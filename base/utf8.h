/*
 * utf8.h - UTF-8 validity, as every layer needs it: parsers flag records
 * that are not UTF-8, the store escapes bytes that are not before they go
 * into JSON, the CloudEvents envelope checks its attributes.
 *
 * Strict (RFC 3629): overlong forms, surrogates and values above U+10FFFF
 * are invalid. Threading: pure functions.
 */
#ifndef CR_UTF8_H
#define CR_UTF8_H

#include <stddef.h>

/* 1 if buf[0..len) is valid UTF-8. Fast path for ASCII. */
int cr_utf8_valid(const char *buf, size_t len);
/* Length (1..4) of the valid UTF-8 sequence at p (at most avail bytes), or
 * 0 if none starts there. Any ASCII byte, NUL included, is a sequence of 1. */
size_t cr_utf8_seq(const unsigned char *p, size_t avail);

#endif
