#!/usr/bin/env bash
# HTTP under abuse (issue 20): 200 connections held from one address
# (127.0.0.2), each trickling its request head a byte every half second,
# must not keep /healthz from answering another address (127.0.0.1): at
# the broker's [http], a worker's [metrics] and haven-web. The server
# takes connections_per_address from the slow address and refuses the
# rest; the ones it took are cut at head_timeout_s (2 s here), although
# they are never idle long enough for connection_timeout_s (10 s) to
# close them. The time /healthz took is printed; the 1 s it is held to is
# the issue's acceptance bound, not a measure of the machine.
# usage: test_http_abuse.sh BIN_DIR
set -u
here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
. "$here/lib.sh"
. "$here/flow_lib.sh"
. "$here/web_lib.sh"
slow="$here/slow_clients.py"
flow_setup "$1"
mkdir -p assets
echo '<!doctype html><title>Haven</title>' > assets/index.html

# The broker: per address 8, heads within 2 s, idle 10 s.
sed -i '/^\[http\]/a connections_per_address = 8\nhead_timeout_s = 2\nconnection_timeout_s = 10' \
  broker.ini
read -r metrics_port <<<"$(free_ports 1)"
cat >> intake.ini <<INI
[metrics]
bind = 127.0.0.1:$metrics_port
connections_per_address = 8
head_timeout_s = 2
connection_timeout_s = 10
INI
web_per_address=8
web_setup intake intake ngo.xc
sed -i -e '/^\[web\]/a head_timeout_s = 2\nbody_timeout_s = 2' -e 's/^connection_timeout_s = .*/connection_timeout_s = 10/' \
  web-intake.ini

# Limits a section cannot have are refused by -n, naming the key.
sed 's/^connections_per_address = 8$/connections_per_address = 200/' broker.ini > wide.ini
sed -i '/^\[http\]/a connections = 100' wide.ini
expect 1 "[http] connections_per_address: expected 1 to connections (100)" \
  "$bin/haven-broker" -n -c wide.ini
sed 's/^head_timeout_s = 2$/head_timeout_s = 0/' intake.ini > zero.ini
expect 1 "head_timeout_s" "$bin/haven-intake" -n -c zero.ini
sed 's/^connections_per_address = 8$/connections_per_address = 300/' web-intake.ini > wide-web.ini
expect 1 "[web] connections_per_address: expected at most connections (256)" \
  "$bin/haven-web" -n -c wide-web.ini

start broker
start intake
web_start intake

