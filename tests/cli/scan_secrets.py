#!/usr/bin/env python3
"""The need-to-know scan: searches files for secrets, encoded or not.

usage: scan_secrets.py [--secret TEXT]... [--secrets-file FILE] PATH...

Each PATH is a file or a directory (searched recursively; symbolic links
are not followed; sockets and FIFOs hold nothing to scan and are passed
over). Each secret is looked for in its UTF-8 bytes as they
are (plain), in hex (lower and upper case), in base64 at each of the three
alignments it can take inside a longer base64 text, in base64url likewise,
and in UTF-16 (LE and BE). Every hit is printed as

    FOUND path: 'secret' as encoding at offset N

Exit status: 0 when nothing was found, 1 when anything was, 2 for a usage
error or a path that cannot be read: a scan that looked at nothing never
passes. Python 3 standard library only.
"""
import argparse
import base64
import os
import sys


def _b64_needles(secret, encode):
    """The part of encode(prefix + secret + suffix) that depends on the
    secret alone, for each of the three byte alignments."""
    out = []
    n = len(secret)
    for k in range(3):
        text = encode(b"\0" * k + secret).rstrip(b"=")
        first = -(-8 * k // 6)          # the first character of secret bits only
        last = (8 * (k + n)) // 6        # the end of the last such character
        needle = text[first:last]
        if needle:
            out.append((f"{'base64url' if encode is base64.urlsafe_b64encode else 'base64'}"
                        f" (offset {k})", needle))
    return out


def needles(secret_text):
    """Every (encoding, bytes) pair to look for; none empty, none twice."""
    s = secret_text.encode("utf-8")
    found = [("plain", s),
             ("hex", s.hex().encode()),
             ("HEX", s.hex().upper().encode()),
             ("utf-16le", secret_text.encode("utf-16-le")),
             ("utf-16be", secret_text.encode("utf-16-be"))]
    found += _b64_needles(s, base64.b64encode)
    found += _b64_needles(s, base64.urlsafe_b64encode)
    seen, out = set(), []
    for name, needle in found:
        if needle and needle not in seen:
            seen.add(needle)
            out.append((name, needle))
    return out


def files_under(paths):
    for p in paths:
        if os.path.isdir(p) and not os.path.islink(p):
            for root, dirs, names in os.walk(p):
                dirs.sort()
                for name in sorted(names):
                    f = os.path.join(root, name)
                    if os.path.isfile(f) and not os.path.islink(f):
                        yield f
        elif os.path.isfile(p):
            yield p
        elif not os.path.lexists(p):
            raise OSError(f"{p}: no such file or directory")
        # else a socket, a FIFO or a device: no content of its own to scan


def main(argv):
    ap = argparse.ArgumentParser(description="Searches files for secrets, encoded or not.")
    ap.add_argument("--secret", action="append", default=[], help="a string to look for")
    ap.add_argument("--secrets-file", help="a file of strings to look for, one a line")
    ap.add_argument("paths", nargs="*")
    a = ap.parse_args(argv)
    secrets = list(a.secret)
    try:
        if a.secrets_file:
            with open(a.secrets_file, encoding="utf-8") as f:
                secrets += [line.rstrip("\n") for line in f if line.strip()]
    except OSError as e:
        print(f"scan_secrets: {e}", file=sys.stderr)
        return 2
    if not secrets or not a.paths:
        print("scan_secrets: give at least one secret and one path", file=sys.stderr)
        return 2
    if any(len(s.encode("utf-8")) < 4 for s in secrets):
        print("scan_secrets: a secret of fewer than 4 bytes would be found by chance",
              file=sys.stderr)
        return 2
    table = [(s, needles(s)) for s in secrets]
    hits = scanned = 0
    try:
        for path in files_under(a.paths):
            with open(path, "rb") as f:
                data = f.read()
            scanned += 1
            for secret, forms in table:
                for name, needle in forms:
                    at = data.find(needle)
                    if at >= 0:
                        hits += 1
                        print(f"FOUND {path}: {secret!r} as {name} at offset {at}")
    except OSError as e:
        print(f"scan_secrets: {e}", file=sys.stderr)
        return 2
    if scanned == 0:
        print("scan_secrets: no file to scan", file=sys.stderr)
        return 2
    if hits:
        return 1
    print(f"clean: {scanned} files, {len(secrets)} secrets, "
          f"{sum(len(f) for _, f in table)} encoded forms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
