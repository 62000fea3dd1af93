/* The audit log every node keeps (DESIGN §6): append-only, one line per
 * state transition, each line chained to the one before by a hash, so
 * that altering, removing or inserting a record breaks the chain at that
 * point. Records hold ids, states and node ids — never case content.
 * `by` is the node that caused the transition, or, for a person acting
 * through the node's staff control socket, NODE/STAFF
 * (`ngo.xa/caseworker-2`); the host's administrator is NODE/host-admin.
 *
 * A line, exactly (fields in this order, no spaces):
 *   {"seq":N,"at":"YYYY-MM-DDTHH:MM:SS.mmmZ","node":ID,"subject":HEX32,
 *    "event":STATE,"by":ID,"prev":HEX64,"hash":HEX64}
 * The subject is a referral id in a worker's log and a message id in a
 * broker's.
 * where hash = BLAKE2b-256("haven/audit/v1\0" || the line up to and
 * including the "prev" value) and prev is the hash of the line before
 * (64 zeros for the first). seq counts from 1.
 *
 * Rotation (hv_audit_rotate): the file is renamed STORE.audit.SEQ (SEQ its
 * last record) and a new one begins with a rotation record that goes on
 * with the chain: seq the next number, prev the old file's last hash,
 * event "rotated", subject the first 16 bytes of the hash of the old
 * file's first record (which names that file: its file id). */
#ifndef HV_AUDIT_H
#define HV_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_err.h"
#include "hv_ids.h"

#define HV_AUDIT_LINE_MAX 512
#define HV_AUDIT_ROTATED "rotated" /* the event of a rotated file's first record */
/* A staff member's name: 1..64 bytes of [a-z0-9._-]. */
#define HV_STAFF_MAX 64
/* Who caused a transition: NODE or NODE/STAFF. */
#define HV_BY_MAX (HV_NODE_ID_MAX + 1 + HV_STAFF_MAX)

/* True when `s` is a staff name (1..HV_STAFF_MAX bytes of [a-z0-9._-]). */
bool hv_staff_name_valid(const char *s);

/* True when `by` is a node id, or a node id, '/' and a staff name. */
bool hv_audit_by_valid(const char *by);

typedef struct hv_audit hv_audit;

/* Opens (or creates, mode 0600) the log at `path` and continues its chain.
 * Only the end of the log is read and checked (the last 256 KiB), so that
 * opening takes no longer as the log grows; hv_audit_verify checks it all.
 * A last line cut short by a crash is removed (and reported in `*repaired`
 * when not NULL); other damage there is HV_ECRYPTO, located in `e`.
 * Caller owns `*out`. */
HV_MUST_CHECK hv_err hv_audit_open(hv_audit **out, const char *path, int *repaired,
                                   hv_errmsg *e);

/* Closes; safe on NULL and twice. */
void hv_audit_close(hv_audit **a);

/* Appends one record (written through at once, fdatasync). `subject`
 * may be NULL for node-level events; `by` as hv_audit_by_valid. Returns
 * HV_OK, HV_EINVAL (an id or event outside the allowed alphabet), HV_EIO. */
HV_MUST_CHECK hv_err hv_audit_append(hv_audit *a, const char *node, const uint8_t subject[16],
                                     const char *event, const char *by);

/* The same in two steps, for many records at once: hv_audit_add chains a
 * record in memory; hv_audit_flush writes all added records with one write
 * and one fdatasync. Records a failed write could not put in the file are
 * dropped, and the chain goes on from the file's last record. */
HV_MUST_CHECK hv_err hv_audit_add(hv_audit *a, const char *node, const uint8_t subject[16],
                                  const char *event, const char *by);
HV_MUST_CHECK hv_err hv_audit_flush(hv_audit *a);

/* For a node whose records must be as durable as its store's commits, in
 * three steps with one fsync per commit: hv_audit_pending hands the added
 * records to the caller, who stores them in the same transaction as the
 * changes they record; after the commit hv_audit_write writes them to the
 * file without waiting for the disk, and hv_audit_sync (now and then)
 * makes the file durable, after which the caller may drop its copies. On
 * restart, hv_audit_recover appends the stored copies the file missed.
 * `*last_seq` is the number of the last record in the text. */
