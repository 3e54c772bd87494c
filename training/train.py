"""
Adapt the pretrained base to block-diffusion infilling (see data.py for the examples).

    python training/train.py --config training/configs/default.json [--resume] [--init models/default/adapter.npz]
    torchrun --nproc_per_node N training/train.py --config ...      # data parallel: CPUs (gloo) or GPUs (nccl)

The loss is cross-entropy on every supervised position of the packed rows (data.py: every middle token,
each step), averaged over them. What keeps the base's knowledge: the context runs causally as in
pretraining, the base's weights stay frozen and only low-rank adapters on the upper blocks train
(lora.py; the bottom blocks are exactly the base's, which also shortens the backward pass on a CPU),
and of the tied embedding only the sentinel rows train, so the vocabulary's meaning cannot drift.

Runs for `max_minutes` of wall clock (a session is short) with a cosine schedule over `schedule_tokens`
supervised tokens (so a run that stops and resumes follows one schedule), evaluates on fixed validation
batches every `eval_minutes`, and checkpoints atomically: adapter.npz (what ships) and checkpoint.npz
(the trainable weights in float32 and AdamW's moments, what --resume continues from).
"""
import argparse
import contextlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from base import load_base
from data import CROSS_FILE_SHARE, NEEDED_SHARE, OUTLINE_SHARE, InfillExamples, read_files
from lora import add_lora, load_adapter, save_adapter
from model import TINY, MaskPredictor


@dataclass
class TrainConfig:
    out_dir: str = "training/runs/default"
    corpus_dir: str = "training/data/corpus"
    base_dir: str = "training/data/base"
    batch_size: int = 4        # packed rows per step (per process)
    row_tokens: int = 512      # a packed row: several examples, each context + clean middle + two noisy copies
    prefix_tokens: int = 192
    suffix_tokens: int = 64
    canvas_tokens: int = 96    # the longest middle, in tokens (longer multi-line middles are cut at a line end)
    extra_tokens: int = 0      # > 0: some examples first read chunks of other files of the folder (the server's cross-file context)
    cross_file_share: float = CROSS_FILE_SHARE   # of the training examples with extra_tokens (validation keeps data.py's shares)
    needed_share: float = NEEDED_SHARE           # of those: chunks holding names the middle needs
    outline_share: float = OUTLINE_SHARE         # of those: also the outline of a sibling defining one
    block_length: int = 8
    lr: float = 3e-4
    min_lr_ratio: float = 0.1
    warmup_steps: int = 20
    schedule_tokens: int = 2_000_000   # supervised tokens the cosine schedule spans, across resumed runs
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


def loss_on(model, batch, autocast):
    """Mean cross-entropy and top-1 accuracy over the supervised positions, and how many there are."""
    ids, pos, mask, targets = batch
    past = model.empty_past(ids.shape[0], ids.device)
    with autocast():
        h, _, _ = model.hidden(ids, pos, mask, *past)
        sel = targets != -100
        logits = model.logits(h[sel]).float()  # only the positions that carry a loss
    y = targets[sel]
    return F.cross_entropy(logits, y), (logits.argmax(-1) == y).float().mean(), int(sel.sum())


def autocast_for(cfg, device):
    """bf16 autocast where torch has it (2.x); torch 1.13 (Debian's, for the smoke run) stays in float32."""
    if cfg.bf16 and int(torch.__version__.split(".")[0]) >= 2:
        return lambda: torch.autocast(device, dtype=torch.bfloat16)
    return contextlib.nullcontext


@torch.no_grad()
def evaluate(model, val_batches, autocast):
    model.eval()
    losses, accs, _ = zip(*[loss_on(model, b, autocast) for b in val_batches])
    model.train()
    return sum(l.item() for l in losses) / len(losses), sum(a.item() for a in accs) / len(accs)


def trainable(model):
    return {n: p for n, p in model.named_parameters() if p.requires_grad}


def to_half(t):
    """A moment in float16 scaled by its largest value (a third of float32's size; the checkpoint is committed)."""
    top = float(t.abs().max()) or 1.0
    return (t / top).half().cpu().numpy(), np.array(top)


