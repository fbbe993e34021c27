#!/usr/bin/env bash
# MiniLM (all-MiniLM-L6-v2) sentence-embedding throughput: Loupe beside ONNX Runtime Java, same token ids, same process.
#   bench/minilm-vs-ort.sh [--batch 32] [--seq 64] [--warmup-s 8] [--rounds 5] [--calls 4] [--ort-threads 2]
# Builds the jmh module (which alone has ONNX Runtime on its classpath) and runs dev.loupe.jmh.MiniLmVsOrt with
# LOUPE_THREADS=2 unless set. Prints one JSON line per engine (median ms per batch, sentences/s), then the ratio
# (Loupe's sentences/s over ORT's).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
(cd "$ROOT" && mvn -B -q -o -Dstyle.color=never -DskipTests package -pl jmh -am) 2>&1 \
  | grep -v -E 'sun\.misc\.Unsafe|terminally deprecated|objectFieldOffset|reporting this|report this|^\s*$' >&2 || true
JAR="$ROOT/jmh/target/loupe-jmh-0.1.0-SNAPSHOT.jar"
[ -f "$JAR" ] || { echo "minilm-vs-ort: build failed (no $JAR)" >&2; exit 1; }
export LOUPE_THREADS="${LOUPE_THREADS:-2}"
exec "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xss8m \
  -cp "$JAR:$ROOT/jmh/target/lib/*" dev.loupe.jmh.MiniLmVsOrt "$@"
