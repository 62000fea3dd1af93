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

# free_ports N: N distinct loopback ports that are free now, chosen at
# random below the kernel's ephemeral range (all held open together, so none
# is given twice). A port from the ephemeral range could be taken before
# the daemon binds it, as the source port of any connection, and a client
# reconnecting to a stopped daemon could connect to itself on it (TCP
# simultaneous open) so that the restarted daemon cannot bind.
free_ports() {
  python3 -c 'import random, socket, sys
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
socks = []
for attempt in range(10000):
    if len(socks) == int(sys.argv[1]):
        break
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", random.randint(max(1024, low - 12000), low - 1)))
        socks.append(s)
    except OSError:
        s.close()
else:
    sys.exit("free_ports: no free loopback ports below %d" % low)
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

# finish: prints the closing count line and returns the verdict.
finish() {
  echo "$passes passed, $failures failed"
  [ "$failures" -eq 0 ]
}
