#!/usr/bin/env python3
"""Summarise one FidelityJob run the way snapsim's fidelity table does.

Usage: analyze.py OUT_DIR [WINDOW_S [RUN_S]]
Prints the checkpoints completed in the first WINDOW_S seconds (default 35), the medians of the
table's metrics over the checkpoints triggered in that window (the first, before the queues filled,
is left out), bytes per record on the wire, and the median start delay of each keyed subtask (and
of the larger of the two) over the checkpoints triggered in each third of the first RUN_S seconds
(default: the run, rounded down to a multiple of 3 s).
"""
import glob
import json
import os
import statistics
import sys

out = sys.argv[1]
window_s = float(sys.argv[2]) if len(sys.argv) > 2 else 35.0
history = json.load(open(os.path.join(out, "checkpoints.json")))["history"]
completed = sorted((c for c in history if c["status"] == "COMPLETED"), key=lambda c: c["id"])
sink = [line.split("\t") for line in open(os.path.join(out, "sink.tsv")).read().split("\n") if line]
run_s = len(sink)
thirds_of_s = float(sys.argv[3]) if len(sys.argv) > 3 else float(run_s - run_s % 3)
args = open(os.path.join(out, "args.txt")).read().split() if os.path.exists(os.path.join(out, "args.txt")) else []
interval_ms = int(args[6]) if len(args) > 6 else 1000
t0 = completed[0]["trigger_timestamp"] - interval_ms  # the first trigger comes one interval after the start

rows = []
for c in completed:
    detail = json.load(open(os.path.join(out, f"subtasks-{c['id']}.json")))
    per = {s["index"]: s for s in detail["subtasks"] if "start_delay" in s}
    rows.append({
        "id": c["id"],
        "trigger_s": (c["trigger_timestamp"] - t0) / 1000.0,
        "e2e_ms": c["end_to_end_duration"],
        "state_kib": c["state_size"] / 1024.0,
        "persisted_kib": c["persisted_data"] / 1024.0,
        "start_delay_ms": {i: per[i]["start_delay"] for i in per},
        "alignment_ms": {i: per[i]["alignment"]["duration"] for i in per},
    })

steady = [r for r in rows[1:] if r["trigger_s"] <= window_s] or rows
in_window = [r for r in rows if r["trigger_s"] + r["e2e_ms"] / 1000.0 <= window_s]
med = statistics.median
triggers = [r["trigger_s"] for r in steady]
intervals = [b - a for a, b in zip(triggers, triggers[1:])]
print(f"run: {run_s} s, {len(rows)} checkpoints completed, {len(in_window)} in the first {window_s:g} s")
if intervals:
    print(f"effective interval ms: {med(intervals) * 1000:.0f}")
print(f"end-to-end ms: {med(r['e2e_ms'] for r in steady):.0f}")
print(f"alignment ms (max over subtasks): {med(max(r['alignment_ms'].values()) for r in steady):.0f}")
print(f"start delay ms (max over subtasks): {med(max(r['start_delay_ms'].values()) for r in steady):.0f}")
print(f"persisted KiB: {med(r['persisted_kib'] for r in steady):.0f}")
print(f"state KiB: {med(r['state_kib'] for r in steady):.0f}")
for path in sorted(glob.glob(os.path.join(out, "metrics-*.json"))):
    m = {e["id"]: float(e["value"]) for e in json.load(open(path))}
    vertex_subtask = os.path.basename(path)[len("metrics-"):-len(".json")]
    for way in ("Out", "In"):
        if m.get(f"numRecords{way}"):
            print(f"bytes per record {way.lower()} ({vertex_subtask}): "
                  f"{m[f'numBytes{way}'] / m[f'numRecords{way}']:.2f}")
n = [int(s[1]) for s in sink]
w = min(int(window_s), run_s)
print(f"sink rec/s (5 s .. {w} s): {(n[w - 1] - n[4]) / (w - 5):.0f}")
print(f"latency p50 ms (median of per-second medians, 5 s .. {w} s): "
      f"{med(int(s[2]) for s in sink[5:w] if int(s[2]) >= 0):.0f}")
third = thirds_of_s / 3.0


def by_thirds(delay_ms):
    """The median of delay_ms(row) over the checkpoints triggered in each third, as text."""
    parts = []
    for k in range(3):
        sel = [delay_ms(r) for r in rows[1:] if k * third <= r["trigger_s"] < (k + 1) * third]
        parts.append(f"{med(sel):.0f}" if sel else "-")
    return " / ".join(parts)


for i in sorted(rows[0]["start_delay_ms"]):
    print(f"subtask {i}: median start delay ms by thirds of {thirds_of_s:g} s: "
          f"{by_thirds(lambda r: r['start_delay_ms'][i])}")
print(f"max over subtasks: median start delay ms by thirds of {thirds_of_s:g} s: "
      f"{by_thirds(lambda r: max(r['start_delay_ms'].values()))}")
print("per checkpoint: id trigger_s e2e_ms start_delay_ms[0,1]")
for r in rows:
    print(f"  {r['id']:3} {r['trigger_s']:7.2f} {r['e2e_ms']:6} {r['start_delay_ms']}")
