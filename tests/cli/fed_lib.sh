# A three-country referral network of real daemons for the federation
# tests: brokers broker.xa (origin), broker.xb (transit) and broker.xc
# (destination); an intake in XA, a router and two shelters in XC, and a
# transit centre in XB. Peering: XA with XB and XC; XC with XA only; XB
# with XA only. Builds on flow_lib.sh (start, stop, kill9, wait_until,
# state helpers), whose flow_setup it replaces.
#   fed_setup BIN_DIR HOST_XA HOST_XB HOST_XC
# HOST_* are the addresses each broker listens on (127.0.0.1 for all on
# loopback, or the addresses of network namespaces).

fed_setup() {
  bin=$(realpath "$1")
  haven="$bin/haven"
  local hxa=$2 hxb=$3 hxc=$4
  work=$(mktemp -d "${TMPDIR:-/tmp}/hvfed.XXXXXX")
  trap flow_cleanup EXIT
  cd "$work" || exit 1
  # Twelve free ports below the ephemeral range (lib.sh free_ports): a
  # listening port inside it can be taken first as a connection's source.
  local -a port
  read -r -a port <<<"$(free_ports 12)"
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
  "network": "federation-test", "version": 1, "issued_at": "$from", "expires_at": "$expires",
  "nodes": [
    { "id": "broker.xa", "role": "broker", "country": "XA", "organisation": "Test Broker XA",
      "endpoints": { "workers": "tcp://$hxa:${port[0]}", "peers": "tcp://$hxa:${port[1]}" },
      "keys_file": "keys/broker.xa.pub", $v },
    { "id": "broker.xb", "role": "broker", "country": "XB", "organisation": "Test Broker XB",
      "endpoints": { "workers": "tcp://$hxb:${port[2]}", "peers": "tcp://$hxb:${port[3]}" },
      "keys_file": "keys/broker.xb.pub", $v },
    { "id": "broker.xc", "role": "broker", "country": "XC", "organisation": "Test Broker XC",
      "endpoints": { "workers": "tcp://$hxc:${port[4]}", "peers": "tcp://$hxc:${port[5]}" },
      "keys_file": "keys/broker.xc.pub", $v },
    { "id": "ops.xa", "role": "operator", "country": "XA", "home": "broker.xa",
      "organisation": "Example Operations Desk", "keys_file": "keys/ops.xa.pub", $v },
    { "id": "ngo.xa", "role": "intake", "country": "XA", "home": "broker.xa",
      "organisation": "Example Origin NGO", "keys_file": "keys/ngo.xa.pub", $v },
    { "id": "transit.xb", "role": "provider", "country": "XB", "home": "broker.xb",
      "organisation": "Example Transit Centre", "keys_file": "keys/transit.xb.pub", $v,
      "services": ["shelter"], "regions": ["Example Border District"],
      "languages": ["en"], "accepts_minors": true, "capacity": 4 },
    { "id": "router.xc", "role": "router", "country": "XC", "home": "broker.xc",
      "organisation": "Example Referral Mechanism", "keys_file": "keys/router.xc.pub", $v },
    { "id": "shelter-a.xc", "role": "provider", "country": "XC", "home": "broker.xc",
      "organisation": "Example Shelter A", "keys_file": "keys/shelter-a.xc.pub", $v,
      "services": ["shelter"], "regions": ["Example Capital Region"],
      "languages": ["en", "ti"], "accepts_minors": false, "capacity": 1000 },
    { "id": "shelter-b.xc", "role": "provider", "country": "XC", "home": "broker.xc",
      "organisation": "Example Shelter B", "keys_file": "keys/shelter-b.xc.pub", $v,
      "services": ["shelter"], "regions": ["Example Capital Region"],
      "languages": ["en"], "accepts_minors": true, "capacity": 1000 }
  ]
}
EOF
  mkdir keys
  local id
  for id in authority broker.xa broker.xb broker.xc ops.xa ngo.xa transit.xb router.xc shelter-a.xc \
            shelter-b.xc; do
    "$haven" keygen --id "$id" --out keys >/dev/null || bad "keygen $id"
  done
  "$haven" registry sign --authority keys/authority.key --in network.json --out network.reg \
    >/dev/null || bad "registry sign"
  ops_xa="tcp://$hxa:${port[6]}"
  events_xa="tcp://$hxa:${port[9]}"
  broker_ini broker-xa broker.xa "broker.xb, broker.xc" "$ops_xa" "$events_xa"
  broker_ini broker-xb broker.xb "broker.xa" "tcp://$hxb:${port[7]}" "tcp://$hxb:${port[10]}"
  broker_ini broker-xc broker.xc "broker.xa" "tcp://$hxc:${port[8]}" "tcp://$hxc:${port[11]}"
  worker_ini intake ngo.xa
  worker_ini transit transit.xb
  worker_ini router router.xc
  worker_ini shelter-a shelter-a.xc
  worker_ini shelter-b shelter-b.xc
  cat >> router.ini <<EOF
[pathway]
shelter = shelter-a.xc, shelter-b.xc
EOF
}

# broker_ini NAME ID PEERS OPERATORS_ENDPOINT EVENTS_ENDPOINT
broker_ini() {
  cat > "$1.ini" <<EOF
[broker]
id = $2
keys = keys/$2.key
authority = keys/authority.pub
registry = network.reg
store = $1.db
[timing]
heartbeat_ms = 200
dead_after_ms = 1000
lease_ms = 2000
retry_max_ms = 1000
[federation]
peers = $3
[operators]
bind = $4
events = $5
EOF
}
