"""
Turn the corpus into training data: train the tokenizer, tokenize a token stream
for plain masked-diffusion examples, and cut infill examples at the text level.

  /usr/bin/python3 training/prepare.py --corpus training/data/corpus --out training/data/prepared

Infill examples are cut from the text and their prefix, middle and suffix are
tokenized separately, exactly as the editor does at the cursor: that way the
model sees the same token boundaries in training as in use (a cursor after
indentation, in the middle of a word, ...).
"""
import argparse
import json
import os
import random
import time
from multiprocessing import Pool

import numpy as np

from tokenizer import Tokenizer, save_tokenizer_json, train_bpe

PREFIX_CHARS = 2400   # text windows around the span; the trainer fits tokens to its sequence length
SUFFIX_CHARS = 1200
MAX_MIDDLE_CHARS = 600


def read_docs(path, max_bytes, seed):
    docs = [json.loads(line) for line in open(path, encoding="utf-8")]
    random.Random(seed).shuffle(docs)
    out, total = [], 0
    for d in docs:
        if total >= max_bytes:
            break
        out.append(d)
        total += len(d["text"])
    return out


def tokenizer_sample(docs, nbytes):
    """An even mix of Python and JS/TS text for the BPE trainer."""
    by_lang = {"python": [], "js": []}
    for d in docs:
        by_lang["python" if d["lang"] == "python" else "js"].append(d["text"])
    sample = []
    for texts in by_lang.values():
        n = 0
        for t in texts:
            if n >= nbytes // 2:
                break
            sample.append(t)
            n += len(t)
    return sample


def pick_span(text, rng):
    """Choose (start, end) of a middle in character offsets: a line, several lines, or a random range."""
    kind = rng.random()
    if kind < 0.7:
        lines = text.split("\n")
        offsets, pos = [], 0
        for line in lines:
            offsets.append(pos)
            pos += len(line) + 1
        candidates = [i for i, l in enumerate(lines) if l.strip()]
        if not candidates:
            return None
        i = rng.choice(candidates)
        line = lines[i]
        indent = len(line) - len(line.lstrip())
        if kind < 0.35:  # single line: from the indentation, or from a cursor inside the line
            start = offsets[i] + (indent if rng.random() < 0.6 else rng.randint(indent, len(line)))
            end = offsets[i] + len(line)
            if rng.random() < 0.3 and end > start:  # the cursor has text to its right
                end = rng.randint(start + 1, end)
        else:            # several lines, starting after the indentation
            j = min(len(lines) - 1, i + rng.randint(1, 8))
            start = offsets[i] + indent
            end = offsets[j] + len(lines[j]) + (1 if rng.random() < 0.3 else 0)
        end = min(end, len(text))
    else:                # a random character range
        start = rng.randint(0, len(text) - 1)
        end = min(len(text), start + rng.randint(1, 200))
    if end - start > MAX_MIDDLE_CHARS or end <= start:
        return None
    return start, end


def _worker_init(tok_path):
    global _tok
    _tok = Tokenizer(tok_path)


def _encode_doc(text):
    return np.array(_tok.encode(text), dtype=np.uint16)


def _make_infill(args):
    text, seed, per_doc = args
    rng = random.Random(seed)
    out = []
    for _ in range(per_doc):
        span = pick_span(text, rng)
        if span is None:
            continue
        s, e = span
        pre = _tok.encode(text[max(0, s - PREFIX_CHARS):s])
        mid = _tok.encode(text[s:e])
        suf = _tok.encode(text[e:e + SUFFIX_CHARS])
        out.append((pre, mid, suf))
    return out


