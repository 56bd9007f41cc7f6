/*
 * writer.c - see writer.h.
 */
#include "engine/pipeline/writer.h"

#include "engine/grade/action.h"
#include "engine/grade/assess.h"
#include "engine/grade/lifecycle.h"
#include "engine/grade/topology.h"

#include <jansson.h>
#include "base/clock.h"

#include "base/crashpoint.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CR_WRITER_MAX_TXN_ITEMS 4096
#define CR_WRITER_INBOX_LIMIT 65536

struct cr_writer {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;    /* inbox not empty */
    pthread_cond_t roomy; /* inbox below its limit */
    struct cr_wmsg *head, *tail;
    size_t queued;
    int senders_left;

    struct cr_store *store;
    int64_t commit_interval_ms;
    uint64_t max_rejects;
    const char *const *input_names;
    const _Atomic int *ninputs; /* published by the ingest thread (writer.h) */

    _Atomic int failed;
    char err[1280];
    struct cr_writer_stats stats;
    int closed; /* under mu: the writer stopped taking messages (actions fail) */
    /* what other threads may read (under pub_mu): the counters as of the
     * last commit, and when the last checkpoint became durable */
    pthread_mutex_t pub_mu;
    struct cr_writer_stats published;
    int64_t last_epoch_ms;

    /* checkpoints: epochs wait here until their positions and every
     * shard's snapshot arrived */
    int shards;
    void (*durable_cb)(void *arg, uint64_t epoch);
    void *durable_arg;
    struct cr_output out;                           /* out.send NULL: no output */
    struct cr_assessor assess;                      /* grading (engine/grade/assess.h) */
    struct cr_inventory_walk walk;                  /* assess.walk points here */
    struct cr_topology *topo;                       /* the run's open faults, for root causes */
    _Atomic uint64_t grading_sent, grading_applied; /* reload generations (writer.h) */
    char (*open_ids)[33]; /* incidents whose grade time can raise (outages), for the
                           * wall-clock re-grade */
    size_t nopen, open_cap;
    int64_t next_regrade; /* monotonic ms */
    char **out_json;      /* this transaction's incident versions, produced after commit */
    size_t nout, out_cap;
    struct epoch {
        uint64_t epoch;
        struct cr_wmsg *positions;
        struct cr_wmsg *snaps, *snaps_tail;
        int nsnaps;
    } * ep;
    int nep, ep_cap;
};

/* An action's way back to the thread that sent it (on that thread's
 * stack: the sender waits until done). */
struct cr_wreply {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, rc;
    char *json;
    char err[512];
};

struct cr_waction {
    struct cr_action a;
    struct cr_wreply *reply;
};

