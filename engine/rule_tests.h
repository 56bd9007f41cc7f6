/*
 * rule_tests.h - `corral test-rules`: fixtures written by rule authors.
 *
 * A fixture file (YAML, every *.yaml of the directory) holds tests; each
 * test is a list of records with virtual timestamps and the incidents they
 * must and must not produce:
 *
 *   tests:
 *     - name: five failures in a minute are a brute force
 *       events:
 *         - at: 0s                      # offset from the test's start
 *           log: "<38>Mar  2 08:00:00 web-01 sshd[1]: Failed password for ..."
 *           repeat: 5                   # optional: 5 copies ...
 *           every: 10s                  # ... 10 s apart
 *         - at: 2h                      # no log: the clock moves (absence deadlines)
 *       expect:                         # each must match one incident produced
 *         - rule: ssh.bruteforce
 *           category: S-ATK-BRUTE
 *           entities: { src_ip: 203.0.113.5 }
 *           event_count: 5              # optional keys: priority, reg_level, reg_category
 *       expect_none:                    # none may match an incident produced
 *         - rule: ssh.login_after_bruteforce
 *       exact: true                     # optional: no incident beyond `expect`
 *
 * `at` sets the event time of the record, whatever its own stamp says, so a
 * fixture reads as a timeline. The records go through the real parser,
 * matcher and correlator, in order, on one thread: the same code as `run`.
 *
 * Output: one line per test ("ok" or "FAIL file:line: name: why"), then
 * "N passed, M failed". Exit 0 if all passed, 1 if any failed, 78 if a
 * fixture or the rules are invalid, 2 on a usage error.
 */
#ifndef CR_RULE_TESTS_H
#define CR_RULE_TESTS_H

int cr_cmd_test_rules(int argc, char **argv);

#endif
