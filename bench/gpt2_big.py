#!/usr/bin/python3
"""Large random GPT-2 checkpoints without holding them twice in memory, for the GPT-2 XL run under -Xmx2g.

torch_gpt2.py's save keeps every weight plus its bytes in RAM and its logits reads the whole file then copies it,
about two copies of the model (13 GB for GPT-2 XL). This helper uses the anchor's model code and config, but
  save DIR --layers L --d-model D --heads H [--vocab V --ctx C --seed S]
      writes the safetensors header from the shapes first, then generates and writes one tensor at a time
      (same initialisation rule as the anchor: N(0, 0.02) matrices and biases, LayerNorm 1 / 0);
  logits --model DIR --tokens 1,2,3 [--out FILE.npy]
      maps the file (numpy memmap) and runs the anchor's forward on views of it: the page cache, not the heap,
      holds the weights.
Run with /usr/bin/python3 (torch 1.13).
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "anchors"))
import torch_gpt2 as tg  # noqa: E402


def shapes(cfg):
    C, V, T, L = cfg["n_embd"], cfg["vocab_size"], cfg["n_positions"], cfg["n_layer"]
    out = {"wte.weight": [V, C], "wpe.weight": [T, C], "ln_f.weight": [C], "ln_f.bias": [C]}
    for i in range(L):
        p = f"h.{i}."
        out.update({p + "ln_1.weight": [C], p + "ln_1.bias": [C], p + "ln_2.weight": [C], p + "ln_2.bias": [C],
                    p + "attn.c_attn.weight": [C, 3 * C], p + "attn.c_attn.bias": [3 * C],
                    p + "attn.c_proj.weight": [C, C], p + "attn.c_proj.bias": [C],
                    p + "mlp.c_fc.weight": [C, 4 * C], p + "mlp.c_fc.bias": [4 * C],
                    p + "mlp.c_proj.weight": [4 * C, C], p + "mlp.c_proj.bias": [C]})
    return out


def save(a):
    cfg = tg.config_from(a)
    sh = shapes(cfg)
    header, off = {}, 0
    for name, s in sh.items():
        n = 4 * int(np.prod(s))
        header[name] = {"dtype": "F32", "shape": s, "data_offsets": [off, off + n]}
        off += n
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    os.makedirs(a.dir, exist_ok=True)
    g = torch.Generator().manual_seed(a.seed)
    with open(os.path.join(a.dir, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for name, s in sh.items():
            if name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
                t = torch.ones(*s)
            elif name.endswith(("ln_1.bias", "ln_2.bias", "ln_f.bias")):
                t = torch.zeros(*s)
            else:
                t = torch.randn(*s, generator=g) * 0.02
            f.write(t.numpy().tobytes())
    json.dump(cfg, open(os.path.join(a.dir, "config.json"), "w"), indent=2)
    print(json.dumps({"saved": a.dir, "params": sum(int(np.prod(s)) for s in sh.values())}))


def logits(a):
    path = os.path.join(a.model, "model.safetensors")
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    raw = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    w = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        s, e = meta["data_offsets"]
        w[name] = torch.from_numpy(np.frombuffer(raw[s:e], dtype=np.float32).reshape(meta["shape"]))
    m = tg.Gpt2(json.load(open(os.path.join(a.model, "config.json"))), w)
    idx = torch.tensor([[int(t) for t in a.tokens.split(",")]])
    with torch.no_grad():
        out = m.forward(idx)[0].numpy()
    if a.out:
        np.save(a.out, out)
    else:
        print(json.dumps(out.tolist()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["save", "logits"])
    ap.add_argument("dir", nargs="?")
    ap.add_argument("--model")
    ap.add_argument("--layers", type=int, default=48)
    ap.add_argument("--d-model", type=int, default=1600)
    ap.add_argument("--heads", type=int, default=25)
    ap.add_argument("--vocab", type=int, default=50257)
    ap.add_argument("--ctx", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tokens")
    ap.add_argument("--out")
    a = ap.parse_args()
    save(a) if a.cmd == "save" else logits(a)


if __name__ == "__main__":
    main()
