#!/usr/bin/python3
"""Reference fixtures for the GPT-2 / GPT-Neo parity tests (run with /usr/bin/python3, torch 1.13).

An independent implementation of both architectures, written from the Hugging Face model definitions:
  GPT-2:   Conv1D weights [in, out]; q/k/v fused in c_attn with bias; scores / sqrt(d_head); gelu_new.
  GPT-Neo: nn.Linear weights [out, in]; q/k/v without bias; out_proj with bias; NO score scaling;
           layers alternate global / local attention, where a local query q sees keys j with q - window < j <= q.
Both run in float64 and record every TransformerLens hook point with TransformerLens semantics (LayerNorm
hook_scale = sqrt(var + eps) [b, p, 1], hook_normalized after the affine map; hook_attn_scores after masking
with -inf; hook_result = z_h @ W_O[h]; hook_attn_out includes b_O ...), then take the gradient of
loss = mean next-token cross-entropy over every position of both rows with respect to every parameter and every
hook point.

Writes, under transformer/src/test/resources/fixtures/:
  gpt2/model/        config.json + model.safetensors (names without the "transformer." prefix, as the hub's gpt2)
  gpt2/f16/, bf16/   the same weights rounded to float16 / bfloat16 (stored in that dtype)
  gpt2/bin/          pytorch_model.bin from torch.save(state_dict): "transformer." names, attn.bias and
                     attn.masked_bias buffers, lm_head.weight sharing wte's storage
  gpt2/sharded/      model.safetensors.index.json + two shards, "transformer." names
  gpt2/expected.safetensors   tokens, logits, logits_f16, logits_bf16, every hook "<name>", "grad:<param>",
                              "grad:<hook>"
  gptneo/model/      config.json + model.safetensors ("transformer." names, as GPTNeoForCausalLM saves)
  gptneo/expected.safetensors
"""
import json
import math
import os
import shutil
import struct

import numpy as np
import torch

torch.set_num_threads(1)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "resources", "fixtures")

BATCH, SEQ = 2, 8


# ---------------------------------------------------------------------------------------------- safetensors

def write_safetensors(path, tensors, dtype="F32"):
    """Our own writer: 8-byte little-endian header length, JSON header (padded with spaces to 8), raw data."""
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        if dtype == "F32":
            b = t.to(torch.float32).numpy().tobytes()
        elif dtype == "F16":
            b = t.to(torch.float16).numpy().tobytes()
        elif dtype == "BF16":
            b = t.to(torch.bfloat16).view(torch.int16).numpy().tobytes()
        else:
            raise ValueError(dtype)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def write_config(folder, cfg):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")


# ---------------------------------------------------------------------------------------------- configs

def gpt2_config(dtype="float32"):
    # The keys GPT2Config.save_pretrained writes (transformers 4.x), n_inner left null (= 4 * n_embd).
    return {
        "activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1,
        "bos_token_id": 63, "embd_pdrop": 0.1, "eos_token_id": 63, "initializer_range": 0.02,
        "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": 16, "n_embd": 16, "n_head": 4,
        "n_inner": None, "n_layer": 2, "n_positions": 16, "reorder_and_upcast_attn": False, "resid_pdrop": 0.1,
        "scale_attn_by_inverse_layer_idx": False, "scale_attn_weights": True, "summary_activation": None,
        "summary_first_dropout": 0.1, "summary_proj_to_labels": True, "summary_type": "cls_index",
        "summary_use_proj": True, "torch_dtype": dtype, "transformers_version": "4.30.2", "use_cache": True,
        "vocab_size": 64,
    }


def neo_config():
    # The keys GPTNeoConfig.save_pretrained writes; attention_types expands to global, local, global.
    return {
        "activation_function": "gelu_new", "architectures": ["GPTNeoForCausalLM"], "attention_dropout": 0.0,
        "attention_layers": ["global", "local", "global"],
        "attention_types": [[["global", "local"], 1], [["global"], 1]],
        "bos_token_id": 63, "classifier_dropout": 0.1, "embed_dropout": 0.0, "eos_token_id": 63,
        "gradient_checkpointing": False, "hidden_size": 16, "initializer_range": 0.02, "intermediate_size": 48,
        "layer_norm_epsilon": 1e-05, "max_position_embeddings": 16, "model_type": "gpt_neo", "num_heads": 4,
        "num_layers": 3, "resid_dropout": 0.0, "summary_activation": None, "summary_first_dropout": 0.1,
        "summary_proj_to_labels": True, "summary_type": "cls_index", "summary_use_proj": True,
        "torch_dtype": "float32", "transformers_version": "4.30.2", "use_cache": True, "vocab_size": 64,
        "window_size": 3,
    }


# ---------------------------------------------------------------------------------------------- random weights

