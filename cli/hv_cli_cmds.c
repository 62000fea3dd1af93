/* haven: the command-line tool. This file holds the catalogue of its
 * commands (what each takes and says in its help), `haven help`, and
 * main(), which finds the command and runs it; the commands themselves are
 * in haven.c, hv_cli_ops.c and hv_cli_work.c. See hv_cli.h for exit codes. */
#include <stdio.h>
#include <string.h>

#include "hv_cli.h"
#include "hv_cli_backup.h"
#include "hv_crypto.h"
#include "hv_version.h"

/* Option texts that several commands share. */
#define S_JSON "  --json               the answer as JSON, for scripts\n"
#define S_REG                                                                                  \
    "  --authority=AUTH.pub the network authority's public keys (pinned)\n"                    \
    "  --registry=FILE      the signed registry\n"
#define S_OPS                                                                                  \
    "  --key=OPERATOR.key   an operator node's secret keys\n" S_REG                            \
    "  --broker=BROKER_ID   the broker, as the registry names it\n"                            \
    "  --endpoint=ENDPOINT  its operators' endpoint, e.g. tcp://127.0.0.1:7303\n"              \
    "  --timeout=SECONDS    how long to wait for the answer (default 5)\n"
#define S_WORKER                                                                               \
    "  --config=WORKER.ini  the worker's configuration (its control socket is read there)\n"   \
    "  --socket=PATH        the worker's control socket, instead of --config\n"
#define S_OPS_OPTS "key= authority= registry= broker= endpoint= timeout= json"
#define S_WORK_OPTS "config= socket= json"

#define S_WEB "  --config=WEB.ini     haven-web's configuration (its staff store is named there)\n"
#define S_NAME "  --name=NAME          the staff member (1 to 64 of a-z 0-9 . _ -)\n"
#define S_ROLE                                                                                 \
    "  --role=ROLE          caseworker, supervisor or admin (a router's: coordinator or admin)\n"

