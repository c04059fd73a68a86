"""Knowledge rules (crisis_nlp.model.knowledge). Floors: an affirmed weapon concept sets
`weapon` whatever the learned score; a denied one does not. Ceilings: harm aimed only at
oneself turns `violence` and the against-others cues off; harm aimed at anyone else keeps
the learned score. Versions without rules are unchanged; training's feature-string view of
the rules agrees with the model's."""

import numpy as np
import pytest

from crisis_nlp import load_model
from crisis_nlp.api import CrisisModel
from crisis_nlp.errors import InputError
from crisis_nlp.model.knowledge import (DEFAULT_CEILINGS, DEFAULT_FLOORS, apply_to_features, check_ceilings,
                                       check_floors, with_rules)
from crisis_nlp.preprocess import note_features

# a long ordinary-sounding page with one clause that holds a pistol (2.1.0 scores it low)
LONG = ("rp whispering, wife of 41yo army vet. says since the neighbors started the fireworks tonight "
        "he's not himself. he has his pistol out and pointed it at her and at the dog, she and the 2 kids "
        "are locked in the master bathroom. unk if he's been drinking. keeping rp on the line")
DENIED = "rp states her husband is upset about the fireworks, no weapons in the home, kids asleep"


@pytest.fixture(scope="module")
def pair():
    base = load_model("default@2.1.0")  # shipped without floors
    floored = CrisisModel(with_rules(base.arrays, DEFAULT_FLOORS), base.policy, base.version,
                          rules_dir=base.rules_dir)
    return base, floored


def test_an_affirmed_weapon_sets_the_flag_at_the_threshold(pair):
    base, floored = pair
    j = base.arrays.outputs.index("weapon")
    t = float(base.arrays.thresholds[j])
    before, after = base.classify(LONG), floored.classify(LONG)
    assert "weapon" not in before.flags and before.scores["weapon"] < t  # what the floor is for
    assert "weapon" in after.flags and after.scores["weapon"] == pytest.approx(t, abs=1e-4)


def test_single_and_bulk_paths_apply_the_same_floors(pair):
    _, floored = pair
    notes = [LONG, DENIED, "subj has a knife in hand", "caller wants to talk, feeling low"]
    single = [floored.classify(n) for n in notes]
    bulk = floored.classify_batch(notes, explain=False)
    assert [r.flags for r in single] == [r.flags for r in bulk]
    assert np.allclose([r.scores["weapon"] for r in single], [r.scores["weapon"] for r in bulk], atol=1e-4)


def test_a_denied_weapon_is_no_floor(pair):
    base, floored = pair
    assert floored.classify(DENIED).flags == base.classify(DENIED).flags
    assert "weapon" not in floored.classify(DENIED).flags


def test_a_version_without_floors_scores_as_before(pair):
    base, _ = pair
    assert "label_floors" not in base.arrays.settings
    assert not base._knowledge


def test_floors_name_outputs_and_affirmed_concepts():
    outputs = ("weapon", "suicidal")
    assert check_floors({"weapon": ["C_WEAPON"]}, outputs) == {"weapon": ["C_WEAPON"]}
    for bad in ({"gun": ["C_WEAPON"]}, {"weapon": ["NEG_C_WEAPON"]}, {"weapon": ["gun"]}, {"weapon": []}):
        with pytest.raises(InputError, match="label_floors"):
            check_floors(bad, outputs)


# -- ceilings -----------------------------------------------------------------------------
SELF_ONLY = ["rp states her brother is on the overpass threatening to jump, he is crying",
             "male with a knife to his own wrist threatening to cut, wont put it down",
             "SUBJ THREATENING TO OVERDOSE ON HIS MEDS, WIFE ON SCENE"]
OTHERS_TOO = ["threatening to jump and punched his brother in the face",
              "says he wants to die, pointed the gun at his wife",
              "threatening to kill himself and his wife, has a rifle",
              "holding a knife to his throat, said he would stab anyone who comes in"]


@pytest.fixture(scope="module")
def ceiled():
    """2.2.0's weights (floors, no ceilings) read with the package's rule tables, whose
    target patterns (patterns_targets.json) the ceilings rely on, with and without ceilings."""
    shipped = load_model("default@2.2.0")
    base = CrisisModel(shipped.arrays, shipped.policy, shipped.version)
    model = CrisisModel(with_rules(shipped.arrays, ceilings=DEFAULT_CEILINGS), shipped.policy, shipped.version)
    return base, model


