/*
 * hs_cache.h - on-disk cache of compiled Hyperscan databases.
 *
 * Compiling (and especially classifying patterns into exact / prefilter,
 * which may take several failed compiles) is the slow part of loading
 * rules: seconds for thousands of patterns, where deserializing takes about
 * a millisecond. So each field database is stored under a key that covers
 * everything its bytes depend on: hs_version(), the host platform
 * (hs_populate_platform), and every pattern's id, flags and expression.
 * The key is the XXH3-128 of those; the file is <dir>/<32 hex>.hsdb.
 *
 * The file also carries the final flags of every pattern, because the
 * classification (HS_FLAG_PREFILTER, HS_FLAG_ALLOWEMPTY) is a result of
 * compiling and must survive a cache hit.
 *
 * File layout (little-endian host order; the key pins the platform anyway):
 *   magic "CRHSDB01" | key[16] | npat u32 | reserved u32 | dblen u64 |
 *   checksum u64 (XXH3-64 of flags and db bytes) | flags[npat] u32 | db bytes
 * A file that is short, has the wrong magic, key or count, fails the
 * checksum or does not deserialize is ignored (a miss) and rewritten.
 * Writes go to a temporary file in the same directory, then rename(), so a
 * reader never sees half a file.
 *
 * Threading: load-time only; concurrent writers of the same key are safe
 * (last rename wins, both contents are equal).
 */
#ifndef CR_HS_CACHE_H
#define CR_HS_CACHE_H

#include <hs/hs.h>
#include <stddef.h>
#include <stdint.h>

struct cr_hs_key {
    uint8_t b[16];
};

/* Key over version, platform and the patterns (ids[i], flags[i], exprs[i]). */
void cr_hs_cache_key(const char *const *exprs, const unsigned *flags, const unsigned *ids,
                     unsigned n, struct cr_hs_key *key);
/* "<dir>/<32 hex>.hsdb" into buf. */
void cr_hs_cache_path(const char *dir, const struct cr_hs_key *key, char *buf, size_t len);

/* Returns 0 and a database (caller frees with hs_free_database) plus the
 * final per-pattern flags in flags_out[npat] on a hit; -1 on any miss. */
int cr_hs_cache_load(const char *dir, const struct cr_hs_key *key, unsigned npat,
                     unsigned *flags_out, hs_database_t **db);
/* Store; creates dir if missing. Returns 0 or -1 (a failed store only costs
 * the next load a compile, so callers may ignore it). */
int cr_hs_cache_store(const char *dir, const struct cr_hs_key *key, unsigned npat,
                      const unsigned *flags, const hs_database_t *db);

#endif
