#!/usr/bin/env bash
# Haven's set-up: installs what is missing (Debian 12 packages), builds, and
#   ./setup.sh demo   runs Haven's main job on this machine (see README.md)
#   ./setup.sh test   runs the whole test suite: normal build, sanitized
#                     build (ASan+UBSan), fuzz-corpus replay, short fuzz runs
#   ./setup.sh bench  installs the peers' servers and client libraries and
#                     builds the benchmarks, hv-bench-peers among them
#                     (docs/BENCHMARKS.md; run by hand, never by `test`)
# Run as root on a fresh machine (or as a user with sudo).
# Environment: HV_FUZZ_SECONDS (default 20) per fuzz target in `test`.
# Sourced (`. setup.sh`), it only defines its functions: tests/cli/test_setup.sh
# checks with them that each phase configures what it runs.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)

packages=(build-essential cmake pkg-config libzmq3-dev libsodium-dev libmsgpack-dev
          libsqlite3-dev libjansson-dev libinih-dev libmicrohttpd-dev
          libgnutls28-dev liboath-dev curl)  # curl: the demo signs in to haven-web
# jq and sqlite3 let the shell tests read JSON answers and worker stores;
# python3-jsonschema checks docs/referral.schema.json against the checker;
# iproute2 makes the network namespaces of the federation test; systemd
# brings systemd-analyze, which checks the unit files; python3-prometheus-client
# parses /metrics strictly and chromium renders the operators' dashboard;
# prometheus brings promtool, which checks and unit-tests the alert rules;
# curl and oathtool drive haven-web over HTTPS with TOTP codes, python3-yaml
# reads its OpenAPI file; nodejs and npm run tests/browser (playwright-core,
# pinned in its package-lock.json, drives chromium through haven-web's sign-in;
# npm is installed only where no npm is, as a nodejs from elsewhere brings its own).
test_packages=(libcmocka-dev clang libclang-rt-14-dev jq sqlite3 python3-jsonschema iproute2
               python3-prometheus-client prometheus chromium
               systemd curl oathtool python3-yaml nodejs)
# The package phase: dpkg-dev (dpkg-shlibdeps) and fakeroot for CPack's
# .deb, man-db and groff-base to read and check the manual pages.
package_packages=(dpkg-dev fakeroot man-db groff-base)
# The peers benchmark (hv-bench-peers, issue 24): RabbitMQ's and NATS's C
# clients and their servers from Debian, and strace to count each server's
# fsync and fdatasync calls. Installed by `bench` only: the demo and the
# test suite do not need them.
bench_packages=(librabbitmq-dev libnats-dev rabbitmq-server nats-server strace)

say() { printf '\n== %s\n' "$*"; }

install_missing() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "${missing[@]}"
}

# configure DIR [cmake options...]: every option a phase depends on is
# given explicitly, because CMake keeps the cached value of one that is not
# (a build/ configured by `demo` would otherwise keep HV_TESTS=OFF).
configure() {
  local dir=$1
  shift
  cmake -S "$top" -B "$dir" -DHV_WERROR=ON "$@" >/dev/null
}
configure_demo() { configure "$1" -DHV_TESTS=OFF -DHV_FUZZ=OFF -DHV_SANITIZE=; }
configure_tests() { # configure_tests DIR [cmake options...]
  local dir=$1
  shift
  configure "$dir" -DHV_TESTS=ON -DHV_FUZZ=OFF -DHV_SANITIZE= "$@"
}

# run_tests DIR: the suite of a build; fails when it holds no test at all.
run_tests() {
  (cd "$1" && ctest --output-on-failure --no-tests=error -j"$jobs")
}

cmd_demo() {
  install_missing "${packages[@]}"
  say "building"
  configure_demo build
  cmake --build build -j"$jobs"
  say "running the example network"
  bash deploy/demo.sh build/haven build/demo
}

# The Debian package: built, installed with dpkg -i, checked and purged
# (tests/pkg/test_package.sh; needs root or sudo, as CI has).
test_package() {
  say "Debian package: build, dpkg -i, systemd-analyze verify, man, dpkg --purge"
  HV_JOBS=$jobs bash tests/pkg/test_package.sh "$top" "$top/build-pkg"
}

