"""
Measure a checkpoint and record the numbers in the exported model.json:
masked-token accuracy at t = 0.15 and t = 0.5 on validation windows, validation
loss, and exact match of single-line infills on the validation split (canvas of
24 tokens, greedy, the completion cut at its first newline as the editor does).

  /usr/bin/python3 training/evaluate.py --ckpt training/runs/default/ckpt.pt --model-dir models/default
"""
import argparse
import json
import os
import random
import time

import numpy as np
import torch

from data import Batches
from model import MaskPredictor, ModelConfig
from sample import infill
from tokenizer import Tokenizer


def single_line_holes(val_jsonl, n, seed):
    """Holes where the cursor sits after a line's indentation and the rest of the line is missing."""
    docs = [json.loads(l) for l in open(val_jsonl, encoding="utf-8")]
    rng = random.Random(seed)
    holes = []
    while len(holes) < n:
        text = rng.choice(docs)["text"]
        lines = text.split("\n")
        i = rng.randrange(len(lines))
        line = lines[i]
        if len(line.strip()) < 4:
            continue
        start = sum(len(l) + 1 for l in lines[:i]) + len(line) - len(line.lstrip())
        end = start + len(line.strip())
        holes.append((text[:start], text[start:end], text[end:]))
    return holes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--data-dir", default="training/data/prepared")
    ap.add_argument("--corpus", default="training/data/corpus")
    ap.add_argument("--holes", type=int, default=200)
    ap.add_argument("--batches", type=int, default=16)
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)

    ck = torch.load(args.ckpt, map_location="cpu")
    model = MaskPredictor(ModelConfig(**ck["model_config"]))
    model.load_state_dict(ck["model"])
    model.eval()
    tok = Tokenizer(os.path.join(args.model_dir, "tokenizer.json"))
    specials = {k.strip("<|>"): v for k, v in tok.special.items()}
    seq_len = ck["train_config"]["seq_len"]
    val = Batches(args.data_dir, "val", seq_len, 0.5, ck["train_config"]["max_canvas"])

    metrics = {}
    with torch.no_grad():
        for name, t in (("masked_acc_t015", 0.15), ("masked_acc_t050", 0.5)):
            rng = np.random.default_rng(7)
            hits = total = 0
            for _ in range(args.batches):
                ids, noisy, weights, attend = val.get(8, rng, t=t, kind="plain")
                pos = torch.arange(ids.shape[1]).expand_as(ids)
                logits, _, _ = model(noisy, pos, attend, *model.empty_past(ids.shape[0]))
                sel = weights > 0
                hits += (logits[sel].argmax(-1) == ids[sel]).sum().item()
                total += sel.sum().item()
            metrics[name] = round(hits / total, 4)

    t0 = time.time()
    exact = 0
    holes = single_line_holes(os.path.join(args.corpus, "val.jsonl"), args.holes, seed=11)
    for prefix, middle, suffix in holes:
        pre = tok.encode(prefix)[-320:]
        suf = tok.encode(suffix)[:128]
        out = tok.decode(infill(model, pre, suf, specials, canvas=24, steps=24, block_length=8))
        exact += out.split("\n")[0].rstrip() == middle.rstrip()
    metrics["single_line_exact_match"] = round(exact / len(holes), 4)
    metrics["single_line_holes"] = len(holes)
    metrics["single_line_setup"] = "val split, cursor after indentation, canvas 24, 24 steps, block 8, greedy"
    print(f"single-line exact match {exact}/{len(holes)} in {time.time() - t0:.0f}s")

    path = os.path.join(args.model_dir, "model.json")
    manifest = json.load(open(path))
    manifest["metrics"] = {**manifest.get("metrics", {}), **metrics}
    with open(path, "w") as f:
        json.dump(manifest, f, indent=2)
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
