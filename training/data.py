"""
Infill examples in the contract's layout, every middle position supervised, cut from corpus files on the fly.

A hole is cut the way the editor cuts one (`cut_hole`): the rest of a line, 2-20 lines after a
block opener, a whole function body, a few whole lines or a random character span as Fill Selection
cuts them, and plain continuation (an empty suffix), which keeps the base's own objective in the mix.
Prefix, middle and suffix are tokenized separately, as the engine does; spaces and tabs at the end of
the prefix move to the start of the middle (token healing, as the engine does it).

One example is one segment of a packed row (the vectorised block-diffusion layout of BD3-LM and
Fast-dLLM v2):

    context = <|suffix|> suffix <|prefix|> prefix      causal, as the base reads text
    clean   = middle + <|pad|> up to a block boundary    causal: the blocks the sampler has decided
    noisy A = clean, masked per block                  block b reads context + clean blocks < b + itself
    noisy B = clean, masked with A's complement

so every block of the middle is learned in one pass, in the state the block sampler meets it
(sample.py): the blocks before it decided and read causally, this one partly masked. With the token
shift, middle token i is predicted at the position before it: a block's first token at the last
clean position before the block (the sampler commits it from the context's last logits, so it is
always clean in the noisy copies), the others at noisy positions of their block, wherever they are
masked. A and B mask complementary sets, so each middle token carries a loss in every step, and the
clean stream's own next-token loss is the base's objective on the middle. `<|pad|>` ends the middle
(at least one), which is how the model learns the span's length.

With `extra_tokens`, a share of examples (`cross_file_share`) first reads chunks of other files of the same
folder, chosen by the identifiers they share with the code around the hole, in the text the language server
writes (language-server/src/context-sources/select.ts): a comment line `// Path: dir/file.js` (`#` for Python)
and the chunk's lines, the most similar chunk last, cut to the budget from its start, all before <|suffix|>.
In a share of those (`needed_share`) the chunks are the ones holding names the middle uses and the window around
the hole does not: without them the extra context is mostly unrelated to the middle, and the model learns to
read past it (measured: the run's checkpoints stopped copying a sibling's function name that stage 3, never
trained on extra context, copied). So the model learns to use a name it was shown from another file.
In a share of those (`outline_share`) the outline of a sibling defining such a name comes last, nearest the
code, as the server places the outlines of the files the cursor's file imports: definition lines only, a form
the model otherwise never meets.

Several segments share one row of `row_tokens` (positions restart, attention stays inside a segment),
so short single-line holes cost what they need; the row's last example gives up some prefix to fill it.
"""
import json
import os
import random
import re

import torch

from base import SENTINELS

MASK, PAD, SUFFIX, PREFIX = (SENTINELS[k][0] for k in ("mask", "pad", "suffix", "prefix"))
KINDS = {"line": 2, "line-cursor": 1.5, "opener": 2.5, "body": 1.5, "lines": 1.5, "span": 2, "continuation": 0.5}
OPENERS = (":", "{", "(", "[", "=>", "->")
# The validation examples keep these; a run's training examples may draw more (train.py's config).
CROSS_FILE_SHARE = 0.3
NEEDED_SHARE = 0.5   # of the cross-file examples: chunks chosen for the names the middle needs
OUTLINE_SHARE = 0.0  # of those: also the outline of a sibling defining such a name (validation has none)
CHUNK_LINES, CHUNK_STEP = 16, 8   # as the server's chunks (context-sources/chunks.ts)
MIN_SIMILARITY = 0.04
IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]+")
MIN_PREFIX = 48  # the last example of a packed row may have a shorter prefix than the others, not shorter than this


def read_texts(path, limit=0):
    texts = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            texts.append(json.loads(line)["text"])
            if limit and len(texts) >= limit:
                break
    return texts


def read_files(path, limit=0):
    """(path, language, text) of each corpus file."""
    files = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            files.append((r.get("path", ""), r.get("lang", ""), r["text"]))
            if limit and len(files) >= limit:
                break
    return files


def identifiers(text):
    return set(IDENTIFIER.findall(text))


def similarity(a, b):
    return len(a & b) / max(1, len(a | b))


def shown_path(path):
    """A corpus path as the editor names a workspace file: without the corpus's source tag and npm package folder."""
    source, _, rest = path.partition(":")
    return rest.split("/", 1)[-1] if source == "npm" else rest


