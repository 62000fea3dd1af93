# Shared by the CLI tests: counting checks and running a command with an
# expected exit code and output.
failures=0
passes=0
ok() { passes=$((passes + 1)); }
bad() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect CODE PATTERN CMD...: runs CMD, checks its exit code and that its
# output (stdout and stderr) contains PATTERN.
expect() {
  local code=$1 pattern=$2
  shift 2
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [ "$rc" -ne "$code" ]; then
    bad "exit $rc, expected $code: $*"; echo "$out" | sed 's/^/    /'; return
  fi
  if ! grep -qF -- "$pattern" <<<"$out"; then
    bad "output lacks '$pattern': $*"; echo "$out" | sed 's/^/    /'; return
  fi
  ok
}

# free_ports N: N distinct loopback ports that are free now, chosen by the
# system (all held open together, so none is given twice).
free_ports() {
  python3 -c 'import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

# finish: prints the closing count line and returns the verdict.
finish() {
  echo "$passes passed, $failures failed"
  [ "$failures" -eq 0 ]
}
