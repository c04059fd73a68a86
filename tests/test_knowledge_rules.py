"""Knowledge rules (crisis_nlp.model.knowledge). Floors: an affirmed weapon concept sets
`weapon` whatever the learned score; a denied one does not. Ceilings: harm aimed only at
oneself turns `violence` and the against-others cues off; harm aimed at anyone else keeps
the learned score. Versions without rules are unchanged; training's feature-string view of
the rules agrees with the model's. Fallbacks: an agency's psych code on a bare page is
psychosis, an overdose code substance_use and medical; since 2.16.0 a page's address, phone
number, units and protocol lines are not "more to say". Companions (since 2.22.0): an
intoxicated person in a note that is a crisis already is substance_use; alone, nothing; since
2.23.0 an act of self-injury beside another category is self_harm."""

import dataclasses

import numpy as np
import pytest

from crisis_nlp import load_model
from crisis_nlp.api import CrisisModel
from crisis_nlp.errors import InputError
from crisis_nlp.model.knowledge import (DEFAULT_CEILINGS, DEFAULT_FALLBACKS, DEFAULT_FLOORS, apply_to_features,
                                       check_ceilings, check_companions, check_fallbacks, check_floor_shares,
                                       check_floors, with_rules)
from crisis_nlp.preprocess.tables import fallback_uncounted, function_words
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
             "SUBJ THREATENING TO OVERDOSE ON HIS MEDS, WIFE ON SCENE",
             # since 2.14.0 a suicide or self-harm concept is enough, with no threat word
             "wife adv husband is suicidal, texted her goodbye, told her he is going to end it tonight"]
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
    assert "violence" in base.classify(SELF_ONLY[-1]).flags  # suicidal, no threat word (2.14.0)
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
                {"violence": {"when": [], "unless": ["C_VIOLENCE"]}},
                {"violence": {"when": ["C_THREAT_SELF"], "unless": "C_VIOLENCE"}},
                {"violence": {"when": ["C_THREAT_SELF"], "unless": ["VIOLENCE"]}}):
        with pytest.raises(InputError, match="label_ceilings"):
            check_ceilings(bad, outputs)
    # an empty 'unless' (since 2.21.0): nothing keeps the learned score
    assert check_ceilings({"weapon": {"when": ["C_IN_PERSON"], "unless": []}}, outputs) == \
        {"weapon": {"when": ["C_IN_PERSON"], "unless": []}}


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


# -- floor shares -------------------------------------------------------------------------
# notes where the violence lexicon finds an affirmed concept (C_VIOLENCE) whatever the call
VIOLENCE_WORDS = ["DV shelter advocate requests a standby while a former resident picks up a TV",
                  "she was assaulted in the parking garage an hour ago, shaking and crying",
                  "DOM IN PROG // F RP WHISPERING ADV BF PUNCHING HER NOW, 2 KIDS IN HOME",
                  "shoot me a message if you want the baby clothes, all free",
                  "two males fighting in the lot, one has a bat"]


@pytest.mark.parametrize("share", [0.0, 0.5, 0.9])
def test_a_floor_share_asks_for_that_much_learned_evidence(pair, share):
    """With a share s the violence floor holds only where the calibrated score is at least
    s x the threshold; elsewhere the flag is the learned one."""
    base, _ = pair
    floors = {"violence": DEFAULT_FLOORS["violence"]}
    model = CrisisModel(with_rules(base.arrays, floors, floor_shares={"violence": share}), base.policy, base.version,
                        rules_dir=base.rules_dir)  # the version's own tables, as `hit` reads them
    j = base.arrays.outputs.index("violence")
    t = float(base.arrays.thresholds[j])
    raw = base.proba_all(VIOLENCE_WORDS)[:, j]
    hit = [bool(set(floors["violence"]) & set(f.split())) for f in note_features(VIOLENCE_WORDS, base.rules_dir)]
    assert any(hit)
    expect = [bool(r >= t or (h and r >= share * t)) for r, h in zip(raw, hit)]
    assert ["violence" in r.flags for r in model.classify_batch(VIOLENCE_WORDS)] == expect
    assert ["violence" in model.classify(n).flags for n in VIOLENCE_WORDS] == expect


