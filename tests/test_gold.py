"""The hand-written gold set: no generator touched it, nothing was tuned on it.

The floors below were set from the measured numbers of the shipped model (see the
README); a model that falls below them fails. They are floors, not the issue's targets:
where a target is missed, the README says so."""

import sys

import pytest

from crisis_nlp.training.evaluate import compute_metrics
from crisis_nlp.batch.records import read_records
from crisis_nlp.labels import CATEGORIES, FLAGS, RESPONSE_MODES

from conftest import DATA, ROOT

# measured on default@1.0.0: micro-F1 0.792, suicidal recall 0.955, flag recall >= 0.957,
# response-mode accuracy 0.739 (issue targets: 0.85 / 0.95 / 0.90 / 0.80)
FLOORS = {
    "category_micro_f1": 0.77,
    "suicidal_recall": 0.94,
    "flag_recall": 0.93,
    "response_mode_accuracy": 0.72,
}


def test_gold_set_is_large_varied_and_valid(gold):
    assert len(gold) >= 200
    assert len({g["id"] for g in gold}) == len(gold)
    assert sum(1 for g in gold if not g["categories"]) / len(gold) >= 0.3
    for c in CATEGORIES:
        assert sum(c in g["categories"] for g in gold) >= 5, c
    for f in FLAGS:
        assert sum(f in g["flags"] for g in gold) >= 8, f
    assert {g["response_mode"] for g in gold} == set(RESPONSE_MODES)
    assert len({g["source"] for g in gold}) >= 4  # several independent writers


def test_gold_shares_no_near_copy_with_training_data(gold):
    sys.path.insert(0, str(ROOT / "tools"))
    from dedupe import near_duplicates

    train = [r["text"] for r in read_records(DATA)]
    assert near_duplicates([g["text"] for g in gold], train, threshold=0.6) == []
    assert near_duplicates([g["text"] for g in gold], None, threshold=0.6) == []


@pytest.fixture(scope="module")
def metrics(model, gold):
    results = model.classify_batch([g["text"] for g in gold])
    return compute_metrics(gold, [r.to_dict() for r in results])


def test_gold_metrics_above_floors(metrics):
    assert metrics["category_micro"]["f1"] >= FLOORS["category_micro_f1"]
    assert metrics["per_label"]["suicidal"]["recall"] >= FLOORS["suicidal_recall"]
    for f in FLAGS:
        assert metrics["per_label"][f]["recall"] >= FLOORS["flag_recall"], f
    assert metrics["response_mode_accuracy"] >= FLOORS["response_mode_accuracy"]


def test_manifest_reports_the_gold_metrics_we_measure(model, metrics):
    reported = model.manifest["evaluation"]["gold"]
    assert reported["category_micro"] == metrics["category_micro"]
    assert reported["response_mode_accuracy"] == metrics["response_mode_accuracy"]
