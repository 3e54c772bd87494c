"""
Export a checkpoint to the model contract (models/CONTRACT.md, format 2).

  python training/export.py --adapter training/runs/default/adapter.npz --out models/default --name default --dtype int8
  python training/export.py --base --out models/large --name large --dtype float32    # the unadapted base
  python training/export.py --tiny --out models/tiny --name tiny                      # random, small: for tests

int8 is onnxruntime's dynamic quantization (int8 weights with one scale per output column,
activations quantized at run time; the embedding gathered from 8 bits too). With --ranges (from
smooth.py) the weights are first smoothed so that the activations quantize well, and the few
matmuls with extreme inputs stay in float: without it the int8 graph agrees with the float one on
59% of next tokens, with it on 88%. The graph's weights
go to external files of at most 48 MiB each, so the repository never holds one large file.
parity.json holds PyTorch reference logits for a context pass and a cached canvas pass, computed
with the float32 weights; the tests compare onnxruntime against it (exactly for float32 graphs,
by agreement of the top token for int8).
"""
import argparse
import hashlib
import json
import os
import platform
import shutil
import tempfile

import numpy as np
import onnx
import torch
from onnx import external_data_helper

from base import BASE_LICENSE, BASE_NAME, WHEEL, load_base, sha256_file as sha256, special_tokens
from lora import materialize
from model import TINY, MaskPredictor, causal_mask
from smooth import ALPHA, float_matmuls, smooth

def input_names(n_layer):
    """The cache comes in per layer (past_key.0 ...): a stacked [layers, ...] input would be split
    into layers inside the graph, a copy of the whole cache every pass."""
    return ["input_ids", "position_ids", "attention_mask", "logits_from",
            *[f"past_key.{i}" for i in range(n_layer)], *[f"past_value.{i}" for i in range(n_layer)]]



OUTPUTS = ["logits", "present_key", "present_value", "log_z"]
PIECE_BYTES = 48 << 20


class Exported(torch.nn.Module):
    """The model with an untied output head, so the quantizer sees both matrices as initializers."""

    def __init__(self, model, head_scale=None):
        super().__init__()
        self.model = model
        head = model.embed.weight.detach().t()
        # smooth.py divided the final norm by head_scale: the head (not the embedding) takes it back.
        self.head = torch.nn.Parameter((head if head_scale is None else head * head_scale[:, None]).contiguous())

    def forward(self, input_ids, position_ids, attention_mask, logits_from, *past):
        n = len(past) // 2
        h, k, v = self.model.hidden(input_ids, position_ids, attention_mask, past[:n], past[n:])
        # A context pass needs the last position's logits only: skipping the others saves the
        # output head (vocab x d per position) and a [S, vocab] copy out of the runtime.
        logits = h[:, logits_from[0]:] @ self.head
        # Each row's log-normalizer, so the sampler's confidences need no exp over the vocabulary in
        # JS (~1 ms a row there, a few dozen rows a request); the runtime's vectorised Exp does it.
        top = logits.max(-1, keepdim=True).values
        log_z = (logits - top).exp().sum(-1).log() + top.squeeze(-1)
        return logits, k, v, log_z


def export_onnx(model, path, opset=17, head_scale=None):
    c = model.cfg
    ids = torch.randint(20, c.vocab_size, (1, 8))
    pos = torch.arange(4, 12).unsqueeze(0)
    mask = torch.ones(1, 8, 12, dtype=torch.int64)
    past = [torch.zeros(1, c.n_kv_head, 4, c.head_dim) for _ in range(2 * c.n_layer)]
    names = input_names(c.n_layer)
    torch.onnx.export(
        Exported(model, head_scale), (ids, pos, mask, torch.tensor([2]), *past), path, opset_version=opset,
        input_names=names, output_names=OUTPUTS, do_constant_folding=True,
        dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "position_ids": {0: "batch", 1: "seq"},
                      "attention_mask": {0: "batch", 1: "seq", 2: "past_plus_seq"},
                      **{n: {0: "batch", 2: "past"} for n in names if n.startswith("past_")},
                      "logits": {0: "batch", 1: "seq_from"}, "present_key": {1: "batch", 3: "seq"},
                      "present_value": {1: "batch", 3: "seq"}, "log_z": {0: "batch", 1: "seq_from"}},
    )


def quantize_int8(src, dst, keep_float=()):
    from onnxruntime.quantization import QuantType, quantize_dynamic
    names = {n.name for n in onnx.load(src, load_external_data=False).graph.node}
    missing = [n for n in keep_float if n not in names]
    if missing:
        raise SystemExit(f"matmuls to keep in float are not in the graph: {missing}")
    quantize_dynamic(src, dst, weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=list(keep_float),
                     op_types_to_quantize=["MatMul", "Gather"], extra_options={"MatMulConstBOnly": True})


