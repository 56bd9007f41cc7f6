/*
 * test_serve_parts.c - the HTTP server's parts without a socket: the tokens
 * file (the shipped example loads; every mistake is refused with file:line
 * and the reason), the CSV cell that neutralises spreadsheet formulas, and
 * the audit log (a chain that verifies, a torn last line cut at open, an
 * invalid UTF-8 target kept as hex).
 */
#include "engine/grade/lifecycle.h"
#include "engine/serve/audit.h"
#include "engine/serve/tokens.h"
#include "engine/store/csv.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *tmp;
static void setup(void) { tmp = cr_test_tmpdir(); }
static void teardown(void)
{
    cr_test_rmtree(tmp);
    free(tmp);
}
TestSuite(serve_parts, .init = setup, .fini = teardown);

Test(serve_parts, the_example_tokens_file_loads)
{
    char err[1024];
    struct cr_tokens *t =
        cr_tokens_load(cr_test_source_path("configs/tokens.example.yaml"), err, sizeof err);
    cr_assert_not_null(t, "%s", err);
    cr_expect_eq(cr_tokens_count(t), 4);
    cr_tokens_free(t);
}

static void refused(const char *text, const char *line, const char *reason)
{
    char path[4200], err[1024];
    snprintf(path, sizeof path, "%s/tokens.yaml", tmp);
    cr_assert_eq(cr_test_write_file(path, text, strlen(text)), 0);
    struct cr_tokens *t = cr_tokens_load(path, err, sizeof err);
    cr_expect_null(t, "accepted: %s", text);
    cr_tokens_free(t);
    char want[64];
    snprintf(want, sizeof want, "tokens.yaml:%s:", line);
    cr_expect(strstr(err, want), "'%s' not in %s", want, err);
    cr_expect(strstr(err, reason), "'%s' not in %s", reason, err);
}

Test(serve_parts, every_mistake_in_a_tokens_file_is_refused_with_its_line)
{
    refused("tokens:\n  - {name: a, role: operator, token: short}\n", "2", "at least 16");
    refused("tokens:\n  - {name: a, role: boss, token: 0123456789abcdefg}\n", "2", "unknown role");
    refused("tokens:\n  - {name: a, role: operator, token: 0123456789abcdefg}\n"
            "  - {name: a, role: operator, token: 0123456789abcdefh}\n",
            "3", "used twice");
    refused("tokens:\n  - {name: a, role: tenant, token: 0123456789abcdefg}\n", "2",
            "needs `tenants:`");
    refused("tokens:\n  - {name: a, role: operator, tenants: [t-edu], token: 0123456789abcdefg}\n",
            "2", "only a tenant token");
    refused("tokens:\n  - {name: a, role: operator, token: 0123456789abcdefg, sha256: "
            "00}\n",
            "2", "exactly one of");
    refused("tokens:\n  - {name: a, role: operator, sha256: abc}\n", "2", "64 hex digits");
    refused("tokens:\n  - {role: operator, token: 0123456789abcdefg}\n", "2", "a name is required");
    refused("tokens:\n  - {name: a, role: operator, token: 0123456789abcdefg, colour: red}\n", "2",
            "unknown key 'colour'");
    refused("tokens:\n  - {name: a, role: operator, token: 0123456789abcdefg}\n"
            "  - {name: b, role: supervisor, token: 0123456789abcdefg}\n",
            "3", "the same token as a");
    refused("users: []\n", "1", "unknown key 'users'");
}

