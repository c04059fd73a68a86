"""The hand-written gold sets: no generator touched them, nothing was tuned on them.

- ``gold.jsonl``: 260 notes by four writers (urban CAD, rural timeline, 988 / clinician,
  callers' quotes), written for schema 1.0 (one note gained ``psychosis`` for 1.1).
- ``gold_cad.jsonl``: 360 notes in the CAD-page genre by four writers who saw only
  ``shared/cad-genre.md`` and the taxonomy (metro CAD, rural pager, EMS protocol, city PD),
  written and frozen before any tuning of the schema-1.1 model.
- ``gold_fresh.jsonl``: 239 notes by four more writers at stop 35 (a Southern city's CAD export,
  a Midwest consolidated fire/EMS/sheriff centre, a Western 988-diversion desk, Northeast
  relays), half other calls, committed before any model was measured on it (a 240th, a
  toddler in a grandmother's pills, was within 0.67 of a CAD-page note and was dropped). 2.17.0's training
  began before it existed, so its manifest does not score it; 2.18.0's and 2.19.0's do.
- ``gold_updates.jsonl`` (stop 36, tested at the end of this file): 180 notes by two more
  writers on one thing, a later update that takes a report back or closes a real crisis.
- ``gold_regional.jsonl``: 237 notes by two more writers at stop 37 (a Southwestern metro's
  consolidated centre in upper case; a Mountain West county sheriff and fire district in lower
  case), half other calls, cues annotated by a third helper so that every mode follows the
  policy (two modes changed), three near-copies dropped (two of one another, one of a fresh
  note). Written after stop 37's rules and before any model was measured on it; its brief asked
  for everyday uses of crisis words and named kinds (cutting trees, a lock; jumping into water
  for fun; fireworks; an accidental cut) that stop 37's rules also cover, so its false-alarm
  rate leans toward those rules (README). One rule bug it showed (a quote between a rifle and
  'thinking about it') was fixed before 2.19.0 was trained.
- ``gold_east.jsonl``: 235 notes by two more writers at stop 38 (a Mid-Atlantic city police
  department's event chronology in mixed case; an Appalachian county centre in fast lower
  case), half other calls, each writer labelling their own cues; four near-copies of older gold
  notes dropped (a dog bite, a grandparent scam, a trazodone protocol page, a man talking to
  himself on a phone earpiece) and one whose idiom a training narrative shares (the generator
  test of six-word runs). Written while 2.20.0 trained, after stop 38's rules, from a
  brief that named only kinds of words (weapons, cutting, jumping, shooting ...), never a rule's
  example; nothing was changed after reading its errors: the blind set of 2.20.0. Its
  mode errors were read at stop 39 (2.21.0's request-for-a-visit ceiling), so for 2.21.0
  its response-mode accuracy is partly in-sample.

The floors below are the measured numbers of the shipped model, rounded down (see the
README); a model that falls below them fails. They are floors, not the issue's targets:
where a target is missed, the README says so."""

import json
import sys

import pytest

from crisis_nlp.batch.tables import read_records
from crisis_nlp.labels import CATEGORIES, FLAGS, RESPONSE_MODES
from crisis_nlp.training.evaluate import compute_metrics

from conftest import DATA, ROOT