def cross_file_text(query, siblings, lang, max_chars, rnd, needed=frozenset()):
    """Chunks of sibling files most similar to `query` (identifier sets), in the server's format;
    with `needed` (names the middle uses), only chunks holding some of them, the most first."""
    chunks = []
    for path, text in rnd.sample(siblings, min(12 if needed else 3, len(siblings))):
        lines = text.split("\n")
        for at in range(0, max(1, len(lines) - CHUNK_STEP), CHUNK_STEP):
            chunk = "\n".join(lines[at : at + CHUNK_LINES]).rstrip("\n") + "\n"
            ids = identifiers(chunk)
            score = similarity(query, ids) + (len(needed & ids) if needed else 0)
            if score >= (1 if needed else MIN_SIMILARITY):
                chunks.append((score, path, chunk))
    comment = "#" if lang == "python" else "//"
    chosen, chars = [], 0
    for score, path, chunk in sorted(chunks, key=lambda c: -c[0])[:2]:
        piece = f"{comment} Path: {path}\n{chunk}"
        if chars + len(piece) <= max_chars:
            chosen.append(piece)
            chars += len(piece)
    return "".join(reversed(chosen))  # the most similar last, nearest the code


# A sibling's outline as the server gives the files the cursor's file imports: its definition lines in
# file order, exported ones chosen first when not all fit (language-server/src/context-sources/imports.ts;
# test/training/outline.test.ts holds the two to the same lines).
EXPORTED = re.compile(r"^\s*(export\b|module\.exports\b|exports\.[\w$]+\s*=)")
DEFINITION = [re.compile(p) for p in (
    r"^\s*(export\s+)?(default\s+)?(async\s+)?function\b",
    r"^\s*(export\s+)?(default\s+)?(abstract\s+)?class\b",
    r"^\s*(export\s+)?(const|let|var)\s+[\w$]+\s*=\s*(async\s+)?(function\b|class\b|\([^)]*\)\s*=>|[\w$]+\s*=>)",
    r"^\s*(export\s+)?(interface|type|enum)\s+[\w$]+",
    r"^\s*(async\s+)?def\s+\w+",
    r"^\s*class\s+\w+",
    r"^\s+(static\s+)?(async\s+)?\*?(?!(if|for|while|switch|catch|return)\b)[\w$]+\s*\([^)]*\)\s*\{\s*$",
    r"^\s*(module\.exports|exports\.[\w$]+)\s*=",
    r"^\s*export\s*\{",
)]
MAX_OUTLINE_CHARS, MAX_OUTLINE_LINE = 600, 100


def outline(text):
    """The definition lines of a file, each ending with a line break, as one string ('' when none)."""
    found = []
    for i, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n")):
        if any(d.search(raw) for d in DEFINITION):
            found.append((i, raw[:MAX_OUTLINE_LINE].rstrip(), bool(EXPORTED.search(raw))))
    chosen, chars = [], 0
    for f in [f for f in found if f[2]] + [f for f in found if not f[2]]:
        if chars + len(f[1]) + 1 <= MAX_OUTLINE_CHARS:
            chosen.append(f)
            chars += len(f[1]) + 1
    return "".join(f"{line}\n" for _, line, _ in sorted(chosen))


def outline_text(siblings, lang, max_chars, rnd, needed):
    """The outline of a sibling defining a name the middle needs, in the server's format, or ''."""
    comment = "#" if lang == "python" else "//"
    for path, text in rnd.sample(siblings, min(12, len(siblings))):
        lines = outline(text)
        if needed & identifiers(lines):
            piece = f"{comment} Path: {path}\n{lines}"
            return piece if len(piece) <= max_chars else ""
    return ""


def indent_of(line):
    return len(line) - len(line.lstrip())


