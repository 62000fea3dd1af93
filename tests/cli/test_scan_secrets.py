#!/usr/bin/env python3
"""The need-to-know scan's own test: each encoding planted in a file of its
own, inside other bytes, is found and named; a clean file passes; a scan
of nothing, or of a path that does not exist, never passes.

usage: test_scan_secrets.py SCAN_SECRETS.py"""
import base64
import os
import subprocess
import sys
import tempfile

scanner = sys.argv[1]
failures = 0


def check(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what)
    failures += 0 if cond else 1


def scan(*args):
    r = subprocess.run([sys.executable, scanner, *args], capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


# A secret whose base64 and base64url differ ('?' and '>' give '/' and '+').
secret = "Amina?>~Testcase"
raw = secret.encode()
assert base64.b64encode(raw) != base64.urlsafe_b64encode(raw)
filler = bytes(range(256)) * 4  # other bytes around every plant

planted = {
    "plain": raw,
    "hex": raw.hex().encode(),
    "HEX": raw.hex().upper().encode(),
    "utf-16le": secret.encode("utf-16-le"),
    "utf-16be": secret.encode("utf-16-be"),
}
for k in range(3):
    # Inside a longer base64 text, k bytes after its start, with more after.
    planted[f"base64 (offset {k})"] = base64.b64encode(b"xyz"[:k] + raw + b"tail")
    planted[f"base64url (offset {k})"] = base64.urlsafe_b64encode(b"xyz"[:k] + raw + b"tail")

with tempfile.TemporaryDirectory() as d:
    for name, form in planted.items():
        path = os.path.join(d, "planted-" + name.replace(" ", "_").replace("(", "").replace(")", ""))
        with open(path, "wb") as f:
            f.write(filler + form + filler)
        code, out = scan("--secret", secret, path)
        # Base64 at byte offset k: the first character of the secret's bits alone.
        k = int(name[-2]) if name.startswith("base64") else 0
        line = f"FOUND {path}: {secret!r} as {name} at offset {len(filler) + -(-8 * k // 6)}"
        check(code == 1 and line in out.splitlines(), f"{name} is found and named (exit {code})")
    # The same secret planted in every form at once, in a directory: one hit each.
    code, out = scan("--secret", secret, d)
    check(code == 1 and out.count("FOUND") >= len(planted),
          f"a directory scan finds each plant ({out.count('FOUND')} hits)")
    clean = os.path.join(d, "clean")
    os.mkdir(clean)
    with open(os.path.join(clean, "other"), "wb") as f:
        f.write(filler + b"Example Shelter B, capacity 4" + base64.b64encode(b"other text"))
    code, out = scan("--secret", secret, "--secret", "1998-04-17", clean)
    check(code == 0 and out.startswith("clean: 1 files, 2 secrets"), f"a clean file passes: {out.strip()}")
    code, out = scan("--secret", secret, os.path.join(d, "missing"))
    check(code == 2, f"a path that does not exist is an error, not a pass (exit {code})")
    empty = os.path.join(d, "empty-dir")
    os.mkdir(empty)
    code, out = scan("--secret", secret, empty)
    check(code == 2, f"a scan of no file at all is an error (exit {code})")
    code, out = scan("--secret", "abc", clean)
    check(code == 2, f"a secret too short to mean anything is refused (exit {code})")
    code, out = scan(clean)
    check(code == 2, f"no secret is a usage error (exit {code})")
    lines = os.path.join(d, "secrets.txt")
    with open(lines, "w") as f:
        f.write(secret + "\n")
    code, out = scan("--secrets-file", lines, d)
    check(code == 1 and "FOUND" in out, "secrets read from a file are looked for")

print(f"{failures} failure(s)")
sys.exit(1 if failures else 0)