GOLD_DIR = ROOT / "tests" / "data"
# measured on default@2.29.0 (see README 'Measured accuracy'), rounded down (up for rates of
# false alarms); suicidal recall keeps one note of slack. 2.10.0-2.29.0 read notes of more
# than 64 tokens in stretches too; nearly all gold notes are shorter
FLOORS = {
    # measured: 0.865 (2.28.0 and 2.27.0: 0.861, 2.26.0: 0.862), 0.970 (65 of 67), 0.922 (violence; weapon
    # 1.000, medical 0.982), 0.862 (2.28.0, 2.27.0 and 2.26.0: 0.858), 0.055 (5 of 91)
    "gold.jsonl": {"category_micro_f1": 0.86, "suicidal_recall": 0.95, "flag_recall": 0.92,
                   "response_mode_accuracy": 0.85, "other_calls_labelled_crisis": 0.06},
    # measured: 0.925 (2.28.0: 0.927, 2.27.0: 0.923), 1.000, 0.971 (violence; weapon 1.000, medical
    # 0.985), 0.922 (2.28.0 and 2.27.0: 0.925, 2.26.0: 0.922), 0.010 (2 of 193)
    "gold_cad.jsonl": {"category_micro_f1": 0.92, "suicidal_recall": 0.98, "flag_recall": 0.97,
                       "response_mode_accuracy": 0.92, "other_calls_labelled_crisis": 0.02},
    # measured: 0.917 (2.28.0: 0.912, 2.27.0: 0.909), 0.976 (40 of 41), 1.000 (every flag), 0.895
    # (2.28.0: 0.891, 2.27.0: 0.887), 0.042 (5 of 119; 2.27.0: 6)
    "gold_fresh.jsonl": {"category_micro_f1": 0.91, "suicidal_recall": 0.95, "flag_recall": 0.96,
                         "response_mode_accuracy": 0.89, "other_calls_labelled_crisis": 0.05},
    # measured: 0.901 (2.28.0: 0.901, 2.27.0: 0.899), 0.978 (44 of 45), 0.926 (medical; weapon 0.966,
    # violence 0.944), 0.844 (2.28.0: 0.819, 2.27.0: 0.814; the caller floor sends 6 self-calls to the
    # crisis line), 0.033 (4 of 120; 2.27.0: 5)
    "gold_regional.jsonl": {"category_micro_f1": 0.90, "suicidal_recall": 0.95, "flag_recall": 0.92,
                            "response_mode_accuracy": 0.84, "other_calls_labelled_crisis": 0.04},
    # measured blind for 2.20.0 (written while it trained): 0.919, 0.974 (38 of 39), 0.838 modes;
    # 2.29.0: 0.917 (2.28.0: 0.917, 2.27.0: 0.917, 2.26.0: 0.911, 2.25.0: 0.909), 1.000 (39 of 39), 0.941 (violence; weapon 0.960,
    # medical 1.000), 0.868 (2.28.0: 0.868, 2.27.0: 0.864, 2.26.0: 0.860, 2.25.0: 0.860, 2.24.0: 0.855; 2.21.0: 0.868, its mode errors read), 0.034 (4 of 117)
    "gold_east.jsonl": {"category_micro_f1": 0.91, "suicidal_recall": 0.94, "flag_recall": 0.94,
                        "response_mode_accuracy": 0.85, "other_calls_labelled_crisis": 0.04},
}




