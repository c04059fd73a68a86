"""PNG plots of evaluations: per-label precision/recall and the response-mode confusion
matrix, for one version (``evaluate --plot``) or two side by side (``compare --plot``).

matplotlib is an optional extra (``pip install "crisis-nlp[plots]"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CrisisNLPError, OutputError
from ..labels import LABELS


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise CrisisNLPError('plots need matplotlib: pip install "crisis-nlp[plots]"') from None
    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def plot_metrics(runs: Sequence[tuple[str, dict[str, Any]]], path: str | Path) -> Path:
    """One PNG: per-label precision and recall of each (name, metrics), then each run's
    response-mode confusion matrix (rows = gold)."""
    plt = _pyplot()
    with_cm = [(n, m) for n, m in runs if "response_mode_confusion" in m]
    ncols = max(1, len(with_cm))
    fig = plt.figure(figsize=(max(10, 6 * ncols), 10 if with_cm else 5), constrained_layout=True)
    grid = fig.add_gridspec(2 if with_cm else 1, ncols)
    ax = fig.add_subplot(grid[0, :])
    x = np.arange(len(LABELS))
    width = 0.8 / (2 * len(runs))
    for k, (name, m) in enumerate(runs):
        for q, (what, hatch) in enumerate((("precision", ""), ("recall", "//"))):
            vals = [m["per_label"][lab][what] for lab in LABELS]
            ax.bar(x - 0.4 + width * (2 * k + q + 0.5), vals, width, label=f"{name} {what}", hatch=hatch,
                   color=f"C{k}", alpha=1.0 if q == 0 else 0.55)
    ax.set_xticks(x, LABELS, rotation=30, ha="right")
    ax.set_ylim(0, 1.3)  # headroom for the legend above the bars
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("score")
    ax.set_title(f"per-label precision and recall (n={runs[0][1]['n']})")
    ax.legend(fontsize=8, ncols=2 * len(runs), loc="upper center")
    for k, (name, m) in enumerate(with_cm):
        cm = np.array(m["response_mode_confusion"]["matrix"])
        labels = m["response_mode_confusion"]["labels"]
        a = fig.add_subplot(grid[1, k])
        a.imshow(cm, cmap="Blues")
        for (i, j), v in np.ndenumerate(cm):
            a.text(j, i, str(v), ha="center", va="center", fontsize=8, color="white" if v > cm.max() / 2 else "black")
        a.set_xticks(range(len(labels)), labels, rotation=40, ha="right", fontsize=8)
        a.set_yticks(range(len(labels)), labels, fontsize=8)
        a.set_xlabel("predicted")
        a.set_ylabel("gold")
        a.set_title(f"{name}: response mode (accuracy {m['response_mode_accuracy']:.3f})")
    path = Path(path)
    try:
        fig.savefig(path, dpi=110)
    except OSError as exc:
        raise OutputError(f"cannot write the plot {path}: {exc.strerror or exc}; choose another --plot path.") from None
    finally:
        plt.close(fig)
    return path
