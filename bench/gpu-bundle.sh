#!/usr/bin/env bash
# Builds a self-contained folder for a GPU machine that has the NVIDIA driver but no JDK, no Maven, no network:
#   runtime/    a jlink'ed Java 25 (java.base, jdk.incubator.vector and what JUnit needs)
#   lib/        loupe-tensor, loupe-kernels, loupe-weights-loader, loupe-transformer, JCuda and its driver binding
#               (the natives jar cut to libJCudaDriver), JCublas and its v2 binding (cut to libJCublas2)
#   test/       the kernels' test classes, the whole-model GPU test of transformer (Gpt2OnCudaTest and its three
#               helpers, not transformer's other tests), the GPT-2 device benchmark (Gpt2DeviceBench) and the JUnit
#               console launcher
#   src/main/   the kernel sources and shipped PTX (the PTX manifest and ABI tests read them)
#   run-gpu.sh  (bench/gpu/run-gpu.sh) probes the device, runs the GPU tests, the GEMM benchmark and the GPT-2
#               fwd/step, each beside PyTorch (torch_gpu.py, for the machine's python3), and writes summary.md
#               (summarize.py) with issue 8's ratios; see its header for the modes and $OUT
# and checks that the whole folder stays well under 64 MB.
#
#   bench/gpu-bundle.sh [OUT_DIR]      default: target/gpu-bundle (and target/gpu-bundle.tar.gz)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/target/gpu-bundle}"
limit_mb=56 # "well under 64 MB" (49 MB with the whole-model test and transformer jars)
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
jlink="$JAVA_HOME/bin/jlink"
junit_console_version=1.11.4 # the JUnit Platform of the root pom's junit 5.11.4

cd "$root"
# Reactor build of kernels, transformer and what they depend on (never `install`: ~/.m2 is shared); test classes
# compiled too. Only JCuda is copied: transformer's own dependencies (tokenizer data, bundled ONNX encoders) are not
# needed by the GPU test and would blow the size budget.
deps="$(mktemp -d)"; trap 'rm -rf "$deps"' EXIT
mvn -q -B -o package dependency:copy-dependencies -pl kernels,transformer -am -DskipTests \
    -DincludeScope=runtime -DincludeGroupIds=org.jcuda -DoutputDirectory="$deps"
mvn -q -B -o dependency:copy -Dartifact="org.junit.platform:junit-platform-console-standalone:$junit_console_version" \
    -DoutputDirectory="$deps/console" -Dmdep.useBaseVersion=true

rm -rf "$out"
mkdir -p "$out/lib" "$out/test" "$out/src"
cp tensor/target/loupe-tensor-*[0-9T].jar kernels/target/loupe-kernels-*[0-9T].jar \
   weights-loader/target/loupe-weights-loader-*[0-9T].jar transformer/target/loupe-transformer-*[0-9T].jar "$out/lib/"
cp "$deps"/jcuda-[0-9]*.jar "$deps"/jcublas-[0-9]*.jar "$out/lib/"
# The natives jar carries four libraries (26 MB); the backend uses only the driver API binding.
natives="$(ls "$deps"/jcuda-natives-*-linux-x86_64.jar)"
(cd "$deps" && mkdir -p nat && cd nat && unzip -q "$natives" 'lib/libJCudaDriver-*' && \
   zip -q -r "$out/lib/$(basename "$natives" .jar)-driver-only.jar" lib)
# JCublas's natives: only the cuBLAS v2 binding (it loads where libcublas.so.12 exists; loupe.cuda.gemm=auto).
blas_natives="$(ls "$deps"/jcublas-natives-*-linux-x86_64.jar)"
(cd "$deps" && mkdir -p blas && cd blas && unzip -q "$blas_natives" 'lib/libJCublas2-*' && \
   zip -q -r "$out/lib/$(basename "$blas_natives" .jar)-v2-only.jar" lib)
cp -r kernels/target/test-classes "$out/test/classes"
mkdir -p "$out/test/transformer-classes/dev/loupe/transformer/gpt2"
gpt2_classes=transformer/target/test-classes/dev/loupe/transformer/gpt2
for c in Gpt2OnCudaTest DeviceScenario DeviceTraining TestModels; do
  cp "$gpt2_classes/$c"*.class "$out/test/transformer-classes/dev/loupe/transformer/gpt2/"
done
# The GPT-2 device benchmark (not its test, which needs tensor's test-jar).
cp "$gpt2_classes"/Gpt2DeviceBench.class "$gpt2_classes"/Gpt2DeviceBench\$*.class \
   "$out/test/transformer-classes/dev/loupe/transformer/gpt2/"
cp "$deps"/console/junit-platform-console-standalone-*.jar "$out/test/"
cp -r kernels/src/main "$out/src/main"

# java.logging/java.xml/java.management: the JUnit console and its reports; jdk.unsupported: JCuda's buffers.
"$jlink" --add-modules java.base,jdk.incubator.vector,java.logging,java.xml,java.management,jdk.unsupported \
    --strip-debug --no-header-files --no-man-pages --compress=zip-9 --output "$out/runtime"
# The JVM ships with its symbol table (5 MB of libjvm.so); a runtime that only runs tests does not need it.
if command -v strip >/dev/null; then strip --strip-unneeded "$out/runtime/lib/server/libjvm.so"; fi

# The runner, the summary writer and the PyTorch side (bench/gpu/*, bench/torch_gpu.py).
cp bench/gpu/run-gpu.sh bench/gpu/summarize.py bench/torch_gpu.py "$out/"
chmod +x "$out/run-gpu.sh"

size_kb="$(du -sk "$out" | cut -f1)"
echo "gpu-bundle: $out is $((size_kb / 1024)) MB"
if (( size_kb > limit_mb * 1024 )); then
  echo "gpu-bundle: over the ${limit_mb} MB budget" >&2; exit 1
fi
tar -C "$(dirname "$out")" -czf "$out.tar.gz" "$(basename "$out")"
echo "gpu-bundle: $out.tar.gz is $(( $(stat -c %s "$out.tar.gz") / 1048576 )) MB; on the GPU machine: tar xzf, then $(basename "$out")/run-gpu.sh [all|tests|bench|gpt2]"
