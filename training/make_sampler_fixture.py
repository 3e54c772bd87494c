"""
test/fixtures/sampler-reference.json: what the reference sampler (sample.py's infill()) decodes on
models/tiny, for test/model-host/sampler.test.ts to hold the TypeScript sampler to, token for token.

Both run the same graph: the committed models/tiny/model.onnx (int8), here through onnxruntime in an
adapter with the model interface infill() uses, there through ModelSession. An int8 graph quantizes
activations with one scale per pass, so the two samplers must run the same passes in the same shapes
(infill() folds a decided block into the next block's first pass, as sampler.ts does) and one thread.

  training/.venv/bin/python training/make_sampler_fixture.py
"""
import json
import os
import re

import numpy as np
import onnxruntime as ort
import torch
from tokenizers import Tokenizer

from sample import infill

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MODEL = os.path.join(ROOT, "models", "tiny")
OUT = os.path.join(ROOT, "test", "fixtures", "sampler-reference.json")

PREFIX = "def mean(values):\n    total = 0\n    for v in values:\n        total += v\n    return "
SUFFIX = "\n\n\nprint(mean([1, 2, 3]))\n"
# (canvas, steps per block, block length, single line, min tokens). This model ends its
# completions early, so most cases ban <|pad|> before minTokens to decode several blocks.
SETTINGS = [(16, 16, 8, False, 1), (24, 8, 8, False, 1), (24, 6, 8, False, 24), (12, 12, 4, False, 12), (20, 24, 8, False, 20),
            (10, 10, 3, False, 10), (24, 2, 8, False, 24), (40, 8, 8, False, 40), (24, 1, 8, False, 24), (32, 16, 8, True, 32),
            (32, 4, 8, True, 32), (20, 3, 5, False, 14)]


class OnnxModel:
    """The exported graph behind MaskPredictor's call: (ids, positions, mask, past K, past V, logits_from)."""

    def __init__(self, path, manifest):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        self.shape = (manifest["n_layer"], manifest["n_kv_head"], manifest["head_dim"])

    def empty_past(self, batch):
        layers, heads, dim = self.shape
        z = torch.zeros(layers, batch, heads, 0, dim)
        return z, z

    def __call__(self, input_ids, position_ids, attention_mask, past_key, past_value, logits_from=0):
        logits, k, v = self.session.run(["logits", "present_key", "present_value"], {
            "input_ids": input_ids.numpy().astype(np.int64), "position_ids": position_ids.numpy().astype(np.int64),
            "attention_mask": attention_mask.numpy().astype(np.int64), "logits_from": np.array([logits_from], np.int64),
            "past_key": past_key.numpy().astype(np.float32), "past_value": past_value.numpy().astype(np.float32)})
        return torch.from_numpy(logits), torch.from_numpy(k), torch.from_numpy(v)


def main():
    manifest = json.load(open(os.path.join(MODEL, "model.json")))
    specials = manifest["special_tokens"]
    tok = Tokenizer.from_file(os.path.join(MODEL, manifest["files"]["tokenizer"]))
    model = OnnxModel(os.path.join(MODEL, manifest["files"]["onnx"]), manifest)
    # The TypeScript tokenizer's sets: lineBreakTokens (a token that starts a new line) and newlineTokens (a line break anywhere).
    special = set(specials.values())
    text = {i: tok.decode([i], skip_special_tokens=False) for i in range(manifest["vocab_size"]) if i not in special}
    starts_line = frozenset(i for i, t in text.items() if re.match(r"[ \t]*[\r\n]", t))
    newline = frozenset(i for i, t in text.items() if re.search(r"[\r\n]", t))
    prefix_ids = tok.encode(PREFIX, add_special_tokens=False).ids
    suffix_ids = tok.encode(SUFFIX, add_special_tokens=False).ids
    cases = []
    for canvas, steps, block, single, min_tokens in SETTINGS:
        ids, passes = infill(model, prefix_ids, suffix_ids, specials, starts_line, newline, canvas=canvas, steps=steps,
                             block_length=block, single_line=single, min_tokens=min_tokens)
        cases.append({"canvas": canvas, "steps": steps, "blockLength": block, "singleLine": single, "minTokens": min_tokens,
                      "tokens": ids, "passes": passes})
        print(canvas, steps, block, single, min_tokens, passes, repr(tok.decode(ids)))
    with open(OUT, "w") as f:
        json.dump({"model": "models/tiny", "onnx_sha256": manifest["onnx_sha256"], "prefix_ids": prefix_ids,
                   "suffix_ids": suffix_ids, "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
