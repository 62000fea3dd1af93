#!/usr/bin/env python3
"""Every alert of the rules files has, in the promtool test file, at least
one evaluation where it fires and one where it does not, and the test file
tests no alert that the rules do not define.
usage: check_alert_tests.py TESTS.yml RULES.yml..."""
import sys

import yaml

tests = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
alerts = []
for path in sys.argv[2:]:
    for group in yaml.safe_load(open(path, encoding="utf-8"))["groups"]:
        alerts += [r["alert"] for r in group["rules"] if "alert" in r]
firing, quiet = set(), set()
for test in tests["tests"]:
    for case in test.get("alert_rule_test", []):
        (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
failures = [f"{a}: no case where it fires" for a in alerts if a not in firing]
failures += [f"{a}: no case where it stays quiet" for a in alerts if a not in quiet]
failures += [f"{a}: tested but not defined" for a in sorted((firing | quiet) - set(alerts))]
for f in failures:
    print(f"FAIL: {f}")
print(f"{len(alerts)} alerts, each with a firing and a quiet case"
      if not failures else f"{len(failures)} problems")
sys.exit(1 if failures else 0)
