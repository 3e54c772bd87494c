"""
Byte-level BPE for code: a small trainer, an encoder, and a writer for the
`tokenizer.json` format that @huggingface/tokenizers (JS) loads.

The Python encoder below must give the same ids as the JS tokenizer for the same
text (test/tokenizer-parity checks it). Both sides split text with SPLIT_PATTERN,
map bytes to printable characters the way GPT-2's byte-level BPE does, and then
apply merges in rank order.
"""
import json
import heapq
import collections

import regex

# Special tokens get the first ids, in this order. The model contract relies on it.
SPECIAL_TOKENS = ["<|mask|>", "<|pad|>", "<|bos|>", "<|eos|>"]

# Pre-tokenizer. Identifiers (with one optional leading space), digit groups of up to
# three, punctuation runs, newlines (with the trailing blanks before them), and blank
# runs. Whitespace is spelled out instead of \s so that Python's `regex` and
# JavaScript's RegExp agree on every character.
_WS = r" \t\f\v"
SPLIT_PATTERN = (
    r"[ ]?[\p{L}_$][\p{L}\p{N}_$]*"
    r"|[ ]?\p{N}{1,3}"
    rf"|[ ]?[^{_WS}\r\n\p{{L}}\p{{N}}_$]+"
    rf"|[{_WS}]*[\r\n]+"
    rf"|[{_WS}]+(?![^{_WS}\r\n])"
    rf"|[{_WS}]+"
)
_split_re = regex.compile(SPLIT_PATTERN)


def bytes_to_unicode():
    """GPT-2's reversible map from the 256 byte values to printable characters."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars = keep[:]
    n = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(keep, chars)}


BYTE_TO_CHAR = bytes_to_unicode()
CHAR_TO_BYTE = {c: b for b, c in BYTE_TO_CHAR.items()}


def pre_tokenize(text):
    """Split text into words, each word as its byte-level character string."""
    return ["".join(BYTE_TO_CHAR[b] for b in w.encode("utf-8")) for w in _split_re.findall(text)]


def train_bpe(texts, vocab_size, min_count=2, log=print):
    """Learn merges until the vocabulary (specials + 256 bytes + merges) reaches vocab_size."""
    words = collections.Counter()
    for t in texts:
        words.update(pre_tokenize(t))
    base = [BYTE_TO_CHAR[b] for b in range(256)]
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS + base)}
    symbols = list(vocab)  # id -> string
    # Each unique word is a list of symbol ids with a count.
    seqs = [[vocab[c] for c in w] for w in words]
    counts = list(words.values())
    pair_count = collections.Counter()
    pair_where = collections.defaultdict(set)
    for wi, s in enumerate(seqs):
        for a, b in zip(s, s[1:]):
            pair_count[(a, b)] += counts[wi]
            pair_where[(a, b)].add(wi)
    heap = [(-c, symbols[a], symbols[b], a, b) for (a, b), c in pair_count.items()]
    heapq.heapify(heap)
    merges = []
    while len(symbols) < vocab_size and heap:
        negc, _, _, a, b = heapq.heappop(heap)
        c = pair_count.get((a, b), 0)
        if c != -negc:
            if c > 0:
                heapq.heappush(heap, (-c, symbols[a], symbols[b], a, b))
            continue
        if c < min_count:
            break
        new = len(symbols)
        symbols.append(symbols[a] + symbols[b])
        vocab[symbols[new]] = new
        merges.append((symbols[a], symbols[b]))
        touched = set()
        for wi in list(pair_where.pop((a, b), ())):
            s, n = seqs[wi], counts[wi]
            for x, y in zip(s, s[1:]):  # remove this word's old pairs
                pair_count[(x, y)] -= n
                pair_where[(x, y)].discard(wi)
            out, i = [], 0
            while i < len(s):
                if i + 1 < len(s) and s[i] == a and s[i + 1] == b:
                    out.append(new)
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            seqs[wi] = out
            for x, y in zip(out, out[1:]):  # add its new pairs
                pair_count[(x, y)] += n
                pair_where[(x, y)].add(wi)
                touched.add((x, y))
        pair_count.pop((a, b), None)
        for p in touched:
            if pair_count[p] > 0:
                heapq.heappush(heap, (-pair_count[p], symbols[p[0]], symbols[p[1]], p[0], p[1]))
        if len(merges) % 1000 == 0:
            log(f"  bpe: {len(merges)} merges, vocab {len(symbols)}")
    return vocab, merges


class Tokenizer:
    """Encoder/decoder for a tokenizer.json written by save_tokenizer_json."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            spec = json.load(f)
        model = spec["model"]
        self.vocab = model["vocab"]
        for t in spec["added_tokens"]:
            self.vocab[t["content"]] = t["id"]
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        self.ranks = {tuple(m): i for i, m in enumerate(model["merges"])}
        self.special = {t: self.vocab[t] for t in SPECIAL_TOKENS}
        self.cache = {}

    @property
    def vocab_size(self):
        return len(self.vocab)

    def _bpe(self, word):
        ids = self.cache.get(word)
        if ids is not None:
            return ids
        parts = list(word)
        while len(parts) > 1:
            best, best_rank = None, None
            for i in range(len(parts) - 1):
                r = self.ranks.get((parts[i], parts[i + 1]))
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = i, r
            if best is None:
                break
            parts[best:best + 2] = [parts[best] + parts[best + 1]]
        ids = [self.vocab[p] for p in parts]
        if len(self.cache) < 500_000:
            self.cache[word] = ids
        return ids

    def encode(self, text):
        out = []
        for w in pre_tokenize(text):
            out.extend(self._bpe(w))
        return out

    def decode(self, ids):
        data = bytearray()
        for i in ids:
            tok = self.id_to_token[i]
            if tok in self.special:
                continue
            data.extend(CHAR_TO_BYTE[c] for c in tok)
        return data.decode("utf-8", errors="replace")


def save_tokenizer_json(path, vocab, merges):
    added = [
        {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
        for i, t in enumerate(SPECIAL_TOKENS)
    ]
    spec = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": SPLIT_PATTERN}, "behavior": "Isolated", "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
            ],
        },
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": False,
            "vocab": {t: i for t, i in vocab.items() if t not in SPECIAL_TOKENS},
            "merges": [list(m) for m in merges],
        },
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(spec, f, ensure_ascii=False)
