"""
A bidirectional mask predictor: a LLaMA-style transformer without a causal mask.

RMSNorm, rotary positions, SwiGLU, multi-head attention, tied embeddings. Written
by hand (no scaled_dot_product_attention, no nn.RMSNorm) so that it runs on torch
1.13 on a CPU, on torch 2.x with CUDA, and exports to plain ONNX ops.

forward() has the ONNX contract's signature: it takes the K/V of P earlier
positions and returns the K/V of its own S positions, so one graph serves both a
full pass (P = 0) and a cached block pass.
"""
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class ModelConfig:
    vocab_size: int = 8192
    n_layer: int = 6
    n_head: int = 4
    d_model: int = 256
    ffn_hidden: int = 688
    max_positions: int = 1024
    rope_base: float = 10000.0
    norm_eps: float = 1e-5

    @property
    def head_dim(self):
        return self.d_model // self.n_head


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
        self.n_head, self.head_dim = cfg.n_head, cfg.head_dim
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model, bias=False)
        self.out = nn.Linear(cfg.d_model, cfg.d_model, bias=False)

    def forward(self, x, cos, sin, bias, past_k, past_v):
        B, S, _ = x.shape
        q, k, v = self.qkv(x).view(B, S, 3, self.n_head, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k = rotary(q, cos, sin), rotary(k, cos, sin)
        keys = torch.cat([past_k, k], dim=2)      # [B, H, P+S, D]
        values = torch.cat([past_v, v], dim=2)
        att = (q @ keys.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim)) + bias
        att = torch.softmax(att, dim=-1)
        y = (att @ values).transpose(1, 2).reshape(B, S, -1)
        return self.out(y), k, v


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.gate_up = nn.Linear(cfg.d_model, 2 * cfg.ffn_hidden, bias=False)
        self.down = nn.Linear(cfg.ffn_hidden, cfg.d_model, bias=False)

    def forward(self, x):
        gate, up = self.gate_up(x).chunk(2, dim=-1)
        return self.down(F.silu(gate) * up)


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
        for b in self.blocks:  # residual projections start small, as in GPT-2
            nn.init.normal_(b.attn.out.weight, std=0.02 / math.sqrt(2 * cfg.n_layer))
            nn.init.normal_(b.mlp.down.weight, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def num_parameters(self):
        return sum(p.numel() for p in self.parameters())

    def hidden(self, input_ids, position_ids, attention_mask, past_key, past_value):
        """Final hidden states [B, S, d] and the K/V of the S input positions."""
        freqs = position_ids.unsqueeze(-1).float() * self.inv_freq        # [B, S, D/2]
        cos, sin = freqs.cos().unsqueeze(1), freqs.sin().unsqueeze(1)     # [B, 1, S, D/2]
        # 1 = attend. Masked keys get a large negative bias; every query sees the same keys.
        bias = ((1.0 - attention_mask.float()) * -1e9)[:, None, None, :]  # [B, 1, 1, P+S]
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
        z = torch.zeros(c.n_layer, batch, c.n_head, 0, c.head_dim, device=device)
        return z, z
