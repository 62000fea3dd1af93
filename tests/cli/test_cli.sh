#!/usr/bin/env bash
# The haven CLI as a new user meets it: keys, the registry's sign, verify and
# show, sealed envelopes, and every refusal with its exit code and error name.
# usage: test_cli.sh HAVEN_BINARY EXAMPLE_NETWORK_JSON
set -u
. "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/lib.sh"
haven=$(realpath "$1")
example=$(realpath "$2")
work=$(mktemp -d "${TMPDIR:-/tmp}/hvcli.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
# Dates relative to now, so that the test does not age.
now=$(date -u +%s)
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
issued=$(iso $((now - 86400)))
expires=$(iso $((now + 30 * 86400)))
mkdir keys
sed -e "s/\"issued_at\": \"[^\"]*\"/\"issued_at\": \"$issued\"/" \
    -e "s/\"expires_at\": \"[^\"]*\"/\"expires_at\": \"$expires\"/" \
    -e "s/\"valid_from\": \"[^\"]*\"/\"valid_from\": \"$issued\"/g" \
    -e "s/\"valid_until\": \"[^\"]*\"/\"valid_until\": \"$expires\"/g" \
    "$example" > network.json

# Keys.
for id in authority other-authority $(sed -n 's/.*"id": "\([^"]*\)".*/\1/p' network.json); do
  expect 0 "wrote keys/$id.key" "$haven" keygen --id "$id" --out keys
done
[ "$(stat -c %a keys/ngo.xa.key)" = 600 ] && ok || bad "secret key mode is not 600"
grep -q '"transport"' keys/ngo.xa.pub && ok || bad "public key file lacks transport key"
expect 1 "HV_EEXIST" "$haven" keygen --id ngo.xa --out keys
expect 1 "HV_EINVAL" "$haven" keygen --id "Bad Id" --out keys
expect 2 "option --out is required" "$haven" keygen --id x

# Sign, verify, show.
expect 0 "signed network.json: network example-route version 1, 11 nodes" \
  "$haven" registry sign --authority keys/authority.key --in network.json --out network.reg
expect 0 "network.reg: valid: network example-route version 1, 11 nodes" \
  "$haven" registry verify --authority keys/authority.pub network.reg
expect 0 "legal.xc     provider  XC  " "$haven" registry show network.reg
expect 0 '"id":"router.xc","role":"router"' "$haven" registry show --json network.reg

# Each refusal of a signed registry.
expect 1 "HV_EREG_SIGNATURE" "$haven" registry verify --authority keys/other-authority.pub network.reg
cp network.reg tampered.reg
offset=$(grep -obaF "Example Safe House" tampered.reg | head -1 | cut -d: -f1)
printf 'X' | dd of=tampered.reg bs=1 seek="$offset" conv=notrunc status=none
expect 1 "HV_EREG_SIGNATURE" "$haven" registry verify --authority keys/authority.pub tampered.reg
# The refusal names the file it refused.
expect 1 "tampered.reg: " "$haven" registry verify --authority keys/authority.pub tampered.reg
expect 1 "HV_EREG_ROLLBACK" "$haven" registry verify --authority keys/authority.pub --held-version 2 network.reg
sed -e "s/\"issued_at\": \"[^\"]*\"/\"issued_at\": \"2020-01-01T00:00:00Z\"/" \
    -e "s/\"expires_at\": \"[^\"]*\"/\"expires_at\": \"2021-01-01T00:00:00Z\"/" network.json > old.json
expect 0 "signed" "$haven" registry sign --authority keys/authority.key --in old.json --out old.reg
expect 1 "HV_EREG_EXPIRED" "$haven" registry verify --authority keys/authority.pub old.reg
head -c 40 network.reg > short.reg
expect 1 "HV_ETRUNCATED" "$haven" registry verify --authority keys/authority.pub short.reg
expect 1 "not a Haven signed registry" "$haven" registry verify --authority keys/authority.pub network.json

# Each refusal of a registry source.
sign_src() { "$haven" registry sign --authority keys/authority.key --in "$1" --out bad.reg; }
sed '0,/"role": "router"/s//"role": "dispatcher"/' network.json > role.json
expect 1 'HV_EREG_ROLE): role.json: nodes[5].role: unknown role "dispatcher"' sign_src role.json
sed -e '0,/"id": "legal.xc"/s//"id": "shelter.xc"/' -e 's#keys/legal.xc.pub#keys/shelter.xc.pub#' \
  network.json > dup.json
expect 1 "HV_EREG_DUPLICATE): dup.json: node id shelter.xc appears twice" sign_src dup.json
sed '0,/"home": "broker.xc"/s//"home": "broker.xz"/' network.json > home.json
expect 1 "HV_EREG_HOME): home.json: node router.xc: home broker 'broker.xz' is not a broker" sign_src home.json
sed 's/"box": "\(.\{10\}\)/"box": "zz\1/' keys/ngo.xa.pub > keys/ngo-bad.pub
sed 's#keys/ngo.xa.pub#keys/ngo-bad.pub#' network.json > key.json
expect 1 "HV_EKEYFORMAT): key.json: nodes[3]: keys/ngo-bad.pub: public keys: 'box' must be 64 hex digits" sign_src key.json
sed 's/"capacity": 8/"capacty": 8/' network.json > typo.json
expect 1 'nodes[6]: unknown field "capacty"' sign_src typo.json
printf '{\n  "network": "x",\n  "version": 1,,\n}\n' > syntax.json
expect 1 "HV_EJSON): syntax.json: line 3, column" sign_src syntax.json

# Secret key permissions, as ssh checks them.
chmod 644 keys/authority.key
expect 1 "HV_EKEYPERM" "$haven" registry sign --authority keys/authority.key --in network.json --out x.reg
chmod 600 keys/authority.key

# Sealed envelopes: only the addressee can open, tampering is refused.
printf 'Synthetic referral for Person Example, born 2000-01-01\n' > case.txt
common=(--authority keys/authority.pub --registry network.reg)
expect 0 "sealed CASE_TRANSFER ngo.xa -> legal.xc" \
  "$haven" seal --key keys/ngo.xa.key "${common[@]}" --to legal.xc --type CASE_TRANSFER --in case.txt --out case.env
grep -q "Person Example" case.env && bad "plaintext visible in the envelope" || ok
expect 0 "Synthetic referral for Person Example" \
  "$haven" open --key keys/legal.xc.key "${common[@]}" --in case.env
expect 1 "HV_ECRYPTO" "$haven" open --key keys/shelter.xc.key "${common[@]}" --in case.env
cp case.env flipped.env
# Every bit of one ciphertext byte flipped (writing a fixed byte would change
# nothing when the byte already held it, once in 256 runs).
pos=$(( $(stat -c %s flipped.env) - 70 ))
byte=$(od -An -tu1 -j "$pos" -N1 flipped.env | tr -d ' ')
printf "$(printf '\\%03o' $((byte ^ 255)))" | dd of=flipped.env bs=1 seek="$pos" conv=notrunc status=none
cmp -s case.env flipped.env && bad "flipped.env is unchanged" || ok
expect 1 "HV_ECRYPTO" "$haven" open --key keys/legal.xc.key "${common[@]}" --in flipped.env
head -c 30 case.env > cut.env
expect 1 "HV_ETRUNCATED" "$haven" open --key keys/legal.xc.key "${common[@]}" --in cut.env
expect 1 "HV_ENOTFOUND" "$haven" seal --key keys/ngo.xa.key "${common[@]}" --to nobody.xc --type STATUS --in case.txt --out x.env
expect 1 "unknown message type 'GOSSIP' (HV_ETYPE)" "$haven" seal --key keys/ngo.xa.key "${common[@]}" --to legal.xc --type GOSSIP --in case.txt --out x.env
expect 2 "usage" "$haven"
expect 2 "unknown command" "$haven" frobnicate

finish
