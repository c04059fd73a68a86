"""What to label next: the notes the current model is least sure about (active learning).

Why: a person's labelling time is best spent where the model hesitates. A note ranks high
when one of its label scores sits close to that label's threshold, or when the response
mode hinges on a situational cue close to its threshold (flip the cue and the policy gives
another mode). Closeness is measured in log-odds, so 0.29 vs 0.30 counts as close
whatever the threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..model.policy import split_outputs
from ..labels import CUES, LABELS


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def rank_for_review(model, texts: Sequence[str], ids: Sequence[Any] | None = None,
                    top: int | None = None) -> list[dict[str, Any]]:
    """Rows for a person to label, most uncertain first (``uncertainty`` in (0, 1], 1 = on a threshold).

    Identical notes (ignoring case and spacing) are listed once. Each row carries the
    model's suggestion in ``model_*`` fields and empty ``categories``/``flags``/
    ``response_mode`` fields for the person to fill.
    """
    policy = model.policy
    outputs = list(model.arrays.outputs)
    ids = list(ids) if ids is not None else list(range(1, len(texts) + 1))
    seen: set[str] = set()
    keep = []
    for i, t in enumerate(texts):
        key = " ".join(t.casefold().split())
        if key not in seen:
            seen.add(key)
            keep.append(i)
    if not keep:
        return []
    P = model.proba_all([texts[i] for i in keep])  # the scores classify() gives
    T = model.arrays.thresholds
    margin = np.abs(_logit(P) - _logit(T))
    pos = {o: j for j, o in enumerate(outputs)}
    label_cols = [pos[x] for x in LABELS]
    rows = []
    for r, i in enumerate(keep):
        cats, flags, cues = split_outputs((P[r] >= T).tolist(), outputs)
        mode = policy.decide(cats, flags, cues).mode
        j = min(label_cols, key=lambda c: margin[r, c])
        best, why, alt = float(margin[r, j]), f"{outputs[j]} {P[r, j]:.2f} vs threshold {T[j]:.2f}", ""
        for c in CUES:  # a cue matters only when flipping it changes the response mode
            k = pos[c]
            if margin[r, k] >= best:
                continue
            flipped = [x for x in cues if x != c] + ([] if c in cues else [c])  # one cue flipped
            other = policy.decide(cats, flags, flipped).mode
            if other != mode:
                best, alt = float(margin[r, k]), other
                why = f"response mode {mode} or {other} hinges on cue {c} {P[r, k]:.2f} vs threshold {T[k]:.2f}"
        rows.append({"id": ids[i], "text": texts[i], "uncertainty": round(float(np.exp(-best)), 4), "why": why,
                     "model_categories": "|".join(cats), "model_flags": "|".join(flags),
                     "model_response_mode": mode, "alternative_mode": alt,
                     "categories": "", "flags": "", "response_mode": ""})
    rows.sort(key=lambda x: -x["uncertainty"])  # stable: ties keep file order
    rows = rows[:top] if top is not None else rows
    for n, row in enumerate(rows, 1):
        row["rank"] = n
    return [{"rank": r.pop("rank"), **r} for r in rows]