def test_a_high_share_turns_off_floors_that_a_low_share_keeps(pair):
    """The share is not a no-op on these notes: some floor holds at 0 and not at 0.9."""
    base, _ = pair
    floors = {"violence": DEFAULT_FLOORS["violence"]}
    got = {}
    for share in (0.0, 0.9):
        model = CrisisModel(with_rules(base.arrays, floors, floor_shares={"violence": share}), base.policy,
                            base.version, rules_dir=base.rules_dir)
        got[share] = sum("violence" in r.flags for r in model.classify_batch(VIOLENCE_WORDS))
    assert got[0.0] > got[0.9]


def test_floor_shares_name_a_floored_label_and_a_share_below_one():
    floors = {"violence": ["C_VIOLENCE"]}
    assert check_floor_shares({"violence": 0.5}, floors) == {"violence": 0.5}
    for bad in ({"weapon": 0.5}, {"violence": 1.0}, {"violence": -0.1}, {"violence": "half"}, {"violence": True}):
        with pytest.raises(InputError, match="label_floor_shares"):
            check_floor_shares(bad, floors)


# -- fallbacks (since 2.13.0) ---------------------------------------------------------------
BARE = ["10-96 // 1200 ELM ST APT 4", "EDP - 400 N MAIN ST / 3RD AVE - CB 555-0100", "MENTAL SUBJ // 88 OAK AVE, UNIT 2"]
CODE_AND_MORE = [
    "10-96 // rp states her neighbor has been mowing the lawn at night again and parking across the driveway, "
    "wants an officer to talk to him about the noise and the car, no one hurt, no threats",
    "EDP // male on the bridge railing says he is going to jump, crying",
]


@pytest.fixture(scope="module")
def fallback():
    base = load_model("default@2.12.0")  # shipped without fallbacks
    model = CrisisModel(with_rules(base.arrays, fallbacks=DEFAULT_FALLBACKS), base.policy, base.version,
                        rules_dir=base.rules_dir)
    return base, model


def test_a_psych_code_on_a_bare_page_is_psychosis(fallback):
    """Taxonomy: an agency's EDP code is psychosis when the note says nothing more specific."""
    base, model = fallback
    before = [base.classify(n).categories for n in BARE]
    assert any("psychosis" not in c for c in before)  # what the fallback is for
    assert all(model.classify(n).categories == ["psychosis"] for n in BARE)


def test_a_code_with_more_to_say_keeps_the_learned_reading(fallback):
    """An ordinary complaint under a psych code, or a note with a crisis of its own, is read
    as before: too many words, or a category already on."""
    base, model = fallback
    for note in CODE_AND_MORE:
        assert model.classify(note).categories == base.classify(note).categories
    assert "psychosis" not in model.classify(CODE_AND_MORE[0]).categories
    assert "suicidal" in model.classify(CODE_AND_MORE[1]).categories


def test_single_bulk_and_training_views_apply_the_same_fallbacks(fallback):
    base, model = fallback
    notes = BARE + CODE_AND_MORE + [LONG, DENIED]
    single = [model.classify(n) for n in notes]
    bulk = model.classify_batch(notes, explain=False)
    assert [r.categories for r in single] == [r.categories for r in bulk]
    outputs = base.arrays.outputs
    raw = CrisisModel(base.arrays, base.policy, base.version, rules_dir=base.rules_dir)
    P = raw.proba_all(notes)
    thresholds = dict(zip(outputs, base.arrays.thresholds.tolist()))
    got = apply_to_features(P, note_features(notes, base.rules_dir), model.arrays.settings, outputs, thresholds,
                            function_words(base.rules_dir))
    assert np.allclose(got, model.proba_all(notes))
    assert not np.allclose(got, P)


def test_fallbacks_name_outputs_concepts_and_a_word_count():
    outputs = ("psychosis", "suicidal")
    good = {"psychosis": {"when": ["C_PSYCH_CODE"], "max_words": 10}}
    assert check_fallbacks(good, outputs) == good
    for bad in ({"nope": {"when": ["C_PSYCH_CODE"], "max_words": 10}},
                {"psychosis": {"when": ["psych"], "max_words": 10}},
                {"psychosis": {"when": ["C_PSYCH_CODE"], "max_words": -1}},
                {"psychosis": {"when": ["C_PSYCH_CODE"], "max_words": True}},
                {"psychosis": {"when": ["C_PSYCH_CODE"]}}):
        with pytest.raises(InputError, match="label_fallbacks"):
            check_fallbacks(bad, outputs)