def test_harm_aimed_only_at_oneself_is_not_violence(ceiled):
    base, model = ceiled
    assert "violence" in base.classify(SELF_ONLY[0]).flags  # the misfire issue 11 names
    for note in SELF_ONLY:
        r = model.classify(note)
        assert "violence" not in r.flags, note
        assert r.response_mode != "law_enforcement", note


def test_a_suicidal_person_with_a_gun_in_reach_is_no_police_lead(ceiled):
    """The README's first example: policy rule 4 (co-responder), not rule 2."""
    base, model = ceiled
    note = "RP states brother (army vet) said he'd end it tonight, has a handgun, ETOH"
    assert base.classify(note).response_mode == "law_enforcement"  # the misfire issue 11 names
    r = model.classify(note)
    assert "suicidal" in r.categories and "weapon" in r.flags
    assert r.response_mode == "co_responder"


def test_harm_aimed_at_others_keeps_the_learned_score(ceiled):
    base, model = ceiled
    for note in OTHERS_TOO:
        assert model.classify(note).scores == base.classify(note).scores, note
    assert "violence" in model.classify(OTHERS_TOO[0]).flags


def test_single_and_bulk_paths_apply_the_same_ceilings(ceiled):
    _, model = ceiled
    notes = SELF_ONLY + OTHERS_TOO
    single = [model.classify(n) for n in notes]
    bulk = model.classify_batch(notes, explain=False)
    assert [(r.flags, r.response_mode) for r in single] == [(r.flags, r.response_mode) for r in bulk]


def test_training_view_of_the_rules_matches_the_model(ceiled):
    """apply_to_features (training's held-out report) gives what CrisisModel gives."""
    base, model = ceiled
    notes = SELF_ONLY + OTHERS_TOO + [LONG, DENIED]
    outputs = base.arrays.outputs
    raw = CrisisModel(base.arrays, base.policy, base.version)
    raw._knowledge.floors, raw._knowledge.ceilings = [], []  # the bare calibrated scores
    P = raw.proba_all(notes)
    thresholds = dict(zip(outputs, base.arrays.thresholds.tolist()))
    got = apply_to_features(P, note_features(notes), model.arrays.settings, outputs, thresholds)
    assert np.allclose(got, model.proba_all(notes))
    assert not np.allclose(got, P)  # the rules did something


def test_ceilings_name_outputs_and_affirmed_concepts():
    outputs = ("violence", "weapon")
    good = {"violence": {"when": ["C_THREAT_SELF"], "unless": ["C_VIOLENCE"]}}
    assert check_ceilings(good, outputs) == good
    for bad in ({"harm": good["violence"]}, {"violence": {"when": ["C_THREAT_SELF"]}},
                {"violence": {"when": ["THREAT_SELF"], "unless": ["C_VIOLENCE"]}},
                {"violence": {"when": [], "unless": ["C_VIOLENCE"]}}):
        with pytest.raises(InputError, match="label_ceilings"):
            check_ceilings(bad, outputs)


@pytest.mark.parametrize("note, label", [
    ("RP IS PT // HAVING SUCIDAL THOUGHTS ON AND OFF TODAY, NO PLAN, NO WEAPONS // SAFE AT HOME, WANTS TO TALK",
     "suicidal"),
    ("DOM IN PROG // F RP WHISPERING ADV BF PUNCHING HER NOW, 2 KIDS IN HOME, LINE DISCONNECTED", "violence"),
])
def test_an_affirmed_suicide_or_assault_sets_its_label(pair, note, label):
    _, floored = pair
    r = floored.classify(note)
    assert label in r.categories + r.flags


@pytest.mark.parametrize("note, label", [
    ("denies SI, calling about a stolen bike", "suicidal"),
    ("no threats made, nothing physical, just loud music", "violence"),
])
def test_a_denied_suicide_or_assault_is_no_floor(pair, note, label):
    base, floored = pair
    assert (label in floored.classify(note).categories + floored.classify(note).flags) == \
        (label in base.classify(note).categories + base.classify(note).flags)
