#!/usr/bin/env bash
# The alert rules (deploy/prometheus/haven-alerts.yml): promtool checks them,
# runs their unit tests (a firing and a quiet case per alert, against series
# the tests write), and check_alert_tests.py makes sure no alert lacks either.
# usage: test_alert_rules.sh
set -u
here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
. "$here/../cli/lib.sh"
rules="$here/../../deploy/prometheus/haven-alerts.yml"
expect 0 "SUCCESS: 10 rules found" promtool check rules "$rules"
# promtool resolves rule_files relative to the test file.
expect 0 "SUCCESS" promtool test rules "$here/haven-alerts.test.yml"
expect 0 "10 alerts, each with a firing and a quiet case" \
  /usr/bin/python3 "$here/check_alert_tests.py" "$here/haven-alerts.test.yml" "$rules"
# What the checks stop: a rule that does not parse, an alert with no quiet case.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed 's/expr: haven_queue_depth > 100 and/expr: haven_queue_depth > 100 and and/' "$rules" > "$work/broken.yml"
expect 1 "FAILED" promtool check rules "$work/broken.yml"
/usr/bin/python3 - "$here/haven-alerts.test.yml" "$work/no-quiet.yml" <<'PY'
import sys, yaml
t = yaml.safe_load(open(sys.argv[1]))
for test in t["tests"]:
    test["alert_rule_test"] = [c for c in test["alert_rule_test"]
                               if c["alertname"] != "HavenAuditSyncFailing" or c["exp_alerts"]]
yaml.safe_dump(t, open(sys.argv[2], "w"))
PY
expect 1 "FAIL: HavenAuditSyncFailing: no case where it stays quiet" \
  /usr/bin/python3 "$here/check_alert_tests.py" "$work/no-quiet.yml" "$rules"
finish
