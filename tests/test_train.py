"""Training end to end on a small generated set, into a temporary registry."""

import json

import pytest

from crisis_nlp import load_model
from crisis_nlp.model.stretches import DEFAULT_WINDOW_TOKENS
from crisis_nlp.training.train import train

from conftest import GOLD, ROOT


@pytest.fixture(scope="module")
def small_file(tmp_path_factory, small_labelled):
    path = tmp_path_factory.mktemp("data") / "small.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in small_labelled))
    return path


def test_train_writes_a_loadable_version_deterministically(tmp_path, small_file):
    params = {"char_ngram_range": None, "word_min_df": 1}
    a = train(small_file, version="0.1.0", registry=tmp_path, gold_path=GOLD, params=params, n_jobs=1)
    b = train(small_file, version="0.2.0", registry=tmp_path, gold_path=GOLD, params=params, n_jobs=1)
    for key in ("thresholds",):
        assert a.manifest[key] == b.manifest[key]
    assert a.manifest["evaluation"] == b.manifest["evaluation"]
    m = load_model("0.1.0", registry=tmp_path)
    assert m.version == "0.1.0"
    r = m.classify("pt says he wants to kill himself")
    assert r.model_version == "0.1.0"
    # the knowledge rules train writes by default travel in the version's settings
    assert a.manifest["label_floor_shares"] == {}  # every floor hard unless an agency asks
    assert "label_floor_shares" not in m.arrays.settings
    assert set(m.arrays.settings["label_floors"]) == {"weapon", "suicidal", "violence", "public_place",
                                                      "caller_is_person"}  # since 2.29.0
    assert m.arrays.settings["label_companions"] == {"substance_use": ["C_INTOXICATED"],  # since 2.22.0
                                                     "self_harm": ["C_SELF_INJURY"]}  # since 2.23.0
    # and so does the stretch length long notes are also read in (model/stretches.py)
    assert m.arrays.settings["window_tokens"] == a.manifest["window_tokens"] == DEFAULT_WINDOW_TOKENS
    # held-out folds share neither bank nor style with their training part
    for fold in a.manifest["evaluation"]["folds"]:
        assert fold["n_test"] > 0 and fold["n_train"] > 0


@pytest.mark.slow
def test_full_retrain_reproduces_the_shipped_version(tmp_path):
    """The shipped default is what the committed recipe makes: the same thresholds,
    calibration, metrics, vocabulary and rule tables, and the same weights to float
    precision (the fairness baseline aside: whatever default was installed when it was
    trained)."""
    shipped = load_model()
    m = shipped.manifest
    golds = [ROOT / "tests" / "data" / name for name in m["evaluation"]["gold_sets"]]
    entry = train(ROOT / "training_data_synthetic" / "notes.jsonl.gz", version=shipped.version,
                  registry=tmp_path, gold_path=golds, seed=m["seed"], params=m["params"],
                  label_floors=m.get("label_floors"), label_ceilings=m.get("label_ceilings"),
                  label_floor_shares=m.get("label_floor_shares"), label_fallbacks=m.get("label_fallbacks"),
                  window_tokens=m.get("window_tokens"))
    assert entry.manifest["thresholds"] == m["thresholds"]
    for key in ("heldout_families", "gold_sets", "folds"):
        assert entry.manifest["evaluation"][key] == m["evaluation"][key], key
    assert entry.manifest["evaluation"]["fairness"]["report"] == m["evaluation"]["fairness"]["report"]
    # vocabulary, settings, policy and rule tables byte for byte; the weights to float
    # precision (the fits run in worker processes and BLAS may sum in another order)
    files = {f for f in m["files"] if f != "weights.npz"}
    assert {f: entry.manifest["files"][f] for f in files} == {f: m["files"][f] for f in files}
    import numpy as np

    with np.load(entry.path / "weights.npz") as new, np.load(shipped.path / "weights.npz") as old:
        assert sorted(new.files) == sorted(old.files)
        for k in old.files:
            assert np.allclose(new[k], old[k], rtol=0, atol=2e-3), k  # measured: 7e-4 at most (coef)


def test_a_default_that_cannot_read_a_note_is_no_fairness_baseline(monkeypatch, tmp_path):
    """A default whose rule tables this library cannot compile (a newer version's) fails
    on its first note, not on loading: training then reports no baseline instead of
    stopping after the whole training (stop 33)."""
    import crisis_nlp.api
    from crisis_nlp.errors import CrisisNLPError
    from crisis_nlp.training import train as train_module

    class Unreadable:
        version = "9.0.0"

        def classify(self, text):
            raise CrisisNLPError("patterns_targets.json: LOWER {'NOT_IN': ...} is not supported here")

    monkeypatch.setattr(crisis_nlp.api, "load_model", lambda **kw: Unreadable())
    assert train_module._fairness_baseline(tmp_path) == {}
    monkeypatch.setattr(crisis_nlp.api, "load_model", lambda **kw: load_model())
    assert train_module._fairness_baseline(tmp_path)["baseline_spec"].startswith("default@")
