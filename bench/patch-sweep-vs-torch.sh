#!/usr/bin/env bash
# A full resid_pre layer x position patching sweep of a 15-token prompt on GPT-2-small shapes: Loupe's incremental
# sweep, Loupe's naive sweep (one full forward per patch) and a naive PyTorch loop (bench/patch_sweep_torch.py), in
# one run, 2 threads each.
#   bench/patch-sweep-vs-torch.sh [--reps R] [--seq T] [--differ-at K]
#       (defaults: 3 timed sweeps per method, 15 tokens, prompts differing at T/2; the incremental sweep skips the
#       patches before K, which write what the run already has: --differ-at 0 leaves it nothing to skip)
# Makes a random GPT-2-small folder once (bench-out/gpt2-small, cached).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
ANCHOR="${LOUPE_GPT2_ANCHOR:-$ROOT/../shared/anchors/torch_gpt2.py}"
PY="${LOUPE_TORCH_PYTHON:-/usr/bin/python3}"
[ -f "$ANCHOR" ] || { echo "patch-sweep-vs-torch: anchor not found at $ANCHOR (set LOUPE_GPT2_ANCHOR)" >&2; exit 1; }

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
if [ ! -f "$MODEL/model.safetensors" ]; then
  mkdir -p "$ROOT/bench-out"
  "$PY" "$ANCHOR" save "$MODEL" >&2
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$ROOT/loupe" bench patch-sweep --model "$MODEL" --seq "$seq" --differ-at "$differ" --reps "$reps" --threads 2 2>/dev/null | tee -a "$out"
LOUPE_GPT2_ANCHOR="$ANCHOR" ANCHOR_THREADS=2 "$PY" "$HERE/patch_sweep_torch.py"  --model "$MODEL" --seq "$seq" \
  --differ-at "$differ" --reps "$reps" | tee -a "$out"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

python3 - "$out" <<'PY'
import json, sys
ms = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if "method" in r:
        ms[r["method"]] = r["ms"]
inc = ms.get("incremental")
print(f"{'method':>12} {'ms':>9} {'x incremental':>14}")
for k, v in ms.items():
    print(f"{k:>12} {v:>9.1f} {v / inc if inc else float('nan'):>14.1f}")
PY
