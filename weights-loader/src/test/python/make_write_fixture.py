#!/usr/bin/env python3
"""Writes ../resources/fixtures/written.safetensors, the file SafeTensorsWriteTest expects SafeTensors.write to
produce byte for byte (run with any python3 that has numpy).

The layout follows the safetensors format description: 8-byte little-endian header length, compact JSON header
(__metadata__ first, then the tensors in order, each {"dtype", "shape", "data_offsets"}), spaces padding the header
to a multiple of 8 bytes, then the little-endian float32 data of each tensor in row-major order.
"""
import json
import os
import struct

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "fixtures", "written.safetensors")

# The Java test builds "a" as the transpose of a [3, 2] tensor, so that write must follow strides.
tensors = {
    "a": (np.arange(6, dtype=np.float32).reshape(3, 2) * 0.5 - 1.0).T,
    "b.bias": np.array([[1.5], [-2.25]], dtype=np.float32),
}
metadata = {"format": "pt", "note": "two tensors"}

header, blobs, offset = {"__metadata__": metadata}, [], 0
for name, t in tensors.items():
    raw = np.ascontiguousarray(t).astype("<f4").tobytes()
    header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
    blobs.append(raw)
    offset += len(raw)
text = json.dumps(header, separators=(",", ":")).encode()
text += b" " * (-len(text) % 8)
with open(OUT, "wb") as f:
    f.write(struct.pack("<Q", len(text)))
    f.write(text)
    for b in blobs:
        f.write(b)
print(OUT, os.path.getsize(OUT), "bytes")
