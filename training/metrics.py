"""
The quality measures, shared by training/evaluate.py and the llama.cpp peer (bench/peer_llamacpp.py),
with the same definitions as bench/eval.ts. No torch here: the peer's environment has none.
"""


def edit_similarity(a, b):
    """1 - Levenshtein distance / the longer length (1.0 for equal strings)."""
    if a == b:
        return 1.0
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i]
        for j in range(1, len(b) + 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])))
        prev = cur
    return 1 - prev[-1] / max(len(a), len(b), 1)


def subsample(items, limit):
    """Every n-th item, so a limit still spans the whole set."""
    if not limit or limit >= len(items):
        return items
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]
