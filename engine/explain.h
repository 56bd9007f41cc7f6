/*
 * explain.h - `corral explain`: one record through the parser and the
 * matcher, said in words (as wazuh-logtest does for Wazuh rules).
 *
 * For a rule author: the fields the parser set (and the JSON paths the
 * rules name that the record has), every rule that matches with the values
 * of the fields it tests, the incident it opens (category, priority, key),
 * and the correlations it feeds with the key their state would be kept
 * under. It runs no correlation state: one record cannot show a window.
 *
 * Threading: command-line code, main thread only.
 */
#ifndef CR_EXPLAIN_H
#define CR_EXPLAIN_H

/* argv[0] is "explain". Exit 0, 2 on a usage error, 78 if the config or the
 * rules are invalid. */
int cr_cmd_explain(int argc, char **argv);

#endif
