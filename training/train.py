"""
Adapt the pretrained base to block-diffusion infilling (see data.py for the examples).

    python training/train.py --config training/configs/default.json [--resume]

The loss is cross-entropy on the masked canvas tokens, read with the token shift (position j-1
predicts canvas token j), averaged over masked tokens. What keeps the base's knowledge: the
context runs causally as in pretraining, the base's weights stay frozen and only low-rank
adapters on the upper blocks train (lora.py; the bottom blocks are exactly the base's, which
also shortens the backward pass on a CPU), and of the tied embedding only the sentinel rows
train, so the vocabulary's meaning cannot drift. The checkpoint is the adapter alone (a few MB).

Runs for `max_minutes` of wall clock (a session is short) with a cosine schedule over that time,
evaluates on fixed validation batches every `eval_minutes`, and checkpoints atomically.
"""
import argparse
import contextlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from base import load_base
from data import InfillExamples, read_texts
from lora import add_lora, load_adapter, save_adapter
from model import TINY, MaskPredictor


@dataclass
class TrainConfig:
    out_dir: str = "training/runs/default"
    corpus_dir: str = "training/data/corpus"
    base_dir: str = "training/data/base"
    batch_size: int = 8
    prefix_tokens: int = 256
    suffix_tokens: int = 96
    canvas_tokens: int = 32
    block_length: int = 0      # > 0: train one block at a time, earlier blocks causal (the block sampler's layout)
    lr: float = 1e-4
    min_lr_ratio: float = 0.1
    warmup_steps: int = 20
    grad_clip: float = 1.0
    lora_rank: int = 16
    lora_alpha: float = 32.0
    lora_from_layer: int = 6   # blocks below this stay exactly the base's
    keep_layers: int = 0       # > 0: keep only the base's first N blocks (a pruned shape; the smoke run uses 2)
    tiny: bool = False         # train export.TINY from scratch, every weight (models/tiny, for the tests)
    max_minutes: float = 60
    max_steps: int = 1_000_000
    eval_minutes: float = 10
    eval_batches: int = 6
    ckpt_minutes: float = 10
    bf16: bool = True          # autocast on CPUs with bf16 and on CUDA; ignored where torch lacks it
    train_files: int = 0       # 0 = the whole corpus
    seed: int = 1337


def lr_at(cfg, step, frac):
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, frac))))


def masked_loss(model, batch, autocast):
    ids, pos, mask, targets = batch
    past = model.empty_past(ids.shape[0], ids.device)
    with autocast():
        h, _, _ = model.hidden(ids, pos, mask, *past)
        sel = targets != -100
        logits = model.logits(h[sel]).float()  # only the positions that predict a masked token
    y = targets[sel]
    return F.cross_entropy(logits, y), (logits.argmax(-1) == y).float().mean()


def autocast_for(cfg, device):
    """bf16 autocast where torch has it (2.x); torch 1.13 (Debian's, for the smoke run) stays in float32."""
    if cfg.bf16 and int(torch.__version__.split(".")[0]) >= 2:
        return lambda: torch.autocast(device, dtype=torch.bfloat16)
    return contextlib.nullcontext


@torch.no_grad()
def evaluate(model, val_batches, autocast):
    model.eval()
    losses, accs = zip(*[masked_loss(model, b, autocast) for b in val_batches])
    model.train()
    return sum(l.item() for l in losses) / len(losses), sum(a.item() for a in accs) / len(accs)


