#!/usr/bin/env bash
# Loupe's GPU tests and issue 8's benchmarks beside PyTorch, with the bundled Java runtime; needs only the NVIDIA
# driver (and, for the comparison lines, a python3 with torch). Copied into target/gpu-bundle by bench/gpu-bundle.sh.
#   ./run-gpu.sh [all]      probe, tests, GEMM (Loupe, then torch.matmul), GPT-2 (Loupe, then PyTorch eager)
#   ./run-gpu.sh tests      probe + GPU tests
#   ./run-gpu.sh bench ...  probe + Loupe's GEMM benchmark (arguments go to it: --iters N --precision TF32 ...)
#   ./run-gpu.sh gpt2 ...   probe + Loupe's GPT-2 fwd/step (arguments go to Gpt2DeviceBench), then PyTorch's
# Results go to $OUT when it is set, else to results/ here: run.log (everything), probe.txt, tests.txt, gemm.jsonl,
# gpt2.jsonl and summary.md (rewritten after every part, so a run cut short still leaves one). Each part has a time
# limit, and all of them together stay under RUN_GPU_BUDGET seconds (default 540: the device tool allows 600).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here" # the PTX manifest test reads src/main relative to here
res="${OUT:-$here/results}"
mkdir -p "$res"
exec > >(tee -a "$res/run.log") 2>&1
deadline=$((SECONDS + ${RUN_GPU_BUDGET:-540}))
java="$here/runtime/bin/java"
cp="$(printf '%s:' "$here"/lib/*.jar)"
opts=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xss8m -Xmx8g)
what="${1:-all}"; [[ $# -gt 0 ]] && shift
status=0

# JCublas 12.x needs libcublas.so.12; a CUDA-13 machine may still carry one in a Python wheel (nvidia/*/lib).
cublas12=""
for d in $(python3 -c 'import site; print(" ".join(site.getsitepackages() + [site.getusersitepackages()]))' \
             2>/dev/null) /usr/local/cuda*/lib64 /usr/local/cuda*/targets/x86_64-linux/lib; do
  f="$(find "$d" -maxdepth 4 -name 'libcublas.so.12*' 2>/dev/null | head -1)"
  if [[ -n "$f" ]]; then cublas12="$(dirname "$f")"; break; fi
done
if [[ -n "$cublas12" ]]; then
  echo "run-gpu: libcublas.so.12 found in $cublas12; on LD_LIBRARY_PATH for JCublas"
  export LD_LIBRARY_PATH="$cublas12${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
else
  echo "run-gpu: no libcublas.so.12 here (JCublas cannot load); cuBLAS is compared through torch.matmul"
fi

# part LABEL LIMIT_S FILE CMD...: runs CMD under the smaller of LIMIT_S and the time left; keeps its stdout in FILE (a
# .jsonl: its JSON lines, the lines starting with '{', appended; a .txt: all of it), then rewrites the summary.
part() {
  local label="$1" limit="$2" file="$3"; shift 3
  local left=$((deadline - SECONDS))
  (( left < limit )) && limit=$left
  if (( limit < 10 )); then echo "run-gpu: no time left for $label"; status=1; return; fi
  echo "=== $label (limit ${limit}s, $((deadline - SECONDS))s left in all)"
  local tmp; tmp="$(mktemp)"
  timeout "$limit" "$@" | tee "$tmp"
  local rc=${PIPESTATUS[0]}
  if [[ "$file" == *.jsonl ]]; then grep '^{' "$tmp" >> "$res/$file"; else cat "$tmp" > "$res/$file"; fi
  rm -f "$tmp"
  (( rc == 124 )) && echo "run-gpu: $label timed out after ${limit}s"
  (( rc != 0 )) && status=$rc
  python3 "$here/summarize.py" "$res" 2>/dev/null || true
}

"$java" "${opts[@]}" -cp "$cp" dev.loupe.kernels.Cuda | tee "$res/probe.txt"
if grep -q '^no CUDA device' "$res/probe.txt"; then
  echo "run-gpu: NO USABLE CUDA DEVICE; the GPU tests will skip and the benchmarks print skipped lines"
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >> "$res/probe.txt" 2>/dev/null || true

if [[ "$what" == all || "$what" == tests ]]; then
  # loupe.cuda.sync: synchronise after every launch, so a faulting kernel is reported at the op that launched it.
  part "GPU tests" 240 tests.txt "$java" "${opts[@]}" -Dloupe.cuda.sync=true \
      -jar "$(ls "$here"/test/junit-platform-console-standalone-*.jar)" execute \
      --class-path "$cp$here/test/classes:$here/test/transformer-classes" \
      --scan-class-path "$here/test/classes" --scan-class-path "$here/test/transformer-classes" \
      --details=tree --disable-banner --disable-ansi-colors
fi
if [[ "$what" == all || "$what" == bench ]]; then
  part "Loupe GEMM" 100 gemm.jsonl "$java" "${opts[@]}" -cp "$cp" dev.loupe.kernels.GemmBenchmark "$@"
  [[ "$what" == all ]] && part "torch.matmul GEMM" 60 gemm.jsonl python3 "$here/torch_gpu.py" gemm
fi
if [[ "$what" == all || "$what" == gpt2 ]]; then
  gpt2_args=("$@"); [[ "$what" == all || $# -eq 0 ]] && gpt2_args=(--precision FP32 --precision TF32 --precision BF16)
  part "Loupe GPT-2 fwd/step" 200 gpt2.jsonl "$java" "${opts[@]}" -cp "$cp$here/test/transformer-classes" \
      dev.loupe.transformer.gpt2.Gpt2DeviceBench "${gpt2_args[@]}"
  part "PyTorch GPT-2 fwd/step" 90 gpt2.jsonl python3 "$here/torch_gpu.py" gpt2
fi
python3 "$here/summarize.py" "$res" && echo "run-gpu: results in $res (summary.md)"
exit $status