# abuse NAME HOST:PORT URL WANT_STATUS WANT_BODY [CA_FILE] [CURL_ARGS...]: runs
# slow_clients.py for 8 s, asks URL from 127.0.0.1 while it holds its
# connections, and checks the answer, its time and the cut connections.
abuse() {
  local name=$1 target=$2 url=$3 status=$4 want=$5 ca=${6:-} out t code lines_before
  shift 6
  local log=$name.log
  [ "$name" = web ] && log=web-intake.log
  lines_before=$(wc -l < "$log")
  python3 "$slow" "$target" 127.0.0.2 200 8 $ca > "slow-$name.txt" 2>&1 &
  local slow_pid=$!
  wait_until 20 grep -q "^ready" "slow-$name.txt"
  out=$(curl -s --max-time 10 -o "healthz-$name.txt" -w '%{http_code} %{time_total}' \
    --interface 127.0.0.1 "$@" "$url")
  code=${out% *} t=${out#* }
  echo "$name: $url answered $code in $t s with 200 slow connections held ($(head -1 "slow-$name.txt"))"
  [ "$code" = "$status" ] && ok || bad "$name: $url answered $code, expected $status"
  grep -qF -- "$want" "healthz-$name.txt" && ok ||
    bad "$name: $url's body lacks '$want': $(head -c 200 "healthz-$name.txt")"
  awk -v t="$t" 'BEGIN { exit !(t < 1.0) }' && ok ||
    bad "$name: $url took $t s (the issue's bound is 1 s)"
  # The first attempts: 8 taken, the rest refused at once.
  grep -qx "ready open=8 refused=192" "slow-$name.txt" && ok ||
    bad "$name: per-address limit: $(head -1 "slow-$name.txt")"
  wait "$slow_pid"
  local done cut longest
  done=$(grep "^done" "slow-$name.txt")
  echo "$name: $done"
  cut=$(sed -n 's/.* cut=\([0-9]*\) .*/\1/p' <<<"$done")
  longest=$(sed -n 's/.* longest_s=\([0-9.]*\)$/\1/p' <<<"$done")
  # Cut at the 2 s head deadline, not at the 10 s idle timeout: in 8 s
  # every one of the 8 held is cut at least twice over.
  [ "${cut:-0}" -ge 16 ] && ok || bad "$name: slow heads cut: $done"
  awk -v t="${longest:-99}" 'BEGIN { exit !(t >= 1.5 && t < 6) }' && ok ||
    bad "$name: a slow head stayed $longest s (deadline 2 s, idle timeout 10 s)"
  # Thousands of refused and cut connections, a few log lines.
  local added=$(($(wc -l < "$log") - lines_before))
  echo "$name: $added log lines during the abuse"
  [ "$added" -lt 100 ] && ok || bad "$name: the abuse wrote $added log lines"
}

abuse broker "${http_base#http://}" "$http_base/healthz" 200 "ok" "" \
  -H "Authorization: Bearer $http_token"
abuse intake "127.0.0.1:$metrics_port" "http://127.0.0.1:$metrics_port/healthz" 200 "ok" ""
abuse web "${web_base[intake]#https://}" "${web_base[intake]}/" 200 "<title>Haven</title>" \
  tls/cert.pem --cacert tls/cert.pem
# A body trickled a byte every half second is cut at body_timeout_s (2 s),
# though it is never idle for connection_timeout_s (10 s).
python3 - "${web_base[intake]#https://}" tls/cert.pem > slow-body.txt 2>&1 <<'PY'
import socket, ssl, sys, time
host, port = sys.argv[1].split(":")
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(socket.create_connection((host, int(port))), server_hostname=host)
s.sendall(b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          b"Content-Length: 1000\r\n\r\n{")
t = time.monotonic()
s.settimeout(0.5)
got = b""
while time.monotonic() - t < 30:
    try:
        data = s.recv(100)
        if not data:
            break
        got += data
    except socket.timeout:
        try:
            s.send(b" ")
        except (OSError, ssl.SSLError):
            break
    except (OSError, ssl.SSLError):
        break
print("closed after %.1f s, %d bytes" % (time.monotonic() - t, len(got)))
PY
cat slow-body.txt
body_s=$(sed -n 's/^closed after \([0-9.]*\) s, 0 bytes$/\1/p' slow-body.txt)
[ -n "$body_s" ] && awk -v t="$body_s" 'BEGIN { exit !(t >= 1.5 && t < 6) }' && ok ||
  bad "a trickled body: $(cat slow-body.txt) (deadline 2 s, idle timeout 10 s)"
grep -q "event=http_cut server=web reason=body_timeout address=127.0.0.1 after_s=2$" \
  web-intake.log && ok || bad "haven-web's log does not tell of the cut body"
# The cut connections are told in the log, a few lines and a count.
grep -q "event=http_cut server=http reason=head_timeout address=127.0.0.2 after_s=2$" broker.log &&
  ok || bad "the broker's log does not tell of a cut head"
stop_all_and_check_logs
# Past the first five, the cut connections are counted, and the count is
# told (by the loop, or at the latest when the daemon stops).
for log in broker.log intake.log web-intake.log; do
  grep -q "event=log_suppressed of=http_cut peer=127.0.0.2 count=[1-9][0-9]* window_s=[0-9]*$" "$log" &&
    ok || bad "$log does not tell how many cuts it left out"
done

finish
