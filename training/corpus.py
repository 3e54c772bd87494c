"""
Gather a code corpus from what is available on this machine.

  /usr/bin/python3 training/corpus.py --out training/data/corpus

Sources: JavaScript/TypeScript/.d.ts from a pinned list of npm packages installed
into a scratch folder with --ignore-scripts, and Python from the interpreters'
standard libraries and site-packages. Files are deduplicated by content hash,
minified/generated files (very long lines) are dropped, non-UTF-8 files are
skipped and counted, and a validation split is taken by file. Nothing from the
public benchmarks in ../shared/eval may enter: their files are hashed, and any
file that contains a HumanEval prompt is dropped.

Writes train.jsonl, val.jsonl (one {"path", "lang", "text"} per line) and
manifest.json; training/corpus-manifest.json (committed) is a copy of the manifest.
"""
import argparse
import glob
import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import sysconfig

# Pinned so that the corpus is reproducible. JS with readable sources and .d.ts files.
NPM_PACKAGES = [
    "typescript@5.9.3", "lodash@4.17.21", "express@4.21.2", "react@18.3.1", "react-dom@18.3.1",
    "vue@3.5.13", "rxjs@7.8.1", "eslint@9.17.0", "webpack@5.97.1", "axios@1.7.9",
    "moment@2.30.1", "date-fns@4.1.0", "three@0.171.0", "d3@7.9.0", "mocha@11.0.1",
    "chai@5.1.2", "commander@12.1.0", "yargs@17.7.2", "@types/node@22.10.2", "ajv@8.17.1",
    "acorn@8.14.0", "vscode-languageserver@10.1.2", "vscode-languageclient@10.1.2",
    "@types/vscode@1.96.0", "rollup@4.29.1", "zod@3.24.1", "immer@10.1.1", "redux@5.0.1",
    "koa@2.15.3", "socket.io@4.8.1", "prettier@3.4.2", "@babel/core@7.26.0", "@babel/parser@7.26.3",
]
EXTENSIONS = {".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".ts": "typescript", ".tsx": "typescript", ".py": "python"}
MAX_LINE = 400          # a line longer than this marks a minified or generated file
MAX_MEAN_LINE = 100     # mean line length above this is also generated
MAX_BYTES = 1_000_000
MIN_BYTES = 64
VAL_PERCENT = 2
DEF_RE = re.compile(r"def\s+(\w+)\s*\(")
EVAL_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "eval")


def sha(data):
    return hashlib.sha256(data).hexdigest()


def install_npm(scratch):
    os.makedirs(scratch, exist_ok=True)
    if not os.path.exists(os.path.join(scratch, "package.json")):
        with open(os.path.join(scratch, "package.json"), "w") as f:
            f.write('{"name": "corpus-scratch", "private": true}\n')
    missing = [p for p in NPM_PACKAGES if not os.path.isdir(os.path.join(scratch, "node_modules", p.rsplit("@", 1)[0]))]
    if missing:
        print(f"npm: installing {len(missing)} pinned packages into {scratch}", flush=True)
        subprocess.run(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error", *missing],
                       cwd=scratch, check=True)
    versions = {}
    for p in NPM_PACKAGES:
        name = p.rsplit("@", 1)[0]
        with open(os.path.join(scratch, "node_modules", name, "package.json")) as f:
            versions[name] = json.load(f)["version"]
    return os.path.join(scratch, "node_modules"), versions


def python_roots():
    roots = set()
    for exe in ["/usr/bin/python3", sys.executable]:
        try:
            out = subprocess.run([exe, "-c", "import sysconfig,json;print(json.dumps([sysconfig.get_paths()[k] for k in ('stdlib','purelib','platlib')]))"],
                                 capture_output=True, text=True, check=True).stdout
            roots.update(json.loads(out))
        except (OSError, subprocess.CalledProcessError):
            pass
    roots.add("/usr/lib/python3/dist-packages")
    return sorted(r for r in roots if os.path.isdir(r))


def eval_fingerprints():
    """Hashes of the benchmark files and the HumanEval prompts, which must never be trained on."""
    hashes, prompts = set(), {}
    for path in glob.glob(os.path.join(EVAL_DIR, "**", "*"), recursive=True):
        if not os.path.isfile(path):
            continue
        raw = open(path, "rb").read()
        hashes.add(sha(raw))
        if path.endswith(".gz"):
            raw = gzip.decompress(raw)
            hashes.add(sha(raw))
            for line in raw.decode("utf-8").splitlines():
                task = json.loads(line)
                hashes.add(sha((task["prompt"] + task["canonical_solution"] + task["suffix"]).encode()))
                prompts.setdefault(task["entry_point"], set()).add(task["prompt"].strip())
    return hashes, prompts


