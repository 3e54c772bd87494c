"""
Export a checkpoint to the model contract (models/CONTRACT.md): one ONNX graph for
full and cached passes, model.json, tokenizer.json, and a parity fixture.

  /usr/bin/python3 training/export.py --ckpt training/runs/default/ckpt.pt --out models/default --name default

Weights are stored as float16 (computation stays float32: each weight is cast once
when onnxruntime loads the graph), which halves the file. The PyTorch reference
logits in parity.json are computed with the same float16-rounded weights, so
onnxruntime and PyTorch must agree within 1e-3 (test/model-host checks it).
"""
import argparse
import hashlib
import json
import os
import platform
import shutil

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from model import MaskPredictor, ModelConfig

INPUTS = ["input_ids", "position_ids", "attention_mask", "past_key", "past_value"]
OUTPUTS = ["logits", "present_key", "present_value"]


def export_onnx(model, path, opset=17):
    c = model.cfg
    ids = torch.randint(4, c.vocab_size, (1, 8))
    pos = torch.arange(4, 12).unsqueeze(0)
    mask = torch.ones(1, 12, dtype=torch.int64)
    past = torch.zeros(c.n_layer, 1, c.n_head, 4, c.head_dim)
    torch.onnx.export(
        model, (ids, pos, mask, past, past), path, opset_version=opset,
        input_names=INPUTS, output_names=OUTPUTS,
        # Folding would store a transposed copy of the tied embedding for the output head;
        # onnxruntime folds the transposes itself when it loads the graph.
        do_constant_folding=False,
        dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "position_ids": {0: "batch", 1: "seq"},
                      "attention_mask": {0: "batch", 1: "past_plus_seq"},
                      "past_key": {1: "batch", 3: "past"}, "past_value": {1: "batch", 3: "past"},
                      "logits": {0: "batch", 1: "seq"}, "present_key": {1: "batch", 3: "seq"},
                      "present_value": {1: "batch", 3: "seq"}},
    )


def weights_to_fp16(path, min_elements=256):
    """Store large float32 initializers as float16, each followed by a Cast back to float32."""
    m = onnx.load(path)
    casts, keep = [], []
    for init in m.graph.initializer:
        if init.data_type == TensorProto.FLOAT and np.prod(init.dims) >= min_elements:
            arr = numpy_helper.to_array(init).astype(np.float16)
            half = numpy_helper.from_array(arr, init.name + "_fp16")
            keep.append(half)
            casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT, name=init.name + "_cast"))
        else:
            keep.append(init)
    del m.graph.initializer[:]
    m.graph.initializer.extend(keep)
    nodes = casts + list(m.graph.node)
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    onnx.checker.check_model(m)
    onnx.save(m, path)


def parity_fixture(model, specials, seed=0):
    """Inputs and reference logits for a full pass and a cached block pass."""
    c = model.cfg
    g = torch.Generator().manual_seed(seed)
    n, block = 48, (24, 32)
    ids = torch.randint(4, c.vocab_size, (1, n), generator=g)
    ids[0, 0], ids[0, -1] = specials["bos"], specials["eos"]
    ids[0, block[0]:block[1]] = specials["mask"]
    pos = torch.arange(n).unsqueeze(0)
    mask = torch.ones(1, n, dtype=torch.int64)
    empty = torch.zeros(c.n_layer, 1, c.n_head, 0, c.head_dim)
    with torch.no_grad():
        logits, k, v = model(ids, pos, mask, empty, empty)
        # Block pass: two block tokens decided, the block's stale cache entries masked out.
        bids = ids[:, block[0]:block[1]].clone()
        bids[0, 0], bids[0, 3] = 100, 200
        bpos = pos[:, block[0]:block[1]]
        bmask = torch.ones(1, n + bids.shape[1], dtype=torch.int64)
        bmask[0, block[0]:block[1]] = 0
        blogits, _, _ = model(bids, bpos, bmask, k, v)
    stride, rows = 13, [0, 5, 20, 24, 27, 31, 40, 47]  # a vocabulary slice at a few positions keeps the file small
    def sample(x):
        return [[round(v, 5) for v in row[::stride].tolist()] for row in x]
    return {
        "stride": stride,
        "full": {"input_ids": ids[0].tolist(), "rows": rows, "logits": sample(logits[0, rows])},
        "block": {"start": block[0], "input_ids": bids[0].tolist(), "attention_mask": bmask[0].tolist(),
                  "logits": sample(blogits[0])},
        "full_argmax": logits[0].argmax(-1).tolist(),
    }


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--tokenizer", default="training/data/prepared/tokenizer.json")
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", required=True)
    args = ap.parse_args()

    ck = torch.load(args.ckpt, map_location="cpu")
    model = MaskPredictor(ModelConfig(**ck["model_config"]))
    model.load_state_dict(ck["model"])
    model.eval()
    with torch.no_grad():  # the reference uses exactly the weights that ship
        for p in model.parameters():
            p.copy_(p.half().float())
    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, "model.onnx")
    export_onnx(model, onnx_path)
    weights_to_fp16(onnx_path)
    shutil.copyfile(args.tokenizer, os.path.join(args.out, "tokenizer.json"))
    tok = json.load(open(args.tokenizer, encoding="utf-8"))
    specials = {t["content"].strip("<|>"): t["id"] for t in tok["added_tokens"]}
    with open(os.path.join(args.out, "parity.json"), "w") as f:
        json.dump(parity_fixture(model, specials), f)

    c = model.cfg
    old = {}
    manifest_path = os.path.join(args.out, "model.json")
    if os.path.exists(manifest_path):
        old = json.load(open(manifest_path))
    ev = ck.get("eval", {})
    manifest = {
        "format": "diffusion-infill-model/1",
        "name": args.name,
        "files": {"onnx": "model.onnx", "tokenizer": "tokenizer.json"},
        "vocab_size": c.vocab_size,
        "special_tokens": specials,
        "n_layer": c.n_layer, "n_head": c.n_head, "head_dim": c.head_dim, "d_model": c.d_model,
        "ffn_hidden": c.ffn_hidden,
        "max_positions": c.max_positions,
        "train_seq_len": ck["train_config"]["seq_len"],
        "parameters": model.num_parameters(),
        "weights_dtype": "float16",
        "onnx_bytes": os.path.getsize(onnx_path),
        "onnx_sha256": sha256(onnx_path),
        "training": {
            "steps": ck["step"], "tokens": ck["tokens"], "seconds": round(ck.get("seconds", 0)),
            "val_loss": ev.get("val_loss"), "val_infill_loss": ev.get("val_infill_loss"),
            "corpus_manifest": ck.get("corpus_manifest"),
            "hardware": f"{platform.machine()} {os.cpu_count()} CPU threads" if ck["train_config"].get("device", "auto") != "cuda" else "cuda",
            "torch": torch.__version__,
            "config": ck["train_config"],
        },
        "metrics": {**old.get("metrics", {}), "masked_acc_t015": ev.get("acc_t015"), "masked_acc_t050": ev.get("acc_t050")},
    }
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=2)
    print(json.dumps({k: manifest[k] for k in ("name", "parameters", "onnx_bytes")}, indent=2))


if __name__ == "__main__":
    main()
