#!/usr/bin/env python3
"""Writes the weights-loader test fixtures into ../resources/fixtures (run from anywhere, needs torch + numpy).

Every fixture has its reference values in expected.json, computed by torch (tensor.float().tolist()), so the Java
tests check our readers against torch's own view of the tensors. The safetensors files are written here from the
format description (8-byte LE header length, JSON header, LE data) because the safetensors package is not
installed; the .bin files come from torch.save itself. The tests never need torch.
"""
import collections
import io
import json
import os
import pickle
import struct
import zipfile

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "fixtures")
DTYPE = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}


def reference(tensors):
    return {k: {"dtype": DTYPE[v.dtype], "shape": list(v.shape),
                "values": v.float().flatten().tolist() if v.is_floating_point() else v.flatten().tolist()}
            for k, v in tensors.items()}


def write_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.contiguous()
        # raw little-endian bytes; bf16 has no numpy dtype, so view it as int16 first
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().astype(
            (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": DTYPE[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # pad so the data starts 8-aligned, as the reference writer does
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def main():
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(1234)
    expected = {}

    # --- safetensors: one of each float dtype, a scalar, an empty tensor, an I64 buffer
    st = collections.OrderedDict()
    st["wte.weight"] = torch.randn(5, 4, generator=g)
    st["ln.bias"] = torch.randn(4, generator=g).half()
    st["mlp.weight"] = torch.randn(3, 2, generator=g).bfloat16()
    st["scale"] = torch.tensor(0.125)
    st["empty"] = torch.zeros(0, 3)
    st["position_ids"] = torch.arange(6).reshape(1, 6)
    hf = os.path.join(OUT, "hf_safetensors")
    os.makedirs(hf, exist_ok=True)
    write_safetensors(os.path.join(hf, "model.safetensors"), st, {"format": "pt", "note": "fixture"})
    with open(os.path.join(hf, "config.json"), "w") as f:
        json.dump({"model_type": "gpt2", "n_layer": 2, "n_embd": 4, "layer_norm_epsilon": 1e-5,
                   "scale_attn_weights": True, "n_inner": None, "activation_function": "gelu_new",
                   "vocab_size": 5, "too_big": 3000000000, "eps_str": "1e-5"}, f, indent=2)
    expected["hf_safetensors/model.safetensors"] = reference(st)

    # --- sharded safetensors: two shards and an index
    sh = os.path.join(OUT, "hf_sharded")
    os.makedirs(sh, exist_ok=True)
    a = collections.OrderedDict(**{"h.0.w": torch.randn(2, 3, generator=g), "h.0.b": torch.randn(3, generator=g)})
    b = collections.OrderedDict(**{"h.1.w": torch.randn(2, 3, generator=g).half()})
    write_safetensors(os.path.join(sh, "model-00001-of-00002.safetensors"), a)
    write_safetensors(os.path.join(sh, "model-00002-of-00002.safetensors"), b)
    weight_map = {k: "model-00001-of-00002.safetensors" for k in a}
    weight_map.update({k: "model-00002-of-00002.safetensors" for k in b})
    with open(os.path.join(sh, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": 42}, "weight_map": weight_map}, f, indent=2)
    expected["hf_sharded"] = reference({**a, **b})

    # --- torch.save: views sharing storages, f16, bf16, tied weights, offset view, parameter, int buffer
    base = torch.randn(3, 4, generator=g)
    sd = collections.OrderedDict()
    sd["attn.c_attn.weight"] = base
    sd["attn.c_attn.weight_t"] = base.t()  # non-contiguous view of the same storage
    sd["row2"] = base[2]  # storage_offset 8
    sd["col1"] = base[:, 1]  # offset 1, stride 4
    sd["wte.weight"] = torch.randn(4, 2, generator=g)
    sd["lm_head.weight"] = sd["wte.weight"]  # tied: same tensor under two names
    sd["ln.weight"] = torch.randn(5, generator=g).half()
    sd["mlp.bf"] = torch.randn(2, 3, generator=g).bfloat16()
    sd["param"] = torch.nn.Parameter(torch.randn(2, generator=g))
    sd["position_ids"] = torch.arange(4).reshape(1, 4)
    sd._metadata = collections.OrderedDict({"": {"version": 1}})  # what nn.Module.state_dict() attaches
    hb = os.path.join(OUT, "hf_bin")
    os.makedirs(hb, exist_ok=True)
    torch.save(sd, os.path.join(hb, "pytorch_model.bin"))
    expected["hf_bin/pytorch_model.bin"] = reference({k: v.detach() for k, v in sd.items()})

    # the same archive re-zipped with DEFLATED entries (as a user's zip tool might)
    src = zipfile.ZipFile(os.path.join(hb, "pytorch_model.bin"))
    with zipfile.ZipFile(os.path.join(OUT, "deflated.bin"), "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info.filename, src.read(info.filename))

    # legacy (pre-1.6) format: a bare pickle stream, not a zip
    torch.save({"w": torch.ones(2)}, os.path.join(OUT, "legacy.bin"), _use_new_zipfile_serialization=False)

    # hostile pickles in an otherwise well-formed torch archive: dumping them runs nothing
    class System:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    class Eval:
        def __reduce__(self):
            import builtins
            return (builtins.eval, ("1+1",))

    for name, obj, proto in (("hostile_os_system.bin", {"w": System()}, 2),
                             ("hostile_eval_proto4.bin", {"w": Eval()}, 4)):
        with zipfile.ZipFile(os.path.join(OUT, name), "w", zipfile.ZIP_STORED) as z:
            z.writestr("archive/data.pkl", pickle.dumps(obj, protocol=proto))
            z.writestr("archive/version", "3\n")

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)


if __name__ == "__main__":
    main()
