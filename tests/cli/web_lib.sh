# haven-web beside the flow tests' workers (tests/cli/flow_lib.sh): a
# self-signed pair, one haven-web per worker with a staff socket, staff
# accounts, and an HTTPS client (curl, verifying the test's certificate).
#   web_setup NAME KIND NODE [EXTRA_INI]  writes web-NAME.ini, the worker's staff_control
#   web_start NAME / web_stop NAME        starts haven-web, waits for "ready" / SIGTERM
#   staff NAME WHO ROLE PASSWORD          haven staff add (password on stdin)
#   signin NAME WHO PASSWORD [TOTP]       POST /api/v1/session; keeps WHO's cookie and CSRF
#   api NAME WHO METHOD PATH [BODY]       sets $st (status) and $body; WHO "-" for nobody,
#                                         "token:TEXT" for a bearer token
#                                         (headers in the array $hdr go too)
#   want STATUS [ERROR] WHAT              checks $st and .error
# Every request's method and path go to requests.log (the OpenAPI check).
declare -A web_base=() web_pid=() csrf=()
hdr=()

web_setup() {
  local name=$1 kind=$2 node=$3 extra=${4:-} port
  port=$(free_ports 1)
  [ -f tls/cert.pem ] || "$haven" web self-signed --out tls >/dev/null || bad "self-signed"
  grep -q "^staff_control" "$name.ini" 2>/dev/null ||
    sed -i "/^control = /a staff_control = $name-staff/staff.sock" "$name.ini"
  cat > "web-$name.ini" <<INI
[web]
node = $node
listen = 127.0.0.1:$port
tls_cert = tls/cert.pem
tls_key = tls/key.pem
assets = assets
connection_timeout_s = 2
connections_per_address = ${web_per_address:-32}
[worker]
staff_socket = $name-staff/staff.sock
kind = $kind
[store]
path = web-$name.db
audit = web-$name.audit
[auth]
argon2_ops = 1
argon2_mem_kib = 8192
max_failures = 3
address_max_failures = 1000
$extra
INI
  web_base[$name]="https://127.0.0.1:$port"
}

web_start() {
  local name=$1 before
  before=$(grep -c "event=ready" "web-$name.log" 2>/dev/null)
  "$bin/haven-web" -c "web-$name.ini" 2>> "web-$name.log" &
  web_pid[$name]=$!
  pids[web-$name]=$!
  wait_until 10 web_ready "$name" "${before:-0}"
}
web_ready() { [ "$(grep -c "event=ready" "web-$1.log" 2>/dev/null)" -gt "$2" ]; }

web_stop() { stop "web-$1"; }

staff() {
  printf '%s\n' "$4" | "$haven" staff add --config "web-$1.ini" --name "$2" --role "$3" \
    >/dev/null || bad "staff add $2"
}

api() {
  local name=$1 who=$2 m=$3 p=$4 data=${5-}
  echo "$m ${p%%\?*}" >> requests.log
  local args=(-s -o resp.json -w '%{http_code}' --cacert tls/cert.pem -X "$m"
              "${web_base[$name]}$p")
  case $who in
    -) ;;
    token:*) args+=(-H "Authorization: Bearer ${who#token:}") ;;
    *) args+=(-b "jar-$name-$who" -c "jar-$name-$who")
       [ -n "${csrf[$name-$who]:-}" ] && args+=(-H "X-CSRF-Token: ${csrf[$name-$who]}") ;;
  esac
  [ -n "$data" ] && args+=(--data-binary "$data" -H "Content-Type: application/json")
  for h in "${hdr[@]}"; do args+=(-H "$h"); done
  st=$(curl "${args[@]}")
  body=$(cat resp.json 2>/dev/null)
}

signin() {
  local name=$1 who=$2 data
  data=$(jq -nc --arg n "$who" --arg p "$3" --arg t "${4:-}" \
    '{name: $n, password: $p} + (if $t == "" then {} else {totp: $t} end)')
  rm -f "jar-$name-$who"
  unset "csrf[$name-$who]"
  api "$name" "$who" POST /api/v1/session "$data"
  [ "$st" = 201 ] && csrf[$name-$who]=$(jq -r .csrf_token <<<"$body")
}

want() {
  local status=$1 error="" what
  if [ $# -eq 3 ]; then error=$2; what=$3; else what=$2; fi
  if [ "$st" != "$status" ]; then
    bad "$what: status $st, expected $status: $body"
  elif [ -n "$error" ] && [ "$(jq -r .error <<<"$body")" != "$error" ]; then
    bad "$what: error $(jq -r .error <<<"$body"), expected $error"
  else
    ok
  fi
}

# totp_code NAME WHO: the current code of WHO's secret (kept at enrolment).
enrol() {
  "$haven" staff enrol-totp --config "web-$1.ini" --name "$2" > "totp-$1-$2.txt" ||
    bad "enrol-totp $2"
}
totp_code() {
  oathtool --totp -b "$(sed -n 's/^secret: //p' "totp-$1-$2.txt")"
}