def to_fp16(src, dst):
    from onnxruntime.transformers.float16 import convert_float_to_float16
    m = convert_float_to_float16(onnx.load(src), keep_io_types=True)
    onnx.save(m, dst)


def save_in_pieces(src, out_dir, name="model.onnx"):
    """Graph in model.onnx, weights in model.onnx.N.weights files of at most PIECE_BYTES each."""
    m = onnx.load(src)
    pieces, sizes, current = [], [], None
    for t in m.graph.initializer:
        if not t.HasField("raw_data"):  # typed fields (e.g. float_data) cannot point to external data
            t.CopyFrom(onnx.numpy_helper.from_array(onnx.numpy_helper.to_array(t), t.name))
        raw = t.raw_data
        if len(raw) < 1024:  # small tensors stay inside the graph
            continue
        if current is None or sizes[-1] + len(raw) > PIECE_BYTES:
            current = f"{name}.{len(pieces)}.weights"
            pieces.append(open(os.path.join(out_dir, current), "wb"))
            sizes.append(0)
        external_data_helper.set_external_data(t, location=current, offset=sizes[-1], length=len(raw))
        pieces[-1].write(raw)
        sizes[-1] += len(raw)
        t.ClearField("raw_data")
        t.data_location = onnx.TensorProto.EXTERNAL
    for f in pieces:
        f.close()
    with open(os.path.join(out_dir, name), "wb") as f:
        f.write(m.SerializeToString())
    return [f"{name}.{i}.weights" for i in range(len(pieces))]


# Long enough that the int8 graph's top-token agreement is measured on ~170 context positions, not ~40,
# where one position moved it by 2.5 points across the test's floor.
PARITY_TEXT = (
    "import json\nfrom pathlib import Path\n\n\n"
    "def moving_average(values, window=3):\n    out = []\n    for i in range(len(values) - window + 1):\n"
    "        out.append(sum(values[i:i + window]) / window)\n    return out\n\n\n"
    "class Ledger:\n    \"\"\"Amounts per account, saved as JSON.\"\"\"\n\n"
    "    def __init__(self, path):\n        self.path = Path(path)\n        self.accounts = {}\n\n"
    "    def add(self, account, amount):\n        self.accounts.setdefault(account, []).append(amount)\n\n"
    "    def totals(self):\n        return {name: sum(amounts) for name, amounts in self.accounts.items()}\n\n"
    "    def save(self):\n        self.path.write_text(json.dumps(self.accounts, indent=2))\n"
)
SUFFIX_TOKENS, CANVAS_TOKENS = 16, 12


def parity_fixture(model, specials, tokenizer):
    """Inputs and reference logits: a causal context pass over real code (suffix first), then a
    canvas pass against its cache. Real text, because on random ids a trained model's logits are
    flat and their argmax is a coin toss for any runtime."""
    c = model.cfg
    text = tokenizer.encode(PARITY_TEXT).ids
    cut = len(text) - SUFFIX_TOKENS - CANVAS_TOKENS   # the prefix ends here; the canvas covers the next tokens
    ids = torch.tensor([[specials["suffix"], *text[-SUFFIX_TOKENS:], specials["prefix"], *text[:cut]]])
    n, canvas = ids.shape[1], CANVAS_TOKENS
    cids = torch.full((1, canvas), specials["mask"])
    cids[0, 0], cids[0, 3] = text[cut], text[cut + 3]
    empty = torch.zeros(c.n_layer, 1, c.n_kv_head, 0, c.head_dim)
    with torch.no_grad():
        logits, k, v = model(ids, torch.arange(n)[None], causal_mask(1, n), empty, empty)
        clogits, _, _ = model(cids, torch.arange(n, n + canvas)[None], torch.ones(1, canvas, n + canvas, dtype=torch.long), k, v)
    stride, rows = 97, [0, 7, 15, n - 1]  # a vocabulary slice at a few positions keeps the file small
    def sample(x):
        return [[round(v, 4) for v in row[::stride].tolist()] for row in x]
    def top5(x):  # a quantized runtime may swap near-tied top tokens; it should stay among these
        return x.topk(5, dim=-1).indices.tolist()
    return {"stride": stride,
            "context": {"input_ids": ids[0].tolist(), "rows": rows, "logits": sample(logits[0, rows]),
                        "argmax": logits[0].argmax(-1).tolist(), "top5": top5(logits[0])},
            "canvas": {"input_ids": cids[0].tolist(), "logits": sample(clogits[0]), "argmax": clogits[0].argmax(-1).tolist(),
                       "top5": top5(clogits[0])}}


