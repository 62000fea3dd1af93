#!/usr/bin/env bash
# The registry a node holds survives its restart (issue 19), and its expiry
# is warned of. Real daemons on a one-country network (flow_lib.sh); each
# CASE is its own ctest entry, named after what it stops:
#   rollback_registry_refused_at_start
#       a broker and a worker, started once with version 2, refuse version 1
#       at start and at -n, with the message; a damaged record refuses too
#   same_version_registry_refused_at_start
#       another registry of the held version is refused, naming both hashes
#   older_registry_refused_at_reload
#       SIGHUP with version 1, or another version 2, is logged
#       registry_reload_refused and version 2 kept; a version 3 is recorded;
#       `haven registry verify --node-store` reports what the node holds
#   registry_expiry_warned
#       registries expiring in 2, 10 and 30 days: metric, stats, dashboard,
#       registry_expiring in the broker's and a worker's logs, /healthz, the
#       CLI's status and stats; then one that expires while the broker runs
# usage: test_registry_held.sh BIN_DIR CASE
set -u
here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
. "$here/lib.sh"
. "$here/flow_lib.sh"
case_name=$2
flow_setup "$1"

# sign VERSION EXPIRES_IN_SECONDS [ORGANISATION]: signs network.json again
# as VERSION, expiring that far from now, into network.reg (through a
# rename, so a daemon never reads half a file). ORGANISATION renames the
# intake's organisation, to make another registry of the same version.
sign() {
  local expires org=${3:-Example Referring NGO}
  expires=$(date -u -d "@$(($(date -u +%s) + $2))" +%Y-%m-%dT%H:%M:%SZ)
  sed -e "s/\"version\": [0-9]*,/\"version\": $1,/" \
      -e "s/\"expires_at\": \"[^\"]*\"/\"expires_at\": \"$expires\"/" \
      -e "s/\"organisation\": \"Example Referring NGO\"/\"organisation\": \"$org\"/" \
      network.json > "v.json"
  "$haven" registry sign --authority keys/authority.key --in v.json --out network.reg.new \
    >/dev/null || bad "registry sign version $1"
  mv network.reg.new network.reg
}
held_version() { sed -n 's/^version //p' "$1.registry-held"; }
b2() { b2sum -l 256 "$1" | cut -c1-16; }
log_has() { grep -qF -- "$2" "$1.log"; }
day=86400

case $case_name in
rollback_registry_refused_at_start)
  sign 2 $((30 * day))
  start broker
  start intake
  [ "$(held_version broker.db)" = 2 ] && ok || bad "broker.db.registry-held: $(cat broker.db.registry-held)"
  [ "$(held_version intake.db)" = 2 ] && ok || bad "intake.db.registry-held: $(cat intake.db.registry-held)"
  stop intake
  stop broker
  sign 1 $((30 * day))
  # Paths as the configuration names them (relative to it, here the cwd).
  msg="network.reg is registry version 1, older than version 2 that this node has already accepted (recorded in %s.db.registry-held); a node never goes back to an older registry, which could bring back a revoked node: get the current registry from your network authority and put it at network.reg (HV_EREG_ROLLBACK)"
  # shellcheck disable=SC2059
  expect 1 "haven-broker: $(printf "$msg" broker)" "$bin/haven-broker" -c broker.ini
  # shellcheck disable=SC2059
  expect 1 "haven-broker: $(printf "$msg" broker)" "$bin/haven-broker" -c broker.ini -n
  # shellcheck disable=SC2059
  expect 1 "haven-intake: $(printf "$msg" intake)" "$bin/haven-intake" -c intake.ini
  # shellcheck disable=SC2059
  expect 1 "haven-intake: $(printf "$msg" intake)" "$bin/haven-intake" -c intake.ini -n
  # The refusal changed nothing: version 2 is still what they hold.
  [ "$(held_version broker.db)" = 2 ] && [ "$(held_version intake.db)" = 2 ] && ok ||
    bad "held versions changed by a refusal"
  # The CLI's check says the same, against the node's store.
  expect 1 "older than version 2 that this node has already accepted" \
    "$haven" registry verify --authority keys/authority.pub --node-store broker.db network.reg
  # A damaged record is not "nothing held": the node refuses to start.
  printf 'version 2\n' > intake.db.registry-held
  expect 1 "haven-intake: intake.db.registry-held is damaged (not what this node writes): it records the registry this node has accepted; restore it from a backup, or remove it once your network authority has confirmed which registry is current (HV_EDECODE)" "$bin/haven-intake" -c intake.ini
  ;;
