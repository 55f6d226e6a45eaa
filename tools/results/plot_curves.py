#!/usr/bin/env python3
"""Training curves for docs/RESULTS.md from `tools:evaluate` JSON reports.

Each --run is LABEL=GLOB: the JSON reports of one training run's checkpoints (the step is read from
each report). Plots the word-boundary MAE of (a) the training-time durations and (b) the
inference durations from text, and the validation mel L1 with the training durations, against the
optimizer step. Needs matplotlib (Debian: python3-matplotlib); a docs helper, not part of the build.

  /usr/bin/python3 tools/results/plot_curves.py --out=docs/results/curves.png \
      --run=mas='eval/mas_s1_*.json' --run=oracle='eval/oracle_s1_*.json'
"""
import argparse
import glob
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(pattern):
    points = []
    for path in glob.glob(pattern):
        with open(path) as f:
            r = json.load(f)
        points.append((r["step"], r["training_durations"]["word_boundary_mae_ms"],
                       r.get("inference_durations", {}).get("word_boundary_mae_ms"),
                       r["mel_l1_training_durations"], r.get("uniform_durations", {}).get("word_boundary_mae_ms")))
    return sorted(points)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", action="append", required=True, help="LABEL=GLOB of evaluate JSON reports")
    p.add_argument("--out", required=True, help="PNG to write")
    p.add_argument("--title", default="")
    a = p.parse_args()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    uniform = None
    for spec in a.run:
        if "=" not in spec:
            sys.exit(f"--run={spec}: expected LABEL=GLOB")
        label, pattern = spec.split("=", 1)
        pts = load(pattern)
        if not pts:
            sys.exit(f"--run={spec}: no JSON report matches")
        steps = [q[0] for q in pts]
        axes[0].plot(steps, [q[1] for q in pts], marker="o", label=label)
        if all(q[2] is not None for q in pts):
            axes[1].plot(steps, [q[2] for q in pts], marker="o", label=label)
        axes[2].plot(steps, [q[3] for q in pts], marker="o", label=label)
        uniform = uniform or pts[0][4]
    for ax, title in zip(axes, ["(a) word boundary MAE, training durations (ms)",
                                "(b) word boundary MAE, from text (ms)", "validation mel L1, training durations"]):
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("optimizer step")
        ax.grid(alpha=0.3)
        if uniform is not None and "ms" in title:
            ax.axhline(uniform, color="gray", linestyle="--", label="uniform durations")
        ax.legend(fontsize=8)
    if a.title:
        fig.suptitle(a.title)
    fig.tight_layout()
    fig.savefig(a.out, dpi=90)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
