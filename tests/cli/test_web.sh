#!/usr/bin/env bash
# haven-web (issue 17) with real daemons: a broker, an intake, a router and
# providers of tests/cli/flow_lib.sh, each worker with a staff socket and a
# haven-web in front of it over HTTPS on loopback (a self-signed pair made
# by `haven web self-signed`), driven with curl as a browser or an
# organisation's system would.
# usage: test_web.sh BIN_DIR EXAMPLE_REFERRAL
set -u
here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
. "$here/lib.sh"
. "$here/flow_lib.sh"
. "$here/web_lib.sh"
example=$(realpath "$2")
flow_setup "$1"
cp "$example" adult.json
mkdir -p assets/sub
echo '<!doctype html><title>Haven</title>' > assets/index.html
echo 'body {}' > assets/sub/site.css
echo "not to be served" > outside.txt

# ---- the daemon's own command line
expect 0 "usage: haven-web" "$bin/haven-web" --help
expect 0 "haven-web 0." "$bin/haven-web" --version
expect 2 "usage: haven-web" "$bin/haven-web"
web_per_address=8 # the per-address limit is tested below with this many
web_setup intake intake ngo.xc
web_setup shelter-a provider shelter-a.xc "[notify]
command = cat >> notify.out
staff = sup-a"
web_setup router router router.xc
expect 0 "configuration valid (intake for ngo.xc, HTTPS)" "$bin/haven-web" -n -c web-intake.ini
# -n writes nothing: no store, no audit log yet.
[ ! -e web-intake.db ] && [ ! -e web-intake.audit ] && ok || bad "haven-web -n wrote its store or audit log"
# A key that is not the certificate's is refused by -n, as it would be at start.
mkdir -p other-tls && "$haven" web self-signed --out other-tls >/dev/null
sed 's#^tls_key = tls/key.pem#tls_key = other-tls/key.pem#' web-intake.ini > mismatched.ini
expect 1 "[web] tls_cert tls/cert.pem and tls_key other-tls/key.pem" "$bin/haven-web" -n -c mismatched.ini
sed -e 's/^listen = 127.0.0.1:/listen = 192.0.2.1:/' -e '/^tls_/d' web-intake.ini > plain-far.ini
expect 1 "plain HTTP is allowed only on loopback" "$bin/haven-web" -n -c plain-far.ini
# A second haven-web on the intake for the short limits: idle sessions of
# 1 s, an address throttled after 3 failures.
sed -e '/^staff_control/!s/web-intake\./web-short./' web-intake.ini > web-short.ini
sed -i -e "s/^listen = .*/listen = 127.0.0.1:$(free_ports 1)/" \
  -e 's/^address_max_failures = .*/address_max_failures = 3/' web-short.ini
printf '[session]\nidle_timeout_s = 1\n' >> web-short.ini
web_base[short]="https://127.0.0.1:$(sed -n 's/^listen = 127.0.0.1://p' web-short.ini)"

# ---- accounts (passwords on stdin; TOTP for supervisors and admins)
pw="correct horse battery staple"
expect 1 "at least 12 characters" sh -c "echo short-pw | '$haven' staff add --config web-intake.ini --name x1 --role caseworker"
expect 1 "'coordinator' is not a role here: caseworker, supervisor or admin (HV_EINVAL)" sh -c "echo '$pw' | '$haven' staff add --config web-intake.ini --name x1 --role coordinator"
expect 2 "option --role is required" sh -c "echo '$pw' | '$haven' staff add --config web-intake.ini --name x1"
for w in caseworker-1 caseworker-2 caseworker-3; do staff intake "$w" caseworker "$pw"; done
staff intake sup-1 supervisor "$pw"
staff intake admin-1 admin "$pw"
enrol intake sup-1
enrol intake admin-1
expect 0 "otpauth://totp/Haven%20ngo.xc:sup-1?secret=" cat totp-intake-sup-1.txt
staff shelter-a sup-a supervisor "$pw"
staff shelter-a cw-a caseworker "$pw"
staff shelter-a admin-a admin "$pw"
enrol shelter-a sup-a
staff router coord-1 coordinator "$pw"
staff router admin-r admin "$pw"
enrol router admin-r
for w in caseworker-9; do
  printf '%s\n' "$pw" | "$haven" staff add --config web-short.ini --name "$w" --role caseworker >/dev/null
done
expect 0 "NAME" "$haven" staff list --config web-intake.ini
[ "$("$haven" staff list --json --config web-intake.ini |
     jq -r '.[] | select(.name == "caseworker-1") | .role + " " + (.disabled | tostring)')" = \
  "caseworker false" ] && ok || bad "staff list --json lacks caseworker-1 as an enabled caseworker"

for n in broker router shelter-a shelter-b legal intake; do start "$n"; done
for n in intake shelter-a router short; do web_start "$n"; done
grep -q "event=plain_http" web-intake.log && bad "TLS instance says plain" || ok
# Plain HTTP on loopback serves, and says so at start.
sed -e '/^tls_/d' -e "s/^listen = .*/listen = 127.0.0.1:$(free_ports 1)/" \
  -e 's/web-intake\./web-plain./' web-intake.ini > web-plain.ini
expect 0 "plain HTTP on loopback" "$bin/haven-web" -n -c web-plain.ini
web_base[plain]="http://$(sed -n 's/^listen = //p' web-plain.ini)"
web_start plain
grep -q 'event=plain_http listen=127.0.0.1:' web-plain.log && ok || bad "plain HTTP not said at start"
st=$(curl -s -o resp.json -w '%{http_code}' "${web_base[plain]}/api/v1/session"); body=$(cat resp.json)
want 401 HV_EAUTH "plain HTTP on loopback answers"
web_stop plain

