"""
The reference infill sampler in PyTorch: LLaDA's semi-autoregressive block sampling
with low-confidence remasking, on the canvas between prefix and suffix. The product's
TypeScript sampler (model-host/src/sampler.ts) implements the same algorithm; this
one is for evaluating checkpoints during training.
"""
import torch


def tokens_per_step(n_masked, steps):
    """Spread n_masked commits as evenly as possible over steps (earlier steps take the remainder)."""
    base, extra = divmod(n_masked, steps)
    return [base + (1 if i < extra else 0) for i in range(steps)]


@torch.no_grad()
def infill(model, prefix, suffix, specials, canvas=24, steps=24, block_length=8):
    """Greedy fill of `canvas` masked tokens; returns the canvas ids up to the first <|pad|>."""
    mask_id, pad_id = specials["mask"], specials["pad"]
    ids = torch.tensor([[specials["bos"], *prefix, *([mask_id] * canvas), *suffix, specials["eos"]]])
    start = 1 + len(prefix)
    n = ids.shape[1]
    positions = torch.arange(n).unsqueeze(0)
    attend = torch.ones(1, n, dtype=torch.long)
    empty = model.empty_past(1)
    n_blocks = (canvas + block_length - 1) // block_length
    steps_per_block = max(1, steps // n_blocks)
    for b in range(n_blocks):
        lo, hi = start + b * block_length, min(start + canvas, start + (b + 1) * block_length)
        plan = tokens_per_step(int((ids[0, lo:hi] == mask_id).sum()), steps_per_block)
        for k in plan:
            if k == 0:
                continue
            logits, _, _ = model(ids, positions, attend, *empty)
            probs = torch.softmax(logits[0, lo:hi].float(), dim=-1)
            conf, pred = probs.max(-1)
            still = ids[0, lo:hi] == mask_id
            conf = torch.where(still, conf, torch.full_like(conf, -1.0))
            keep = conf.topk(k).indices
            ids[0, lo + keep] = pred[keep]
    out = ids[0, start:start + canvas].tolist()
    return out[:out.index(pad_id)] if pad_id in out else out
