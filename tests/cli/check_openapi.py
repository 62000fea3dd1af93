#!/usr/bin/env python3
"""Checks docs/api/openapi.yaml and that the haven-web test exercised it.

usage: check_openapi.py OPENAPI.yaml REQUESTS.log

The file must parse as YAML, say OpenAPI 3.1, give every operation a
unique operationId and responses, declare every path parameter, and every
$ref must resolve. REQUESTS.log holds one "METHOD PATH" line per request
tests/cli/test_web.sh made: every operation of the file must have been
made at least once, and every request made must be an operation of the
file (nothing undocumented)."""
import re
import sys

import yaml

METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def refs(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                out.append(v)
            else:
                refs(v, out)
    elif isinstance(node, list):
        for v in node:
            refs(v, out)


def resolve(doc, ref):
    if not ref.startswith("#/"):
        return False
    node = doc
    for part in ref[2:].split("/"):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def main():
    doc = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
    problems = []
    if not str(doc.get("openapi", "")).startswith("3.1."):
        problems.append("openapi is not 3.1.x")
    for key in ("info", "paths", "components"):
        if key not in doc:
            problems.append("no %s" % key)
    all_refs = []
    refs(doc, all_refs)
    problems += ["unresolved $ref %s" % r for r in all_refs if not resolve(doc, r)]
    ops, ids = [], set()
    for path, item in doc["paths"].items():
        names = set(re.findall(r"\{([a-z_]+)\}", path))
        for method, op in item.items():
            if method not in METHODS:
                problems.append("%s: %s is not a method" % (path, method))
                continue
            oid = op.get("operationId")
            if not oid or oid in ids:
                problems.append("%s %s: missing or repeated operationId" % (method, path))
            ids.add(oid)
            if not op.get("responses"):
                problems.append("%s %s: no responses" % (method, path))
            declared = set()
            for p in op.get("parameters", []):
                if "$ref" in p:
                    p = doc["components"]["parameters"][p["$ref"].split("/")[-1]]
                if p.get("in") == "path":
                    declared.add(p["name"])
            if declared != names:
                problems.append("%s %s: path parameters %s declared as %s"
                                % (method, path, sorted(names), sorted(declared)))
            rx = "^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(path)) + "$"
            ops.append((method.upper(), path, re.compile(rx)))
    made = set()
    for line in open(sys.argv[2], encoding="utf-8"):
        parts = line.split()
        if len(parts) == 2:
            made.add((parts[0], parts[1]))
    for method, path, rx in ops:
        if not any(m == method and rx.match(p) for m, p in made):
            problems.append("not exercised by the test: %s %s" % (method, path))
    for m, p in sorted(made):
        if not any(m == method and rx.match(p) for method, _, rx in ops):
            problems.append("the test used an undocumented operation: %s %s" % (m, p))
    for p in problems:
        print("FAIL: " + p)
    print("%d operations, %d distinct requests, %d problems" % (len(ops), len(made), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
