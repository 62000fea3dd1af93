#!/usr/bin/env bash
# A broker's audit log witnessed by its peers (issue 20), with real brokers
# for XA and XC on loopback and real workers: broker.xa signs the heads of
# its own log and hands them to broker.xc over its link, which keeps them
# in its store; broker.xa's log cut, with the heads in its own store
# deleted too (what a careful attacker does), it starts, asks broker.xc
# for the head it witnessed, and stops (exit 1, audit_log_mismatch).
# usage: test_audit_peers.sh BIN_DIR EXAMPLE_REFERRAL
set -u
here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
. "$here/lib.sh"
. "$here/flow_lib.sh"
. "$here/fed_lib.sh"
example=$(realpath "$2")
fed_setup "$1" 127.0.0.1 127.0.0.1 127.0.0.1
cp "$example" adult.json
for n in broker-xc broker-xa router shelter-b intake; do start "$n"; done

# A referral from XA to XC's router: custody records at broker.xa.
id=$(submit adult.json)
[ ${#id} -eq 32 ] && ok || bad "submit gave no id: '$id'"

# broker.xa signs a head within 10 s of its records; broker.xc keeps it.
witnessed() { # witnessed: the head of broker.xa that broker.xc holds
  sqlite3 broker-xc.db "SELECT max(seq) FROM audit_heads WHERE node = 'broker.xa'" 2>/dev/null
}
has_witnessed() { [ -n "$(witnessed)" ] && [ "$(witnessed)" -ge 1 ]; }
wait_until 30 has_witnessed
grep -q "event=audit_head_witnessed node=broker.xa seq=$(witnessed)" broker-xc.log && ok ||
  bad "broker.xc did not log the head it witnessed"
w=$(witnessed)

# audit_broker_cut_tail_refused_by_peer_head
stop broker-xa
head -n $((w - 1)) broker-xa.db.audit > cut.audit
cp cut.audit broker-xa.db.audit
sqlite3 broker-xa.db "DELETE FROM audit_heads WHERE node = 'broker.xa'"
start broker-xa
pid=${pids[broker-xa]}
gone() { ! kill -0 "$pid" 2>/dev/null; }
wait_until 20 gone
wait "$pid"
rc=$?
unset "pids[broker-xa]"
[ "$rc" -eq 1 ] && ok || bad "broker.xa ran on a log its peer had witnessed further: exit $rc"
grep -q "event=audit_log_mismatch path=broker-xa.db.audit witnessed_by=broker.xc witnessed_seq=$w reason=\"broker-xa.db.audit: audit log shorter than its last witnessed head: record $w expected, the log ends at record $((w - 1))\"" broker-xa.log &&
  ok || { bad "no audit_log_mismatch"; grep audit_ broker-xa.log | tail -3; }
stop_all_and_check_logs
finish
