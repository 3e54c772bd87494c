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


def rotary(x, cos, sin):
    """Rotate pairs (first half, second half) of the head dimension by position angles."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.n_head, self.n_kv_head, self.head_dim = cfg.n_head, cfg.n_kv_head, cfg.head_dim
        self.q = nn.Linear(cfg.d_model, cfg.n_head * cfg.head_dim, bias=False)
        self.k = nn.Linear(cfg.d_model, cfg.n_kv_head * cfg.head_dim, bias=False)
        self.v = nn.Linear(cfg.d_model, cfg.n_kv_head * cfg.head_dim, bias=False)
        self.out = nn.Linear(cfg.n_head * cfg.head_dim, cfg.d_model, bias=False)

    def forward(self, x, cos, sin, bias, past_k, past_v):
        B, S, _ = x.shape
        D, H, G = self.head_dim, self.n_head, self.n_head // self.n_kv_head
        q = self.q(x).view(B, S, H, D).transpose(1, 2)
        k = self.k(x).view(B, S, self.n_kv_head, D).transpose(1, 2)
        v = self.v(x).view(B, S, self.n_kv_head, D).transpose(1, 2)
        q, k = rotary(q, cos, sin), rotary(k, cos, sin)
        keys = torch.cat([past_k, k], dim=2)      # [B, Hkv, P+S, D]
        values = torch.cat([past_v, v], dim=2)
        # Grouped-query attention: the query heads of a group read the same key/value head.
        T = keys.shape[2]
        keys = keys[:, :, None].expand(B, self.n_kv_head, G, T, D).reshape(B, H, T, D)
        values = values[:, :, None].expand(B, self.n_kv_head, G, T, D).reshape(B, H, T, D)
        att = (q @ keys.transpose(-2, -1)) * (1.0 / math.sqrt(D)) + bias
        att = torch.softmax(att, dim=-1)
        y = (att @ values).transpose(1, 2).reshape(B, S, H * D)
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

    def forward(self, x, cos, sin, bias, past_k, past_v):
        a, k, v = self.attn(self.attn_norm(x), cos, sin, bias, past_k, past_v)
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
        cos, sin = freqs.cos().unsqueeze(1), freqs.sin().unsqueeze(1)     # [B, 1, S, D/2]
        # attention_mask[b, i, j] = 1: query i may read key j (the P cached keys first, then the S new ones).
        bias = ((1.0 - attention_mask.float()) * -1e9)[:, None]          # [B, 1, S, P+S]
        x = self.embed(input_ids)
        keys, values = [], []
        for i, block in enumerate(self.blocks):
            x, k, v = block(x, cos, sin, bias, past_key[i], past_value[i])
            keys.append(k)
            values.append(v)
        return self.norm(x), torch.stack(keys), torch.stack(values)

    def logits(self, h):
        return h @ self.embed.weight.t()

    def forward(self, input_ids, position_ids, attention_mask, past_key, past_value):
        h, k, v = self.hidden(input_ids, position_ids, attention_mask, past_key, past_value)
        return self.logits(h), k, v

    def empty_past(self, batch, device=None):
        c = self.cfg
        z = torch.zeros(c.n_layer, batch, c.n_kv_head, 0, c.head_dim, device=device)
        return z, z


def causal_mask(batch, seq, device=None):
    """[B, S, S] lower-triangular: each position reads itself and what came before (the base's pattern)."""
    return torch.ones(seq, seq, dtype=torch.long, device=device).tril()[None].expand(batch, seq, seq)