static const hv_cli_cmd s_cmds[] = {
    {"keygen", NULL,
     "--id=NODE_ID --out=DIR [--rotate | --prune --authority=AUTH.pub --registry=network.reg]",
     "Makes a node's keys: DIR/NODE_ID.key (secret, mode 0600) and DIR/NODE_ID.pub; with "
     "--rotate adds a new key set to DIR/NODE_ID.key and writes DIR/NODE_ID.next.pub; with "
     "--prune removes the sets the registry no longer lists.",
     "id= out= rotate prune authority= registry=", 0, 0,
     "  --id=NODE_ID         the node's id, as the registry will name it\n"
     "  --out=DIR            where to write both files (neither may exist; with --rotate,\n"
     "                       the directory that holds NODE_ID.key)\n"
     "  --rotate             start a key rotation (OPERATIONS.md: give NODE_ID.next.pub to\n"
     "                       the authority; the node keeps its current keys until the\n"
     "                       registry switches, and destroys them after the grace period)\n"
     "  --prune              destroy the key sets that are spent: older than the node's\n"
     "                       current keys and no longer listed by the registry (what the\n"
     "                       worker does itself when it may write its key file)\n"
     "  --authority=AUTH.pub, --registry=network.reg   with --prune: the registry to follow\n",
     hv_cli_keygen},
    {"registry", "sign", "--authority=AUTH.key --in=network.json --out=network.reg",
     "Signs a registry source with the network authority's key.", "authority= in= out=", 0, 0,
     "  --authority=AUTH.key the network authority's secret keys\n"
     "  --in=FILE            the registry source (JSON, proto/PROTOCOL.md section 8)\n"
     "  --out=FILE           the signed registry to write\n",
     hv_cli_registry},
    {"registry", "verify",
     "[--json] --authority=AUTH.pub [--held-version=N] [--node-store=DB] network.reg",
     "Checks a signed registry: signature, validity, and that the node would take it.",
     "authority= held-version= node-store= json", 1, 1,
     "  --authority=AUTH.pub the network authority's public keys (pinned)\n"
     "  --held-version=N     the version already held: an older one is refused\n"
     "  --node-store=DB      a node's store: checked against the registry the node holds\n"
     "                       (DB.registry-held), as the node checks it at start\n" S_JSON,
     hv_cli_registry},
    {"registry", "show", "[--json] [--authority=AUTH.pub] network.reg",
     "Shows a registry's nodes; with --authority, after checking its signature.",
     "authority= json", 1, 1,
     "  --authority=AUTH.pub check the signature first\n" S_JSON, hv_cli_registry},
    {"seal", NULL,
     "--key=SENDER.key --authority=AUTH.pub --registry=network.reg --to=NODE_ID --type=TYPE "
     "[--referral=HEX32] [--ttl=SECONDS] --in=PLAINTEXT --out=ENVELOPE",
     "Seals a message for one recipient: encrypted to it, signed by the sender.",
     "key= authority= registry= to= type= referral= ttl= in= out=", 0, 0,
     "  --key=SENDER.key     the sender's secret keys\n" S_REG
     "  --to=NODE_ID         the recipient\n"
     "  --type=TYPE          the message type, e.g. CASE_TRANSFER\n"
     "  --referral=HEX32     the referral it belongs to (default: a new one)\n"
     "  --ttl=SECONDS        its time to live\n"
     "  --in=FILE            the plaintext ('-': standard input)\n"
     "  --out=FILE           the envelope to write ('-': standard output)\n",
     hv_cli_seal},
    {"open", NULL,
     "--key=RECIPIENT.key --authority=AUTH.pub --registry=network.reg --in=ENVELOPE "
     "[--out=PLAINTEXT]",
     "Opens an envelope addressed to this node, checking its signature and MAC.",
     "key= authority= registry= in= out=", 0, 0,
     "  --key=RECIPIENT.key  the recipient's secret keys\n" S_REG
     "  --in=FILE            the envelope ('-': standard input)\n"
     "  --out=FILE           the plaintext (default: standard output)\n",
     hv_cli_open},
    {"send", NULL,
     "--key=KEY --authority=AUTH.pub --registry=network.reg [--store=DB] [--timeout=SECONDS] "
     "ENVELOPE...",
     "Hands envelopes to the node's home broker and waits until it holds them.",
     "key= authority= registry= store= timeout=", 1, HV_CLI_ARGS_MAX,
     "  --key=KEY            the sending node's secret keys\n" S_REG
     "  --store=DB           the client's outbox (default: haven-NODE_ID.db)\n"
     "  --timeout=SECONDS    how long to wait for the broker (default 30)\n",
     hv_cli_send},
    {"recv", NULL,
     "[--json] --key=KEY --authority=AUTH.pub --registry=network.reg [--store=DB] [--count=N] "
     "[--timeout=SECONDS] [--out=DIR]",
     "Receives messages for the node from its home broker and acknowledges them.",
     "key= authority= registry= store= timeout= count= out= json", 0, 0,
     "  --key=KEY            the receiving node's secret keys\n" S_REG
     "  --store=DB           the client's store (default: haven-NODE_ID.db)\n"
     "  --count=N            how many to wait for (default 1; 0: only notices)\n"
     "  --timeout=SECONDS    how long to wait (default 10)\n"
     "  --out=DIR            write each envelope to DIR/ID.env\n"
     "  --json               one JSON object a line for each message and notice\n",
     hv_cli_recv},
    {"stats", NULL,
     "[--json] --key=OPERATOR.key --authority=AUTH.pub --registry=network.reg "
     "--broker=BROKER_ID --endpoint=ENDPOINT",
     "A broker's snapshot for operators: queues, counters, rates, peers, sessions.",
     S_OPS_OPTS, 0, 0, S_OPS S_JSON, hv_cli_stats},
    {"deadletters", "list", "[--json] --key=OPERATOR.key --authority=AUTH.pub "
     "--registry=network.reg --broker=BROKER_ID --endpoint=ENDPOINT",
     "Lists a broker's dead letters (metadata only).", S_OPS_OPTS, 0, 0, S_OPS S_JSON,
     hv_cli_deadletters},
    {"deadletters", "show", "[--json] ID --key=OPERATOR.key ... (as for list)",
     "Shows one dead letter's metadata.", S_OPS_OPTS, 1, 1, S_OPS S_JSON, hv_cli_deadletters},
    {"deadletters", "requeue", "[--json] ID --key=OPERATOR.key ... (as for list)",
     "Puts a dead letter back in its queue (recorded at the broker).", S_OPS_OPTS, 1, 1,
     S_OPS S_JSON, hv_cli_deadletters},
    {"deadletters", "purge", "[--json] ID --key=OPERATOR.key ... (as for list)",
     "Deletes a dead letter (recorded at the broker).", S_OPS_OPTS, 1, 1, S_OPS S_JSON,
     hv_cli_deadletters},
    {"monitor", NULL,
     "[--json] --key=OPERATOR.key --authority=AUTH.pub --registry=network.reg "
     "--broker=BROKER_ID --endpoint=EVENTS_ENDPOINT [--country=CC] [--type=TYPE] "
     "[--event=EVENT] [--count=N] [--timeout=SECONDS]",
     "Tails a broker's events (no content, ever).",
     "key= authority= registry= broker= endpoint= country= type= event= count= timeout= json",
     0, 0,
     "  --key=OPERATOR.key   an operator node's secret keys\n" S_REG
     "  --broker=BROKER_ID   the broker, as the registry names it\n"
     "  --endpoint=ENDPOINT  its events endpoint, e.g. tcp://127.0.0.1:7304\n"
     "  --country=CC         only events from or to this country\n"
     "  --type=TYPE          only this message type\n"
     "  --event=EVENT        only this event (stored, delivered, acked, ...)\n"
     "  --count=N            stop after N events\n"
     "  --timeout=SECONDS    stop after this long\n" S_JSON,
     hv_cli_monitor},
    {"audit", "verify", "[--json] [--heads=HEADS --authority=AUTH.pub --registry=network.reg] "
     "AUDIT_LOG...",
     "Checks a node's hash-chained audit log, record by record (with the files it was rotated "
     "into, oldest first), and with --heads against the heads the node signed and its broker "
     "witnessed (a cut tail, a rewritten chain, a swapped file).",
     "json heads= authority= registry=", 1, HV_CLI_ARGS_MAX,
     "  --heads=HEADS        signed heads (haven audit heads), checked against the registry\n"
     S_REG S_JSON,
     hv_cli_audit},
    {"audit", "heads",
     "[--config=WORKER.ini | --socket=PATH | --store=BROKER.db [--node=NODE]] --out=HEADS",
     "Writes the signed heads of the worker's audit log that its broker witnessed, or with "
     "--store those a broker's store holds (read-only; the broker may run), for "
     "'haven audit verify --heads'.", "config= socket= store= node= out=", 0, 0,
     S_WORKER "  --store=BROKER.db    a broker's store: the heads it holds for --node\n"
     "  --node=NODE          whose heads (default: the broker's own, as its audit log "
     "names it)\n"
     "  --out=HEADS          the heads file to write (it must not exist)\n",
     hv_cli_audit_heads_any},
    {"audit", "rotate", "[--config=WORKER.ini | --socket=PATH]",
     "Rotates the worker's audit log: STORE.audit becomes STORE.audit.SEQ and a new file "
     "goes on with the chain, its first record naming the old file.", "config= socket=", 0, 0,
     S_WORKER, hv_cli_audit_rotate},
    {"evidence", "show", "[--json] --config=WORKER.ini ID",
     "Lists what proves a referral's messages, kept after the case is erased: time, type, "
     "from \u2192 to, signer key id, registry version.",
     S_WORK_OPTS, 1, 1, S_WORKER S_JSON, hv_cli_evidence},
    {"evidence", "export", "--config=WORKER.ini ID --out=FILE",
     "Writes a referral's evidence as a self-contained bundle (haven-evidence/1): the signed "
     "headers and the signed registries they were checked against; no case content.",
     "config= socket= out=", 1, 1,
     S_WORKER "  --out=FILE           the bundle to write; an existing file is refused\n",
     hv_cli_evidence},
    {"evidence", "verify", "--authority=AUTH.pub BUNDLE",
     "Checks an evidence bundle offline: the registries' authority signature, each "
     "message's signature by its sender's key in the registry of the time.",
     "authority=", 1, 1,
     "  --authority=AUTH.pub the network authority's public key\n", hv_cli_evidence},
    {"staff", "add", "--config=WEB.ini --name=NAME --role=ROLE",
     "Adds a staff account to haven-web; the password (12 characters or more) is read from "
     "the terminal, or a line of standard input.", "config= name= role=", 0, 0,
     S_WEB S_NAME S_ROLE, hv_cli_staff},
    {"staff", "list", "[--json] --config=WEB.ini",
     "Lists haven-web's staff accounts: role, second factor, disabled or locked.",
     "config= json", 0, 0, S_WEB S_JSON, hv_cli_staff},
    {"staff", "disable", "--config=WEB.ini --name=NAME",
     "Disables an account and ends its sessions.", "config= name=", 0, 0, S_WEB S_NAME,
     hv_cli_staff},
    {"staff", "enable", "--config=WEB.ini --name=NAME", "Enables a disabled account.",
     "config= name=", 0, 0, S_WEB S_NAME, hv_cli_staff},
    {"staff", "reset-password", "--config=WEB.ini --name=NAME",
     "Sets a new password (read as for add) and ends the account's sessions.",
     "config= name=", 0, 0, S_WEB S_NAME, hv_cli_staff},
    {"staff", "enrol-totp", "--config=WEB.ini --name=NAME",
     "Gives an account a new TOTP secret, shown once as an otpauth:// URI.", "config= name=",
     0, 0, S_WEB S_NAME, hv_cli_staff},
    {"staff", "unlock", "--config=WEB.ini --name=NAME | --address=ADDR",
     "Lifts an account's lockout, or an address's throttling.", "config= name= address=", 0,
     0, S_WEB S_NAME "  --address=ADDR       a client address throttled after failed sign-ins\n",
     hv_cli_staff},
    {"staff", "role", "--config=WEB.ini --name=NAME --role=ROLE", "Changes an account's role.",
     "config= name= role=", 0, 0, S_WEB S_NAME S_ROLE, hv_cli_staff},
    {"web", "self-signed", "--out=DIR [--host=NAME]",
     "Makes a self-signed certificate and key for a first install of haven-web.",
     "out= host=", 0, 0,
     "  --out=DIR            where cert.pem and key.pem are written\n"
     "  --host=NAME          a further name in it, beside localhost and 127.0.0.1\n",
     hv_cli_web},
    {"backup", NULL, "--config=NODE.ini --out=FILE",
     "Copies a node's store to FILE, consistent while its daemon runs (mode 0600).",
     "config= out=", 0, 0,
     "  --config=NODE.ini    the broker's or worker's configuration (its store is read there)\n"
     "  --out=FILE           the backup to write; an existing file is refused\n",
     hv_cli_backup},
    {"restore", NULL, "--config=NODE.ini --in=FILE",
     "Puts a backup back in place of the node's store; its daemon must be stopped.",
     "config= in=", 0, 0,
     "  --config=NODE.ini    the broker's or worker's configuration (its store is written there)\n"
     "  --in=FILE            a backup made by haven backup of this same node\n",
     hv_cli_restore},
    {"referral", "check", "[--json] CASE.json",
     "Checks a referral file here, every error located; nothing is sent.", "json", 1, 1,
     S_JSON, hv_cli_referral},
    {"referral", "submit", "[--json] --config=INTAKE.ini CASE.json",
     "Submits a referral: the router gets its summary, the case stays here encrypted.",
     S_WORK_OPTS, 1, 1, S_WORKER S_JSON, hv_cli_referral},
    {"referral", "list", "[--json] --config=INTAKE.ini", "Lists this NGO's referrals.",
     S_WORK_OPTS, 0, 0, S_WORKER S_JSON, hv_cli_referral},
    {"referral", "show", "[--json] [--case] --config=INTAKE.ini ID",
     "Shows a referral's state and whole history (ID: 6 to 32 of its hex digits).",
     S_WORK_OPTS " case", 1, 1,
     S_WORKER "  --case               the case itself too\n" S_JSON, hv_cli_referral},
    {"referral", "withdraw", "[--json] --config=INTAKE.ini ID [--code=CODE] --reason=TEXT",
     "Consent withdrawn: the case is erased at the provider (also after it closed), then "
     "here.",
     S_WORK_OPTS " code= reason=", 1, 1,
     S_WORKER "  --code=CODE          what a router is told of a referral not yet matched:\n"
              "                       consent_withdrawn (the default), no_longer_needed,\n"
              "                       placed_elsewhere, duplicate, entered_in_error or other\n"
              "  --reason=TEXT        why, in words (required): kept here and told only to\n"
              "                       a provider that holds the case\n"
              "The provider confirms the erasure (withdrawn), or keeps the case under a\n"
              "legal hold and says why (legal_hold). When the service is only no longer\n"
              "needed, use 'haven referral cancel': it erases nothing.\n" S_JSON,
     hv_cli_referral},
    {"referral", "cancel", "[--json] --config=INTAKE.ini ID --code=CODE [--reason=TEXT]",
     "The service is no longer needed: the provider closes the case as cancelled.",
     S_WORK_OPTS " code= reason=", 1, 1,
     S_WORKER "  --code=CODE          why (required): no_longer_needed, placed_elsewhere,\n"
              "                       duplicate, entered_in_error or other\n"
              "  --reason=TEXT        why, in words: kept here and told only to a provider\n"
              "                       that holds the case\n"
              "The router (before a match) or the provider confirms (cancelled); the\n"
              "provider keeps the closed case for its retention period. Consent withdrawn\n"
              "is 'haven referral withdraw', which erases the case.\n" S_JSON,
     hv_cli_referral},
    {"referral", "erase", "[--json] --config=INTAKE.ini ID --reason=TEXT",
     "Erases a closed referral's case here now (supervisor); its state and dates stay.",
     S_WORK_OPTS " reason=", 1, 1,
     S_WORKER "  --reason=TEXT        why (required), kept with the record of the erasure\n"
              "The referral must be closed: completed, failed, no_match, expired, cancelled\n"
              "or withdrawn. Cases are also erased [intake] retention_days after they close.\n"
              S_JSON,
     hv_cli_referral},
    {"case", "show", "[--json] --config=INTAKE.ini CASE",
     "Shows a case: its people and each requested service's referral, state and provider "
     "(CASE: 6 to 32 of its hex digits).",
     S_WORK_OPTS, 1, 1, S_WORKER S_JSON, hv_cli_case_show},
    {"attachment", "list", "[--json] --config=WORKER.ini ID",
     "Lists a case's documents: at a provider as they arrived, at an intake how far each "
     "was sent.", S_WORK_OPTS, 1, 1, S_WORKER S_JSON, hv_cli_attachment},
    {"attachment", "save", "[--json] --config=PROVIDER.ini ID N --out=FILE",
     "Saves a case's complete document N to FILE (mode 0600; an existing file is refused).",
     S_WORK_OPTS " out=", 2, 2,
     S_WORKER "  --out=FILE           where to write it; it must not exist yet\n" S_JSON,
     hv_cli_attachment},
    {"inbox", "list", "[--json] --config=PROVIDER.ini", "Lists this agency's offers and cases.",
     S_WORK_OPTS, 0, 0, S_WORKER S_JSON, hv_cli_inbox},
    {"inbox", "show", "[--json] --config=PROVIDER.ini ID",
     "Shows an offer (the summary) or, once accepted and received, the case.", S_WORK_OPTS,
     1, 1, S_WORKER S_JSON, hv_cli_inbox},
    {"inbox", "accept", "[--json] --config=PROVIDER.ini ID",
     "Accepts an offer; the case then comes end to end.", S_WORK_OPTS, 1, 1, S_WORKER S_JSON,
     hv_cli_inbox},
    {"inbox", "decline", "[--json] --config=PROVIDER.ini ID --reason=CODE [--note=TEXT]",
     "Declines an offer with a reason; the router offers it to the next provider.",
     S_WORK_OPTS " reason= note=", 1, 1,
     S_WORKER "  --reason=CODE        why (required): no_capacity, not_suitable, language,\n"
              "                       region, minors or other\n"
              "  --note=TEXT          a note for the referring organisation, sealed to it;\n"
              "                       the router carries it unread, and it is not kept here\n"
              S_JSON,
     hv_cli_inbox},
    {"inbox", "status", "[--json] --config=PROVIDER.ini ID --state=STATE [--note=TEXT]",
     "Reports a case's status or outcome to the referring NGO.",
     S_WORK_OPTS " state= note=", 1, 1,
     S_WORKER "  --state=STATE        in_progress, on_hold, completed or failed (required)\n"
              "  --note=TEXT          the outcome, or why\n" S_JSON,
     hv_cli_inbox},
    {"inbox", "export", "--config=PROVIDER.ini ID --out=FILE.json",
     "Writes a received case as JSON (mode 0600) for the agency's own system.",
     "config= socket= out=", 1, 1,
     S_WORKER "  --out=FILE.json      the file to write (required; must not exist)\n",
     hv_cli_inbox},
    {"case", "hold", "[--json] --config=PROVIDER.ini ID --basis=CODE --reason=TEXT",
     "Places a legal hold on a case (supervisor): it is kept even if consent is withdrawn.",
     S_WORK_OPTS " basis= reason=", 1, 1,
     S_WORKER "  --basis=CODE         the legal basis (required): legal_obligation,\n"
              "                       legal_claims, public_interest or other\n"
              "  --reason=TEXT        what obliges the agency to keep it (required); sent to\n"
              "                       the referring NGO, end to end, if it asks for erasure\n"
              "Retention does not erase a held case; a withdrawal of consent is answered\n"
              "with the hold (LEGAL_HOLD) and carried out when the hold is released.\n" S_JSON,
     hv_cli_hold},
    {"case", "release", "[--json] --config=PROVIDER.ini ID",
     "Releases a legal hold (supervisor); a withdrawal that waited is carried out now.",
     S_WORK_OPTS, 1, 1, S_WORKER S_JSON, hv_cli_hold},
    {"message", "send", "[--json] --config=WORKER.ini ID TEXT | --file=FILE",
     "Sends a message about a transferred case to the other side: the provider that "
     "accepted it, or the intake that referred it.",
     S_WORK_OPTS " file=", 1, 2,
     S_WORKER "  --file=FILE          the message from a file instead of TEXT (UTF-8, at most\n"
              "                       8000 bytes; a longer one is refused, never cut)\n" S_JSON,
     hv_cli_message},
    {"message", "list", "[--json] --config=WORKER.ini ID",
     "Lists a case's messages both ways, with when each was delivered and read.",
     S_WORK_OPTS, 1, 1, S_WORKER S_JSON, hv_cli_message},
    {"message", "read", "[--json] --config=WORKER.ini ID N",
     "Marks the other side's messages up to number N read; the other side is told.",
     S_WORK_OPTS, 2, 2, S_WORKER S_JSON, hv_cli_message},
    {"pathway", "show", "[--json] --config=ROUTER.ini",
     "Shows the referral pathway: providers per service, in order, and the referrals.",
     S_WORK_OPTS, 0, 0, S_WORKER S_JSON, hv_cli_pathway},
    {"status", NULL, "[--json] --config=WORKER.ini",
     "A worker's state: its broker connection, outbox and registry version.", S_WORK_OPTS, 0,
     0, S_WORKER S_JSON, hv_cli_status},
};
#define S_N_CMDS (sizeof s_cmds / sizeof s_cmds[0])