static void reply(struct cr_wreply *r, int rc, const char *err)
{
    pthread_mutex_lock(&r->mu);
    r->rc = rc;
    if (err && err != r->err)
        snprintf(r->err, sizeof r->err, "%s", err);
    r->done = 1;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

struct cr_wmsg *cr_wmsg_incident(struct cr_version *v)
{
    struct cr_wmsg *m = calloc(1, sizeof *m);
    if (!m)
        abort(); /* incidents must not be lost; out of memory is not survivable here */
    m->kind = CR_W_INCIDENT;
    m->version = v;
    return m;
}

struct cr_wmsg *cr_wmsg_reject(uint32_t input, uint64_t position, const char *reason,
                               const char *raw, size_t rawlen)
{
    struct cr_wmsg *m = malloc(sizeof *m + rawlen);
    if (!m)
        abort();
    m->next = NULL;
    m->kind = CR_W_REJECT;
    m->version = NULL;
    m->input = input;
    m->position = position;
    snprintf(m->reason, sizeof m->reason, "%s", reason);
    m->rawlen = rawlen;
    memcpy(m->raw, raw, rawlen);
    return m;
}

struct cr_wmsg *cr_wmsg_snapshot(uint64_t epoch, const char *delta, size_t len)
{
    struct cr_wmsg *m = cr_wmsg_reject(0, 0, "", delta ? delta : "", delta ? len : 0);
    m->kind = CR_W_SNAPSHOT;
    m->epoch = epoch;
    return m;
}

struct cr_wmsg *cr_wmsg_epoch(uint64_t epoch, const struct cr_position *pos, int n)
{
    struct cr_wmsg *m = cr_wmsg_reject(0, 0, "", (const char *)pos, sizeof *pos * (size_t)n);
    m->kind = CR_W_EPOCH;
    m->epoch = epoch;
    m->npositions = n;
    return m;
}

struct cr_wmsg *cr_wmsg_done(void)
{
    struct cr_wmsg *m = calloc(1, sizeof *m);
    if (!m)
        abort();
    m->kind = CR_W_DONE;
    return m;
}

static void fail(struct cr_writer *w, const char *what)
{
    if (!atomic_load(&w->failed)) {
        snprintf(w->err, sizeof w->err, "%s: %s", what, cr_store_errmsg(w->store));
        atomic_store(&w->failed, 1);
        if (w->durable_cb)
            w->durable_cb(w->durable_arg, 0); /* wake whoever waits for an epoch */
    }
}

static void drop_output(struct cr_writer *w)
{
    for (size_t i = 0; i < w->nout; i++)
        free(w->out_json[i]);
    w->nout = 0;
}

/* Committed versions go to the output topic, keyed by id: only what is
 * durable in the store is announced. */
static void produce_output(struct cr_writer *w)
{
    for (size_t i = 0; i < w->nout; i++) {
        const char *j = w->out_json[i];
        /* "id" is the first member: {"id":"<32 hex>",... */
        char id[33] = "";
        const char *q = strstr(j, "\"id\":\"");
        if (q)
            snprintf(id, sizeof id, "%.32s", q + 6);
        w->out.send(w->out.arg, id, j, strlen(j));
        free(w->out_json[i]);
    }
    w->nout = 0;
}

static void free_list(struct cr_wmsg *m)
{
    for (struct cr_wmsg *next; m; m = next) {
        next = m->next;
        free(m->version);
        free(m);
    }
}

struct cr_wgrading {
    const struct cr_inventory *inv;
    struct cr_grade_policy policy;
};

static int time_can_raise(const json_t *o)
{
    const json_t *im = json_object_get(o, "impact");
    const char *out = json_string_value(json_object_get(im, "outage"));
    return (out && strcmp(out, "none") != 0) || json_object_get(im, "defacement") ||
           json_object_get(im, "control_plane");
}

static void track_open(struct cr_writer *w, const char *id)
{
    for (size_t i = 0; i < w->nopen; i++)
        if (strcmp(w->open_ids[i], id) == 0)
            return;
    if (w->nopen == w->open_cap) {
        w->open_cap = w->open_cap ? w->open_cap * 2 : 64;
        w->open_ids = realloc(w->open_ids, w->open_cap * sizeof *w->open_ids);
        if (!w->open_ids)
            abort();
    }
    snprintf(w->open_ids[w->nopen++], 33, "%s", id);
}

/* The stored version of id, parsed, or NULL. */
static json_t *stored(struct cr_writer *w, const char *id)
{
    char *j = NULL;
    if (cr_store_get_incident(w->store, id, &j, NULL) != CR_STORE_OK)
        return NULL;
    json_t *o = json_loads(j, 0, NULL);
    free(j);
    return o;
}

/* Store an edited incident again (its index from its JSON). */
static int store_json(struct cr_writer *w, const json_t *o)
{
    struct cr_incident idx;
    char *j = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    int rc = !j || cr_incident_index_from_json(o, &idx) != 0 ||
             cr_store_put_incident(w->store, &idx, j, strlen(j)) != 0;
    free(j);
    return rc ? -1 : 0;
}

/* Root causes (topology.h): link obj to its root, or the incidents it
 * roots to it, rewriting the stored side of each link. */
static int link_topology(struct cr_writer *w, json_t *obj)
{
    struct cr_topology_result tr;
    cr_topology_place(w->topo, w->assess.inv, obj, w->assess.policy.topology_window_ms, &tr);
    const char *id = json_string_value(json_object_get(obj, "id"));
    int rc = 0;
    if (tr.root[0]) {
        json_t *r = stored(w, tr.root);
        if (r) {
            cr_topology_add_child(r, id);
            rc |= store_json(w, r);
        }
        json_decref(r);
    }
    for (int i = 0; i < tr.nadopt; i++) {
        json_t *c = stored(w, tr.adopt[i]);
        if (c) {
            cr_topology_adopt(c, id);
            rc |= store_json(w, c);
        }
        json_decref(c);
    }
    return rc;
}

/* Version v as stored JSON: graded, merged with its stored version
 * (assess.h). New evidence for an incident that was closed opens a new
 * one that `follows` it (its id derived from the closed one's, so a replay
 * finds it again): v's id changes to it. v's priority becomes the graded
 * one (the time index keeps it). Returns malloc'd JSON or NULL. */
static char *graded_json(struct cr_writer *w, struct cr_version *v, struct cr_writer_stats *d)
{
    json_t *obj =
        cr_incident_to_jobj(&v->inc, w->input_names,
                            atomic_load_explicit(w->ninputs, memory_order_acquire), v->annotation);
    if (!obj)
        return NULL;
    json_t *prev = stored(w, v->inc.id);
    for (int hops = 0; prev && cr_incident_state(prev) >= CR_ST_CLOSED && hops < 64; hops++) {
        char closed[33], at[40];
        snprintf(closed, sizeof closed, "%s", v->inc.id);
        const char *c = json_string_value(json_object_get(prev, "closed_at"));
        snprintf(at, sizeof at, "%s", c ? c : "");
        cr_incident_make_id(v->inc.id, "reopened", at, strlen(at),
                            (int64_t)strtoull(closed + 16, NULL, 16));
        json_object_set_new(obj, "id", json_string(v->inc.id));
        json_object_set_new(obj, "follows", json_string(closed));
        json_decref(prev);
        prev = stored(w, v->inc.id);
        if (!prev) {
            v->created = 1;
            d->incidents_reopened++;
        }
    }
    cr_assess(&w->assess, obj, prev, cr_assess_now());
    json_decref(prev);
    if (w->topo && link_topology(w, obj) != 0) {
        json_decref(obj);
        return NULL;
    }
    const char *pr = json_string_value(json_object_get(obj, "priority"));
    if (pr)
        snprintf(v->inc.priority, sizeof v->inc.priority, "%s", pr);
    if (time_can_raise(obj) && cr_incident_state(obj) < CR_ST_RESTORED)
        track_open(w, v->inc.id);
    char *out = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(obj);
    return out;
}

/* The counters other threads may read (cr_writer_published). */
static void publish(struct cr_writer *w, int epoch)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    pthread_mutex_lock(&w->pub_mu);
    w->published = w->stats;
    if (epoch)
        w->last_epoch_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    pthread_mutex_unlock(&w->pub_mu);
}

