#!/usr/bin/env python3
"""Writes summary.md for a run of run-gpu.sh: Loupe beside PyTorch on the same GPU, with issue 8's targets.

  summarize.py RESULTS_DIR      reads probe.txt, tests.txt, gemm.jsonl, gpt2.jsonl there (any may be missing),
                                writes RESULTS_DIR/summary.md
Targets: GEMM, Loupe's TFLOP/s >= 0.7 x cuBLAS's (torch.matmul, or JCublas where it loaded); GPT-2 training step,
Loupe's time <= PyTorch eager's (the plain-ops model at the same precision). Standard library only.
"""
import json
import os
import re
import sys

GEMM_TARGET = 0.7
STEP_TARGET = 1.0
ORDER = {"FP32": 0, "TF32": 1, "BF16": 2}


def lines(path):
    """The JSON objects of a JSON-lines file (other lines skipped)."""
    out = []
    if os.path.exists(path):
        for raw in open(path, encoding="utf-8", errors="replace"):
            raw = raw.strip()
            if raw.startswith("{"):
                try:
                    out.append(json.loads(raw))
                except ValueError:
                    pass
    return out


def text(path):
    return open(path, encoding="utf-8", errors="replace").read() if os.path.exists(path) else ""


def fmt(x, digits=2):
    return "-" if x is None else f"{x:.{digits}f}"


def verdict(ratio, target, higher_is_better):
    if ratio is None:
        return "no figure"
    met = ratio >= target if higher_is_better else ratio <= target
    return "met" if met else "NOT met"


def gemm_section(rows):
    out = ["## GEMM (TFLOP/s, higher is better)", ""]
    skipped = list(dict.fromkeys(r["skipped"] for r in rows if "skipped" in r))
    if skipped:
        out += [f"Skipped: {s}" for s in skipped] + [""]
    ours, torch_, jcublas = {}, {}, {}
    for r in rows:
        if "tflops" not in r:
            continue
        key = (r["m"], r["n"], r["k"], r["batch"], r["precision"])
        {"loupe": ours, "torch": torch_, "cublas": jcublas}.get(r.get("engine"), {})[key] = r["tflops"]
    if not ours and not torch_:
        return out + ["No GEMM figures.", ""]
    out += [f"Target: Loupe >= {GEMM_TARGET} x cuBLAS (torch.matmul; BF16 there has bf16 inputs and output).", "",
            "| m x n x k x batch | precision | Loupe | torch.matmul | Loupe / torch | target | JCublas |",
            "|---|---|---|---|---|---|---|"]
    for key in sorted(set(ours) | set(torch_), key=lambda k: (ORDER.get(k[4], 9), -k[0] * k[1] * k[2] * k[3])):
        a, b = ours.get(key), torch_.get(key)
        ratio = a / b if a is not None and b else None
        shape = "x".join(str(v) for v in key[:4])
        out.append(f"| {shape} | {key[4]} | {fmt(a)} | {fmt(b)} | {fmt(ratio)} | "
                   f"{verdict(ratio, GEMM_TARGET, True)} | {fmt(jcublas.get(key))} |")
    return out + [""]


def gpt2_section(rows):
    out = ["## GPT-2 small (median ms per run, lower is better)", ""]
    skipped = list(dict.fromkeys(f"{r.get('impl', r.get('anchor', '?'))}: {r['skipped']}"
                                 for r in rows if "skipped" in r))
    if skipped:
        out += [f"Skipped: {s}" for s in skipped] + [""]
    table = {}
    shape = None
    for r in rows:
        if "ms" not in r:
            continue
        impl = r.get("impl", "?")
        table.setdefault((r["mode"], r["precision"]), {})[impl] = r
        shape = shape or f"B={r['batch']} T={r['seq']}, {r['layers']} layers"
    if not table:
        return out + ["No GPT-2 figures.", ""]
    out += [f"{shape}. Target: the training step no slower than PyTorch eager (Loupe / eager <= {STEP_TARGET}).",
            "", "| case | precision | Loupe | torch eager | torch SDPA | Loupe / eager | target "
            "| Loupe peak MiB | torch peak MiB (alloc / reserved) |",
            "|---|---|---|---|---|---|---|---|---|"]
    for (mode, prec) in sorted(table, key=lambda k: (k[0] != "fwd", ORDER.get(k[1], 9))):
        c = table[(mode, prec)]
        ours, eager, sdpa = (c.get(i, {}).get("ms") for i in ("loupe", "torch-eager", "torch-sdpa"))
        ratio = ours / eager if ours is not None and eager else None
        target = verdict(ratio, STEP_TARGET, False) if mode == "step" else "(no target)"
        e = c.get("torch-eager", {})
        tpeak = f"{e['peak_device_mib']} / {e['peak_reserved_mib']}" if "peak_device_mib" in e else "-"
        out.append(f"| {mode} | {prec} | {fmt(ours, 1)} | {fmt(eager, 1)} | {fmt(sdpa, 1)} | {fmt(ratio)} | "
                   f"{target} | {c.get('loupe', {}).get('peak_device_mib', '-')} | {tpeak} |")
    return out + ["", "Loupe's peak is what its caching allocator held from the driver (blocks of unreachable "
                  "tensors count until a GC), so compare it with torch's reserved figure."]


def main():
    res = sys.argv[1] if len(sys.argv) > 1 else "."
    probe = text(os.path.join(res, "probe.txt")).strip()
    tests = text(os.path.join(res, "tests.txt"))
    out = ["# Loupe on the GPU beside PyTorch (issue 8)", ""]
    out += ["Probe:", "", "```", probe or "(no probe output)", "```", ""]
    counts = re.findall(r"\[\s*(\d+) tests (successful|failed|skipped|aborted)\s*\]", tests)
    if counts:
        out += ["Tests: " + ", ".join(f"{n} {what}" for n, what in counts)
                + " (aborted: skipped by an assumption, e.g. no device)", ""]
    elif tests:
        out += ["Tests: ran, no JUnit summary found (see tests.txt)", ""]
    torch_lines = [r for r in lines(os.path.join(res, "gemm.jsonl")) + lines(os.path.join(res, "gpt2.jsonl"))
                   if r.get("anchor", "").startswith("pytorch-")]
    if torch_lines:
        r = torch_lines[0]
        out += [f"PyTorch: {r['anchor']}, device {r.get('device', '?')}, CUDA {r.get('cuda', '?')}", ""]
    out += gemm_section(lines(os.path.join(res, "gemm.jsonl")))
    out += gpt2_section(lines(os.path.join(res, "gpt2.jsonl")))
    with open(os.path.join(res, "summary.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
