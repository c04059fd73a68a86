import json

import numpy as np
import pytest

from crisis_nlp import CATEGORIES, FLAGS, RESPONSE_MODES, InputError
from crisis_nlp.result import RESULT_KEYS


def test_result_has_exactly_the_contract_keys(model):
    r = model.classify("subj on bridge rail threatening to jump, denies weapons")
    d = json.loads(r.to_json())
    assert tuple(d) == RESULT_KEYS
    assert set(d["scores"]) == set(CATEGORIES + FLAGS)
    assert all(0.0 <= v <= 1.0 for v in d["scores"].values())
    assert d["response_mode"] in RESPONSE_MODES
    assert d["model_version"] == model.version
    assert d["reason"].startswith("rule ")


def test_bridge_note(model):
    r = model.classify("subj on bridge rail threatening to jump, denies weapons")
    assert "suicidal" in r.categories
    assert "weapon" not in r.flags and "violence" not in r.flags  # a threat to oneself (schema 1.1)


def test_bridge_note_sends_a_co_responder(model):
    """A suicide attempt about to happen in a public place (policy rule 4). A known miss of
    2.3.0-2.17.0 (the learned public-place cue read low on this wording); found by 2.18.0."""
    r = model.classify("subj on bridge rail threatening to jump, denies weapons")
    assert r.response_mode == "co_responder"
    # 2.21.0's learned cue read this one at 0.57, the first trainings of stop 40 at 0.12; since
    # 2.22.0 a floor reads the place (concepts.json PUBLIC_RISK)


@pytest.mark.parametrize("note", ["female on the overpass threatening to jump into traffic",
                                  "PERSON OUTSIDE RAILING OF THE BRIDGE, SAYS SHE WANTS TO DIE",
                                  "says he is going to step in front of the next train, on the platform now"])
def test_a_suicide_attempt_at_a_risky_public_spot_sends_a_co_responder(model, note):
    assert model.classify(note).response_mode == "co_responder"


def test_a_risky_spot_in_an_ordinary_call_changes_nothing(model):
    """The public-place cue only decides a mode with a suicidal person (policy rule 4)."""
    for note in ("cat stuck on the roof of the garage, owner crying", "deer on the tracks near the crossing, not moving"):
        r = model.classify(note)
        assert r.categories == [] and r.response_mode == "standard_dispatch"


ISSUE_EXAMPLE = "RP states brother (army vet) said he'd end it tonight, has a handgun, ETOH"


def test_issue_example(model):
    r = model.classify(ISSUE_EXAMPLE)
    assert "suicidal" in r.categories
    assert "weapon" in r.flags
    assert "veteran" in r.categories  # 2.2.0 missed it
    # a suicidal person with a gun in reach: policy rule 4, not police first (2.2.0 and
    # earlier: law_enforcement through the violence-in-progress cue; the ceilings fixed it)
    assert r.response_mode == "co_responder"


def test_issue_example_in_full(model):
    """The issue's example with its ETOH (substance_use): a known miss of 2.9.0-2.21.0 (0.27
    under the shared threshold; 2.7.0 and 2.8.0 found it at 0.43-0.44), found since 2.22.0 by
    the companion rule (an intoxicated person in a crisis note). The false violence flag of
    2.4.0-2.13.0 is gone since 2.14.0: in a suicide note violence needs harm aimed at others."""
    r = model.classify(ISSUE_EXAMPLE)
    assert "substance_use" in r.categories and "violence" not in r.flags


def test_batch_equals_single(model, gold):
    notes = [g["text"] for g in gold[:40]]
    batch = model.classify_batch(notes)
    single = [model.classify(n) for n in notes]
    assert [b.to_dict() for b in batch] == [s.to_dict() for s in single]


