"""A small file to try completions on: the demo fills the empty line in count_words."""
import re
from collections import Counter


def read_text(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def count_words(text, top=10):
    words = re.findall(r"[a-z']+", text.lower())
    counts = Counter(words)
    
    return counts.most_common(top)


if __name__ == "__main__":
    import sys
    for word, n in count_words(read_text(sys.argv[1])):
        print(f"{n:6d} {word}")
