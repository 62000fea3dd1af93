#!/usr/bin/env python3
"""The JSON Schemas in docs/ and Haven's own checker agree: the example
referrals are valid under the schema of their version, and every invalid
test file the schemas can judge (those not marked as needing Haven's extra
rules) is refused by the schema of the version it names (version 1 by its
own schema, any other by the newest).
usage: check_schema.py SCHEMA SCHEMA_V1 INVALID_DIR EXAMPLE..."""
import json
import pathlib
import sys

import jsonschema

# Refused only by rules the schema cannot state (see docs/REFERRAL.md),
# or not JSON at all.
BEYOND_SCHEMA = {"consent-does-not-cover-service", "minor-flag-contradicts-age",
                 "respond-by-past", "duplicate-member", 
                 "syntax-trailing-comma", "syntax-unterminated-string"}

newest = jsonschema.Draft202012Validator(json.loads(pathlib.Path(sys.argv[1]).read_text()))
version_1 = jsonschema.Draft202012Validator(json.loads(pathlib.Path(sys.argv[2]).read_text()))


def validator(doc):
    """The schema of the version a file names."""
    v1 = isinstance(doc, dict) and doc.get("schema") == "haven-referral/1"
    return version_1 if v1 else newest


failures = 0
for name in sys.argv[4:]:
    example = json.loads(pathlib.Path(name).read_text())
    errors = list(validator(example).iter_errors(example))
    if errors:
        print(f"FAIL: {name} is invalid under the schema: {errors[0].message}")
        failures += 1
for path in sorted(pathlib.Path(sys.argv[3]).glob("*.json")):
    if path.stem in BEYOND_SCHEMA:
        continue
    doc = json.loads(path.read_text())
    if not list(validator(doc).iter_errors(doc)):
        print(f"FAIL: {path.name} is refused by haven but valid under the schema")
        failures += 1
print("schema and checker agree" if failures == 0 else f"{failures} disagreement(s)")
sys.exit(1 if failures else 0)
