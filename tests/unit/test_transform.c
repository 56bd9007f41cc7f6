/*
 * test_transform.c - the decoding transforms (rules/transform.c) on the
 * encodings attackers use to hide payloads from a literal match, on values
 * that must come through unchanged, on malformed escapes, and the promise
 * the matcher relies on: no transform ever makes a value longer.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/transform.h"

static const char *run(const char *chain, const char *in)
{
    static char out[4096], tmp[4096];
    uint8_t ops[CR_MAX_XFORMS];
    int n = 0;
    char names[256];
    snprintf(names, sizeof names, "%s", chain);
    for (char *t = strtok(names, ","); t; t = strtok(NULL, ",")) {
        ops[n] = (uint8_t)cr_xform_from_name(t);
        cr_assert_neq(ops[n], 0, "unknown transform %s", t);
        n++;
    }
    size_t len = cr_xform_apply(ops, n, in, strlen(in), out, tmp);
    cr_assert_leq(len, strlen(in));
    out[len] = 0;
    return out;
}

Test(transform, names_round_trip)
{
    for (int x = 1; x < CR_XF__COUNT; x++) {
        cr_assert_eq((int)cr_xform_from_name(cr_xform_name((enum cr_xform)x)), x);
        cr_assert_not_null(strstr(cr_xform_names(), cr_xform_name((enum cr_xform)x)));
    }
    cr_assert_eq(cr_xform_from_name("urldecode"), 0);
    cr_assert_eq(cr_xform_from_name(NULL), 0);
}

Test(transform, url_decode_until_stable)
{
    cr_assert_str_eq(run("url_decode", "%2e%2e%2fetc%2Fpasswd"), "../etc/passwd");
    cr_assert_str_eq(run("url_decode", "%252e%252e%252f"), "../");       /* double */
    cr_assert_str_eq(run("url_decode", "%25252e%25252e%25252f"), "../"); /* triple */
    cr_assert_str_eq(run("url_decode", "1+OR+1%3D1"), "1 OR 1=1");
    cr_assert_str_eq(run("url_decode", "%u0027%u003cscript%u003e"), "'<script>");
    cr_assert_str_eq(run("url_decode", "%u00e9"), "\xc3\xa9");
    /* malformed escapes stay as they are */
    cr_assert_str_eq(run("url_decode", "100%zz"), "100%zz");
    cr_assert_str_eq(run("url_decode", "a%4"), "a%4");
    cr_assert_str_eq(run("url_decode", "%"), "%");
    cr_assert_str_eq(run("url_decode", "%u12"), "%u12");
    /* a literal percent sign, encoded once, decodes once only when stable:
     * %2525 -> %25 -> % (decoding repeats; that is the point) */
    cr_assert_str_eq(run("url_decode", "%2525"), "%");
    cr_assert_str_eq(run("url_decode", "/plain/path?q=1"), "/plain/path?q=1");
}

Test(transform, html_entities)
{
    cr_assert_str_eq(run("html_entity_decode", "&lt;script&gt;alert(1)&lt;/script&gt;"),
                     "<script>alert(1)</script>");
    cr_assert_str_eq(run("html_entity_decode", "&#39;&#x27;&#X27&quot;&amp;&apos;"), "'''\"&'");
    cr_assert_str_eq(run("html_entity_decode", "&#x41;&#66;C"), "ABC");
    cr_assert_str_eq(run("html_entity_decode", "&#233;"), "\xc3\xa9");
    /* not entities: unknown names, NUL, out of range, a bare ampersand */
    cr_assert_str_eq(run("html_entity_decode", "&copy; &#0; &#x110000; a & b &"),
                     "&copy; &#0; &#x110000; a & b &");
    cr_assert_str_eq(run("html_entity_decode", "&lt"), "&lt");
}

Test(transform, lowercase_ascii_only)
{
    cr_assert_str_eq(run("lowercase", "UnIoN SeLeCt \xc3\x89"), "union select \xc3\x89");
}