# ---- sign-in, session, cookie, headers
signin intake caseworker-1 "$pw"
want 201 "caseworker signs in"
[ ${#csrf[intake-caseworker-1]} -eq 64 ] && ok || bad "no CSRF token"
curl -s -D headers.txt -o /dev/null --cacert tls/cert.pem -X POST "${web_base[intake]}/api/v1/session" \
  --data-binary "{\"name\":\"caseworker-2\",\"password\":\"$pw\"}"
grep -qiE "^set-cookie: __Host-haven_session=[0-9a-f]{64}; HttpOnly; Secure; SameSite=Strict; Path=/" headers.txt &&
  ok || bad "session cookie: $(grep -i set-cookie headers.txt)"
for h in "Content-Security-Policy: default-src 'self'" "X-Content-Type-Options: nosniff" \
         "Referrer-Policy: no-referrer" "Cache-Control: no-store" "Strict-Transport-Security: max-age="; do
  grep -qiF "$h" headers.txt && ok || bad "header missing: $h"
done
signin intake caseworker-2 "$pw"; want 201 "second caseworker signs in"
api intake caseworker-1 GET /api/v1/session
want 200 "session says who"
[ "$(jq -r '.staff + " " + .role' <<<"$body")" = "caseworker-1 caseworker" ] && ok || bad "session: $body"
api intake - GET /api/v1/referrals
want 401 HV_EAUTH "no session, no referrals"
# ---- preferences: language and time zone, per person, in haven-web's store
api intake caseworker-1 GET /api/v1/session
[ "$(jq -r '.lang + " " + .time_zone + " " + (.time_zone_saved | tostring)' <<<"$body")" = "en UTC false" ] && ok || bad "defaults: $body"
hdr=("Accept-Language: fr-CH, fr;q=0.9, en;q=0.8")
api intake caseworker-1 GET /api/v1/session
[ "$(jq -r '.lang + " " + .time_zone' <<<"$body")" = "fr UTC" ] && ok || bad "browser's French: $body"
hdr=("Accept-Language: de-DE, ar;q=0.5, en;q=0.2")
api intake caseworker-1 GET /api/v1/session
[ "$(jq -r .lang <<<"$body")" = ar ] && ok || bad "browser's Arabic: $body"
hdr=("Accept-Language: de-DE, en;q=0")
api intake caseworker-1 GET /api/v1/session
[ "$(jq -r .lang <<<"$body")" = en ] && ok || bad "no supported language: $body"
hdr=()
api intake caseworker-1 PUT /api/v1/session/preferences '{"lang": "ar", "time_zone": "Africa/Tunis"}'
want 200 "caseworker saves language and time zone"
[ "$(jq -r '.staff + " " + .lang + " " + .time_zone' <<<"$body")" = "caseworker-1 ar Africa/Tunis" ] &&
  ok || bad "saved preferences: $body"
hdr=("Accept-Language: fr")
api intake caseworker-1 GET /api/v1/session
[ "$(jq -r '.lang + " " + .time_zone + " " + (.time_zone_saved | tostring)' <<<"$body")" = "ar Africa/Tunis true" ] && ok ||
  bad "the saved language does not win over the browser's: $body"
hdr=()
api intake caseworker-1 PUT /api/v1/session/preferences '{"time_zone": "Europe/Rome"}'
want 200 "caseworker changes the time zone only"
[ "$(jq -r '.lang + " " + .time_zone' <<<"$body")" = "ar Europe/Rome" ] && ok || bad "partial save: $body"
api intake caseworker-1 PUT /api/v1/session/preferences '{"lang": "de"}'
want 422 HV_EINVAL "a language that is not en, fr or ar"
[ "$(jq -r .message <<<"$body")" = '"lang" "de" is not one of en, fr, ar' ] && ok || bad "lang message: $body"
api intake caseworker-1 PUT /api/v1/session/preferences '{"time_zone": "Mars/Olympus_Mons"}'
want 422 HV_EINVAL "a time zone that does not exist"
jq -r .message <<<"$body" | grep -qF '"time_zone" "Mars/Olympus_Mons" is not a time zone name' && ok ||
  bad "time zone message: $body"
for tz in "../../etc/passwd" "Europe//Rome" "/Europe/Rome" "Europe" "zone.tab" ""; do
  api intake caseworker-1 PUT /api/v1/session/preferences "{\"time_zone\": \"$tz\"}"
  want 422 HV_EINVAL "time zone '$tz' refused"
done
api intake caseworker-1 PUT /api/v1/session/preferences '{"lang": "en", "theme": "dark"}'
want 422 HV_EINVAL "an unknown preference"
api intake caseworker-1 GET /api/v1/session
[ "$(jq -r '.lang + " " + .time_zone' <<<"$body")" = "ar Europe/Rome" ] && ok ||
  bad "a refused change changed something: $body"
saved=${csrf[intake-caseworker-1]}; unset "csrf[intake-caseworker-1]"
api intake caseworker-1 PUT /api/v1/session/preferences '{"lang": "fr"}'
want 403 HV_EFORBIDDEN "preferences without the CSRF token"
csrf[intake-caseworker-1]=$saved
api intake caseworker-2 GET /api/v1/session
[ "$(jq -r '.lang + " " + .time_zone' <<<"$body")" = "en UTC" ] && ok || bad "preferences leak to another person: $body"

signin intake caseworker-1 "wrong password here"
want 401 HV_EAUTH "wrong password refused"
signin intake caseworker-1 "$pw"; want 201 "caseworker signs in again"
[ "$(jq -r '.lang + " " + .time_zone' <<<"$body")" = "ar Europe/Rome" ] && ok ||
  bad "preferences are not remembered at the next sign-in: $body"

# ---- CSRF: a state-changing request without the token changes nothing
saved=${csrf[intake-caseworker-1]}
unset "csrf[intake-caseworker-1]"
api intake caseworker-1 POST /api/v1/referrals "$(cat adult.json)"
want 403 HV_EFORBIDDEN "referral without CSRF token refused"
csrf[intake-caseworker-1]=wrong-token
api intake caseworker-1 POST /api/v1/referrals "$(cat adult.json)"
want 403 HV_EFORBIDDEN "referral with a wrong CSRF token refused"
csrf[intake-caseworker-1]=$saved
api intake caseworker-1 GET /api/v1/referrals
want 200 "list"
[ "$(jq -r .total <<<"$body")" = 0 ] && ok || bad "a refused request created something: $body"

# ---- bad input, each with its defined answer
api intake caseworker-1 POST /api/v1/referrals '{"schema": "haven-referral/1",'
want 400 HV_EJSON "malformed JSON"
[ "$(jq -r '.errors[0].line' <<<"$body")" = 1 ] && ok || bad "malformed JSON not located: $body"
api intake caseworker-1 POST /api/v1/referrals '{"schema": "haven-referral/1"}'
want 422 HV_EJSON "invalid referral file"
jq -e '.errors | length > 0 and (.[0] | has("path") and has("line") and has("column"))' <<<"$body" \
  >/dev/null && ok || bad "no located errors: $body"
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' ' ' > big.json
st=$(curl -s -o resp.json -w '%{http_code}' --cacert tls/cert.pem -b jar-intake-caseworker-1 \
  -H "X-CSRF-Token: $saved" --data-binary @big.json "${web_base[intake]}/api/v1/referrals")
body=$(cat resp.json); want 413 HV_ETOOBIG "oversized body (Content-Length)"
st=$(curl -s -o resp.json -w '%{http_code}' --cacert tls/cert.pem -b jar-intake-caseworker-1 \
  -H "X-CSRF-Token: $saved" -H "Transfer-Encoding: chunked" --data-binary @big.json \
  "${web_base[intake]}/api/v1/referrals")
body=$(cat resp.json); want 413 HV_ETOOBIG "oversized body (chunked)"
# A body that does not end is read and dropped up to 16 MiB, then cut off.
head -c $((20 * 1024 * 1024)) /dev/zero | curl -s -o /dev/null -w '%{http_code}' --cacert tls/cert.pem \
  -b jar-intake-caseworker-1 -H "X-CSRF-Token: $saved" -H "Transfer-Encoding: chunked" \
  --data-binary @- "${web_base[intake]}/api/v1/referrals" > endless.txt
endless_rc=$?
[ "$endless_rc" -ne 0 ] && ! grep -q "^2" endless.txt && ok ||
  bad "an endless body was not cut off: curl $endless_rc, status $(cat endless.txt)"
static() { st=$(curl -s --path-as-is -o resp.json -w '%{http_code}' --cacert tls/cert.pem "${web_base[intake]}$1"); body=$(cat resp.json); }
static /; want 200 "assets: index"
grep -q "<title>Haven</title>" resp.json && ok || bad "index not served"
static /sub/site.css; want 200 "assets: a file in a folder"
# A file the browser has is revalidated by its ETag: 304 and no body; a
# changed file has a new tag and is sent whole.
etag=$(curl -s -D - -o /dev/null --cacert tls/cert.pem "${web_base[intake]}/sub/site.css" |
  tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p')
[ -n "$etag" ] && ok || bad "a static file has no ETag"
revalidate() { curl -s -o resp.txt -w '%{http_code} %{size_download}' --cacert tls/cert.pem \
  -H "If-None-Match: $etag" "${web_base[intake]}/sub/site.css"; }
[ "$(revalidate)" = "304 0" ] && ok || bad "an unchanged file revalidated: $(revalidate)"
echo 'body { color: black }' > assets/sub/site.css
[ "$(revalidate)" = "200 22" ] && ok || bad "a changed file revalidated: $(revalidate)"
static /../outside.txt; want 400 HV_EINVAL "path traversal refused"
static /sub/%2e%2e/%2e%2e/outside.txt; want 400 HV_EINVAL "encoded path traversal refused"
static /sub; want 404 HV_ENOTFOUND "no directory listing"
static /nothing.html; want 404 HV_ENOTFOUND "missing asset"
ln -s "$PWD/outside.txt" assets/link.txt
static /link.txt; want 404 HV_ENOTFOUND "a link out of the assets folder refused"

# A slow client (headers never finished) is cut off after the connection
# timeout (2 s here), and others are served meanwhile.
python3 - "${web_base[intake]#https://}" tls/cert.pem > slow.txt 2>&1 <<'PY' &
import socket, ssl, sys, time
host, port = sys.argv[1].split(":")
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(socket.create_connection((host, int(port))), server_hostname=host)
s.sendall(b"GET /api/v1/session HTTP/1.1\r\nHost: x\r\n")
t = time.monotonic()
s.settimeout(30)
try:
    data = s.recv(100)
except (ConnectionError, ssl.SSLError):
    data = b""
print("closed after %.1f s, %d bytes" % (time.monotonic() - t, len(data)))
PY
slow_pid=$!
api intake caseworker-1 GET /api/v1/session
want 200 "served while a slow client waits"
wait "$slow_pid"
closed=$(sed -n 's/^closed after \([0-9.]*\) s, 0 bytes$/\1/p' slow.txt)
[ -n "$closed" ] && awk -v t="$closed" 'BEGIN { exit !(t >= 1.5 && t < 10) }' && ok ||
  bad "slow client: $(cat slow.txt)"

# One address cannot take every connection: with 8 held open from
# 127.0.0.1 (connections_per_address), a ninth from it is refused while
# another address (127.0.0.2) is served.
python3 - "${web_base[intake]#https://}" tls/cert.pem > per-address.txt 2>&1 <<'PY'
import socket, ssl, sys
host, port = sys.argv[1].split(":")
ctx = ssl.create_default_context(cafile=sys.argv[2])
def conn(src):
    s = socket.create_connection((host, int(port)), timeout=5, source_address=(src, 0))
    return ctx.wrap_socket(s, server_hostname=host)
held = [conn("127.0.0.1") for _ in range(8)]
for s in held:
    s.sendall(b"GET /api/v1/session HTTP/1.1\r\nHost: x\r\n")
try:
    s = conn("127.0.0.1")
    s.sendall(b"GET /api/v1/session HTTP/1.1\r\nHost: x\r\n\r\n")
    ninth = "served" if s.recv(12) else "refused"
except (OSError, ssl.SSLError):
    ninth = "refused"
s = conn("127.0.0.2")
s.sendall(b"GET /api/v1/session HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
other = s.recv(12).decode()
print("ninth from 127.0.0.1: %s; 127.0.0.2: %s" % (ninth, other))
PY
grep -qx "ninth from 127.0.0.1: refused; 127.0.0.2: HTTP/1.1 401" per-address.txt && ok ||
  bad "connections per address: $(cat per-address.txt)"

# ---- a referral through the API; need to know between caseworkers
api intake caseworker-1 POST "/api/v1/referrals?reference=CASE-2026-0042" "$(cat adult.json)"
want 201 "caseworker creates a referral"
id=$(jq -r .id <<<"$body")
[ ${#id} -eq 32 ] && ok || bad "no id: $body"
api intake caseworker-1 GET "/api/v1/referrals/$id"
want 200 "creator sees it"
jq -e '.history[0].by == "ngo.xc/caseworker-1"' <<<"$body" >/dev/null && ok ||
  bad "history does not name the person: $body"
api intake caseworker-2 GET "/api/v1/referrals/$id"
want 404 HV_ENOTFOUND "another caseworker's referral is not found"
other_msg=$(jq -r .message <<<"$body")
api intake caseworker-2 GET /api/v1/referrals/00000000000000000000000000000000
want 404 HV_ENOTFOUND "a referral that does not exist"
# The same words, but for the id asked about.
[ "$(jq -r .message <<<"$body" | sed 's/0\{32\}/ID/')" = "${other_msg//$id/ID}" ] && ok ||
  bad "not found differs from hidden: $other_msg / $body"
api intake caseworker-2 POST "/api/v1/referrals/$id/withdraw" '{"reason": "not mine"}'
want 404 HV_ENOTFOUND "another caseworker cannot withdraw it"
api intake caseworker-2 GET /api/v1/referrals
[ "$(jq -r .total <<<"$body")" = 0 ] && ok || bad "caseworker-2 lists others' referrals: $body"
api intake caseworker-1 POST "/api/v1/referrals/$id/authorise"
want 403 HV_EFORBIDDEN "a caseworker cannot authorise a consent override"
api intake caseworker-1 POST "/api/v1/referrals/$id/assign" '{"staff": "caseworker-2"}'
want 403 HV_EFORBIDDEN "a caseworker cannot reassign"

# ---- TOTP where required, and a replayed code refused
signin intake sup-1 "$pw"
want 401 HV_EAUTH "supervisor without a TOTP code"
grep -q "TOTP code is required" <<<"$body" && ok || bad "no word of TOTP: $body"
signin intake sup-1 "$pw" 000000
want 401 HV_EAUTH "wrong TOTP code"
code=$(totp_code intake sup-1)
signin intake sup-1 "$pw" "$code"
want 201 "supervisor signs in with TOTP"
saved_sup=${csrf[intake-sup-1]}; cp jar-intake-sup-1 jar-sup-saved
signin intake sup-1 "$pw" "$code"
want 401 HV_EAUTH "a replayed TOTP code"
grep -q "used already" <<<"$body" && ok || bad "replay not named: $body"
cp jar-sup-saved jar-intake-sup-1; csrf[intake-sup-1]=$saved_sup
api intake sup-1 GET "/api/v1/referrals?limit=10&offset=0"
want 200 "supervisor lists with filters"
jq -e --arg id "$id" '.total >= 1 and (.items | map(.id) | index($id)) != null and
  (.items[0].created_by == "caseworker-1")' <<<"$body" >/dev/null && ok ||
  bad "supervisor's list: $body"
api intake sup-1 GET "/api/v1/referrals?limit=x"
want 422 HV_EINVAL "a malformed limit"
api intake sup-1 GET "/api/v1/referrals?since=2026-01-01&until=2099-01-01&country=XC&service=shelter&q=nothing-like-this"
want 200 "every filter is passed to the worker"
[ "$(jq -r .total <<<"$body")" = 0 ] && ok || bad "the text filter matched: $body"
api intake sup-1 GET "/api/v1/referrals?q=case-2026-00"
[ "$(jq -r '.total' <<<"$body")" = 1 ] && [ "$(jq -r '.items[0].id' <<<"$body")" = "$id" ] && ok ||
  bad "the organisation's reference is not searched: $body"
api intake sup-1 GET "/api/v1/referrals?since=yesterday"
want 422 HV_EINVAL "a malformed date"
api intake sup-1 POST "/api/v1/referrals/$id/assign" '{"staff": "caseworker-2"}'
want 200 "supervisor reassigns"
api intake caseworker-2 GET "/api/v1/referrals/$id"
want 200 "the assigned caseworker sees it now"
# A caseworker's consent override is held until a supervisor authorises it.
jq '.consent = {"services": false, "obtained_from": "individual",
  "obtained_at": "2026-11-20T10:30:00Z", "obtained_by": "Caseworker 14",
  "legal_basis": "vital_interests", "override": {"reason": "Immediate danger to life",
  "authorised_by": "Supervisor 2"}}' adult.json > override.json
api intake caseworker-1 POST /api/v1/referrals "$(cat override.json)"
want 201 "caseworker submits a consent override"
oid=$(jq -r .id <<<"$body")
[ "$(jq -r .state <<<"$body")" = awaiting_authorisation ] && ok || bad "override sent unauthorised: $body"
api intake caseworker-1 POST "/api/v1/referrals/$oid/authorise"
want 403 HV_EFORBIDDEN "a caseworker cannot authorise their own override"
api intake sup-1 POST "/api/v1/referrals/$oid/authorise"
want 200 "the supervisor authorises it"
[ "$(jq -r .state <<<"$body")" = requested ] && ok || bad "authorised override: $body"

# ---- checking a referral file without sending it (referral.check)
api intake sup-1 GET /api/v1/referrals; stored_before=$(jq -r .total <<<"$body")
api intake caseworker-1 POST /api/v1/referrals/check "$(cat adult.json)"
want 200 "a valid referral file checks"
[ "$(jq -c . <<<"$body")" = '{"valid":true,"service":"shelter","country":"XC","router":"router.xc","services":["shelter"],"people":1}' ] &&
  ok || bad "check of a valid file: $body"
api intake caseworker-1 POST /api/v1/referrals '{"schema": "haven-referral/1"}'
submit_errors=$(jq -c .errors <<<"$body")
api intake caseworker-1 POST /api/v1/referrals/check '{"schema": "haven-referral/1"}'
want 422 HV_EJSON "an invalid referral file does not check"
[ "$(jq -c .errors <<<"$body")" = "$submit_errors" ] && [ "$submit_errors" != null ] && ok ||
  bad "check's errors differ from submit's: $body / $submit_errors"
jq '.destination.country = "XQ"' adult.json > nowhere.json
api intake caseworker-1 POST /api/v1/referrals/check "$(cat nowhere.json)"
want 422 HV_EUNROUTABLE "a destination without a router does not check"
[ "$(jq -r .message <<<"$body")" = "no referral router for country XQ in the registry" ] && ok ||
  bad "unroutable check: $body"
api intake caseworker-1 POST /api/v1/referrals/check '[1]'
want 400 HV_EJSON "check of a body that is not an object"
api intake sup-1 GET /api/v1/referrals
[ "$(jq -r .total <<<"$body")" = "$stored_before" ] && ok || bad "check stored something: $body"

# ---- the referral schema, embedded at build time from docs/
api intake caseworker-1 GET /api/v1/schema/referral
want 200 "a caseworker gets the referral schema"
cmp -s resp.json "$here/../../docs/referral.schema.json" && ok || bad "the schema served differs from docs/referral.schema.json"
curl -s -D schema-headers.txt -o /dev/null --cacert tls/cert.pem -b jar-intake-caseworker-1 \
  "${web_base[intake]}/api/v1/schema/referral"
echo "GET /api/v1/schema/referral" >> requests.log
grep -qix "content-type: application/schema+json"$'\r' schema-headers.txt && ok ||
  bad "schema content type: $(grep -i content-type schema-headers.txt)"
api intake - GET /api/v1/schema/referral
want 401 HV_EAUTH "no schema without signing in"

# ---- drafts, kept sealed by the intake worker, each caseworker's own
marker="Draftmarker-Zq7Wx"
api intake caseworker-1 POST /api/v1/drafts "{\"section\": \"person\", \"names\": [{\"given\": \"$marker\"}]}"
want 201 "caseworker saves a new draft"
did=$(jq -r .id <<<"$body")
[ "$(jq -c 'keys' <<<"$body")" = '["created","created_by","id","updated"]' ] &&
  [ "$(jq -r .created_by <<<"$body")" = caseworker-1 ] && [[ $did =~ ^[0-9a-f]{32}$ ]] && ok ||
  bad "new draft: $body"
api intake caseworker-1 GET "/api/v1/drafts/$did"
want 200 "caseworker resumes the draft"
[ "$(jq -r '.draft.names[0].given + " " + .draft.section' <<<"$body")" = "$marker person" ] && ok ||
  bad "draft content: $body"
api intake caseworker-1 PUT "/api/v1/drafts/$did" "{\"section\": \"safety\", \"names\": [{\"given\": \"$marker\"}], \"risk\": \"high\"}"
want 200 "caseworker saves the draft again"
[ "$(jq -r .id <<<"$body")" = "$did" ] && ok || bad "saved again under another id: $body"
api intake caseworker-1 GET "/api/v1/drafts/$did"
[ "$(jq -r '.draft.section + " " + .draft.risk' <<<"$body")" = "safety high" ] && ok ||
  bad "the draft was not replaced: $body"
api intake caseworker-1 PUT "/api/v1/drafts/$did" '["not", "an object"]'
want 400 HV_EJSON "a draft that is not a JSON object"
api intake caseworker-2 GET "/api/v1/drafts/$did"
want 404 HV_ENOTFOUND "another caseworker's draft is not found"
hidden_msg=$(jq -r .message <<<"$body")
api intake caseworker-2 GET /api/v1/drafts/0123456789abcdef0123456789abcdef
want 404 HV_ENOTFOUND "a draft that does not exist"
[ "$(jq -r .message <<<"$body" | sed 's/0123456789abcdef0123456789abcdef/ID/')" = "${hidden_msg//$did/ID}" ] &&
  ok || bad "a hidden draft answers differently from a missing one: $hidden_msg / $body"
api intake caseworker-2 PUT "/api/v1/drafts/$did" '{"taken": true}'
want 404 HV_ENOTFOUND "another caseworker cannot overwrite the draft"
api intake caseworker-2 DELETE "/api/v1/drafts/$did"
want 404 HV_ENOTFOUND "another caseworker cannot delete the draft"
api intake caseworker-2 GET /api/v1/drafts
want 200 "caseworker lists drafts"
[ "$(jq -c . <<<"$body")" = '{"items":[],"total":0}' ] && ok || bad "caseworker-2 sees others' drafts: $body"
api intake sup-1 GET /api/v1/drafts
jq -e --arg d "$did" '.total >= 1 and (.items | map(select(.id == $d)) | length == 1) and
  (.items[0] | keys == ["created","created_by","id","updated"])' <<<"$body" >/dev/null && ok ||
  bad "supervisor's list of drafts: $body"
api intake caseworker-1 GET /api/v1/drafts/not-a-draft
want 404 HV_ENOTFOUND "a malformed draft id"
# The content is sealed: no store file of the intake holds the marker.
grep -lF "$marker" intake.db* >/dev/null 2>&1 && bad "the draft is in plain text in $(grep -lF "$marker" intake.db*)" || ok
# Submitting with ?draft= stores the referral and erases the draft in one
# transaction; a draft that is not there stores nothing.
api intake caseworker-1 POST "/api/v1/referrals?draft=0123456789abcdef0123456789abcdef" "$(cat adult.json)"
want 404 HV_ENOTFOUND "a referral from a draft that does not exist"
api intake sup-1 GET /api/v1/referrals
[ "$(jq -r .total <<<"$body")" = "$stored_before" ] && ok || bad "a refused submission stored something"
api intake caseworker-2 POST "/api/v1/referrals?draft=$did" "$(cat adult.json)"
want 404 HV_ENOTFOUND "a referral from another caseworker's draft"
api intake caseworker-1 POST "/api/v1/referrals?draft=$did" "$(cat adult.json)"
want 201 "the referral is submitted from the draft"
api intake caseworker-1 GET "/api/v1/drafts/$did"
want 404 HV_ENOTFOUND "the draft is gone after submission"
vault_rows() { sqlite3 intake.db "SELECT count(*) FROM vault_keys WHERE referral = x'$1'" 2>/dev/null; }
[ "$(vault_rows "$did")" = 0 ] && ok || bad "the draft's key is still in the vault"
api intake caseworker-1 POST /api/v1/drafts '{"section": "consent"}'
did2=$(jq -r .id <<<"$body")
[ "$(vault_rows "$did2")" = 1 ] && ok || bad "a saved draft has no sealed copy"
api intake caseworker-1 DELETE "/api/v1/drafts/$did2"
want 200 "caseworker deletes a draft"
[ "$(jq -c . <<<"$body")" = "{\"id\":\"$did2\",\"deleted\":true}" ] && ok || bad "delete: $body"
[ "$(vault_rows "$did2")" = 0 ] && ok || bad "a deleted draft's key is still in the vault"
api intake caseworker-1 GET "/api/v1/drafts/$did2"
want 404 HV_ENOTFOUND "a deleted draft"

# ---- "waiting to be sent": what the outbox holds while the broker is away
outbox_of() { api "$1" "$2" GET "/api/v1/$3"; jq -r .outbox <<<"$body"; }
wait_until 20 is sent outbox_of intake caseworker-1 "referrals/$id"
stop broker
api intake caseworker-1 POST "/api/v1/referrals?reference=OUTBOX-1" "$(cat adult.json)"
want 201 "a referral is taken while the broker is away"
wid=$(jq -r .id <<<"$body")
api intake caseworker-1 GET "/api/v1/referrals/$wid"
[ "$(jq -r '.state + " " + .outbox' <<<"$body")" = "requested waiting" ] && ok ||
  bad "the referral does not say it waits to be sent: $body"
api intake caseworker-1 GET "/api/v1/referrals?q=OUTBOX-1"
[ "$(jq -r '.items[0].outbox' <<<"$body")" = waiting ] && ok || bad "the list does not say waiting: $body"
start broker
wait_until 20 is sent outbox_of intake caseworker-1 "referrals/$wid" && ok

# ---- the administrator: staff, no case content anywhere
signin intake admin-1 "$pw" "$(totp_code intake admin-1)"
want 201 "admin signs in with TOTP"
for p in /api/v1/referrals "/api/v1/referrals/$id" /api/v1/events; do
  api intake admin-1 GET "$p"
  want 403 HV_EFORBIDDEN "admin gets no content from GET $p"
done
api intake admin-1 POST "/api/v1/referrals/$id/withdraw" '{"reason": "x"}'
want 403 HV_EFORBIDDEN "admin cannot withdraw"
api intake admin-1 GET /api/v1/staff
want 200 "admin lists staff"
jq -e '.items | map(.name) | index("caseworker-3") != null' <<<"$body" >/dev/null && ok || bad "staff list: $body"
jq -e 'tostring | test("argon2") | not' <<<"$body" >/dev/null && ok || bad "staff list shows hashes"
api intake caseworker-1 GET /api/v1/staff
want 403 HV_EFORBIDDEN "a caseworker cannot manage staff"
api intake admin-1 POST /api/v1/staff "{\"name\": \"caseworker-4\", \"role\": \"caseworker\", \"password\": \"$pw\"}"
want 201 "admin adds a caseworker"
api intake admin-1 POST /api/v1/staff '{"name": "caseworker-5", "role": "caseworker", "password": "too-short"}'
want 422 HV_EINVAL "a short password"
api intake admin-1 POST /api/v1/staff/caseworker-4/role '{"role": "supervisor"}'
want 200 "admin changes a role"
api intake admin-1 POST /api/v1/staff/caseworker-4/role '{"role": "coordinator"}'
want 422 HV_EINVAL "no such role at an intake"
api intake admin-1 POST /api/v1/staff/caseworker-4/reset-password "{\"password\": \"$pw-2\"}"
want 200 "admin resets a password"
api intake admin-1 POST /api/v1/staff/caseworker-4/disable
want 200 "admin disables an account"
signin intake caseworker-4 "$pw-2" "$(totp_code intake admin-1)"
want 401 HV_EAUTH "a disabled account cannot sign in"
api intake admin-1 POST /api/v1/staff/caseworker-4/enable
want 200 "admin enables it again"
# A second factor enrolled through the API: the secret shown once, audited.
api intake admin-1 POST /api/v1/staff/caseworker-4/totp
want 200 "admin enrols a TOTP secret for a supervisor"
totp4=$(jq -r .secret <<<"$body")
[ "$(jq -c 'keys' <<<"$body")" = '["note","otpauth_uri","secret"]' ] && [[ $totp4 =~ ^[A-Z2-7]{32}$ ]] &&
  [ "$(jq -r .otpauth_uri <<<"$body")" = "otpauth://totp/Haven%20ngo.xc:caseworker-4?secret=$totp4&issuer=Haven%20ngo.xc&algorithm=SHA1&digits=6&period=30" ] &&
  ok || bad "TOTP enrolment: $body"
signin intake caseworker-4 "$pw-2" "$(oathtool --totp -b "$totp4")"
want 201 "the supervisor signs in with the enrolled secret"
grep -q '"event":"totp_enrolled","by":"ngo.xc/admin-1"' web-intake.audit && ok || bad "the enrolment is not audited as the admin's"
api intake admin-1 GET /api/v1/staff
[ "$(jq -r '.items[] | select(.name == "caseworker-4") | .totp' <<<"$body")" = true ] && ok ||
  bad "the staff list does not show the second factor: $body"
api intake caseworker-1 POST /api/v1/staff/caseworker-4/totp
want 403 HV_EFORBIDDEN "a caseworker cannot enrol a second factor"
api intake admin-1 POST /api/v1/staff/nobody-here/totp
want 404 HV_ENOTFOUND "a second factor for nobody"
api intake admin-1 POST /api/v1/staff/nobody-here/disable
want 404 HV_ENOTFOUND "no such staff member"
# An admin cannot lock themselves out: no disabling, demoting or
# re-enrolling their own account through the API.
api intake admin-1 POST /api/v1/staff/admin-1/disable
want 409 HV_EPROTO "an admin disables their own account"
api intake admin-1 POST /api/v1/staff/admin-1/totp
want 409 HV_EPROTO "an admin re-enrols their own second factor"
api intake admin-1 POST /api/v1/staff/admin-1/role '{"role": "caseworker"}'
want 409 HV_EPROTO "an admin demotes themselves"
api intake admin-1 GET /api/v1/session
want 200 "the admin's session survives the refusals"

# ---- lockout of an account, lifted by an admin
for i in 1 2 3; do signin intake caseworker-3 "wrong password $i"; done
want 401 HV_EAUTH "third wrong password"
signin intake caseworker-3 "$pw"
want 429 HV_ERATE "a locked account refuses the right password"
api intake admin-1 POST /api/v1/staff/caseworker-3/unlock
want 200 "admin unlocks"
signin intake caseworker-3 "$pw"
want 201 "unlocked account signs in"
for i in 1 2 3; do signin intake caseworker-3 "wrong password $i"; done
expect 0 "unlocked caseworker-3" "$haven" staff unlock --config web-intake.ini --name caseworker-3
signin intake caseworker-3 "$pw"; want 201 "unlocked by haven staff unlock"

# ---- the address throttled (web-short: after 3 failures)
for i in 1 2 3; do signin short "nobody-$i" "wrong password $i"; done
signin short caseworker-9 "$pw"
want 429 HV_ERATE "a throttled address refuses even the right password"
expect 0 "unlocked 127.0.0.1" "$haven" staff unlock --config web-short.ini --address 127.0.0.1
signin short caseworker-9 "$pw"
want 201 "the address unlocked"
# and through the API, by an administrator
printf '%s\n' "$pw" | "$haven" staff add --config web-short.ini --name admin-9 --role admin >/dev/null
enrol short admin-9
signin short admin-9 "$pw" "$(totp_code short admin-9)"
for i in 1 2 3; do signin short "nobody-$i" "wrong password $i"; done
api short admin-9 POST /api/v1/staff/unlock-address '{"address": "127.0.0.1"}'
want 200 "admin lifts the address's throttle"
signin short caseworker-9 "$pw"
want 201 "the address unlocked by the API"
# ---- an idle session ends (1 s there)
# Any use renews the idle time, so the test waits for the clock to pass
# it without asking, then asks once.
api short caseworker-9 GET /api/v1/session
want 200 "a fresh session"
idle_after=$(( $(date +%s%N) + 1300000000 ))
clock_past() { [ "$(date +%s%N)" -gt "$1" ]; }
wait_until 5 clock_past "$idle_after"
api short caseworker-9 GET /api/v1/session
want 401 HV_EAUTH "an idle session is refused"
# The pages' own refreshes (X-Haven-Background: 1) are answered but are not
# the person's use: refreshing does not keep an unattended session alive.
signin short caseworker-9 "$pw"
want 201 "signed in again"
idle_after=$(( $(date +%s%N) + 1300000000 ))
hdr=("X-Haven-Background: 1")
api short caseworker-9 GET /api/v1/session
want 200 "a page's refresh is answered"
refreshes=1
while ! clock_past "$idle_after" && [ "$refreshes" -lt 40 ]; do
  api short caseworker-9 GET /api/v1/session
  [ "$st" = 200 ] || break
  refreshes=$((refreshes + 1)); sleep 0.1
done
wait_until 5 clock_past "$idle_after"
api short caseworker-9 GET /api/v1/session
hdr=()
want 401 HV_EAUTH "refreshes alone kept an idle session alive ($refreshes of them)"

# ---- API tokens for the organisation's own system
api intake admin-1 POST /api/v1/tokens '{"scope": "read"}'
want 201 "admin creates a read token"
read_token=$(jq -r .token <<<"$body"); read_id=$(jq -r .id <<<"$body")
api intake admin-1 POST /api/v1/tokens '{"scope": "submit"}'
submit_token=$(jq -r .token <<<"$body")
api intake admin-1 POST /api/v1/tokens '{"scope": "everything"}'
want 422 HV_EINVAL "no such scope"
api intake admin-1 GET /api/v1/tokens
want 200 "admin lists tokens"
jq -e --arg t "$read_token" 'tostring | contains($t) | not' <<<"$body" >/dev/null && ok ||
  bad "token list shows a token"
api intake "token:$read_token" GET /api/v1/drafts
want 403 HV_EFORBIDDEN "a read token reads the caseworkers' drafts"
api intake "token:$read_token" GET "/api/v1/referrals/$id"
want 200 "a read token reads"
api intake "token:$submit_token" PUT /api/v1/session/preferences '{"lang": "fr"}'
want 404 HV_ENOTFOUND "a token has no preferences"
api intake "token:$read_token" POST /api/v1/referrals "$(cat adult.json)"
want 403 HV_EFORBIDDEN "a read token cannot submit"
api intake "token:$submit_token" GET /api/v1/staff
want 403 HV_EFORBIDDEN "a token cannot manage staff"
api intake "token:$submit_token" POST /api/v1/staff/caseworker-1/totp
want 403 HV_EFORBIDDEN "a token cannot enrol a second factor"
api intake "token:$submit_token" POST "/api/v1/referrals/$id/assign" '{"staff": "caseworker-1"}'
want 403 HV_EFORBIDDEN "a submit token cannot reassign"
api intake admin-1 DELETE "/api/v1/tokens/$read_id"
want 200 "admin revokes a token"
api intake "token:$read_token" GET /api/v1/referrals
want 401 HV_EAUTH "a revoked token"
grep -c '"event":"token_used"' web-intake.audit | grep -qx 6 && ok || bad "token uses not audited"

# ---- the provider: offer, accept, status; the person in every history row
wait_until 20 is offered offer_state shelter-a "$id"
signin shelter-a sup-a "$pw" "$(totp_code shelter-a sup-a)"
want 201 "provider supervisor signs in"
signin shelter-a cw-a "$pw"
api shelter-a sup-a GET "/api/v1/inbox?limit=50"
want 200 "inbox list"
jq -e --arg id "$id" '.items | map(.id) | index($id) != null' <<<"$body" >/dev/null && ok || bad "inbox: $body"
api shelter-a cw-a POST "/api/v1/inbox/$id/accept"
want 403 HV_EFORBIDDEN "a provider caseworker cannot accept"
api shelter-a sup-a GET /api/v1/drafts
want 404 HV_ENOTFOUND "a provider's haven-web has no drafts"
api shelter-a sup-a POST "/api/v1/inbox/$id/decline" '{"note": "no reason code"}'
want 422 HV_EINVAL "decline needs a reason code"
api shelter-a sup-a POST "/api/v1/inbox/$id/accept" '{"reference": "SH-A-7"}'
want 200 "provider supervisor accepts"
wait_until 20 is received case_state shelter-a "$id"
api shelter-a sup-a POST "/api/v1/inbox/$id/assign" '{"staff": "cw-a"}'
want 200 "supervisor assigns the case"
api shelter-a cw-a GET "/api/v1/inbox/$id"
want 200 "assigned caseworker sees the case"
stop broker
api shelter-a cw-a POST "/api/v1/inbox/$id/status" '{"state": "in_progress", "note": "Arrived"}'
want 200 "caseworker posts a status while the broker is away"
[ "$(jq -r .outbox <<<"$body")" = waiting ] && ok || bad "the status does not wait to be sent: $body"
api shelter-a cw-a GET "/api/v1/inbox?limit=50"
jq -e --arg id "$id" '.items[] | select(.id == $id) | .outbox == "waiting"' <<<"$body" >/dev/null &&
  ok || bad "the inbox list does not say waiting: $body"
start broker
wait_until 20 is sent outbox_of shelter-a cw-a "inbox/$id" && ok
api shelter-a sup-a GET "/api/v1/inbox/$id/export"
want 200 "supervisor exports the case"
api shelter-a sup-a POST /api/v1/inbox/00000000000000000000000000000000/decline '{"reason_code": "no_capacity"}'
want 404 HV_ENOTFOUND "decline of an unknown offer"
wait_until 20 is in_progress intake_state "$id"
# ---- case messages both ways, under the referral and the inbox entry
# msg_count NAME WHO PATH: how many messages the thread at PATH shows.
msg_count() { api "$1" "$2" GET "$3/messages"; jq -r '.items | length' <<<"$body"; }
api intake caseworker-1 POST "/api/v1/referrals/$id/messages" '{"text": "Can she arrive on Tuesday?"}'
want 201 "the intake writes to the provider"
[ "$(jq -r .n <<<"$body")" = 1 ] && ok || bad "message.send answered $body"
wait_until 20 is 1 msg_count shelter-a cw-a "/api/v1/inbox/$id"
api shelter-a cw-a GET "/api/v1/inbox/$id/messages"
jq -e '.items[0] | .from == "intake" and .text == "Can she arrive on Tuesday?" and .read_at == ""' \
  <<<"$body" >/dev/null && ok || bad "the provider's thread: $body"
api shelter-a cw-a POST "/api/v1/inbox/$id/messages/read" '{"n": 1}'
want 200 "the provider marks it read"
[ "$(jq -c . <<<"$body")" = '{"n":1,"marked":1}' ] && ok || bad "message.read answered $body"
api shelter-a cw-a POST "/api/v1/inbox/$id/messages/read" '{"n": "1"}'
want 422 HV_EINVAL "a read mark's n is a number"
long=$(head -c 8001 /dev/zero | tr '\0' x)
api shelter-a cw-a POST "/api/v1/inbox/$id/messages" "{\"text\": \"$long\"}"
want 413 HV_ETOOBIG "a message over 8,000 bytes is refused, not cut"
jq -r .message <<<"$body" | grep -q "the message is 8001 bytes; a message may be at most 8000" && ok ||
  bad "the refusal's words: $body"
api shelter-a cw-a POST "/api/v1/inbox/$id/messages" '{}'
want 422 HV_EINVAL "a message needs its text"
api shelter-a cw-a POST "/api/v1/inbox/$id/messages" '{"text": "Yes, from 09:00."}'
want 201 "the provider answers"
wait_until 20 is 2 msg_count intake caseworker-1 "/api/v1/referrals/$id"
api intake caseworker-1 GET "/api/v1/referrals/$id/messages"
jq -e '[.items[] | [.from, .n, .text]] == [["intake", 1, "Can she arrive on Tuesday?"],
  ["provider", 1, "Yes, from 09:00."]] and .items[0].read_at != ""' <<<"$body" >/dev/null &&
  ok || bad "the intake's thread: $body"
api intake caseworker-1 POST "/api/v1/referrals/$id/messages/read" '{"n": 1}'
want 200 "the intake marks the answer read"
api intake caseworker-1 POST "/api/v1/referrals/$id/messages/read" '{"n": 9}'
want 404 HV_ENOTFOUND "a read mark beyond what came"
# ---- the case of the referral, and the provider's documents (none here)
api intake caseworker-1 GET "/api/v1/referrals/$id"
case_id=$(jq -r .case_id <<<"$body")
api intake caseworker-1 GET "/api/v1/cases/$case_id"
want 200 "the case of the referral"
jq -e --arg id "$id" '.services | length == 1 and .[0].id == $id and .[0].state == "in_progress"' \
  <<<"$body" >/dev/null && ok || bad "case.show: $body"
api intake caseworker-1 GET "/api/v1/cases/not-hex"
want 404 HV_ENOTFOUND "a case id is hex"
api shelter-a cw-a GET "/api/v1/inbox/$id/attachments"
want 200 "the provider's list of documents"
[ "$(jq -c .items <<<"$body")" = '[]' ] && ok || bad "attachment.list: $body"
api shelter-a cw-a GET "/api/v1/inbox/$id/attachments/1"
want 404 HV_ENOTFOUND "no document 1 in a case without documents"
api shelter-a cw-a GET "/api/v1/inbox/$id/attachments/9"
want 404 HV_ENOTFOUND "a document's number is 1 to 8"
api intake caseworker-1 GET "/api/v1/referrals/$id"
jq -e '[.history[].by] | index("ngo.xc/caseworker-1") != null' <<<"$body" >/dev/null && ok ||
  bad "intake history: $body"
"$haven" inbox show --json --config shelter-a.ini "$id" > provider-show.json
grep -q "shelter-a.xc/sup-a" provider-show.json && grep -q "shelter-a.xc/cw-a" provider-show.json &&
  ok || bad "provider history does not name the people: $(cat provider-show.json)"
grep -q '"by":"ngo.xc/caseworker-1"' intake.db.audit && ok || bad "intake audit lacks the person"
grep -q '"by":"shelter-a.xc/sup-a"' shelter-a.db.audit && ok || bad "provider audit lacks the person"

# ---- the router: pathway for the coordinator, not for the admin
signin router coord-1 "$pw"; want 201 "coordinator signs in"
api router coord-1 GET /api/v1/pathway
want 200 "coordinator sees the pathway"
jq -e '[.pathway[][]] | length > 0 and all(has("services") and has("regions") and has("languages")
  and has("accepts_minors") and has("capacity") and has("offers_pending") and has("places_open")
  and .places_open == .places.free and .places_open <= ([.capacity - .offers_pending, 0] | max))' \
  <<<"$body" >/dev/null && ok ||
  bad "a pathway row lacks what the coordinator needs: $body"
jq -e '.open_offers | length > 0 and all((keys == ["answer_by","provider","referral","respond_by","service"])
  and (.answer_by | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")))' <<<"$body" \
  >/dev/null && ok || bad "open offers without their answer-by times: $body"
jq -e '[.referrals[] | select(.state == "open" and .current != "")] | all(.answer_by != null)' \
  <<<"$body" >/dev/null && ok || bad "an open offer's row has no answer_by: $body"
for needle in "Amina" "Example-Testcase" "1998-04-17" "market district"; do
  grep -qF -- "$needle" <<<"$body" && bad "the pathway shows case content: $needle" || ok
done
printf '%s' "$body" > router-pathway-answer.json # scanned at the end (issue 20)
signin router admin-r "$pw" "$(totp_code router admin-r)"
api router admin-r GET /api/v1/pathway
want 403 HV_EFORBIDDEN "router admin gets no pathway"
api router coord-1 GET /api/v1/referrals
want 404 HV_ENOTFOUND "no referrals at a router"
api router coord-1 GET /api/v1/schema/referral
want 200 "a coordinator gets the referral schema too (no case content)"

# ---- the event stream: ids and states only
curl -s -N --max-time 3 --cacert tls/cert.pem -b jar-intake-caseworker-1 \
  "${web_base[intake]}/api/v1/events?after=0" > events.txt
echo "GET /api/v1/events" >> requests.log
grep -q "^event: " events.txt && grep -q "\"referral\":\"$id\"" events.txt && ok ||
  bad "event stream: $(head -c 400 events.txt)"
wait_until 20 grep -q '"event":"offer"' notify.out
jq -e -s --arg id "$id" 'map(select(.referral == $id and .node == "shelter-a.xc")) | length > 0' \
  notify.out >/dev/null && ok || bad "notify: $(cat notify.out)"

# ---- documents from the workbench: POST /uploads with the file as the body
# (type from the content, the worker's refusals), then ?uploads= with the
# submission, and the intake's list of them
upload() { # upload NAME FILE [CSRF]: as caseworker-1 at the intake
  echo "POST /api/v1/uploads" >> requests.log
  st=$(curl -s -o resp.json -w '%{http_code}' --cacert tls/cert.pem -b jar-intake-caseworker-1 \
    -H "X-CSRF-Token: ${3-${csrf[intake-caseworker-1]}}" -H "Content-Type: application/octet-stream" \
    --data-binary "@$2" "${web_base[intake]}/api/v1/uploads?name=$1")
  body=$(cat resp.json)
}
printf '%%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%%%EOF\n' > web-report.pdf
printf '<!doctype html><html><body>not a PDF</body></html>\n' > web-letter.pdf
upload report.pdf web-report.pdf wrong-token
want 403 HV_EFORBIDDEN "an upload without the CSRF token"
upload report.pdf web-report.pdf
want 201 "a PDF uploaded"
jq -e --argjson n "$(stat -c %s web-report.pdf)" '.type == "application/pdf" and .size == $n and
  .name == "report.pdf" and (.upload | test("^[0-9a-f]{32}$"))' <<<"$body" >/dev/null && ok ||
  bad "the upload's answer: $body"
up=$(jq -r .upload <<<"$body")
upload letter.pdf web-letter.pdf
want 415 HV_ETYPE "an HTML page named .pdf"
[ "$(jq -r .message <<<"$body")" = "letter.pdf is not a PDF, JPEG or PNG document by its content (whatever its name says)" ] &&
  ok || bad "the type's refusal: $body"
: > web-empty.pdf
upload empty.pdf web-empty.pdf
want 422 HV_EINVAL "an empty file"
[ "$(jq -r .message <<<"$body")" = "empty.pdf is empty" ] && ok || bad "the empty file's refusal: $body"
truncate -s 21M web-big.pdf
upload big.pdf web-big.pdf
want 413 HV_ETOOBIG "a document over attachment_max_mib"
[ "$(jq -r .message <<<"$body")" = "big.pdf is 21.0 MiB; a document may be at most 20.0 MiB (attachment_max_mib)" ] &&
  ok || bad "the limit's refusal: $body"
jq '. + {schema: "haven-referral/2", attachments: [{file: "report.pdf", title: "Medical report"}]}' \
  adult.json > adult-doc.json
api intake caseworker-1 POST "/api/v1/referrals?uploads=not-an-id" "$(cat adult-doc.json)"
want 422 HV_EINVAL "uploads are ids"
api intake caseworker-1 POST "/api/v1/referrals?uploads=$up" "$(cat adult-doc.json)"
want 201 "a referral with its document"
doc_id=$(jq -r .id <<<"$body")
api intake caseworker-1 GET "/api/v1/referrals/$doc_id/attachments"
want 200 "the intake's list of the case's documents"
jq -e '.items | length == 1 and (.[0] | .n == 1 and .name == "report.pdf" and .title == "Medical report"
  and .type == "application/pdf" and .chunks == 1)' <<<"$body" >/dev/null && ok ||
  bad "the intake's documents: $body"
# ---- withdraw, sign out
api intake caseworker-1 POST "/api/v1/referrals/$id/withdraw" '{}'
want 422 HV_EINVAL "withdraw needs a reason"
# ---- after a withdrawal the provider says what was erased and when
api shelter-a cw-a GET "/api/v1/inbox/$id"
jq -e 'has("case_file") and (has("erased_at") | not)' <<<"$body" >/dev/null && ok ||
  bad "a held case shows no case file or says erased: $body"
api intake caseworker-1 POST "/api/v1/referrals/$id/withdraw" '{"reason": "consent withdrawn"}'
want 200 "caseworker withdraws the referral"
wait_until 20 is withdrawn intake_state "$id"
api shelter-a cw-a GET "/api/v1/inbox/$id"
want 200 "the provider's caseworker opens the withdrawn case"
jq -e '(.erased_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")) and
  .erased == ["case_file", "history", "events"] and .offer == "withdrawn" and .case == "" and
  (has("case_file") | not) and ([.history[].state] == ["withdrawn"])' <<<"$body" >/dev/null &&
  ok || bad "the withdrawn case does not say what was erased: $body"
api shelter-a sup-a GET "/api/v1/inbox/$id/export"
want 404 HV_ENOTFOUND "an erased case cannot be exported"
[ "$(jq -r .message <<<"$body")" = "the case of referral $id was erased on withdrawal" ] && ok ||
  bad "export of an erased case: $body"
# An open event stream ends when its session does.
curl -s -N --max-time 30 --cacert tls/cert.pem -b jar-intake-caseworker-1 \
  "${web_base[intake]}/api/v1/events" > events-end.txt &
stream_pid=$!
wait_until 10 grep -qs "^retry: " events-end.txt
api intake caseworker-1 DELETE /api/v1/session
want 200 "caseworker signs out"
stream_ended() { ! kill -0 "$stream_pid" 2>/dev/null; }
wait_until 20 stream_ended
grep -q "^event: end" events-end.txt && ok || bad "stream after sign-out: $(cat events-end.txt)"
api intake caseworker-1 GET /api/v1/session
want 401 HV_EAUTH "signed out"

# ---- haven-web's own files hold no case content, nor did notify get any
for n in intake shelter-a router short; do web_stop "$n"; done
scan=(web-*.db* web-*.audit web-*.log notify.out)
for needle in "Amina" "Example-Testcase" "Mina T." "1998-04-17" "+000 555 0100" \
              "Synthetic example narrative" "market district" "recruiter" "$marker"; do
  if grep -rlF -- "$needle" "${scan[@]}" >/dev/null 2>&1; then
    bad "haven-web kept '$needle' in $(grep -rlF -- "$needle" "${scan[@]}" | tr '\n' ' ')"
  else
    ok
  fi
done
# The need-to-know scan (issue 20), in every encoding it knows: the same in
# haven-web's files, and nothing of the person in any file of the broker or
# the router (its worker's and its haven-web's) nor in the pathway answer
# its coordinator was given.
expect 0 "clean:" /usr/bin/python3 "$here/scan_secrets.py" --secret Amina --secret Example-Testcase \
  --secret "Mina T." --secret 1998-04-17 --secret "555 0100" --secret "Synthetic example narrative" \
  --secret "market district" --secret "A recruiter is known" --secret "$marker" \
  "${scan[@]}" broker.* router.* router-pathway-answer.json
for n in intake shelter-a router; do
  expect 0 "chain intact" "$haven" audit verify "web-$n.audit"
done
grep -q '"event":"lockout","by":"ngo.xc/caseworker-3"' web-intake.audit && ok || bad "no lockout record"
grep -q '"event":"unlock"' web-intake.audit && ok || bad "no unlock record"
grep -q '"event":"role_changed"' web-intake.audit && ok || bad "no role change record"
# A record about an account names the admin who acted, and the account by a hash.
subject=$(printf 'haven-web/staff:%s' caseworker-4 | b2sum -l 256 | cut -c1-32)
grep -q "\"subject\":\"$subject\",\"event\":\"role_changed\",\"by\":\"ngo.xc/admin-1\"" web-intake.audit &&
  ok || bad "the role change does not name the admin and the account"
cp requests.log "${WEB_REQUESTS_LOG:-/dev/null}" 2>/dev/null
stop_all_and_check_logs
finish
