"""
The reference samplers in PyTorch, on the contract's layout (models/CONTRACT.md).

infill(): semi-autoregressive block sampling with low-confidence remasking over a canvas that
reads a causal, cached context. model-host/src/sampler.ts implements the same steps:
  - one causal pass over the context; its last logits predict canvas position 0 (token shift);
  - the canvas is split into blocks decided left to right; each step runs the whole canvas against
    the cached context, predicts every masked position of the current block (position j from the
    logits at j-1), and commits the k most confident, k = ceil(masked / steps left in the block),
    or everything above `threshold` when that is more;
  - a block that holds <|pad|> ends the canvas there; in single-line mode so does a line break.

autoregressive(): the base used as it was trained, prefix only, greedy, with a K/V cache: the
baseline the infill model has to beat by reading the suffix.
"""
import math

import torch

from model import causal_mask


def context_ids(prefix_ids, suffix_ids, specials):
    return [specials["suffix"], *suffix_ids, specials["prefix"], *prefix_ids]


@torch.no_grad()
def context_pass(model, ids):
    n = len(ids)
    logits, k, v = model(torch.tensor([ids]), torch.arange(n)[None], causal_mask(1, n), *model.empty_past(1))
    return logits[0, -1], k, v


def banned_ids(specials, vocab, line_break_ids, single_line, min_tokens, i):
    """Ids canvas position i may not take (the same sets as the TypeScript sampler)."""
    banned = {specials["mask"], specials["suffix"], specials["prefix"], specials["eos"]}
    if i < min_tokens:
        banned.add(specials["pad"])
    if single_line and i == 0:
        banned |= line_break_ids
    return banned


@torch.no_grad()
def infill(model, prefix_ids, suffix_ids, specials, line_break_ids=frozenset(), canvas=24, steps=24,
           block_length=8, threshold=0.0, single_line=False, min_tokens=1):
    """Greedy fill; returns (canvas ids up to the end, passes run)."""
    ctx = context_ids(prefix_ids, suffix_ids, specials)
    first, k, v = context_pass(model, ctx)
    n, mask_id, pad_id = len(ctx), specials["mask"], specials["pad"]
    x = [mask_id] * canvas
    blocks = math.ceil(canvas / block_length)
    steps_per_block = max(1, round(steps / blocks))
    positions = torch.arange(n, n + canvas)[None]
    attend = torch.ones(1, canvas, n + canvas, dtype=torch.long)
    passes, end = 0, canvas
    for b in range(blocks):
        lo, hi = b * block_length, min(canvas, (b + 1) * block_length)
        step = 0
        while mask_id in x[lo:hi]:
            logits, _, _ = model(torch.tensor([x]), positions, attend, k, v)
            passes += 1
            masked = [p for p in range(lo, hi) if x[p] == mask_id]
            picks = []
            for p in masked:
                row = (first if p == 0 else logits[0, p - 1]).float().clone()
                for t in banned_ids(specials, row.shape[0], line_break_ids, single_line, min_tokens, p):
                    row[t] = -math.inf
                prob = torch.softmax(row, -1)
                tok = int(prob.argmax())
                picks.append((float(prob[tok]), p, tok))
            # The end is decided from the left: <|pad|> may be committed only at the first masked
            # position, so a confident guess that the middle is short cannot cut it before it is written.
            leftmost = x.index(mask_id)
            picks = [pk for pk in picks if pk[2] != pad_id or pk[1] == leftmost]
            k_commit = math.ceil(len(masked) / max(1, steps_per_block - step))
            if threshold > 0:
                k_commit = max(k_commit, 1, sum(pr > threshold for pr, _, _ in picks))
            for pr, p, tok in sorted(picks, key=lambda t: -t[0])[:k_commit]:
                x[p] = tok
            step += 1
        stops = [p for p in range(lo, hi) if x[p] == pad_id or (single_line and x[p] in line_break_ids)]
        if stops:
            end = stops[0] + (0 if x[stops[0]] == pad_id else 1)
            break
    return x[:end], passes


@torch.no_grad()
def autoregressive(model, prefix_ids, stop_ids, max_tokens=48, banned=(), first_banned=()):
    """Greedy continuation of the prefix until a stop token (included) or max_tokens; the first
    token may not be one of `first_banned` (single-line mode: no empty line, as in infill())."""
    prefix_ids = prefix_ids or [0]  # at the start of a file the base reads its end-of-text marker
    logits, k, v = context_pass(model, prefix_ids)
    out, n = [], len(prefix_ids)
    for _ in range(max_tokens):
        row = logits.float().clone()
        for t in [*banned, *(first_banned if not out else ())]:
            row[t] = -math.inf
        tok = int(row.argmax())
        out.append(tok)
        if tok in stop_ids:
            break
        lg, k2, v2 = model(torch.tensor([[tok]]), torch.tensor([[n]]), torch.ones(1, 1, n + 1, dtype=torch.long), k, v)
        k, v = torch.cat([k, k2], 3), torch.cat([v, v2], 3)
        logits, n = lg[0, -1], n + 1
    return out
