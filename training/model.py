"""
The mask predictor: a LLaMA-style transformer whose attention pattern is given per query.

RMSNorm, rotary positions, SwiGLU, grouped-query attention, tied embeddings: the
layout of the pretrained base (SmolLM2) it starts from. Written by hand (no
scaled_dot_product_attention, no nn.RMSNorm) so that it runs on torch 1.13 on a
CPU, on torch 2.x with CUDA, and exports to plain ONNX ops.

Which key each query may see is an input (`attention_mask`, [B, S, P+S]), not a
property of the model: the context runs causally (as the base was trained), the
canvas bidirectionally against the context and itself. The same weights then
serve as the base's causal LM and as the block-diffusion infiller.

forward() has the ONNX contract's signature: it takes the K/V of P earlier
positions and returns the K/V of its own S positions, so one graph serves a pass
over new context tokens and a pass over the canvas against the cached context.
"""
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class ModelConfig:
    vocab_size: int = 49152
    n_layer: int = 30
    n_head: int = 9
    n_kv_head: int = 3
    d_model: int = 576
    ffn_hidden: int = 1536
    max_positions: int = 8192
    rope_base: float = 100000.0
    norm_eps: float = 1e-5

    @property
    def head_dim(self):
        return self.d_model // self.n_head


# models/tiny: the base's vocabulary in a very small shape, trained from scratch, for fast tests.
TINY = ModelConfig(n_layer=2, n_head=4, n_kv_head=2, d_model=64, ffn_hidden=128, max_positions=8192)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotary(x, rope):
    """Rotate pairs (first half, second half) of the head dimension by position angles.

    rope = (cos, sin, turn): cos and sin of each pair's angle, written for both halves, and the
    constant matrix with x @ turn = (-second half, first half). A matmul by a signed permutation is
    exact, and in ONNX it is one node where slicing and joining the halves were a dozen per layer."""
    cos, sin, turn = rope
    return x * cos + (x @ turn) * sin


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.n_head, self.n_kv_head, self.head_dim = cfg.n_head, cfg.n_kv_head, cfg.head_dim
        self.q = nn.Linear(cfg.d_model, cfg.n_head * cfg.head_dim, bias=False)
        self.k = nn.Linear(cfg.d_model, cfg.n_kv_head * cfg.head_dim, bias=False)
        self.v = nn.Linear(cfg.d_model, cfg.n_kv_head * cfg.head_dim, bias=False)
        self.out = nn.Linear(cfg.n_head * cfg.head_dim, cfg.d_model, bias=False)

    def forward(self, x, rope, bias, past_k, past_v):
        B, S, _ = x.shape
        D, H, Hkv = self.head_dim, self.n_head, self.n_kv_head
        q = self.q(x).view(B, S, H, D).transpose(1, 2)
        k = self.k(x).view(B, S, Hkv, D).transpose(1, 2)
        v = self.v(x).view(B, S, Hkv, D).transpose(1, 2)
        q, k = rotary(q, rope), rotary(k, rope)
        # Grouped-query attention: the G query heads of a group read the same key/value head, so
        # they become G*S query rows against it (head h = kv*G + g), and the cache is not copied
        # once per query head (in ONNX those copies cost more than the attention itself).
        q = q.reshape(B, Hkv, H // Hkv * S, D) * (1.0 / math.sqrt(D))
        keys = torch.cat([past_k, k], dim=2)      # [B, Hkv, P+S, D]
        values = torch.cat([past_v, v], dim=2)
        att = torch.softmax(q @ keys.transpose(-2, -1) + bias, dim=-1)                   # [B, Hkv, G*S, P+S]
        y = att @ values                                                                    # [B, Hkv, G*S, D]
        y = y.reshape(B, H, S, D).transpose(1, 2).reshape(B, S, H * D)
        return self.out(y), k, v


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.gate = nn.Linear(cfg.d_model, cfg.ffn_hidden, bias=False)
        self.up = nn.Linear(cfg.d_model, cfg.ffn_hidden, bias=False)
        self.down = nn.Linear(cfg.ffn_hidden, cfg.d_model, bias=False)

    def forward(self, x):
        return self.down(F.silu(self.gate(x)) * self.up(x))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.attn_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.attn = Attention(cfg)
        self.mlp_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.mlp = MLP(cfg)

    def forward(self, x, rope, bias, past_k, past_v):
        a, k, v = self.attn(self.attn_norm(x), rope, bias, past_k, past_v)
        x = x + a
        return x + self.mlp(self.mlp_norm(x)), k, v


class MaskPredictor(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)])
        self.norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        half = cfg.head_dim // 2
        self.register_buffer("inv_freq", 1.0 / (cfg.rope_base ** (torch.arange(half).float() / half)), persistent=False)
        turn = torch.zeros(cfg.head_dim, cfg.head_dim)
        turn[torch.arange(half) + half, torch.arange(half)] = -1.0
        turn[torch.arange(half), torch.arange(half) + half] = 1.0
        self.register_buffer("turn", turn, persistent=False)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def num_parameters(self):
        return sum(p.numel() for p in self.parameters())

    def hidden(self, input_ids, position_ids, attention_mask, past_key, past_value):
        """Final hidden states [B, S, d] and the K/V of the S input positions, [L, B, Hkv, S, D] each."""
        freqs = position_ids.unsqueeze(-1).float() * self.inv_freq        # [B, S, D/2]
        freqs = torch.cat([freqs, freqs], dim=-1).unsqueeze(1)            # [B, 1, S, D]: both halves
        rope = (freqs.cos(), freqs.sin(), self.turn)
        # attention_mask[b, i, j] = 1: query i may read key j (the P cached keys first, then the S new ones).
        bias = ((1.0 - attention_mask.float()) * -1e9)[:, None]          # [B, 1, S, P+S]
        bias = bias.repeat(1, 1, self.cfg.n_head // self.cfg.n_kv_head, 1)  # a row per query of a head group
        x = self.embed(input_ids)
        keys, values = [], []
        for i, block in enumerate(self.blocks):
            x, k, v = block(x, rope, bias, past_key[i], past_value[i])
            keys.append(k)
            values.append(v)
        return self.norm(x), torch.stack(keys), torch.stack(values)

    def logits(self, h):
        return h @ self.embed.weight.t()

    def forward(self, input_ids, position_ids, attention_mask, past_key, past_value, logits_from=0):
        """Logits for input positions logits_from..S-1 (as the exported graph's logits_from input), and the K/V."""
        h, k, v = self.hidden(input_ids, position_ids, attention_mask, past_key, past_value)
        return self.logits(h[:, logits_from:]), k, v

    def empty_past(self, batch, device=None):
        c = self.cfg
        z = torch.zeros(c.n_layer, batch, c.n_kv_head, 0, c.head_dim, device=device)
        return z, z


def causal_mask(batch, seq, device=None):
    """[B, S, S] lower-triangular: each position reads itself and what came before (the base's pattern)."""
    return torch.ones(seq, seq, dtype=torch.long, device=device).tril()[None].expand(batch, seq, seq)
