#!/usr/bin/env bash
# Loupe's SGEMM against the NumPy/OpenBLAS anchor on the same machine, one table row per shape, best of several rounds
# (`./loupe bench gemm` does one round and writes BENCHMARKS.md's generated table).
#   bench/gemm-vs-openblas.sh [--rounds R] [--shapes M,K,N ...]     (defaults: 3 rounds, the anchor's four shapes)
# Each round runs `loupe bench gemm` and the anchor back to back; the table keeps each side's best round, so a burst
# of load from other processes hurts neither side more than the other. Still read the ratio, not the GFLOP/s.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
ANCHOR="${LOUPE_GEMM_ANCHOR:-$ROOT/../shared/anchors/gemm_openblas.py}"
[ -f "$ANCHOR" ] || { echo "gemm-vs-openblas: anchor not found at $ANCHOR (set LOUPE_GEMM_ANCHOR)" >&2; exit 1; }

rounds=3
shapes=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="${2:?--rounds needs a count}"; shift 2 ;;
    --shapes) shift; while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do shapes+=("$1"); shift; done ;;
    *) echo "gemm-vs-openblas: unknown argument '$1' (usage: [--rounds R] [--shapes M,K,N ...])" >&2; exit 2 ;;
  esac
done

ours=$(mktemp) theirs=$(mktemp)
trap 'rm -f "$ours" "$theirs"' EXIT
for _ in $(seq "$rounds"); do
  if [ ${#shapes[@]} -gt 0 ]; then
    "$ROOT/loupe" bench gemm --no-anchor --shapes "${shapes[@]}" >>"$ours"
    python3 "$ANCHOR" "${shapes[@]}" >>"$theirs"
  else
    "$ROOT/loupe" bench gemm --no-anchor >>"$ours"
    python3 "$ANCHOR" >>"$theirs"
  fi
done

python3 - "$ours" "$theirs" "$rounds" <<'PY'
import json, sys
def best(path):
    rows = {}
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            r = json.loads(line)
            key = (r["m"], r["k"], r["n"])
            if key not in rows or r["gflops"] > rows[key]["gflops"]:
                rows[key] = r
    return rows
ours, theirs = best(sys.argv[1]), best(sys.argv[2])
print(f"best of {sys.argv[3]} round(s), GFLOP/s")
print(f"{'M,K,N':>16} {'loupe':>8} {'OpenBLAS':>9} {'ratio':>6}")
for key, o in ours.items():
    t = theirs.get(key)
    ratio = f"{o['gflops'] / t['gflops']:.2f}" if t and t["gflops"] else "-"
    print(f"{'%d,%d,%d' % key:>16} {o['gflops']:>8.1f} {(t['gflops'] if t else float('nan')):>9.1f} {ratio:>6}")
PY
