"""Retraining on an agency's own notes: it learns the agency's shorthand, measures itself
honestly, keeps versions immutable and stores the agency's policy with the version."""

import json
import subprocess
import sys

import pytest

from crisis_nlp import load_model
from crisis_nlp.training.compare import compare_models, format_comparison
from crisis_nlp.errors import InputError, PolicyError, RegistryError
from crisis_nlp.registry.versions import resolve, sha256_file
from crisis_nlp.training.retrain import retrain, stratified_split, stratify_key
from crisis_nlp.resources import read_text

from agency_notes import HELD_OUT_SXI, agency_rows, write_csv
from conftest import DATA

FAST = {"max_word_features": 5000, "max_char_features": 5000}


@pytest.fixture(scope="module")
def agency_csv(tmp_path_factory):
    return write_csv(agency_rows(), tmp_path_factory.mktemp("agency") / "our_labelled_calls.csv")


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    return tmp_path_factory.mktemp("user-registry")


@pytest.fixture(scope="module")
def county(agency_csv, registry):
    """county-x@1.1.0: the agency's notes plus 1,500 synthetic ones, agency weight 2."""
    return retrain(agency_csv, version="1.1.0", name="county-x", registry=registry, synthetic=DATA,
                   synthetic_n=1500, local_weight=2.0, params=FAST, n_jobs=1)


def test_shipped_model_does_not_know_the_abbreviation(model):
    for note in HELD_OUT_SXI:
        r = model.classify(note)
        assert "suicidal" not in r.categories and r.response_mode == "standard_dispatch"


def test_retrained_version_learns_the_agency_abbreviation(county, registry, model):
    new = load_model("county-x@1.1.0", registry=registry)
    assert new.version == "county-x@1.1.0"
    for note in HELD_OUT_SXI:
        r = new.classify(note)
        assert "suicidal" in r.categories and r.response_mode == "mobile_crisis", note
    # and it has not forgotten the synthetic notes' lesson
    assert "suicidal" in new.classify("pt says he wants to kill himself, at home").categories
    assert new.classify("RP states cousin locked out of car at the cabin").categories == []


def test_a_retrained_version_carries_and_hashes_its_masking_tables(county, registry):
    """Masking makes features, so a version trained since stop 46 snapshots the masking
    tables with its other rule tables; the manifest hashes them like every file it reads."""
    from crisis_nlp.preprocess.text import MASKING_TABLES, masking_dir

    entry = resolve("county-x@1.1.0", registry)
    for name in MASKING_TABLES:
        assert entry.manifest["files"][f"rules/{name}"] == sha256_file(entry.path / "rules" / name)
        assert (entry.path / "rules" / name).read_text(encoding="utf-8") == read_text(name)
    assert masking_dir(load_model("county-x@1.1.0", registry=registry).rules_dir) is not None


def test_metrics_are_measured_on_held_out_agency_notes_only(county):
    m = county.manifest
    ag = m["training_data"]["agency"]
    assert ag["n_train"] + ag["n_heldout"] == 120 and ag["n_heldout"] == 30
    held = m["evaluation"]["heldout_agency"]
    assert held["n"] == 30 and held["per_label"]["suicidal"]["support"] == 15  # stratified: half suicidal
    assert held["per_label"]["suicidal"]["recall"] == 1.0
    assert m["evaluation"]["baseline"]["spec"] == "default@2.29.0"
    assert m["evaluation"]["baseline"]["heldout_agency"]["per_label"]["suicidal"]["recall"] == 0.0
    assert m["training_data"]["synthetic"]["n_used"] == 1500
    assert 0 < m["thresholds"]["suicidal"] < 1 and m["thresholds"]["caller_is_person"] == 0.5


def test_stratified_split_is_deterministic_and_keeps_label_shares():
    recs = [{"categories": ["suicidal"] if i % 4 == 0 else [], "flags": []} for i in range(100)]
    tr, ho = stratified_split(stratify_key(recs), 0.2, seed=3)
    assert len(ho) == 20 and sum(recs[i]["categories"] != [] for i in ho) == 5
    assert set(tr) | set(ho) == set(range(100)) and not set(tr) & set(ho)
    tr2, ho2 = stratified_split(stratify_key(recs), 0.2, seed=3)
    assert (ho == ho2).all()


def test_model_card_follows_mitchell_with_measured_numbers(county):
    card = (county.path / "model_card.md").read_text()
    for section in ("Model details", "Intended use", "Factors", "Metrics", "Evaluation data", "Training data",
                    "Quantitative analyses", "Ethical considerations", "Caveats and recommendations"):
        assert f"## {section}" in card, section
    s = county.manifest["evaluation"]["heldout_agency"]["per_label"]["suicidal"]
    assert f"| `suicidal` * | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {s['support']} |" in card
    assert "F1 of default@2.29.0" in card


def test_versions_are_immutable(county, agency_csv, registry):
    before = sha256_file(county.path / "weights.npz")
    with pytest.raises(RegistryError, match="immutable"):
        retrain(agency_csv, version="1.1.0", name="county-x", registry=registry, local_only=True, params=FAST)
    assert sha256_file(county.path / "weights.npz") == before