def save_checkpoint(path, model, opt):
    """The trainable weights in float32 and AdamW's state, as .npz (no pickle). Of the embedding only
    the sentinel rows train, so only their rows (and moments) are kept. The second moment is stored as
    its square root, which spans half the orders of magnitude in float16."""
    from base import SENTINELS
    rows = [tid for tid, _ in SENTINELS.values()]
    out = {}
    for n, p in trainable(model).items():
        st = opt.state.get(p, {})
        pick = (lambda t: t[rows]) if n == "embed.weight" else (lambda t: t)
        out[f"w/{n}"] = pick(p.detach()).cpu().numpy()
        if st:
            out[f"m/{n}"], out[f"ms/{n}"] = to_half(pick(st["exp_avg"]))
            out[f"v/{n}"], out[f"vs/{n}"] = to_half(pick(st["exp_avg_sq"]).sqrt())
            out[f"s/{n}"] = np.array(float(st["step"]))
    tmp = path + ".tmp.npz"
    np.savez(tmp, **out)
    os.replace(tmp, path)


def load_checkpoint(path, model, opt):
    from base import SENTINELS
    rows = torch.tensor([tid for tid, _ in SENTINELS.values()])
    z = np.load(path, allow_pickle=False)
    with torch.no_grad():
        for n, p in trainable(model).items():
            put = lambda dst, src: dst.__setitem__(rows, src) if n == "embed.weight" else dst.copy_(src)
            put(p, torch.from_numpy(z[f"w/{n}"]).to(p.device))
            if f"m/{n}" in z.files:
                m, v = torch.zeros_like(p), torch.zeros_like(p)
                put(m, torch.from_numpy((z[f"m/{n}"] * z[f"ms/{n}"]).astype(np.float32)).to(p.device))
                put(v, torch.from_numpy(((z[f"v/{n}"] * z[f"vs/{n}"]) ** 2).astype(np.float32)).to(p.device))
                m[v == 0] = 0  # a second moment lost to float16's range: no step there rather than a huge one
                opt.state[p] = {"step": torch.tensor(float(z[f"s/{n}"])), "exp_avg": m, "exp_avg_sq": v}


