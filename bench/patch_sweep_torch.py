#!/usr/bin/python3
"""The naive PyTorch activation-patching loop Loupe's incremental sweep is measured against.

  patch_sweep_torch.py --model DIR [--seq 15] [--differ-at K] [--reps 3]

A full hook_resid_pre layer x position denoising sweep of one prompt: for every (layer, pos), one complete forward
of the corrupted prompt with resid_pre[layer][:, pos] replaced by the clean run's, logits at every position (as
TransformerLens's run_with_hooks gives them), then the logit difference of two tokens at the last position. Uses the
weights and forward of ../shared/anchors/torch_gpt2.py (LOUPE_GPT2_ANCHOR overrides the path); the forward is the
anchor's with the patch added. Prints one JSON line, the median of R timed sweeps after one untimed.
Threads: ANCHOR_THREADS (default 2), as the anchor.
"""
import argparse
import importlib.util
import json
import math
import os
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ANCHOR = os.environ.get("LOUPE_GPT2_ANCHOR", os.path.join(HERE, "..", "..", "shared", "anchors", "torch_gpt2.py"))
spec = importlib.util.spec_from_file_location("torch_gpt2", ANCHOR)
anchor = importlib.util.module_from_spec(spec)
spec.loader.exec_module(anchor)  # sets torch's thread count from ANCHOR_THREADS


def forward(m, idx, patch=None, record=None):
    """idx [1, T] -> logits [1, T, vocab]; patch = (layer, pos, resid [1, T, C]) replaces resid_pre there;
    record (a list) receives every layer's resid_pre."""
    w, H = m.w, m.H
    B, T = idx.shape
    eps = m.cfg.get("layer_norm_epsilon", 1e-5)
    x = w["wte.weight"][idx] + w["wpe.weight"][:T]
    C = x.shape[-1]
    mask = torch.full((T, T), float("-inf")).triu(1)
    for i in range(m.L):
        if patch is not None and patch[0] == i:
            x = x.clone()
            x[:, patch[1]] = patch[2][:, patch[1]]
        if record is not None:
            record.append(x)
        p = f"h.{i}."
        h = F.layer_norm(x, (C,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = h @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
        q, k, v = qkv.split(C, dim=-1)
        q, k, v = (t.view(B, T, H, C // H).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // H) + mask
        z = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C)
        x = x + z @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        h = F.layer_norm(x, (C,), w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        h = F.gelu(h @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"], approximate="tanh")
        x = x + h @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    x = F.layer_norm(x, (C,), w["ln_f.weight"], w["ln_f.bias"], eps)
    return x @ w["wte.weight"].t()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--seq", type=int, default=15)
    ap.add_argument("--differ-at", type=int, default=-1)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    m = anchor.Gpt2.load(a.model)
    V = m.cfg["vocab_size"]
    g = torch.Generator().manual_seed(1)
    clean = torch.randint(0, V, (1, a.seq), generator=g)
    corrupt = clean.clone()
    k = a.seq // 2 if a.differ_at < 0 else a.differ_at
    corrupt[0, k] = (clean[0, k] + 1) % V
    answer, wrong = torch.randint(0, V, (2,), generator=g).tolist()
    times = []
    with torch.no_grad():
        resid = []
        forward(m, clean, record=resid)
        for r in range(a.reps + 1):
            t = time.perf_counter()
            grid = torch.empty(m.L, a.seq)
            for layer in range(m.L):
                for pos in range(a.seq):
                    logits = forward(m, corrupt, patch=(layer, pos, resid[layer]))
                    grid[layer, pos] = logits[0, -1, answer] - logits[0, -1, wrong]
            times.append(time.perf_counter() - t)
    times = sorted(times[1:])
    print(json.dumps({"bench": "patch-sweep", "method": f"torch-naive-{torch.get_num_threads()}t", "anchor": "pytorch-" + torch.__version__,
                      "layers": m.L, "seq": a.seq, "differ_at": k, "patches": m.L * a.seq, "threads": torch.get_num_threads(),
                      "ms": round(times[len(times) // 2] * 1e3, 1)}))


if __name__ == "__main__":
    main()