same_version_registry_refused_at_start)
  sign 2 $((30 * day))
  cp network.reg first.reg
  start broker
  start intake
  stop intake
  stop broker
  sign 2 $((30 * day)) "Example Referring NGO Renamed"
  msg="network.reg is registry version 2 with hash $(b2 network.reg), but this node has accepted another registry of version 2, hash $(b2 first.reg) (recorded in %s.db.registry-held); two registries with one version are an authority's error or a forgery: get the current registry from your network authority; if the authority really reissued version 2, ask it to sign the new one as version 3 (HV_EREG_ROLLBACK)"
  # shellcheck disable=SC2059
  expect 1 "haven-broker: $(printf "$msg" broker)" "$bin/haven-broker" -c broker.ini
  # shellcheck disable=SC2059
  expect 1 "haven-intake: $(printf "$msg" intake)" "$bin/haven-intake" -c intake.ini -n
  # The very same registry again starts as before.
  cp first.reg network.reg
  start broker
  start intake
  ok
  ;;
older_registry_refused_at_reload)
  sign 2 $((30 * day))
  start broker
  start intake
  sign 1 $((30 * day))
  kill -HUP "${pids[broker]}" "${pids[intake]}"
  wait_until 10 log_has broker "event=registry_reload_refused reason=HV_EREG_ROLLBACK detail=\"network.reg is registry version 1, older than version 2"
  wait_until 10 log_has intake "event=registry_reload_refused reason=HV_EREG_ROLLBACK version=2 detail=\"network.reg is registry version 1, older than version 2"
  sign 2 $((30 * day)) "Example Referring NGO Renamed"
  kill -HUP "${pids[broker]}" "${pids[intake]}"
  wait_until 10 log_has broker "registry_reload_refused reason=HV_EREG_ROLLBACK detail=\"network.reg is registry version 2 with hash"
  wait_until 10 log_has intake "registry_reload_refused reason=HV_EREG_ROLLBACK version=2 detail=\"network.reg is registry version 2 with hash"
  # Both still run with version 2, and still serve.
  kill -0 "${pids[broker]}" && kill -0 "${pids[intake]}" && ok || bad "a daemon stopped"
  [ "$("$haven" status --json --config intake.ini | jq -r .result.registry_version)" = 2 ] && ok ||
    bad "intake no longer on version 2"
  wait_until 10 connected intake
  expect 1 "but this node has accepted another registry of version 2" \
    "$haven" registry verify --authority keys/authority.pub --node-store intake.db network.reg
  # A newer one is taken and recorded.
  sign 3 $((30 * day))
  kill -HUP "${pids[broker]}" "${pids[intake]}"
  wait_until 10 log_has broker "event=registry_loaded version=3"
  wait_until 10 log_has intake "event=registry_loaded version=3"
  # Recorded before it is used: the record's line comes first in each log.
  for d in broker intake; do
    grep -o "event=registry_held version=3 previous=2 record=$d.db.registry-held\|event=registry_loaded version=3" "$d.log" |
      tr '\n' ' ' | grep -qx "event=registry_held version=3 previous=2 record=$d.db.registry-held event=registry_loaded version=3 " &&
      ok || bad "$d: not recorded before use: $(grep -h 'version=3' "$d.log")"
  done
  [ "$(held_version broker.db)" = 3 ] && [ "$(held_version intake.db)" = 3 ] && ok ||
    bad "version 3 not recorded: $(held_version broker.db) $(held_version intake.db)"
  [ "$(sed -n 's/^hash //p' broker.db.registry-held)" = "$(b2sum -l 256 network.reg | cut -d' ' -f1)" ] &&
    ok || bad "the held hash is not the BLAKE2b-256 of network.reg"
  expect 0 "the node holds version 3 (intake.db.registry-held): this very registry" \
    "$haven" registry verify --authority keys/authority.pub --node-store intake.db network.reg
  sign 4 $((30 * day))
  expect 0 "the node holds version 3 (intake.db.registry-held): this one is newer and will be accepted" \
    "$haven" registry verify --authority keys/authority.pub --node-store intake.db network.reg
  [ "$("$haven" registry verify --json --authority keys/authority.pub --node-store intake.db network.reg |
       jq -c '[.version, .held_version]')" = "[4,3]" ] && ok || bad "verify --json held_version"
  expect 0 "the node holds no registry yet (no nowhere.db.registry-held): it will accept this one" \
    "$haven" registry verify --authority keys/authority.pub --node-store nowhere.db network.reg
  ;;
