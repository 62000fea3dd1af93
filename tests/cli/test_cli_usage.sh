#!/usr/bin/env bash
# The haven command line as people who use git or systemctl expect it: the
# exit codes (0 ok, 1 refused with its HV_ code, 2 usage, 3 system), an
# option a command does not take, --opt=value, the configuration profile's
# precedence (flag > HAVEN_NAME > profile.ini), tables that fit the
# terminal, colour only on a terminal, --json, and a control socket this
# user may not open — run as an unprivileged user beside a real worker.
# usage: test_cli_usage.sh BIN_DIR EXAMPLE_NETWORK_JSON
set -u
. "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/lib.sh"
bin=$(realpath "$1")
haven=$bin/haven
example=$(realpath "$2")
work=$(mktemp -d "${TMPDIR:-/tmp}/hvusage.XXXXXX")
worker_pid=
cleanup() {
  [ -n "$worker_pid" ] && kill -9 "$worker_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
# KEEP_WORK=1 keeps the directory to look at after a failure.
[ -n "${KEEP_WORK:-}" ] && trap "kill -9 \$worker_pid 2>/dev/null" EXIT
chmod 755 "$work" # the unprivileged user reads the configurations here
cd "$work" || exit 1
# No profile but the ones this test writes.
export HOME=$work
unset XDG_CONFIG_HOME HAVEN_PROFILE HAVEN_CONFIG HAVEN_KEY HAVEN_AUTHORITY HAVEN_REGISTRY \
  HAVEN_BROKER HAVEN_ENDPOINT HAVEN_STORE COLUMNS NO_COLOR

now=$(date -u +%s)
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
sed -e "s/\"issued_at\": \"[^\"]*\"/\"issued_at\": \"$(iso $((now - 3600)))\"/" \
    -e "s/\"expires_at\": \"[^\"]*\"/\"expires_at\": \"$(iso $((now + 86400)))\"/" \
    -e "s/\"valid_from\": \"[^\"]*\"/\"valid_from\": \"$(iso $((now - 3600)))\"/g" \
    -e "s/\"valid_until\": \"[^\"]*\"/\"valid_until\": \"$(iso $((now + 86400)))\"/g" \
    "$example" > network.json
mkdir keys

# ---- --opt=value and --opt value, options before or after the arguments
expect 0 "wrote keys/authority.key" "$haven" keygen --id=authority --out=keys
expect 0 "wrote keys/other.key" "$haven" keygen --out keys --id other
for id in $(sed -n 's/.*"id": "\([^"]*\)".*/\1/p' network.json); do
  "$haven" keygen --id "$id" --out keys >/dev/null || bad "keygen $id"
done
expect 0 "signed network.json" \
  "$haven" registry sign --authority=keys/authority.key --in=network.json --out=network.reg
expect 0 "network.reg: valid" "$haven" registry verify network.reg --authority=keys/authority.pub
expect 0 "network.reg: valid" "$haven" registry verify --authority keys/authority.pub -- network.reg

# ---- exit codes: 2 for usage, with the command's usage
expect 2 "haven referral list: unknown option '--state'" \
  "$haven" referral list --state bogus --note x
expect 2 "usage: haven referral list [--json] --config=INTAKE.ini" \
  "$haven" referral list --config x.ini --note x
expect 2 "haven inbox status: option --state is required" \
  "$haven" inbox status --config x.ini 3f2a9c
expect 2 "haven inbox decline: option --reason is required" \
  "$haven" inbox decline --config x.ini 3f2a9c
expect 2 "haven referral withdraw: option --reason is required" \
  "$haven" referral withdraw --config x.ini 3f2a9c
expect 2 "haven inbox export: option --out is required" "$haven" inbox export --config x.ini 3f2a9c
expect 2 "haven keygen: option --out is required" "$haven" keygen --id x
expect 2 "haven referral list: option --config is required" "$haven" referral list
expect 2 "haven registry verify: option --authority is required (or HAVEN_AUTHORITY" \
  "$haven" registry verify network.reg
expect 2 "haven referral show: missing argument" "$haven" referral show --config x.ini
expect 2 "haven referral show: unexpected argument 'extra'" \
  "$haven" referral show --config x.ini 3f2a9c extra
expect 2 "haven audit verify: option '--json' takes no value" "$haven" audit verify --json=yes x
expect 2 "haven keygen: option '--id' needs a value" "$haven" keygen --out keys --id

# ---- 1 for a refusal, always with its code; bad values are refusals
expect 1 "haven: referral file: not found (HV_ENOTFOUND): cannot open missing.json" \
  "$haven" referral check missing.json
expect 1 "HV_EEXIST" "$haven" keygen --id=authority --out=keys
expect 1 "haven recv: --count: 'lots' is not a whole number from 0 to 1000000000 (HV_EINVAL)" \
  "$haven" recv --key keys/ngo.xa.key --authority keys/authority.pub --registry network.reg \
  --count=lots
expect 1 "haven registry verify: --held-version: 'x' is not a whole number" \
  "$haven" registry verify --authority keys/authority.pub --held-version x network.reg
expect 1 "--referral: 'xyz' is not 32 hex digits (HV_EINVAL)" \
  "$haven" seal --key keys/ngo.xa.key --authority keys/authority.pub --registry network.reg \
  --to legal.xc --type CASE_TRANSFER --referral xyz --in network.json --out x.env
expect 1 "HV_EREG_SIGNATURE" "$haven" registry verify --authority keys/other.pub network.reg

# ---- the profile: flag > environment > file; relative paths from the file
mkdir -p p prof xdg/haven .config/haven
for n in a b c d e; do
  printf '[worker]\nid = ngo.xa\nkeys = k\nauthority = a\nregistry = r\nstore = s\ncontrol = %s.sock\n' \
    "$n" > "p/$n.ini"
done
printf '[haven]\nconfig = ../p/c.ini\nauthority = ../keys/other.pub\n' > prof/profile.ini
printf '[haven]\nconfig = ../../p/d.ini\n' > xdg/haven/profile.ini
printf '[haven]\nconfig = ../../p/e.ini\n' > .config/haven/profile.ini
# Which configuration was taken shows in the socket it names (no worker runs).
no_socket() { echo "haven: no control socket at $1.sock: is the worker running? (HV_ENOTFOUND)"; }
expect 3 "$(no_socket "$work/.config/haven/../../p/e")" "$haven" status
expect 3 "$(no_socket "$work/xdg/haven/../../p/d")" env XDG_CONFIG_HOME="$work/xdg" "$haven" status
expect 3 "$(no_socket "$work/prof/../p/c")" env HAVEN_PROFILE="$work/prof/profile.ini" "$haven" status
expect 3 "$(no_socket p/b)" env HAVEN_PROFILE="$work/prof/profile.ini" HAVEN_CONFIG=p/b.ini \
  "$haven" status
expect 3 "$(no_socket p/a)" env HAVEN_PROFILE="$work/prof/profile.ini" HAVEN_CONFIG=p/b.ini \
  "$haven" status --config=p/a.ini
expect 1 "HV_EREG_SIGNATURE" env HAVEN_PROFILE="$work/prof/profile.ini" \
  "$haven" registry verify network.reg
expect 0 "network.reg: valid" env HAVEN_PROFILE="$work/prof/profile.ini" \
  HAVEN_AUTHORITY=keys/authority.pub "$haven" registry verify network.reg
expect 1 "HV_EREG_SIGNATURE" env HAVEN_AUTHORITY=keys/authority.pub \
  "$haven" registry verify --authority keys/other.pub network.reg
# Only for the options a command takes: referral check takes no --config.
expect 0 "valid referral" env HAVEN_CONFIG=p/b.ini \
  "$haven" referral check "$(dirname "$example")/referrals/example-adult.json"
printf '[haven]\nconfg = x.ini\n' > prof/typo.ini
expect 1 "haven: profile: configuration error (HV_ECONFIG): $work/prof/typo.ini:2: unknown key 'confg' in [haven]" \
  env HAVEN_PROFILE="$work/prof/typo.ini" "$haven" status
expect 1 "HV_ENOTFOUND" env HAVEN_PROFILE="$work/prof/none.ini" "$haven" status
# A profile is read only for what the command line and environment leave open.
expect 3 "$(no_socket p/a)" env HAVEN_PROFILE="$work/prof/typo.ini" "$haven" status --config p/a.ini

# ---- tables that fit the terminal; colour only on a terminal
wide=$("$haven" registry show network.reg)
grep -q "Example National Referral Mechanism" <<<"$wide" && ok || bad "a pipe cut the table"
narrow=$(COLUMNS=50 "$haven" registry show network.reg | sed -n '/^ID /,/^$/p' | grep -v ':')
longest=$(while IFS= read -r l; do echo "${#l}"; done <<<"$narrow" | sort -n | tail -1)
[ "$longest" -le 50 ] && ok || bad "a line of $longest columns in a table for 50"
grep -q "…" <<<"$narrow" && ok || bad "no ellipsis in the cut table"
grep -q $'\e' <<<"$wide" && bad "colour on a pipe" || ok
tty_out=$(script -qec "$haven registry show network.reg" /dev/null)
grep -q $'\e\[1mID ' <<<"$tty_out" && ok || bad "no bold header on a terminal"
tty_out=$(NO_COLOR=1 script -qec "$haven registry show network.reg" /dev/null)
grep -q $'\e' <<<"$tty_out" && bad "colour despite NO_COLOR" || ok

# ---- --json
[ "$("$haven" registry show --json network.reg | jq -r '.nodes | length')" = 11 ] && ok ||
  bad "registry show --json"
[ "$("$haven" registry verify --json --authority keys/authority.pub network.reg | jq -r .valid)" = true ] &&
  ok || bad "registry verify --json"
[ "$("$haven" referral check --json "$(dirname "$example")/referrals/example-adult.json" | jq -r .ok)" = true ] &&
  ok || bad "referral check --json"

# ---- a real worker, its control socket, and who may open it
mkdir -m 0750 ctl
cat > ngo.ini <<EOF
[worker]
id = ngo.xa
keys = keys/ngo.xa.key
authority = keys/authority.pub
registry = network.reg
store = ngo.db
control = ctl/ngo.sock
control_group = yes
EOF
chmod 644 ngo.ini
start_worker() {
  "$bin/haven-intake" -c ngo.ini 2>>ngo.log &
  worker_pid=$!
  for _ in $(seq 100); do [ -S ctl/ngo.sock ] && return 0; sleep 0.1; done
  bad "the worker made no control socket"; cat ngo.log
}
stop_worker() { kill -TERM "$worker_pid"; wait "$worker_pid"; worker_pid=; }
start_worker
[ "$(stat -c %a ctl/ngo.sock)" = 660 ] && ok || bad "control_group: socket mode $(stat -c %a ctl/ngo.sock)"
expect 0 "ngo.xa (intake in XA)" "$haven" status --config=ngo.ini
[ "$("$haven" status --json --config ngo.ini | jq -r .result.node)" = ngo.xa ] && ok || bad "status --json"
[ "$("$haven" referral list --json --config ngo.ini | jq -r '.result.referrals | length')" = 0 ] && ok ||
  bad "referral list --json"
expect 0 "REFERRAL" "$haven" referral list --config ngo.ini
expect 0 "0 records, chain intact" "$haven" audit verify ngo.db.audit
[ "$("$haven" audit verify --json ngo.db.audit | jq -r .intact)" = true ] && ok || bad "audit verify --json"
# -n beside the running worker: it checks, and takes nothing.
expect 0 "configuration, keys and registry are valid" "$bin/haven-intake" --config=ngo.ini --check
# -n refuses what the worker would refuse at start.
sed "s#^control = .*#control = $work/none/ngo.sock#" ngo.ini > no-dir.ini
expect 1 "[worker] control: cannot create files in $work/none" "$bin/haven-intake" -n -c no-dir.ini
sed "s#^control = .*#control = $work/$(printf 'x%.0s' $(seq 110)).sock#" ngo.ini > long.ini
expect 1 "is longer than a Unix socket's path may be (107 bytes) (HV_ECONFIG)" \
  "$bin/haven-intake" -n -c long.ini

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: the permission tests need root, to run haven as another user (this is uid $(id -u))"
else
  gid=$(stat -c %g ctl/ngo.sock)
  # A copy the other user can run wherever the build directory is (/root is 0700).
  install -m 0755 "$haven" "$work/haven"
  haven=$work/haven
  as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; }
  as_member() { setpriv --reuid=nobody --regid=nogroup --groups="$gid" -- "$@"; }
  denied="haven: permission denied on ctl/ngo.sock: ask your administrator to add you to group haven (HV_EPERM)"
  t0=$(date +%s%N)
  expect 3 "$denied" as_nobody timeout 5 "$haven" status --config ngo.ini
  ms=$((($(date +%s%N) - t0) / 1000000))
  [ "$ms" -lt 1000 ] && ok || bad "the refusal took $ms ms (a ZeroMQ timeout?)"
  expect 3 "${denied/ctl/$work/ctl}" as_nobody "$haven" referral list --socket "$work/ctl/ngo.sock"
  # A member of the socket's group may use it (control_group = yes)...
  expect 0 "ngo.xa (intake in XA)" as_member "$haven" status --config ngo.ini
  # ...but not when the worker keeps its socket to itself (the default).
  stop_worker
  sed -i '/^control_group/d' ngo.ini
  start_worker
  [ "$(stat -c %a ctl/ngo.sock)" = 600 ] && ok || bad "default socket mode $(stat -c %a ctl/ngo.sock)"
  expect 3 "$denied" as_member "$haven" status --config ngo.ini
  # A worker configuration this user may not read says so too.
  chmod 600 ngo.ini
  expect 3 "haven: permission denied on ngo.ini: ask your administrator to add you to group haven (HV_EPERM)" \
    as_nobody "$haven" status --config ngo.ini
fi
stop_worker

finish