# fuzz_one TARGET SECONDS SCRATCH: one libFuzzer run of fuzz_TARGET; its
# output goes to SCRATCH/TARGET/log and "ok" or "failed" to .../result.
# New inputs go to SCRATCH/TARGET/new (the committed corpus is read only),
# and what it finds (crash-*, ...) to SCRATCH/TARGET/cwd.
fuzz_one() {
  local target=$1 seconds=$2 dir=$3/$1
  mkdir -p "$dir/new" "$dir/cwd"
  if (cd "$dir/cwd" && "$top/build-fuzz/fuzz_$target" -max_total_time="$seconds" \
        -max_len=4096 -rss_limit_mb=2048 -print_final_stats=1 \
        "$dir/new" "$top/tests/fuzz/corpus/$target" >"$dir/log" 2>&1); then
    echo ok >"$dir/result"
  else
    echo failed >"$dir/result"
  fi
}

cmd_test() {
  install_missing "${packages[@]}" "${test_packages[@]}" "${package_packages[@]}"
  command -v npm >/dev/null || install_missing npm
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix tests/browser --no-audit --no-fund
  say "normal build (gcc, -Werror) and test suite"
  configure_tests build
  cmake --build build -j"$jobs"
  run_tests build

  say "sanitized build (clang, AddressSanitizer + UndefinedBehaviorSanitizer, -Werror)"
  CC=clang configure_tests build-asan -DHV_SANITIZE=address,undefined
  cmake --build build-asan -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1 run_tests build-asan

  local seconds=${HV_FUZZ_SECONDS:-20}
  say "fuzzing: every target for ${seconds}s (libFuzzer, ASan+UBSan), $jobs at a time"
  CC=clang configure build-fuzz -DHV_FUZZ=ON -DHV_TESTS=OFF -DHV_SANITIZE=address,undefined
  cmake --build build-fuzz -j"$jobs"
  local targets=(envelope control registry registry_json keys config json referral msg ctl audit
                 audit_recover audit_head cli web prekey registry_held trust evidence note health
                 attach_type)
  local scratch
  scratch=$(mktemp -d)
  # One target per core: each still fuzzes for `seconds` on a core of its
  # own, as one at a time did, in half the wall time on two cores.
  local running=0
  for target in "${targets[@]}"; do
    fuzz_one "$target" "$seconds" "$scratch" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
      wait -n
      running=$((running - 1))
    fi
  done
  wait
  local failed=0
  for target in "${targets[@]}"; do
    local log=$scratch/$target/log
    if [ "$(cat "$scratch/$target/result")" = ok ]; then
      runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
      echo "fuzz_$target: clean, ${runs:-?} inputs"
    else
      echo "fuzz_$target: FAILED"; tail -40 "$log"; failed=1
      cp "$scratch/$target"/cwd/crash-* "$scratch/$target"/cwd/leak-* \
         "$scratch/$target"/cwd/timeout-* "$top/" 2>/dev/null || true
    fi
  done
  rm -rf "$scratch"
  [ "$failed" -eq 0 ] || { echo "fuzzing found a problem (inputs copied to $top)"; exit 1; }

  test_package
  say "all tests passed"
}

# The benchmarks, in build/ with the suite's configuration (so that a later
# `test` finds it as it left it); Debian starts rabbitmq-server and
# nats-server as services on installation where it can: the benchmark
# starts its own, on ports of their own, and leaves those alone.
cmd_bench() {
  install_missing "${packages[@]}" "${bench_packages[@]}"
  say "building the benchmarks"
  configure_tests build
  cmake --build build -j"$jobs" --target haven-bench haven-broker hv-bench-crypto hv-bench-peers \
    hv-bench-scale
  say "run: build/hv-bench-peers [--rounds 3]   (docs/BENCHMARKS.md)"
}

[ "${BASH_SOURCE[0]}" = "$0" ] || return 0 # sourced: functions only
case "${1:-}" in
  demo) cmd_demo ;;
  test) cmd_test ;;
  bench) cmd_bench ;;
  *) echo "usage: ./setup.sh demo | test | bench" >&2; exit 2 ;;
esac
