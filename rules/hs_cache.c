/*
 * hs_cache.c - see hs_cache.h for the key, the file layout and why the
 * per-pattern flags travel with the database.
 */
#include "rules/hs_cache.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define CR_HS_MAGIC "CRHSDB01"

struct cache_header {
    char magic[8];
    uint8_t key[16];
    uint32_t npat;
    uint32_t reserved;
    uint64_t dblen;
    uint64_t checksum;
};

void cr_hs_cache_key(const char *const *exprs, const unsigned *flags, const unsigned *ids,
                     unsigned n, struct cr_hs_key *key)
{
    XXH3_state_t *st = XXH3_createState();
    XXH3_128bits_reset(st);
    const char *ver = hs_version();
    XXH3_128bits_update(st, ver, strlen(ver) + 1);
    hs_platform_info_t plat;
    memset(&plat, 0, sizeof plat);
    hs_populate_platform(&plat);
    uint64_t pv[3] = {plat.tune, plat.cpu_features, 0};
    XXH3_128bits_update(st, pv, sizeof pv);
    XXH3_128bits_update(st, &n, sizeof n);
    for (unsigned i = 0; i < n; i++) {
        uint32_t hdr[3] = {ids[i], flags[i], (uint32_t)strlen(exprs[i])};
        XXH3_128bits_update(st, hdr, sizeof hdr);
        XXH3_128bits_update(st, exprs[i], hdr[2]);
    }
    XXH128_hash_t h = XXH3_128bits_digest(st);
    XXH3_freeState(st);
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, h);
    memcpy(key->b, c.digest, 16);
}

void cr_hs_cache_path(const char *dir, const struct cr_hs_key *key, char *buf, size_t len)
{
    char hex[33];
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", key->b[i]);
    snprintf(buf, len, "%s/%s.hsdb", dir, hex);
}

static uint64_t payload_checksum(const unsigned *flags, unsigned npat, const char *db, size_t len)
{
    XXH3_state_t *st = XXH3_createState();
    XXH3_64bits_reset(st);
    XXH3_64bits_update(st, flags, (size_t)npat * sizeof *flags);
    XXH3_64bits_update(st, db, len);
    uint64_t h = XXH3_64bits_digest(st);
    XXH3_freeState(st);
    return h;
}

int cr_hs_cache_load(const char *dir, const struct cr_hs_key *key, unsigned npat,
                     unsigned *flags_out, hs_database_t **db)
{
    char path[4096];
    cr_hs_cache_path(dir, key, path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    struct cache_header h;
    char *bytes = NULL;
    int rc = -1;
    if (fread(&h, sizeof h, 1, f) != 1 || memcmp(h.magic, CR_HS_MAGIC, 8) != 0 ||
        memcmp(h.key, key->b, 16) != 0 || h.npat != npat || h.dblen == 0 ||
        h.dblen > ((uint64_t)1 << 32))
        goto out;
    if (fread(flags_out, sizeof *flags_out, npat, f) != npat)
        goto out;
    bytes = malloc(h.dblen);
    if (!bytes || fread(bytes, 1, h.dblen, f) != h.dblen)
        goto out;
    if (payload_checksum(flags_out, npat, bytes, h.dblen) != h.checksum)
        goto out;
    if (hs_deserialize_database(bytes, h.dblen, db) != HS_SUCCESS)
        goto out;
    rc = 0;
out:
    free(bytes);
    fclose(f);
    return rc;
}

static int mkdir_p(const char *dir)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

int cr_hs_cache_store(const char *dir, const struct cr_hs_key *key, unsigned npat,
                      const unsigned *flags, const hs_database_t *db)
{
    char *bytes = NULL;
    size_t len = 0;
    if (mkdir_p(dir) != 0)
        return -1;
    if (hs_serialize_database(db, &bytes, &len) != HS_SUCCESS)
        return -1;
    struct cache_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, CR_HS_MAGIC, 8);
    memcpy(h.key, key->b, 16);
    h.npat = npat;
    h.dblen = len;
    h.checksum = payload_checksum(flags, npat, bytes, len);

    char path[4096], tmp[4200];
    cr_hs_cache_path(dir, key, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    int rc = -1;
    FILE *f = fopen(tmp, "wb");
    if (f) {
        int ok = fwrite(&h, sizeof h, 1, f) == 1 && fwrite(flags, sizeof *flags, npat, f) == npat &&
                 fwrite(bytes, 1, len, f) == len;
        ok = (fclose(f) == 0) && ok;
        if (ok && rename(tmp, path) == 0)
            rc = 0;
        else
            unlink(tmp);
    }
    free(bytes); /* hs_serialize_database uses the default (malloc) allocator */
    return rc;
}