/* The wall clock passed a rung for some open outages: grade each again
 * (assess.h, cr_assess_regrade) and store those that rose, in one
 * transaction. */
static void regrade_open(struct cr_writer *w)
{
    if (atomic_load(&w->failed) || !w->nopen || cr_store_begin(w->store) != 0)
        return;
    int64_t now = cr_assess_now();
    size_t keep = 0;
    uint64_t raised = 0;
    int ok = 1;
    for (size_t i = 0; i < w->nopen && ok; i++) {
        json_t *o = stored(w, w->open_ids[i]);
        if (!o)
            continue;
        if (cr_incident_state(o) < CR_ST_RESTORED)
            memmove(w->open_ids[keep++], w->open_ids[i], 33);
        if (cr_assess_regrade(&w->assess, o, now, "time passed")) {
            char *j = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
            if (!j || store_json(w, o) != 0) {
                fail(w, "re-grading an incident");
                ok = 0;
            } else if (w->out.send) {
                if (w->nout == w->out_cap) {
                    w->out_cap = w->out_cap ? w->out_cap * 2 : 64;
                    w->out_json = realloc(w->out_json, w->out_cap * sizeof *w->out_json);
                    if (!w->out_json)
                        abort();
                }
                w->out_json[w->nout++] = j;
                j = NULL;
            }
            free(j);
            raised++;
        }
        json_decref(o);
    }
    if (ok)
        w->nopen = keep; /* the others moved on (restored, closed): no longer watched */
    if (!ok || cr_store_commit(w->store) != 0) {
        if (ok)
            fail(w, "commit");
        drop_output(w);
        return;
    }
    produce_output(w);
    w->stats.regraded += raised;
    w->stats.commits++;
    publish(w, 0);
}