# -- what a fallback counts (since 2.16.0) -----------------------------------------------------
WRAPPED = ["10-96 / 77 HARBOR WAY / CB 555-0147 / CALLER REQ AN OFFICER / M4 AND P2 ASSIGNED / "
           "DISPATCH RECEIVED BY UNIT 9",
           "Chief Complaint: Psychiatric / Abnormal Behavior / Suicide Attempt\nDispatch CAD Code: 25A01\n"
           "Problem: MENTAL\n40-year-old, Male, Conscious, Breathing.\nM6 ENRT"]
OD_BARE = ["OVERDOSE\n5 PARK PLAZA, APT 9C\nM2 E7 ENRT 04:11", "POSS OD - 1442 S 4TH ST - CALLER HUNG UP - M9 ENRT"]
OD_MORE = ("OD / 5 PARK PLAZA / caller says her neighbor's dog got into a bottle of ibuprofen on the porch, "
           "poison control advised, dog is fine and eating")


@pytest.fixture(scope="module")
def counting():
    """2.15.0's weights with today's fallbacks, reading the package's tables (which hold
    fallback_uncounted.txt) or 2.15.0's snapshot (which does not)."""
    base = load_model("default@2.15.0")
    arrays = with_rules(base.arrays, fallbacks=DEFAULT_FALLBACKS)
    new = CrisisModel(arrays, base.policy, base.version)
    old = CrisisModel(arrays, base.policy, base.version, rules_dir=base.rules_dir)
    return base, new, old


def test_a_pages_address_units_and_protocol_lines_are_not_more_to_say(counting):
    _base, new, old = counting
    assert all("psychosis" in new.classify(n).categories for n in WRAPPED)
    assert any("psychosis" not in old.classify(n).categories for n in WRAPPED)  # what the table is for


def test_an_overdose_code_on_a_bare_page_is_substance_use_and_medical(counting):
    """Taxonomy: overdose is in substance_use's definition, and uncertain content ("POSS OD")
    is a label."""
    base, new, _old = counting
    assert any(not base.classify(n).categories for n in OD_BARE)  # what the fallback is for
    for note in OD_BARE:
        r = new.classify(note)
        assert r.categories == ["substance_use"] and "medical" in r.flags and r.response_mode == "ems"


def test_an_overdose_code_with_more_to_say_keeps_the_learned_reading(counting):
    base, new, _old = counting
    assert new.classify(OD_MORE).categories == base.classify(OD_MORE).categories
    assert new.classify(OD_MORE).flags == base.classify(OD_MORE).flags


def test_a_snapshot_without_the_table_counts_as_before(counting):
    base, _new, _old = counting
    assert fallback_uncounted(base.rules_dir) == function_words(base.rules_dir)
    extra = fallback_uncounted() - function_words()
    assert {"pii_address", "pii_phone", "mental", "subject", "unit"} <= extra


# -- companions (since 2.22.0) -------------------------------------------------------------------
DRUNK_CRISIS = ["mom calling, son 27 drunk out in the yard crying, says nobody cares about him and he wants to die",
                "RP states her husband has been drinking since noon, says he is going to kill himself tonight, "
                "has been crying for an hour, she is at her sister's"]
DRUNK_ONLY = ["DUI crash on the county road, driver drunk, stumbling, beer cans in the car, no injuries",
              "rp following a drunk driver weaving across both lanes on the bridge, partial plate"]
DRUNK_DENIED = "mom calling, son 27 out in the yard crying, says nobody cares about him and he wants to die, not drunk"


@pytest.fixture(scope="module")
def companion():
    """The shipped model with its companions and without (the learned weights are the same:
    the learner gives C_INTOXICATED and C_SELF_INJURY no weight)."""
    shipped = load_model("default@2.29.0")
    settings = {k: v for k, v in shipped.arrays.settings.items() if k != "label_companions"}
    base = CrisisModel(dataclasses.replace(shipped.arrays, settings=settings), shipped.policy, shipped.version,
                       rules_dir=shipped.rules_dir)
    return base, shipped


def test_an_intoxicated_person_in_a_crisis_note_is_substance_use(companion):
    """Taxonomy: substance_use "where alcohol or drugs are part of the crisis"."""
    base, model = companion
    assert any("substance_use" not in base.classify(n).categories for n in DRUNK_CRISIS)  # what the rule is for
    for note in DRUNK_CRISIS:
        r = model.classify(note)
        assert "substance_use" in r.categories and len(r.categories) >= 2, note


