"""Draw bench/results/bench-sweep.json as the quality-versus-latency curve (PNG) for the README."""
import json
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

src = sys.argv[1] if len(sys.argv) > 1 else "bench/results/bench-sweep.json"
dst = sys.argv[2] if len(sys.argv) > 2 else "bench/results/steps-vs-latency.png"
data = json.load(open(src))
fig, ax = plt.subplots(figsize=(7, 4))
pts = sorted(data["points"], key=lambda p: p["p50"])
ax.plot([p["p50"] for p in pts], [p["similarity"] for p in pts], marker="o", label="steps per block")
for p in pts:
    ax.annotate(f'{p["steps"]} steps', (p["p50"], p["similarity"]), textcoords="offset points", xytext=(4, 4), fontsize=8)
for p in data["points"]:
    if p["shipped"]:
        ax.scatter([p["p50"]], [p["similarity"]], s=160, facecolors="none", edgecolors="red", label="shipped default")
ax.set_xlabel("p50 latency per completion (ms)")
ax.set_ylabel("edit similarity to the hidden line")
ax.set_title(f'{data["model"]}: quality versus latency ({data["machine"].split(",")[0]})', fontsize=9)
ax.grid(alpha=0.3)
ax.legend()
fig.tight_layout()
fig.savefig(dst, dpi=110)
print(f"wrote {dst}")
