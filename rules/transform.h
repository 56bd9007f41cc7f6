/*
 * transform.h - decoding transforms a rule applies to a field before its
 * patterns look at it (`transforms:` in corral's rule language).
 *
 * A (field, transform chain) pair is a derived field of the ruleset
 * (cr_ruleset.derived, named "field|t1|t2"), computed by the matcher once
 * per event that has the source field, before the scans; every rule asking
 * for the same chain on the same field shares it, so it is still one scan
 * per field for all rules. The transforms are pure functions of bytes:
 * none ever makes its output longer than its input, so a buffer of the
 * input's length always holds the result (the matcher relies on this).
 *
 * Thread safety: no state; any thread.
 */
#ifndef CR_TRANSFORM_H
#define CR_TRANSFORM_H

#include <stddef.h>
#include <stdint.h>

#define CR_MAX_XFORMS 6 /* transforms in one chain */

enum cr_xform {
    CR_XF_URL_DECODE = 1,      /* %XX, %uXXXX, '+' -> space; repeated until stable (8 rounds) */
    CR_XF_HTML_ENTITY_DECODE,  /* &lt; &gt; &amp; &quot; &apos; &nbsp; &#N; &#xH; */
    CR_XF_LOWERCASE,           /* ASCII letters */
    CR_XF_NORMALIZE_PATH,      /* '\' -> '/', '//' -> '/', '/./' dropped, 'a/../' resolved
                                * except above the start (a traversal stays visible) */
    CR_XF_COMPRESS_WHITESPACE, /* runs of blanks (space, tab, CR, LF, VT, FF, NBSP) -> one space */
    CR_XF_REMOVE_COMMENTS,     /* C / SQL comments: '/ * ... * /' -> one space (MySQL's versioned
                                * '/ *!NNNNN text * /' -> ' text '); '--' and '#' to the end
                                * are kept (they end a query, they do not hide it) */
    CR_XF__COUNT
};

/* The transform of that name (as in rule files), 0 if none. */
enum cr_xform cr_xform_from_name(const char *name);
const char *cr_xform_name(enum cr_xform x);
/* The names, comma-separated, for error messages. */
const char *cr_xform_names(void);

/* Apply ops[0..nops) in order to in[0..n): the result goes to out, which
 * like tmp must hold n bytes (tmp is scratch). Returns the result's length
 * (<= n). in may not overlap out or tmp. */
size_t cr_xform_apply(const uint8_t *ops, int nops, const char *in, size_t n, char *out, char *tmp);

#endif
