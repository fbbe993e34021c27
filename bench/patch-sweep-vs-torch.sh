#!/usr/bin/env bash
# A full resid_pre layer x position patching sweep of a 15-token prompt on GPT-2-small shapes: Loupe's incremental
# sweep, Loupe's naive sweep (one full forward per patch) and a naive PyTorch loop (bench/patch_sweep_torch.py), in
# one run. Loupe on 2 threads; PyTorch on 2 threads and on 1 (its OpenMP threads lose badly when other processes
# share the cores, and one thread is then its best).
#   bench/patch-sweep-vs-torch.sh [--reps R] [--seq T] [--differ-at K]
#       (defaults: 3 timed sweeps per method, 15 tokens, prompts differing at position T/2)
# Makes a random GPT-2-small folder once (bench-out/gpt2-small, cached).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/torch-anchor.sh"

reps=3
seq=15
differ=-1
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps="${2:?--reps needs a count}"; shift 2 ;;
    --seq) seq="${2:?--seq needs a length}"; shift 2 ;;
    --differ-at) differ="${2:?--differ-at needs a position}"; shift 2 ;;
    *) echo "patch-sweep-vs-torch: unknown argument '$1' (usage: [--reps R] [--seq T] [--differ-at K])" >&2; exit 2 ;;
  esac
done

MODEL="$ROOT/bench-out/gpt2-small"
[ "$differ" -ge 0 ] || differ=$((seq / 2))
anchor_model "$MODEL"

out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$ROOT/loupe" bench patch-sweep --no-anchor --model "$MODEL" --seq "$seq" --differ-at "$differ" --reps "$reps" --threads 2 \
  2>/dev/null | tee -a "$out"
for threads in 2 1; do
  LOUPE_GPT2_ANCHOR="$ANCHOR" ANCHOR_THREADS=$threads "$PY" "$HERE/patch_sweep_torch.py" --model "$MODEL" \
    --seq "$seq" --differ-at "$differ" --reps "$reps" | tee -a "$out"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

python3 - "$out" <<'PY'
import json, sys
ms = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if "method" in r:
        ms[r["method"]] = r["ms"]
inc = ms.get("incremental")
print(f"{'method':>15} {'ms':>9} {'x incremental':>14}")
for k, v in ms.items():
    print(f"{k:>15} {v:>9.1f} {v / inc if inc else float('nan'):>14.1f}")
PY
