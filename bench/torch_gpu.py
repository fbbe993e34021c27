#!/usr/bin/env python3
"""PyTorch on the same GPU as Loupe's device benchmarks (issue 8): the comparison lines.

  torch_gpu.py gemm [--iters 20] [--precisions FP32,TF32,BF16] [--shapes 8192x2304x768x1,...] [--device cuda]
      torch.matmul (cuBLAS) at GemmBenchmark's shapes (m x n x k x batch): FP32 with TF32 off, FP32 with TF32 on,
      and bfloat16 inputs (bf16 out, fp32 accumulation). Milliseconds per product from CUDA events, and TFLOP/s.
  torch_gpu.py gpt2 [--batch 8 --seq 1024 --layers 12 ...] [--precisions FP32,TF32] [--attention eager,sdpa]
      GPT-2 written with plain ops, as Loupe's Gpt2DeviceBench measures it: fwd = logits for every position under
      no_grad; step = forward, cross-entropy over all positions against random targets, backward, AdamW (lr 1e-4,
      weight decay 0.01 on matrices, none on vectors). "eager" attention is explicit q k^T, causal mask, softmax, v;
      "sdpa" uses F.scaled_dot_product_attention (fused; for information). Median of --reps runs after --warmup,
      each ended by reading a scalar back and torch.cuda.synchronize().

One JSON line per figure on stdout. --device cpu runs the same code on the CPU (tiny sizes, for checking the script
where there is no GPU; works with torch 1.13).
"""
import argparse
import json
import math
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError as e:  # a python3 without torch: say so in the results instead of a traceback
    print(json.dumps({"anchor": "pytorch", "skipped": "torch is not importable here: " + str(e)}))
    sys.exit(0)

GEMM_SHAPES = "8192x2304x768x1,8192x768x768x1,8192x3072x768x1,8192x768x3072x1,8192x50257x768x1,1024x1024x64x96"


def set_tf32(on):
    """TF32 for float32 matmuls on or off; the fp32_precision setting where this torch has it (2.9+)."""
    matmul = torch.backends.cuda.matmul
    try:
        matmul.fp32_precision = "tf32" if on else "ieee"
        return
    except (AttributeError, AssertionError):  # torch before 2.9 rejects the unknown name (1.13 with AssertionError)
        pass
    matmul.allow_tf32 = on


def base_line(dev):
    line = {"anchor": "pytorch-" + torch.__version__, "device": str(dev)}
    if dev.type == "cuda":
        line["device"] = torch.cuda.get_device_name(dev)
        line["cuda"] = torch.version.cuda
    return line


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def gemm(a, dev):
    shapes = [tuple(int(x) for x in s.split("x")) for s in a.shapes.split(",")]
    g = torch.Generator(device="cpu").manual_seed(1)
    for m, n, k, batch in shapes:
        x = torch.randn(batch, m, k, generator=g).to(dev)
        y = torch.randn(batch, k, n, generator=g).to(dev)
        if batch == 1:
            x, y = x[0], y[0]
        for p in a.precisions.split(","):
            set_tf32(p == "TF32")
            xs, ys = (x.bfloat16(), y.bfloat16()) if p == "BF16" else (x, y)
            ms = time_matmul(xs, ys, a.iters, dev)
            tflops = 2.0 * m * n * k * batch / (ms * 1e-3) / 1e12
            line = base_line(dev)
            line.update({"engine": "torch", "precision": p, "m": m, "n": n, "k": k, "batch": batch,
                         "ms": round(ms, 3), "tflops": round(tflops, 2)})
            print(json.dumps(line), flush=True)
            del xs, ys
    set_tf32(False)


def time_matmul(x, y, iters, dev):
    """Milliseconds per product after 3 warm-up products; CUDA events on a GPU, the wall clock on the CPU."""
    for _ in range(3):
        torch.matmul(x, y)
    sync(dev)
    if dev.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(iters):
            torch.matmul(x, y)
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / iters
    t = time.perf_counter()
    for _ in range(iters):
        torch.matmul(x, y)
    return (time.perf_counter() - t) * 1e3 / iters


