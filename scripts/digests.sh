#!/usr/bin/env bash
# Runs every scenario (and, if a directory of generated scenarios is given, every file in it)
# with the release binary and prints one line per output file: its SHA-256 and its name.
# Used to prove a refactoring changes nothing observable:
#
#   scripts/digests.sh > /tmp/before.txt              # on the old commit
#   scripts/digests.sh > /tmp/after.txt               # on the new one
#   diff /tmp/before.txt /tmp/after.txt               # must print nothing
#
# With GENERATED=DIR, the scenarios in DIR are run too (write them with
# `SNAPSIM_WRITE_GENERATED=DIR cargo test --release --test properties -- --ignored write_generated`).
set -euo pipefail
cd "$(dirname "$0")/.."
# SNAPSIM_BIN=PATH runs that binary instead (e.g. a copy of the old commit's) without building.
if [ -n "${SNAPSIM_BIN:-}" ]; then
  bin=$SNAPSIM_BIN
else
  cargo build --release --quiet
  bin=target/release/snapsim
fi
# A fixed directory: the summary names the files it wrote, so the path must not vary.
out=target/digest-runs
rm -rf "$out"
mkdir -p "$out"
run() { # file, extra args...
  local file=$1 name
  shift
  name=$(basename "$file" .json)
  "$bin" run "$file" --out "$out/runs" --events "$@" >"$out/stdout" 2>&1 || true
  printf '%s  %s/stdout\n' "$(sha256sum <"$out/stdout" | cut -d' ' -f1)" "$name"
  for f in report.json events.jsonl; do
    if [ -f "$out/runs/$name/$f" ]; then
      printf '%s  %s/%s\n' "$(sha256sum <"$out/runs/$name/$f" | cut -d' ' -f1)" "$name" "$f"
    fi
  done
}
for file in scenarios/*.json; do
  run "$file"
done
# Savepoint restores: v1 writes the savepoints the v2 scenarios start from.
savepoint=$(ls "$out/runs/flink-savepoint-v1"/savepoint-*.json | sort -V | tail -n 1)
for file in scenarios/flink-savepoint-v2-*.json scenarios/flink-savepoint-ab-*.json; do
  run "$file" --from-savepoint "$savepoint" --allow-non-restored-state
done
if [ -n "${GENERATED:-}" ]; then
  for file in "$GENERATED"/*.json; do
    run "$file"
  done
fi
