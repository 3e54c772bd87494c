"""
Write tokenizer-fixture.json next to a tokenizer: texts and the ids that the reference
implementation (the `tokenizers` library, Rust) gives them. The JS tests assert that
@huggingface/tokenizers produces the same ids and round-trips the text; base_parity.py checks
the same tokenizer against llama.cpp's own.

  training/.venv/bin/python training/make_tokenizer_fixture.py models/tiny/tokenizer.json
"""
import json
import os
import sys

from tokenizers import Tokenizer

TEXTS = [
    "def add(a, b):\n    return a + b\n",
    "export function greet(name: string): string {\n\treturn `Hello, ${name}!`;\n}\r\n",
    "if x:\n\n\n        pass  \n",
    "const π = 3.14159; // ünïcödé — “quotes” 中文 🎉👩‍💻\n",
    "    \t  \n\r\n  mixed   whitespace\t\tand tabs\n",
    "x=[1,22,333,4444,55555]\nfoo_bar$baz = __init__(self, *args, **kwargs)\n",
    "import numpy as np\nclass Foo(Base):\n    \"\"\"Docstring.\"\"\"\n    def __init__(self):\n        self.x = {'a': 1}\n",
    "",
    "a",
    "\u00a0non-breaking\u2003space\ufeffbom\n",
]


def main():
    path = sys.argv[1]
    tok = Tokenizer.from_file(path)
    fixture = []
    for text in TEXTS:
        ids = tok.encode(text).ids
        assert tok.decode(ids, skip_special_tokens=False) == text, text
        fixture.append({"text": text, "ids": ids})
    out = os.path.join(os.path.dirname(path), "tokenizer-fixture.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(fixture, f, ensure_ascii=False, indent=1)
    print(f"wrote {out} ({len(fixture)} texts)")


if __name__ == "__main__":
    main()
