"""
Batches for the masked-diffusion objective.

Two kinds of example share a batch:
- plain: a window of the token stream; every token is masked with probability t.
- infill: <|bos|> prefix canvas suffix <|eos|>, where the canvas holds the middle and
  then <|pad|> up to the canvas length; only the canvas is masked. Learning to
  predict <|pad|> is what lets the editor stop a completion without knowing its length.

Each masked token carries the weight 1/t (LLaDA's estimator of the likelihood bound),
divided by the number of maskable tokens in its example.
"""
import os
from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Specials:
    mask: int = 0
    pad: int = 1
    bos: int = 2
    eos: int = 3


class Batches:
    def __init__(self, data_dir, split, seq_len, infill_fraction, max_canvas, specials=Specials(), eps=1e-3,
                 weighting="1/t"):
        self.stream = np.load(os.path.join(data_dir, f"{split}_stream.npy"), mmap_mode="r")
        infill = np.load(os.path.join(data_dir, f"{split}_infill.npz"))
        self.infill_tokens, self.infill_rows = infill["tokens"], infill["rows"]
        self.seq_len, self.infill_fraction, self.max_canvas = seq_len, infill_fraction, max_canvas
        self.sp, self.eps, self.weighting = specials, eps, weighting

    def plain(self, rng):
        i = rng.integers(0, len(self.stream) - self.seq_len)
        ids = np.asarray(self.stream[i:i + self.seq_len], dtype=np.int64)
        maskable = np.ones(self.seq_len, dtype=bool)
        return ids, maskable, np.ones(self.seq_len, dtype=np.int64)

    def infill(self, rng, row=None):
        start, npre, nmid, nsuf = self.infill_rows[rng.integers(0, len(self.infill_rows)) if row is None else row]
        toks = self.infill_tokens
        pre = toks[start:start + npre]
        mid = toks[start + npre:start + npre + nmid]
        suf = toks[start + npre + nmid:start + npre + nmid + nsuf]
        # Canvas: usually the middle plus slack (the editor picks a few fixed sizes, so slack
        # is often large), sometimes shorter than the middle (then it holds the middle's start).
        if rng.random() < 0.2:
            canvas = int(rng.integers(4, self.max_canvas + 1))
        else:
            canvas = int(min(self.max_canvas, len(mid) + rng.integers(0, 2 * len(mid) + 17)))
        canvas = max(canvas, 1)
        mid = mid[:canvas]
        n_suf = min(len(suf), int(rng.integers(0, self.seq_len // 3)))
        n_pre = min(len(pre), self.seq_len - 2 - canvas - n_suf)
        ids = np.concatenate([[self.sp.bos], pre[len(pre) - n_pre:], mid, [self.sp.pad] * (canvas - len(mid)),
                              suf[:n_suf], [self.sp.eos]]).astype(np.int64)
        maskable = np.zeros(len(ids), dtype=bool)
        maskable[1 + n_pre:1 + n_pre + canvas] = True
        attend = np.ones(len(ids), dtype=np.int64)
        pad = self.seq_len - len(ids)  # short documents: pad the tail and hide it from attention
        if pad > 0:
            ids = np.concatenate([ids, np.full(pad, self.sp.pad, dtype=np.int64)])
            maskable = np.concatenate([maskable, np.zeros(pad, dtype=bool)])
            attend = np.concatenate([attend, np.zeros(pad, dtype=np.int64)])
        return ids, maskable, attend

    def get(self, batch_size, rng, t=None, kind=None):
        """Returns clean ids, noisy ids, loss weights, attention mask; all [B, S]."""
        rows = []
        for _ in range(batch_size):
            use_infill = (rng.random() < self.infill_fraction) if kind is None else kind == "infill"
            rows.append(self.infill(rng) if use_infill else self.plain(rng))
        ids = np.stack([r[0] for r in rows])
        maskable = np.stack([r[1] for r in rows])
        attend = np.stack([r[2] for r in rows])
        tt = rng.uniform(self.eps, 1.0, size=(batch_size, 1)) if t is None else np.full((batch_size, 1), t)
        masked = (rng.random(ids.shape) < tt) & maskable
        # Every example must have something to learn from.
        for b in np.where(~masked.any(1))[0]:
            masked[b, rng.choice(np.where(maskable[b])[0])] = True
        noisy = np.where(masked, self.sp.mask, ids)
        if self.weighting == "1/t":
            weights = masked / tt / maskable.sum(1, keepdims=True)
        else:  # "mean": plain average over masked tokens (lower variance, biased away from the ELBO)
            weights = masked / masked.sum(1, keepdims=True)
        return (torch.from_numpy(ids), torch.from_numpy(noisy), torch.from_numpy(weights.astype(np.float32)),
                torch.from_numpy(attend))
