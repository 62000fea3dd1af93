#!/usr/bin/env python3
"""Reads a broker's or a worker's /metrics, parses it strictly with
prometheus_client's text parser and holds every family to Prometheus's
conventions, listing each family with its type:
  - every family has HELP and TYPE lines, and every sample belongs to one;
  - a counter is named ..._total, a gauge is not;
  - a histogram or summary (all of Haven's measure time) is in _seconds,
    and no name carries another unit of time or size (_ms, _minutes, _kb);
  - a gauge whose name or help speaks of an age, a time or a duration is
    in _seconds;
  - each family keeps one label set (le apart), and no label names or
    holds a person or a case (no staff id "org/person", no referral id);
  - histogram buckets are cumulative and +Inf equals the count.
Then what an operator's dashboard relies on for KIND (broker, intake,
router, provider): its families with their types, and the broker's (or
node's) id on every sample.

usage: check_metrics.py URL TOKEN KIND ID [--names FILE] [--flow CC]
                        [--at-least SERIES=N]... [--at-most SERIES=N]...
  --names FILE       appends every sample name seen to FILE (for
                     check_dashboard.py)
  --flow CC          the broker has stored and acknowledged a message
                     from CC to CC (the referral flow's check)
  --at-least S=N     series S (NAME or NAME{label=value,...}) is at least N
  --at-most S=N      and at most N (every sample S matches)
"""
import re
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

BROKER = {
    "haven_messages": "counter", "haven_commits": "counter",
    "haven_audit_sync_failures": "counter", "haven_queue_depth": "gauge",
    "haven_queue_oldest_age_seconds": "gauge", "haven_queued": "gauge",
    "haven_dead_letters": "gauge", "haven_dead_letters_by_reason": "gauge",
    "haven_peer_up": "gauge", "haven_peer_state_seconds": "gauge", "haven_sessions": "gauge",
    "haven_flow_messages": "counter", "haven_ack_latency_seconds": "histogram",
    "haven_store_failed": "gauge", "haven_store_failures": "counter",
}
WORKER = {
    "haven_worker_broker_up": "gauge", "haven_worker_outbox_depth": "gauge",
    "haven_worker_outbox_oldest_age_seconds": "gauge", "haven_worker_referrals": "gauge",
    "haven_worker_erasures": "counter", "haven_worker_errors": "counter",
}
OFFERS = {"haven_worker_offers_pending": "gauge",
          "haven_worker_offer_answer_by_seconds": "gauge"}
OVERDUE = {"haven_worker_referrals_overdue": "gauge"}  # an intake's deadlines (issue 21)
COMMON = {
    "haven_build_info": "gauge", "process_cpu_seconds": "counter",
    "process_resident_memory_bytes": "gauge", "process_open_fds": "gauge",
    "process_max_fds": "gauge", "process_start_time_seconds": "gauge",
}
ERROR_KINDS = {"message_refused", "message_deferred", "undeliverable", "control_refused",
               "store_failed", "audit_failed"}
OTHER_UNITS = re.compile(r"_(ms|milliseconds|us|microseconds|minutes|hours|days|kb|kilobytes|"
                         r"mb|megabytes|percent)(_|$)")
TIME_WORDS = re.compile(r"\b(age|ages|time|since|duration|latency|until|seconds)\b", re.I)
REFERRAL_ID = re.compile(r"\b[0-9a-f]{32}\b")
PERSON_LABELS = {"referral", "case", "person", "staff", "actor", "name", "by"}