void hv_audit_pending(const hv_audit *a, const char **text, size_t *len, uint64_t *last_seq);

/* Writes the pending records (one write, no fdatasync). HV_EIO leaves the
 * file as it was and the records pending, to be written again. */
HV_MUST_CHECK hv_err hv_audit_write(hv_audit *a);

/* The caller's commit failed: forgets the pending records, and the chain
 * goes back to the last written one. */
void hv_audit_discard(hv_audit *a);

/* fdatasync (skipped when nothing was written since the last one);
 * `*synced_seq` (may be NULL) gets the last record now durable. May run
 * on another thread than the writer: it covers what was written before
 * it started. Once an fdatasync has failed, HV_EIO for good: nothing
 * written since is reported durable. */
HV_MUST_CHECK hv_err hv_audit_sync(hv_audit *a, uint64_t *synced_seq);

/* Runs hv_audit_sync every `every_ms` on a thread of its own until
 * hv_audit_close, so that the writer never waits for the disk.
 * HV_EIO when the thread cannot start. */
HV_MUST_CHECK hv_err hv_audit_sync_every(hv_audit *a, unsigned every_ms);

/* Stops the thread of hv_audit_sync_every, waiting for a sync under way
 * (so that the log can be rotated; start it again after). Safe when none
 * runs. */
void hv_audit_sync_stop(hv_audit *a);

/* The last record known durable; HV_EIO once a sync has failed. */
HV_MUST_CHECK hv_err hv_audit_synced(hv_audit *a, uint64_t *synced_seq);

/* Appends the records of `text` (whole lines, as hv_audit_pending gave
 * them) that come after the file's last one, checking that they chain on,
 * then writes them (hv_audit_sync makes them durable, once for all the
 * copies replayed). HV_ECRYPTO when they do not. */
HV_MUST_CHECK hv_err hv_audit_recover(hv_audit *a, const char *text, size_t len);

/* Where the written chain stands: its last record's number and hash, and
 * the hash of the file's first record (the file's id, which a signed head
 * names: hv_audit_head.h). False, and nothing meaningful, while the file
 * holds no record. Read on the writer's thread. */
bool hv_audit_tip(const hv_audit *a, uint64_t *seq, uint8_t hash[32], uint8_t file_id[32]);

/* Rotates the log (not one with a syncer running: HV_EINVAL): makes the
 * file durable, renames it to PATH.SEQ (written into `old_path`, `cap`
 * bytes; HV_EEXIST when that exists), and starts a new file at PATH whose
 * first record, by `by`, continues the chain and names the old file.
 * Nothing may be pending. HV_EIO; on failure the log goes on as before
 * where it can. */
HV_MUST_CHECK hv_err hv_audit_rotate(hv_audit *a, const char *node, const char *by,
                                     char *old_path, size_t cap, hv_errmsg *e);

/* What hv_audit_verify found. */
typedef struct hv_audit_result {
    uint64_t records;      /* intact records before the first break (all, when intact) */
    uint64_t first_seq;    /* the number of the text's first record (1, or a rotated
                              file's first) */
    uint64_t last_seq;     /* the number of the last intact record */
    uint64_t broken_line;  /* 1-based line of the first break, 0 when intact */
    char why[160];         /* what is wrong there */
    uint8_t last_hash[32]; /* hash of the last intact record */
} hv_audit_result;

/* Checks a whole log held in memory. Returns HV_OK when every record is
 * well formed and chained, HV_ECRYPTO otherwise (`out` says where). A log
 * that starts with a rotation record is checked from it on; rotation
 * records inside the text (files given one after the other) must chain on
 * and name the file before them. */
HV_MUST_CHECK hv_err hv_audit_verify(const char *text, size_t len, hv_audit_result *out);

#endif
