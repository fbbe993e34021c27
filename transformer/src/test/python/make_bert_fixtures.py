"""Reference fixtures for the BERT tests: a tiny random BERT written from the equations in plain torch (no
`transformers`), saved as Hugging Face folders, and every activation, logit and gradient it computes.

Run with /usr/bin/python3 (torch 1.13) from the repository root:
    /usr/bin/python3 transformer/src/test/python/make_bert_fixtures.py
Writes transformer/src/test/resources/bert/:
  mlm/         config.json + model.safetensors (BertForMaskedLM names: bert. prefix, cls.predictions.*, the int64
               position_ids buffer, tied decoder left out)
  st/          sentence-transformers folder: pytorch_model.bin (BertModel names, no prefix, no MLM head), config.json,
               modules.json, 1_Pooling/config.json (max pooling), 2_Normalize
  tiny.onnx    the encoder exported by torch.onnx (opset 14), last_hidden_state output
  gpt2_like.onnx  a small non-BERT graph (embedding + linear) the ONNX loader must reject
  expected.safetensors   inputs, every hook point (TransformerLens names), logits, pooler, embeddings, the
               loss weights R, and gradients: "grad.<hook>" and "pgrad.<HF param name>" of
               L = sum(logits * R.logits) + sum(st_embedding * R.embedding) + sum(pooler * R.pooler)
"""
import json
import math
import os
import struct

import torch

torch.manual_seed(1234)
L, D, H, M, V, CTX, TYPES, EPS = 2, 16, 4, 32, 40, 12, 2, 1e-12
DH = D // H
OUT = os.path.join(os.path.dirname(__file__), "..", "resources", "bert")


def write_safetensors(path, tensors, extra_i64=None):
    header, blobs, offset = {}, [], 0
    items = [(k, v.detach().contiguous().float(), "F32") for k, v in tensors.items()]
    for k, v in (extra_i64 or {}).items():
        items.append((k, v.contiguous().long(), "I64"))
    for name, t, dtype in items:
        data = t.numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def rnd(*shape, std=0.3):
    return torch.randn(*shape) * std


# Hugging Face BertForMaskedLM parameters (Linear weights [out, in]), without the bert. prefix.
P = {
    "embeddings.word_embeddings.weight": rnd(V, D, std=1.0),
    "embeddings.position_embeddings.weight": rnd(CTX, D, std=0.5),
    "embeddings.token_type_embeddings.weight": rnd(TYPES, D, std=0.5),
    "embeddings.LayerNorm.weight": 1 + rnd(D, std=0.1),
    "embeddings.LayerNorm.bias": rnd(D, std=0.1),
}
for l in range(L):
    p = f"encoder.layer.{l}."
    for lin, (o, i) in {"attention.self.query": (D, D), "attention.self.key": (D, D),
                        "attention.self.value": (D, D), "attention.output.dense": (D, D),
                        "intermediate.dense": (M, D), "output.dense": (D, M)}.items():
        P[p + lin + ".weight"] = rnd(o, i, std=1 / math.sqrt(i))
        P[p + lin + ".bias"] = rnd(o, std=0.1)
    for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
        P[p + ln + ".weight"] = 1 + rnd(D, std=0.1)
        P[p + ln + ".bias"] = rnd(D, std=0.1)
P["pooler.dense.weight"] = rnd(D, D, std=0.25)
P["pooler.dense.bias"] = rnd(D, std=0.1)
MLM = {
    "cls.predictions.transform.dense.weight": rnd(D, D, std=0.25),
    "cls.predictions.transform.dense.bias": rnd(D, std=0.1),
    "cls.predictions.transform.LayerNorm.weight": 1 + rnd(D, std=0.1),
    "cls.predictions.transform.LayerNorm.bias": rnd(D, std=0.1),
    "cls.predictions.bias": rnd(V, std=0.1),
}
for t in list(P.values()) + list(MLM.values()):
    t.requires_grad_(True)

ACTS = {}


def hook(name, x):
    if x.requires_grad:
        x.retain_grad()
    ACTS[name] = x
    return x


