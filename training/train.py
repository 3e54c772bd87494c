"""
Train the mask predictor with the LLaDA masked-diffusion loss, mixed with infill examples.

  /usr/bin/python3 training/train.py --config training/configs/default.json
  /usr/bin/python3 training/train.py --config training/configs/default.json --max_steps=3000 --resume

Any TrainConfig field can be overridden as --field=value. Each run writes to
out_dir: config.json (reproduces the run), ckpt.pt, log.jsonl, val_loss.png.
"""
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch
import torch.nn.functional as F

from data import Batches
from model import MaskPredictor, ModelConfig


@dataclass
class TrainConfig:
    data_dir: str = "training/data/prepared"
    out_dir: str = "training/runs/default"
    # model
    n_layer: int = 6
    n_head: int = 4
    d_model: int = 256
    ffn_hidden: int = 688
    max_positions: int = 1024
    # data
    seq_len: int = 512
    infill_fraction: float = 0.5
    max_canvas: int = 96
    loss_weighting: str = "1/t"   # or "mean"
    # optimisation
    batch_size: int = 16
    max_steps: int = 2000
    max_minutes: float = 0.0   # if set, also a wall-clock budget: the schedule decays by whichever ends first
    lr: float = 2e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 100
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    # bookkeeping
    eval_every: int = 100
    eval_batches: int = 8
    log_every: int = 10
    seed: int = 1337
    init_from: str = ""   # start from this checkpoint's weights (fresh optimizer and schedule)
    device: str = "auto"
    dtype: str = "auto"   # bf16 autocast on CUDA, float32 on CPU


def load_config(argv):
    cfg = TrainConfig()
    args = list(argv)
    if "--config" in args:
        i = args.index("--config")
        with open(args[i + 1]) as f:
            cfg = TrainConfig(**json.load(f))
        del args[i:i + 2]
    resume = "--resume" in args
    args = [a for a in args if a != "--resume"]
    types = {f.name: f.type for f in fields(TrainConfig)}
    for a in args:
        key, _, value = a.lstrip("-").partition("=")
        if key not in types:
            sys.exit(f"unknown option {a}; options: {', '.join(types)}")
        kind = {"int": int, "float": float, "str": str}[types[key] if isinstance(types[key], str) else types[key].__name__]
        setattr(cfg, key, kind(value))
    return cfg, resume


def progress_at(step, seconds, cfg):
    """Fraction of the run done, by steps or by the time budget, whichever is further along."""
    p = (step - cfg.warmup_steps) / max(1, cfg.max_steps - cfg.warmup_steps)
    if cfg.max_minutes > 0:
        p = max(p, seconds / (60 * cfg.max_minutes))
    return min(1.0, max(0.0, p))


def lr_at(step, seconds, cfg):
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = progress_at(step, seconds, cfg)
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def masked_loss(model, batch, device):
    """Weighted cross-entropy over masked tokens only; the vocabulary head runs on those alone."""
    ids, noisy, weights, attend = (x.to(device) for x in batch)
    positions = torch.arange(ids.shape[1], device=device).expand_as(ids)
    pk, pv = model.empty_past(ids.shape[0], device)
    h, _, _ = model.hidden(noisy, positions, attend, pk, pv)
    sel = weights > 0
    logits = model.logits(h[sel]).float()
    ce = F.cross_entropy(logits, ids[sel], reduction="none")
    loss = (ce * weights[sel]).sum() / ids.shape[0]
    correct = (logits.argmax(-1) == ids[sel]).float().mean()
    return loss, correct


@torch.no_grad()
def evaluate(model, val, cfg, device, autocast):
    """Validation loss on fixed batches, plus masked-token accuracy at fixed mask rates."""
    model.eval()
    out = {}
    for name, kind, t in (("val_loss", None, None), ("val_infill_loss", "infill", None),
                          ("acc_t015", "plain", 0.15), ("acc_t050", "plain", 0.5)):
        rng = np.random.default_rng(1234)
        vals = []
        for _ in range(cfg.eval_batches):
            with autocast():
                loss, acc = masked_loss(model, val.get(cfg.batch_size, rng, t=t, kind=kind), device)
            vals.append((acc if name.startswith("acc") else loss).item())
        out[name] = float(np.mean(vals))
    model.train()
    return out


def plot(log_path, png_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [json.loads(l) for l in open(log_path)]
    ev = [r for r in rows if "val_loss" in r]
    tr = [r for r in rows if "loss" in r]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot([r["tokens"] / 1e6 for r in tr], [r["loss"] for r in tr], alpha=0.35, label="train")
    ax.plot([r["tokens"] / 1e6 for r in ev], [r["val_loss"] for r in ev], marker="o", label="validation")
    ax.plot([r["tokens"] / 1e6 for r in ev], [r["val_infill_loss"] for r in ev], marker=".", label="validation (infill)")
    ax.set_xlabel("tokens seen (millions)")
    ax.set_ylabel("masked-diffusion loss")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)
    plt.close(fig)