Test(transform, normalize_path)
{
    cr_assert_str_eq(run("normalize_path", "/a/./b//c/../d"), "/a/b/d");
    cr_assert_str_eq(run("normalize_path", "/etc/./passwd"), "/etc/passwd");
    cr_assert_str_eq(run("normalize_path", "//etc///passwd"), "/etc/passwd");
    cr_assert_str_eq(run("normalize_path", "\\windows\\..\\system32\\cmd.exe"),
                     "/system32/cmd.exe");
    /* a traversal above the start stays visible */
    cr_assert_str_eq(run("normalize_path", "/../../etc/passwd"), "/../../etc/passwd");
    cr_assert_str_eq(run("normalize_path", "/var/www/../../../etc/shadow"), "/../etc/shadow");
    cr_assert_str_eq(run("normalize_path", "a/../../b"), "../b");
    cr_assert_str_eq(run("normalize_path", "/a/b/.."), "/a/");
    cr_assert_str_eq(run("normalize_path", "/a/.."), "/");
    cr_assert_str_eq(run("normalize_path", "/a/b/"), "/a/b/");
    cr_assert_str_eq(run("normalize_path", "/"), "/");
    cr_assert_str_eq(run("normalize_path", ""), "");
    cr_assert_str_eq(run("normalize_path", "/index.html"), "/index.html");
}

Test(transform, whitespace_and_comments)
{
    cr_assert_str_eq(run("compress_whitespace", "union \t\n\r select\xc2\xa0\xc2\xa0"
                                                "from"),
                     "union select from");
    cr_assert_str_eq(run("remove_comments", "union/**/select/*x*/1"), "union select 1");
    /* MySQL runs a versioned comment's text: it stays */
    cr_assert_str_eq(run("remove_comments", "/*!50000union*/+/*!select*/"), " union + select ");
    cr_assert_str_eq(run("remove_comments", "/*!50000union"), " union ");
    cr_assert_str_eq(run("remove_comments", "select 1 /* unterminated"), "select 1  ");
    cr_assert_str_eq(run("remove_comments", "1 -- x"), "1 -- x");
    cr_assert_str_eq(run("remove_comments", "a/b*c"), "a/b*c");
}

Test(transform, chains_apply_in_order)
{
    cr_assert_str_eq(run("url_decode,lowercase", "%55NION%2F%2A%2A%2F%53ELECT"), "union/**/select");
    cr_assert_str_eq(run("url_decode,remove_comments,compress_whitespace,lowercase",
                         "1%27%20UNION/**/%0aSELECT%20password"),
                     "1' union select password");
    cr_assert_str_eq(run("url_decode,html_entity_decode", "%26lt%3Bscript%26gt%3B"), "<script>");
    cr_assert_str_eq(run("url_decode,normalize_path", "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd"),
                     "/../../etc/passwd");
}

/* The matcher sizes its buffers by the input: no transform may grow a
 * value. Random bytes weighted towards the characters the transforms act
 * on, every transform and a long chain, deterministic seed. */
Test(transform, never_longer_than_the_input)
{
    static const char alpha[] = "%&#;/\\.+*-uxX0123456789aAfFzZ \t\xc2\xa0ltgmpquosn";
    char in[300], out[300], tmp[300];
    srand(7);
    uint8_t all[CR_MAX_XFORMS] = {CR_XF_URL_DECODE,      CR_XF_HTML_ENTITY_DECODE,
                                  CR_XF_NORMALIZE_PATH,  CR_XF_COMPRESS_WHITESPACE,
                                  CR_XF_REMOVE_COMMENTS, CR_XF_LOWERCASE};
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = (size_t)(rand() % 300);
        for (size_t i = 0; i < n; i++)
            in[i] = alpha[rand() % (int)(sizeof alpha - 1)];
        for (int x = 1; x < CR_XF__COUNT; x++) {
            uint8_t op = (uint8_t)x;
            cr_assert_leq(cr_xform_apply(&op, 1, in, n, out, tmp), n, "transform %s grew %.*s",
                          cr_xform_name((enum cr_xform)x), (int)n, in);
        }
        cr_assert_leq(cr_xform_apply(all, CR_MAX_XFORMS, in, n, out, tmp), n);
    }
}
