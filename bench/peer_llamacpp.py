"""
The peer: llama.cpp (through llama-cpp-python) running the same base GGUF autoregressively, prefix
only, greedy to the end of the line, with its prompt cache on, as llama.vscode would use it.

    python bench/peer_llamacpp.py --holes FILE.jsonl [--limit 100] [--threads 2] --out bench/results/peer.json

Per hole it times two completions: `cold` (a new file: the whole prefix window is evaluated) and
`typed` (one more character of the middle typed: llama.cpp reuses the cached prompt and evaluates
only the tokens that changed). Exact match and edit similarity are taken on the cold completion,
with the same definitions as training/evaluate.py. The prefix window (--window, tokens) is the
engine's context budget, so both read the same amount of text (bench/peer.ts passes the language
server's prefix + suffix budgets). A window that would slide with every keystroke defeats a prompt
cache, so, as an editor plugin keeps its window's start put (llama.vscode's ring of lines), the
window starts at a line boundary chosen on the cold prompt and kept for the typed one.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time


sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "training"))
from metrics import edit_similarity, subsample  # noqa: E402  (torch-free, shared with evaluate.py)


CONTEXT_TOKENS = 512


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--holes", required=True)
    ap.add_argument("--gguf", default="training/data/base/SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--window", type=int, default=CONTEXT_TOKENS, help="prefix tokens the peer reads")
    ap.add_argument("--out")
    args = ap.parse_args()
    from llama_cpp import Llama
    llm = Llama(model_path=args.gguf, n_ctx=args.window + 64, n_threads=args.threads, n_batch=args.window, verbose=False)
    holes = [h for h in map(json.loads, open(args.holes, encoding="utf-8")) if "\n" not in h["middle"].strip("\n")]
    holes = subsample(holes, args.limit)

    def window_start(prefix):
        """Byte offset of the first line start whose tail fits the window (0 when all of it fits)."""
        data = prefix.encode("utf-8")
        ids = llm.tokenize(data, add_bos=False, special=False)
        if len(ids) <= args.window:
            return 0
        tail = len(llm.detokenize(ids[-args.window:]))
        newline = data.find(b"\n", len(data) - tail)
        return newline + 1 if newline >= 0 else len(data) - tail

    def complete(prefix, start):
        # Tokenizing is part of the latency, as it is of ours.
        t = time.perf_counter()
        ids = llm.tokenize(prefix.encode("utf-8")[start:], add_bos=False, special=False)[-args.window:]
        # A hole at the very start of a file: the base then reads its end-of-text marker (id 0), as in training/sample.py.
        ids = ids or [0]
        out = llm.create_completion(ids, max_tokens=24, temperature=0.0, stop=["\n"])
        return out["choices"][0]["text"], (time.perf_counter() - t) * 1000

    cold, typed, exact, sim, typed_exact, typed_sim = [], [], 0, 0.0, 0, 0.0
    for h in holes:
        start = window_start(h["prefix"])
        got, ms = complete(h["prefix"], start)
        cold.append(ms)
        want = h["middle"].rstrip()
        exact += got.rstrip() == want
        sim += edit_similarity(got.rstrip(), want)
        # One character typed: the rest of the line is what the ghost text should then show.
        got, ms = complete(h["prefix"] + h["middle"][:1], start)
        typed.append(ms)
        typed_exact += got.rstrip() == want[1:]
        typed_sim += edit_similarity(got.rstrip(), want[1:])

    def pct(xs, q):
        return round(statistics.quantiles(xs, n=100)[q - 1], 1) if len(xs) > 1 else xs[0]
    result = {"peer": "llama.cpp via llama-cpp-python " + __import__("llama_cpp").__version__, "holes": len(holes),
              "threads": args.threads, "window": args.window, "exact_match": round(exact / len(holes), 4), "edit_similarity": round(sim / len(holes), 4),
              "typed_exact_match": round(typed_exact / len(holes), 4), "typed_edit_similarity": round(typed_sim / len(holes), 4),
              "cold_ms": {"p50": pct(cold, 50), "p95": pct(cold, 95)}, "typed_ms": {"p50": pct(typed, 50), "p95": pct(typed, 95)},
              # Peak RSS of this process: Python, llama.cpp and the model (Linux reports KiB).
              "rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    print(json.dumps(result))
    if args.out:
        json.dump(result, open(args.out, "w"), indent=1)


if __name__ == "__main__":
    main()
