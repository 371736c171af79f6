#!/usr/bin/python3
"""Plots the regularization study (samples/regularization_study) with Debian's python3-matplotlib.

    python3 samples/plot_study.py [runs/study] [docs/study]

Writes to the second directory (default: the study directory):
  validation_accuracy.png  validation accuracy per epoch, one line per regularizer
  loss.png                 training and validation loss per epoch
  overfitting.png          train vs validation accuracy and loss of the unregularized run
  misclassified.png        25 test images the unregularized model got wrong (true / predicted)
  summary.md               a Markdown table of the runs
"""
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_metrics(path):
    rows = {"train": [], "val": []}
    with open(path) as f:
        for row in csv.DictReader(f):
            rows[row["split"]].append((int(row["epoch"]), float(row["loss"]), float(row["accuracy"])))
    return rows


def main():
    study = sys.argv[1] if len(sys.argv) > 1 else "runs/study"
    out = sys.argv[2] if len(sys.argv) > 2 else study
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(study, "summary.csv")) as f:
        summary = list(csv.DictReader(f))
    runs = {r["run"]: read_metrics(os.path.join(study, r["run"], "metrics.csv")) for r in summary}

    fig, ax = plt.subplots(figsize=(8, 5))
    for name, m in runs.items():
        ax.plot([e for e, _, _ in m["val"]], [a for _, _, a in m["val"]], marker="o", label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
    ax.set_title("Validation accuracy by regularizer (Fashion-MNIST subset)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "validation_accuracy.png"), dpi=110)

    fig, (train_ax, val_ax) = plt.subplots(1, 2, figsize=(12, 5), sharey=True)
    for name, m in runs.items():
        train_ax.plot([e for e, _, _ in m["train"]], [l for _, l, _ in m["train"]], label=name)
        val_ax.plot([e for e, _, _ in m["val"]], [l for _, l, _ in m["val"]], label=name)
    for ax, split in ((train_ax, "training"), (val_ax, "validation")):
        ax.set_xlabel("epoch")
        ax.set_title(f"{split} loss")
        ax.grid(alpha=0.3)
    train_ax.set_ylabel("cross-entropy loss")
    val_ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "loss.png"), dpi=110)

    if "none" in runs:
        m = runs["none"]
        fig, (acc_ax, loss_ax) = plt.subplots(1, 2, figsize=(12, 5))
        for split, style in (("train", "-"), ("val", "--")):
            epochs = [e for e, _, _ in m[split]]
            acc_ax.plot(epochs, [a for _, _, a in m[split]], style, marker="o", label=split)
            loss_ax.plot(epochs, [l for _, l, _ in m[split]], style, marker="o", label=split)
        acc_ax.set_ylabel("accuracy")
        loss_ax.set_ylabel("cross-entropy loss")
        for ax in (acc_ax, loss_ax):
            ax.set_xlabel("epoch")
            ax.grid(alpha=0.3)
            ax.legend()
        fig.suptitle("No regularization: training vs validation (over-fitting)")
        fig.tight_layout()
        fig.savefig(os.path.join(out, "overfitting.png"), dpi=110)

    wrong_path = os.path.join(study, "misclassified.csv")
    if os.path.exists(wrong_path):
        with open(wrong_path) as f:
            wrong = list(csv.DictReader(f))[:25]
        fig, axes = plt.subplots(5, 5, figsize=(9, 10))
        for ax in axes.flat:
            ax.axis("off")
        for ax, row in zip(axes.flat, wrong):
            pixels = [int(p) for p in row["pixels"].split()]
            ax.imshow([pixels[r * 28:(r + 1) * 28] for r in range(28)], cmap="gray_r")
            ax.set_title(f"true: {row['true']}\npredicted: {row['predicted']}", fontsize=8)
        fig.suptitle("Misclassified test images (no regularization)")
        fig.tight_layout()
        fig.savefig(os.path.join(out, "misclassified.png"), dpi=100)

    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write("| run | best val. acc. (epoch) | final train acc. | final val. acc. | test acc. | minutes |\n")
        f.write("|---|---|---|---|---|---|\n")
        for r in summary:
            f.write(f"| {r['run']} | {float(r['best_val_accuracy']):.4f} ({r['best_epoch']}) | "
                    f"{float(r['final_train_accuracy']):.4f} | {float(r['final_val_accuracy']):.4f} | "
                    f"{float(r['test_accuracy']):.4f} | {float(r['minutes']):.1f} |\n")
    print(f"plots and summary.md in {out}")


if __name__ == "__main__":
    main()
