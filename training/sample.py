"""
The reference samplers in PyTorch, on the contract's layout (models/CONTRACT.md).

infill(): block diffusion, LLaDA's low-confidence remasking in blocks that are bidirectional inside
and causal across. model-host/src/decoding/sampler.ts implements the same steps:
  - one causal pass over the context; its last logits predict the first token (token shift), which
    is committed before any block pass (nothing in the block can change that prediction);
  - the completion is written in blocks of `block_length` <|mask|> tokens, left to right; each step
    runs the block alone against the cached K/V, predicts every masked position (position j from the
    logits at j-1) and commits the k most confident, k = ceil(masked / steps left in the block);
    <|pad|> only at the first masked position;
  - the completion ends as soon as everything before a <|pad|> (or, single-line, a token holding a
    line break) is decided; a decided block joins the context causally, like typed text (here with
    a pass of its own; the TypeScript sampler folds it into the next block's first pass).

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
    logits, k, v = model(torch.tensor([ids]), torch.arange(n)[None], causal_mask(1, n), *model.empty_past(1), logits_from=n - 1)
    return logits[0, -1], k, v


def banned_ids(specials, line_break_ids, single_line, min_tokens, i):
    """Ids canvas position i may not take (the same sets as the TypeScript sampler)."""
    banned = {specials["mask"], specials["suffix"], specials["prefix"], specials["eos"]}
    if i < min_tokens:
        banned.add(specials["pad"])
    if single_line and i == 0:
        banned |= line_break_ids
    return banned


def pick(row, banned):
    """(probability, token) of the argmax over the allowed tokens."""
    row = row.float().clone()
    row[list(banned)] = -math.inf
    prob = torch.softmax(row, -1)
    tok = int(prob.argmax())
    return float(prob[tok]), tok


def stop_at(x, specials, line_break_ids, single_line):
    """Where the completion ends (exclusive) once everything before the end is decided, else None."""
    for p, t in enumerate(x):
        if t == specials["mask"]:
            return None
        if t == specials["pad"]:
            return p
        if single_line and t in line_break_ids:
            return p + 1
    return None


@torch.no_grad()
def infill(model, prefix_ids, suffix_ids, specials, line_break_ids=frozenset(), newline_ids=frozenset(), canvas=24,
           steps=8, block_length=8, single_line=False, min_tokens=1):
    """Greedy fill; returns (completion ids, passes run). Single-line mode bans `line_break_ids` (tokens
    that start a new line) at position 0 and ends the completion at a token of `newline_ids` (a line
    break anywhere), as the TypeScript sampler's lineBreakTokens and newlineTokens."""
    ctx = context_ids(prefix_ids, suffix_ids, specials)
    last, k, v = context_pass(model, ctx)
    n, mask_id, pad_id = len(ctx), specials["mask"], specials["pad"]
    steps_per_block = max(1, steps)  # per block, as the canvas is only a ceiling
    banned = lambda i: banned_ids(specials, line_break_ids, single_line, min_tokens, i)
    end_of = lambda x: stop_at(x, specials, newline_ids, single_line)
    out, passes, pending = [], 0, []
    for lo in range(0, canvas, block_length):
        size = min(block_length, canvas - lo)
        x = [mask_id] * size
        if lo == 0:
            x[0] = pick(last, banned(0))[1]
        step, end = 0, end_of(x)
        while end is None and mask_id in x:
            masked = [p for p in range(size) if x[p] == mask_id]
            if pending or any(p > 0 for p in masked):
                # The decided block waiting to join the context goes in ahead of this block's masks,
                # causally (each reads the past and the pending tokens up to itself); the block reads
                # everything. Logits from the last pending token on: it predicts block position 0.
                m, s = len(pending), len(pending) + size
                attend = torch.ones(1, s, n + s, dtype=torch.long)
                attend[0, :m, n:] = torch.ones(m, s, dtype=torch.long).tril()
                logits, k2, v2 = model(torch.tensor([pending + x]), torch.arange(n, n + s)[None], attend, k, v,
                                       logits_from=max(0, m - 1))
                passes += 1
                if m:
                    k, v = torch.cat([k, k2[:, :, :, :m]], 3), torch.cat([v, v2[:, :, :, :m]], 3)
                    last, logits, n, pending = logits[0, 0], logits[:, 1:], n + m, []
            picks = [(*pick(last if p == 0 else logits[0, p - 1], banned(lo + p)), p) for p in masked]
            # The end is decided from the left: <|pad|> may be committed only at the first masked
            # position, so a confident guess that the middle is short cannot cut it before it is written.
            picks = [pk for pk in picks if pk[1] != pad_id or pk[2] == masked[0]]
            k_commit = math.ceil(len(masked) / max(1, steps_per_block - step))
            # Most confident first; a tie goes to the leftmost position.
            for _, tok, p in sorted(picks, key=lambda t: (-t[0], t[2]))[:k_commit]:
                x[p] = tok
            step += 1
            end = end_of(x)
        if end is not None:
            return out + x[:end], passes
        out += x
        pending = x  # the decided block joins the context, causally, inside the next block's first pass
    return out, passes


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