def test_intoxication_alone_or_denied_adds_nothing(companion):
    """A drunk driver is no behavioural-health call (cad-genre.md's collisions), and "not
    drunk" is no intoxication."""
    base, model = companion
    for note in DRUNK_ONLY + [DRUNK_DENIED]:
        assert model.classify(note).scores == base.classify(note).scores, note
    assert "substance_use" not in model.classify(DRUNK_DENIED).categories
    assert model.classify(DRUNK_DENIED).categories  # a crisis note: the denial, not the crisis, kept the rule off


# since 2.23.0: an act of self-injury beside another category is also self_harm (taxonomy:
# "a suicide attempt by self-injury (cutting, hanging, jumping, burning) is both")
INJURY_CRISIS = ["SUICIDE ATTEMPT - FALL / roommate states the male jumped from their 3rd floor window, conscious, "
                 "leg bent the wrong way, he had been saying all day he wanted to die",
                 "HANGING / wife found husband hanged himself in the barn, she cut him down, he is breathing, "
                 "rope marks on neck, he said last week he didnt see the point anymore",
                 "roommate states the 22 yof cut her thighs earlier tonight and says she wants to die, cuts bandaged"]
# the concept is found in each of these accidents, and no other category is on
INJURY_ALONE = ["pedestrian stepped in front of a moving car in the parking lot, struck, complaining of hip pain",
                "worker cut his leg with a chainsaw clearing brush, bleeding controlled with a towel",
                "hiker threw himself clear of a falling rock, scraped knees, wants a ride out"]
# an accident the learned self_harm words still take (README 'What is bad': accidents read as
# self-harm; 2.22.0 too, at 0.41): "burned himself" is in the learned SELF_HARM list
BURN_AT_WORK = "cook burned himself on the fryer at the diner, blister on the hand, wants ems to look at it"


def test_an_act_of_self_injury_in_a_crisis_note_is_self_harm(companion):
    base, model = companion
    assert any("self_harm" not in base.classify(n).categories for n in INJURY_CRISIS)  # what the rule is for
    for note in INJURY_CRISIS:
        r = model.classify(note)
        assert {"self_harm", "suicidal"} <= set(r.categories), (note, r.categories)


def test_self_injury_words_without_another_category_change_nothing(companion):
    """A pedestrian struck, a chainsaw cut, a hiker's leap: the concept is there, no category
    is on, so the companion stays off."""
    base, model = companion
    for note in INJURY_ALONE:
        assert "C_SELF_INJURY" in note_features([note], model.rules_dir)[0].split(), note
        assert model.classify(note).scores == base.classify(note).scores, note
        assert model.classify(note).categories == [], note


@pytest.mark.xfail(strict=True, reason="known miss (README 'What is bad'): a burn at work reads as self_harm")
def test_a_burn_at_work_is_no_self_harm(model):
    assert "self_harm" not in model.classify(BURN_AT_WORK).categories


def test_single_bulk_and_training_views_apply_the_same_companions(companion):
    base, model = companion
    notes = DRUNK_CRISIS + DRUNK_ONLY + [DRUNK_DENIED, LONG, DENIED] + INJURY_CRISIS + INJURY_ALONE + [BURN_AT_WORK] + EVERYDAY_JUMPS + [ESCAPE_JUMP]
    single = [model.classify(n) for n in notes]
    bulk = model.classify_batch(notes, explain=False)
    assert [r.categories for r in single] == [r.categories for r in bulk]
    outputs = model.arrays.outputs
    P = base.proba_all(notes)
    thresholds = dict(zip(outputs, model.arrays.thresholds.tolist()))
    only = {"label_companions": model.arrays.settings["label_companions"]}
    got = apply_to_features(P, note_features(notes, model.rules_dir), only, outputs, thresholds)
    assert np.allclose(got, model.proba_all(notes))
    assert not np.allclose(got, P)


def test_companions_name_categories_and_affirmed_concepts():
    outputs = ("substance_use", "medical", "suicidal")
    good = {"substance_use": ["C_INTOXICATED"], "suicidal": ["C_SELF_INJURY"]}
    assert check_companions(good, outputs) == good
    for bad in ({"nope": ["C_INTOXICATED"]}, {"medical": ["C_INTOXICATED"]}, {"substance_use": ["INTOXICATED"]},
                {"substance_use": []}, {"substance_use": "C_INTOXICATED"}):
        with pytest.raises(InputError, match="label_companions"):
            check_companions(bad, outputs)


