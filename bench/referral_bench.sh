#!/usr/bin/env bash
# Whole referrals across the example network (issue 24): the example
# countries' three brokers (XA, XB, XC, peering as deploy/demo.sh sets them
# up) and the NGO in XA, XC's router and the shelter in XC, in a scratch
# directory on free loopback ports; then hv-bench-referral submits 10, 100
# and 1,000 referrals at once and follows each to the case received at the
# shelter and the receipt back at the NGO. Everything it started is stopped
# at the end. The shelter's places in the scratch registry are raised
# (100,000) so that the router offers every referral at once.
# usage: bench/referral_bench.sh BIN_DIR [INFLIGHT (10,100,1000)]
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$(realpath "$1")
haven="$bin/haven"
inflight=${2:-10,100,1000}
. "$top/tests/cli/lib.sh" # free_ports
work=$(mktemp -d "${TMPDIR:-/tmp}/hvreferral.XXXXXX")
pids=()
cleanup() {
  [ ${#pids[@]} -gt 0 ] && kill -TERM "${pids[@]}" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1
mkdir keys staff
cp "$top"/deploy/example/*.ini .
now=$(date -u +%s)
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
issued=$(iso $((now - 3600)))
expires=$(iso $((now + 90 * 86400)))
jq --arg i "$issued" --arg x "$expires" '.issued_at = $i | .expires_at = $x
  | .nodes |= map(.valid_from = $i | .valid_until = $x
  | if .id == "shelter.xc" then .capacity = 100000 else . end)' \
  "$top/deploy/example/network.json" > network.json
# Every loopback port of the example becomes a free one.
ports=$(grep -ohE '127\.0\.0\.1:[0-9]+' ./*.ini network.json | sort -u)
read -r -a free <<<"$(free_ports "$(wc -w <<<"$ports")")"
k=0
for p in $ports; do
  sed -i -E "s/${p//./\\.}([^0-9]|$)/127.0.0.1:${free[$k]}\1/g" ./*.ini network.json
  k=$((k + 1))
done
for id in authority $(jq -r '.nodes[].id' network.json); do
  "$haven" keygen --id "$id" --out keys >/dev/null || exit 1
done
"$haven" registry sign --authority keys/authority.key --in network.json --out network.reg \
  >/dev/null || exit 1
for c in xa xb xc; do
  "$bin/haven-broker" -c "broker-$c.ini" 2> "broker-$c.log" &
  pids+=($!)
done
for _ in $(seq 200); do
  [ "$(cat broker-*.log | grep -c 'event=peer_up.*direction=out')" -ge 6 ] && break
  sleep 0.1
done
for w in ngo.xa router.xc shelter.xc; do
  f=$(tr . - <<<"$w")
  case $w in router.*) d=haven-router ;; ngo.*) d=haven-intake ;; *) d=haven-provider ;; esac
  "$bin/$d" -c "$f.ini" 2> "$f.log" &
  pids+=($!)
done
for w in ngo-xa router-xc shelter-xc; do
  for _ in $(seq 200); do
    "$haven" status --json --config "$w.ini" 2>/dev/null | grep -q '"broker_ready": true' && break
    sleep 0.1
  done
done
echo "three brokers (XA, XB, XC) and ngo.xa, router.xc, shelter.xc running; load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$bin/hv-bench-referral" --intake ngo-xa.sock --provider shelter-xc.sock \
  --referral "$top/deploy/example/referrals/example-adult.json" --inflight "$inflight"
rc=$?
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
grep -h "event=message_refused\|level=error" ./*.log | head -5
exit "$rc"
