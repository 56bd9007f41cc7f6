/*
 * fuzz_rules.c - the rule loader (rules/rule_load.c YAML walking,
 * rules/ruleset.c linking and validation, PCRE2 compilation, the Hyperscan
 * database build of rules/hs_db.c, and base/yaml_doc.c underneath).
 *
 * Each input is the text of one rule file, written to a scratch
 * DIR/rules.yaml and loaded with cr_ruleset_load (no Hyperscan cache).
 * A ruleset that loads is then used: a matcher is built from it and runs
 * over a few fixed events (syslog, access log, JSON), and a correlator is
 * made from it and takes every match, so a rule the loader accepted in a
 * shape the engine cannot run shows up here.
 *
 * Checked (ruleset.h): a failed load returns NULL with at least one
 * "file:line: reason" in err.
 *
 * A finding means a rule file (written by an analyst, or a Sigma import)
 * can crash `corral run`, `corral reload` or `corral test-rules`.
 */
#include "fuzz_common.h"
#include "engine/correlate/correlate.h"
#include "engine/pipeline/worker.h"
#include "rules/matcher.h"
#include "rules/ruleset.h"

static const char *const LINES[] = {
    "<38>Mar  2 08:00:01 bastion sshd[4242]: Failed password for root from 203.0.113.7 port "
    "52144 ssh2",
    "<38>1 2026-03-02T08:00:02.120Z web-01 sudo 77 - - alice : TTY=pts/0 ; COMMAND=/bin/sh",
    "198.51.100.9 - bob [02/Mar/2026:12:01:00 +0100] \"GET /../../etc/passwd HTTP/1.1\" 404 150 "
    "\"-\" \"curl/7.88\"",
    "{\"eventSource\":\"iam.amazonaws.com\",\"eventName\":\"CreateUser\",\"eventTime\":"
    "\"2026-03-02T08:00:00Z\",\"userIdentity\":{\"type\":\"Root\"},\"sourceIPAddress\":"
    "\"192.0.2.1\"}",
    "%LINK-3-UPDOWN: Interface GigabitEthernet0/1, changed state to down",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_file("rules.yaml", data, size);
    char err[8192];
    err[0] = 0;
    const char *paths[] = {path};
    struct cr_ruleset *rs = cr_ruleset_load(paths, 1, NULL, err, sizeof err);
    if (!rs) {
        FUZZ_ASSERT(err[0] != 0);
        return 0;
    }
    struct cr_matcher *m = cr_matcher_new(rs);
    FUZZ_ASSERT(m != NULL);
    struct cr_correlator *c = cr_correlator_new(rs, 1000);
    FUZZ_ASSERT(c != NULL);
    static struct cr_parser *p;
    if (!p)
        p = fuzz_parser(CR_FMT_AUTO, NULL, 0);
    uint32_t out[64];
    uint64_t pos = 0;
    for (int round = 0; round < 3; round++) {
        for (size_t l = 0; l < sizeof LINES / sizeof LINES[0]; l++) {
            struct cr_event ev;
            cr_parse(p, LINES[l], strlen(LINES[l]), FUZZ_REFERENCE_MS, &ev);
            int nm = cr_matcher_match(m, &ev, out, 64);
            FUZZ_ASSERT(nm >= 0 && nm <= 64);
            for (int k = 0; k < nm; k++) {
                FUZZ_ASSERT(out[k] < (uint32_t)rs->nrules);
                const struct cr_rule *r = &rs->rules[out[k]];
                for (int rt = 0; rt < r->nroutes && rt < 4; rt++) {
                    struct cr_match mt;
                    memset(&mt, 0, sizeof mt);
                    mt.kind = CR_MSG_MATCH;
                    mt.rule = out[k];
                    mt.route = (uint8_t)rt;
                    int kl = cr_route_key(&ev, &r->routes[rt], mt.key, &mt.value);
                    if (kl < 0)
                        continue;
                    mt.key_len = (uint16_t)kl;
                    mt.time_ms = ev.time_ms + round * 1000;
                    mt.position = pos++;
                    mt.seen_ms = INT64_MIN;
                    mt.raw_len = (uint16_t)(ev.raw.len < CR_MATCH_RAW ? ev.raw.len : CR_MATCH_RAW);
                    memcpy(mt.raw, ev.raw.p, mt.raw_len);
                    cr_correlator_apply(c, &mt);
                }
            }
        }
    }
    cr_correlator_advance(c, FUZZ_REFERENCE_MS + 86400000LL * 30);
    struct cr_version *h = NULL, *t = NULL;
    cr_correlator_flush(c, &h, &t);
    for (struct cr_version *w = h, *nx; w; w = nx) {
        nx = w->next;
        free(w);
    }
    cr_correlator_free(c);
    cr_matcher_free(m);
    cr_ruleset_free(rs);
    return 0;
}