def walk(root, ext_filter):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in ("__pycache__", ".git", "test_data")]
        for fn in filenames:
            if fn.endswith(".d.ts"):
                lang = "typescript"
            else:
                lang = ext_filter.get(os.path.splitext(fn)[1])
            if lang:
                yield os.path.join(dirpath, fn), lang


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="training/data/corpus")
    ap.add_argument("--scratch", default="training/data/npm-scratch")
    ap.add_argument("--manifest", default="training/corpus-manifest.json")
    ap.add_argument("--no-npm", action="store_true", help="Python sources only (the smoke test uses this)")
    ap.add_argument("--max-files", type=int, default=0, help="stop after this many kept files (0 = all)")
    args = ap.parse_args()

    npm_root, npm_versions = (None, {}) if args.no_npm else install_npm(args.scratch)
    eval_hashes, eval_prompts = eval_fingerprints()
    print(f"eval fingerprints: {len(eval_hashes)} hashes, {sum(map(len, eval_prompts.values()))} prompts", flush=True)

    sources = [] if args.no_npm else [("npm", npm_root, {k: v for k, v in EXTENSIONS.items() if k != ".py"})]
    sources += [("python", r, {".py": "python"}) for r in python_roots()]
    stats = {}
    def bump(k, n=1):
        stats[k] = stats.get(k, 0) + n

    seen = set()
    os.makedirs(args.out, exist_ok=True)
    out = {"train": open(os.path.join(args.out, "train.jsonl"), "w"), "val": open(os.path.join(args.out, "val.jsonl"), "w")}
    lang_bytes = {}
    for source, root, exts in sources:
        for path, lang in walk(root, exts):
            if args.max_files and stats.get("train_files", 0) + stats.get("val_files", 0) >= args.max_files:
                break
            bump("files_seen")
            try:
                raw = open(path, "rb").read(MAX_BYTES + 1)
            except OSError:
                bump("skipped_unreadable")
                continue
            if len(raw) > MAX_BYTES or len(raw) < MIN_BYTES:
                bump("skipped_size")
                continue
            h = sha(raw)
            if h in seen:
                bump("skipped_duplicate")
                continue
            seen.add(h)
            if h in eval_hashes:
                bump("skipped_eval_hash")
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                bump("skipped_not_utf8")
                continue
            if "\x00" in text:
                bump("skipped_binary")
                continue
            lines = text.splitlines() or [""]
            if max(len(l) for l in lines) > MAX_LINE or len(text) / len(lines) > MAX_MEAN_LINE:
                bump("skipped_minified")
                continue
            defs = set(DEF_RE.findall(text)) & set(eval_prompts)
            if defs and any(p in text for name in defs for p in eval_prompts[name]):
                bump("skipped_eval_prompt")
                continue
            split = "val" if int(h[:8], 16) % 100 < VAL_PERCENT else "train"
            rel = os.path.relpath(path, root)
            out[split].write(json.dumps({"path": f"{source}:{rel}", "lang": lang, "text": text}) + "\n")
            bump(f"{split}_files")
            bump(f"{split}_bytes", len(raw))
            lang_bytes[lang] = lang_bytes.get(lang, 0) + len(raw)
    for f in out.values():
        f.close()
    digest = hashlib.sha256()
    for split in ("train", "val"):
        with open(os.path.join(args.out, f"{split}.jsonl"), "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    manifest = {
        "id": digest.hexdigest()[:16],
        "npm_packages": npm_versions,
        "python_roots": [os.path.basename(r.rstrip("/")) for r in python_roots()],
        "python_version": sysconfig.get_python_version(),
        "filters": {"max_line": MAX_LINE, "max_mean_line": MAX_MEAN_LINE, "max_bytes": MAX_BYTES, "min_bytes": MIN_BYTES, "val_percent": VAL_PERCENT},
        "stats": stats,
        "bytes_by_language": lang_bytes,
    }
    for path in (os.path.join(args.out, "manifest.json"), args.manifest):
        with open(path, "w") as f:
            json.dump(manifest, f, indent=2)
    print(json.dumps(manifest, indent=2))


if __name__ == "__main__":
    main()
