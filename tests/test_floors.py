"""Knowledge floors (crisis_nlp.model.floors): an affirmed weapon concept sets `weapon`
whatever the learned score; a denied one does not; versions without floors are unchanged."""

import numpy as np
import pytest

from crisis_nlp import load_model
from crisis_nlp.api import CrisisModel
from crisis_nlp.errors import InputError
from crisis_nlp.model.floors import DEFAULT_FLOORS, check_floors, with_floors

# a long ordinary-sounding page with one clause that holds a pistol (2.1.0 scores it low)
LONG = ("rp whispering, wife of 41yo army vet. says since the neighbors started the fireworks tonight "
        "he's not himself. he has his pistol out and pointed it at her and at the dog, she and the 2 kids "
        "are locked in the master bathroom. unk if he's been drinking. keeping rp on the line")
DENIED = "rp states her husband is upset about the fireworks, no weapons in the home, kids asleep"


@pytest.fixture(scope="module")
def pair():
    base = load_model("default@2.1.0")  # shipped without floors
    floored = CrisisModel(with_floors(base.arrays, DEFAULT_FLOORS), base.policy, base.version,
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
    assert not base._floors


def test_floors_name_outputs_and_affirmed_concepts():
    outputs = ("weapon", "suicidal")
    assert check_floors({"weapon": ["C_WEAPON"]}, outputs) == {"weapon": ["C_WEAPON"]}
    for bad in ({"gun": ["C_WEAPON"]}, {"weapon": ["NEG_C_WEAPON"]}, {"weapon": ["gun"]}, {"weapon": []}):
        with pytest.raises(InputError, match="label_floors"):
            check_floors(bad, outputs)