const char *hv_cli_cmd_name(const hv_cli_cmd *cmd)
{
    static char name[64];
    snprintf(name, sizeof name, "haven %s%s%s", cmd->cmd, cmd->sub ? " " : "",
             cmd->sub ? cmd->sub : "");
    return name;
}

void hv_cli_print_usage(FILE *f)
{
    fprintf(f, "usage: haven COMMAND [SUB-COMMAND] [OPTIONS] [ARGUMENTS]\n"
               "       haven help [COMMAND [SUB-COMMAND]]   haven --version\n\ncommands:\n");
    /* On standard output, a table that fits the terminal. */
    hv_cli_table *t = f == stdout ? hv_cli_table_new(2, NULL) : NULL;
    for (size_t i = 0; i < S_N_CMDS; i++) {
        char name[72];
        snprintf(name, sizeof name, "  %s", hv_cli_cmd_name(&s_cmds[i]) + 6);
        const char *row[] = {name, s_cmds[i].summary};
        if (t != NULL)
            hv_cli_table_add(t, row);
        else
            fprintf(f, "%-22s %s\n", row[0], row[1]);
    }
    hv_cli_table_print(t);
    hv_cli_table_free(&t);
    fprintf(f, "\nOptions take their value as --name=VALUE or --name VALUE. --config, --key,\n"
               "--authority, --registry, --broker, --endpoint and --store may come from the\n"
               "environment (HAVEN_CONFIG, ...) or the profile file\n"
               "${HAVEN_PROFILE:-${XDG_CONFIG_HOME:-~/.config}/haven/profile.ini}.\n"
               "Exit codes: 0 ok, 1 refused (the HV_ code is named), 2 usage, 3 system error.\n"
               "'haven help COMMAND' or 'haven COMMAND --help' says more.\n");
}