def load(args):
    if args.tiny:
        torch.manual_seed(args.seed)
        model = MaskPredictor(TINY)
        if not args.tiny_weights:
            return model, {"tokens": 0, "note": "random weights in a small shape"}, {}
        model.load_state_dict(torch.load(args.tiny_weights, map_location="cpu"))
        training = json.load(open(os.path.join(os.path.dirname(args.tiny_weights), "training.json")))
        training.pop("history", None)
        return model, {**training, "note": "trained from scratch in a small shape, for the tests"}, {}
    if args.base:
        model, _ = load_base(args.base_dir)
        return model, {"tokens": 0, "note": "the base, converted, sentinels initialised, not adapted"}, {}
    # A shipped model folder holds adapter.json ({"training", "metrics"}); a run folder train.py's training.json.
    folder = os.path.dirname(args.adapter)
    if os.path.exists(os.path.join(folder, "adapter.json")):
        meta = json.load(open(os.path.join(folder, "adapter.json")))
    else:
        meta = {"training": json.load(open(os.path.join(folder, "training.json"))), "metrics": {}}
    return materialize(args.base_dir, args.adapter), meta["training"], meta.get("metrics", {})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--adapter", help="adapter.npz from train.py; the base comes from the pinned wheel")
    src.add_argument("--base", action="store_true")
    src.add_argument("--tiny", action="store_true")
    ap.add_argument("--base-dir", default="training/data/base")
    ap.add_argument("--seed", type=int, default=0, help="--tiny: the random initialisation")
    ap.add_argument("--tiny-weights", help="--tiny: weights from train.py with tiny=true (model.pt)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--dtype", choices=["float32", "float16", "int8"], default="float32")
    ap.add_argument("--ranges", help="int8: activation ranges from smooth.py, to smooth the weights before quantizing")
    args = ap.parse_args()

    model, training, metrics = load(args)
    model.eval()
    specials = special_tokens()
    os.makedirs(args.out, exist_ok=True)
    for f in os.listdir(args.out):
        if f.endswith(".weights") or f == "model.onnx":
            os.remove(os.path.join(args.out, f))
    from tokenizers import Tokenizer
    parity = parity_fixture(model, specials, Tokenizer.from_file(os.path.join(args.base_dir, "tokenizer.json")))
    head_scale, keep_float = None, []
    if args.ranges:
        if args.dtype != "int8":
            raise SystemExit("--ranges is for --dtype int8: smoothing only helps quantized activations")
        ranges = dict(np.load(args.ranges))
        head_scale, keep_float = smooth(model, ranges), float_matmuls(ranges)
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "raw.onnx")
        export_onnx(model, raw, head_scale=head_scale)
        final = os.path.join(tmp, "final.onnx")
        {"float32": lambda a, b: shutil.copyfile(a, b), "float16": to_fp16,
         "int8": lambda a, b: quantize_int8(a, b, keep_float)}[args.dtype](raw, final)
        weights = save_in_pieces(final, args.out)
    shutil.copyfile(os.path.join(args.base_dir, "tokenizer.json"), os.path.join(args.out, "tokenizer.json"))
    with open(os.path.join(args.out, "parity.json"), "w") as f:
        json.dump(parity, f)

    c = model.cfg
    manifest_path = os.path.join(args.out, "model.json")
    files = [os.path.join(args.out, x) for x in ["model.onnx", *weights]]
    manifest = {
        "format": "diffusion-infill-model/2",
        "name": args.name,
        "files": {"onnx": "model.onnx", "tokenizer": "tokenizer.json", "weights": weights},
        "vocab_size": c.vocab_size,
        "special_tokens": specials,
        "n_layer": c.n_layer, "n_head": c.n_head, "n_kv_head": c.n_kv_head, "head_dim": c.head_dim,
        "d_model": c.d_model, "ffn_hidden": c.ffn_hidden, "max_positions": c.max_positions,
        "train_seq_len": training.get("seq_len", 512),
        "parameters": model.num_parameters(),
        "weights_dtype": args.dtype,
        "int8_smoothing": {"alpha": ALPHA, "ranges_sha256": sha256(args.ranges), "float_matmuls": keep_float} if args.ranges else None,
        "onnx_bytes": sum(os.path.getsize(f) for f in files),
        "onnx_sha256": sha256(files[0]),
        "base": None if args.tiny else {"name": BASE_NAME, "license": BASE_LICENSE,
                                        "package": f"{WHEEL['name']}=={WHEEL['version']}", "sha256": WHEEL["sha256"]},
        "training": {**training, "exported_with": f"torch {torch.__version__} on {platform.machine()}"},
        "adapter_sha256": sha256(args.adapter) if args.adapter else None,
        "metrics": metrics,
    }
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=2)
    print(json.dumps({k: manifest[k] for k in ("name", "parameters", "weights_dtype", "onnx_bytes")}))


if __name__ == "__main__":
    main()
