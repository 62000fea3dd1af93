#!/usr/bin/env bash
# One invalid referral file: `haven referral check` must refuse it (exit 1)
# and print exactly the located errors in the .expected file beside it.
# usage: test_referral_invalid.sh HAVEN FILE.json
set -u
haven=$(realpath "$1")
cd "$(dirname "$2")" || exit 1
name=$(basename "$2")
expected="${name%.json}.expected"
out=$("$haven" referral check "$name" 2>&1 >/dev/null)
rc=$?
if [ "$rc" -ne 1 ]; then
  echo "FAIL: exit $rc, expected 1"; exit 1
fi
if [ "$out" != "$(cat "$expected")" ]; then
  echo "FAIL: output differs from $expected:"
  diff <(echo "$out") "$expected"
  exit 1
fi
echo "refused with the expected errors: $(wc -l < "$expected") line(s)"