Test(serve_parts, tokens_are_found_by_their_hash_and_scope_tenants)
{
    char path[4200], err[1024], hex[65];
    cr_tokens_hash_hex("a-long-secret-token-1", 21, hex);
    char text[512];
    snprintf(text, sizeof text,
             "tokens:\n  - {name: ops, role: operator, sha256: %s}\n"
             "  - {name: edu, role: tenant, tenants: [t-edu], token: a-long-secret-token-2}\n",
             hex);
    snprintf(path, sizeof path, "%s/tokens.yaml", tmp);
    cr_assert_eq(cr_test_write_file(path, text, strlen(text)), 0);
    struct cr_tokens *t = cr_tokens_load(path, err, sizeof err);
    cr_assert_not_null(t, "%s", err);
    const struct cr_token *a = cr_tokens_find(t, "a-long-secret-token-1", 21);
    cr_assert_not_null(a);
    cr_expect_str_eq(a->name, "ops");
    cr_expect(cr_token_has_tenant(a, "t-anything"), "an operator is not tenant-scoped");
    const struct cr_token *b = cr_tokens_find(t, "a-long-secret-token-2", 21);
    cr_assert_not_null(b);
    cr_expect_eq(b->role, CR_ROLE_TENANT);
    cr_expect(cr_token_has_tenant(b, "t-edu"));
    cr_expect(!cr_token_has_tenant(b, "t-hr"));
    cr_expect_null(cr_tokens_find(t, "a-long-secret-token-", 20), "a prefix is not the token");
    cr_expect_null(cr_tokens_find(t, "", 0));
    cr_tokens_free(t);
}

static char *cell(const char *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    cr_csv_cell(m, s, 1);
    fclose(m);
    return buf;
}

Test(serve_parts, csv_cells_that_a_spreadsheet_would_run_are_neutralised)
{
    struct {
        const char *in, *out;
    } cases[] = {
        {"=cmd|' /C calc'!A0", "\"'=cmd|' /C calc'!A0\"\r\n"},
        {"+1+1", "\"'+1+1\"\r\n"},
        {"-2+3", "\"'-2+3\"\r\n"},
        {"@SUM(A1:A9)", "\"'@SUM(A1:A9)\"\r\n"},
        {"\t=1", "\"'\t=1\"\r\n"},
        {"\r=1", "\"'\r=1\"\r\n"},
        {"sudo refused a user", "sudo refused a user\r\n"},
        {"a=b", "a=b\r\n"},
        {"say \"hi\", twice", "\"say \"\"hi\"\", twice\"\r\n"},
        {"", "\r\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *got = cell(cases[i].in);
        cr_expect_str_eq(got, cases[i].out, "cell %zu", i);
        free(got);
    }
}

static void append(struct cr_audit *a, const char *action, const char *target)
{
    struct cr_audit_entry e = {"li.wei", "operator", action, target, "", 200, "127.0.0.1"};
    char err[512];
    cr_assert_eq(cr_audit_append(a, &e, 1767225600000LL, err, sizeof err), 0, "%s", err);
}

Test(serve_parts, the_audit_chain_verifies_and_a_torn_tail_is_cut)
{
    char path[4200], err[1024], head[65];
    snprintf(path, sizeof path, "%s/audit.log", tmp);
    size_t cut = 1;
    struct cr_audit *a = cr_audit_open(path, &cut, err, sizeof err);
    cr_assert_not_null(a, "%s", err);
    cr_expect_eq(cut, 0);
    append(a, "query", "incidents");
    append(a, "ack", "4bbdee63a831b0f62a3bc4dfec808b1d");
    append(a, "read", "bad \xff\xfe utf-8");
    cr_audit_close(a);
    uint64_t n = 0;
    cr_assert_eq(cr_audit_verify(path, &n, head, err, sizeof err), 0, "%s", err);
    cr_expect_eq(n, 3);
    char *log = cr_test_slurp(path, NULL);
    cr_expect(strstr(log, "\"target\":\"hex:62616420fffe207574662d38\""), "%s", log);
    free(log);
    /* a crash mid-line */
    FILE *f = fopen(path, "a");
    fputs("{\"seq\":4,\"at\":\"2026-", f);
    fclose(f);
    cr_expect_neq(cr_audit_verify(path, &n, head, err, sizeof err), 0);
    cr_expect(strstr(err, "torn last line"), "%s", err);
    a = cr_audit_open(path, &cut, err, sizeof err);
    cr_assert_not_null(a, "%s", err);
    cr_expect_eq(cut, strlen("{\"seq\":4,\"at\":\"2026-"));
    append(a, "export", "export");
    cr_audit_close(a);
    cr_assert_eq(cr_audit_verify(path, &n, head, err, sizeof err), 0, "%s", err);
    cr_expect_eq(n, 4, "the chain goes on from the last whole line");
}
