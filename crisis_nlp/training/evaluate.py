"""Metrics on labelled notes: per-label precision/recall/F1/support, micro-F1 of the
categories, response-mode accuracy and confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..labels import CATEGORIES, FLAGS, HIGH_RISK, RESPONSE_MODES


def label_matrix(records: Sequence[dict[str, Any]], ids: Sequence[str]) -> np.ndarray:
    """0/1 matrix: one row per record, one column per id (categories, flags and cues)."""
    Y = np.zeros((len(records), len(ids)), dtype=int)
    pos = {x: j for j, x in enumerate(ids)}
    for i, r in enumerate(records):
        for key in ("categories", "flags", "cues"):
            for x in r.get(key, []):
                if x in pos:
                    Y[i, pos[x]] = 1
    return Y


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "support": tp + fn}


def compute_metrics(
    gold: Sequence[dict[str, Any]], predicted: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """Compare gold records with predictions (both with categories, flags, response_mode)."""
    ids = CATEGORIES + FLAGS
    G, P = label_matrix(gold, ids), label_matrix(predicted, ids)
    per_label = {}
    for j, x in enumerate(ids):
        tp = int(((G[:, j] == 1) & (P[:, j] == 1)).sum())
        fp = int(((G[:, j] == 0) & (P[:, j] == 1)).sum())
        fn = int(((G[:, j] == 1) & (P[:, j] == 0)).sum())
        per_label[x] = _prf(tp, fp, fn)
    nc = len(CATEGORIES)
    Gc, Pc = G[:, :nc], P[:, :nc]
    micro = _prf(int((Gc & Pc).sum()), int(((1 - Gc) & Pc).sum()), int((Gc & (1 - Pc)).sum()))
    bh_g, bh_p = Gc.any(1), Pc.any(1)
    bh = _prf(int((bh_g & bh_p).sum()), int((~bh_g & bh_p).sum()), int((bh_g & ~bh_p).sum()))
    out: dict[str, Any] = {
        "n": len(gold),
        "category_micro": micro,
        "behavioural_health_call": bh,
        # the share of the other (not behavioural-health) calls that were given a category
        "other_calls_labelled_crisis": round(int((~bh_g & bh_p).sum()) / max(1, int((~bh_g).sum())), 4),
        "per_label": per_label,
    }
    if all("response_mode" in g for g in gold):
        modes = list(RESPONSE_MODES)
        cm = np.zeros((len(modes), len(modes)), dtype=int)
        for g, p in zip(gold, predicted):
            cm[modes.index(g["response_mode"]), modes.index(p["response_mode"])] += 1
        out["response_mode_accuracy"] = round(float(np.trace(cm) / max(1, cm.sum())), 4)
        out["response_mode_confusion"] = {"labels": modes, "matrix": cm.tolist()}
    return out


def cell(value: float, support: int, width: int) -> str:
    """A score for a text table: 'n/a' when no note has the label (support 0), since
    recall and F1 are then undefined, not zero."""
    return f"{'n/a':>{width}}" if support == 0 else f"{value:>{width}.3f}"


def format_report(m: dict[str, Any], title: str = "") -> str:
    lines = [f"{title} (n={m['n']})" if title else f"n={m['n']}"]
    lines.append(f"{'label':<22}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}")
    for x, v in m["per_label"].items():
        star = " *" if x in HIGH_RISK else ""
        n = v["support"]
        lines.append(f"{x + star:<22}{cell(v['precision'], n, 10)}{cell(v['recall'], n, 8)}{cell(v['f1'], n, 8)}{n:>9}")
    c = m["category_micro"]
    lines.append(f"{'categories (micro)':<22}{c['precision']:>10.3f}{c['recall']:>8.3f}{c['f1']:>8.3f}{c['support']:>9}")
    b = m["behavioural_health_call"]
    lines.append(f"{'any category (BH call)':<22}{b['precision']:>10.3f}{b['recall']:>8.3f}{b['f1']:>8.3f}{b['support']:>9}")
    lines.append("* high-risk label: thresholds favour recall; n/a: no note has the label")
    if "response_mode_accuracy" in m:
        lines.append(f"response-mode accuracy: {m['response_mode_accuracy']:.3f}")
        cm = m["response_mode_confusion"]
        width = max(map(len, cm["labels"])) + 4
        lines.append("confusion (rows = gold, columns = predicted, numbered as the rows):")
        lines.append(" " * width + "".join(f"{k:>6}" for k in range(1, len(cm["labels"]) + 1)))
        for k, (name, row) in enumerate(zip(cm["labels"], cm["matrix"]), 1):
            lines.append(f"{k:>2} {name:<{width - 3}}" + "".join(f"{v:>6}" for v in row))
    return "\n".join(lines)
