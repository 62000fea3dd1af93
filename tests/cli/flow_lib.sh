# A one-country referral network for the flow tests, made of real daemons:
# one broker, an intake, a router and three providers, with fresh keys, a
# signed registry and free loopback ports.
#   flow_setup BIN_DIR         makes it all in a new directory (cwd)
#   start NAME                 starts one daemon (broker, intake, router,
#                              shelter-a, shelter-b, legal) in the background
#   stop NAME / kill9 NAME     SIGTERM and wait / SIGKILL
#   wait_until SECONDS CMD...  runs CMD until it succeeds, or fails the test
# Needs lib.sh, jq and sqlite3.

declare -A pids=()

flow_setup() {
  bin=$(realpath "$1")
  haven="$bin/haven"
  work=$(mktemp -d "${TMPDIR:-/tmp}/hvflow.XXXXXX")
  trap flow_cleanup EXIT
  cd "$work" || exit 1
  local ops_port http_port events_port
  read -r port ops_port http_port events_port <<<"$(free_ports 4)"
  local now from until expires
  now=$(date -u +%s)
  from=$(date -u -d "@$((now - 3600))" +%Y-%m-%dT%H:%M:%SZ)
  until=$(date -u -d "@$((now + 86400))" +%Y-%m-%dT%H:%M:%SZ)
  # The registry outlives the nodes' day: one expiring within 14 days is
  # warned of in every log, and /healthz says degraded under 3 days.
  expires=$(date -u -d "@$((now + 30 * 86400))" +%Y-%m-%dT%H:%M:%SZ)
  local v="\"valid_from\": \"$from\", \"valid_until\": \"$until\""
  cat > network.json <<EOF
{
  "network": "flow-test", "version": 1, "issued_at": "$from", "expires_at": "$expires",
  "nodes": [
    { "id": "broker.xc", "role": "broker", "country": "XC", "organisation": "Test Broker XC",
      "endpoints": { "workers": "tcp://127.0.0.1:$port" }, "keys_file": "keys/broker.xc.pub", $v },
    { "id": "ngo.xc", "role": "intake", "country": "XC", "home": "broker.xc",
      "organisation": "Example Referring NGO", "keys_file": "keys/ngo.xc.pub", $v },
    { "id": "ops.xc", "role": "operator", "country": "XC", "home": "broker.xc",
      "organisation": "Example Operations Desk", "keys_file": "keys/ops.xc.pub", $v },
    { "id": "other.xc", "role": "intake", "country": "XC", "home": "broker.xc",
      "organisation": "Another Example NGO", "keys_file": "keys/other.xc.pub", $v },
    { "id": "router.xc", "role": "router", "country": "XC", "home": "broker.xc",
      "organisation": "Example Referral Mechanism", "keys_file": "keys/router.xc.pub", $v },
    { "id": "shelter-a.xc", "role": "provider", "country": "XC", "home": "broker.xc",
      "organisation": "Example Shelter A", "keys_file": "keys/shelter-a.xc.pub", $v,
      "services": ["shelter"], "regions": ["Example Capital Region"],
      "languages": ["en", "ti"], "accepts_minors": false, "capacity": 100 },
    { "id": "shelter-b.xc", "role": "provider", "country": "XC", "home": "broker.xc",
      "organisation": "Example Shelter B", "keys_file": "keys/shelter-b.xc.pub", $v,
      "services": ["shelter", "psychosocial"], "regions": ["Example Capital Region"],
      "languages": ["en", "fr"], "accepts_minors": true, "capacity": 100 },
    { "id": "legal.xc", "role": "provider", "country": "XC", "home": "broker.xc",
      "organisation": "Example Legal Aid", "keys_file": "keys/legal.xc.pub", $v,
      "services": ["legal_aid"], "regions": ["Example Capital Region"],
      "languages": ["en"], "accepts_minors": true, "capacity": 100 }
  ]
}
EOF
  mkdir keys
  local id
  for id in authority broker.xc ops.xc ngo.xc other.xc router.xc shelter-a.xc shelter-b.xc legal.xc; do
    "$haven" keygen --id "$id" --out keys >/dev/null || bad "keygen $id"
  done
  "$haven" registry sign --authority keys/authority.key --in network.json --out network.reg \
    >/dev/null || bad "registry sign"
  cat > broker.ini <<EOF
[broker]
id = broker.xc
keys = keys/broker.xc.key
authority = keys/authority.pub
registry = network.reg
store = broker.db
[timing]
heartbeat_ms = 200
dead_after_ms = 1000
lease_ms = 2000
retry_max_ms = 1000
[operators]
bind = tcp://127.0.0.1:$ops_port
events = tcp://127.0.0.1:$events_port
[http]
bind = 127.0.0.1:$http_port
token = flow-test-token-0123456789
EOF
  ops_endpoint="tcp://127.0.0.1:$ops_port"
  http_base="http://127.0.0.1:$http_port"
  http_token=flow-test-token-0123456789
  events_endpoint="tcp://127.0.0.1:$events_port"
  local name
  for name in intake:ngo.xc router:router.xc shelter-a:shelter-a.xc shelter-b:shelter-b.xc \
              legal:legal.xc; do
    worker_ini "${name%%:*}" "${name#*:}"
  done
  cat >> router.ini <<EOF
[pathway]
shelter = shelter-a.xc, shelter-b.xc
legal_aid = legal.xc
EOF
}

