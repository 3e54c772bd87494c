"""
Smoothing for the int8 export (SmoothQuant, Xiao et al. 2023), folded into the float weights.

onnxruntime's dynamic quantization gives each matmul's input one scale for the whole pass. The
base's activations have a few channels hundreds of times larger than the rest, so that scale is
set by them and every other channel keeps a handful of levels: the int8 graph's logits wander by
several percent of the largest logit, and rows of a pass shift each other's results. Dividing
each input channel by s_j and multiplying the weights that read it by s_j changes nothing in
float arithmetic, but with s_j = max|x_j|^alpha / max|w_j|^(1 - alpha) the outliers move into the
weights, which are quantized per output column and take them well.

The division is folded into what produces the input, so the graph gains no node:
  q/k/v and gate/up read an RMSNorm's output: its weight is divided;
  down reads silu(gate) * up: up's output rows are divided;
  out reads the attention output: v's output rows are divided (one scale per key/value head
    channel, shared by that head's query heads, which all read it);
  the output head reads the final norm: its weight is divided (the head is untied at export).

  python training/smooth.py --adapter models/default/adapter.npz --out models/default/ranges.npz
measures the ranges on training examples (never on the benchmarks); export.py reads them.
"""
import argparse
import os

import numpy as np
import torch

# How far each scale moves toward the activations. Chosen by the int8 graph's next-token agreement
# with the float graph on this repository's own source files (6 files, 1536 positions; unsmoothed:
# 59%): 0.5: 77%, 0.6: 82%, 0.7: 85%, 0.78: 84%, 0.85: 83%.
ALPHA = 0.7
# A matmul whose input has a channel this many times its median channel stays in float: smoothing
# alone cannot tame it (two of the 211 in the default model, +5 MB; agreement 85% -> 88%).
FLOAT_ABOVE = 200
# The inputs worth a range: q, k and v read the same one, as do gate and up.
READS = ("attn.q", "attn.out", "mlp.gate", "mlp.down")


@torch.no_grad()
def activation_ranges(model, batches):
    """Per input channel, the largest |activation| each linear layer and the output head read."""
    ranges = {}

    def keep(name, x):
        m = x.detach().abs().reshape(-1, x.shape[-1]).amax(0)
        ranges[name] = torch.maximum(ranges[name], m) if name in ranges else m

    hooks = [m.register_forward_pre_hook(lambda mod, inp, name=name: keep(name, inp[0]))
             for name, m in model.named_modules() if isinstance(m, torch.nn.Linear)]
    hooks.append(model.norm.register_forward_hook(lambda mod, inp, out: keep("head", out)))
    try:
        for ids, pos, mask in batches:
            model.hidden(ids, pos, mask, *model.empty_past(ids.shape[0]))
    finally:
        for h in hooks:
            h.remove()
    return {k: v.numpy() for k, v in ranges.items()}


def _balance(act, w, alpha):
    """s = act^alpha / w^(1 - alpha) per channel, from the activation and weight ranges."""
    s = act.clamp(min=1e-5) ** alpha / w.clamp(min=1e-5) ** (1 - alpha)
    return s.clamp(min=1e-2, max=1e2)


def _scale(act, *weights, alpha=ALPHA):
    """s_j for input channel j, from the activation range and the largest weight reading it."""
    return _balance(act, torch.stack([x.abs().amax(0) for x in weights]).amax(0), alpha)


@torch.no_grad()
def smooth(model, ranges, alpha=ALPHA):
    """Rescales the model in place (unchanged in float). Returns the output head's scale per channel:
    the head is the embedding transposed, and the embedding itself must not be scaled."""
    r = {k: torch.as_tensor(v, dtype=torch.float32) for k, v in ranges.items()}
    c = model.cfg
    G, D = c.n_head // c.n_kv_head, c.head_dim
    for i, b in enumerate(model.blocks):
        a, m = b.attn, b.mlp
        s = _scale(r[f"blocks.{i}.attn.q"], a.q.weight, a.k.weight, a.v.weight, alpha=alpha)
        b.attn_norm.weight.div_(s)
        for lin in (a.q, a.k, a.v):
            lin.weight.mul_(s)
        s = _scale(r[f"blocks.{i}.mlp.gate"], m.gate.weight, m.up.weight, alpha=alpha)
        b.mlp_norm.weight.div_(s)
        for lin in (m.gate, m.up):
            lin.weight.mul_(s)
        s = _scale(r[f"blocks.{i}.mlp.down"], m.down.weight, alpha=alpha)
        m.up.weight.div_(s[:, None])
        m.down.weight.mul_(s)
        # out's input channel (h, d) is value channel (h // G, d): one scale per value channel.
        act = r[f"blocks.{i}.attn.out"].view(c.n_kv_head, G, D).amax(1)
        w = a.out.weight.abs().amax(0).view(c.n_kv_head, G, D).amax(1)
        s = _balance(act, w, alpha)
        a.v.weight.div_(s.reshape(-1)[:, None])
        a.out.weight.mul_(s[:, None, :].expand(c.n_kv_head, G, D).reshape(-1))
    s = _scale(r["head"], model.embed.weight, alpha=alpha)
    model.norm.weight.div_(s)
    return s


def float_matmuls(ranges):
    """Graph node names of the matmuls to leave unquantized (see FLOAT_ABOVE)."""
    readers = {"attn.q": ("attn/q", "attn/k", "attn/v"), "attn.out": ("attn/out",),
               "mlp.gate": ("mlp/gate", "mlp/up"), "mlp.down": ("mlp/down",)}
    out = []
    for name, r in ranges.items():
        if name != "head" and r.max() > FLOAT_ABOVE * np.median(r):
            i, read = name.split(".", 2)[1:]
            out += [f"/blocks.{i}/{node}/MatMul" for node in readers[read]]
    return sorted(out)


def calibration_batches(corpus, tokenizer_path, n_batches=6, batch_size=4, seed=7):
    """Inputs shaped as the engine meets them (causal contexts, decided blocks, blocks of the middle with
    some positions masked: the training rows of data.py), from the training corpus."""
    from tokenizers import Tokenizer
    from data import InfillExamples, read_texts
    examples = InfillExamples(read_texts(corpus, limit=2000), Tokenizer.from_file(tokenizer_path),
                              seed=seed)
    for _ in range(n_batches):
        ids, pos, mask, _ = examples.batch(batch_size)
        yield ids, pos, mask


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--adapter", required=True)
    ap.add_argument("--base-dir", default="training/data/base")
    ap.add_argument("--corpus", default="training/data/corpus/train.jsonl")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    from lora import materialize
    torch.manual_seed(0)
    model = materialize(args.base_dir, args.adapter).eval()
    ranges = activation_ranges(model, calibration_batches(args.corpus, os.path.join(args.base_dir, "tokenizer.json")))
    kept = {k: v for k, v in ranges.items() if k == "head" or k.endswith(READS)}
    np.savez_compressed(args.out, **{k: v.astype(np.float16) for k, v in kept.items()})
    top = sorted(((float(v.max() / np.median(v)), k) for k, v in ranges.items()), reverse=True)[:5]
    print("largest channel / median channel:", ", ".join(f"{k} {x:.0f}x" for x, k in top))


if __name__ == "__main__":
    main()
