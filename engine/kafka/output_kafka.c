/*
 * output_kafka.c - see output_kafka.h.
 *
 * Shape: a thin producer wrapper. The topic handle is created once (it
 * caches the partition count and partitioner); records are copied
 * (RD_KAFKA_MSG_F_COPY) because the writer reuses its JSON buffer. Delivery
 * reports arrive through rd_kafka_poll/flush on the writer thread and only
 * bump counters. linger.ms is short (5 ms): incidents are few, and their
 * latency to a responder matters more than batch size.
 */
#include "engine/kafka/output_kafka.h"

#include "engine/kafka/kafka_produce.h"
#include "engine/config/config.h"

#include <librdkafka/rdkafka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cr_output_kafka {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    uint64_t queued;    /* accepted by producev */
    uint64_t sent;      /* delivery report without error */
    uint64_t failed_dr; /* delivery report with an error */
    uint64_t refused;   /* refused by producev for good (never queued) */
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct cr_output_kafka *o = opaque;
    if (m->err)
        o->failed_dr++;
    else
        o->sent++;
}

struct cr_output_kafka *cr_output_kafka_new(const char *brokers, const char *topic,
                                            const char *const *props, char *err, size_t errlen)
{
    static const char *const defaults[] = {
        "enable.idempotence=true", "acks=all", "linger.ms=5", "compression.type=lz4", NULL,
    };
    char errstr[512];
    struct cr_output_kafka *o = calloc(1, sizeof *o);
    if (!o) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "property 'bootstrap.servers': %s", errstr);
        goto fail_conf;
    }
    if (cr_kafka_conf_set_props(conf, defaults, err, errlen) != 0 ||
        cr_kafka_conf_set_props(conf, props, err, errlen) != 0)
        goto fail_conf;
    cr_kafka_conf_set_log(conf);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, o);
    o->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr); /* owns conf */
    if (!o->rk) {
        snprintf(err, errlen, "cannot create producer: %s", errstr);
        goto fail_conf;
    }
    o->rkt = rd_kafka_topic_new(o->rk, topic, NULL);
    if (!o->rkt) {
        snprintf(err, errlen, "topic '%s': %s", topic, rd_kafka_err2str(rd_kafka_last_error()));
        rd_kafka_destroy(o->rk);
        free(o);
        return NULL;
    }
    return o;
fail_conf:
    rd_kafka_conf_destroy(conf);
    free(o);
    return NULL;
}

int cr_output_kafka_send(struct cr_output_kafka *o, const char *id, const char *json, size_t len)
{
    for (;;) {
        rd_kafka_resp_err_t e =
            rd_kafka_producev(o->rk, RD_KAFKA_V_RKT(o->rkt), RD_KAFKA_V_KEY(id, strlen(id)),
                              RD_KAFKA_V_VALUE((void *)json, len),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
            o->queued++;
            rd_kafka_poll(o->rk, 0); /* serve delivery reports as we go */
            return 0;
        }
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            o->refused++;
            return -1;
        }
        rd_kafka_poll(o->rk, 100); /* backpressure: let deliveries drain, then retry */
    }
}

int cr_output_kafka_flush(struct cr_output_kafka *o, int timeout_ms)
{
    rd_kafka_flush(o->rk, timeout_ms);
    uint64_t failed = o->failed_dr + o->refused;
    if (failed == 0)
        return 0;
    return failed >= (uint64_t)INT_MAX ? INT_MIN + 1 : -(int)failed;
}

void cr_output_kafka_stats(const struct cr_output_kafka *o, uint64_t *sent, uint64_t *failed)
{
    if (sent)
        *sent = o->sent;
    if (failed)
        *failed = o->failed_dr + o->refused;
}

uint64_t cr_output_kafka_pending(const struct cr_output_kafka *o)
{
    return o->queued - o->sent - o->failed_dr;
}

void cr_output_kafka_free(struct cr_output_kafka *o)
{
    if (!o)
        return;
    rd_kafka_flush(o->rk, 5000);
    /* what is left will not be delivered in time: purge so each gets a
     * failed delivery report (ERR__PURGE_QUEUE / _INFLIGHT) and is counted */
    rd_kafka_purge(o->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(o->rk, 0);
    rd_kafka_topic_destroy(o->rkt);
    rd_kafka_destroy(o->rk);
    free(o);
}

static void sink_send(void *arg, const char *id, const char *json, size_t len)
{
    cr_output_kafka_send(arg, id, json, len);
}

static void sink_finish(void *arg, uint64_t *sent, uint64_t *failed)
{
    cr_output_kafka_flush(arg, 30000);
    cr_output_kafka_stats(arg, sent, failed);
}

struct cr_output cr_output_kafka_sink(struct cr_output_kafka *o)
{
    return (struct cr_output){.send = sink_send, .finish = sink_finish, .arg = o};
}

int cr_output_kafka_for_config(const struct cr_config *cfg, struct cr_output_kafka **out, char *err,
                               size_t errlen)
{
    *out = NULL;
    if (!cfg->kafka_output_topic)
        return 0;
    const char *brk = cfg->kafka_brokers;
    if (!brk) {
        snprintf(err, errlen, "kafka.output_topic: needs kafka.brokers or --brokers");
        return -1;
    }
    const char *props[CR_MAX_KAFKA_PROPS + 1];
    char kvs[CR_MAX_KAFKA_PROPS][512];
    int n = 0;
    for (int i = 0; i < cfg->nkafka_props; i++) {
        const char *k = cfg->kafka_props[i][0];
        if (strncmp(k, "security.", 9) && strncmp(k, "ssl.", 4) && strncmp(k, "sasl.", 5))
            continue;
        snprintf(kvs[n], sizeof kvs[n], "%s=%s", k, cfg->kafka_props[i][1]);
        props[n] = kvs[n];
        n++;
    }
    props[n] = NULL;
    char why[512];
    *out = cr_output_kafka_new(brk, cfg->kafka_output_topic, props, why, sizeof why);
    if (!*out) {
        snprintf(err, errlen, "kafka.output_topic: %s", why);
        return -1;
    }
    return 0;
}