void hv_cli_print_help(FILE *f, const hv_cli_cmd *cmd)
{
    fprintf(f, "usage: %s %s\n\n%s\n\noptions:\n%s  -h, --help           this help\n",
            hv_cli_cmd_name(cmd), cmd->synopsis, cmd->summary, cmd->details);
}

/* The sub-commands of `name`, for `haven help referral` and usage errors. */
static void s_print_subs(FILE *f, const char *name)
{
    fprintf(f, "usage:\n");
    for (size_t i = 0; i < S_N_CMDS; i++)
        if (strcmp(s_cmds[i].cmd, name) == 0)
            fprintf(f, "  %s %s\n", hv_cli_cmd_name(&s_cmds[i]), s_cmds[i].synopsis);
    fprintf(f, "'haven help %s SUB-COMMAND' says more.\n", name);
}

static bool s_known(const char *name)
{
    for (size_t i = 0; i < S_N_CMDS; i++)
        if (strcmp(s_cmds[i].cmd, name) == 0)
            return true;
    return false;
}

/* Finds `name` [`sub`]; a command with sub-commands needs one. */
static const hv_cli_cmd *s_find(const char *name, const char *sub)
{
    for (size_t i = 0; i < S_N_CMDS; i++)
        if (strcmp(s_cmds[i].cmd, name) == 0 &&
            (s_cmds[i].sub == NULL || (sub != NULL && strcmp(s_cmds[i].sub, sub) == 0)))
            return &s_cmds[i];
    return NULL;
}