def _load(name):
    return [json.loads(line) for line in (GOLD_DIR / name).read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module", params=sorted(FLOORS))
def gold_set(request):
    return request.param, _load(request.param)


def test_gold_sets_are_large_varied_and_valid(gold_set):
    name, gold = gold_set
    assert len(gold) >= 230
    assert len({g["id"] for g in gold}) == len(gold)
    assert sum(1 for g in gold if not g["categories"]) / len(gold) >= 0.3
    for c in CATEGORIES:
        if c == "psychosis" and name == "gold.jsonl":
            continue  # written before schema 1.1 added it
        assert sum(c in g["categories"] for g in gold) >= 5, c
    for f in FLAGS:
        assert sum(f in g["flags"] for g in gold) >= 8, f
    assert {g["response_mode"] for g in gold} == set(RESPONSE_MODES)
    # several independent writers (four a set; the regional and east sets' two after stop 36's two)
    assert len({g["source"] for g in gold}) >= (2 if name in ("gold_regional.jsonl", "gold_east.jsonl") else 4)


@pytest.mark.parametrize("name", ["gold_regional.jsonl", "gold_east.jsonl"])
def test_gold_modes_follow_the_default_policy_from_their_labels(name):
    """The sets annotated with cues: each note's mode is what the default policy gives for
    its categories, flags and cues, so a mode error is the model's, not the annotation's."""
    from crisis_nlp.model.policy import ResponsePolicy

    policy = ResponsePolicy.default()
    wrong = [g["id"] for g in _load(name)
             if policy.decide(g["categories"], g["flags"], g["cues"]).mode != g["response_mode"]]
    assert wrong == []


def test_the_cad_gold_set_is_mostly_other_calls_with_psychosis_and_ingestion():
    gold = _load("gold_cad.jsonl")
    assert len(gold) >= 300
    assert sum(1 for g in gold if not g["categories"]) / len(gold) >= 0.5
    assert sum("psychosis" in g["categories"] for g in gold) >= 40
    took = [g for g in gold if "substance_use" in g["categories"] or "suicidal" in g["categories"]]
    assert sum("medical" in g["flags"] for g in took) >= 30  # overdoses by ingestion, mostly


def test_gold_sets_share_no_near_copy_with_training_data_or_each_other():
    sys.path.insert(0, str(ROOT / "tools"))
    from dedupe import near_duplicates

    train = [r["text"] for r in read_records(DATA)]
    texts = [g["text"] for name in FLOORS for g in _load(name)]
    # pasted protocol text ("Chief Complaint: Stroke (CVA) / Transient Ischemic Attack (TIA)
    # Dispatch CAD Code: ...") is the same boilerplate in every CAD page: the closest pairs
    # share it and little else (measured: 0.64 at most, two overdose-protocol pages of the
    # CAD-page and fresh sets); 0.65 leaves room for it
    assert near_duplicates(texts, train, threshold=0.65) == []
    assert near_duplicates(texts, None, threshold=0.65) == []


@pytest.fixture(scope="module")
def measured(model, gold_set):
    name, gold = gold_set
    results = model.classify_batch([g["text"] for g in gold])
    return name, compute_metrics(gold, [r.to_dict() for r in results])


def test_gold_metrics_above_floors(measured):
    name, m = measured
    floors = FLOORS[name]
    assert m["category_micro"]["f1"] >= floors["category_micro_f1"]
    assert m["per_label"]["suicidal"]["recall"] >= floors["suicidal_recall"]
    for f in FLAGS:
        assert m["per_label"][f]["recall"] >= floors["flag_recall"], f
    assert m["response_mode_accuracy"] >= floors["response_mode_accuracy"]
    assert m["other_calls_labelled_crisis"] <= floors["other_calls_labelled_crisis"]


def test_manifest_reports_the_gold_metrics_we_measure(model, measured):
    name, m = measured
    reported = model.manifest["evaluation"]["gold_sets"][name]
    assert reported["category_micro"] == m["category_micro"]
    assert reported["response_mode_accuracy"] == m["response_mode_accuracy"]


# -- updates that take a report back, or close a crisis (stop 36) -----------------------------

#: ``gold_updates.jsonl``: 180 notes by two writers who saw only the taxonomy and the CAD-genre
#: notes (a Pacific Northwest regional centre; a Gulf Coast parish and city): 100 reports a
#: later update takes back (no label) and 80 real crises a later update closes. Not a full gold
#: set (two writers, one kind of note); it measures one thing. Floors: measured on the shipped
#: model, rounded down (up for the false-alarm rate).
# measured on default@2.29.0: 33 of 100 reports taken back still labelled crisis (2.28.0: 31, 2.27.0: 31, 2.26.0: 31, 2.25.0: 31, 2.24.0: 31;
# 2.23.0: 33; 2.18.0-2.22.0: 35; 2.17.0: 47), behavioural-health recall 0.950 (76 of 80; 2.25.0: 76, 2.24.0: 76; 2.22.0-2.23.0: 77;
# 2.18.0-2.21.0: 78), suicidal recall 1.000 (31 of 31)
UPDATES_FLOORS = {"other_calls_labelled_crisis": 0.34, "behavioural_health_recall": 0.95,
                  "suicidal_recall": 0.96}


def test_updates_set_is_valid_and_new():
    sys.path.insert(0, str(ROOT / "tools"))
    from dedupe import near_duplicates

    notes = _load("gold_updates.jsonl")
    assert len(notes) >= 180 and len({g["id"] for g in notes}) == len(notes)
    assert sum(1 for g in notes if not g["categories"]) >= 90 and sum(1 for g in notes if g["categories"]) >= 70
    assert len({g["source"] for g in notes}) >= 2
    train = [r["text"] for r in read_records(DATA)]
    others = [g["text"] for name in FLOORS for g in _load(name)]
    texts = [g["text"] for g in notes]
    assert near_duplicates(texts, train, threshold=0.65) == []
    assert near_duplicates(texts, others, threshold=0.65) == []


def test_an_update_that_takes_the_report_back_is_read(model):
    notes = _load("gold_updates.jsonl")
    m = compute_metrics(notes, [r.to_dict() for r in model.classify_batch([g["text"] for g in notes])])
    assert m["other_calls_labelled_crisis"] <= UPDATES_FLOORS["other_calls_labelled_crisis"]
    assert m["behavioural_health_call"]["recall"] >= UPDATES_FLOORS["behavioural_health_recall"]
    assert m["per_label"]["suicidal"]["recall"] >= UPDATES_FLOORS["suicidal_recall"]