/* Write one list of messages in one transaction, with an epoch's state
 * deltas and positions if ep is given; frees them. Returns 1 if committed. */
static int write_batch(struct cr_writer *w, struct cr_wmsg *list, struct epoch *ep)
{
    int ok = !atomic_load(&w->failed);
    if (ok && cr_store_begin(w->store) != 0) {
        fail(w, "begin");
        ok = 0;
    }
    struct cr_writer_stats delta = {0};
    struct cr_wreply *replies[64];
    int nreplies = 0;
    for (struct cr_wmsg *m = list; m; m = m->next) {
        if (m->kind == CR_W_ACTION) {
            struct cr_waction *wa = (struct cr_waction *)m->raw;
            struct cr_wreply *r = wa->reply;
            if (!ok) {
                reply(r, CR_ACTION_ERROR, "the store failed: nothing was changed");
                continue;
            }
            free(r->json);
            r->json = NULL;
            r->rc = cr_action_store(w->store, &wa->a, &w->assess, cr_assess_now(), &r->json, r->err,
                                    sizeof r->err);
            if (r->rc == CR_ACTION_ERROR) {
                fail(w, "applying an analyst's move");
                ok = 0;
            } else if (r->rc == CR_ACTION_DONE && r->json && w->out.send) {
                if (w->nout == w->out_cap) {
                    w->out_cap = w->out_cap ? w->out_cap * 2 : 64;
                    w->out_json = realloc(w->out_json, w->out_cap * sizeof *w->out_json);
                    if (!w->out_json)
                        abort();
                }
                w->out_json[w->nout++] = strdup(r->json);
            }
            replies[nreplies++] = r; /* answered once the batch is durable */
            continue;
        }
        if (ok && m->kind == CR_W_INCIDENT) {
            struct cr_version *v = m->version;
            char *json = graded_json(w, v, &delta);
            int rc = !json ? CR_STORE_ERR
                     : v->provisional
                         ? cr_store_put_incident_provisional(w->store, &v->inc, json, strlen(json))
                         : cr_store_put_incident(w->store, &v->inc, json, strlen(json));
            if (rc != 0) {
                fail(w, "writing an incident");
                ok = 0;
            }
            if (json && w->out.send) {
                if (w->nout == w->out_cap) {
                    w->out_cap = w->out_cap ? w->out_cap * 2 : 64;
                    w->out_json = realloc(w->out_json, w->out_cap * sizeof *w->out_json);
                    if (!w->out_json)
                        abort();
                }
                w->out_json[w->nout++] = json; /* the id is in the JSON and in v->inc */
                json = NULL;
            }
            free(json);
            delta.incident_versions++;
            delta.incidents_created += v->created;
            delta.provisional_versions += v->provisional;
        } else if (ok && m->kind == CR_W_REJECT) {
            if (w->stats.rejects_kept + delta.rejects_kept < w->max_rejects) {
                int nin = atomic_load_explicit(w->ninputs, memory_order_acquire);
                const char *name = (int)m->input < nin ? w->input_names[m->input] : NULL;
                int rc = cr_store_put_reject(w->store, name ? name : "input", m->position,
                                             m->reason, m->raw, m->rawlen);
                if (rc == CR_STORE_OK)
                    delta.rejects_kept++;
                else if (rc != CR_STORE_EXISTS) {
                    fail(w, "writing a rejected record");
                    ok = 0;
                }
            } else
                delta.rejects_not_kept++;
        }
    }
    if (ok && ep) {
        for (struct cr_wmsg *m = ep->snaps; ok && m; m = m->next) {
            if (cr_ckpt_apply(m->raw, m->rawlen, w->store) != 0) {
                fail(w, "writing correlation state");
                ok = 0;
            }
            delta.state_bytes += m->rawlen;
        }
        const struct cr_position *pos = (const struct cr_position *)ep->positions->raw;
        for (int i = 0; ok && i < ep->positions->npositions; i++)
            if (cr_store_put_offset(w->store, pos[i].input, pos[i].next) != 0) {
                fail(w, "writing input positions");
                ok = 0;
            }
        char num[32];
        snprintf(num, sizeof num, "%llu", (unsigned long long)ep->epoch);
        if (ok &&
            (cr_store_put_meta(w->store, "epoch", num) != 0 ||
             cr_store_put_meta(w->store, "state_format", cr_correlator_state_format()) != 0)) {
            fail(w, "writing checkpoint metadata");
            ok = 0;
        }
    }
    free_list(list);
    if (ep) {
        free_list(ep->snaps);
        free_list(ep->positions);
    }
    if (ok) {
        if (cr_store_commit(w->store) != 0) {
            fail(w, "commit");
            drop_output(w);
            for (int i = 0; i < nreplies; i++)
                reply(replies[i], CR_ACTION_ERROR, "the store failed: nothing was changed");
            return 0;
        }
        for (int i = 0; i < nreplies; i++)
            reply(replies[i], replies[i]->rc, NULL);
        cr_crash_point(CR_CRASH_TXN);
        if (ep)
            cr_crash_point(CR_CRASH_EPOCH);
        produce_output(w);
        w->stats.incidents_created += delta.incidents_created;
        w->stats.incidents_reopened += delta.incidents_reopened;
        w->stats.incident_versions += delta.incident_versions;
        w->stats.provisional_versions += delta.provisional_versions;
        w->stats.rejects_kept += delta.rejects_kept;
        w->stats.rejects_not_kept += delta.rejects_not_kept;
        w->stats.state_bytes += delta.state_bytes;
        w->stats.commits++;
        if (ep)
            w->stats.epochs++;
        publish(w, ep != NULL);
        if (ep && w->durable_cb)
            w->durable_cb(w->durable_arg, ep->epoch);
        return 1;
    }
    for (int i = 0; i < nreplies; i++)
        reply(replies[i], CR_ACTION_ERROR, "the store failed: nothing was changed");
    drop_output(w);
    if (!atomic_load(&w->failed))
        cr_store_abort(w->store);
    return 0;
}

