"""Two model versions side by side on the same labelled notes.

Why: before an agency relies on a retrained version it must see, on its own held-out
notes, where the new one is better and, plainly, where it is worse.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .evaluate import cell, compute_metrics
from ..labels import HIGH_RISK, LABELS
from ..registry.versions import resolve, sha256_file

FAIRNESS_NOTES = 1000  # counterfactuals cost about 17 classifications a note: a sample is enough

MIN_SUPPORT = 5
"""Fewest notes with a label for a difference on it to be called worse (or better): with
fewer, one note moves its F1 by 0.2 or more, which says nothing about the versions."""


def _training_hashes(manifest: dict[str, Any]) -> set[str]:
    td = manifest.get("training_data") or {}
    found = {td.get("sha256")}
    for part in ("agency", "synthetic"):
        found.add((td.get(part) or {}).get("sha256"))
    return {h for h in found if h}


def compare_models(
    new: str,
    old: str,
    records: Sequence[dict[str, Any]],
    *,
    registry: str | Path | None = None,
    data_path: str | Path | None = None,
    fairness: bool = True,
) -> dict[str, Any]:
    """Metrics of ``new`` and ``old`` on ``records`` and their differences (new - old);
    with ``fairness``, each version's counterfactual figures (:mod:`crisis_nlp.training.fairness`)
    on up to ``FAIRNESS_NOTES`` of the same notes."""
    from ..api import model_from_entry
    from .fairness import measure, sample

    out: dict[str, Any] = {"n": len(records), "warnings": []}
    digest = sha256_file(data_path) if data_path else None
    for role, spec in (("new", new), ("old", old)):
        entry = resolve(spec, registry)
        model = model_from_entry(entry)
        results = model.classify_batch([r["text"] for r in records])
        out[role] = {"spec": entry.spec, "metrics": compute_metrics(records, [r.to_dict() for r in results])}
        if fairness:
            out[role]["fairness"] = measure(model, sample([r["text"] for r in records], FAIRNESS_NOTES))
        if digest and digest in _training_hashes(entry.manifest):
            out["warnings"].append(f"{entry.spec} was trained on this very file: its numbers are not honest.")
    a, b = out["new"]["metrics"], out["old"]["metrics"]
    diff = {x: {k: round(a["per_label"][x][k] - b["per_label"][x][k], 4) for k in ("precision", "recall", "f1")}
            for x in LABELS}
    out["diff"] = {"per_label": diff,
                   "category_micro_f1": round(a["category_micro"]["f1"] - b["category_micro"]["f1"], 4)}
    if "response_mode_accuracy" in a:
        out["diff"]["response_mode_accuracy"] = round(a["response_mode_accuracy"] - b["response_mode_accuracy"], 4)
    judged = [x for x in LABELS if a["per_label"][x]["support"] >= MIN_SUPPORT]
    out["too_few"] = [x for x in LABELS if x not in judged]
    worse = [f"{x} F1 {diff[x]['f1']:+.4f}" for x in judged if diff[x]["f1"] < 0]
    worse += [f"{x} recall {diff[x]['recall']:+.4f} (high-risk)" for x in HIGH_RISK
              if x in judged and diff[x]["recall"] < 0 and diff[x]["f1"] >= 0]
    if out["diff"]["category_micro_f1"] < 0:
        worse.append(f"category micro-F1 {out['diff']['category_micro_f1']:+.4f}")
    if out["diff"].get("response_mode_accuracy", 0) < 0:
        worse.append(f"response-mode accuracy {out['diff']['response_mode_accuracy']:+.4f}")
    out["worse"] = worse
    return out


def format_comparison(c: dict[str, Any]) -> str:
    new, old = c["new"]["spec"], c["old"]["spec"]
    a, b = c["new"]["metrics"], c["old"]["metrics"]
    w = 6
    lines = [f"{new} (new) vs {old} (old) on the same {c['n']} notes", ""]
    lines.append(f"{'label':<22}{'':>3}" + "".join(f"{h:>{w + 2}}" for h in ("P new", "P old", "R new", "R old",
                                                                             "F1 new", "F1 old")) + f"{'F1 diff':>9}{'support':>9}")
    too_few = c.get("too_few", [])
    for x in LABELS:
        pa, pb = a["per_label"][x], b["per_label"][x]
        n = pa["support"]
        d = pa["f1"] - pb["f1"]
        if x in too_few:
            mark = f"  (support < {MIN_SUPPORT}: not judged)" if n else ""
        else:
            mark = "  WORSE" if d < 0 else "  better" if d > 0 else ""
        lines.append(f"{x + (' *' if x in HIGH_RISK else ''):<22}{'':>3}"
                     + "".join(cell(v, n, w + 2) for v in (pa["precision"], pb["precision"], pa["recall"], pb["recall"],
                                                          pa["f1"], pb["f1"]))
                     + (f"{'n/a':>9}" if n == 0 else f"{d:>+9.4f}") + f"{n:>9}{mark}")
    lines.append(f"category micro-F1: new {a['category_micro']['f1']:.3f}, old {b['category_micro']['f1']:.3f} "
                 f"({c['diff']['category_micro_f1']:+.4f})")
    if "response_mode_accuracy" in a:
        lines.append(f"response-mode accuracy: new {a['response_mode_accuracy']:.3f}, old "
                     f"{b['response_mode_accuracy']:.3f} ({c['diff']['response_mode_accuracy']:+.4f})")
    else:
        lines.append("response-mode accuracy: not measured (the data has no response_mode column)")
    lines.append("* high-risk label: thresholds favour recall; n/a: no note has the label")
    if too_few:
        lines.append(f"labels with fewer than {MIN_SUPPORT} notes are not judged worse or better: "
                     + ", ".join(too_few))
    lines.append("")
    if "fairness" in c["new"] and "fairness" in c["old"]:
        from .fairness import format_fairness, target_failures

        lines.append("counterfactual fairness (sex swap, race word, name, neutral-word control; issue 14 targets: "
                     "<= 1% changed, LE net within +-1 per 300 notes, violence within +-0.005):")
        lines += format_fairness(c["new"]["fairness"], c["old"]["fairness"], names=("new", "old"))
        for role in ("new", "old"):
            fails = target_failures(c[role]["fairness"])
            lines.append(f"{c[role]['spec']}: " + ("misses the fairness targets: " + "; ".join(fails) if fails
                                                    else "meets the fairness targets"))
        lines.append("")
    if c["worse"]:
        lines.append(f"{new} is WORSE than {old} on: " + "; ".join(c["worse"]) + ".")
    else:
        lines.append(f"{new} is not worse than {old} on any label (with {MIN_SUPPORT}+ notes) or summary measure "
                     "here.")
    for warning in c["warnings"]:
        lines.append(f"warning: {warning}")
    return "\n".join(lines)