def layer_norm(prefix, x, w, b):
    centered = x - x.mean(-1, keepdim=True)
    scale = hook(prefix + ".hook_scale", (centered.pow(2).mean(-1, keepdim=True) + EPS).sqrt())
    return hook(prefix + ".hook_normalized", centered / scale * w + b)


def linear(x, name, params=None):
    params = P if params is None else params
    return x @ params[name + ".weight"].t() + params[name + ".bias"]


def gelu(x):
    return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))


def encoder(ids, types, mask):
    b, p = ids.shape
    word = hook("embed.hook_embed", P["embeddings.word_embeddings.weight"][ids])
    pos = hook("embed.hook_pos_embed", P["embeddings.position_embeddings.weight"][torch.arange(p)].expand(b, p, D))
    typ = hook("embed.hook_token_type_embed", P["embeddings.token_type_embeddings.weight"][types])
    resid = layer_norm("embed.ln", word + pos + typ, P["embeddings.LayerNorm.weight"], P["embeddings.LayerNorm.bias"])
    resid = hook("hook_full_embed", resid)
    key_mask = torch.zeros(b, 1, 1, p).masked_fill((mask == 0).view(b, 1, 1, p), float("-inf"))
    for l in range(L):
        pre = f"encoder.layer.{l}."
        blk = f"blocks.{l}."
        resid = hook(blk + "hook_resid_pre", resid)
        q = hook(blk + "attn.hook_q", linear(resid, pre + "attention.self.query").view(b, p, H, DH))
        k = hook(blk + "attn.hook_k", linear(resid, pre + "attention.self.key").view(b, p, H, DH))
        v = hook(blk + "attn.hook_v", linear(resid, pre + "attention.self.value").view(b, p, H, DH))
        scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(DH) + key_mask
        scores = hook(blk + "attn.hook_attn_scores", scores)
        pattern = hook(blk + "attn.hook_pattern", scores.softmax(-1))
        z = hook(blk + "attn.hook_z", torch.einsum("bhqk,bkhd->bqhd", pattern, v))
        attn_out = hook(blk + "hook_attn_out", linear(z.reshape(b, p, D), pre + "attention.output.dense"))
        mid = hook(blk + "hook_resid_mid", resid + attn_out)
        x = layer_norm(blk + "ln1", mid, P[pre + "attention.output.LayerNorm.weight"],
                       P[pre + "attention.output.LayerNorm.bias"])
        h_pre = hook(blk + "mlp.hook_pre", linear(x, pre + "intermediate.dense"))
        h_post = hook(blk + "mlp.hook_post", gelu(h_pre))
        mlp_out = hook(blk + "hook_mlp_out", linear(h_post, pre + "output.dense"))
        resid_post = hook(blk + "hook_resid_post", x + mlp_out)
        out = layer_norm(blk + "ln2", resid_post, P[pre + "output.LayerNorm.weight"], P[pre + "output.LayerNorm.bias"])
        resid = hook(blk + "hook_normalized_resid_post", out)
    return resid


def mlm_logits(hidden):
    x = gelu(linear(hidden, "cls.predictions.transform.dense", MLM))
    x = layer_norm("mlm_head.ln", x, MLM["cls.predictions.transform.LayerNorm.weight"],
                   MLM["cls.predictions.transform.LayerNorm.bias"])
    return x @ P["embeddings.word_embeddings.weight"].t() + MLM["cls.predictions.bias"]