static struct epoch *epoch_slot(struct cr_writer *w, uint64_t e)
{
    for (int i = 0; i < w->nep; i++)
        if (w->ep[i].epoch == e)
            return &w->ep[i];
    if (w->nep == w->ep_cap) {
        w->ep_cap = w->ep_cap ? w->ep_cap * 2 : 8;
        w->ep = realloc(w->ep, (size_t)w->ep_cap * sizeof *w->ep);
        if (!w->ep)
            abort();
    }
    struct epoch *ep = &w->ep[w->nep++];
    memset(ep, 0, sizeof *ep);
    ep->epoch = e;
    return ep;
}

/* Attach a snapshot or positions message to its epoch. */
static void add_to_epoch(struct cr_writer *w, struct cr_wmsg *m)
{
    struct epoch *ep = epoch_slot(w, m->epoch);
    m->next = NULL;
    if (m->kind == CR_W_EPOCH) {
        free_list(ep->positions);
        ep->positions = m;
    } else {
        if (ep->snaps_tail)
            ep->snaps_tail->next = m;
        else
            ep->snaps = m;
        ep->snaps_tail = m;
        ep->nsnaps++;
    }
}

/* The oldest epoch, if all its parts arrived (epochs complete in order:
 * shards and ingest both emit them in order). */
