/*
 * gen_corpus.c - deterministic synthetic syslog corpus with planted incidents.
 *
 * Owns: the benchmark and test corpus. Same seed + arguments give a byte-identical file and
 * truth file on any machine, so a benchmark number or a failing golden test can be reproduced
 * from its command line alone. Nothing here uses libc's rand(), the locale or the clock.
 *
 * Output: lines as an rsyslog relay forwards them. Most are RFC 3164
 * (`<PRI>Mmm dd hh:mm:ss host tag: msg`); about 10% of the Linux-host lines are RFC 5424
 * (`<PRI>1 2026-03-02T08:00:01.123Z host prog pid - - msg`). Network gear (Cisco IOS,
 * Huawei VRP) keeps its own message shapes behind the 3164 header. Times are UTC and
 * non-decreasing from line to line.
 *
 * Shape:
 *   1. Plan. Every planted scenario instance (brute force, disk errors, ...) and every near
 *      miss is drawn up front from its own PRNG stream into one array of timed events, then
 *      sorted by time. Each instance also becomes one truth-file line. Entity values come
 *      from allocators that never hand out the same value twice (fresh IP, host+disk,
 *      switch+interface, host+unit, user+host), so instances cannot merge.
 *   2. Emit. A background clock advances at --rate with jitter. Before each background line,
 *      any planted event whose time has come is written first, at its own planned time.
 *      Planted times are whole seconds, so RFC 3164's second resolution loses nothing and
 *      the truth file's first/last are exact. If the file is about to end with planted
 *      events left over, they are written anyway (the clock jumps forward), so --lines is
 *      always exact and every truth event is in the file.
 *   3. Background noise is built so it can never complete a scenario or a near miss: sshd
 *      failures come from IPs used once each, outside the planted address ranges; background
 *      link downs use a different stack member (GigabitEthernet1/0/x) and at most one per
 *      port per 660 s; background never writes disk I/O errors, killed/dumped/failed unit
 *      exits, sudo denials, "Accepted password" from external IPs, or attack-looking URLs.
 *
 * Three independent PRNG streams (plan, background, bad records) mean --bad changes only
 * the bad lines and what they displace, not the planted scenarios.
 *
 * Speed: one fixed line buffer, one fwrite per line into a 1 MiB stdio buffer, time strings
 * re-formatted only when the second changes. No allocation per line.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define US_PER_S ((int64_t)1000000)
/* Every scenario window fits in this much event time; shorter files get a lower rate. */
#define MIN_TIMELINE_S 300
#define LINE_MAX_BYTES 4096
#define LONG_LINE_BYTES (200 * 1024)
#define HOST_LEN 32 /* host names are short; room for any int in "%s-%02d" */

/* ---------------------------------------------------------------------------------------- */
/* PRNG: splitmix64 to seed xoshiro256**.                                                    */

struct rng {
    uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ULL);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, n); the multiply-shift bias is below 2^-32 and irrelevant here. */
