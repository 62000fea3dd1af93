#!/usr/bin/env bash
# setup.sh's own phases, on a scratch build directory, without building:
# `./setup.sh demo` configures HV_TESTS=OFF; the test phase that follows must
# configure the suite back in (CMake keeps a cached option that is not given
# again), and a test run that finds no test must fail rather than pass.
# usage: test_setup.sh SOURCE_DIR
set -u
. "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/lib.sh"
top=$(realpath "$1")
work=$(mktemp -d "${TMPDIR:-/tmp}/hvsetup.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Each step runs setup.sh's own function, sourced in a subshell.
phase() { (. "$top/setup.sh" && "$@"); }
count_tests() { (cd "$1" && ctest -N | sed -n 's/^Total Tests: //p'); }

# The demo's configuration: no test suite.
phase configure_demo "$work/build" || bad "configure_demo failed"
[ "$(count_tests "$work/build")" = 0 ] && ok || bad "the demo's build has tests configured"

# A test run over a build without tests is a failure, not "all passed".
expect 8 "No tests were found" phase run_tests "$work/build"

# The test phase, after the demo, in the same directory: the suite is back.
phase configure_tests "$work/build" || bad "configure_tests failed"
n=$(count_tests "$work/build")
[ "${n:-0}" -gt 50 ] && ok || bad "the test phase configured ${n:-no} tests after the demo"
(cd "$work/build" && ctest -N) | grep -q "Test *#[0-9]*: unit_crypto$" && ok ||
  bad "unit_crypto is not in the suite the test phase configured"

finish
