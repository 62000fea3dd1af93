/* The audit heads a broker witnessed (issue 20): for each node homed here
 * (and each peer broker), the last signed heads it handed over, in the
 * broker's store, bounded per node. A table of its own beside the queue's;
 * written inside the store's group transaction. See hv_audit_head.h. */
#ifndef HV_STORE_HEADS_H
#define HV_STORE_HEADS_H

#include <stddef.h>
#include <stdint.h>

#include "hv_err.h"
#include "hv_store.h"

/* Heads kept per node: the latest and the HV_STORE_HEADS_KEEP - 1 before. */
#define HV_STORE_HEADS_KEEP 64

/* Keeps `head` (its encoding, `len` bytes) as node's head at `seq`, and
 * drops the node's oldest beyond HV_STORE_HEADS_KEEP. Opens the group
 * transaction when none is (the caller commits). HV_ESTORE. */
HV_MUST_CHECK hv_err hv_store_head_put(hv_store *s, const char *node, uint64_t seq,
                                       int64_t at_ms, const uint8_t *head, size_t len);

/* The node's latest head into `out` (`cap` bytes): HV_OK, HV_ENOTFOUND,
 * HV_ESTORE. */
HV_MUST_CHECK hv_err hv_store_head_latest(hv_store *s, const char *node, uint8_t *out,
                                          size_t cap, size_t *len);

/* Called with each head, oldest first; non-zero stops the reading. */
typedef int (*hv_store_head_fn)(void *arg, uint64_t seq, const uint8_t *head, size_t len);

/* For `haven audit heads --store`: opens the store at `path` read-only
 * (a broker may be running on it: a WAL reader) and hands `fn` the heads
 * it keeps for `node`, oldest first; `*n` how many. A store from before
 * the table has none. HV_ENOTFOUND (no such store), HV_ESTORE. */
HV_MUST_CHECK hv_err hv_store_heads_read(const char *path, const char *node,
                                         hv_store_head_fn fn, void *arg, size_t *n,
                                         hv_errmsg *e);

#endif
