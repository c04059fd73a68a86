"""Review ranking: the notes nearest a threshold, or whose response mode hinges on a cue, first."""

import csv
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from crisis_nlp.labels import CUES, LABELS
from crisis_nlp.model.policy import ResponsePolicy
from crisis_nlp.training.review import rank_for_review

OUT = list(LABELS + CUES)


class FixedScores:
    """A stand-in model whose scores are set per note."""

    def __init__(self, table):
        self.arrays = SimpleNamespace(outputs=tuple(OUT), thresholds=np.full(len(OUT), 0.5))
        self.policy = ResponsePolicy.default()
        self.table = table

    def proba_all(self, texts):
        rows = []
        for t in texts:
            p = np.full(len(OUT), 0.01)
            for k, v in self.table[t].items():
                p[OUT.index(k)] = v
            rows.append(p)
        return np.array(rows)


def test_ranking_by_distance_to_threshold_and_policy_hinges():
    table = {
        "clear no": {},
        "clear yes": {"suicidal": 0.99},
        "near suicidal": {"suicidal": 0.45},  # |logit| 0.20
        "nearer grief": {"grief_loss": 0.52},  # 0.08
        # suicidal for sure; mobile_crisis vs co_responder hinges on public_place 0.47 (0.12)
        "public hinge": {"suicidal": 0.99, "public_place": 0.47},
        # a cue near its threshold that changes nothing does not count
        "idle cue": {"wants_to_talk": 0.5},
    }
    model = FixedScores(table)
    texts = list(table) + ["NEAR   suicidal"]  # the same note again, other case and spacing
    rows = rank_for_review(model, texts)
    order = [r["text"] for r in rows]
    assert order[:3] == ["nearer grief", "public hinge", "near suicidal"]
    assert set(order[3:]) == {"clear no", "clear yes", "idle cue"} and len(rows) == 6
    assert [r["rank"] for r in rows] == list(range(1, 7))
    hinge = rows[1]
    assert hinge["model_response_mode"] == "mobile_crisis" and hinge["alternative_mode"] == "co_responder"
    assert "public_place" in hinge["why"]
    assert rows[0]["uncertainty"] == pytest.approx(np.exp(-abs(np.log(0.52 / 0.48))), abs=1e-4)
    assert rows[0]["categories"] == ""  # for the person to fill
    assert len(rank_for_review(model, texts, top=2)) == 2


def test_cli_review_on_the_shipped_model(tmp_path, gold):
    src = tmp_path / "unlabelled.csv"
    with open(src, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "text"])
        for g in gold[:40]:
            w.writerow([g["id"], g["text"]])
    out = tmp_path / "to_label.csv"
    p = subprocess.run([sys.executable, "-m", "crisis_nlp.cli", "review", "--data", str(src), "--top", "10",
                        "-o", str(out)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    rows = list(csv.DictReader(open(out, newline="")))
    assert len(rows) == 10 and [r["rank"] for r in rows] == [str(i) for i in range(1, 11)]
    u = [float(r["uncertainty"]) for r in rows]
    assert u == sorted(u, reverse=True)
    assert {r["id"] for r in rows} <= {g["id"] for g in gold[:40]}
    assert gold[0]["text"][:20] not in p.stderr
