#!/usr/bin/env bash
# Training throughput of the IOI demo model's shape: Loupe's training step (`loupe bench gpt2-step`) beside
# PyTorch's (../shared/anchors/torch_gpt2.py bench --mode step), tokens per second, on the same machine.
#   bench/train-vs-torch.sh [--reps R] [--rounds N]      (defaults: 10 timed steps per measurement, 3 rounds)
# The shape is the IOI demo model's (3 layers, d_model 64, 4 heads, context 40, its reduced vocabulary) at its
# training batch (32 rows of 40 tokens). A random model of that shape is written once by the anchor
# (bench-out/ioi-shape-v<vocab>, cached) and both sides load it. Each round runs Loupe then the anchor at 1 and at 2
# threads; the table keeps each side's best round per thread count. Both are shown because on a loaded machine
# PyTorch's 2-thread OpenMP step at this small shape can be many times slower than its 1-thread one. Both steps are forward, cross-entropy on every position, backward and AdamW;
# the demo's own step adds gradient clipping and the answer-weighted loss, both small beside these.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/torch-anchor.sh"

reps=10
rounds=3
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps="${2:?--reps needs a count}"; shift 2 ;;
    --rounds) rounds="${2:?--rounds needs a count}"; shift 2 ;;
    *) echo "train-vs-torch: unknown argument '$1' (usage: [--reps R] [--rounds N])" >&2; exit 2 ;;
  esac
done

# The IOI demo model's shape (DemoModels.ioiConfig, IOI_LENGTH, IOI_BATCH); VOCAB is len(IoiCorpus.vocabulary).
LAYERS=3 D_MODEL=64 HEADS=4 CTX=40 BATCH=32 SEQ=40 VOCAB=${LOUPE_IOI_VOCAB:-144}
MODEL="$ROOT/bench-out/ioi-shape-v$VOCAB"
anchor_model "$MODEL" --layers $LAYERS --d-model $D_MODEL --heads $HEADS --vocab "$VOCAB" --ctx $CTX

ours=$(mktemp) theirs=$(mktemp)
trap 'rm -f "$ours" "$theirs"' EXIT
for _ in $(seq "$rounds"); do
  for th in 1 2; do
    "$ROOT/loupe" bench gpt2-step --no-anchor --model "$MODEL" --batch $BATCH --seq $SEQ --reps "$reps" --warmup 5 \
      --threads $th 2>/dev/null >>"$ours"
    ANCHOR_THREADS=$th "$PY" "$ANCHOR" bench --model "$MODEL" --mode step --batch $BATCH --seq $SEQ --reps "$reps" \
      >>"$theirs"
  done
done

python3 - "$ours" "$theirs" "$rounds" "$reps" "$BATCH" "$SEQ" <<'PY'
import json, sys
def best(path):
    rows = {}
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            r = json.loads(line)
            if r["threads"] not in rows or r["ms"] < rows[r["threads"]]["ms"]:
                rows[r["threads"]] = r
    return rows
ours, theirs = best(sys.argv[1]), best(sys.argv[2])
tokens = int(sys.argv[5]) * int(sys.argv[6])
print(f"IOI demo shape (3 layers, d_model 64, 4 heads), training step at batch {sys.argv[5]} x {sys.argv[6]} tokens; "
      f"median of {sys.argv[4]} steps, best of {sys.argv[3]} round(s)")
print(f"{'threads':>7} {'loupe ms':>9} {'torch ms':>9} {'loupe tok/s':>12} {'torch tok/s':>12} {'loupe/torch':>12}")
for th in sorted(ours):
    o, t = ours[th], theirs.get(th)
    tm = t["ms"] if t else float("nan")
    print(f"{th:>7} {o['ms']:>9.1f} {tm:>9.1f} {tokens / o['ms'] * 1e3:>12.0f} {tokens / tm * 1e3:>12.0f} "
          f"{tm / o['ms']:>12.2f}")
PY
