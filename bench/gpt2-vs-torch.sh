#!/usr/bin/env bash
# Loupe's GPT-2 forward and training step beside PyTorch's (../shared/anchors/torch_gpt2.py) on the same machine, best
# of several rounds (`./loupe bench gpt2` and `gpt2-step` do one round and write BENCHMARKS.md's generated table).
#   bench/gpt2-vs-torch.sh [--reps R] [--rounds N]      (defaults: 5 timed runs per measurement, 2 rounds)
# Makes a random GPT-2-small folder once (bench-out/gpt2-small, cached), then for each case runs `loupe bench gpt2`
# (2 threads) and the anchor (ANCHOR_THREADS=2) back to back; each round repeats all cases and the table keeps each
# side's best round, so a burst of load from other processes hurts neither side more than the other.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/torch-anchor.sh"

reps=5
rounds=2
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps="${2:?--reps needs a count}"; shift 2 ;;
    --rounds) rounds="${2:?--rounds needs a count}"; shift 2 ;;
    *) echo "gpt2-vs-torch: unknown argument '$1' (usage: [--reps R] [--rounds N])" >&2; exit 2 ;;
  esac
done

MODEL="$ROOT/bench-out/gpt2-small"
anchor_model "$MODEL"

cases=("fwd 1 128" "fwd 4 64" "step 4 64")
ours=$(mktemp) theirs=$(mktemp)
trap 'rm -f "$ours" "$theirs"' EXIT
for _ in $(seq "$rounds"); do
  for c in "${cases[@]}"; do
    read -r mode b t <<<"$c"
    bench=gpt2; [ "$mode" = step ] && bench=gpt2-step
    "$ROOT/loupe" bench "$bench" --no-anchor --model "$MODEL" --batch "$b" --seq "$t" --reps "$reps" --threads 2 \
      2>/dev/null >>"$ours"
    ANCHOR_THREADS=2 "$PY" "$ANCHOR" bench --model "$MODEL" --mode "$mode" --batch "$b" --seq "$t" --reps "$reps" \
      >>"$theirs"
  done
done

python3 - "$ours" "$theirs" "$rounds" "$reps" <<'PY'
import json, sys
def best(path):
    rows = {}
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            r = json.loads(line)
            key = (r["mode"], r["batch"], r["seq"])
            if key not in rows or r["ms"] < rows[key]["ms"]:
                rows[key] = r
    return rows
ours, theirs = best(sys.argv[1]), best(sys.argv[2])
print(f"GPT-2 small (12 layers, d_model 768), 2 threads each; median of {sys.argv[4]} runs, best of {sys.argv[3]} round(s)")
print(f"{'mode':>5} {'B':>2} {'T':>4} {'loupe ms':>9} {'torch ms':>9} {'loupe/torch':>12}")
for key, o in ours.items():
    t = theirs.get(key)
    ratio = f"{o['ms'] / t['ms']:.2f}" if t else "-"
    print(f"{key[0]:>5} {key[1]:>2} {key[2]:>4} {o['ms']:>9.1f} {(t['ms'] if t else float('nan')):>9.1f} {ratio:>12}")
PY
