#!/usr/bin/env bash
# Logs under abuse (issue 20): a node floods its broker with 50,000 SENDs
# that claim another sender (real CURVE, send_flood). Each is refused
# HV_EAUTH and counted in /metrics, but the log gets the first few
# "refused" lines of each 10 s window and then one log_suppressed line
# with the count: fewer than 100 lines in all, and the lines written plus
# the counts told are exactly the 50,000.
# usage: test_log_abuse.sh BIN_DIR
set -u
here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
. "$here/lib.sh"
. "$here/flow_lib.sh"
flow_setup "$1"
# The broker's own rate limit would refuse with HV_ERATE after 10,000:
# the spoofed sender is refused before it, whatever the rate.
start broker
before=$(wc -l < broker.log)
expect 0 "sent 50000 errors 50000 HV_EAUTH 50000" "$bin/send_flood" keys/ngo.xc.key \
  keys/broker.xc.pub "tcp://127.0.0.1:$port" shelter-a.xc keys/router.xc.pub 50000
# Every refusal is counted in /metrics (a snapshot twice a second: waited for).
metrics_refused() {
  curl -s -H "Authorization: Bearer $http_token" "$http_base/metrics" |
    grep -q '^haven_messages_total{broker="broker.xc",event="refused"} 50000$'
}
wait_until 10 metrics_refused
# The summary comes when the window ends (10 s after the first refusal).
told() {
  sed -n 's/.*event=log_suppressed of=refused peer=ngo.xc count=\([0-9]*\) window_s=10$/\1/p' \
    broker.log | awk '{ n += $1 } END { print n + 0 }'
}
written() { grep -c "event=refused node=ngo.xc id=" broker.log; }
all_told() { [ $(($(told) + $(written))) -eq 50000 ]; }
wait_until 20 all_told
echo "refused 50000: $(written) lines written, $(told) told in $(grep -c 'event=log_suppressed of=refused peer=ngo.xc' broker.log) summary lines"
grep -m1 "event=log_suppressed" broker.log
# The lines written are the first five of a window: HV_EAUTH, naming the node.
[ "$(written)" -ge 5 ] && [ "$(written)" -le 50 ] && ok || bad "refused lines written: $(written)"
grep -q "level=warn event=refused node=ngo.xc id=[0-9a-f]\{32\} type=STATUS reason=HV_EAUTH$" \
  broker.log && ok || bad "a refused line lacks its fields"
added=$(($(wc -l < broker.log) - before))
echo "the broker's log grew by $added lines for 50000 refused SENDs"
[ "$added" -lt 100 ] && ok || bad "50000 refusals wrote $added lines"
stop_all_and_check_logs
# The broker's stop wrote the count of its refusals.
grep -q "event=stopped .* refused=50000 " broker.log && ok || bad "stopped line: $(grep event=stopped broker.log)"
finish