registry_expiry_warned)
  # The intake serves its metrics too: its /healthz follows the registry's
  # expiry as the broker's does.
  read -r intake_mport <<<"$(free_ports 1)"
  printf '[metrics]\nbind = 127.0.0.1:%s\n' "$intake_mport" >> intake.ini
  http_get() { # http_get PATH [BASE]: prints "STATUS BODY" (BASE: the broker's)
    /usr/bin/python3 - "${2:-$http_base}$1" "$http_token" <<'PY'
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]})
try:
    with urllib.request.urlopen(req, timeout=5) as r:
        print(r.status, r.read().decode(), end="")
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode(), end="")
PY
  }
  metric() { http_get /metrics | sed -n "s/^$1{broker=\"broker.xc\"} //p"; }
  published() { [ "$(metric haven_registry_version)" = "$1" ]; }
  version=1
  for days in 2 10 30; do
    version=$((version + 1))
    : > broker.log
    : > intake.log
    # A minute short of DAYS days, so that DAYS - 1 whole days are left.
    sign $version $((days * day - 60))
    expires_at=$(( $(date -u +%s) + days * day - 60 )) # within a second of what sign wrote
    start broker
    start intake
    wait_until 10 published $version
    left=$(metric haven_registry_expiry_seconds)
    diff=$(( expires_at - $(date -u +%s) - left ))
    [ "${diff#-}" -le 5 ] && ok || bad "$days days: haven_registry_expiry_seconds $left, expected $((expires_at - $(date -u +%s))) within 5 s"
    stats=$(http_get /api/stats | cut -d' ' -f2-)
    s_left=$(jq .registry_expiry_seconds <<<"$stats")
    diff=$(( expires_at - $(date -u +%s) - s_left ))
    [ "${diff#-}" -le 5 ] && [ "$(jq .registry_version <<<"$stats")" = $version ] && ok ||
      bad "$days days: /api/stats registry_expiry_seconds $s_left"
    iso=$(date -u -d "@$(jq .registry_expires_at <<<"$stats")" +%Y-%m-%dT%H:%M:%SZ)
    case $days in
    2)
      expect 0 "200 degraded: registry version $version expires in 1 day, at $iso; get the next registry from your network authority" http_get /healthz
      intake_degraded() { http_get /healthz "http://127.0.0.1:$intake_mport" | grep -qF "200 degraded: registry version $version expires in 1 day, at $iso; get the next registry from your network authority"; }
      wait_until 10 intake_degraded
      for d in broker intake; do
        wait_until 5 log_has $d "level=error event=registry_expiring version=$version expires=$iso days_left=1 "
      done
      ;;
    10)
      expect 0 "200 ok" http_get /healthz
      intake_ok() { [ "$(http_get /healthz "http://127.0.0.1:$intake_mport")" = "200 ok" ]; }
      wait_until 10 intake_ok
      for d in broker intake; do
        wait_until 5 log_has $d "level=warn event=registry_expiring version=$version expires=$iso days_left=9 "
      done
      ;;
    30)
      expect 0 "200 ok" http_get /healthz
      # A second snapshot later, still nothing was said of the expiry.
      wait_until 10 log_has intake "event=worker_started"
      grep -h registry_expiring broker.log intake.log && bad "30 days: warned of" || ok
      ;;
    esac
    # What the CLI says of it: the worker's status and the broker's stats.
    case $days in
    2|10) soon=" (get the next one from the network authority)" ;;
    *) soon= ;;
    esac
    expect 0 "ngo.xc (intake in XC): broker connected, 0 waiting in the outbox, registry v$version, expires in $((days - 1)) day$([ $days = 2 ] || echo s)$soon" \
      "$haven" status --config intake.ini
    expect 0 "broker.xc (XC), up " "$haven" stats --key keys/ops.xc.key --authority keys/authority.pub \
      --registry network.reg --broker broker.xc --endpoint "$ops_endpoint"
    expect 0 ", registry v$version, expires in $((days - 1)) day$([ $days = 2 ] || echo s)$soon" \
      "$haven" stats --key keys/ops.xc.key --authority keys/authority.pub \
      --registry network.reg --broker broker.xc --endpoint "$ops_endpoint"
    # Once a day, not every tick: one warning in each log so far.
    [ "$(grep -c registry_expiring broker.log)" -le 1 ] && [ "$(grep -c registry_expiring intake.log)" -le 1 ] &&
      ok || bad "$days days: warned more than once"
    if [ "$days" != 30 ]; then
      dom=$(chromium --headless --no-sandbox --disable-gpu --user-data-dir="$work/chrome" \
              --virtual-time-budget=3000 --dump-dom "$http_base/?token=$http_token" 2>/dev/null)
      want="<span id=\"registry_line\" class=\"soon\">registry v<span id=\"registry\">$version</span>, expires in <span id=\"registry_expiry\">$((days - 1)) day"
      grep -qF "$want" <<<"$dom" && ok || bad "dashboard: $(grep -o '<span id="registry_line".\{0,200\}' <<<"$dom")"
    fi
    stop intake
    stop broker
  done
  # Past its expiry: /healthz answers 503, the metric is negative, and the
  # error is logged at once (a registry signed to expire 4 s from now).
  : > broker.log
  sign 5 4
  start broker
  expired() { http_get /healthz | grep -q "^503 expired: registry version 5 expired at "; }
  wait_until 15 expired
  expect 0 "; get the current registry from your network authority" http_get /healthz
  negative() { [ "$(metric haven_registry_expiry_seconds)" -lt 0 ]; }
  wait_until 5 negative
  wait_until 5 log_has broker "level=error event=registry_expiring version=5 "
  wait_until 5 log_has broker "days_left=0 "
  grep -q 'detail="the registry expired at ' broker.log && ok || bad "no 'expired' in the log"
  ;;
*)
  echo "unknown case $case_name"; exit 2 ;;
esac
stop_all_and_check_logs
finish