@pytest.mark.parametrize("weapon", ["handgun", "pistol", "rifle", "shotgun", "knife", "machete", "firearm"])
def test_negated_weapon_is_not_a_weapon(model, weapon):
    pos = model.classify(f"RP states her son is in his room with a {weapon}, says he wants to die")
    neg = model.classify(f"RP states her son is in his room, denies having a {weapon}, says he wants to die")
    assert "weapon" in pos.flags
    assert "weapon" not in neg.flags
    assert neg.scores["weapon"] < pos.scores["weapon"]


@pytest.mark.parametrize(
    "note",
    ["pt denies SI, calling to report a stolen bike from the garage",
     "not suicidal per RP, just locked out of his car at the mall"],
)
def test_denied_si_is_not_suicidal(model, note):
    assert "suicidal" not in model.classify(note).categories


@pytest.mark.parametrize("bad, msg", [("", "empty"), ("   \n", "empty"), (None, "not text"), (42, "not text"),
                                      ("x" * 20001, "limit")])
def test_bad_notes_raise_clear_errors(model, bad, msg):
    with pytest.raises(InputError, match=msg):
        model.classify(bad)


def test_reason_names_negations_and_no_pii(model):
    r = model.classify("caller states she is safe, no weapons, cb 555-867-5309, wants to talk about her anxiety")
    assert "867" not in r.reason
    assert "weapons" in r.reason  # negated words are shown


def test_predict_proba_matches_scores(model):
    notes = ["pt unresponsive after taking a bottle of pills", "noise complaint, loud music"]
    P = model.predict_proba(notes)
    for row, r in zip(P, model.classify_batch(notes)):
        assert np.allclose(row, [r.scores[x] for x in CATEGORIES + FLAGS], atol=1e-4)


def test_bulk_path_gives_the_same_labels_and_scores(model, gold):
    notes = [g["text"] for g in gold]
    full = model.classify_batch(notes)
    bulk = model.classify_batch(notes, explain=False)
    for f, b in zip(full, bulk):
        assert (b.categories, b.flags, b.response_mode) == (f.categories, f.flags, f.response_mode)
        assert all(abs(b.scores[k] - f.scores[k]) <= 1e-4 for k in f.scores)
        assert f.reason.startswith(b.reason)  # the rule, without the words
    sparse = model._scorer.matrix([g for g in map(str, ["", "a b"])])
    assert sparse.shape[0] == 2 and sparse[0].nnz == 0


def test_inference_scorer_matches_the_scikit_learn_estimator(gold):
    """The scorer reads only a version's arrays; it must give the fitted estimator's
    probabilities (train() runs the same check before writing a version)."""
    from crisis_nlp.model.artifact import ModelArrays
    from crisis_nlp.training.evaluate import label_matrix
    from crisis_nlp.batch.tables import read_records
    from crisis_nlp.model.estimator import DEFAULT_OUTPUTS, CrisisClassifier
    from crisis_nlp.preprocess import note_features
    from crisis_nlp.model.scorer import LinearScorer
    from crisis_nlp.training.train import scorer_parity

    from conftest import DATA

    train = list(read_records(DATA))[:1500]
    feats = note_features([r["text"] for r in train])
    clf = CrisisClassifier().fit_features(feats, label_matrix(train, DEFAULT_OUTPUTS))
    arrays = ModelArrays.from_classifier(clf)
    notes = [g["text"] for g in gold]
    sk = clf.predict_proba(notes)
    scorer = LinearScorer(arrays)
    gold_feats = note_features(notes)
    fast = np.array([scorer.proba(*scorer.vector(f)) for f in gold_feats])
    assert np.allclose(sk, fast, rtol=0, atol=1e-5)
    assert np.allclose(scorer.proba_matrix(scorer.matrix(gold_feats)), fast, rtol=0, atol=1e-12)
    assert scorer_parity(clf, arrays, gold_feats) <= 1e-5


