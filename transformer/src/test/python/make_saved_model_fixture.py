#!/usr/bin/env python3
"""Regenerates src/test/resources/fixtures/saved_gpt2/: a GPT-2 folder written by Loupe's Gpt2Model.save and the
logits that PyTorch (../shared/anchors/torch_gpt2.py, run with /usr/bin/python3 and torch) computes from it.
Gpt2SaveTest checks that our save still writes these exact bytes and that our forward pass matches torch's logits.

Run from the repository root after `mvn -o install -DskipTests` and `mvn -o test-compile -pl transformer`:
    python3 transformer/src/test/python/make_saved_model_fixture.py
"""
import glob
import json
import os
import subprocess
import tempfile

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
OUT = os.path.join(ROOT, "transformer", "src", "test", "resources", "fixtures", "saved_gpt2")
ANCHOR = os.path.join(ROOT, "..", "shared", "anchors", "torch_gpt2.py")
TOKENS = [3, 17, 42, 0, 63, 8, 8, 29, 51, 12]  # SavedModelFixture.TOKENS


def classpath():
    jars = [os.path.join(ROOT, m, "target", "classes") for m in ("tensor", "weights-loader", "transformer")]
    jars.append(os.path.join(ROOT, "transformer", "target", "test-classes"))
    jars += glob.glob(os.path.expanduser("~/.m2/repository/com/knuddels/jtokkit/*/*.jar"))
    return ":".join(jars)


def main():
    java = os.path.join(os.environ.get("JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64"), "bin", "java")
    os.makedirs(OUT, exist_ok=True)
    subprocess.run([java, "--add-modules", "jdk.incubator.vector", "-cp", classpath(),
                    "dev.loupe.transformer.gpt2.SavedModelFixture", OUT], check=True)
    with tempfile.TemporaryDirectory() as tmp:
        npy = os.path.join(tmp, "logits.npy")
        subprocess.run(["/usr/bin/python3", ANCHOR, "logits", "--model", OUT,
                        "--tokens", ",".join(map(str, TOKENS)), "--out", npy], check=True)
        logits = np.load(npy)
    with open(os.path.join(OUT, "torch_logits.json"), "w") as f:
        json.dump({"tokens": TOKENS, "logits": logits.astype(float).tolist()}, f)
    print("wrote", OUT, logits.shape)


if __name__ == "__main__":
    main()
