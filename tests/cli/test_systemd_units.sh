#!/usr/bin/env bash
# The systemd units generated at configure time parse and check cleanly
# (systemd-analyze verify), with every @VARIABLE@ replaced and ExecStart in
# the build's sbin directory; pointed at the binaries just built, every
# daemon they start accepts the -c/-n options the units give it.
# usage: test_systemd_units.sh BIN_DIR GENERATED_UNIT_DIR SBINDIR SYSUSERS_FILE
set -u
. "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/lib.sh"
bin=$(realpath "$1")
sbindir=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/hvunits.XXXXXX")
trap 'rm -rf "$work"' EXIT
n=0
for unit in "$2"/haven-*@.service; do
  n=$((n + 1))
  name=$(basename "$unit")
  grep -q '@[A-Z_]*@' "$unit" && bad "$name: a variable was not replaced" || ok
  grep -q "^ExecStart=$sbindir/haven-" "$unit" && ok || bad "$name: ExecStart not in $sbindir"
  sed "s#$sbindir/#$bin/#g" "$unit" > "$work/$name"
  out=$(systemd-analyze verify --man=no "$work/${name/@/@example}" 2>&1)
  rc=$?
  [ "$rc" -eq 0 ] && [ -z "$out" ] && ok || bad "$name: rc $rc: $out"
  daemon=$(sed -n 's#^ExecStart=\([^ ]*\) .*#\1#p' "$work/$name")
  expect 2 "usage: $(basename "$daemon") -c" "$daemon"
done
[ "$n" -eq 5 ] && ok || bad "$n units generated, expected 5"
grep -q "^u haven " "$4" && ok || bad "haven.sysusers lacks the user"
# Group haven reaches a worker's control socket: its directory lets the group
# through; stores stay private.
for role in intake router provider; do
  u="$2/haven-$role@.service"
  grep -q "^RuntimeDirectoryMode=0750$" "$u" && ok || bad "$u: RuntimeDirectoryMode is not 0750"
  grep -q "^UMask=0077$" "$u" && ok || bad "$u: UMask is not 0077"
done
finish
