#!/usr/bin/env python3
"""Reads a broker's /metrics with a strict Prometheus text parser and checks
what an operator's dashboard relies on: every family typed, the counters
and gauges present with their labels, the latency histogram well formed
(cumulative buckets, +Inf equal to the count).
usage: check_metrics.py URL TOKEN BROKER_ID"""
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

url, token, broker = sys.argv[1:4]
request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
with urllib.request.urlopen(request, timeout=5) as response:
    content_type = response.headers["Content-Type"]
    text = response.read().decode("utf-8")

failures = []
if not content_type.startswith("text/plain; version=0.0.4"):
    failures.append(f"content type {content_type}")
families = {f.name: f for f in text_string_to_metric_families(text)}
expected = {"haven_messages": "counter", "haven_queue_depth": "gauge", "haven_queued": "gauge",
            "haven_dead_letters": "gauge", "haven_peer_up": "gauge", "haven_sessions": "gauge",
            "haven_flow_messages": "counter", "haven_ack_latency_seconds": "histogram"}
for name, kind in expected.items():
    if name not in families:
        failures.append(f"missing family {name}")
    elif families[name].type != kind:
        failures.append(f"{name} is {families[name].type}, expected {kind}")
for family in families.values():
    for sample in family.samples:
        if sample.labels.get("broker") != broker:
            failures.append(f"{sample.name} without broker label {broker}")
events = {s.labels["event"]: s.value for s in families["haven_messages"].samples}
for event in ("stored", "delivered", "acked", "refused"):
    if event not in events:
        failures.append(f"haven_messages_total has no event {event}")
if events.get("stored", 0) < 1:
    failures.append("nothing stored according to the metrics")
flows = [s for s in families["haven_flow_messages"].samples if s.name.endswith("_total")]
if not any(s.labels["from"] == "XC" and s.labels["to"] == "XC" and s.value >= 1 for s in flows):
    failures.append("no XC->XC flow")
hist = families["haven_ack_latency_seconds"].samples
buckets = [s for s in hist if s.name.endswith("_bucket")]
values = [s.value for s in buckets]
if values != sorted(values):
    failures.append("histogram buckets are not cumulative")
count = [s.value for s in hist if s.name.endswith("_count")]
if not buckets or buckets[-1].labels["le"] != "+Inf" or not count or buckets[-1].value != count[0]:
    failures.append("histogram +Inf bucket does not equal its count")
if count and count[0] < 1:
    failures.append("no acknowledgement latency recorded")
for f in failures:
    print(f"FAIL: {f}")
print(f"{len(families)} families, {sum(len(f.samples) for f in families.values())} samples; "
      f"{'strictly valid' if not failures else 'INVALID'}")
sys.exit(1 if failures else 0)
