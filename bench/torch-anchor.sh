# Sourced by the *-vs-torch.sh scripts: where the repository, the PyTorch anchor (../shared/anchors/torch_gpt2.py)
# and its Python are, and the random model folders both sides load. Defines HERE (bench/), ROOT, ANCHOR, PY and
# anchor_model.
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
ANCHOR="${LOUPE_GPT2_ANCHOR:-$ROOT/../shared/anchors/torch_gpt2.py}"
PY="${LOUPE_TORCH_PYTHON:-/usr/bin/python3}"
[ -f "$ANCHOR" ] || {
  echo "$(basename "$0" .sh): anchor not found at $ANCHOR (set LOUPE_GPT2_ANCHOR)" >&2
  exit 1
}

# anchor_model DIR [torch_gpt2.py save options]: writes a random HF GPT-2 folder to DIR once (cached across runs).
anchor_model() {
  local dir="$1"
  shift
  if [ ! -f "$dir/model.safetensors" ]; then
    mkdir -p "$(dirname "$dir")"
    "$PY" "$ANCHOR" save "$dir" "$@" >&2
  fi
}
