"""PNG plots of evaluations (matplotlib is an optional extra)."""

import sys

import pytest

from crisis_nlp.errors import CrisisNLPError
from crisis_nlp.training.evaluate import compute_metrics


def test_plot_of_one_and_two_runs(tmp_path, model, gold):
    pytest.importorskip("matplotlib")
    from crisis_nlp.training.plots import plot_metrics

    notes = gold[:50]
    m = compute_metrics(notes, [r.to_dict() for r in model.classify_batch([g["text"] for g in notes])])
    one = plot_metrics([("1.0.0", m)], tmp_path / "one.png")
    two = plot_metrics([("a", m), ("b", m)], tmp_path / "two.png")
    for png in (one, two):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


def test_missing_matplotlib_names_the_extra(tmp_path, monkeypatch):
    from crisis_nlp.training.plots import plot_metrics

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(CrisisNLPError, match=r"crisis-nlp\[plots\]"):
        plot_metrics([("x", {"n": 0, "per_label": {}})], tmp_path / "x.png")