def build_infill(pool, docs, per_doc, seed):
    jobs = [(d["text"], seed * 1_000_003 + i, per_doc) for i, d in enumerate(docs)]
    flat, rows, offset = [], [], 0
    for examples in pool.imap(_make_infill, jobs, chunksize=16):
        for pre, mid, suf in examples:
            flat.append(np.array(pre + mid + suf, dtype=np.uint16))
            rows.append((offset, len(pre), len(mid), len(suf)))
            offset += len(flat[-1])
    tokens = np.concatenate(flat) if flat else np.zeros(0, dtype=np.uint16)
    return tokens, np.array(rows, dtype=np.int64).reshape(-1, 4)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default="training/data/corpus")
    ap.add_argument("--out", default="training/data/prepared")
    ap.add_argument("--vocab-size", type=int, default=8192)
    ap.add_argument("--tokenizer-bytes", type=int, default=16_000_000)
    ap.add_argument("--stream-bytes", type=int, default=60_000_000, help="training text tokenized into the stream")
    ap.add_argument("--infill-docs", type=int, default=20000)
    ap.add_argument("--infill-per-doc", type=int, default=4)
    ap.add_argument("--val-infill-docs", type=int, default=300)
    ap.add_argument("--tokenizer", default=None, help="reuse this tokenizer.json instead of training one")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1337)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()

    train_docs = read_docs(os.path.join(args.corpus, "train.jsonl"), args.stream_bytes, args.seed)
    val_docs = read_docs(os.path.join(args.corpus, "val.jsonl"), 1 << 40, args.seed)
    tok_path = os.path.join(args.out, "tokenizer.json")
    if args.tokenizer:
        with open(args.tokenizer, encoding="utf-8") as src, open(tok_path, "w", encoding="utf-8") as dst:
            dst.write(src.read())
    else:
        sample = tokenizer_sample(train_docs, args.tokenizer_bytes)
        print(f"tokenizer: training BPE on {sum(map(len, sample)) / 1e6:.1f} MB, vocab {args.vocab_size}", flush=True)
        vocab, merges = train_bpe(sample, args.vocab_size)
        save_tokenizer_json(tok_path, vocab, merges)
        print(f"tokenizer: {len(vocab)} tokens in {time.time() - t0:.0f}s", flush=True)

    with Pool(args.workers, initializer=_worker_init, initargs=(tok_path,)) as pool:
        eos = Tokenizer(tok_path).special["<|eos|>"]
        meta = {"vocab_size": Tokenizer(tok_path).vocab_size}
        for split, docs in (("train", train_docs), ("val", val_docs)):
            parts = []
            for ids in pool.imap(_encode_doc, [d["text"] for d in docs], chunksize=32):
                parts.append(ids)
                parts.append(np.array([eos], dtype=np.uint16))
            stream = np.concatenate(parts)
            np.save(os.path.join(args.out, f"{split}_stream.npy"), stream)
            nbytes = sum(len(d["text"].encode("utf-8")) for d in docs)
            meta[f"{split}_stream_tokens"] = int(len(stream))
            meta[f"{split}_bytes_per_token"] = round(nbytes / max(1, len(stream)), 3)
            print(f"{split}: {len(stream):,} stream tokens from {len(docs):,} files ({time.time() - t0:.0f}s)", flush=True)
        infill_sets = (("train", train_docs[:args.infill_docs], args.infill_per_doc, args.seed),
                       ("val", val_docs[:args.val_infill_docs], 2, args.seed + 1))
        for split, docs, per_doc, seed in infill_sets:
            tokens, rows = build_infill(pool, docs, per_doc, seed)
            np.savez(os.path.join(args.out, f"{split}_infill.npz"), tokens=tokens, rows=rows)
            meta[f"{split}_infill_examples"] = int(len(rows))
            print(f"{split}: {len(rows):,} infill examples ({time.time() - t0:.0f}s)", flush=True)
    with open(os.path.join(args.corpus, "manifest.json")) as f:
        meta["corpus_manifest"] = json.load(f)["id"]
    with open(os.path.join(args.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
    print(json.dumps(meta, indent=2))


if __name__ == "__main__":
    main()