class Gpt2:
    """GPT-2 (pre-LN, tanh GELU, tied unembedding) from plain ops; weights as leaf tensors, [in, out] matrices."""

    def __init__(self, layers, d, heads, vocab, ctx, dev, seed=0):
        g = torch.Generator(device="cpu").manual_seed(seed)

        def leaf(t):
            return t.to(dev).requires_grad_(True)

        def rnd(*shape):
            return leaf(torch.randn(*shape, generator=g) * 0.02)

        self.heads = heads
        self.wte, self.wpe = rnd(vocab, d), rnd(ctx, d)
        self.blocks = []
        for _ in range(layers):
            self.blocks.append({
                "ln1_w": leaf(torch.ones(d)), "ln1_b": leaf(torch.zeros(d)),
                "w_qkv": rnd(d, 3 * d), "b_qkv": leaf(torch.zeros(3 * d)),
                "w_o": rnd(d, d), "b_o": leaf(torch.zeros(d)),
                "ln2_w": leaf(torch.ones(d)), "ln2_b": leaf(torch.zeros(d)),
                "w_in": rnd(d, 4 * d), "b_in": leaf(torch.zeros(4 * d)),
                "w_out": rnd(4 * d, d), "b_out": leaf(torch.zeros(d)),
            })
        self.lnf_w, self.lnf_b = leaf(torch.ones(d)), leaf(torch.zeros(d))

    def params(self):
        out = [self.wte, self.wpe, self.lnf_w, self.lnf_b]
        for b in self.blocks:
            out.extend(b.values())
        return out

    def forward(self, idx, attention):
        """idx [batch, pos] -> logits [batch, pos, vocab]"""
        B, T = idx.shape
        d = self.wte.shape[1]
        H, dh = self.heads, d // self.heads
        x = self.wte[idx] + self.wpe[:T]
        causal = torch.ones(T, T, dtype=torch.bool, device=idx.device).triu(1)
        for b in self.blocks:
            h = F.layer_norm(x, (d,), b["ln1_w"], b["ln1_b"], 1e-5)
            qkv = h @ b["w_qkv"] + b["b_qkv"]
            q, k, v = (t.view(B, T, H, dh).transpose(1, 2) for t in qkv.split(d, dim=-1))
            if attention == "sdpa":
                z = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:
                scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(dh))
                z = scores.masked_fill(causal, float("-inf")).softmax(-1) @ v
            z = z.transpose(1, 2).reshape(B, T, d)
            x = x + z @ b["w_o"] + b["b_o"]
            h = F.layer_norm(x, (d,), b["ln2_w"], b["ln2_b"], 1e-5)
            h = F.gelu(h @ b["w_in"] + b["b_in"], approximate="tanh")
            x = x + h @ b["w_out"] + b["b_out"]
        x = F.layer_norm(x, (d,), self.lnf_w, self.lnf_b, 1e-5)
        return x @ self.wte.t()


def gpt2(a, dev):
    model = Gpt2(a.layers, a.d_model, a.heads, a.vocab, max(1024, a.seq), dev)
    g = torch.Generator(device="cpu").manual_seed(1)
    idx = torch.randint(0, a.vocab, (a.batch, a.seq), generator=g).to(dev)
    tgt = torch.randint(0, a.vocab, (a.batch * a.seq,), generator=g).to(dev)
    params = model.params()
    opt = torch.optim.AdamW([{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.01},
                             {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}], lr=1e-4)

    def fwd(attention):
        with torch.no_grad():
            return model.forward(idx, attention)[0, 0, 0].item()

    def step(attention):
        logits = model.forward(idx, attention)
        loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), tgt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    for p in a.precisions.split(","):
        set_tf32(p == "TF32")
        for attention in a.attention.split(","):
            for mode in a.cases.split(","):
                line = base_line(dev)
                line.update({"impl": "torch-" + attention, "mode": mode, "batch": a.batch, "seq": a.seq,
                             "layers": a.layers, "d_model": a.d_model, "vocab": a.vocab, "precision": p,
                             "reps": a.reps, "warmup": a.warmup})
                if attention == "sdpa" and not hasattr(F, "scaled_dot_product_attention"):
                    line["skipped"] = "this torch has no F.scaled_dot_product_attention"
                    print(json.dumps(line), flush=True)
                    continue
                once = fwd if mode == "fwd" else step
                line.update(measure(lambda: once(attention), a.reps, a.warmup, dev))
                line["tokens_per_s"] = round(a.batch * a.seq / (line["ms"] / 1e3))
                line["loss" if mode == "step" else "logit0"] = line.pop("value")
                print(json.dumps(line), flush=True)
    set_tf32(False)


def measure(once, reps, warmup, dev):
    for _ in range(warmup):
        once()
        sync(dev)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    times, value = [], None
    for _ in range(reps):
        t = time.perf_counter()
        value = once()  # reads a scalar back
        sync(dev)
        times.append(time.perf_counter() - t)
    times.sort()
    ms = times[len(times) // 2] * 1e3
    out = {"ms": round(ms, 2), "ms_min": round(times[0] * 1e3, 2),
           "value": value if math.isfinite(value) else "NaN"}
    if dev.type == "cuda":
        out["peak_device_mib"] = torch.cuda.max_memory_allocated(dev) >> 20
        out["peak_reserved_mib"] = torch.cuda.max_memory_reserved(dev) >> 20
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["gemm", "gpt2"])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--shapes", default=GEMM_SHAPES)
    ap.add_argument("--precisions")
    ap.add_argument("--attention", default="eager,sdpa")
    ap.add_argument("--cases", default="fwd,step")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=1024)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--d-model", type=int, default=768)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--vocab", type=int, default=50257)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    a = ap.parse_args()
    if a.precisions is None:
        a.precisions = "FP32,TF32,BF16" if a.mode == "gemm" else "FP32,TF32"
    dev = torch.device(a.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        print(json.dumps({"anchor": "pytorch-" + torch.__version__, "skipped": "torch sees no CUDA device"}))
        return 0
    torch.manual_seed(0)
    if a.mode == "gemm":
        gemm(a, dev)
    else:
        gpt2(a, dev)
    return 0


if __name__ == "__main__":
    sys.exit(main())
