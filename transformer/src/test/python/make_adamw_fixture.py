#!/usr/bin/python3
"""Writes optimizer_fixture.json: a small fixed problem run through torch.optim.AdamW and torch.optim.SGD, the
reference for dev.loupe.transformer.train.AdamWTest / SgdTest.

Five parameters play the roles an optimizer meets in a transformer: weight matrices "w" [4, 3] and "wide" [7, 9]
(63 elements: several SIMD vectors and a ragged tail), a bias "b" [3], an embedding "emb" [5, 3] and a LayerNorm
weight "ln" [3]. Decay goes to the two matrices only (the embedding is 2-D but exempted by name, as the Java test's
grouping does). Five steps, each with a fixed seeded gradient per parameter (and one step
where "b" has no gradient, which both optimizers must skip). Values are written as float32 numbers.

Run: /usr/bin/python3 transformer/src/test/python/make_adamw_fixture.py   (torch 1.13)
"""
import json
import os

import torch

STEPS = 5
SHAPES = {"w": [4, 3], "b": [3], "emb": [5, 3], "ln": [3], "wide": [7, 9]}
DECAY = ["w", "wide"]
SKIP = {2: "b"}  # step index -> parameter without a gradient on that step


def problem():
    g = torch.Generator().manual_seed(7)
    init = {n: torch.randn(*s, generator=g) for n, s in SHAPES.items()}
    grads = [{n: torch.randn(*s, generator=g) for n, s in SHAPES.items()} for _ in range(STEPS)]
    return init, grads


def run(make_opt, init, grads):
    params = {n: torch.nn.Parameter(t.clone()) for n, t in init.items()}
    opt = make_opt([params[n] for n in DECAY], [params[n] for n in SHAPES if n not in DECAY])
    history = []
    for s in range(STEPS):
        for n, p in params.items():
            p.grad = None if SKIP.get(s) == n else grads[s][n].clone()
        opt.step()
        history.append({n: p.detach().reshape(-1).tolist() for n, p in params.items()})
    return history


def main():
    init, grads = problem()
    adamw = dict(lr=0.05, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.3)
    sgd = dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.05)
    out = {
        "steps": STEPS,
        "shapes": SHAPES,
        "decay": DECAY,
        "skip": {str(k): v for k, v in SKIP.items()},
        "init": {n: t.reshape(-1).tolist() for n, t in init.items()},
        "grads": [{n: t.reshape(-1).tolist() for n, t in g.items()} for g in grads],
        "adamw": {"options": {"lr": adamw["lr"], "beta1": adamw["betas"][0], "beta2": adamw["betas"][1],
                              "eps": adamw["eps"], "weight_decay": adamw["weight_decay"]},
                  "params": run(lambda d, nd: torch.optim.AdamW(
                      [{"params": d}, {"params": nd, "weight_decay": 0.0}], **adamw), init, grads)},
        "sgd": {"options": sgd,
                "params": run(lambda d, nd: torch.optim.SGD(
                    [{"params": d}, {"params": nd, "weight_decay": 0.0}], **sgd), init, grads)},
        "torch": torch.__version__,
    }
    path = os.path.join(os.path.dirname(__file__), "..", "resources", "fixtures", "optimizer_fixture.json")
    with open(path, "w") as f:
        json.dump(out, f)
    print("wrote", os.path.normpath(path))


if __name__ == "__main__":
    main()
