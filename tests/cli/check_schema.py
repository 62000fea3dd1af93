#!/usr/bin/env python3
"""The JSON Schema in docs/ and Haven's own checker agree: the example
referral is valid under the schema, and every invalid test file the schema
can judge (those not marked as needing Haven's extra rules) is refused by
it too.
usage: check_schema.py SCHEMA EXAMPLE INVALID_DIR"""
import json
import pathlib
import sys

import jsonschema

# Refused only by rules the schema cannot state (see docs/REFERRAL.md),
# or not JSON at all.
BEYOND_SCHEMA = {"consent-does-not-cover-service", "minor-flag-contradicts-age",
                 "respond-by-past", "duplicate-member",
                 "syntax-trailing-comma", "syntax-unterminated-string"}

schema = json.loads(pathlib.Path(sys.argv[1]).read_text())
validator = jsonschema.Draft202012Validator(schema)
failures = 0
example = json.loads(pathlib.Path(sys.argv[2]).read_text())
errors = list(validator.iter_errors(example))
if errors:
    print(f"FAIL: the example is invalid under the schema: {errors[0].message}")
    failures += 1
for path in sorted(pathlib.Path(sys.argv[3]).glob("*.json")):
    if path.stem in BEYOND_SCHEMA:
        continue
    if not list(validator.iter_errors(json.loads(path.read_text()))):
        print(f"FAIL: {path.name} is refused by haven but valid under the schema")
        failures += 1
print("schema and checker agree" if failures == 0 else f"{failures} disagreement(s)")
sys.exit(1 if failures else 0)