def test_bulk_counting_equals_the_single_note_vector(model, gold):
    """The batch path's two ways of counting (word types x columns from feature strings,
    and from token hashes without strings) give the single-note vector of each note, for
    a batch of any make-up, also after the word-type table was emptied mid-way."""
    import scipy.sparse as sp

    from crisis_nlp.preprocess.pipeline import doc_features, feature_table, process, process_batch

    notes = [g["text"] for g in gold] + ["!!!", "no weapons, denies SI/HI", "a", "SI SI si", "17yof w/ knife"]
    docs = process_batch(notes, model.rules_dir)
    feats = [doc_features(d) for d in docs]
    assert feats == [doc_features(process(n, model.rules_dir)) for n in notes]  # batch components = one by one
    sc = model._scorer
    rows, cols, vals = [], [], []
    for r, f in enumerate(feats):
        c, v = sc.vector(f)
        rows += [r] * len(c)
        cols += c.tolist()
        vals += v.tolist()
    plain = sp.csr_matrix((vals, (rows, cols)), shape=(len(feats), len(sc.idf)))
    assert plain[len(gold)].nnz == 0  # punctuation only: an empty row
    for X in (sc.matrix(feats), sc.matrix_table(feature_table(docs))):
        assert X.shape == plain.shape and abs(X - plain).max() < 1e-12
    sc._types.max_size = 50  # forces resets between batches
    try:
        for start, stop in ((0, 7), (7, len(docs))):
            X = sc.matrix_table(feature_table(docs[start:stop]))
            assert abs(X - plain[start:stop]).max() < 1e-12
    finally:
        sc._types.max_size = 300_000
    assert sc.matrix_table(feature_table([])).shape == (0, len(sc.idf))


def test_one_model_serves_many_threads(model, gold):
    from concurrent.futures import ThreadPoolExecutor

    notes = [g["text"] for g in gold] * 2
    expected = [model.classify(n).to_dict() for n in notes]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda n: model.classify(n).to_dict(), notes))
    assert got == expected


def test_bulk_path_is_safe_from_many_threads(model, gold):
    """Batches scored at once from several threads (the word-type table grows and is
    emptied while they run) give what one thread gives."""
    from concurrent.futures import ThreadPoolExecutor

    notes = [g["text"] for g in gold]
    batches = [notes[i::6] for i in range(6)] * 3
    expected = [model.predict_proba(b) for b in batches]
    old = model._scorer._types.max_size
    model._scorer._types.max_size = 200  # resets happen while other threads are mid-batch
    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            got = list(pool.map(model.predict_proba, batches))
    finally:
        model._scorer._types.max_size = old
    for g, e in zip(got, expected):
        assert np.allclose(g, e, rtol=0, atol=1e-12)


def test_bulk_path_pauses_the_collector_and_gives_it_back(model, gold):
    import gc

    notes = [g["text"] for g in gold[:20]]
    assert gc.isenabled()
    first = model.predict_proba(notes)
    assert gc.isenabled()  # switched back on
    gc.disable()
    try:
        assert (model.predict_proba(notes) == first).all()
        assert not gc.isenabled()  # a caller's choice is left alone
    finally:
        gc.enable()


def test_bulk_path_takes_a_batch_with_no_word_pairs(model):
    """One-word notes give a batch without a single pair of words to look up as a bigram
    (scipy answered that lookup with a sparse matrix, and the batch failed)."""
    notes = ["a", "a", "help", "b"]  # one word each, no concept
    bulk = model.classify_batch(notes, explain=False)
    for note, r in zip(notes, bulk):
        one = model.classify(note)
        assert (r.categories, r.flags, r.response_mode, r.scores) == (one.categories, one.flags, one.response_mode,
                                                                      one.scores)


@pytest.mark.parametrize("note", [
    "NEIGHBOR IS CUTTING DOWN TREES ON RP'S SIDE OF THE PROPERTY LINE, VERBAL ONLY",
    "SUBJ WAS CUTTING WIRE AT THE CONSTRUCTION SITE, FLED ON FOOT",
    "KIDS JUMPING OFF THE RAILROAD BRIDGE INTO THE RIVER, RP CONCERNED FOR SAFETY",
    "SUBJ IS SHOOTING FIREWORKS IN THE STREET",
])
def test_everyday_acts_with_crisis_words_are_ordinary_calls(model, note):
    """2.18.0 labelled each of these a crisis (self_harm, suicidal) or flagged violence;
    2.19.0's rules read the everyday act (README, 'Against default@2.18.0')."""
    r = model.classify(note)
    assert r.categories == [] and "violence" not in r.flags and r.response_mode == "standard_dispatch"


