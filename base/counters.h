/*
 * counters.h - counters described once.
 *
 * Every stats struct of the engine (worker, correlator, reorder buffer,
 * writer, reload) is declared as an X-macro list of its counters, one line
 * each: X(field, "json_name", MERGE). That one list declares the struct's
 * fields, merges the per-thread copies (MERGE: SUM adds them, MAX keeps
 * the largest, for a count every thread makes of the same events) and
 * writes them into `corral run --stats-json`, so a counter that exists is
 * always summed and always printed. The JSON names are a contract
 * (docs/operations.md): scripts read them.
 *
 *   #define CR_FOO_COUNTERS(X) X(hits, "foo_hits", SUM) X(peak, "foo_peak", MAX)
 *   struct cr_foo_stats { CR_FOO_COUNTERS(CR_COUNTER_FIELD) };
 *   CR_COUNTERS_MERGE(CR_FOO_COUNTERS, &total, &one);
 *   CR_COUNTERS_JSON(CR_FOO_COUNTERS, stdout, &total);   (",\"foo_hits\":N,...")
 *
 * Threading: plain data; each thread owns its copy until it is merged.
 */
#ifndef CR_COUNTERS_H
#define CR_COUNTERS_H

#include <stdint.h>
#include <stdio.h>

#define CR_COUNTER_FIELD(field, name, merge) uint64_t field;

#define CR_COUNTER_ONE(field, name, merge) +1
/* How many counters LIST has: a struct declared from its list asserts that
 * it holds nothing else, so a field added beside the list fails to build. */
#define CR_COUNTERS_N(LIST) (0 LIST(CR_COUNTER_ONE))

#define CR_COUNTER_MERGE_SUM(a, b) (a) += (b)
#define CR_COUNTER_MERGE_MAX(a, b) (a) = (b) > (a) ? (b) : (a)
#define CR_COUNTER_MERGE_ONE(field, name, merge) CR_COUNTER_MERGE_##merge(d_->field, s_->field);
/* *dst merged with *src, counter by counter. */
#define CR_COUNTERS_MERGE(LIST, dst, src)                                                          \
    do {                                                                                           \
        __typeof__(dst) d_ = (dst);                                                                \
        __typeof__(src) s_ = (src);                                                                \
        LIST(CR_COUNTER_MERGE_ONE)                                                                 \
    } while (0)

#define CR_COUNTER_JSON_ONE(field, name, merge)                                                    \
    fprintf(f_, ",\"%s\":%llu", name, (unsigned long long)s_->field);
/* Each counter of *st as ,"name":value (members to append to an object). */
#define CR_COUNTERS_JSON(LIST, f, st)                                                              \
    do {                                                                                           \
        FILE *f_ = (f);                                                                            \
        __typeof__(st) s_ = (st);                                                                  \
        LIST(CR_COUNTER_JSON_ONE)                                                                  \
    } while (0)

#endif
