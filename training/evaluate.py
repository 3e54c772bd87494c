"""
Quality of a checkpoint (or of the unadapted base used autoregressively), in PyTorch.

    python training/evaluate.py --adapter training/runs/default/adapter.npz --holes bench/holes-heldout.jsonl \
        --humaneval single,multi,random --limit 100 --out bench/results/quality-default.json
    python training/evaluate.py --base --mode ar --holes ... --humaneval single     # the base, prefix only
    python training/evaluate.py --base --mode copy --holes ...                       # copy the next line

Holes: exact match and edit similarity (the same definitions as bench/eval.ts), by language and
kind; single-line holes are decoded in single-line mode and cut at the first line break, as the
editor shows them. HumanEval-Infilling: pass@1, greedy; each program runs in a subprocess with a
timeout and, where `unshare -n` works, without network. The benchmark never enters training.
"""
import argparse
import gzip
import json
import os
import re
import subprocess
import tempfile
import time

import torch

from base import special_tokens
from lora import materialize
from metrics import edit_similarity, subsample
from sample import autoregressive, infill

EVAL_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "eval", "humaneval-infilling")
# The context windows the product reads: the settings table's maxPrefixTokens / maxSuffixTokens
# (model-host/src/settings/engine-settings.ts, their one home; the engine has no defaults of its own).
PREFIX_TOKENS, SUFFIX_TOKENS, CHARS_PER_TOKEN_MAX = 320, 64, 8
SETS = {"single": ("HumanEval-SingleLineInfilling.jsonl.gz", 24), "multi": ("HumanEval-MultiLineInfilling.jsonl.gz", 64),
        "random": ("HumanEval-RandomSpanInfillingLight.jsonl.gz", 48)}


def isolation():
    ok = subprocess.run(["bash", "-c", "unshare -n true"], capture_output=True).returncode == 0
    return "unshare -n " if ok else ""


def passes(program, prefix_cmd, timeout=10):
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "prog.py"), "w") as f:
            f.write(program)
        cmd = f"ulimit -v 2097152; exec timeout -s KILL {timeout} {prefix_cmd}python3 prog.py"
        return subprocess.run(["bash", "-c", cmd], cwd=d, capture_output=True, env={"PATH": os.environ["PATH"], "HOME": d}).returncode == 0


class Completer:
    """One way of filling a hole: the infill sampler, or the base continuing the prefix."""

    def __init__(self, model, tok, mode, steps, block):
        self.model, self.tok, self.mode = model, tok, mode
        self.steps, self.block = steps, block
        self.specials = special_tokens()
        vocab = tok.get_vocab()
        # As the engine's tokenizer sets: a line break anywhere ends a single-line completion; one that
        # starts the token (after spaces or tabs, Ġ and ĉ here) may not open it.
        self.newlines = frozenset(i for t, i in vocab.items() if "Ċ" in t or "č" in t)
        self.line_breaks = frozenset(i for t, i in vocab.items() if re.match("[Ġĉ]*[Ċč]", t))
        self.passes = 0

    def encode(self, s):
        return self.tok.encode(s).ids if s else []

    def __call__(self, prefix, suffix, canvas, single_line):
        # Token healing, as data.py trains it and the engine does it: the prefix's trailing spaces
        # and tabs are written by the model as the start of the middle, then taken off again.
        healed = prefix[len(prefix.rstrip(" \t")):]
        text = self.complete(prefix[: len(prefix) - len(healed)], suffix, canvas, single_line)
        return text[len(healed):] if text.startswith(healed) else text.lstrip(" \t")

    def complete(self, prefix, suffix, canvas, single_line):
        if self.mode == "copy":  # the trivial baseline: the next non-blank line of the file, as it stands
            rest = [l for l in suffix.split("\n")[1:] if l.strip()]
            return rest[0].strip() if rest else ""
        # The engine's context budget: the infill model reads PREFIX_TOKENS + SUFFIX_TOKENS, the
        # autoregressive baseline the same total from the prefix alone.
        pre = self.encode(prefix[-CHARS_PER_TOKEN_MAX * (PREFIX_TOKENS + SUFFIX_TOKENS):])
        if self.mode == "ar":
            banned = [v for k, v in self.specials.items()]
            ids = autoregressive(self.model, pre[-(PREFIX_TOKENS + SUFFIX_TOKENS):], self.newlines if single_line else set(),
                                 max_tokens=canvas, banned=banned, first_banned=self.line_breaks if single_line else ())
            self.passes += len(ids)
        else:
            suf = self.encode(suffix[: CHARS_PER_TOKEN_MAX * SUFFIX_TOKENS])[:SUFFIX_TOKENS]
            ids, n = infill(self.model, pre[-PREFIX_TOKENS:], suf, self.specials, self.line_breaks, self.newlines,
                            canvas=canvas, steps=self.steps or self.block, block_length=self.block,
                            single_line=single_line)
            self.passes += n
        text = self.tok.decode(ids, skip_special_tokens=True)
        if single_line and "\n" in text:
            text = text[: text.index("\n")]
        return text


