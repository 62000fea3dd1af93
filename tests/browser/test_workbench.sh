#!/usr/bin/env bash
# The workbench in Debian's Chromium across the three-country demo network:
# deploy/demo.sh starts it as the README does (brokers XA, XB, XC, the NGO,
# the pathway, the agencies and three haven-web), and workbench.mjs drives
# a referral's whole life through the pages only, in English, French and
# Arabic. As root the demo and the browser run in a network namespace of
# their own (the demo's ports are fixed; a demo left running by
# `./setup.sh demo` keeps its own).
# usage: test_workbench.sh BIN_DIR SOURCE_DIR [SCREENSHOT_DIR]
set -u
here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
. "$here/../cli/lib.sh"
bin=$(realpath "$1")
top=$(realpath "$2")
shots=${3:-}

if [ "${HV_WB_IN_NS:-}" != 1 ]; then
  if ! command -v node >/dev/null || [ ! -d "$here/node_modules/playwright-core" ] ||
     [ ! -d "$here/node_modules/axe-core" ] || [ ! -x /usr/bin/chromium ]; then
    bad "needs node, /usr/bin/chromium and 'npm ci --prefix tests/browser' (./setup.sh test)"
    finish; exit
  fi
  if [ "$(id -u)" -eq 0 ] && unshare --net true 2>/dev/null; then
    exec env HV_WB_IN_NS=1 unshare --net bash -c 'ip link set lo up && exec bash "$@"' wb \
      "${BASH_SOURCE[0]}" "$@"
  fi
  echo "note: not root, so the demo runs on this host's loopback: a running demo makes it fail"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/hvwb.XXXXXX")
trap 'bash "$top/deploy/demo.sh" stop "$work/demo" >/dev/null 2>&1; rm -rf "$work"' EXIT
cd "$work" || exit 1
[ -n "$shots" ] && mkdir -p "$shots"

if bash "$top/deploy/demo.sh" "$bin/haven" demo > demo.log 2>&1; then ok; else
  bad "the demo did not start"; tail -30 demo.log; finish; exit
fi
# The accounts as the demo printed them: NODE NAME ROLE password PW [TOTP secret S]
grep -E '^ +[a-z]+-x[a-z] +[a-z]+-[0-9] +[a-z]+ +password ' demo.log > accounts.txt
[ "$(wc -l < accounts.txt)" -eq 8 ] && ok || bad "the demo printed $(wc -l < accounts.txt) accounts, not 8"

if HV_BIN=$bin node "$here/workbench.mjs" "$top/web" accounts.txt "$work/demo" "${shots:-}" \
     > browser.out 2>&1; then
  ok
else
  bad "browser steps failed"
fi
sed 's/^/  /' browser.out
grep -q '^ok - ' browser.out && ok || bad "no browser step ran"
finish