def save(out_dir, model, cfg, training):
    if cfg.tiny:  # no base to adapt: the whole (small) model
        torch.save(model.state_dict(), os.path.join(out_dir, "model.pt"))
    else:
        save_adapter(os.path.join(out_dir, "adapter.npz"), model,
                     {"rank": cfg.lora_rank, "alpha": cfg.lora_alpha, "first_layer": cfg.lora_from_layer, "n_layer": model.cfg.n_layer})
    with open(os.path.join(out_dir, "training.json.tmp"), "w") as f:
        json.dump(training, f, indent=1)
    os.replace(os.path.join(out_dir, "training.json.tmp"), os.path.join(out_dir, "training.json"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--resume", action="store_true", help="start from out_dir/adapter.npz (optimizer state restarts)")
    ap.add_argument("--set", nargs="*", default=[], help="override: key=value (JSON values)")
    args = ap.parse_args()
    cfg = TrainConfig(**json.load(open(args.config)))
    for kv in args.set:
        k, v = kv.split("=", 1)
        setattr(cfg, k, json.loads(v))
    torch.manual_seed(cfg.seed)
    os.makedirs(cfg.out_dir, exist_ok=True)
    device = "cuda" if torch.cuda.is_available() else "cpu"

    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(cfg.base_dir, "tokenizer.json"))
    prior = {"tokens": 0, "steps": 0, "seconds": 0.0, "history": []}
    if cfg.tiny:
        model = MaskPredictor(TINY)
    else:
        model, _ = load_base(cfg.base_dir)
    if cfg.keep_layers:
        model.blocks = model.blocks[: cfg.keep_layers]
        model.cfg.n_layer = cfg.keep_layers
    if args.resume:
        load_adapter(model, os.path.join(cfg.out_dir, "adapter.npz"))
        prior = json.load(open(os.path.join(cfg.out_dir, "training.json")))
    elif not cfg.tiny:
        add_lora(model, cfg.lora_rank, cfg.lora_alpha, cfg.lora_from_layer)
    model.to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, betas=(0.9, 0.95), weight_decay=0.0)
    autocast = autocast_for(cfg, device)

    train = InfillExamples(read_texts(os.path.join(cfg.corpus_dir, "train.jsonl"), cfg.train_files), tok,
                           cfg.prefix_tokens, cfg.suffix_tokens, cfg.canvas_tokens, seed=cfg.seed + prior["steps"],
                           block_length=cfg.block_length)
    val_src = InfillExamples(read_texts(os.path.join(cfg.corpus_dir, "val.jsonl")), tok,
                             cfg.prefix_tokens, cfg.suffix_tokens, cfg.canvas_tokens, seed=0,
                             block_length=cfg.block_length)
    val = [tuple(t.to(device) for t in val_src.batch(cfg.batch_size)) for _ in range(cfg.eval_batches)]
    json.dump(asdict(cfg), open(os.path.join(cfg.out_dir, "config.json"), "w"), indent=2)
    log = open(os.path.join(cfg.out_dir, "log.jsonl"), "a")
    history = prior["history"]
    if not history:
        vl, va = evaluate(model, val, autocast)
        history.append({"step": 0, "tokens": 0, "val_loss": vl, "val_acc": va})
        log.write(json.dumps(history[-1]) + "\n")
        print(f"step 0: val loss {vl:.4f} masked acc {va:.3f} (the base, unadapted)", flush=True)

    start, last_eval, last_ckpt = time.time(), time.time(), time.time()
    tokens, step = prior["tokens"], prior["steps"]
    budget = cfg.max_minutes * 60
    while step < cfg.max_steps:
        elapsed = time.time() - start
        if elapsed > budget:
            break
        for g in opt.param_groups:
            g["lr"] = lr_at(cfg, step - prior["steps"], elapsed / budget)
        batch = tuple(t.to(device) for t in train.batch(cfg.batch_size))
        loss, acc = masked_loss(model, batch, autocast)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        opt.step()
        step += 1
        tokens += int((batch[2].sum(-1) > 0).sum())
        rec = {"step": step, "tokens": tokens, "loss": round(loss.item(), 4), "acc": round(acc.item(), 3),
               "lr": opt.param_groups[0]["lr"], "min": round((time.time() - start) / 60, 2)}
        log.write(json.dumps(rec) + "\n")
        log.flush()
        if step % 10 == 0:
            print(rec, flush=True)
        done = time.time() - start > budget or step >= cfg.max_steps
        if time.time() - last_eval > cfg.eval_minutes * 60 or done:
            vl, va = evaluate(model, val, autocast)
            history.append({"step": step, "tokens": tokens, "val_loss": vl, "val_acc": va})
            log.write(json.dumps(history[-1]) + "\n")
            print(f"step {step}: val loss {vl:.4f} masked acc {va:.3f}", flush=True)
            last_eval = time.time()
        if time.time() - last_ckpt > cfg.ckpt_minutes * 60 or done:
            training = {"tokens": tokens, "steps": step, "seconds": prior["seconds"] + time.time() - start,
                        "history": history, "seq_len": cfg.prefix_tokens + cfg.suffix_tokens + cfg.canvas_tokens + 2,
                        "hardware": f"{device}, {torch.get_num_threads()} torch threads, torch {torch.__version__}",
                        "config": asdict(cfg)}
            save(cfg.out_dir, model, cfg, training)
            last_ckpt = time.time()
    print(f"done: {step} steps, {tokens:,} tokens", flush=True)


if __name__ == "__main__":
    main()