@pytest.mark.parametrize("note, mode", [
    ("son 17 texted he is going to kill himself tonight, his dad's guns are locked in the safe and dad has "
     "the only key", "mobile_crisis"),
    ("17 YOM SAYS HE WANTS TO DIE, RIFLES ARE AT HIS UNCLES HOUSE SINCE LAST MONTH, MOM REQ SOMEONE COME TALK TO HIM",
     "mobile_crisis"),
    ("pistol on the passenger seat, driver says he is going to end it tonight, parked at the overlook", "co_responder"),
])
def test_a_suicidal_person_is_sent_by_where_the_weapon_is(model, note, mode):
    """2.19.0 flagged the weapon kept out of reach (co_responder) and read a pistol on the
    passenger seat as aimed at the passenger (law_enforcement); 2.20.0's rules read where the
    weapon is (README, 'Against default@2.19.0'). Probe notes of the project, not gold."""
    r = model.classify(note)
    assert "suicidal" in r.categories and "violence" not in r.flags and r.response_mode == mode


def test_harm_aimed_at_oneself_or_long_past_is_no_violence(model):
    """2.19.0 flagged violence on each: sport shooting, a person with a knife to his own wrist
    (no one else threatened), an assault of last night."""
    assert model.classify("TWO TEENS SHOOTING HOOPS AT 0200, BALL BANGING OFF THE GARAGE DOOR").flags == []
    r = model.classify("SUBJ HAS A KNIFE TO HIS WRIST AND SAYS HE WILL KILL HIMSELF, NO ONE ELSE THREATENED, MOM OUTSIDE")
    assert r.flags == ["weapon"] and r.response_mode == "co_responder"
    r = model.classify("caller states she was assaulted at a bar last night, cant sleep, keeps shaking, wants to talk to someone")
    assert "violence" not in r.flags and r.categories


def test_an_accidental_cut_is_an_injury_not_self_harm(model):
    r = model.classify("ACCIDENTALLY CUT HIS ARM ON SHEET METAL AT WORK, LAC 3 INCHES, BLEEDING CONTROLLED")
    assert "self_harm" not in r.categories and "medical" in r.flags
    r = model.classify("DAUGHTER HAS BEEN CUTTING AGAIN, FRESH CUTS ON ARMS, MOTHER REQ MCT")
    assert "self_harm" in r.categories


@pytest.mark.parametrize("note", [
    "caller is the pt, panic attacks all week, cant stop shaking, says she is safe, wants someone to come by in person tonight",
    "caller is the pt, says he is out of his meds and hearing voices again, not a danger to anyone, req mct to his apt",
    "caller states she lost her job and has nowhere to go tonight, requesting someone to come out and help her find a shelter bed",
])
def test_a_request_for_someone_to_go_is_no_phone_call(model, note):
    """Policy rule 6 (crisis_line) is for calls where no one needs to go; a request for a
    team or a visit says someone does (since 2.21.0: the IN_PERSON concept turns the
    caller-is-the-person cue off). 2.20.0 sent 20 gold notes to crisis_line against a gold
    mobile_crisis, 15 of them with such a request; it sent each of these to crisis_line. Probe
    notes of the project, not gold."""
    r = model.classify(note)
    assert r.categories and r.response_mode == "mobile_crisis"


def test_a_caller_who_only_wants_to_talk_is_still_a_phone_call(model):
    r = model.classify("caller is the pt, says she is safe, no si, feeling lonely tonight, just wants to talk to someone")
    assert r.response_mode == "crisis_line"
    r = model.classify("caller is the pt, feeling lonely, doesnt want anyone to come out, just wants to talk")
    assert r.response_mode == "crisis_line"