static uint32_t rng_below(struct rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Uniform in [lo, hi], inclusive. */
static int rng_range(struct rng *r, int lo, int hi)
{
    return lo + (int)rng_below(r, (uint32_t)(hi - lo + 1));
}

#define PICK(r, arr) ((arr)[rng_below((r), (uint32_t)(sizeof(arr) / sizeof((arr)[0])))])
#define NELEM(arr) (sizeof(arr) / sizeof((arr)[0]))

/* ---------------------------------------------------------------------------------------- */
/* Static vocabulary.                                                                         */

static const char *const MONTHS[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* ~200 Linux hosts: role prefix and count. Roles that serve HTTP write nginx lines. */
static const struct {
    const char *role;
    int count;
    int web;
} LINUX_ROLES[] = {
    {"web", 24, 1},      {"api", 20, 1},   {"app", 30, 0},   {"worker", 24, 0},
    {"db", 12, 0},       {"cache", 10, 0}, {"lb", 6, 1},     {"mq", 8, 0},
    {"k8s-node", 30, 0}, {"search", 8, 0}, {"mon", 4, 0},    {"ci", 6, 0},
    {"bastion", 2, 0},   {"mail", 4, 0},   {"backup", 4, 0}, {"log", 8, 0},
};
#define MAX_LINUX 256
#define MAX_WEB 64

static const struct {
    const char *role;
    int count;
} SWITCH_ROLES[] = {{"sw-acc", 32}, {"sw-dist", 4}, {"sw-core", 2}};
#define MAX_SWITCH 64

static const struct {
    const char *role;
    int count;
} HUAWEI_ROLES[] = {{"rt-hw", 4}, {"sw-hw", 8}};
#define MAX_HUAWEI 16

static const char *const BF_USERS[] = {"root",     "admin",   "test",   "oracle",  "ubuntu",
                                       "postgres", "git",     "user",   "guest",   "ftpuser",
                                       "pi",       "support", "deploy", "jenkins", "hadoop"};
static const char *const COMP_USERS[] = {"root", "admin", "ubuntu", "deploy", "git"};
/* Staff run the background sudo. None of them is a COMP_USER: a planted
 * login after a brute force followed by background sudo of the same account
 * would really be ssh.bruteforce_then_privesc, which the truth does not plant. */
static const char *const STAFF[] = {"alice", "bob",   "carol", "dave", "erin",     "frank",
                                    "grace", "heidi", "ivan",  "judy", "deployer", "ansible"};
static const char *const DENIED_USERS[] = {"mallory",  "eve",  "trudy",      "oscar", "intern",
                                           "tempuser", "jdoe", "contractor", "peggy", "victor"};
static const char *const SUDO_CMDS[] = {"/usr/bin/systemctl status nginx",
                                        "/usr/bin/systemctl restart nginx",
                                        "/usr/bin/journalctl -u nginx --since today",
                                        "/usr/bin/apt-get update",
                                        "/usr/bin/tail -n 200 /var/log/syslog",
                                        "/usr/bin/docker ps",
                                        "/usr/sbin/ss -tlnp",
                                        "/usr/bin/du -sh /var/lib/docker",
                                        "/usr/bin/systemctl reload haproxy",
                                        "/usr/bin/kubectl get pods -A"};
static const char *const DENIED_CMDS[] = {"/bin/bash", "/usr/bin/su -", "/bin/cat /etc/shadow",
                                          "/usr/bin/vim /etc/sudoers", "/bin/sh"};
static const char *const UNITS[] = {"nginx",         "postgresql",      "redis-server", "haproxy",
                                    "php8.2-fpm",    "docker",          "containerd",   "kubelet",
                                    "elasticsearch", "rabbitmq-server", "mysql",        "memcached",
                                    "node-exporter", "grafana-server",  "gunicorn",     "celery",
                                    "sidekiq",       "consul",          "vault",        "etcd"};
static const struct {
    const char *unit;
    const char *desc;
} BG_UNITS[] = {
    {"apt-daily", "Daily apt download activities"},
    {"apt-daily-upgrade", "Daily apt upgrade and clean activities"},
    {"logrotate", "Rotate log files"},
    {"man-db", "Daily man-db regeneration"},
    {"systemd-tmpfiles-clean", "Cleanup of Temporary Directories"},
    {"fstrim", "Discard unused blocks on filesystems from /etc/fstab"},
    {"certbot", "Certbot"},
    {"sysstat-collect", "system activity accounting tool"},
    {"phpsessionclean", "Clean php session files"},
    {"e2scrub_all", "Online ext4 Metadata Check for All Filesystems"},
};
static const char *const URL_PATHS[] = {"/api/v1/items?id=%u",
                                        "/api/v1/users/%u",
                                        "/api/v2/orders?page=%u&size=50",
                                        "/static/js/app.%u.js",
                                        "/static/css/main.%u.css",
                                        "/health",
                                        "/login",
                                        "/favicon.ico",
                                        "/api/v1/cart/%u/items",
                                        "/robots.txt",
                                        "/api/v1/search?q=shoes&page=%u",
                                        "/metrics",
                                        "/api/v2/products/%u/reviews",
                                        "/images/p/%u.webp"};
static const char *const METHODS[] = {"GET", "GET", "GET", "GET", "GET", "POST", "GET", "PUT"};
static const char *const UAS[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.3 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15",
    "curl/7.88.1",
    "Go-http-client/1.1",
    "kube-probe/1.29",
    "Prometheus/2.50.1",
    "okhttp/4.12.0",
    "python-requests/2.31.0"};
static const char *const REFERERS[] = {"-", "-", "-", "https://shop.example.com/",
                                       "https://shop.example.com/cart"};
static const char *const CRON_CMDS[] = {
    "command -v debian-sa1 > /dev/null && debian-sa1 1 1",
    "test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.hourly; }",
    "/usr/local/bin/backup-incremental.sh >/dev/null 2>&1",
    "/usr/lib/php/sessionclean",
    "/usr/local/bin/rotate-app-logs",
    "/opt/scripts/healthcheck.sh"};
static const char *const CISCO_USERS[] = {"netops", "admin", "noc"};
static const char *const HW_CMDS[] = {"display interface brief",
                                      "display current-configuration",
                                      "display ip routing-table",
                                      "display version",
                                      "system-view",
                                      "display arp",
                                      "display mac-address",
                                      "quit",
                                      "display cpu-usage",
                                      "display logbuffer"};

/* Web attack request targets (planted only; background URLs never contain these shapes). */
static const struct {
    const char *target;
    int status;
} ATTACKS[] = {
    {"/api/v1/items?id=1%27%20OR%201=1--", 500},
    {"/search?q=1%27%20union%20select%20null,version()--", 403},
    {"/products?cat=-1 UNION SELECT username,password FROM users--", 400},
    {"/../../etc/passwd", 400},
    {"/static/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd", 404},
    {"/download?file=../../../../etc/passwd", 403},
};
static const char *const ATTACK_UAS[] = {"sqlmap/1.7.2#stable (https://sqlmap.org)",
                                         "Mozilla/5.0 (compatible; Nmap Scripting Engine)",
                                         "Nikto/2.5.0", "python-requests/2.28.1"};

/* Background sshd-failure /8s: never the planted TEST-NET or 198.18/15 ranges. */
static const uint8_t BG_ATTACK_NETS[] = {45, 61, 80, 91, 103, 112, 117, 185, 193, 218, 222};
/* Background public web clients. */
static const uint8_t BG_CLIENT_NETS[] = {24, 66, 73, 84, 98, 151, 176, 188, 212};

/* ---------------------------------------------------------------------------------------- */
/* Planned events and truth instances.                                                        */

enum pev_kind {
    PE_SSH_FAIL,
    PE_SSH_ACCEPT_PW,
    PE_DISK_IOERR,
    PE_BUFFER_IOERR,
    PE_LINK_DOWN,
    PE_LINK_UP,
    PE_LINK_ADMIN_DOWN,
    PE_SVC_KILLED,
    PE_SVC_DUMPED,
    PE_SVC_FAILURE,
    PE_SVC_RESULT,
    PE_WEB_ATTACK,
    PE_SUDO_DENIED,
};

/* One planted line. 24 bytes; the meaning of a/b/variant depends on kind. */
struct pev {
    int64_t t_us;
    uint32_t seq;  /* plan order: ties in time keep it */
    uint16_t host; /* Linux host or switch index */
    uint8_t kind;
    uint8_t variant; /* bit 0: RFC 5424; other bits kind-specific */
    uint32_t a;      /* IP, disk index, interface index, unit index, user index */
    uint32_t b;      /* port, sector, pattern, ... */
};

enum ent_kind { ENT_IP, ENT_HOST_DISK, ENT_SWITCH_IF, ENT_HOST_UNIT, ENT_USER_HOST };

struct truth {
    const char *scenario;
    const char *category;
    int expect_none;
    int ent;
    uint32_t ip;
    uint16_t host;
    uint32_t x;    /* disk / interface / unit / user index */
    int partition; /* disk entity carries a "1" partition suffix */
    int events;
    int64_t first_us, last_us;
};

struct bad {
    const char *kind;
    uint64_t line; /* 0-based line index */
};

/* A combination allocator: hands out distinct (host, x) pairs from a space of size n in a
 * seeded, scattered order. i -> (start + i * step) mod n is a bijection when gcd(step,n)=1. */
struct combo {
    uint64_t n, start, step, next;
};

static uint64_t gcd64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static void combo_init(struct combo *c, struct rng *r, uint64_t n)
{
    static const uint64_t steps[] = {7919, 104729, 1299709, 15485863, 179424673};
    c->n = n;
    c->start = rng_next(r) % n;
    c->step = 1;
    for (size_t i = 0; i < NELEM(steps); i++)
        if (gcd64(steps[i] % n, n) == 1 && steps[i] % n != 0) {
            c->step = steps[i] % n;
            break;
        }
    c->next = 0;
}

static int combo_take(struct combo *c, uint64_t *out)
{
    if (c->next >= c->n)
        return -1;
    *out = (c->start + c->next * c->step) % c->n;
    c->next++;
    return 0;
}

struct gen {
    /* arguments */
    uint64_t seed;
    uint64_t lines;
    int64_t start_epoch;
    double rate;
    int bad;
    const char *out_path, *truth_path;

    /* hosts */
    char linux_hosts[MAX_LINUX][HOST_LEN];
    int n_linux;
    int web_hosts[MAX_WEB];
    int n_web;
    char switches[MAX_SWITCH][HOST_LEN];
    int n_switch;
    char huawei[MAX_HUAWEI][HOST_LEN];
    int n_huawei;
    int64_t uptime_base_us[MAX_LINUX];
    uint32_t cisco_seq[MAX_SWITCH];
    int64_t bg_last_down[MAX_SWITCH][24];

    /* plan */
    struct rng plan_rng, bg_rng, bad_rng;
    struct pev *ev;
    size_t n_ev, cap_ev;
    struct truth *tr;
    size_t n_tr, cap_tr;
    uint32_t ip_next;
    uint8_t ip_perm[3 * 254 + 1][2]; /* unused slot keeps the array non-empty */
    struct combo disk_combo, if_combo, unit_combo, user_combo;
    struct bad bads[6];
    int n_bad;
    uint32_t bg_fail_counter;

    /* emit */
    FILE *out;
    char line[LINE_MAX_BYTES];
    int64_t cached_sec;
    /* Sized for any int the compiler can imagine, not just real dates. */
    char ts3164[80]; /* "Mar  2 08:00:01" */
    char ts5424[80]; /* "2026-03-02T08:00:01" */
    char tsclf[80];  /* "02/Mar/2026:08:00:01" */
};

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("gen_corpus: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q)
        die("out of memory");
    return q;
}

/* ---------------------------------------------------------------------------------------- */
/* Entity helpers.                                                                            */

static void ip_str(uint32_t ip, char *buf, size_t n)
{
    snprintf(buf, n, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

static uint32_t ip4(unsigned a, unsigned b, unsigned c, unsigned d)
{
    return (uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | (uint32_t)d;
}

/* Fresh external IP for a planted instance: the three TEST-NETs in a seeded order first,
 * then 198.18.0.0/15 (benchmarking range). Never reused within one file. */
static uint32_t alloc_ip(struct gen *g)
{
    uint32_t i = g->ip_next++;
    if (i < 3 * 254) {
        static const uint32_t nets[3] = {0xCB007100u /* 203.0.113 */, 0xC6336400u /* 198.51.100 */,
                                         0xC0000200u /* 192.0.2 */};
        return nets[g->ip_perm[i][0]] | (uint32_t)g->ip_perm[i][1];
    }
    i -= 3 * 254;
    if (i >= (1u << 17) - 2)
        die("too many planted IPs for this --lines");
    return 0xC6120000u /* 198.18.0.0 */ + 1 + i;
}

/* Disk name for index i: sdb, sdc, ..., sdz, sdaa, ... (sda is the system disk). */
static void disk_name(uint32_t i, int partition, char *buf, size_t n)
{
    uint32_t k = i + 1;
    if (k < 26)
        snprintf(buf, n, "sd%c%s", 'a' + k, partition ? "1" : "");
    else {
        k -= 26;
        snprintf(buf, n, "sd%c%c%s", 'a' + (int)(k / 26 % 26), 'a' + (int)(k % 26),
                 partition ? "1" : "");
    }
}

/* Planted interfaces live on stack members 2 and up; background only uses member 1. */
static void iface_name(uint32_t i, char *buf, size_t n)
{
    snprintf(buf, n, "GigabitEthernet%u/0/%u", 2 + i / 48, 1 + i % 48);
}

static void ts_iso_ms(const struct gen *g, int64_t t_us, char *buf, size_t n)
{
    time_t sec = (time_t)(g->start_epoch + t_us / US_PER_S);
    struct tm tm;
    gmtime_r(&sec, &tm);
    snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(t_us / 1000 % 1000));
}

/* ---------------------------------------------------------------------------------------- */
/* Planning.                                                                                  */

static struct pev *add_ev(struct gen *g, int64_t t_s, int kind, int host)
{
    if (g->n_ev == g->cap_ev) {
        g->cap_ev = g->cap_ev ? g->cap_ev * 2 : 1024;
        g->ev = xrealloc(g->ev, g->cap_ev * sizeof *g->ev);
    }
    struct pev *e = &g->ev[g->n_ev];
    memset(e, 0, sizeof *e);
    e->t_us = t_s * US_PER_S;
    e->seq = (uint32_t)g->n_ev;
    e->kind = (uint8_t)kind;
    e->host = (uint16_t)host;
    /* ~10% of Linux-host planted lines are RFC 5424, as in the background. */
    e->variant = rng_below(&g->plan_rng, 10) == 0 ? 1 : 0;
    g->n_ev++;
    return e;
}

static struct truth *add_truth(struct gen *g, const char *scenario, const char *category,
                               int expect_none, int ent)
{
    if (g->n_tr == g->cap_tr) {
        g->cap_tr = g->cap_tr ? g->cap_tr * 2 : 256;
        g->tr = xrealloc(g->tr, g->cap_tr * sizeof *g->tr);
    }
    struct truth *t = &g->tr[g->n_tr++];
    memset(t, 0, sizeof *t);
    t->scenario = scenario;
    t->category = category;
    t->expect_none = expect_none;
    t->ent = ent;
    return t;
}

static void truth_time(struct truth *t, int64_t t_s)
{
    int64_t us = t_s * US_PER_S;
    if (t->events == 0 || us < t->first_us)
        t->first_us = us;
    if (t->events == 0 || us > t->last_us)
        t->last_us = us;
    t->events++;
}

/* Offsets (seconds from 0) of k events with gaps in [lo, hi], total at most budget. */
static void series(struct rng *r, int k, int lo, int hi, int budget, int64_t *off)
{
    if (k > 1 && hi > budget / (k - 1))
        hi = budget / (k - 1);
    if (hi < lo)
        hi = lo;
    off[0] = 0;
    for (int i = 1; i < k; i++)
        off[i] = off[i - 1] + rng_range(r, lo, hi);
}

/* Budget for an instance's span: its natural limit, but never more than the timeline allows. */
static int fit(int64_t T, int natural) { return T - 20 < natural ? (int)(T - 20) : natural; }

/* Start second for an instance spanning span seconds inside a timeline of T seconds. */
static int64_t pick_start(struct gen *g, int64_t T, int64_t span)
{
    int64_t room = T - span - 2;
    if (room < 1)
        room = 1;
    return 1 + (int64_t)(rng_next(&g->plan_rng) % (uint64_t)room);
}

static int linux_host(struct gen *g) { return (int)rng_below(&g->plan_rng, (uint32_t)g->n_linux); }

/* SSH failures from one source. A brute force hammers one or two accounts
 * (spread = 0); a password spray tries a different account each time
 * (spread = 1), so the number of distinct accounts is the number of tries. */
static void plan_failures_users(struct gen *g, struct truth *t, int host, uint32_t ip,
                                int64_t start, const int64_t *off, int k, int spread)
{
    uint32_t first = rng_below(&g->plan_rng, NELEM(BF_USERS));
    uint32_t second = (first + 1 + rng_below(&g->plan_rng, NELEM(BF_USERS) - 1)) % NELEM(BF_USERS);
    int two = rng_below(&g->plan_rng, 3) == 0;
    for (int i = 0; i < k; i++) {
        struct pev *e = add_ev(g, start + off[i], PE_SSH_FAIL, host);
        e->a = ip;
        e->b = (uint32_t)rng_range(&g->plan_rng, 32768, 60999);
        uint32_t user = spread             ? (first + (uint32_t)i) % NELEM(BF_USERS)
                        : (two && (i & 1)) ? second
                                           : first;
        /* variant bit 1: "invalid user"; bits 2..: user name index */
        int invalid = rng_below(&g->plan_rng, 2);
        e->variant |= (uint8_t)(invalid << 1 | user << 2);
        truth_time(t, start + off[i]);
    }
}

static void plan_failures(struct gen *g, struct truth *t, int host, uint32_t ip, int64_t start,
                          const int64_t *off, int k)
{
    plan_failures_users(g, t, host, ip, start, off, k, 0);
}

static void plan_accept(struct gen *g, struct truth *t, int host, uint32_t ip, int64_t when)
{
    struct pev *e = add_ev(g, when, PE_SSH_ACCEPT_PW, host);
    e->a = ip;
    e->b = (uint32_t)rng_range(&g->plan_rng, 32768, 60999);
    e->variant |= (uint8_t)(rng_below(&g->plan_rng, NELEM(COMP_USERS)) << 2);
    truth_time(t, when);
}

static void take(struct gen *g, struct combo *c, const char *what, uint32_t hosts, int *host,
                 uint32_t *x)
{
    uint64_t v;
    if (combo_take(c, &v) != 0)
        die("ran out of distinct %s for planted scenarios; use fewer --lines", what);
    *host = (int)(v % hosts);
    *x = (uint32_t)(v / hosts);
}

static void plan_disk(struct gen *g, const char *scenario, int expect_none, int kind, int k, int lo,
                      int hi, int64_t T)
{
    struct truth *t = add_truth(g, scenario, "F-STO-HW", expect_none, ENT_HOST_DISK);
    int host;
    uint32_t disk;
    take(g, &g->disk_combo, "host+disk pairs", (uint32_t)g->n_linux, &host, &disk);
    t->host = (uint16_t)host;
    t->x = disk;
    t->partition = kind == PE_BUFFER_IOERR;
    int64_t off[16];
    series(&g->plan_rng, k, lo, hi, fit(T, 280), off);
    int64_t start = pick_start(g, T, off[k - 1]);
    uint32_t sector = (uint32_t)rng_range(&g->plan_rng, 2048, 1900000000);
    for (int i = 0; i < k; i++) {
        struct pev *e = add_ev(g, start + off[i], kind, host);
        e->a = disk;
        e->b = sector + (uint32_t)rng_below(&g->plan_rng, 4096) * 8;
        e->variant |= (uint8_t)(rng_below(&g->plan_rng, 4) == 0 ? 2 : 0); /* WRITE */
        truth_time(t, start + off[i]);
    }
}

static void plan_link(struct gen *g, const char *scenario, int expect_none, int admin, int k,
                      int lo, int hi, int64_t T)
{
    struct truth *t = add_truth(g, scenario, "F-NET-LINK", expect_none, ENT_SWITCH_IF);
    int sw;
    uint32_t ifx;
    take(g, &g->if_combo, "switch+interface pairs", (uint32_t)g->n_switch, &sw, &ifx);
    t->host = (uint16_t)sw;
    t->x = ifx;
    int64_t off[16];
    series(&g->plan_rng, k, lo, hi, fit(T, admin ? 300 : 560), off);
    int64_t start = pick_start(g, T, off[k - 1] + 12);
    for (int i = 0; i < k; i++) {
        struct pev *e = add_ev(g, start + off[i], admin ? PE_LINK_ADMIN_DOWN : PE_LINK_DOWN, sw);
        e->a = ifx;
        e->b = rng_below(&g->plan_rng, 1000); /* device clock ms, not the relay's */
        truth_time(t, start + off[i]);
        /* Back up before the next down (gaps are >= 10 s, ups come 2..8 s later). */
        e = add_ev(g, start + off[i] + rng_range(&g->plan_rng, 2, 8), PE_LINK_UP, sw);
        e->a = ifx;
        e->b = rng_below(&g->plan_rng, 1000);
    }
}

static void plan_service(struct gen *g, const char *scenario, int expect_none, int failure, int k,
                         int lo, int hi, int64_t T)
{
    struct truth *t = add_truth(g, scenario, "F-SW-OS", expect_none, ENT_HOST_UNIT);
    int host;
    uint32_t unit;
    take(g, &g->unit_combo, "host+unit pairs", (uint32_t)g->n_linux, &host, &unit);
    t->host = (uint16_t)host;
    t->x = unit;
    int64_t off[16];
    series(&g->plan_rng, k, lo, hi, fit(T, 540), off);
    int64_t start = pick_start(g, T, off[k - 1]);
    for (int i = 0; i < k; i++) {
        int kind =
            failure ? PE_SVC_FAILURE : (rng_below(&g->plan_rng, 2) ? PE_SVC_KILLED : PE_SVC_DUMPED);
        struct pev *e = add_ev(g, start + off[i], kind, host);
        e->a = unit;
        uint8_t variant = e->variant; /* e dies with the next add_ev (it may realloc) */
        truth_time(t, start + off[i]);
        /* systemd's follow-up line, same second; does not count. */
        struct pev *f = add_ev(g, start + off[i], PE_SVC_RESULT, host);
        f->a = unit;
        f->b = (uint32_t)kind;
        f->variant = variant;
    }
}

static void plan(struct gen *g)
{
    int64_t T = (int64_t)((double)g->lines / g->rate);
    uint32_t n_each = (uint32_t)(g->lines / 20000);
    if (n_each < 2)
        n_each = 2;
    uint32_t n_comp = n_each;
    uint32_t n_bf = n_each + (n_each / 2 > 1 ? n_each / 2 : 1);
    int64_t off[16];

    /* Brute force, and a compromise after the first n_comp of them. */
    for (uint32_t i = 0; i < n_bf; i++) {
        struct truth *t = add_truth(g, "brute_force", "S-ATK-BRUTE", 0, ENT_IP);
        t->ip = alloc_ip(g);
        int host = linux_host(g);
        int k = rng_range(&g->plan_rng, 5, 12);
        series(&g->plan_rng, k, 1, 12, 55, off);
        int64_t start = pick_start(g, T, off[k - 1] + (i < n_comp ? 190 : 0));
        plan_failures(g, t, host, t->ip, start, off, k);
        if (i < n_comp) {
            /* 10..180 s after the last failure is 10..250 s after the 5th (last-5th <= 55). */
            struct truth *c = add_truth(g, "compromise", "S-ATK-COMP", 0, ENT_IP);
            c->ip = t->ip;
            plan_accept(g, c, host, t->ip, start + off[k - 1] + rng_range(&g->plan_rng, 10, 180));
        }
    }
    for (uint32_t i = 0; i < n_each; i++) {
        plan_disk(g, "disk_errors", 0, PE_DISK_IOERR, rng_range(&g->plan_rng, 3, 6), 5, 55, T);
        plan_link(g, "link_flaps", 0, 0, rng_range(&g->plan_rng, 4, 7), 15, 90, T);
        plan_service(g, "crashing_service", 0, 0, rng_range(&g->plan_rng, 3, 5), 20, 180, T);

        /* Web attack: 1-3 requests from one fresh IP against one web host within seconds. */
        struct truth *t = add_truth(g, "web_attack", "S-ATK-EXPL", 0, ENT_IP);
        t->ip = alloc_ip(g);
        int host = g->web_hosts[rng_below(&g->plan_rng, (uint32_t)g->n_web)];
        int k = rng_range(&g->plan_rng, 1, 3);
        int64_t start = pick_start(g, T, 10);
        int64_t at = start;
        for (int j = 0; j < k; j++) {
            struct pev *e = add_ev(g, at, PE_WEB_ATTACK, host);
            e->a = t->ip;
            e->b = rng_below(&g->plan_rng, NELEM(ATTACKS));
            e->variant |= (uint8_t)(rng_below(&g->plan_rng, NELEM(ATTACK_UAS)) << 2);
            truth_time(t, at);
            at += rng_range(&g->plan_rng, 0, 4);
        }

        /* Sudo denied: fresh user+host. */
        t = add_truth(g, "sudo_denied", "S-OPS-PRIV", 0, ENT_USER_HOST);
        uint32_t user;
        take(g, &g->user_combo, "user+host pairs", (uint32_t)g->n_linux, &host, &user);
        t->host = (uint16_t)host;
        t->x = user;
        start = pick_start(g, T, 1);
        struct pev *e = add_ev(g, start, PE_SUDO_DENIED, host);
        e->a = user;
        e->b = rng_below(&g->plan_rng, NELEM(DENIED_CMDS));
        truth_time(t, start);

        /* Near misses. */
        t = add_truth(g, "near_miss_4_failures", "S-ATK-BRUTE", 1, ENT_IP);
        t->ip = alloc_ip(g);
        series(&g->plan_rng, 4, 1, 15, 45, off);
        start = pick_start(g, T, off[3]);
        plan_failures(g, t, linux_host(g), t->ip, start, off, 4);

        /* 5 failures, every gap >= 20 s: any 5 span >= 80 s, so no 60 s window holds 5. */
        t = add_truth(g, "near_miss_slow_failures", "S-ATK-BRUTE", 1, ENT_IP);
        t->ip = alloc_ip(g);
        series(&g->plan_rng, 5, 20, 70, fit(T, 280), off);
        start = pick_start(g, T, off[4]);
        plan_failures(g, t, linux_host(g), t->ip, start, off, 5);

        /* Password spray: 5-8 accounts, one try each, 20-70 s apart (no 60 s window
         * holds 5 tries, so it is no brute force), within the 10 min window. */
        t = add_truth(g, "password_spray", "S-ATK-BRUTE", 0, ENT_IP);
        t->ip = alloc_ip(g);
        k = rng_range(&g->plan_rng, 5, 8);
        series(&g->plan_rng, k, 20, 70, fit(T, 540), off);
        start = pick_start(g, T, off[k - 1]);
        plan_failures_users(g, t, linux_host(g), t->ip, start, off, k, 1);

        t = add_truth(g, "near_miss_spray_4_accounts", "S-ATK-BRUTE", 1, ENT_IP);
        t->ip = alloc_ip(g);
        series(&g->plan_rng, 4, 20, 70, fit(T, 280), off);
        start = pick_start(g, T, off[3]);
        plan_failures_users(g, t, linux_host(g), t->ip, start, off, 4, 1);

        t = add_truth(g, "near_miss_success_no_brute", "S-ATK-COMP", 1, ENT_IP);
        t->ip = alloc_ip(g);
        plan_accept(g, t, linux_host(g), t->ip, pick_start(g, T, 1));

        plan_disk(g, "near_miss_2_disk_errors", 1, PE_DISK_IOERR, 2, 5, 120, T);
        plan_disk(g, "near_miss_buffer_io_error", 1, PE_BUFFER_IOERR, 5, 1, 30, T);
        plan_link(g, "near_miss_3_link_downs", 1, 0, 3, 15, 90, T);
        plan_link(g, "near_miss_admin_down", 1, 1, 6, 10, 50, T);
        plan_service(g, "near_miss_2_killed", 1, 0, 2, 20, 180, T);
        plan_service(g, "near_miss_exit_failure", 1, 1, 5, 10, 100, T);
    }
}

static int cmp_ev(const void *pa, const void *pb)
{
    const struct pev *a = pa, *b = pb;
    if (a->t_us != b->t_us)
        return a->t_us < b->t_us ? -1 : 1;
    return a->seq < b->seq ? -1 : (a->seq > b->seq);
}

static int cmp_tr(const void *pa, const void *pb)
{
    const struct truth *a = pa, *b = pb;
    if (a->first_us != b->first_us)
        return a->first_us < b->first_us ? -1 : 1;
    return strcmp(a->scenario, b->scenario);
}

/* ---------------------------------------------------------------------------------------- */
/* Emission.                                                                                  */

static void set_time(struct gen *g, int64_t t_us)
{
    int64_t sec = g->start_epoch + t_us / US_PER_S;
    if (sec == g->cached_sec)
        return;
    g->cached_sec = sec;
    time_t tt = (time_t)sec;
    struct tm tm;
    gmtime_r(&tt, &tm);
    snprintf(g->ts3164, sizeof g->ts3164, "%s %2d %02d:%02d:%02d", MONTHS[tm.tm_mon], tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
    snprintf(g->ts5424, sizeof g->ts5424, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    snprintf(g->tsclf, sizeof g->tsclf, "%02d/%s/%04d:%02d:%02d:%02d", tm.tm_mday,
             MONTHS[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/*
 * Write one line. prog NULL: no tag (Huawei VRP puts its module code right after the host).
 * pid < 0: tag without [pid]. rfc5424 only applies to Linux hosts.
 */
static void emit(struct gen *g, int64_t t_us, int pri, const char *host, const char *prog, int pid,
                 int rfc5424, const char *fmt, ...)
{
    set_time(g, t_us);
    int n;
    if (rfc5424) {
        char pidbuf[16] = "-";
        if (pid >= 0)
            snprintf(pidbuf, sizeof pidbuf, "%d", pid);
        n = snprintf(g->line, sizeof g->line, "<%d>1 %s.%03dZ %s %s %s - - ", pri, g->ts5424,
                     (int)(t_us / 1000 % 1000), host, prog, pidbuf);
    } else if (!prog) {
        n = snprintf(g->line, sizeof g->line, "<%d>%s %s ", pri, g->ts3164, host);
    } else if (pid >= 0) {
        n = snprintf(g->line, sizeof g->line, "<%d>%s %s %s[%d]: ", pri, g->ts3164, host, prog,
                     pid);
    } else {
        n = snprintf(g->line, sizeof g->line, "<%d>%s %s %s: ", pri, g->ts3164, host, prog);
    }
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(g->line + n, sizeof g->line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0 || (size_t)(n + m) >= sizeof g->line - 1)
        die("internal: line too long");
    n += m;
    g->line[n++] = '\n';
    fwrite(g->line, 1, (size_t)n, g->out);
}

static void kernel_stamp(struct gen *g, int host, int64_t t_us, char *buf, size_t n)
{
    int64_t up = g->uptime_base_us[host] + t_us;
    snprintf(buf, n, "[%5" PRId64 ".%06" PRId64 "]", up / US_PER_S, up % US_PER_S);
}

static int cisco_pri(int sev) { return 23 * 8 + sev; /* local7 */ }

/* Cisco IOS via a relay: "<187>Mar  2 08:00:01 sw-acc-07 1234: *Mar  2 08:00:01.123: %..." */
#define CISCO_HDR "%u: *%s.%03d: "

static void emit_planted(struct gen *g, const struct pev *e)
{
    char ip[16], name[48], stamp[48];
    int r5424 = e->variant & 1;
    const char *host = g->linux_hosts[e->host];
    int pid = 1000 + (int)(e->b % 60000);
    switch (e->kind) {
    case PE_SSH_FAIL:
        ip_str(e->a, ip, sizeof ip);
        emit(g, e->t_us, 86, host, "sshd", pid, r5424,
             "Failed password for %s%s from %s port %u ssh2",
             (e->variant & 2) ? "invalid user " : "", BF_USERS[(e->variant >> 2) % NELEM(BF_USERS)],
             ip, e->b);
        break;
    case PE_SSH_ACCEPT_PW:
        ip_str(e->a, ip, sizeof ip);
        emit(g, e->t_us, 86, host, "sshd", pid, r5424,
             "Accepted password for %s from %s port %u ssh2",
             COMP_USERS[(e->variant >> 2) % NELEM(COMP_USERS)], ip, e->b);
        break;
    case PE_DISK_IOERR:
        disk_name(e->a, 0, name, sizeof name);
        kernel_stamp(g, e->host, e->t_us, stamp, sizeof stamp);
        emit(g, e->t_us, 3, host, "kernel", -1, r5424,
             "%s blk_update_request: I/O error, dev %s, sector %u op 0x%d:(%s) flags 0x%s "
             "phys_seg 1 prio class 0",
             stamp, name, e->b, (e->variant & 2) ? 1 : 0, (e->variant & 2) ? "WRITE" : "READ",
             (e->variant & 2) ? "800" : "0");
        break;
    case PE_BUFFER_IOERR:
        disk_name(e->a, 1, name, sizeof name);
        kernel_stamp(g, e->host, e->t_us, stamp, sizeof stamp);
        emit(g, e->t_us, 3, host, "kernel", -1, r5424,
             "%s Buffer I/O error on dev %s, logical block 0, async page read", stamp, name);
        break;
    case PE_LINK_DOWN:
    case PE_LINK_UP:
    case PE_LINK_ADMIN_DOWN:
        iface_name(e->a, name, sizeof name);
        set_time(g, e->t_us);
        if (e->kind == PE_LINK_ADMIN_DOWN)
            emit(g, e->t_us, cisco_pri(5), g->switches[e->host], NULL, -1, 0,
                 CISCO_HDR "%%LINK-5-CHANGED: Interface %s, changed state to administratively down",
                 ++g->cisco_seq[e->host], g->ts3164, (int)(e->b % 1000), name);
        else
            emit(g, e->t_us, cisco_pri(3), g->switches[e->host], NULL, -1, 0,
                 CISCO_HDR "%%LINK-3-UPDOWN: Interface %s, changed state to %s",
                 ++g->cisco_seq[e->host], g->ts3164, (int)(e->b % 1000), name,
                 e->kind == PE_LINK_DOWN ? "down" : "up");
        break;
    case PE_SVC_KILLED:
        emit(g, e->t_us, 29, host, "systemd", 1, r5424,
             "%s.service: Main process exited, code=killed, status=9/KILL", UNITS[e->a]);
        break;
    case PE_SVC_DUMPED:
        emit(g, e->t_us, 29, host, "systemd", 1, r5424,
             "%s.service: Main process exited, code=dumped, status=11/SEGV", UNITS[e->a]);
        break;
    case PE_SVC_FAILURE:
        emit(g, e->t_us, 29, host, "systemd", 1, r5424,
             "%s.service: Main process exited, code=exited, status=1/FAILURE", UNITS[e->a]);
        break;
    case PE_SVC_RESULT:
        emit(g, e->t_us, 28, host, "systemd", 1, r5424, "%s.service: Failed with result '%s'.",
             UNITS[e->a],
             e->b == PE_SVC_KILLED   ? "signal"
             : e->b == PE_SVC_DUMPED ? "core-dump"
                                     : "exit-code");
        break;
    case PE_WEB_ATTACK:
        ip_str(e->a, ip, sizeof ip);
        set_time(g, e->t_us);
        emit(g, e->t_us, 190, host, "nginx", -1, r5424,
             "%s - - [%s +0000] \"GET %s HTTP/1.1\" %d %u \"-\" \"%s\"", ip, g->tsclf,
             ATTACKS[e->b].target, ATTACKS[e->b].status, 150 + e->b * 17,
             ATTACK_UAS[(e->variant >> 2) % NELEM(ATTACK_UAS)]);
        break;
    case PE_SUDO_DENIED: {
        const char *u = DENIED_USERS[e->a % NELEM(DENIED_USERS)];
        emit(g, e->t_us, 81, host, "sudo", -1, r5424,
             "%8s : user NOT in sudoers ; TTY=pts/%u ; PWD=/home/%s ; USER=root ; COMMAND=%s", u,
             e->b % 7, u, DENIED_CMDS[e->b % NELEM(DENIED_CMDS)]);
        break;
    }
    default:
        die("internal: bad planted kind %d", e->kind);
    }
}

/* Background internal address: 10.<site>.<rack>.<host>. */
static uint32_t bg_internal_ip(struct rng *r)
{
    return ip4(10, rng_range(r, 1, 40), rng_range(r, 0, 63), rng_range(r, 2, 250));
}

/* Background sshd failure source: a different IP for every failure (counter scattered over
 * 11 public /8s), so no background IP ever fails twice. */
static uint32_t bg_attacker_ip(struct gen *g)
{
    uint32_t c = g->bg_fail_counter++;
    uint32_t k = (uint32_t)(c % NELEM(BG_ATTACK_NETS)), idx = c / (uint32_t)NELEM(BG_ATTACK_NETS);
    /* Per /8: last octet 1..254 from idx, middle 16 bits an odd-multiplier bijection of the
     * rest, so distinct counters give distinct addresses for 16 M failures per /8. */
    uint32_t last = 1 + idx % 254;
    uint32_t mid = ((idx / 254) * 40503u + k * 7919u) & 0xFFFFu;
    return (uint32_t)BG_ATTACK_NETS[k] << 24 | mid << 8 | last;
}

static void bg_line(struct gen *g, int64_t t_us)
{
    struct rng *r = &g->bg_rng;
    char ip[16], ip2[16], stamp[48];
    int h = (int)rng_below(r, (uint32_t)g->n_linux);
    const char *host = g->linux_hosts[h];
    int r5424 = rng_below(r, 10) == 0;
    int pid = rng_range(r, 300, 65000);
    uint32_t dice = rng_below(r, 1000);
    int ms = (int)(t_us / 1000 % 1000);

    if (dice < 300) { /* nginx access */
        host = g->linux_hosts[g->web_hosts[rng_below(r, (uint32_t)g->n_web)]];
        uint32_t cip = rng_below(r, 3) ? bg_internal_ip(r)
                                       : ip4(PICK(r, BG_CLIENT_NETS), rng_range(r, 0, 255),
                                             rng_range(r, 0, 255), rng_range(r, 1, 254));
        ip_str(cip, ip, sizeof ip);
        char path[96];
        snprintf(path, sizeof path, PICK(r, URL_PATHS), rng_below(r, 100000));
        uint32_t sd = rng_below(r, 100);
        int status = sd < 86   ? 200
                     : sd < 90 ? 304
                     : sd < 94 ? 301
                     : sd < 98 ? 404
                     : sd < 99 ? 502
                               : 500;
        set_time(g, t_us);
        emit(g, t_us, 190, host, "nginx", -1, r5424,
             "%s - - [%s +0000] \"%s %s HTTP/1.1\" %d %u \"%s\" \"%s\"", ip, g->tsclf,
             PICK(r, METHODS), path, status, rng_range(r, 0, 48000), PICK(r, REFERERS),
             PICK(r, UAS));
    } else if (dice < 430) { /* sshd */
        uint32_t s = rng_below(r, 100);
        const char *user = PICK(r, STAFF);
        ip_str(bg_internal_ip(r), ip, sizeof ip);
        int port = rng_range(r, 32768, 60999);
        if (s < 28)
            emit(g, t_us, 86, host, "sshd", pid, r5424,
                 "Accepted publickey for %s from %s port %d ssh2: ED25519 SHA256:%016" PRIx64
                 "%016" PRIx64,
                 user, ip, port, rng_next(r), rng_next(r));
        else if (s < 31)
            emit(g, t_us, 86, host, "sshd", pid, r5424,
                 "Accepted password for %s from %s port %d ssh2", user, ip, port);
        else if (s < 50)
            emit(g, t_us, 86, host, "sshd", pid, r5424,
                 "pam_unix(sshd:session): session opened for user %s(uid=%d) by (uid=0)", user,
                 1000 + (int)rng_below(r, 20));
        else if (s < 66)
            emit(g, t_us, 86, host, "sshd", pid, r5424,
                 "pam_unix(sshd:session): session closed for user %s", user);
        else if (s < 78)
            emit(g, t_us, 86, host, "sshd", pid, r5424, "Connection closed by %s port %d [preauth]",
                 ip, port);
        else if (s < 88)
            emit(g, t_us, 86, host, "sshd", pid, r5424,
                 "Received disconnect from %s port %d:11: disconnected by user", ip, port);
        else if (s < 95) {
            ip_str(bg_attacker_ip(g), ip2, sizeof ip2);
            emit(g, t_us, 86, host, "sshd", pid, r5424,
                 "Failed password for %s%s from %s port %d ssh2",
                 rng_below(r, 2) ? "invalid user " : "", PICK(r, BF_USERS), ip2, port);
        } else {
            ip_str(bg_attacker_ip(g), ip2, sizeof ip2);
            emit(g, t_us, 86, host, "sshd", pid, r5424,
                 "Connection closed by authenticating user root %s port %d [preauth]", ip2, port);
        }
    } else if (dice < 510) { /* cron */
        if (rng_below(r, 2))
            emit(g, t_us, 78, host, "CRON", pid, r5424, "(root) CMD (%s)", PICK(r, CRON_CMDS));
        else
            emit(g, t_us, 86, host, "CRON", pid, r5424,
                 "pam_unix(cron:session): session %s for user root%s",
                 rng_below(r, 2) ? "closed" : "opened",
                 rng_below(r, 2) ? "" : "(uid=0) by (uid=0)");
    } else if (dice < 630) { /* systemd */
        uint32_t s = rng_below(r, 8);
        uint32_t u = rng_below(r, NELEM(BG_UNITS));
        uint32_t sess = rng_range(r, 1000, 99999);
        if (s == 0)
            emit(g, t_us, 30, host, "systemd", 1, r5424, "Starting %s.service - %s...",
                 BG_UNITS[u].unit, BG_UNITS[u].desc);
        else if (s == 1)
            emit(g, t_us, 30, host, "systemd", 1, r5424, "Finished %s.service - %s.",
                 BG_UNITS[u].unit, BG_UNITS[u].desc);
        else if (s == 2)
            emit(g, t_us, 30, host, "systemd", 1, r5424, "%s.service: Deactivated successfully.",
                 BG_UNITS[u].unit);
        else if (s == 3)
            emit(g, t_us, 30, host, "systemd", 1, r5424, "%s.service: Consumed %u.%03us CPU time.",
                 BG_UNITS[u].unit, rng_below(r, 20), rng_below(r, 1000));
        else if (s == 4)
            emit(g, t_us, 30, host, "systemd", 1, r5424,
                 "Started session-%u.scope - Session %u of User %s.", sess, sess, PICK(r, STAFF));
        else if (s == 5)
            emit(g, t_us, 30, host, "systemd-logind", rng_range(r, 500, 900), r5424,
                 "New session %u of user %s.", sess, PICK(r, STAFF));
        else if (s == 6)
            emit(g, t_us, 30, host, "systemd-logind", rng_range(r, 500, 900), r5424,
                 "Session %u logged out. Waiting for processes to exit.", sess);
        else {
            uint32_t uid = 1000 + rng_below(r, 20);
            emit(g, t_us, 30, host, "systemd", 1, r5424,
                 "Stopping user@%u.service - User Manager for UID %u...", uid, uid);
        }
    } else if (dice < 670) { /* sudo */
        const char *user = PICK(r, STAFF);
        if (rng_below(r, 3))
            emit(g, t_us, 85, host, "sudo", -1, r5424,
                 "%8s : TTY=pts/%u ; PWD=/home/%s ; USER=root ; COMMAND=%s", user, rng_below(r, 6),
                 user, PICK(r, SUDO_CMDS));
        else
            emit(g, t_us, 86, host, "sudo", -1, r5424,
                 "pam_unix(sudo:session): session opened for user root(uid=0) by %s(uid=%u)", user,
                 1000 + rng_below(r, 20));
    } else if (dice < 740) { /* kernel */
        kernel_stamp(g, h, t_us, stamp, sizeof stamp);
        uint32_t s = rng_below(r, 6);
        if (s == 0) {
            ip_str(ip4(PICK(r, BG_CLIENT_NETS), rng_range(r, 0, 255), rng_range(r, 0, 255),
                       rng_range(r, 1, 254)),
                   ip, sizeof ip);
            ip_str(bg_internal_ip(r), ip2, sizeof ip2);
            emit(g, t_us, 4, host, "kernel", -1, r5424,
                 "%s [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:%02x:%02x:%02x SRC=%s DST=%s LEN=40 "
                 "TOS=0x00 PREC=0x00 TTL=%u ID=%u PROTO=TCP SPT=%u DPT=%u WINDOW=1024 RES=0x00 SYN "
                 "URGP=0",
                 stamp, rng_below(r, 256), rng_below(r, 256), rng_below(r, 256), ip, ip2,
                 rng_range(r, 40, 250), rng_below(r, 65536), rng_range(r, 1024, 65535),
                 PICK(r, ((const unsigned[]){23, 445, 3389, 8080, 5900, 1433})));
        } else if (s == 1)
            emit(g, t_us, 6, host, "kernel", -1, r5424,
                 "%s docker0: port %u(veth%06x) entered forwarding state", stamp,
                 rng_range(r, 1, 9), rng_below(r, 1u << 24));
        else if (s == 2)
            emit(g, t_us, 6, host, "kernel", -1, r5424,
                 "%s perf: interrupt took too long (%u > %u), lowering "
                 "kernel.perf_event_max_sample_rate to %u",
                 stamp, rng_range(r, 2501, 4000), 2500, rng_range(r, 40000, 79750));
        else if (s == 3)
            emit(g, t_us, 6, host, "kernel", -1, r5424,
                 "%s EXT4-fs (sda1): mounted filesystem with ordered data mode. Quota mode: none.",
                 stamp);
        else if (s == 4)
            emit(g, t_us, 4, host, "kernel", -1, r5424,
                 "%s TCP: request_sock_TCP: Possible SYN flooding on port %u. Sending cookies.",
                 stamp, PICK(r, ((const unsigned[]){80, 443, 8443})));
        else
            emit(g, t_us, 6, host, "kernel", -1, r5424, "%s eth0: renamed from veth%06x", stamp,
                 rng_below(r, 1u << 24));
    } else if (dice < 840) { /* Cisco */
        int sw = (int)rng_below(r, (uint32_t)g->n_switch);
        int port = rng_range(r, 1, 24);
        uint32_t s = rng_below(r, 10);
        uint32_t seq = ++g->cisco_seq[sw];
        set_time(g, t_us);
        ip_str(bg_internal_ip(r), ip, sizeof ip);
        if (s < 2) {
            /* At most one background down per port per 660 s, on member 1 only. */
            int down = rng_below(r, 2) && t_us - g->bg_last_down[sw][port - 1] > 660 * US_PER_S;
            if (down)
                g->bg_last_down[sw][port - 1] = t_us;
            emit(g, t_us, cisco_pri(3), g->switches[sw], NULL, -1, 0,
                 CISCO_HDR "%%LINK-3-UPDOWN: Interface GigabitEthernet1/0/%d, changed state to %s",
                 seq, g->ts3164, ms, port, down ? "down" : "up");
        } else if (s < 4)
            emit(g, t_us, cisco_pri(5), g->switches[sw], NULL, -1, 0,
                 CISCO_HDR
                 "%%LINEPROTO-5-UPDOWN: Line protocol on Interface GigabitEthernet1/0/%d, "
                 "changed state to up",
                 seq, g->ts3164, ms, port);
        else if (s < 5)
            emit(g, t_us, cisco_pri(5), g->switches[sw], NULL, -1, 0,
                 CISCO_HDR "%%SYS-5-CONFIG_I: Configured from console by %s on vty0 (%s)", seq,
                 g->ts3164, ms, PICK(r, CISCO_USERS), ip);
        else if (s < 7)
            emit(g, t_us, cisco_pri(5), g->switches[sw], NULL, -1, 0,
                 CISCO_HDR "%%SEC_LOGIN-5-LOGIN_SUCCESS: Login Success [user: %s] [Source: %s] "
                           "[localport: 22] at %s UTC",
                 seq, g->ts3164, ms, PICK(r, CISCO_USERS), ip, g->ts3164 + 7);
        else if (s < 8)
            emit(g, t_us, cisco_pri(4), g->switches[sw], NULL, -1, 0,
                 CISCO_HDR "%%SW_MATM-4-MACFLAP_NOTIF: Host %04x.%04x.%04x in vlan %u is flapping "
                           "between port Gi1/0/%d and port Gi1/0/%d",
                 seq, g->ts3164, ms, rng_below(r, 65536), rng_below(r, 65536), rng_below(r, 65536),
                 rng_range(r, 10, 40), port, port % 24 + 1);
        else if (s < 9)
            emit(g, t_us, cisco_pri(5), g->switches[sw], NULL, -1, 0,
                 CISCO_HDR "%%ILPOWER-5-POWER_GRANTED: Interface Gi1/0/%d: Power granted", seq,
                 g->ts3164, ms, port);
        else
            emit(g, t_us, cisco_pri(5), g->switches[sw], NULL, -1, 0,
                 CISCO_HDR "%%SSH-5-SSH2_SESSION: SSH2 Session request from %s (tty = 0) using "
                           "crypto cipher 'aes256-ctr', hmac 'hmac-sha2-256' Succeeded",
                 seq, g->ts3164, ms, ip);
    } else if (dice < 880) { /* Huawei VRP */
        int hw = (int)rng_below(r, (uint32_t)g->n_huawei);
        ip_str(bg_internal_ip(r), ip, sizeof ip);
        uint32_t s = rng_below(r, 4);
        if (s < 2)
            emit(g, t_us, 189, g->huawei[hw], NULL, -1, 0,
                 "%%%%01SHELL/5/CMDRECORD(s)[%u]:Recorded command information. (Task=VT%u, Ip=%s, "
                 "VpnName=, User=%s, AuthenticationMethod=\"Local-user\", Command=\"%s\", "
                 "Result=Success)",
                 rng_below(r, 40), rng_below(r, 5), ip, PICK(r, CISCO_USERS), PICK(r, HW_CMDS));
        else if (s == 2)
            emit(g, t_us, 189, g->huawei[hw], NULL, -1, 0,
                 "%%%%01SSH/5/SSH_USER_LOGIN(s)[%u]:The SSH user succeeded in logging in. "
                 "(UserName=%s, IPAddress=%s, VpnInstanceName=_public_)",
                 rng_below(r, 40), PICK(r, CISCO_USERS), ip);
        else
            emit(g, t_us, 188, g->huawei[hw], NULL, -1, 0,
                 "%%%%01IFNET/4/LINK_STATE(l)[%u]:The line protocol IP on the interface Vlanif%u "
                 "has entered the UP state.",
                 rng_below(r, 40), rng_range(r, 10, 400));
    } else { /* other daemons */
        uint32_t s = rng_below(r, 5);
        ip_str(bg_internal_ip(r), ip, sizeof ip);
        if (s == 0)
            emit(g, t_us, 134, host, "postgres", pid, r5424,
                 "[%u-1] LOG:  checkpoint complete: wrote %u buffers (%u.%u%%); 0 WAL file(s) "
                 "added, 0 removed, %u recycled",
                 rng_below(r, 9) + 1, rng_below(r, 5000), rng_below(r, 9), rng_below(r, 10),
                 rng_below(r, 4));
        else if (s == 1)
            emit(g, t_us, 30, host, "dockerd", pid, r5424,
                 "time=\"%s.%03dZ\" level=info msg=\"ignoring event\" container=%08x%04x "
                 "module=libcontainerd namespace=moby topic=/tasks/delete",
                 g->ts5424, ms, rng_below(r, 0xFFFFFFFFu), rng_below(r, 65536));
        else if (s == 2) {
            set_time(g, t_us);
            emit(g, t_us, 134, host, "haproxy", pid, r5424,
                 "%s:%d [%s.%03d] fe_https~ be_api/api-%02u 0/0/1/%u/%u 200 %u - - ---- "
                 "%u/%u/5/1/0 0/0 \"GET /api/v1/items HTTP/1.1\"",
                 ip, rng_range(r, 32768, 60999), g->tsclf, ms, rng_range(r, 1, 20),
                 rng_below(r, 80), rng_below(r, 90) + 1, rng_below(r, 20000), rng_range(r, 50, 300),
                 rng_range(r, 40, 250));
        } else if (s == 3)
            emit(g, t_us, 30, host, "chronyd", pid, r5424,
                 "Selected source 10.0.0.%u (ntp%u.internal)", rng_range(r, 1, 3),
                 rng_range(r, 1, 3));
        else
            emit(g, t_us, 22, host, "postfix/smtpd", pid, r5424, "connect from unknown[%s]", ip);
    }
}

/* Malformed records for --bad. Each is one '\n'-terminated line (the empty one is just "\n"). */
static void emit_bad(struct gen *g, const char *kind, int64_t t_us)
{
    struct rng *r = &g->bad_rng;
    set_time(g, t_us);
    if (strcmp(kind, "invalid_utf8") == 0) {
        fprintf(g->out,
                "<13>%s app-03 legacyapp[4242]: user=\xff\xfe name=\xc3\x28 "
                "caf\xe9 surrogate=\xed\xa0\x80 end\n",
                g->ts3164);
    } else if (strcmp(kind, "nul_byte") == 0) {
        static const char s[] = "legacyapp[4242]: before-nul\0after-nul field=1\n";
        fprintf(g->out, "<13>%s app-03 ", g->ts3164);
        fwrite(s, 1, sizeof s - 1, g->out);
    } else if (strcmp(kind, "long_line") == 0) {
        char chunk[1024];
        for (size_t i = 0; i < sizeof chunk; i++)
            chunk[i] = (char)('a' + i % 26);
        memcpy(chunk, " key=", 5);
        fprintf(g->out, "<13>%s app-03 legacyapp[4242]: dump", g->ts3164);
        for (int i = 0; i < LONG_LINE_BYTES / (int)sizeof chunk; i++)
            fwrite(chunk, 1, sizeof chunk, g->out);
        fputc('\n', g->out);
    } else if (strcmp(kind, "truncated_json") == 0) {
        fputs("{\"eventName\": \"Cons\n", g->out);
    } else if (strcmp(kind, "empty_line") == 0) {
        fputc('\n', g->out);
    } else { /* binary_garbage */
        int n = rng_range(r, 64, 200);
        for (int i = 0; i < n; i++) {
            int c = (int)rng_below(r, 256);
            fputc(c == '\n' ? 0x80 : c, g->out);
        }
        fputs("\xff\n", g->out);
    }
}

static void plan_bad(struct gen *g)
{
    static const char *const kinds[6] = {"invalid_utf8",   "nul_byte",   "long_line",
                                         "truncated_json", "empty_line", "binary_garbage"};
    uint64_t lo = g->lines / 10, span = g->lines * 8 / 10;
    g->n_bad = 6;
    for (int i = 0; i < 6; i++) {
        uint64_t pos;
        int dup;
        do {
            pos = lo + rng_next(&g->bad_rng) % span;
            dup = 0;
            for (int j = 0; j < i; j++)
                dup |= g->bads[j].line == pos;
        } while (dup);
        g->bads[i].kind = kinds[i];
        g->bads[i].line = pos;
    }
    /* sort by line (insertion sort, 6 items) */
    for (int i = 1; i < 6; i++)
        for (int j = i; j > 0 && g->bads[j].line < g->bads[j - 1].line; j--) {
            struct bad t = g->bads[j];
            g->bads[j] = g->bads[j - 1];
            g->bads[j - 1] = t;
        }
}

static void write_truth(struct gen *g)
{
    FILE *f = fopen(g->truth_path, "w");
    if (!f)
        die("cannot open %s: %s", g->truth_path, strerror(errno));
    qsort(g->tr, g->n_tr, sizeof *g->tr, cmp_tr);
    for (size_t i = 0; i < g->n_tr; i++) {
        const struct truth *t = &g->tr[i];
        char a[48], b[48], first[96], last[96];
        fprintf(f, "{\"scenario\":\"%s\",", t->scenario);
        if (t->expect_none)
            fputs("\"expect\":\"none\",", f);
        fprintf(f, "\"category\":\"%s\",\"entities\":{", t->category);
        switch (t->ent) {
        case ENT_IP:
            ip_str(t->ip, a, sizeof a);
            fprintf(f, "\"src_ip\":\"%s\"", a);
            break;
        case ENT_HOST_DISK:
            disk_name(t->x, t->partition, b, sizeof b);
            fprintf(f, "\"host\":\"%s\",\"disk\":\"%s\"", g->linux_hosts[t->host], b);
            break;
        case ENT_SWITCH_IF:
            iface_name(t->x, b, sizeof b);
            fprintf(f, "\"host\":\"%s\",\"interface\":\"%s\"", g->switches[t->host], b);
            break;
        case ENT_HOST_UNIT:
            fprintf(f, "\"host\":\"%s\",\"service\":\"%s\"", g->linux_hosts[t->host], UNITS[t->x]);
            break;
        default:
            fprintf(f, "\"user\":\"%s\",\"host\":\"%s\"", DENIED_USERS[t->x % NELEM(DENIED_USERS)],
                    g->linux_hosts[t->host]);
            break;
        }
        ts_iso_ms(g, t->first_us, first, sizeof first);
        ts_iso_ms(g, t->last_us, last, sizeof last);
        fprintf(f, "},\"events\":%d,\"first\":\"%s\",\"last\":\"%s\"}\n", t->events, first, last);
    }
    for (int i = 0; i < g->n_bad; i++)
        fprintf(f, "{\"scenario\":\"bad_record\",\"kind\":\"%s\",\"line\":%" PRIu64 "}\n",
                g->bads[i].kind, g->bads[i].line + 1);
    if (fclose(f) != 0)
        die("writing %s: %s", g->truth_path, strerror(errno));
}

static void setup_hosts(struct gen *g)
{
    for (size_t i = 0; i < NELEM(LINUX_ROLES); i++)
        for (int j = 1; j <= LINUX_ROLES[i].count; j++) {
            if (LINUX_ROLES[i].web)
                g->web_hosts[g->n_web++] = g->n_linux;
            snprintf(g->linux_hosts[g->n_linux++], HOST_LEN, "%s-%02d", LINUX_ROLES[i].role, j);
        }
    for (size_t i = 0; i < NELEM(SWITCH_ROLES); i++)
        for (int j = 1; j <= SWITCH_ROLES[i].count; j++)
            snprintf(g->switches[g->n_switch++], HOST_LEN, "%s-%02d", SWITCH_ROLES[i].role, j);
    for (size_t i = 0; i < NELEM(HUAWEI_ROLES); i++)
        for (int j = 1; j <= HUAWEI_ROLES[i].count; j++)
            snprintf(g->huawei[g->n_huawei++], HOST_LEN, "%s-%02d", HUAWEI_ROLES[i].role, j);
    for (int i = 0; i < g->n_linux; i++)
        g->uptime_base_us[i] = (3600 + (int64_t)rng_below(&g->plan_rng, 90 * 86400)) * US_PER_S +
                               rng_below(&g->plan_rng, 1000000);
    for (int i = 0; i < g->n_switch; i++)
        for (int p = 0; p < 24; p++)
            g->bg_last_down[i][p] = -1000 * US_PER_S;

    /* Seeded order of the 762 TEST-NET addresses (Fisher-Yates). */
    for (int i = 0; i < 3 * 254; i++) {
        g->ip_perm[i][0] = (uint8_t)(i / 254);
        g->ip_perm[i][1] = (uint8_t)(1 + i % 254);
    }
    for (int i = 3 * 254 - 1; i > 0; i--) {
        int j = (int)rng_below(&g->plan_rng, (uint32_t)i + 1);
        uint8_t t0 = g->ip_perm[i][0], t1 = g->ip_perm[i][1];
        g->ip_perm[i][0] = g->ip_perm[j][0];
        g->ip_perm[i][1] = g->ip_perm[j][1];
        g->ip_perm[j][0] = t0;
        g->ip_perm[j][1] = t1;
    }
    combo_init(&g->disk_combo, &g->plan_rng, (uint64_t)g->n_linux * 25);    /* sdb..sdz */
    combo_init(&g->if_combo, &g->plan_rng, (uint64_t)g->n_switch * 48 * 3); /* members 2..4 */
    combo_init(&g->unit_combo, &g->plan_rng, (uint64_t)g->n_linux * NELEM(UNITS));
    combo_init(&g->user_combo, &g->plan_rng, (uint64_t)g->n_linux * NELEM(DENIED_USERS));
}

static void usage(void)
{
    fputs("usage: gen_corpus [--seed N] [--lines N] [--start 2026-03-02T08:00:00Z] [--rate EPS]\n"
          "                  [--bad] --out FILE --truth FILE\n"
          "  Writes --lines syslog lines (default 100000) with planted incidents and near misses;\n"
          "  the truth file lists each as one JSON line. --rate is events/s of event time\n"
          "  (default 2000); if lines/rate is under 300 s the rate is lowered so every\n"
          "  scenario window fits. --bad adds six malformed records at seeded positions.\n",
          stderr);
    exit(2);
}

static uint64_t parse_u64(const char *s, const char *opt)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || end == s || *s == '-')
        die("%s: not a number: %s", opt, s);
    return (uint64_t)v;
}

int main(int argc, char **argv)
{
    static struct gen G;
    struct gen *g = &G;
    const char *start = "2026-03-02T08:00:00Z";
    g->seed = 42;
    g->lines = 100000;
    g->rate = 2000.0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (strcmp(a, "--seed") == 0 && more)
            g->seed = parse_u64(argv[++i], a);
        else if (strcmp(a, "--lines") == 0 && more)
            g->lines = parse_u64(argv[++i], a);
        else if (strcmp(a, "--start") == 0 && more)
            start = argv[++i];
        else if (strcmp(a, "--rate") == 0 && more) {
            char *end;
            g->rate = strtod(argv[++i], &end);
            if (*end || !(g->rate > 0))
                die("--rate: not a positive number: %s", argv[i]);
        } else if (strcmp(a, "--bad") == 0)
            g->bad = 1;
        else if (strcmp(a, "--out") == 0 && more)
            g->out_path = argv[++i];
        else if (strcmp(a, "--truth") == 0 && more)
            g->truth_path = argv[++i];
        else
            usage();
    }
    if (!g->out_path || !g->truth_path)
        usage();
    struct tm tm = {0};
    char z = 0;
    if (sscanf(start, "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z) != 7 ||
        z != 'Z')
        die("--start: expected YYYY-MM-DDTHH:MM:SSZ, got %s", start);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    g->start_epoch = (int64_t)timegm(&tm);
    if ((double)g->lines / g->rate < MIN_TIMELINE_S) {
        g->rate = (double)g->lines / MIN_TIMELINE_S;
        fprintf(stderr, "gen_corpus: note: rate lowered to %.3f/s so %" PRIu64 " lines span %d s\n",
                g->rate, g->lines, MIN_TIMELINE_S);
    }

    rng_seed(&g->plan_rng, g->seed, 1);
    rng_seed(&g->bg_rng, g->seed, 2);
    rng_seed(&g->bad_rng, g->seed, 3);
    setup_hosts(g);
    plan(g);
    qsort(g->ev, g->n_ev, sizeof *g->ev, cmp_ev);
    if (g->bad)
        plan_bad(g);
    if (g->n_ev + (size_t)g->n_bad > g->lines / 2)
        die("--lines %" PRIu64 " is too small for %zu planted lines; use at least %zu", g->lines,
            g->n_ev + (size_t)g->n_bad, 2 * (g->n_ev + (size_t)g->n_bad));

    g->out = fopen(g->out_path, "wb");
    if (!g->out)
        die("cannot open %s: %s", g->out_path, strerror(errno));
    static char obuf[1 << 20];
    setvbuf(g->out, obuf, _IOFBF, sizeof obuf);
    g->cached_sec = INT64_MIN;

    /* Background clock in microseconds: mean step 1e6/rate, jitter 0.5x..1.5x. */
    uint64_t step_us = (uint64_t)(US_PER_S / g->rate);
    if (step_us == 0)
        step_us = 1;
    int64_t t_next = 0, t_last = 0;
    size_t pi = 0;
    int bi = 0;
    for (uint64_t line = 0; line < g->lines; line++) {
        if (bi < g->n_bad && g->bads[bi].line == line) {
            emit_bad(g, g->bads[bi++].kind, t_last);
            continue;
        }
        uint64_t left = g->lines - line;
        uint64_t owed = (g->n_ev - pi) + (uint64_t)(g->n_bad - bi);
        if (pi < g->n_ev && (g->ev[pi].t_us <= t_next || owed >= left)) {
            emit_planted(g, &g->ev[pi]);
            t_last = g->ev[pi].t_us;
            pi++;
            continue;
        }
        bg_line(g, t_next);
        t_last = t_next;
        t_next += (int64_t)((step_us * (512 + rng_below(&g->bg_rng, 1024))) / 1024);
    }
    if (pi != g->n_ev || bi != g->n_bad)
        die("internal: %zu planted / %d bad records not written", g->n_ev - pi, g->n_bad - bi);
    if (ferror(g->out) || fclose(g->out) != 0)
        die("writing %s: %s", g->out_path, strerror(errno));
    write_truth(g);
    free(g->ev);
    free(g->tr);
    return 0;
}