def cut_hole(text, rnd, kind=None):
    """(prefix, middle, suffix, kind) or None. Multi-line middles end at a line's end."""
    lines = text.split("\n")
    starts, pos = [], 0
    for line in lines:
        starts.append(pos)
        pos += len(line) + 1
    end_of = lambda j: starts[j] + len(lines[j].rstrip())
    content = [i for i, line in enumerate(lines) if len(line.strip()) >= 4]
    if not content:
        return None
    kind = kind or rnd.choices(list(KINDS), weights=list(KINDS.values()))[0]
    i = rnd.choice(content)
    ind = indent_of(lines[i])
    if kind == "line":
        s, e = starts[i] + ind, end_of(i)
    elif kind == "line-cursor":
        s, e = starts[i] + rnd.randint(ind, max(ind, len(lines[i].rstrip()) - 1)), end_of(i)
    elif kind in ("opener", "body"):
        openers = [j for j in content if lines[j].rstrip().endswith(OPENERS) and j + 1 < len(lines)]
        if not openers:
            return None
        o = rnd.choice(openers)
        first = o + 1  # the line after the opener, cursor after its indentation (Enter was pressed)
        if not lines[first].strip():
            return None
        if kind == "opener":
            last = min(len(lines) - 1, o + rnd.randint(2, 20))
        else:  # the whole body: until a line indented no deeper than the opener
            last, base = first, indent_of(lines[o])
            while last + 1 < len(lines) and (not lines[last + 1].strip() or indent_of(lines[last + 1]) > base):
                last += 1
        while last > first and not lines[last].strip():
            last -= 1
        s, e = starts[first] + indent_of(lines[first]), end_of(last)
    elif kind == "lines":  # whole lines selected from column 0
        s, e = starts[i], end_of(min(len(lines) - 1, i + rnd.randint(0, 9)))
    elif kind == "span":
        s = rnd.randrange(len(text))
        e = min(len(text), s + rnd.randint(1, 200))
    else:  # continuation: what follows, nothing after it
        s, e = starts[i] + ind, end_of(min(len(lines) - 1, i + rnd.randint(0, 12)))
        return text[:s], text[s:e], "", kind
    if e <= s:
        return None
    return text[:s], text[s:e], text[e:], kind


