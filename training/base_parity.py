"""
Is the converted base the same model as the GGUF file? Checked against two independent readers.

    python training/base_parity.py reference   # needs llama-cpp-python and/or transformers (+ accelerate)
    python training/base_parity.py check       # ours against training/fixtures/base-reference.json

`reference` runs the GGUF file through llama.cpp (its own dequantization, tokenizer and kernels,
which quantize activations to 8 bits inside Q4 matmuls) and through transformers' GGUF loader (a
separate LLaMA implementation on the same float32 weights), and stores their token ids, argmax
and a slice of logits for real code. `check` converts the GGUF file with base.py, tokenizes with
the tokenizer.json it writes, and prints the agreement as JSON (the test suite asserts on it).
"""
import json
import os
import sys

import numpy as np
import torch

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "base-reference.json")
BASE_DIR = "training/data/base"
ROW_STEP, COL_STEP = 5, 97

# Real code with the awkward parts: CRLF, tabs, non-ASCII, digits, emoji, a trailing space.
TEXTS = [
    "def moving_average(values, window=3):\n    \"\"\"Mean of each run of `window` values.\"\"\"\n"
    "    out = []\n    for i in range(len(values) - window + 1):\n        out.append(sum(values[i:i + window]) / window)\n"
    "    return out\n\n\nprint(moving_average([1, 2, 3, 4, 5]))\n",
    "export function clamp(x: number, lo: number, hi: number): number {\r\n\treturn Math.min(hi, Math.max(lo, x));\r\n}\r\n"
    "const greeting = `héllo wörld — ${'中文'} 🎉👩‍💻`; // 12345 \n",
    "\t\tif (a <= b && c !== 0x1F) {\n\t\t\tthrow new Error(\"bad\");\n\t\t}\n    \u00a0mixed  \t whitespace\n",
]


def logits_slice(lg):
    return np.asarray(lg)[::ROW_STEP, ::COL_STEP].round(4).tolist()


def reference():
    from base import fetch
    gguf_path = fetch(BASE_DIR)
    out = {"texts": TEXTS, "row_step": ROW_STEP, "col_step": COL_STEP}
    try:
        from llama_cpp import Llama
        llm = Llama(model_path=gguf_path, n_ctx=1024, logits_all=True, verbose=False, n_threads=2)
        runs = []
        for text in TEXTS:
            ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
            llm.reset()
            llm.eval(ids)
            lg = np.array(llm.scores[: len(ids)])
            runs.append({"ids": ids, "argmax": lg.argmax(-1).tolist(), "logits": logits_slice(lg)})
        out["llama_cpp"] = {"version": __import__("llama_cpp").__version__, "runs": runs}
    except ImportError:
        print("llama-cpp-python not installed: skipping that reference", file=sys.stderr)
    try:
        from transformers import AutoModelForCausalLM
        os.environ["HF_HUB_OFFLINE"] = "1"
        m = AutoModelForCausalLM.from_pretrained(os.path.abspath(BASE_DIR), gguf_file=os.path.basename(gguf_path),
                                                 torch_dtype=torch.float32)
        # Its GGUF loader leaves lm_head untied when the file has no output.weight; the base ties them.
        m.lm_head.weight = m.model.embed_tokens.weight
        m.eval()
        runs = []
        for i, text in enumerate(TEXTS):
            ids = out["llama_cpp"]["runs"][i]["ids"] if "llama_cpp" in out else None
            with torch.no_grad():
                lg = m(torch.tensor([ids])).logits[0].numpy()
            runs.append({"argmax": lg.argmax(-1).tolist(), "logits": logits_slice(lg)})
        out["transformers"] = {"version": __import__("transformers").__version__, "runs": runs}
    except ImportError:
        print("transformers not installed: skipping that reference", file=sys.stderr)
    os.makedirs(os.path.dirname(FIXTURE), exist_ok=True)
    json.dump(out, open(FIXTURE, "w"), ensure_ascii=False)
    print(f"wrote {FIXTURE}")


def check():
    from tokenizers import Tokenizer
    from base import load_base
    from model import causal_mask
    ref = json.load(open(FIXTURE, encoding="utf-8"))
    model, _ = load_base(BASE_DIR)
    model.eval()
    tok = Tokenizer.from_file(os.path.join(BASE_DIR, "tokenizer.json"))
    report = {"texts": []}
    for i, text in enumerate(ref["texts"]):
        ids = tok.encode(text).ids
        entry = {"tokens": len(ids), "round_trip": tok.decode(ids) == text}
        ours = None
        for name in ("llama_cpp", "transformers"):
            if name not in ref:
                continue
            run = ref[name]["runs"][i]
            ref_ids = ref["llama_cpp"]["runs"][i]["ids"]
            if name == "llama_cpp":
                entry["ids_equal_llama_cpp"] = ids == ref_ids
            if ours is None:
                n = len(ref_ids)
                with torch.no_grad():
                    ours = model(torch.tensor([ref_ids]), torch.arange(n)[None], causal_mask(1, n), *model.empty_past(1))[0][0].numpy()
            diff = np.abs(logits_slice(ours) - np.array(run["logits"]))
            entry[name] = {"argmax_agree": float((ours.argmax(-1) == np.array(run["argmax"])).mean()),
                           "max_abs_diff": float(diff.max()), "mean_abs_diff": float(diff.mean())}
        report["texts"].append(entry)
    print(json.dumps(report))


if __name__ == "__main__":
    {"reference": reference, "check": check}[sys.argv[1] if len(sys.argv) > 1 else "check"]()
