#!/usr/bin/env bash
# haven-web in a real browser (Debian's Chromium, driven by playwright-core
# from tests/browser/node_modules): a broker, an intake and haven-web over
# HTTPS on loopback as in tests/cli/test_web.sh, the test's page
# (tests/browser/fixture/) as haven-web's assets, a caseworker account, and
# web_browser.mjs signing in and checking what the browser enforces.
# Needs node and `npm ci --prefix tests/browser` (./setup.sh test does it);
# without them the test fails: CI must run it.
# usage: test_web_browser.sh BIN_DIR EXAMPLE_REFERRAL
set -u
here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
cli=$here/../cli
. "$cli/lib.sh"
. "$cli/flow_lib.sh"
. "$cli/web_lib.sh"
example=$(realpath "$2")
if ! command -v node >/dev/null || [ ! -d "$here/node_modules/playwright-core" ] ||
   [ ! -x /usr/bin/chromium ]; then
  bad "needs node, /usr/bin/chromium and 'npm ci --prefix tests/browser' (./setup.sh test)"
  finish; exit
fi
flow_setup "$1"
cp -r "$here/fixture" assets

pw="correct horse battery staple"
web_setup intake intake ngo.xc
staff intake caseworker-1 caseworker "$pw"
for n in broker intake; do start "$n"; done
web_start intake

if node "$here/web_browser.mjs" "${web_base[intake]}" caseworker-1 "$pw" "$example" \
     > browser.out 2>&1; then
  ok
else
  bad "browser steps failed"
fi
sed 's/^/  /' browser.out
web_stop intake
stop_all_and_check_logs
finish