static bool s_has_subs(const char *name)
{
    for (size_t i = 0; i < S_N_CMDS; i++)
        if (strcmp(s_cmds[i].cmd, name) == 0)
            return s_cmds[i].sub != NULL;
    return false;
}

static bool s_is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

/* haven help [COMMAND [SUB]] */
static int s_help(int argc, char **argv)
{
    if (argc == 0) {
        hv_cli_print_usage(stdout);
        return 0;
    }
    if (!s_known(argv[0])) {
        fprintf(stderr, "haven: unknown command '%s'\n", argv[0]);
        hv_cli_print_usage(stderr);
        return EXIT_USAGE;
    }
    if (s_has_subs(argv[0]) && argc == 1) {
        s_print_subs(stdout, argv[0]);
        return 0;
    }
    const hv_cli_cmd *c = s_find(argv[0], argc > 1 ? argv[1] : NULL);
    if (c == NULL || argc > (c->sub ? 2 : 1)) {
        fprintf(stderr, "haven help: no help for '%s%s%s'\n", argv[0], argc > 1 ? " " : "",
                argc > 1 ? argv[1] : "");
        s_print_subs(stderr, argv[0]);
        return EXIT_USAGE;
    }
    hv_cli_print_help(stdout, c);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        hv_cli_print_usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (s_is_help(name)) {
        hv_cli_print_usage(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
        printf("haven %s\n", HV_VERSION);
        return 0;
    }
    if (strcmp(name, "help") == 0)
        return s_help(argc - 2, argv + 2);
    if (name[0] == '-') {
        fprintf(stderr, "haven: unknown option '%s'\n", name);
        hv_cli_print_usage(stderr);
        return EXIT_USAGE;
    }
    if (!s_known(name)) {
        fprintf(stderr, "haven: unknown command '%s'\n", name);
        hv_cli_print_usage(stderr);
        return EXIT_USAGE;
    }
    const hv_cli_cmd *c;
    int first; /* argv index of the command's own word */
    if (s_has_subs(name)) {
        if (argc < 3 || argv[2][0] == '-') {
            if (argc >= 3 && s_is_help(argv[2])) {
                s_print_subs(stdout, name);
                return 0;
            }
            fprintf(stderr, "haven %s: a sub-command is needed\n", name);
            s_print_subs(stderr, name);
            return EXIT_USAGE;
        }
        if ((c = s_find(name, argv[2])) == NULL) {
            fprintf(stderr, "haven %s: unknown sub-command '%s'\n", name, argv[2]);
            s_print_subs(stderr, name);
            return EXIT_USAGE;
        }
        first = 2;
    } else {
        c = s_find(name, NULL);
        first = 1;
    }
    opts o;
    int rc = hv_cli_parse(c, argc - first, argv + first, &o);
    if (rc >= 0)
        return rc;
    if (hv_crypto_init() != HV_OK) {
        fprintf(stderr, "haven: cannot initialise libsodium (HV_ECRYPTO)\n");
        return EXIT_SYSTEM;
    }
    return c->run(&o);
}
