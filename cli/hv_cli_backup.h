/* `haven backup` and `haven restore`: a node's store to a file and back
 * (cli/hv_cli_backup.c).
 *
 * A backup is an SQLite file: a page-for-page copy of the node's store made
 * with SQLite's online backup API, so that it is consistent while the
 * daemon runs (one read transaction sees one committed state), plus a table
 * `haven_backup` naming the node, its kind (broker or worker) and when the
 * copy was taken. It holds whatever the store holds: at a worker the
 * sealed cases, readable with the node's key; it is written mode 0600.
 *
 * A restore puts such a file back in place of the store named by the
 * configuration. It refuses while the store is open (the daemon runs: its
 * connection holds a lock on the file; HV_ESTORE), a file that is not a
 * Haven backup (HV_EDECODE) and a backup of another node or kind
 * (HV_EADDRESS). The audit log (STORE.audit) is not part of a backup: it
 * is append-only, stays in place, and records what really happened.
 * A restored worker's store gets a replay request (table replay_request,
 * read by common/hv_client.c): the backup's time less S_REPLAY_MARGIN_S. */
#ifndef HV_CLI_BACKUP_H
#define HV_CLI_BACKUP_H

#include "hv_cli.h"

/* haven backup --config NODE.ini --out FILE. Returns an exit code. */
int hv_cli_backup(const opts *o);

/* haven restore --config NODE.ini --in FILE. Returns an exit code. */
int hv_cli_restore(const opts *o);

#endif
