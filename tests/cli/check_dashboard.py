#!/usr/bin/env python3
"""Checks that every PromQL query of the Grafana dashboard and of the alert
rules names only metrics that a live /metrics showed (the sample names
check_metrics.py --names wrote), so that a renamed metric breaks this test
and not an operator's dashboard.

usage: check_dashboard.py NAMES_FILE DASHBOARD.json [RULES.yml]...

Only EXTERNAL names are allowed without being seen: node_exporter's and
Prometheus's own (`up`), which Haven does not export."""
import json
import re
import sys

import yaml

EXTERNAL = {"up", "node_filesystem_avail_bytes", "node_filesystem_size_bytes",
            "node_filesystem_readonly"}
KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
            "group_right", "bool", "offset", "inf", "nan"}


def metric_names(expr):
    """The metric names a PromQL expression reads."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)         # strings
    e = re.sub(r"\{[^}]*\}", "", e)                        # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)                       # ranges, subqueries
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    e = re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", " ", e)  # Grafana variables
    names = set()
    for m in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", e):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in KEYWORDS:
            continue
        if re.fullmatch(r"\d+[smhdwy]", word):
            continue
        names.add(word)
    return names


def dashboard_queries(node, where="dashboard"):
    """Every Prometheus query of a dashboard: the panels' targets (expr)
    and the query variables' label_values(METRIC, label)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "templating":
                for var in v.get("list", []):
                    if var.get("type") != "query":
                        continue
                    q = var.get("query")
                    q = q.get("query", "") if isinstance(q, dict) else q or var.get("definition", "")
                    m = re.fullmatch(r"\s*label_values\((.*),\s*[a-zA-Z_]\w*\s*\)\s*", q)
                    if m:
                        yield f"variable '{var.get('name')}'", m.group(1)
                    elif q.strip():
                        yield f"variable '{var.get('name')}'", q
            elif k == "expr" and isinstance(v, str) and v.strip():
                yield where, v
            else:
                title = node.get("title") if isinstance(node.get("title"), str) else None
                yield from dashboard_queries(v, f"panel '{title}'" if title else where)
    elif isinstance(node, list):
        for v in node:
            yield from dashboard_queries(v, where)


def main(argv):
    seen = {l.strip() for l in open(argv[1], encoding="utf-8") if l.strip()}
    if not seen:
        print("FAIL: no metric names were recorded")
        return 1
    queries = []
    with open(argv[2], encoding="utf-8") as f:
        dashboard = json.load(f)
    queries += list(dashboard_queries(dashboard))
    for rules_path in argv[3:]:
        with open(rules_path, encoding="utf-8") as f:
            rules = yaml.safe_load(f)
        for group in rules["groups"]:
            for rule in group["rules"]:
                queries.append((f"alert {rule.get('alert', rule.get('record'))}", rule["expr"]))
    failures = []
    for where, expr in queries:
        for name in metric_names(expr):
            if name in seen or name in EXTERNAL:
                continue
            failures.append(f"{where}: {name} is not in any /metrics seen ({expr.strip()})")
    if not queries:
        failures.append("no queries found")
    for f in failures:
        print(f"FAIL: {f}")
    print(f"{len(queries)} queries, {len(seen)} metric names seen; "
          f"{'every query names a metric seen' if not failures else 'UNKNOWN NAMES'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