def sync_grads(params, world):
    """Data parallel by hand: average the gradients of every process in one all-reduce (the model's
    forward is called through .hidden(), which a DDP wrapper would not see)."""
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world
    at = 0
    for p, g in zip(params, grads):
        p.grad = flat[at : at + g.numel()].view_as(g)
        at += g.numel()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--resume", action="store_true", help="continue from out_dir/checkpoint.npz (weights and optimizer)")
    ap.add_argument("--init", help="start from this adapter (its weights; a fresh optimizer)")
    ap.add_argument("--set", nargs="*", default=[], help="override: key=value (JSON values)")
    args = ap.parse_args()
    cfg = TrainConfig(**json.load(open(args.config)))
    for kv in args.set:
        k, v = kv.split("=", 1)
        setattr(cfg, k, json.loads(v))
    world, rank = int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("RANK", 0))
    device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu"
    if world > 1:
        dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
        if device.startswith("cuda"):
            torch.cuda.set_device(device)
    lead = rank == 0
    torch.manual_seed(cfg.seed)
    os.makedirs(cfg.out_dir, exist_ok=True)

    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(cfg.base_dir, "tokenizer.json"))
    prior = {"tokens": 0, "supervised": 0, "steps": 0, "seconds": 0.0, "history": []}
    if cfg.tiny:
        model = MaskPredictor(TINY)
    else:
        model, _ = load_base(cfg.base_dir)
    if cfg.keep_layers:
        model.blocks = model.blocks[: cfg.keep_layers]
        model.cfg.n_layer = cfg.keep_layers
    if args.init:
        load_adapter(model, args.init)
    elif not cfg.tiny:
        add_lora(model, cfg.lora_rank, cfg.lora_alpha, cfg.lora_from_layer)
    model.to(device).train()
    params = list(trainable(model).values())
    opt = torch.optim.AdamW(params, lr=cfg.lr, betas=(0.9, 0.95), weight_decay=0.0)
    if args.resume:
        load_checkpoint(os.path.join(cfg.out_dir, "checkpoint.npz"), model, opt)
        prior = {**prior, **json.load(open(os.path.join(cfg.out_dir, "training.json")))}
    autocast = autocast_for(cfg, device.split(":")[0])
    shape = dict(prefix_tokens=cfg.prefix_tokens, suffix_tokens=cfg.suffix_tokens, canvas_tokens=cfg.canvas_tokens,
                 block_length=cfg.block_length, row_tokens=cfg.row_tokens, extra_tokens=cfg.extra_tokens)
    train = InfillExamples(None, tok, files=read_files(os.path.join(cfg.corpus_dir, "train.jsonl"), cfg.train_files),
                           seed=cfg.seed + prior["steps"] * world + rank, cross_file_share=cfg.cross_file_share,
                           needed_share=cfg.needed_share, outline_share=cfg.outline_share, **shape)
    val_src = InfillExamples(None, tok, files=read_files(os.path.join(cfg.corpus_dir, "val.jsonl")), seed=0, **shape)
    val = [tuple(t.to(device) for t in val_src.batch(cfg.batch_size)) for _ in range(cfg.eval_batches)] if lead else []
    log = None
    history = prior["history"]
    if lead:
        json.dump(asdict(cfg), open(os.path.join(cfg.out_dir, "config.json"), "w"), indent=2)
        log = open(os.path.join(cfg.out_dir, "log.jsonl"), "a")
        if not history:
            vl, va = evaluate(model, val, autocast)
            history.append({"step": 0, "supervised": 0, "val_loss": vl, "val_acc": va})
            log.write(json.dumps(history[-1]) + "\n")
            print(f"step 0: val loss {vl:.4f} acc {va:.3f} (the starting weights)", flush=True)

    start, last_eval, last_ckpt = time.time(), time.time(), time.time()
    tokens, supervised, step = prior["tokens"], prior["supervised"], prior["steps"]
    budget = cfg.max_minutes * 60
    done = False
    while not done:
        for g in opt.param_groups:
            g["lr"] = lr_at(cfg, step, supervised / cfg.schedule_tokens)
        batch = tuple(t.to(device) for t in train.batch(cfg.batch_size))
        loss, acc, n_sup = loss_on(model, batch, autocast)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if world > 1:
            sync_grads(params, world)
        torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        opt.step()
        step += 1
        tokens += batch[0].numel() * world
        supervised += n_sup * world
        # Every process must agree to stop at the same step, or the others wait in all_reduce for ever.
        stop = torch.tensor([float(time.time() - start > budget or step >= cfg.max_steps)])
        if world > 1:
            dist.all_reduce(stop, op=dist.ReduceOp.MAX)
        done = bool(stop.item())
        if not lead:
            continue
        rec = {"step": step, "tokens": tokens, "supervised": supervised, "loss": round(loss.item(), 4),
               "acc": round(acc.item(), 3), "lr": opt.param_groups[0]["lr"], "min": round((time.time() - start) / 60, 2)}
        log.write(json.dumps(rec) + "\n")
        log.flush()
        if step % 10 == 0:
            print(rec, flush=True)
        if time.time() - last_eval > cfg.eval_minutes * 60 or done:
            vl, va = evaluate(model, val, autocast)
            history.append({"step": step, "supervised": supervised, "val_loss": vl, "val_acc": va})
            log.write(json.dumps(history[-1]) + "\n")
            print(f"step {step}: val loss {vl:.4f} acc {va:.3f}", flush=True)
            last_eval = time.time()
        if time.time() - last_ckpt > cfg.ckpt_minutes * 60 or done:
            seconds = prior["seconds"] + time.time() - start
            training = {"tokens": tokens, "supervised": supervised, "steps": step, "seconds": seconds,
                        "supervised_per_cpu_second": round(supervised / seconds / max(1, world), 2), "history": history,
                        "hardware": f"{world} x {device}, {torch.get_num_threads()} torch threads, torch {torch.__version__}",
                        "config": asdict(cfg)}
            save(cfg.out_dir, model, opt, cfg, training)
            last_ckpt = time.time()
    if lead:
        print(f"done: {step} steps, {supervised:,} supervised tokens", flush=True)
    if world > 1:
        dist.destroy_process_group()


def save(out_dir, model, opt, cfg, training):
    if cfg.tiny:  # no base to adapt: the whole (small) model
        torch.save(model.state_dict(), os.path.join(out_dir, "model.pt"))
    else:
        save_adapter(os.path.join(out_dir, "adapter.npz"), model,
                     {"rank": cfg.lora_rank, "alpha": cfg.lora_alpha, "first_layer": cfg.lora_from_layer, "n_layer": model.cfg.n_layer})
        save_checkpoint(os.path.join(out_dir, "checkpoint.npz"), model, opt)
    with open(os.path.join(out_dir, "training.json.tmp"), "w") as f:
        json.dump(training, f, indent=1)
    os.replace(os.path.join(out_dir, "training.json.tmp"), os.path.join(out_dir, "training.json"))


if __name__ == "__main__":
    main()