# -- everyday jumps (a known miss of 2.22.0, in part fixed in 2.23.0) ----------------------------
# The suicidal floor reads "jumped off" / "jumped from" (concepts.json SUICIDE): 2.22.0 called a
# child's fall and a driver running from a crash suicidal crisis calls. Since 2.23.0 everyday
# blocks (lexicon_everyday.json: "jumped off the porch", "jumped off the top bunk", "jump the
# battery", ...) keep those senses out of the concept; a jump from a bridge is still read. A
# driver who "jumped from the car" is not blocked (README, "What is bad").
EVERYDAY_JUMPS = ["child jumped off the porch and twisted her ankle, mom wants ems to look at it",
                  "kids jumping off the dock at the lake, one hit his head, bleeding, conscious"]
ESCAPE_JUMP = "DUI crash on the county road, driver jumped from the car and ran, no injuries"
REAL_JUMPS = ["male on the overpass says he is going to jump, traffic below",
              "RP states her son jumped off the bridge into the river, pulled out by bystanders, "
              "he had texted her goodbye"]


def test_an_everyday_jump_is_no_crisis(model):
    for note in EVERYDAY_JUMPS:
        r = model.classify(note)
        assert "suicidal" not in r.categories and r.response_mode != "mobile_crisis", (note, r.categories)


@pytest.mark.xfail(strict=True, reason="known miss (README 'What is bad'): 'jumped from the car' is not blocked")
def test_a_driver_who_jumped_from_a_car_is_no_crisis(model):
    assert model.classify(ESCAPE_JUMP).categories == []


def test_a_jump_from_a_height_is_still_suicidal(model):
    for note in REAL_JUMPS:
        assert "suicidal" in model.classify(note).categories, note


# since 2.29.0: a note that says the caller is the person sets the caller-is-the-person cue
# (policy rule 6: the person is the caller, safe, and wants to find help -> crisis_line)
SELF_CALLS = ["rp 71yom out of his lithium, pharmacy closed till monday, asking where he can get a refill tonight, "
              "not in crisis",
              "CALLER 34 YOF STS SHE NEEDS A DETOX BED, LAST DRINK THIS AM, NO SZ HX, ASKING WHICH PLACES HAVE BEDS",
              "56 YOM CALLING FROM A PAY PHONE AT THE BUS DEPOT ASKING FOR A SHELTER BED TONIGHT, NO COMPLAINTS"]
# the same needs told by someone else, or with a visit asked for: the floor does not hold or
# the ceiling turns it off
NOT_SELF = ["rp states her neighbor 71yom is out of his lithium, pharmacy closed till monday, asking where he can "
            "get a refill",
            "CALLER 34 YOF STS SHE NEEDS A DETOX BED, ASKING FOR SOMEONE TO COME TALK TO HER TONIGHT"]


@pytest.fixture(scope="module")
def caller_floor():
    """The shipped model with its caller floor and without (the same learned weights)."""
    shipped = load_model("default@2.29.0")
    floors = {k: v for k, v in shipped.arrays.settings["label_floors"].items() if k != "caller_is_person"}
    settings = {**shipped.arrays.settings, "label_floors": floors}
    base = CrisisModel(dataclasses.replace(shipped.arrays, settings=settings), shipped.policy, shipped.version,
                       rules_dir=shipped.rules_dir)
    return base, shipped


def test_a_caller_who_is_the_person_and_asks_for_help_gets_the_crisis_line(caller_floor):
    base, model = caller_floor
    assert any(base.classify(n).response_mode != "crisis_line" for n in SELF_CALLS)  # what the floor is for
    for note in SELF_CALLS:
        assert "C_CALLER_SELF" in note_features([note], model.rules_dir)[0].split(), note
        assert model.classify(note).response_mode == "crisis_line", note


def test_a_third_party_or_a_visit_asked_for_is_no_crisis_line_call(caller_floor):
    base, model = caller_floor
    for note in NOT_SELF:
        r = model.classify(note)
        assert r.response_mode != "crisis_line" and r.categories, (note, r.response_mode)


@pytest.mark.xfail(strict=True, reason="known over-reach (README 'Limits'): the caller-by-age shape "
                                       "'RP 45 YOF' sets the caller cue when the RP reports someone else")
def test_a_third_party_described_by_age_is_not_the_caller(caller_floor):
    _, model = caller_floor
    note = "RP 45 YOF REPORTS HER HUSBAND IS OUT OF HIS LITHIUM, ASKING WHERE TO GET A REFILL"
    assert model.classify(note).response_mode != "crisis_line"