static struct epoch *complete_epoch(struct cr_writer *w)
{
    if (w->nep == 0)
        return NULL;
    struct epoch *ep = &w->ep[0];
    return ep->positions && ep->nsnaps >= w->shards ? ep : NULL;
}

static void pop_epoch(struct cr_writer *w)
{
    memmove(&w->ep[0], &w->ep[1], (size_t)(w->nep - 1) * sizeof *w->ep);
    w->nep--;
}

static void *writer_main(void *arg)
{
    struct cr_writer *w = arg;
    pthread_setname_np(pthread_self(), "cr-writer");
    struct cr_wmsg *pending = NULL, *pending_tail = NULL;
    size_t npending = 0, nactions = 0;
    int64_t last_commit = cr_mono_ms();
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (!w->head && w->senders_left > 0) {
            int64_t now = cr_mono_ms(), due = INT64_MAX;
            if (npending) /* wait at most until the commit interval elapses */
                due = last_commit + w->commit_interval_ms - now;
            if (w->nopen && w->next_regrade - now < due) /* or the next re-grade */
                due = w->next_regrade - now;
            if (due <= 0)
                break;
            if (due == INT64_MAX) {
                pthread_cond_wait(&w->cv, &w->mu);
                continue;
            }
            struct timespec ts = cr_deadline_in(due);
            pthread_cond_timedwait(&w->cv, &w->mu, &ts);
        }
        struct cr_wmsg *got = w->head;
        w->head = w->tail = NULL;
        w->queued = 0;
        int done = w->senders_left == 0;
        pthread_cond_broadcast(&w->roomy);
        pthread_mutex_unlock(&w->mu);

        for (struct cr_wmsg *m = got, *next; m; m = next) {
            next = m->next;
            m->next = NULL;
            if (m->kind == CR_W_DONE) {
                free(m);
                continue;
            }
            if (m->kind == CR_W_GRADING) {
                /* the incidents before it are graded with what they came with */
                if (npending) {
                    write_batch(w, pending, NULL);
                    pending = pending_tail = NULL;
                    npending = nactions = 0;
                    last_commit = cr_mono_ms();
                }
                const struct cr_wgrading *g = (const struct cr_wgrading *)m->raw;
                w->assess.inv = g->inv;
                w->assess.policy = g->policy;
                cr_topology_free(w->topo);
                w->topo = cr_topology_new();
                atomic_store(&w->grading_applied, m->epoch);
                free(m);
                continue;
            }
            if (m->kind == CR_W_SNAPSHOT || m->kind == CR_W_EPOCH) {
                add_to_epoch(w, m);
                struct epoch *ep;
                while ((ep = complete_epoch(w))) {
                    /* the incidents before the mark go in the epoch's transaction */
                    struct epoch e = *ep;
                    pop_epoch(w);
                    write_batch(w, pending, &e);
                    pending = pending_tail = NULL;
                    npending = nactions = 0;
                    last_commit = cr_mono_ms();
                }
                continue;
            }
            if (pending_tail)
                pending_tail->next = m;
            else
                pending = m;
            pending_tail = m;
            npending++;
            nactions += m->kind == CR_W_ACTION;
            if (npending >= CR_WRITER_MAX_TXN_ITEMS || nactions == 64) {
                write_batch(w, pending, NULL);
                pending = pending_tail = NULL;
                npending = nactions = 0;
                last_commit = cr_mono_ms();
            }
        }
        /* a person waits for an action: its batch goes now */
        if (npending && (done || nactions || cr_mono_ms() - last_commit >= w->commit_interval_ms)) {
            write_batch(w, pending, NULL);
            pending = pending_tail = NULL;
            npending = nactions = 0;
            last_commit = cr_mono_ms();
        }
        if (!npending && cr_mono_ms() >= w->next_regrade) {
            regrade_open(w);
            w->next_regrade = cr_mono_ms() + w->assess.policy.regrade_interval_ms;
        }
        if (done && !npending) {
            pthread_mutex_lock(&w->mu);
            int empty = w->head == NULL;
            w->closed = empty; /* from here an action is refused, not lost */
            pthread_mutex_unlock(&w->mu);
            if (empty)
                break;
        }
    }
    /* epochs that never completed (the run stopped first) are not durable */
    for (int i = 0; i < w->nep; i++) {
        free_list(w->ep[i].snaps);
        free_list(w->ep[i].positions);
    }
    free(w->ep);
    w->ep = NULL;
    w->nep = 0;
    if (w->out.send) {
        w->out.finish(w->out.arg, &w->stats.output_sent, &w->stats.output_failed);
    }
    free(w->out_json);
    free(w->open_ids);
    cr_topology_free(w->topo);
    cr_inventory_walk_free(&w->walk);
    return NULL;
}