worker_ini() {
  cat > "$1.ini" <<EOF
[worker]
id = $2
keys = keys/$2.key
authority = keys/authority.pub
registry = network.reg
store = $1.db
control = $1.sock
[timing]
heartbeat_ms = 200
dead_after_ms = 1000
tick_ms = 100
EOF
}

# ns[NAME]=NETNS runs that daemon inside a network namespace.
declare -A ns=()

start() {
  local name=$1 prefix=() ready_before
  [ -n "${ns[$name]:-}" ] && prefix=(ip netns exec "${ns[$name]}")
  ready_before=$(grep -c "event=ready" "$name.log" 2>/dev/null)
  case $name in
    broker) "${prefix[@]}" "$bin/haven-broker" -c broker.ini 2>> broker.log & ;;
    broker-*) "${prefix[@]}" "$bin/haven-broker" -c "$name.ini" 2>> "$name.log" & ;;
    intake) "${prefix[@]}" "$bin/haven-intake" -c intake.ini 2>> intake.log & ;;
    router) "${prefix[@]}" "$bin/haven-router" -c router.ini 2>> router.log & ;;
    *) "${prefix[@]}" "$bin/haven-provider" -c "$name.ini" 2>> "$name.log" & ;;
  esac
  pids[$name]=$!
  case $name in
    broker*) broker_ready "$name" "${ready_before:-0}" ;;
    *) wait_until 20 connected "$name" ;;
  esac
}

# broker_ready NAME READY_BEFORE: waits up to 30 s for the broker's log to
# say ready once more (a sanitizer build on a busy machine takes seconds to
# check its store). A broker that exits or never gets ready ends the test
# at once, with its last log lines: every later step would only wait out
# its own deadline.
broker_ready() {
  local i n
  for ((i = 0; i < 300; i++)); do
    n=$(grep -c "event=ready" "$1.log" 2>/dev/null)
    [ "${n:-0}" -gt "$2" ] && return 0
    kill -0 "${pids[$1]}" 2>/dev/null || break
    sleep 0.1
  done
  bad "$1 did not start"
  tail -n 5 "$1.log" 2>/dev/null | sed 's/^/    /'
  exit 1
}

connected() {
  [ "$("$haven" status --json --config "$1.ini" 2>/dev/null | jq -r .result.broker_ready)" = true ]
}

stop() {
  local pid=${pids[$1]:-} i
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null
  # A daemon that does not stop fails the test here, saying which, instead
  # of hanging it until ctest's timeout.
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    bad "$1 did not stop within 30 s of SIGTERM; killed"
    kill -9 "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
  unset "pids[$1]"
}

kill9() {
  local pid=${pids[$1]:-}
  [ -n "$pid" ] || return 0
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  unset "pids[$1]"
}

flow_cleanup() {
  local name
  for name in "${!pids[@]}"; do kill -9 "${pids[$name]}" 2>/dev/null; done
  wait 2>/dev/null
  if [ "${failures:-0}" -ne 0 ]; then # the daemons' logs hold no case content
    for name in "$work"/*.log; do
      [ -f "$name" ] && { echo "--- last lines of ${name##*/}"; tail -n 20 "$name"; }
    done
  fi
  if [ "${failures:-0}" -ne 0 ] && [ -n "${KEEP_WORK:-}" ]; then
    echo "work directory kept: $work"
  else
    rm -rf "$work"
  fi
}

# wait_until SECONDS CMD...: polls CMD every 0.1 s; a bounded loop.
wait_until() {
  local limit=$(( $1 * 10 )) i
  shift
  for ((i = 0; i < limit; i++)); do
    "$@" && return 0
    sleep 0.1
  done
  # For `is WANT CMD...`, what CMD last said: a count off by one reads differently
  # from a node that never answered.
  if [ "$1" = is ]; then
    bad "gave up waiting for: $* (last: '$("${@:3}" 2>/dev/null)')"
  else
    bad "gave up waiting for: $*"
  fi
  return 1
}

# The referral's state at a worker: intake_state ID, offer_state NAME ID,
# case_state NAME ID.
intake_state() {
  "$haven" referral show --json --config intake.ini "$1" | jq -r .result.state
}
offer_state() {
  "$haven" inbox show --json --config "$1.ini" "$2" 2>/dev/null | jq -r .result.offer
}
case_state() {
  "$haven" inbox show --json --config "$1.ini" "$2" 2>/dev/null | jq -r .result.case
}
is() { [ "$("${@:2}")" = "$1" ]; }

# submit FILE: submits a referral and prints its id.
submit() {
  "$haven" referral submit --json --config intake.ini "$1" | jq -r .result.id
}

# stop_all_and_check_logs: stops every daemon cleanly and fails the test if
# a sanitizer reported anything in their logs (the daemons' own exits are
# not otherwise seen by the test).
stop_all_and_check_logs() {
  local name
  for name in "${!pids[@]}"; do stop "$name"; done
  if grep -lE "AddressSanitizer|LeakSanitizer|runtime error:|ThreadSanitizer" ./*.log 2>/dev/null; then
    bad "sanitizer report in a daemon log"
    grep -hE -A12 "AddressSanitizer|LeakSanitizer|runtime error:" ./*.log | head -60
  else
    ok
  fi
}

# outbox NAME: how many envelopes the worker still has to hand to the broker.
outbox() {
  "$haven" status --json --config "$1.ini" 2>/dev/null | jq -r .result.outbox
}
