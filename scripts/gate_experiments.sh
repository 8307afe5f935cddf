#!/usr/bin/env bash
# The targets of issue #14, measured on a quiet machine (no other jobs, not even at nice 19:
# PyTorch's OpenMP threads suffer from them). About 7 hours with the quick profile on 2
# cores; every step appends its duration to $OUT/log.txt, and a rerun with the same OUT skips
# the steps the log says are done (a session can end mid-way).
#   scripts/gate_experiments.sh OUT [PYTHON]
# Summarise with: python scripts/summarise_runs.py OUT/calm OUT/noisy --affected '*-torch-*-[it][nr]*'
# (see docs/gate.md, "Experiments for issue #14").
set -euo pipefail
OUT=${1:?usage: scripts/gate_experiments.sh OUT [PYTHON]}
PY=${2:-$(command -v python)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
INJECT="*-torch-*-infer-*=1.25,*-torch-*-train-*=1.25"  # PyTorch infer and train 25% slower
SLOW="$OUT/python-torch-slowed"        # B of the injected A/B runs
printf '#!/bin/sh\nTWINBENCH_INJECT_SLOWDOWN="%s" exec %s "$@"\n' "$INJECT" "$PY" > "$SLOW"
chmod +x "$SLOW"
touch "$OUT/log.txt"
log() { echo "$(date -u +%FT%TZ) $*" | tee -a "$OUT/log.txt"; }
noise() { "$PY" -m twinbench.tools.noise --duration "$1" --seed "$2" --log "$OUT/noise-$3.jsonl" > /dev/null & NOISE=$!; }
timed() {
  local name=$1; shift
  if grep -q " $name: " "$OUT/log.txt"; then return 0; fi  # done by an earlier attempt
  local start=$SECONDS
  "$@" > "$OUT/$name.txt" 2>&1 || true
  log "$name: $((SECONDS - start)) s"
}
# The sides taking turns, three processes a side, as many as a plain run: interleaving, not
# more processes, is meant to cancel the spells (its cost against a plain run: docs/gate.md).
AB=("$PY" -m twinbench.cli ab --interleaved --processes 3 --a "$PY")
# Each A/B pair measured at the same time on its own half of the CPUs, judged pair by pair,
# with the command's own plan of looks (quick: 3 pairs, then rounds that can decide).
DUET=("$PY" -m twinbench.cli ab --together --a "$PY")

# 1. Calm: a baseline; a plain A/A gate run against it (also the cost reference); the gate
#    with the slowdown; an A/A A/B run (its cost against the plain run) and an injected one
#    (whether it finds the slowdown); the spread between processes at one thread, and the
#    injected A/B run again at one thread; injected and A/A A/B runs with the pairs together.
timed calm-baseline "$PY" -m pytest benches -q --results-dir "$OUT/calm" --save-baseline
timed calm-plain "$PY" -m pytest benches -q --results-dir "$OUT/calm"
TWINBENCH_INJECT_SLOWDOWN="$INJECT" timed calm-gate-slowed "$PY" -m pytest benches -q --results-dir "$OUT/calm"
timed calm-ab-aa "${AB[@]}" --b "$PY" --results-dir "$OUT/calm"
timed calm-ab-slowed "${AB[@]}" --b "$SLOW" --results-dir "$OUT/calm"
timed calm-threads1 "$PY" -m pytest benches -q --results-dir "$OUT/calm-t1" --save-baseline --threads 1
timed calm-ab-slowed-threads1 "${AB[@]}" --b "$SLOW" --threads 1 --results-dir "$OUT/calm-t1"
timed calm-duet-slowed "${DUET[@]}" --b "$SLOW" --results-dir "$OUT/calm-duet"
timed calm-duet-aa "${DUET[@]}" --b "$PY" --results-dir "$OUT/calm-duet"
# 2. Under noise: a baseline and 5 A/A gate runs against it (scripts/window_study.py then
#    judges the same runs against --baseline-window's pooling), then A/A and injected A/B runs.
noise 10800 1 gate
trap 'kill -TERM "$NOISE" 2>/dev/null || true' EXIT  # it stops its load and logs "stop"
timed noisy-baseline "$PY" -m pytest benches -q --results-dir "$OUT/noisy" --save-baseline
for i in 1 2 3 4 5; do
  timed "noisy-gate-aa-$i" "$PY" -m pytest benches -q --results-dir "$OUT/noisy"
done
timed noisy-ab-aa "${AB[@]}" --b "$PY" --results-dir "$OUT/noisy"
timed noisy-ab-slowed "${AB[@]}" --b "$SLOW" --results-dir "$OUT/noisy"
timed noisy-duet-aa "${DUET[@]}" --b "$PY" --results-dir "$OUT/noisy-duet"
timed noisy-duet-slowed "${DUET[@]}" --b "$SLOW" --results-dir "$OUT/noisy-duet"
log done
