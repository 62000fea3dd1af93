#!/usr/bin/env bash
# An intake holding many referrals (issue 24): starts a broker, an intake
# and its haven-web (HTTPS, a self-signed pair) as tests/cli/test_web.sh
# sets them up; then, for each COUNT in turn, stops the intake, fills its
# store up to COUNT referrals through the intake's own storing code
# (hv-bench-intake fill), starts it again (timed: opening checks the whole
# store) and times the list, show and search through its control socket
# and through haven-web's API (hv-bench-intake time), checking the counts.
# usage: bench/intake_bench.sh BIN_DIR ["COUNT..."] [REQUESTS]
#        (defaults: "10000 100000 1000000", 20 requests of each kind)
# With BEFORE_BIN=DIR (an older build's directory) each store is timed
# first under DIR/haven-intake, without the indexes it lacked, then under
# this one (BEFORE_REQUESTS requests of each kind for the older one).
# TMPDIR chooses the scratch directory's file system (a 1,000,000 store is
# about 3.5 GB).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/cli/lib.sh"
. "$top/tests/cli/flow_lib.sh"
. "$top/tests/cli/web_lib.sh"
flow_setup "$1"
counts=${2:-10000 100000 1000000}
requests=${3:-20}
mkdir assets
web_setup intake intake ngo.xc
pw="correct horse battery staple"
staff intake bench-admin admin "$pw"
enrol intake bench-admin
start broker
start intake
web_start intake
signin intake bench-admin "$pw" "$(totp_code intake bench-admin)"
api intake bench-admin POST /api/v1/tokens '{"scope": "read"}'
token=$(jq -r .token <<<"$body")
# intake_start BINARY: as flow_lib's `start`, with time for opening a large
# store (it is checked whole, PRAGMA quick_check, before the worker serves;
# the first start of a new version also builds its indexes), timed.
intake_start() {
  local t0
  t0=$(date +%s%N)
  "$1" -c intake.ini 2>> intake.log &
  pids[intake]=$!
  wait_until 900 connected intake || return 1
  echo "intake started and connected in $(( ($(date +%s%N) - t0) / 1000000 )) ms;" \
    "store $(du -m intake.db | cut -f1) MiB; load $(cut -d' ' -f1-3 /proc/loadavg)"
}
rc=0
for n in $counts; do
  echo "=== $n referrals"
  stop intake
  "$bin/hv-bench-intake" fill --store intake.db --keys keys/ngo.xc.key \
    --referral "$top/deploy/example/referrals/example-adult.json" --count "$n" \
    --router router.xc --provider shelter-a.xc || { rc=1; break; }
  if [ -n "${BEFORE_BIN:-}" ]; then
    # The same store under an older haven-intake (BEFORE_BIN/haven-intake,
    # the same run), without the indexes it did not have.
    sqlite3 intake.db "DROP INDEX IF EXISTS referrals_created; DROP INDEX IF EXISTS referrals_due; DROP INDEX IF EXISTS
      referrals_state; DROP INDEX IF EXISTS referrals_assigned; DROP INDEX IF EXISTS
      referrals_creator; DROP INDEX IF EXISTS referrals_reference;" || rc=1
    echo "--- before: $BEFORE_BIN/haven-intake"
    intake_start "$BEFORE_BIN/haven-intake" || { rc=1; break; }
    "$bin/hv-bench-intake" time --socket intake.sock --requests "${BEFORE_REQUESTS:-$requests}" \
      --expect "$n" --url "${web_base[intake]}" --ca tls/cert.pem --token "$token" || rc=1
    stop intake
    echo "--- after: $bin/haven-intake"
  fi
  intake_start "$bin/haven-intake" || { rc=1; break; }
  "$bin/hv-bench-intake" time --socket intake.sock --requests "$requests" --expect "$n" \
    --url "${web_base[intake]}" --ca tls/cert.pem --token "$token" || rc=1
  echo "state changes and erasures logged by the intake so far (none expected):" \
    "$(grep -c "event=referral_state" intake.log), $(grep -c "event=case_erased" intake.log)"
done
[ "$rc" -eq 0 ] || failures=1
exit "$rc"