struct cr_writer *cr_writer_start(struct cr_store *store, int senders, int64_t commit_interval_ms,
                                  uint64_t max_rejects, const char *const *input_names,
                                  const _Atomic int *ninputs)
{
    struct cr_writer *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    pthread_cond_init(&w->roomy, NULL);
    pthread_mutex_init(&w->pub_mu, NULL);
    w->store = store;
    w->senders_left = senders;
    w->commit_interval_ms = commit_interval_ms > 0 ? commit_interval_ms : 1;
    w->max_rejects = max_rejects;
    w->input_names = input_names;
    w->ninputs = ninputs;
    cr_grade_policy_defaults(&w->assess.policy);
    w->assess.walk = &w->walk;
    w->topo = cr_topology_new();
    w->next_regrade = cr_mono_ms() + w->assess.policy.regrade_interval_ms;
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        free(w);
        return NULL;
    }
    return w;
}

void cr_writer_send_list(struct cr_writer *w, struct cr_wmsg *head, struct cr_wmsg *tail, size_t n)
{
    if (!head)
        return;
    pthread_mutex_lock(&w->mu);
    /* bounded inbox: a sender waits while the writer is behind (backpressure
     * reaches the shards, then the workers, then ingest) */
    while (w->queued >= CR_WRITER_INBOX_LIMIT && !atomic_load(&w->failed))
        pthread_cond_wait(&w->roomy, &w->mu);
    if (w->tail)
        w->tail->next = head;
    else
        w->head = head;
    w->tail = tail;
    w->queued += n;
    for (struct cr_wmsg *m = head; m; m = m->next)
        if (m->kind == CR_W_DONE)
            w->senders_left--;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void cr_writer_send_versions(struct cr_writer *w, struct cr_version *v)
{
    struct cr_wmsg *head = NULL, *tail = NULL;
    size_t n = 0;
    for (struct cr_version *next; v; v = next) {
        next = v->next;
        v->next = NULL;
        struct cr_wmsg *m = cr_wmsg_incident(v);
        if (tail)
            tail->next = m;
        else
            head = m;
        tail = m;
        n++;
    }
    cr_writer_send_list(w, head, tail, n);
}

void cr_writer_send(struct cr_writer *w, struct cr_wmsg *m)
{
    m->next = NULL;
    cr_writer_send_list(w, m, m, 1);
}

void cr_writer_set_grading(struct cr_writer *w, const struct cr_inventory *inv,
                           const struct cr_grade_policy *p)
{
    w->assess.inv = inv;
    if (p)
        w->assess.policy = *p;
    w->next_regrade = cr_mono_ms() + w->assess.policy.regrade_interval_ms;
}

void cr_writer_set_output(struct cr_writer *w, const struct cr_output *out) { w->out = *out; }

uint64_t cr_writer_send_grading(struct cr_writer *w, const struct cr_inventory *inv,
                                const struct cr_grade_policy *p)
{
    struct cr_wmsg *m = calloc(1, sizeof *m + sizeof(struct cr_wgrading));
    if (!m)
        abort();
    m->kind = CR_W_GRADING;
    m->epoch = atomic_fetch_add(&w->grading_sent, 1) + 1;
    struct cr_wgrading *g = (struct cr_wgrading *)m->raw;
    g->inv = inv;
    if (p)
        g->policy = *p;
    else
        cr_grade_policy_defaults(&g->policy);
    m->rawlen = sizeof *g;
    uint64_t gen = m->epoch;
    cr_writer_send(w, m);
    return gen;
}

uint64_t cr_writer_grading_applied(struct cr_writer *w) { return atomic_load(&w->grading_applied); }

void cr_writer_set_checkpoints(struct cr_writer *w, int shards,
                               void (*cb)(void *arg, uint64_t epoch), void *arg)
{
    w->shards = shards;
    w->durable_cb = cb;
    w->durable_arg = arg;
}

int cr_writer_failed(struct cr_writer *w) { return atomic_load(&w->failed); }

int cr_writer_join(struct cr_writer *w, struct cr_writer_stats *stats, char *err, size_t errlen)
{
    pthread_join(w->thread, NULL);
    int rc = atomic_load(&w->failed) ? -1 : 0;
    if (rc && err)
        snprintf(err, errlen, "%s", w->err);
    if (stats)
        *stats = w->stats;
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    pthread_cond_destroy(&w->roomy);
    pthread_mutex_destroy(&w->pub_mu);
    free(w);
    return rc;
}

int cr_writer_act(struct cr_writer *w, const struct cr_action *a, char **json, char *err,
                  size_t errlen)
{
    *json = NULL;
    struct cr_wreply r = {.rc = CR_ACTION_ERROR};
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.cv, NULL);
    struct cr_wmsg *m = calloc(1, sizeof *m + sizeof(struct cr_waction));
    if (!m)
        abort();
    m->kind = CR_W_ACTION;
    struct cr_waction *wa = (struct cr_waction *)m->raw;
    wa->a = *a;
    wa->reply = &r;
    m->rawlen = sizeof *wa;
    pthread_mutex_lock(&w->mu);
    int closed = w->closed || atomic_load(&w->failed);
    pthread_mutex_unlock(&w->mu);
    if (closed) {
        free(m);
        snprintf(err, errlen, "the engine has stopped writing the store");
    } else {
        cr_writer_send(w, m); /* the writer frees it */
        pthread_mutex_lock(&r.mu);
        while (!r.done)
            pthread_cond_wait(&r.cv, &r.mu);
        pthread_mutex_unlock(&r.mu);
        snprintf(err, errlen, "%s", r.err);
        *json = r.json;
    }
    pthread_mutex_destroy(&r.mu);
    pthread_cond_destroy(&r.cv);
    return closed ? CR_ACTION_ERROR : r.rc;
}

void cr_writer_published(struct cr_writer *w, struct cr_writer_stats *st, int64_t *last_epoch_ms)
{
    pthread_mutex_lock(&w->pub_mu);
    *st = w->published;
    *last_epoch_ms = w->last_epoch_ms;
    pthread_mutex_unlock(&w->pub_mu);
}