def random_weights(g, family, cfg):
    """Float32 state dict with the family's real names (no prefix). LayerNorm weights around 1, every bias and
    LayerNorm bias non-zero, matrices at about 1/sqrt(fan_in) so activations are O(1)."""
    if family == "gpt2":
        d, L, V, T, m = cfg["n_embd"], cfg["n_layer"], cfg["vocab_size"], cfg["n_positions"], 4 * cfg["n_embd"]
    else:
        d, L, V, T, m = (cfg["hidden_size"], cfg["num_layers"], cfg["vocab_size"], cfg["max_position_embeddings"],
                         cfg["intermediate_size"])
    mat = lambda *s: torch.randn(*s, generator=g) / math.sqrt(s[0] if family == "gpt2" else s[1])
    bias = lambda n: 0.2 * torch.randn(n, generator=g)
    lnw = lambda: 1.0 + 0.3 * torch.randn(d, generator=g)
    w = {"wte.weight": torch.randn(V, d, generator=g), "wpe.weight": 0.5 * torch.randn(T, d, generator=g)}
    for l in range(L):
        p = "h.%d." % l
        w[p + "ln_1.weight"], w[p + "ln_1.bias"] = lnw(), bias(d)
        if family == "gpt2":
            w[p + "attn.c_attn.weight"], w[p + "attn.c_attn.bias"] = mat(d, 3 * d), bias(3 * d)
            w[p + "attn.c_proj.weight"], w[p + "attn.c_proj.bias"] = mat(d, d), bias(d)
        else:
            a = p + "attn.attention."
            for n in ("k_proj", "v_proj", "q_proj"):
                w[a + n + ".weight"] = 1.5 * mat(d, d)  # unscaled scores: keep them O(1) anyway
            w[a + "out_proj.weight"], w[a + "out_proj.bias"] = mat(d, d), bias(d)
        w[p + "ln_2.weight"], w[p + "ln_2.bias"] = lnw(), bias(d)
        if family == "gpt2":
            w[p + "mlp.c_fc.weight"], w[p + "mlp.c_proj.weight"] = mat(d, m), mat(m, d)
        else:
            w[p + "mlp.c_fc.weight"], w[p + "mlp.c_proj.weight"] = mat(m, d), mat(d, m)
        w[p + "mlp.c_fc.bias"], w[p + "mlp.c_proj.bias"] = bias(m), bias(d)
    w["ln_f.weight"], w["ln_f.bias"] = lnw(), bias(d)
    return {k: v.to(torch.float32).contiguous() for k, v in w.items()}


# ---------------------------------------------------------------------------------------------- the model

def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


class Recorder:
    """Hook points: each is a fresh node (clone) that keeps its gradient, so every point has its own."""

    def __init__(self, keep=None):  # keep: predicate on names, None for all
        self.acts, self.keep = {}, keep

    def __call__(self, name, x):
        if self.keep is not None and not self.keep(name):
            return x
        y = x.clone()
        y.retain_grad()
        self.acts[name] = y
        return y


def layer_norm(rec, prefix, x, w, b, eps):
    """TransformerLens LayerNorm: hook_scale = sqrt(var + eps) [.., 1]; hook_normalized after the affine map."""
    x = x - x.mean(-1, keepdim=True)
    scale = rec(prefix + ".hook_scale", (x.pow(2).mean(-1, keepdim=True) + eps).sqrt())
    return rec(prefix + ".hook_normalized", x / scale * w + b)


