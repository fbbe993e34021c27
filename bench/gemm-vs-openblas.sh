#!/usr/bin/env bash
# Loupe's SGEMM against the NumPy/OpenBLAS anchor, back to back on the same machine, one table row per shape.
#   bench/gemm-vs-openblas.sh [--shapes M,K,N ...]     (defaults: the anchor's four shapes)
# Timings on a shared machine are noisy: read the ratio column, and run it a few times.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
ANCHOR="${LOUPE_GEMM_ANCHOR:-$ROOT/../shared/anchors/gemm_openblas.py}"
[ -f "$ANCHOR" ] || { echo "gemm-vs-openblas: anchor not found at $ANCHOR (set LOUPE_GEMM_ANCHOR)" >&2; exit 1; }

shapes=()
if [ "${1:-}" = "--shapes" ]; then shift; shapes=("$@"); fi

ours=$(mktemp) theirs=$(mktemp)
trap 'rm -f "$ours" "$theirs"' EXIT
if [ ${#shapes[@]} -gt 0 ]; then
  "$ROOT/loupe" bench gemm --shapes "${shapes[@]}" >"$ours"
  python3 "$ANCHOR" "${shapes[@]}" >"$theirs"
else
  "$ROOT/loupe" bench gemm >"$ours"
  python3 "$ANCHOR" >"$theirs"
fi

python3 - "$ours" "$theirs" <<'PY'
import json, sys
def load(path):
    rows = {}
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            r = json.loads(line)
            rows[(r["m"], r["k"], r["n"])] = r
    return rows
ours, theirs = load(sys.argv[1]), load(sys.argv[2])
print(f"{'M,K,N':>16} {'loupe GF/s':>11} {'OpenBLAS GF/s':>14} {'ratio':>6}")
for key, o in ours.items():
    t = theirs.get(key)
    ratio = f"{o['gflops'] / t['gflops']:.2f}" if t and t["gflops"] else "-"
    print(f"{'%d,%d,%d' % key:>16} {o['gflops']:>11.1f} {(t['gflops'] if t else float('nan')):>14.1f} {ratio:>6}")
PY
