"""
Infill examples in the contract's layout, cut from corpus files on the fly.

    <|suffix|> suffix <|prefix|> prefix | canvas = middle + <|pad|> filler (some of it masked)

A hole is cut the way the editor cuts one: the rest of a line after its indentation or after a
cursor inside it, a block of 2-6 lines, or a random character span (the FIM literature's mix).
Prefix, middle and suffix are tokenized separately, as the engine does. Spaces and tabs at the end
of the prefix move to the start of the middle (token healing, as the engine does it): the base's
tokenizer joins a space to the word after it, so a prefix that ends in indentation is a text the
base never saw end, and "    return" is only the base's usual tokens when written as one piece.
The prefix keeps its last `prefix_tokens`, the suffix its first `suffix_tokens`. The canvas is
the middle plus random slack of <|pad|> up to the canvas budget; a middle longer than the budget is
skipped. With `block_length`, an example is one block of the middle as the block sampler writes it
(sample.py): the blocks before it are decided and read causally as part of the context, the block
holds the next `block_length` tokens, <|pad|> after the middle's end.

Masking follows what the sampler meets: half the examples mask each canvas token with probability
t ~ U(0.05, 1) (LLaDA); the other half keep a random left part of the canvas clean and mask the rest
with probability t, as semi-autoregressive decoding leaves it.
"""
import json
import random

import torch

from base import SENTINELS

MASK, PAD, SUFFIX, PREFIX = (SENTINELS[k][0] for k in ("mask", "pad", "suffix", "prefix"))


def read_texts(path, limit=0):
    texts = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            texts.append(json.loads(line)["text"])
            if limit and len(texts) >= limit:
                break
    return texts


def cut_hole(text, rnd):
    """(prefix, middle, suffix, kind) or None."""
    lines = text.split("\n")
    starts, pos = [], 0
    for line in lines:
        starts.append(pos)
        pos += len(line) + 1
    content = [i for i, line in enumerate(lines) if len(line.strip()) >= 4]
    if not content:
        return None
    i = rnd.choice(content)
    indent = len(lines[i]) - len(lines[i].lstrip())
    kind = rnd.choices(["line", "line-cursor", "block", "span"], weights=[4, 2, 2, 1])[0]
    if kind == "line":
        s, e = starts[i] + indent, starts[i] + len(lines[i].rstrip())
    elif kind == "line-cursor":
        body = len(lines[i].rstrip())
        s = starts[i] + rnd.randint(indent, max(indent, body - 1))
        e = starts[i] + body
    elif kind == "block":
        j = min(len(lines) - 1, i + rnd.randint(1, 5))
        s, e = starts[i] + indent, starts[j] + len(lines[j].rstrip())
    else:
        s = rnd.randrange(len(text))
        e = min(len(text), s + rnd.randint(1, 80))
    if e <= s:
        return None
    return text[:s], text[s:e], text[e:], kind


class InfillExamples:
    def __init__(self, texts, tokenizer, prefix_tokens=256, suffix_tokens=96, canvas_tokens=32, seed=0, block_length=0):
        self.texts, self.tok = texts, tokenizer
        self.prefix_tokens, self.suffix_tokens, self.canvas_tokens = prefix_tokens, suffix_tokens, canvas_tokens
        self.block_length = block_length
        self.rnd = random.Random(seed)

    def encode(self, s):
        return self.tok.encode(s).ids if s else []

    def one(self):
        """(context ids, canvas target ids, middle length, kind)."""
        while True:
            text = self.rnd.choice(self.texts)
            hole = cut_hole(text, self.rnd)
            if hole is None:
                continue
            prefix, middle, suffix, kind = hole
            healed = prefix[len(prefix.rstrip(" \t")):]
            prefix, middle = prefix[: len(prefix) - len(healed)], healed + middle
            # Encode only a window around the hole: whole files would cost more than the model.
            prefix, suffix = prefix[-self.prefix_tokens * 6:], suffix[: self.suffix_tokens * 6]
            mid = self.encode(middle)
            if not 0 < len(mid) < self.canvas_tokens:
                continue
            pre = self.encode(prefix)[-self.prefix_tokens:]
            suf = self.encode(suffix)[: self.suffix_tokens]
            slack = self.rnd.randint(0, self.canvas_tokens - len(mid))
            return [SUFFIX, *suf, PREFIX, *pre], mid + [PAD] * slack, len(mid), kind

    def in_blocks(self, ctx, canvas, n_mid, kind):
        """One block of the middle as the block sampler meets it: the blocks before it decided and
        appended to the context (causal), this one to be written; <|pad|> from the middle's end on."""
        full = canvas[:n_mid] + [PAD] * self.block_length
        lo = self.block_length * self.rnd.randint(0, n_mid // self.block_length)
        return ctx + full[:lo], full[lo : lo + self.block_length], n_mid, kind

    def batch(self, n):
        """Padded tensors for n examples: ids, positions, attention mask, targets (-100 = no loss)."""
        rows = [self.one() for _ in range(n)]
        if self.block_length:
            rows = [self.in_blocks(*r) for r in rows]
        width = max(len(c) + len(t) for c, t, _, _ in rows)
        ids = torch.full((n, width), PAD, dtype=torch.long)
        targets = torch.full((n, width), -100, dtype=torch.long)
        mask = torch.zeros(n, width, width, dtype=torch.long)
        for b, (ctx, canvas, _, _) in enumerate(rows):
            N, C = len(ctx), len(canvas)
            noisy = list(canvas)
            t = self.rnd.uniform(0.05, 1.0)
            clean_left = self.rnd.randint(0, C - 1) if self.rnd.random() < 0.5 else 0
            masked = [j >= clean_left and self.rnd.random() < t for j in range(C)]
            if not any(masked):
                masked[self.rnd.randrange(clean_left, C)] = True
            for j in range(C):
                if masked[j]:
                    noisy[j] = MASK
                    # Token shift: canvas position j is predicted at the position before it.
                    targets[b, N + j - 1] = canvas[j]
            ids[b, : N + C] = torch.tensor(ctx + noisy)
            mask[b, :N, :N] = torch.ones(N, N, dtype=torch.long).tril()   # context: causal
            mask[b, N : N + C, : N + C] = 1                               # canvas: all context + whole canvas
            mask[b, N + C :, 0] = 1                                        # padding rows read something (no NaN)
        pos = torch.arange(width)[None].expand(n, width)
        return ids, pos, mask, targets