def forward(family, cfg, P, tokens, rec, split_qkv_input=False):
    """P: float64 parameters (requires_grad) by their unprefixed HF names. Returns logits [b, p, vocab]."""
    if family == "gpt2":
        L, H, eps = cfg["n_layer"], cfg["n_head"], cfg["layer_norm_epsilon"]
        kinds = ["global"] * L
    else:
        L, H, eps = cfg["num_layers"], cfg["num_heads"], cfg["layer_norm_epsilon"]
        kinds = cfg["attention_layers"]
    b, p = tokens.shape
    d = P["wte.weight"].shape[1]
    dh = d // H
    positions = torch.arange(p).unsqueeze(0).expand(b, p)
    resid = rec("hook_embed", P["wte.weight"][tokens]) + rec("hook_pos_embed", P["wpe.weight"][positions])

    i = torch.arange(p).unsqueeze(1)
    j = torch.arange(p).unsqueeze(0)
    causal = j <= i
    local = causal & (j > i - cfg.get("window_size", 0))

    for l in range(L):
        pre = "blocks.%d." % l
        hp = "h.%d." % l
        resid = rec(pre + "hook_resid_pre", resid)
        # Per-head q/k/v weights [h, d_model, d_head] and biases [h, d_head].
        if family == "gpt2":
            Wqkv, bqkv = P[hp + "attn.c_attn.weight"], P[hp + "attn.c_attn.bias"]
            Ws = [Wqkv[:, c * d:(c + 1) * d].reshape(d, H, dh).permute(1, 0, 2) for c in range(3)]
            bs = [bqkv[c * d:(c + 1) * d].reshape(H, dh) for c in range(3)]
            W_O = P[hp + "attn.c_proj.weight"].reshape(H, dh, d)
            b_O = P[hp + "attn.c_proj.bias"]
        else:
            a = hp + "attn.attention."
            Ws = [P[a + n + ".weight"].t().reshape(d, H, dh).permute(1, 0, 2) for n in ("q_proj", "k_proj", "v_proj")]
            bs = [torch.zeros(H, dh, dtype=torch.float64)] * 3
            W_O = P[a + "out_proj.weight"].t().reshape(H, dh, d)
            b_O = P[a + "out_proj.bias"]
        if split_qkv_input:
            # TransformerLens use_split_qkv_input: one copy of the residual stream per head for each of q, k, v.
            ins = [rec(pre + "hook_%s_input" % n, resid.unsqueeze(2).expand(b, p, H, d)) for n in "qkv"]
            xs = [layer_norm(rec, pre + "ln1", x, P[hp + "ln_1.weight"], P[hp + "ln_1.bias"], eps) for x in ins]
            q, k, v = [torch.einsum("bphm,hmd->bphd", xs[c], Ws[c]) + bs[c] for c in range(3)]
        else:
            x = layer_norm(rec, pre + "ln1", resid, P[hp + "ln_1.weight"], P[hp + "ln_1.bias"], eps)
            q, k, v = [torch.einsum("bpm,hmd->bphd", x, Ws[c]) + bs[c] for c in range(3)]
        q = rec(pre + "attn.hook_q", q)
        k = rec(pre + "attn.hook_k", k)
        v = rec(pre + "attn.hook_v", v)
        scores = torch.einsum("bqhd,bkhd->bhqk", q, k)
        if family == "gpt2":
            scores = scores / math.sqrt(dh)
        allowed = local if kinds[l] == "local" else causal
        scores = torch.where(allowed, scores, torch.tensor(float("-inf"), dtype=torch.float64))
        scores = rec(pre + "attn.hook_attn_scores", scores)
        pattern = rec(pre + "attn.hook_pattern", torch.softmax(scores, dim=-1))
        z = rec(pre + "attn.hook_z", torch.einsum("bhqk,bkhd->bqhd", pattern, v))
        result = rec(pre + "attn.hook_result", torch.einsum("bqhd,hdm->bqhm", z, W_O))
        attn_out = rec(pre + "hook_attn_out", result.sum(2) + b_O)
        mid = rec(pre + "hook_resid_mid", resid + attn_out)
        # TransformerLens use_hook_mlp_in: the MLP reads its own copy of resid_mid.
        mlp_in = rec(pre + "hook_mlp_in", mid.clone())
        x = layer_norm(rec, pre + "ln2", mlp_in, P[hp + "ln_2.weight"], P[hp + "ln_2.bias"], eps)
        W_in, W_out = P[hp + "mlp.c_fc.weight"], P[hp + "mlp.c_proj.weight"]
        if family != "gpt2":
            W_in, W_out = W_in.t(), W_out.t()
        h_pre = rec(pre + "mlp.hook_pre", x @ W_in + P[hp + "mlp.c_fc.bias"])
        h_post = rec(pre + "mlp.hook_post", gelu_new(h_pre))
        mlp_out = rec(pre + "hook_mlp_out", h_post @ W_out + P[hp + "mlp.c_proj.bias"])
        resid = rec(pre + "hook_resid_post", mid + mlp_out)
    x = layer_norm(rec, "ln_final", resid, P["ln_f.weight"], P["ln_f.bias"], eps)
    return x @ P["wte.weight"].t()  # tied unembedding


def loss_of(logits, tokens):
    """Mean next-token cross-entropy over every position of every row."""
    V = logits.shape[-1]
    return torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, V), tokens[:, 1:].reshape(-1))


