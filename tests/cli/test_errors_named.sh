#!/usr/bin/env bash
# Issue 20's misleading errors, the daemons' side: a registry a daemon
# refuses is named by its file, with the code, at -n as at start (the
# CLI's side is in test_cli.sh; the others of the list are in
# test_cli_usage.sh (permission denied), test_federation.sh (hops 8:
# HV_EUNROUTABLE), test_referral_flow.sh (ACCEPT never offered:
# HV_EFORBIDDEN) and test_staff.sh (1 MB note: HV_ETOOBIG)).
# usage: test_errors_named.sh BIN_DIR
set -u
here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
. "$here/lib.sh"
. "$here/flow_lib.sh"
flow_setup "$1"
cp network.reg tampered.reg
offset=$(grep -obaF "Example Shelter A" tampered.reg | head -1 | cut -d: -f1)
printf 'X' | dd of=tampered.reg bs=1 seek="$offset" conv=notrunc status=none
sed 's/^registry = network.reg$/registry = tampered.reg/' broker.ini > broker-tampered.ini
sed 's/^registry = network.reg$/registry = tampered.reg/' intake.ini > intake-tampered.ini
reg="tampered.reg: registry signature does not verify with the pinned authority key (HV_EREG_SIGNATURE)"
expect 1 "$reg" "$bin/haven-broker" -n -c broker-tampered.ini
expect 1 "$reg" "$bin/haven-intake" -n -c intake-tampered.ini
# At start too, and the daemon does not run.
expect 1 "$reg" "$bin/haven-broker" -c broker-tampered.ini
# A registry that is not there is named as well.
sed 's/^registry = network.reg$/registry = missing.reg/' broker.ini > broker-missing.ini
expect 1 "cannot open missing.reg: No such file or directory (HV_ENOTFOUND)" \
  "$bin/haven-broker" -n -c broker-missing.ini
finish