def eval_holes(complete, path, limit):
    holes = subsample([json.loads(l) for l in open(path, encoding="utf-8")], limit)
    by = {}
    for h in holes:
        single = "\n" not in h["middle"].strip("\n")
        got = complete(h["prefix"], h["suffix"], 24 if single else 64, single).rstrip()
        want = h["middle"].rstrip()
        for key in ("all", h["language"], f"{h['language']}/{h.get('kind', '?')}"):
            s = by.setdefault(key, {"n": 0, "exact": 0, "sim": 0.0})
            s["n"] += 1
            s["exact"] += got == want
            s["sim"] += edit_similarity(got, want)
    return {k: {"holes": s["n"], "exact_match": round(s["exact"] / s["n"], 4), "edit_similarity": round(s["sim"] / s["n"], 4)}
            for k, s in sorted(by.items())}


def eval_humaneval(complete, sets, limit):
    iso, out = isolation(), {}
    for name in sets:
        fname, canvas = SETS[name]
        tasks = subsample([json.loads(l) for l in gzip.open(os.path.join(EVAL_DIR, fname), "rt")], limit)
        ok = 0
        for t in tasks:
            got = complete(t["prompt"], t["suffix"], canvas, name == "single")
            if name == "single":
                got += "\n"
            elif name == "multi" and not got.endswith("\n"):
                got += "\n"
            ok += passes(f"{t['prompt']}{got}{t['suffix']}\n{t['test']}\ncheck({t['entry_point']})\n", iso)
        out[name] = {"tasks": len(tasks), "passed": ok, "pass_at_1": round(ok / len(tasks), 4)}
        print(name, out[name], flush=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--adapter")
    src.add_argument("--base", action="store_true")
    ap.add_argument("--base-dir", default="training/data/base")
    ap.add_argument("--mode", choices=["infill", "ar", "copy"], default="infill")
    ap.add_argument("--holes", nargs="*", default=[])
    ap.add_argument("--humaneval", default="")
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--holes-limit", type=int, default=0)
    ap.add_argument("--steps", type=int, default=0, help="passes per block (0 = the block length: one token per pass)")
    ap.add_argument("--block", type=int, default=8)
    ap.add_argument("--out")
    args = ap.parse_args()

    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(args.base_dir, "tokenizer.json"))
    model = None if args.mode == "copy" else materialize(args.base_dir, None if args.base else args.adapter).eval()
    complete = Completer(model, tok, args.mode, args.steps, args.block)
    t0 = time.time()
    result = {"model": args.adapter or "base", "mode": args.mode, "steps": args.steps, "block": args.block,
              "holes": {}, "humaneval": {}}
    for path in args.holes:
        result["holes"][os.path.basename(path)] = eval_holes(complete, path, args.holes_limit)
        print(path, json.dumps(result["holes"][os.path.basename(path)].get("all")), flush=True)
    if args.humaneval:
        result["humaneval"] = eval_humaneval(complete, args.humaneval.split(","), args.limit)
    result["seconds"] = round(time.time() - t0)
    result["passes"] = complete.passes
    print(json.dumps(result, indent=1))
    if args.out:
        os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
        json.dump(result, open(args.out, "w"), indent=1)


if __name__ == "__main__":
    main()
