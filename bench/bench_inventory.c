/*
 * bench_inventory.c - what the asset inventory costs: loading a city-sized
 * inventory, and the per-event lookups enrichment will make.
 *
 * Generates an inventory of T tenants, S systems and A assets (hosts and
 * VMs with names and addresses, on access switches, racks and one shared
 * pool, plus one office prefix per tenant), loads it (timed, with the
 * reach walk), then looks up N names and N addresses drawn from it (hits)
 * and N that are in no inventory (misses). The baseline printed beside
 * each lookup rate is XXH3 over the same strings, measured in the same
 * run: a lookup is a hash and a probe or a few, so its rate is that
 * baseline's order.
 *
 * Usage: bench_inventory [ASSETS] [LOOKUPS]   (default 20000, 2000000)
 */
#include "engine/assets/inventory.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

struct buf {
    char *p;
    size_t n, cap;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int w = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
        va_end(ap);
        if (w >= 0 && (size_t)w < b->cap - b->n) {
            b->n += (size_t)w;
            return;
        }
        b->cap = b->cap ? b->cap * 2 : 1 << 20;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
}

int main(int argc, char **argv)
{
    int nassets = argc > 1 ? atoi(argv[1]) : 20000;
    long nlook = argc > 2 ? atol(argv[2]) : 2000000;
    int ntenants = 500, nsystems = 2000, nsw = nassets / 40 + 1, nracks = nassets / 20 + 1;
    struct buf b = {0};
    put(&b, "tenants:\n");
    for (int t = 0; t < ntenants; t++)
        put(&b, "  - {id: t%d}\n", t);
    put(&b, "systems:\n");
    for (int s = 0; s < nsystems; s++)
        put(&b, "  - {id: s%d, tenant: t%d, dengbao: %d, cii: %s}\n", s, s % ntenants, 1 + s % 4,
            s % 97 == 0 ? "true" : "false");
    put(&b, "assets:\n  - {id: ups, kind: ups}\n  - {id: pool, kind: storage_pool, depends_on: "
            "[ups]}\n  - {id: core, kind: network_device}\n");
    for (int i = 0; i < nsw; i++)
        put(&b, "  - {id: sw%d, kind: network_device, depends_on: [core]}\n", i);
    for (int i = 0; i < nracks; i++)
        put(&b, "  - {id: rack%d, kind: rack, depends_on: [ups]}\n", i);
    for (int i = 0; i < nassets; i++)
        put(&b,
            "  - {id: a%d, kind: vm, system: s%d, depends_on: [sw%d, rack%d, pool], names: "
            "[host-%05d], ips: [10.%d.%d.%d]}\n",
            i, i % nsystems, i % nsw, i % nracks, i, 64 + i / 65536, (i / 256) % 256, i % 256);
    put(&b, "  - {id: offices, kind: ip_range, cidrs: [172.16.0.0/12, 192.168.0.0/16]}\n");

    char err[4096];
    double t0 = now();
    struct cr_inventory *inv =
        cr_inventory_load_string("bench.yaml", b.p, b.n, NULL, err, sizeof err);
    double load = now() - t0;
    if (!inv) {
        fprintf(stderr, "bench_inventory: %s\n", err);
        return 1;
    }
    printf("inventory: %d tenants, %d systems, %d assets (%.1f MB of YAML): loaded in %.3f s\n",
           cr_inventory_ntenants(inv), cr_inventory_nsystems(inv), cr_inventory_nassets(inv),
           (double)b.n / 1e6, load);

    /* the strings an event would carry */
    enum { NKEYS = 4096 };
    static char names[NKEYS][32], ips[NKEYS][32], miss[NKEYS][32];
    unsigned seed = 42;
    for (int i = 0; i < NKEYS; i++) {
        seed = seed * 1103515245u + 12345u;
        int a = (int)(seed % (unsigned)nassets);
        snprintf(names[i], sizeof names[i], "HOST-%05d", a); /* syslog's case */
        snprintf(ips[i], sizeof ips[i], "10.%d.%d.%d", 64 + a / 65536, (a / 256) % 256, a % 256);
        snprintf(miss[i], sizeof miss[i], "203.0.%d.%d", (int)(seed >> 8) % 256, i % 256);
    }
    printf("%-22s %14s %14s %8s %10s\n", "lookup", "lookups/s", "xxh3/s", "x base", "found");
    for (int kind = 0; kind < 3; kind++) {
        char(*keys)[32] = kind == 0 ? names : kind == 1 ? ips : miss;
        long found = 0;
        t0 = now();
        for (long i = 0; i < nlook; i++) {
            const char *k = keys[i % NKEYS];
            size_t n = strlen(k);
            found +=
                (kind == 0 ? cr_inventory_by_name(inv, k, n) : cr_inventory_by_ip(inv, k, n)) >= 0;
        }
        double dt = now() - t0;
        uint64_t sink = 0;
        t0 = now();
        for (long i = 0; i < nlook; i++) {
            const char *k = keys[i % NKEYS];
            sink += XXH3_64bits(k, strlen(k));
        }
        double db = now() - t0;
        printf("%-22s %14.0f %14.0f %8.2f %10ld%s\n",
               kind == 0   ? "name (hit)"
               : kind == 1 ? "address (hit)"
                           : "address (miss)",
               (double)nlook / dt, (double)nlook / db, db / dt, found, sink == 1 ? " " : "");
    }
    cr_inventory_free(inv);
    free(b.p);
    return 0;
}
