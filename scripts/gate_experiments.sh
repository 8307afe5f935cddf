#!/usr/bin/env bash
# The targets of issue #14, measured on a quiet machine (no other jobs!). About 2-3 hours
# with the quick profile on 2 cores (13 quick runs and 5 A/B runs); every step appends to $OUT/log.txt.
#   scripts/gate_experiments.sh OUT [PYTHON]
# Summarise with: python scripts/summarise_runs.py OUT/<step>/ --affected '*-torch-*-infer-*'
# (see docs/gate.md, "Experiments for issue #14").
set -euo pipefail
OUT=${1:?usage: scripts/gate_experiments.sh OUT [PYTHON]}
PY=${2:-$(command -v python)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SLOW="$OUT/python-torch-slowed"        # B of the injection: PyTorch infer and train 25% slower
printf '#!/bin/sh\nTWINBENCH_INJECT_SLOWDOWN="*-torch-*-infer-*=1.25,*-torch-*-train-*=1.25" exec %s "$@"\n' "$PY" > "$SLOW"
chmod +x "$SLOW"
log() { echo "$(date -u +%FT%TZ) $*" | tee -a "$OUT/log.txt"; }
noise() { "$PY" -m twinbench.tools.noise --duration "$1" --seed "$2" --log "$OUT/noise-$3.jsonl" > /dev/null & NOISE=$!; }
timed() { local name=$1; shift; local start=$SECONDS; "$@" > "$OUT/$name.txt" 2>&1 || true; log "$name: $((SECONDS - start)) s"; }

# 1. Calm: cost of a plain quick run against an A/B quick run.
timed calm-plain "$PY" -m pytest benches -q --results-dir "$OUT/calm" --save-baseline
timed calm-ab-aa "$PY" -m twinbench.cli ab --a "$PY" --b "$PY" --results-dir "$OUT/calm"
timed calm-ab-slowed "$PY" -m twinbench.cli ab --a "$PY" --b "$SLOW" --results-dir "$OUT/calm"
# 2. Calm: the baseline gate still confirms a 25% slowdown in every affected case.
TWINBENCH_INJECT_SLOWDOWN="*-torch-*-infer-*=1.25,*-torch-*-train-*=1.25" \
  timed calm-gate-slowed "$PY" -m pytest benches -q --results-dir "$OUT/calm"
# 3. Under noise: baseline, then 5 A/A runs of the gate with witnesses; then the A/B mode.
noise 9000 1 gate
timed noisy-baseline "$PY" -m pytest benches -q --results-dir "$OUT/noisy" --save-baseline
for i in 1 2 3 4 5; do
  timed "noisy-gate-aa-$i" "$PY" -m pytest benches -q --results-dir "$OUT/noisy"
done
# 5 more A/A runs judged against the last 7 runs of the history instead of the baseline.
for i in 1 2 3 4 5; do
  timed "noisy-window-aa-$i" "$PY" -m pytest benches -q --results-dir "$OUT/noisy" --baseline-window 7
done
timed noisy-ab-aa "$PY" -m twinbench.cli ab --a "$PY" --b "$PY" --results-dir "$OUT/noisy"
timed noisy-ab-slowed "$PY" -m twinbench.cli ab --a "$PY" --b "$SLOW" --results-dir "$OUT/noisy"
timed noisy-ab-slowed-2 "$PY" -m twinbench.cli ab --a "$PY" --b "$SLOW" --order random --results-dir "$OUT/noisy"
kill -TERM "$NOISE" 2>/dev/null || true  # it stops its load and logs "stop"
wait
log done