def main(argv):
    url, token, kind, node = argv[1:5]
    names_file, flow, at_least, at_most = None, None, [], []
    rest = argv[5:]
    while rest:
        opt, value, rest = rest[0], rest[1], rest[2:]
        if opt == "--names":
            names_file = value
        elif opt == "--flow":
            flow = value
        elif opt == "--at-least":
            at_least.append(value)
        elif opt == "--at-most":
            at_most.append(value)
        else:
            sys.exit(f"usage: unknown option {opt}")
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"}
                                     if token else {})
    with urllib.request.urlopen(request, timeout=5) as response:
        content_type = response.headers["Content-Type"]
        text = response.read().decode("utf-8")

    failures = []
    if not url.startswith("file:") and not content_type.startswith("text/plain; version=0.0.4"):
        failures.append(f"content type {content_type}")

    # The text's own lines: HELP and TYPE for each family, in that order,
    # before its samples; nothing that is neither.
    helps, types = {}, {}
    sample_names = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("# HELP "):
            name, _, doc = line[7:].partition(" ")
            if not doc.strip():
                failures.append(f"line {number}: empty HELP for {name}")
            helps[name] = doc
        elif line.startswith("# TYPE "):
            name, _, kind_ = line[7:].partition(" ")
            if name not in helps:
                failures.append(f"line {number}: TYPE of {name} before its HELP")
            types[name] = kind_
        elif line.startswith("#") or not line.strip():
            failures.append(f"line {number}: neither HELP, TYPE nor a sample")
        else:
            sample = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
            sample_names.append(sample)
            suffixes = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}
            owner = next((f for f in types if sample == f or any(
                sample == f + s for s in suffixes.get(types[f], ()))), None)
            if owner is None:
                failures.append(f"line {number}: sample {sample} has no TYPE before it")
    for name in types:
        if name not in helps:
            failures.append(f"{name}: no HELP")

    families = {f.name: f for f in text_string_to_metric_families(text)}
    print(f"{len(families)} families at {url}:")
    for family in families.values():
        exposed = family.name + ("_total" if family.type == "counter" and
                                 family.name + "_total" in types else "")
        print(f"  {family.type:9} {exposed}")
        if exposed not in types:
            failures.append(f"{exposed}: TYPE line names it otherwise")
        if family.type == "counter" and not exposed.endswith("_total"):
            failures.append(f"{exposed}: a counter without _total")
        if family.type == "gauge" and exposed.endswith("_total"):
            failures.append(f"{exposed}: a gauge named _total")
        if family.type in ("histogram", "summary") and not exposed.endswith("_seconds"):
            failures.append(f"{exposed}: a {family.type} of time without _seconds")
        if family.type == "untyped" or family.type == "unknown":
            failures.append(f"{exposed}: untyped")
        if OTHER_UNITS.search(exposed):
            failures.append(f"{exposed}: a unit other than seconds or bytes")
        if (family.type == "gauge" and TIME_WORDS.search(helps.get(exposed, "")) and
                not exposed.endswith("_seconds") and exposed != "haven_build_info"):
            failures.append(f"{exposed}: a time (its HELP says so) without _seconds")
        label_sets = set()
        for s in family.samples:
            label_sets.add(tuple(sorted(k for k in s.labels if k not in ("le", "quantile"))))
            for k, v in s.labels.items():
                if k in PERSON_LABELS:
                    failures.append(f"{s.name}: label {k} names a person or a case")
                if "/" in v or REFERRAL_ID.search(v):
                    failures.append(f"{s.name}: label {k}={v!r} looks like a person or a case")
        if len(label_sets) > 1:
            failures.append(f"{exposed}: label sets differ: {sorted(label_sets)}")
        if family.type == "histogram":
            buckets = [s for s in family.samples if s.name.endswith("_bucket")]
            values = [s.value for s in buckets]
            count = [s.value for s in family.samples if s.name.endswith("_count")]
            if values != sorted(values):
                failures.append(f"{exposed}: buckets are not cumulative")
            if not buckets or buckets[-1].labels["le"] != "+Inf" or not count or \
                    buckets[-1].value != count[0]:
                failures.append(f"{exposed}: +Inf bucket does not equal its count")

    expected = dict(COMMON)
    if kind == "broker":
        expected.update(BROKER)
        id_label = {"broker": node}
    elif kind in ("intake", "router", "provider"):
        expected.update(WORKER)
        if kind != "intake":
            expected.update(OFFERS)
        else:
            expected.update(OVERDUE)
        id_label = {"node": node, "role": kind}
    else:
        sys.exit(f"usage: KIND is broker, intake, router or provider, not {kind}")
    for name, kind_ in expected.items():
        if name not in families:
            failures.append(f"missing family {name}")
        elif families[name].type != kind_:
            failures.append(f"{name} is {families[name].type}, expected {kind_}")
    for family in families.values():
        for s in family.samples:
            for k, v in id_label.items():
                if s.labels.get(k) != v:
                    failures.append(f"{s.name} without {k}={v}")
    info = families.get("haven_build_info")
    if info and not all(s.labels.get("version") and s.labels.get("program") and s.value == 1
                        for s in info.samples):
        failures.append("haven_build_info without version and program, or not 1")

    def values(name, **labels):
        return [s.value for s in families[name].samples
                if all(s.labels.get(k) == v for k, v in labels.items())] if name in families else []

    if kind == "broker" and "haven_messages" in families:
        events = {s.labels["event"]: s.value for s in families["haven_messages"].samples}
        if "commits" in events:
            failures.append("haven_messages_total still counts commits among messages")
        for event in ("stored", "delivered", "acked", "refused", "forwarded", "expired"):
            if event not in events:
                failures.append(f"haven_messages_total has no event {event}")
        roles = {s.labels.get("role") for s in families.get("haven_sessions").samples} \
            if "haven_sessions" in families else set()
        if not {"intake", "router", "provider"} <= roles:
            failures.append(f"haven_sessions lacks a role: {sorted(r for r in roles if r)}")
        if flow:
            if events.get("stored", 0) < 1:
                failures.append("nothing stored according to the metrics")
            if not any(s.labels["from"] == flow and s.labels["to"] == flow and s.value >= 1
                       for s in families["haven_flow_messages"].samples
                       if s.name.endswith("_total")):
                failures.append(f"no {flow}->{flow} flow")
            if not values("haven_ack_latency_seconds", ) or \
                    max(v for v in [s.value for s in families["haven_ack_latency_seconds"].samples
                                    if s.name.endswith("_count")]) < 1:
                failures.append("no acknowledgement latency recorded")
    if kind != "broker" and "haven_worker_errors" in families:
        kinds = {s.labels.get("kind") for s in families["haven_worker_errors"].samples}
        if kinds != ERROR_KINDS:
            failures.append(f"haven_worker_errors_total kinds {sorted(kinds)}")

    for spec, least in [(s, True) for s in at_least] + [(s, False) for s in at_most]:
        series, _, bound = spec.rpartition("=")
        m = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?", series)
        name, labels = m.group(1), dict(kv.split("=", 1) for kv in
                                        (m.group(2) or "").split(",") if kv)
        got = [s.value for f in families.values() for s in f.samples
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
        if not got or (max(got) < float(bound) if least else max(got) > float(bound)):
            failures.append(f"{series} is {got or 'absent'}, expected at "
                            f"{'least' if least else 'most'} {bound}")

    # The names a query may use: every sample's, and every declared
    # family's (a family may have no series yet, e.g. no peer configured).
    declared = set(types)
    for name, kind_ in types.items():
        if kind_ == "histogram":
            declared |= {name + "_bucket", name + "_sum", name + "_count"}
        if kind_ == "summary":
            declared |= {name + "_sum", name + "_count"}
    if names_file:
        with open(names_file, "a", encoding="utf-8") as f:
            for name in sorted(set(sample_names) | declared):
                f.write(name + "\n")
    for f in failures:
        print(f"FAIL: {f}")
    print(f"{len(families)} families, {sum(len(f.samples) for f in families.values())} samples; "
          f"{'strictly valid' if not failures else 'INVALID'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