def reference(family, cfg, weights, tokens):
    """Logits, activations and gradients (float64) of one batch; returns a dict of float32 tensors to store."""
    P = {k: v.to(torch.float64).clone().requires_grad_(True) for k, v in weights.items()}
    rec = Recorder()
    logits = forward(family, cfg, P, tokens, rec)
    loss = loss_of(logits, tokens)
    loss.backward()
    out = {"tokens": tokens.to(torch.float32), "logits": logits.detach(), "loss": loss.detach().reshape(1)}
    for name, a in rec.acts.items():
        out[name] = a.detach()
        out["grad:" + name] = a.grad
    for name, p in P.items():
        out["grad:" + name] = p.grad

    # The split-input form (hook_q_input / k_input / v_input [b, p, head, d_model]): same function, one more copy
    # of the residual per head, so only the three new points come from this pass.
    P2 = {k: v.to(torch.float64).clone().requires_grad_(True) for k, v in weights.items()}
    rec2 = Recorder(keep=lambda name: name.endswith("_input"))
    logits2 = forward(family, cfg, P2, tokens, rec2, split_qkv_input=True)
    assert torch.allclose(logits2, logits, rtol=0, atol=1e-10)
    loss_of(logits2, tokens).backward()
    for name, a in rec2.acts.items():
        out[name] = a.detach()
        out["grad:" + name] = a.grad
    return out


def logits_only(family, cfg, weights, tokens):
    P = {k: v.to(torch.float64) for k, v in weights.items()}
    with torch.no_grad():
        return forward(family, cfg, P, tokens, Recorder(keep=lambda name: False))


# ---------------------------------------------------------------------------------------------- fixtures

def fresh(folder):
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)


def make_gpt2():
    root = os.path.join(OUT, "gpt2")
    fresh(root)
    cfg = gpt2_config()
    g = torch.Generator().manual_seed(20240611)
    w = random_weights(g, "gpt2", cfg)
    tokens = torch.randint(0, cfg["vocab_size"], (BATCH, SEQ), generator=g)

    write_config(os.path.join(root, "model"), cfg)
    write_safetensors(os.path.join(root, "model", "model.safetensors"), w)

    expected = reference("gpt2", cfg, w, tokens)
    # Reduced-precision copies: the reference is the float64 model over the rounded weights.
    for tag, torch_dtype, st in (("f16", torch.float16, "F16"), ("bf16", torch.bfloat16, "BF16")):
        folder = os.path.join(root, tag)
        write_config(folder, gpt2_config("float16" if tag == "f16" else "bfloat16"))
        write_safetensors(os.path.join(folder, "model.safetensors"), w, st)
        rounded = {k: v.to(torch_dtype).to(torch.float32) for k, v in w.items()}
        expected["logits_" + tag] = logits_only("gpt2", cfg, rounded, tokens)

    # torch.save of a GPT2LMHeadModel-style state dict: prefixed names, mask buffers, lm_head tied to wte.
    folder = os.path.join(root, "bin")
    write_config(folder, cfg)
    sd = {}
    n = cfg["n_positions"]
    for k, v in w.items():
        sd["transformer." + k] = v.clone()
        if k.endswith("attn.c_attn.weight"):
            block = "transformer." + k[: -len("c_attn.weight")]
            sd[block + "bias"] = torch.tril(torch.ones(n, n, dtype=torch.bool)).view(1, 1, n, n)
            sd[block + "masked_bias"] = torch.tensor(-1e4)
    sd["lm_head.weight"] = sd["transformer.wte.weight"]  # the same tensor: one storage in the pickle
    torch.save(sd, os.path.join(folder, "pytorch_model.bin"))

    # Two shards with an index, prefixed names.
    folder = os.path.join(root, "sharded")
    write_config(folder, cfg)
    names = list(w.keys())
    half = len(names) // 2
    weight_map, total = {}, 0
    for i, part in enumerate((names[:half], names[half:])):
        file = "model-%05d-of-00002.safetensors" % (i + 1)
        write_safetensors(os.path.join(folder, file), {"transformer." + k: w[k] for k in part})
        for k in part:
            weight_map["transformer." + k] = file
            total += 4 * w[k].numel()
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)

    write_safetensors(os.path.join(root, "expected.safetensors"), expected)


def make_neo():
    root = os.path.join(OUT, "gptneo")
    fresh(root)
    cfg = neo_config()
    g = torch.Generator().manual_seed(77)
    w = random_weights(g, "neo", cfg)
    tokens = torch.randint(0, cfg["vocab_size"], (BATCH, SEQ), generator=g)
    write_config(os.path.join(root, "model"), cfg)
    write_safetensors(os.path.join(root, "model", "model.safetensors"), {"transformer." + k: v for k, v in w.items()})
    expected = reference("neo", cfg, w, tokens)
    # Parameter gradients under the names the file uses.
    expected = {("grad:transformer." + k[5:] if k[5:] in w else k): v for k, v in expected.items()}
    write_safetensors(os.path.join(root, "expected.safetensors"), expected)


if __name__ == "__main__":
    make_gpt2()
    make_neo()
    total = 0
    for dirpath, _, files in os.walk(OUT):
        for f in files:
            if dirpath.startswith(os.path.join(OUT, "gpt")):
                total += os.path.getsize(os.path.join(dirpath, f))
    print("fixtures written, %d bytes" % total)