def round_up(n, k):
    return -(-n // k) * k


class InfillExamples:
    def __init__(self, texts, tokenizer, prefix_tokens=192, suffix_tokens=64, canvas_tokens=96, seed=0,
                 block_length=8, row_tokens=512, kinds=None, files=None, extra_tokens=0,
                 cross_file_share=CROSS_FILE_SHARE, needed_share=NEEDED_SHARE, outline_share=OUTLINE_SHARE):
        """texts: the corpus's texts; or files: (path, language, text) records, which also give the
        folders that cross-file context (extra_tokens > 0) is drawn from."""
        self.files = files or [("", "", t) for t in texts]
        self.texts, self.tok = [f[2] for f in self.files], tokenizer
        self.extra_tokens, self.cross_file_share, self.needed_share = extra_tokens, cross_file_share, needed_share
        self.outline_share = outline_share
        self.folders = {}
        for i, (path, _, _) in enumerate(self.files):
            self.folders.setdefault(os.path.dirname(path), []).append(i)
        self.prefix_tokens, self.suffix_tokens, self.canvas_tokens = prefix_tokens, suffix_tokens, canvas_tokens
        self.block_length, self.row_tokens = block_length, row_tokens
        self.kinds = kinds
        self.rnd = random.Random(seed)

    def encode(self, s):
        return self.tok.encode(s).ids if s else []

    def middle_ids(self, middle):
        """The middle's ids, cut back to whole lines when it is longer than the canvas allows, or None."""
        mid = self.encode(middle)
        while len(mid) >= self.canvas_tokens and "\n" in middle:
            middle = middle[: middle.rindex("\n")].rstrip()
            mid = self.encode(middle)
        return mid if 0 < len(mid) < self.canvas_tokens else None

    def one(self, room):
        """(context ids, middle ids, kind) of one hole that fits in `room` positions of a row (the prefix
        gives way, down to MIN_PREFIX tokens), or None when the hole drawn does not fit."""
        while True:
            kind = self.rnd.choice(self.kinds) if self.kinds else None
            i = self.rnd.randrange(len(self.files))
            hole = cut_hole(self.texts[i], self.rnd, kind)
            if hole is None:
                continue
            prefix, middle, suffix, kind = hole
            healed = prefix[len(prefix.rstrip(" \t")):]
            prefix, middle = prefix[: len(prefix) - len(healed)], healed + middle
            mid = self.middle_ids(middle)
            if mid is None:
                continue
            # Encode only a window around the hole: whole files would cost more than the model.
            suf = self.encode(suffix[: self.suffix_tokens * 6])[: self.suffix_tokens]
            room_ctx = room - 3 * round_up(len(mid) + 1, self.block_length) - len(suf) - 2
            if room_ctx < MIN_PREFIX:
                return None
            # Cross-file context takes only what the prefix leaves of the row, as the server adds it on top.
            extra = self.extra_ids(i, prefix, middle, suffix, room_ctx - self.prefix_tokens)
            keep = min(self.prefix_tokens, room_ctx - len(extra))
            pre = self.encode(prefix[-self.prefix_tokens * 6:])[-keep:]
            return [*extra, SUFFIX, *suf, PREFIX, *pre], mid, kind

    def extra_ids(self, i, prefix, middle, suffix, room):
        """Cross-file context for a hole in file i (often none), at most extra_tokens and room tokens."""
        path, lang, _ = self.files[i]
        budget = min(self.extra_tokens, room)
        siblings = [j for j in self.folders.get(os.path.dirname(path), []) if j != i] if path else []
        if budget < 16 or not siblings or self.rnd.random() >= self.cross_file_share:
            return []
        query = identifiers(prefix[-1500:] + "\n" + suffix[:400])
        sibling_texts = [(shown_path(self.files[j][0]), self.texts[j]) for j in siblings]
        needed = identifiers(middle) - query if self.rnd.random() < self.needed_share else set()
        text = cross_file_text(query, sibling_texts, lang, budget * 3, self.rnd, needed) if needed else ""
        # (a share of 0 draws no number, so the validation examples stay the ones drawn before outlines existed)
        if needed and self.outline_share > 0 and self.rnd.random() < self.outline_share:  # nearest the code, as the server places it
            text = text + outline_text(sibling_texts, lang, budget * 3 - len(text), self.rnd, needed)
        text = text or cross_file_text(query, sibling_texts, lang, budget * 3, self.rnd)
        return self.encode(text)[-budget:] if text else []

    def segment(self, ctx, mid):
        """ids, positions, targets and the attention pattern (a list of readable key ranges per query,
        relative to the segment) of one example in the packed layout above."""
        L = self.block_length
        clean = mid + [PAD] * (round_up(len(mid) + 1, L) - len(mid))
        N, M = len(ctx), len(clean)
        a = list(clean)
        b = list(clean)
        for lo in range(0, M, L):
            t = self.rnd.random()
            for j in range(lo + 1, lo + L):  # position lo stays clean: the sampler commits it first
                if self.rnd.random() < t:
                    a[j] = MASK
                else:
                    b[j] = MASK
        ids = ctx + clean + a + b
        pos = list(range(N + M)) + list(range(N, N + M)) * 2
        targets = [-100] * len(ids)
        for i in range(N - 1, N + len(mid)):  # the clean stream's next-token loss, up to the first <|pad|>
            targets[i] = clean[i - N + 1]
        for copy, start in ((a, N + M), (b, N + 2 * M)):
            for j in range(M):
                if j % L and copy[j] == MASK:
                    targets[start + j - 1] = clean[j]
        return ids, pos, targets, (N, M)

    def batch(self, n):
        """n packed rows: ids, positions, attention mask [n, W, W] (1 = may read), targets (-100 = no loss)."""
        W, L = self.row_tokens, self.block_length
        ids = torch.full((n, W), PAD, dtype=torch.long)
        pos = torch.zeros(n, W, dtype=torch.long)
        targets = torch.full((n, W), -100, dtype=torch.long)
        mask = torch.zeros(n, W, W, dtype=torch.uint8)
        for r in range(n):
            at, misses = 0, 0
            while misses < 4 and W - at > 3 * L + MIN_PREFIX:
                example = self.one(W - at)
                if example is None:
                    misses += 1
                    continue
                ctx, mid, _ = example
                s_ids, s_pos, s_tgt, (N, M) = self.segment(ctx, mid)
                S = len(s_ids)
                ids[r, at : at + S] = torch.tensor(s_ids)
                pos[r, at : at + S] = torch.tensor(s_pos)
                targets[r, at : at + S] = torch.tensor(s_tgt)
                m = mask[r, at : at + S, at : at + S]
                m[: N + M, : N + M] = torch.ones(N + M, N + M, dtype=torch.uint8).tril()
                for start in (N + M, N + 2 * M):
                    for lo in range(0, M, L):
                        q = slice(start + lo, start + lo + L)
                        m[q, :N + lo] = 1                       # context and the clean blocks before
                        m[q, start + lo : start + lo + L] = 1    # its own block, both ways
                at += S
            mask[r, at:, 0] = 1  # padding rows read something (no NaN); they carry no loss
        return ids, pos, mask, targets