def main():
    cfg, resume = load_config(sys.argv[1:])
    device = ("cuda" if torch.cuda.is_available() else "cpu") if cfg.device == "auto" else cfg.device
    if device == "cpu":  # OMP_NUM_THREADS=1 leaves a core free for other work on a small machine
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1))
    use_bf16 = device == "cuda" and cfg.dtype in ("auto", "bf16")
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if use_bf16 else (lambda: torch.autocast("cpu", enabled=False))
    os.makedirs(cfg.out_dir, exist_ok=True)
    torch.manual_seed(cfg.seed)
    meta = json.load(open(os.path.join(cfg.data_dir, "meta.json")))
    mcfg = ModelConfig(vocab_size=meta["vocab_size"], n_layer=cfg.n_layer, n_head=cfg.n_head, d_model=cfg.d_model,
                       ffn_hidden=cfg.ffn_hidden, max_positions=cfg.max_positions)
    model = MaskPredictor(mcfg).to(device)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=cfg.lr, betas=(0.9, 0.95))
    step, tokens, seconds = 0, 0, 0.0
    ckpt_path = os.path.join(cfg.out_dir, "ckpt.pt")
    log_path = os.path.join(cfg.out_dir, "log.jsonl")
    if resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location=device)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        step, tokens, seconds = ck["step"], ck["tokens"], ck.get("seconds", 0.0)
        print(f"resumed at step {step} ({tokens / 1e6:.1f}M tokens)")
    else:
        if cfg.init_from:
            model.load_state_dict(torch.load(cfg.init_from, map_location=device)["model"])
            print(f"initialised from {cfg.init_from}")
        if os.path.exists(log_path):
            os.remove(log_path)
    with open(os.path.join(cfg.out_dir, "config.json"), "w") as f:
        json.dump(asdict(cfg), f, indent=2)

    train = Batches(cfg.data_dir, "train", cfg.seq_len, cfg.infill_fraction, cfg.max_canvas, weighting=cfg.loss_weighting)
    val = Batches(cfg.data_dir, "val", cfg.seq_len, cfg.infill_fraction, cfg.max_canvas)
    rng = np.random.default_rng(cfg.seed + step)
    print(f"model: {model.num_parameters() / 1e6:.2f}M parameters, device {device}{' bf16' if use_bf16 else ''}, "
          f"{cfg.batch_size}x{cfg.seq_len} tokens per step, {cfg.max_steps} steps", flush=True)

    def save(extra):
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "model_config": asdict(mcfg),
                    "train_config": asdict(cfg), "step": step, "tokens": tokens, "seconds": seconds,
                    "corpus_manifest": meta.get("corpus_manifest"), **extra}, ckpt_path + ".tmp")
        os.replace(ckpt_path + ".tmp", ckpt_path)

    log = open(log_path, "a")
    last = {}
    if step == 0:  # the untrained model's numbers, so the curve (and the smoke test) can show the loss falling
        last = evaluate(model, val, cfg, device, autocast)
        log.write(json.dumps({"step": 0, "tokens": 0, **last}) + "\n")
    t_window, tok_window = time.time(), 0
    while step < cfg.max_steps and progress_at(step, seconds, cfg) < 1.0:
        for g in opt.param_groups:
            g["lr"] = lr_at(step, seconds, cfg)
        t0 = time.time()
        batch = train.get(cfg.batch_size, rng)
        with autocast():
            loss, acc = masked_loss(model, batch, device)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        step += 1
        tokens += batch[0].numel()
        tok_window += batch[0].numel()
        seconds += time.time() - t0
        if step % cfg.log_every == 0 or step == 1:
            rate = tok_window / (time.time() - t_window)
            eta = (cfg.max_steps - step) * cfg.batch_size * cfg.seq_len / max(rate, 1)
            if cfg.max_minutes > 0:
                eta = min(eta, 60 * cfg.max_minutes - seconds)
            print(f"step {step}/{cfg.max_steps}  loss {loss.item():.4f}  acc {acc.item():.3f}  lr {lr_at(step, seconds, cfg):.2e}  "
                  f"{rate:,.0f} tok/s  tokens {tokens / 1e6:.2f}M  eta {eta / 60:.1f} min", flush=True)
            log.write(json.dumps({"step": step, "tokens": tokens, "loss": loss.item(), "acc": acc.item()}) + "\n")
            t_window, tok_window = time.time(), 0
        if step % cfg.eval_every == 0 or step == cfg.max_steps or progress_at(step, seconds, cfg) >= 1.0:
            last = evaluate(model, val, cfg, device, autocast)
            print(f"eval step {step}: " + "  ".join(f"{k} {v:.4f}" for k, v in last.items()), flush=True)
            log.write(json.dumps({"step": step, "tokens": tokens, **last}) + "\n")
            log.flush()
            save({"eval": last})
            plot(log_path, os.path.join(cfg.out_dir, "val_loss.png"))
    save({"eval": last})
    print(f"done: {step} steps, {tokens / 1e6:.2f}M tokens, {seconds / 60:.1f} min, final {last}")


if __name__ == "__main__":
    main()