def main():
    os.makedirs(os.path.join(OUT, "mlm"), exist_ok=True)
    os.makedirs(os.path.join(OUT, "st", "1_Pooling"), exist_ok=True)
    os.makedirs(os.path.join(OUT, "st", "2_Normalize"), exist_ok=True)
    config = {"model_type": "bert", "architectures": ["BertForMaskedLM"], "num_hidden_layers": L, "hidden_size": D,
              "num_attention_heads": H, "intermediate_size": M, "vocab_size": V, "max_position_embeddings": CTX,
              "type_vocab_size": TYPES, "layer_norm_eps": EPS, "hidden_act": "gelu",
              "position_embedding_type": "absolute", "pad_token_id": 0}
    for folder in ("mlm", "st"):
        with open(os.path.join(OUT, folder, "config.json"), "w") as f:
            json.dump(config, f, indent=1)
    mlm_state = {"bert." + k: v for k, v in P.items()}
    mlm_state.update(MLM)
    write_safetensors(os.path.join(OUT, "mlm", "model.safetensors"), mlm_state,
                      {"bert.embeddings.position_ids": torch.arange(CTX).view(1, CTX)})
    st_state = {k: v.detach().clone() for k, v in P.items()}
    torch.save(st_state, os.path.join(OUT, "st", "pytorch_model.bin"))
    with open(os.path.join(OUT, "st", "modules.json"), "w") as f:
        json.dump([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                   {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                   {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}],
                  f, indent=1)
    with open(os.path.join(OUT, "st", "1_Pooling", "config.json"), "w") as f:
        json.dump({"word_embedding_dimension": D, "pooling_mode_cls_token": False,
                   "pooling_mode_mean_tokens": False, "pooling_mode_max_tokens": True,
                   "pooling_mode_mean_sqrt_len_tokens": False}, f, indent=1)

    ids = torch.tensor([[1, 7, 3, 39, 12, 5, 2], [1, 20, 33, 2, 0, 0, 0]])
    types = torch.tensor([[0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0]])
    hidden = encoder(ids, types, mask)
    pooler = hook("pooler.hook_pooler_out", linear(hidden[:, 0], "pooler.dense").tanh())
    # max pooling over real tokens (padding set to -1e9 first), then L2 normalisation
    pooled = hook("hook_pooled", hidden.masked_fill((mask == 0).unsqueeze(-1), -1e9).max(1).values)
    emb = hook("hook_normalized_embedding", pooled / pooled.norm(dim=-1, keepdim=True).clamp_min(1e-12))
    logits = mlm_logits(hidden)
    r_logits = torch.randn(logits.shape)
    r_emb = torch.randn(emb.shape)
    r_pooler = torch.randn(pooler.shape)
    loss = (logits * r_logits).sum() + (emb * r_emb).sum() + (pooler * r_pooler).sum()
    loss.backward()

    out = {"input.ids": ids.float(), "input.types": types.float(), "input.mask": mask.float(),
           "logits": logits, "pooler": pooler, "embedding": emb, "R.logits": r_logits, "R.embedding": r_emb, "R.pooler": r_pooler}
    for name, t in ACTS.items():
        out[name] = t
        if t.grad is not None:
            out["grad." + name] = t.grad
    for name, t in list(P.items()) + list(MLM.items()):
        out["pgrad." + name] = t.grad
    write_safetensors(os.path.join(OUT, "expected.safetensors"), out)

    # The encoder alone as ONNX, the way exporters write BERT: anonymous [in, out] MatMul weights, named biases.
    # Parameters must be module parameters (not traced constants) for the exporter to name them: rebuild the HF
    # module tree (encoder.layer.0.attention.self.query ...) holding copies, and run encoder() over those.
    class Encoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            for name, t in P.items():
                parts, m = name.split("."), self
                for part in parts[:-1]:
                    if part not in m._modules:
                        m.add_module(part, torch.nn.Module())
                    m = m._modules[part]
                m.register_parameter(parts[-1], torch.nn.Parameter(t.detach().clone()))

        def forward(self, input_ids, attention_mask, token_type_ids):
            global P
            saved, P = P, dict(self.named_parameters())
            try:
                return encoder(input_ids, token_type_ids, attention_mask)
            finally:
                P = saved

    with torch.no_grad():
        torch.onnx.export(Encoder(), (ids, mask, types), os.path.join(OUT, "tiny.onnx"),
                          input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["last_hidden_state"], opset_version=14,
                          dynamic_axes={n: {0: "batch", 1: "seq"} for n in
                                        ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")})

    # Not a BERT: a GPT-2-shaped graph (transformer.wte, a causal block's c_attn), for the loader's rejection test.
    class Gpt2Like(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = torch.nn.Embedding(V, D)
            self.c_attn = torch.nn.Linear(D, 3 * D)

        def forward(self, input_ids):
            return self.c_attn(self.wte(input_ids))

    with torch.no_grad():
        torch.onnx.export(Gpt2Like(), (ids,), os.path.join(OUT, "gpt2_like.onnx"), input_names=["input_ids"],
                          output_names=["logits"], opset_version=14)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
