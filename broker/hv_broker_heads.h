/* The heads of the broker's own audit log (internal to broker/; issue 20,
 * hv_audit_head.h): the broker signs where its custody log stands every
 * HV_BROKER_HEAD_EVERY records and HV_BROKER_HEAD_MS after a record was
 * left unsigned, and at a clean stop, covering only records the log's
 * sync thread has made durable; it keeps them in its store beside the
 * heads it witnesses for its nodes (hv_store_heads.h, under its own id),
 * and refuses to start on a log shorter than, or different from, the last
 * one. Each head goes to every peer over our links, where it is witnessed
 * as a node's is (hv_broker_witness.h); when a link comes up we ask the
 * peer for the head it holds and stop if the log no longer matches it. */
#ifndef HV_BROKER_HEADS_H
#define HV_BROKER_HEADS_H

#include <stdbool.h>
#include <stdint.h>

#include "hv_audit_head.h"
#include "hv_broker.h"

#define HV_BROKER_HEAD_EVERY 256
#define HV_BROKER_HEAD_MS 10000

/* The broker's part (hv_broker_heads.c). */
typedef struct hv_broker_heads {
    hv_audit_head last;         /* the last head signed */
    bool has_last;              /* `last` is set */
    uint64_t cand_seq;          /* a head waiting for its record to be durable, 0: none */
    uint8_t cand_hash[32], cand_file[32];
    int64_t unsigned_since;     /* monotonic ms a record was first left unsigned, 0: none */
    bool failed;                /* a peer's witnessed head no longer matches the log */
} hv_broker_heads;

/* After hv_broker_custody_open: checks the log against the last head. */
HV_MUST_CHECK hv_err hv_broker_heads_open(hv_broker *b, hv_errmsg *e);

/* From the loop: signs and keeps a head when one is due. */
void hv_broker_heads_tick(hv_broker *b, int64_t now);

/* After hv_broker_custody_finish (the log synced): a last head. */
void hv_broker_heads_finish(hv_broker *b);

/* SIGUSR1, from the loop: commits what is owed, signs a head of the log
 * as it stands, rotates it (hv_audit_rotate, by the broker) and signs a
 * head of the new file, each kept and sent to the peers; logged
 * audit_rotated, or audit_rotate_failed with the log going on as it was. */
void hv_broker_heads_rotate(hv_broker *b);

struct hv_session;
struct hv_control;

/* Our link to a peer is up: the latest head goes to the peer (AUDIT_HEAD),
 * and we ask for the one it holds (AUDIT_HEAD_GET). */
void hv_broker_heads_link_up(hv_broker *b, struct hv_session *link);

/* AUDIT_WITNESSED on our link: a head of ours, signed by us, that the log
 * no longer matches stops the broker (logged audit_log_mismatch). */
void hv_broker_heads_on_witnessed(hv_broker *b, struct hv_session *link,
                                  const struct hv_control *m);

#endif