def test_local_only_with_the_agency_policy_is_deterministic(agency_csv, tmp_path):
    # the agency has no mobile crisis team at night: every mobile_crisis rule becomes co_responder
    policy = tmp_path / "night.toml"
    policy.write_text(read_text("policy_default.toml").replace('"mobile_crisis"', '"co_responder"')
                      .replace('name = "default"', 'name = "county-x-night"'))
    kw = dict(name="county-x-night", registry=tmp_path, local_only=True, policy=policy, params=FAST, n_jobs=1,
              synthetic="/nonexistent/notes.jsonl.gz")  # local-only never needs the synthetic notes
    a = retrain(agency_csv, version="1.0.0", **kw)
    b = retrain(agency_csv, version="1.0.1", **kw)
    assert (a.path / "policy.toml").read_text() == policy.read_text()
    assert a.manifest["policy"]["name"] == "county-x-night"
    assert a.manifest["files"] == b.manifest["files"]  # byte-identical arrays and rule tables
    assert a.manifest["thresholds"] == b.manifest["thresholds"]
    assert a.manifest["evaluation"] == b.manifest["evaluation"]
    assert a.manifest["training_data"]["synthetic"] is None
    r = load_model("county-x-night@1.0.0", registry=tmp_path).classify(HELD_OUT_SXI[0])
    assert r.categories == ["suicidal"] and r.response_mode == "co_responder"


def test_bad_policy_or_missing_synthetic_data_fail_before_training(agency_csv, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rules]]\nid = "x"\nmode = "helicopter"\nwhen = ["always"]\n')
    with pytest.raises(PolicyError, match="helicopter"):
        retrain(agency_csv, version="1.0.0", name="x", registry=tmp_path, policy=bad)
    with pytest.raises(InputError, match="--local-only"):
        retrain(agency_csv, version="1.0.0", name="x", registry=tmp_path, synthetic=tmp_path / "none.jsonl.gz")
    assert not (tmp_path / "x").exists()


def test_compare_shows_both_versions_and_says_where_the_new_one_is_worse(county, registry, tmp_path):
    holdout = write_csv(agency_rows(seed=9, n_pos=20, n_neg=20), tmp_path / "our_holdout.csv")
    from crisis_nlp.training.agency_data import load_agency_data

    recs = load_agency_data(holdout, training=False).records
    c = compare_models("county-x@1.1.0", "default@2.0.0", recs, registry=registry)
    assert c["new"]["metrics"]["per_label"]["suicidal"]["recall"] > 0.9
    assert c["old"]["metrics"]["per_label"]["suicidal"]["recall"] == 0.0
    assert c["diff"]["per_label"]["suicidal"]["f1"] > 0.9
    text = format_comparison(c)
    assert "response-mode accuracy: new" in text and "not worse" in text
    # the other way round, the shipped model is plainly worse
    back = format_comparison(compare_models("default@2.0.0", "county-x@1.1.0", recs, registry=registry))
    assert "default@2.0.0 is WORSE than county-x@1.1.0 on: suicidal F1" in back
    assert "WORSE" in next(line for line in back.splitlines() if line.startswith("suicidal"))


def test_compare_warns_when_scored_on_training_data(county, registry, agency_csv):
    from crisis_nlp.training.agency_data import load_agency_data

    recs = load_agency_data(agency_csv, training=False).records
    c = compare_models("county-x@1.1.0", "default@2.0.0", recs, registry=registry, data_path=agency_csv)
    assert any("trained on this very file" in w for w in c["warnings"])


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "crisis_nlp.cli", *args], capture_output=True, text=True,
                          timeout=300, env=env)


def test_cli_compare_with_plot_and_train_validation_errors(county, registry, tmp_path):
    pytest.importorskip("matplotlib")
    holdout = write_csv(agency_rows(seed=9, n_pos=20, n_neg=20), tmp_path / "our_holdout.csv")
    png = tmp_path / "cmp.png"
    p = run("compare", "county-x@1.1.0", "default@2.0.0", "--data", str(holdout), "--registry", str(registry),
            "--plot", str(png))
    assert p.returncode == 0, p.stderr
    assert "county-x@1.1.0 (new) vs default@2.0.0 (old)" in p.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = agency_rows()
    rows[3]["categories"] = "sadness"
    bad = write_csv(rows, tmp_path / "bad.csv")
    p = run("train", "--data", str(bad), "--name", "county-x", "--version", "2.0.0", "--registry", str(registry))
    assert p.returncode == 1 and "row 5: unknown label 'sadness'" in p.stderr and "Traceback" not in p.stderr
    assert "SXI" not in p.stderr  # note text is never echoed
    assert not (registry / "county-x" / "2.0.0").exists()


def test_cli_train_refuses_agency_options_without_data(tmp_path):
    p = run("train", "--version", "9.9.9", "--policy", "night.toml", "--registry", str(tmp_path))
    assert p.returncode == 1 and "add --data" in p.stderr
    assert not list(tmp_path.iterdir())
