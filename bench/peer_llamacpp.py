"""
The peer: llama.cpp (through llama-cpp-python) running the same base GGUF autoregressively, prefix
only, greedy to the end of the line, with its prompt cache on, as llama.vscode would use it.

    python bench/peer_llamacpp.py --holes FILE.jsonl [--limit 100] [--threads 2] --out bench/results/peer.json

Per hole it times two completions: `cold` (a new file: the whole prefix window is evaluated) and
`typed` (one more character of the middle typed: llama.cpp reuses the cached prompt and evaluates
only the tokens that changed). Exact match and edit similarity are taken on the cold completion,
with the same definitions as training/evaluate.py. The prefix window is the engine's context
budget (512 tokens), so both read the same amount of text.
"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "training"))
from evaluate import edit_similarity, subsample  # noqa: E402

CONTEXT_TOKENS = 512


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--holes", required=True)
    ap.add_argument("--gguf", default="training/data/base/SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out")
    args = ap.parse_args()
    from llama_cpp import Llama
    llm = Llama(model_path=args.gguf, n_ctx=CONTEXT_TOKENS + 64, n_threads=args.threads, n_batch=CONTEXT_TOKENS, verbose=False)
    holes = [h for h in map(json.loads, open(args.holes, encoding="utf-8")) if "\n" not in h["middle"].strip("\n")]
    holes = subsample(holes, args.limit)

    def complete(prefix):
        ids = llm.tokenize(prefix.encode("utf-8"), add_bos=False, special=False)[-CONTEXT_TOKENS:]
        t = time.perf_counter()
        out = llm.create_completion(ids, max_tokens=24, temperature=0.0, stop=["\n"])
        return out["choices"][0]["text"], (time.perf_counter() - t) * 1000

    cold, typed, exact, sim = [], [], 0, 0.0
    for h in holes:
        got, ms = complete(h["prefix"])
        cold.append(ms)
        want = h["middle"].rstrip()
        exact += got.rstrip() == want
        sim += edit_similarity(got.rstrip(), want)
        _, ms = complete(h["prefix"] + h["middle"][:1])
        typed.append(ms)

    def pct(xs, q):
        return round(statistics.quantiles(xs, n=100)[q - 1], 1) if len(xs) > 1 else xs[0]
    result = {"peer": "llama.cpp via llama-cpp-python " + __import__("llama_cpp").__version__, "holes": len(holes),
              "threads": args.threads, "exact_match": round(exact / len(holes), 4), "edit_similarity": round(sim / len(holes), 4),
              "cold_ms": {"p50": pct(cold, 50), "p95": pct(cold, 95)}, "typed_ms": {"p50": pct(typed, 50), "p95": pct(typed, 95)}}
    print(json.dumps(result))
    if args.out:
        json.dump(result, open(args.out, "w"), indent=1)


if __name__ == "__main__":
    main()
