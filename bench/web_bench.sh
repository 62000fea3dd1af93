#!/usr/bin/env bash
# Runs hv-bench-web against real daemons (a broker, an intake and its
# haven-web over HTTPS, as tests/cli/test_web.sh sets them up), with the
# default Argon2id cost (3 passes, 64 MiB) and COUNT referrals (10000).
# usage: bench/web_bench.sh BIN_DIR [COUNT] [REQUESTS]
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/cli/lib.sh"
. "$top/tests/cli/flow_lib.sh"
. "$top/tests/cli/web_lib.sh"
flow_setup "$1"
count=${2:-10000}
requests=${3:-500}
mkdir assets
web_setup intake intake ngo.xc
sed -i '/^argon2_/d' web-intake.ini # the default cost
pw="correct horse battery staple"
staff intake bench-caseworker caseworker "$pw"
staff intake bench-admin admin "$pw"
enrol intake bench-admin
start broker
start intake
web_start intake
signin intake bench-admin "$pw" "$(totp_code intake bench-admin)"
api intake bench-admin POST /api/v1/tokens '{"scope": "read"}'
token=$(jq -r .token <<<"$body")
"$bin/hv-bench-web" --url "${web_base[intake]}" --ca tls/cert.pem --name bench-caseworker \
  --password "$pw" --token "$token" --socket intake.sock \
  --referral "$top/deploy/example/referrals/example-adult.json" --count "$count" \
  --requests "$requests"
