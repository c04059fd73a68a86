"""Counterfactual fairness (issue 14): identity normalisation in the features, and the
counterfactual measures of crisis_nlp.training.fairness on our own notes.

The targets are the issue's "done when": a sex swap, a race word inserted or a name
appended changes the result of <= 1% of notes, moves no group toward law_enforcement by
more than 1 net per 300 notes, and shifts no group's mean violence score by more than
0.005. The neutral-word insertion is the control: measured and reported, no target.
"""

import json
from pathlib import Path

import pytest

from crisis_nlp.training import fairness as F
from crisis_nlp.preprocess import analyze, note_features
from crisis_nlp.preprocess.identity import check_identity_terms, identity_table, load_identity_terms

from conftest import DATA, GOLD

GOLD_CAD = Path(GOLD).with_name("gold_cad.jsonl")  # a second hand-written set, when it exists
#: every hand-written gold set: the feature-identity test reads them all (the two first
#: sets held no note like h2-056 of the east set, which showed the 'his' / 'hers' miss)
GOLD_SETS = [Path(GOLD).with_name(n) for n in ("gold.jsonl", "gold_cad.jsonl", "gold_fresh.jsonl",
                                              "gold_regional.jsonl", "gold_east.jsonl")]
SYNTHETIC_SAMPLE = 300


# -- identity normalisation ---------------------------------------------------------

@pytest.mark.parametrize("male, female", [
    ("He told his son he would kill himself", "She told her daughter she would kill herself"),
    ("32 YOM, W/M 30s, bf says husband hit him", "32 YOF, W/F 30s, gf says wife hit her"),
    ("RP is the boyfriend's brother, a man in his 40s", "RP is the girlfriend's sister, a woman in her 40s"),
    ("Mr. Doe, 68 y/o M. grandson and nephew on scene", "Mrs. Doe, 68 y/o F. granddaughter and niece on scene"),
    ("dad and stepfather of 17 yo m", "mom and stepmother of 17 yo f"),
])
def test_sex_specific_words_give_the_same_features(male, female):
    assert note_features([male]) == note_features([female])


def test_a_possessive_his_and_hers_give_the_same_features():
    """h2-056 of the east set ("the baby isnt hers" / "isnt his") changed under a sex swap
    with 2.24.0: its table mapped 'his' to 'them' and 'hers' to 'theirs' (fixed in 2.25.0)."""
    assert note_features(["she says the baby isnt hers"]) == note_features(["he says the baby isnt his"])


def test_both_words_of_every_swapped_pair_have_the_same_neutral_form():
    """The table itself: each pair the sex swap exchanges reads as one word in the features
    (directly, or through 'descriptors' for the race-and-sex codes), so no pair can leave
    a difference like the 'his' / 'hers' one above."""
    table = load_identity_terms()
    unequal = [(a, b) for a, b in table["sex_swap"]
               if note_features([f"the {a} said"]) != note_features([f"the {b} said"])]
    assert unequal == []


@pytest.mark.parametrize("with_race, without", [
    ("Black male 30s yelling at cars", "male 30s yelling at cars"),
    ("white 40s female on the ledge", "40s female on the ledge"),
    ("Hispanic subj w/ knife", "subj w/ knife"),
    ("RP reports Native American male is suicidal", "RP reports male is suicidal"),
    ("caucasian pt, asian RP", "pt, RP"),
])
def test_race_words_leave_the_features(with_race, without):
    assert note_features([with_race]) == note_features([without])


def test_race_and_sex_codes_read_as_a_person():
    codes = ["W/M", "B/F", "H/M", "WM", "WF", "BM", "HF", "M/W", "F/B", "a/m", "M/H"]
    assert {note_features([f"{c} 20s"])[0] for c in codes} == {"person"}  # "20s" has a digit: no feature


@pytest.mark.parametrize("note, word", [
    ("subj waving a black handgun", "black"),
    ("white powder on the table", "white"),
    ("pt blacked out after drinking", "blacked"),
    ("fled in a white pickup, driver unk", "white"),
    ("has a black eye. male on scene", "black"),  # punctuation ends the look-ahead
])
def test_colour_words_that_are_not_race_stay(note, word):
    assert word in note_features([note])[0].split()


def test_the_text_the_user_sees_is_unchanged():
    note = "B/F 30s and her bf, black male, Mrs. Smith"
    a = analyze(note)
    assert a.text == note.replace("Smith", "PII_NAME")  # names are masked; identity words stay in the text
    assert "B/F" in a.tokens and "black" in a.tokens
    assert "black" not in a.features.split() and "female" not in a.features.split()


def test_shorthand_adds_no_race_and_bf_is_boyfriend():
    from crisis_nlp.resources import load_shorthand

    table = load_shorthand()
    assert table["bf"] == "boyfriend"
    rules = load_identity_terms()
    race = set(rules["race"]) | set(rules["race_colours"]) | {w for p in rules["race_phrases"] for w in p}
    assert not [k for k, v in table.items() if race & set(v.split())]


def test_bulk_and_single_paths_agree_on_identity_words():
    """The component keeps token_arrays' NORM column in step (as dispatch_shorthand does),
    so the bulk scorer and the per-note path read the same features."""
    from crisis_nlp.preprocess.tokens import NORM_COL, token_arrays
    from crisis_nlp.preprocess.pipeline import doc_words, feature_table, process, process_batch

    notes = ["B/F 30s, her bf says she has a knife", "black male in white truck", "Hispanic 17 yom, dad on scene",
             "native american caller", "no identity words here"]
    batch = process_batch(notes)
    for note, doc in zip(notes, batch):
        one = process(note)
        assert token_arrays(doc)[:, NORM_COL].tolist() == token_arrays(one)[:, NORM_COL].tolist()
        assert doc_words(doc) == doc_words(one)
        assert token_arrays(doc)[:, NORM_COL].tolist() == [t.norm for t in doc]
    table = feature_table(batch)
    for r, doc in enumerate(batch):
        words = [w for n, neg in zip(table.norms[table.note == r].tolist(), table.negated[table.note == r].tolist())
                 for w in table.words(n, neg)]
        assert words + table.concepts[r] == doc_words(doc)


# -- the knowledge layer sees no sex -------------------------------------------------

def _gold_records():
    return [json.loads(line) for path in GOLD_SETS
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_every_gold_note_and_its_sex_swap_give_the_same_features():
    """The whole feature string (words and concept tokens) of each gold note equals that of
    its sex-swapped copy (the swap the fairness measure applies): no residual difference is
    allowed. Reports note ids and the differing tokens, never a note's text."""
    recs = [(r["id"], r["text"], F.sex_swap(r["text"])) for r in _gold_records()]
    recs = [(i, t, s[0]) for i, t, s in recs if s is not None]
    assert len(recs) >= 1000  # most gold notes mention a person's sex
    orig = note_features([t for _i, t, _s in recs])
    swapped = note_features([s for _i, _t, s in recs])
    differ = {i: sorted(set(a.split()) ^ set(b.split())) or "word order"
              for (i, _t, _s), a, b in zip(recs, orig, swapped) if a != b}
    assert differ == {}


@pytest.mark.parametrize("male, female", [
    ("pointed a handgun at him", "pointed a handgun at her"),
    ("threatened him, then left", "threatened her, then left"),
    ("says neighbors are poisoning his food", "says neighbors are poisoning her food"),
    ("has a knife on him", "has a knife on her"),
    ("pt threatening to kill his wife and son", "pt threatening to kill her husband and daughter"),
    ("his wife left him last week", "her husband left her last week"),
])
def test_a_rule_written_in_one_sex_matches_both(male, female):
    feats = note_features([male, female])
    assert feats[0] == feats[1]
    assert any(w.startswith("C_") for w in feats[0].split())


def test_sex_classes_join_what_the_swap_connects():
    from crisis_nlp.preprocess.components import WordForms
    from crisis_nlp.preprocess.identity import sex_classes

    classes = sex_classes(load_identity_terms())
    assert classes["him"] == classes["her"] == ("her", "hers", "him", "his")
    assert classes["wife"] == ("husband", "wife") and classes["he"] == ("he", "she")
    forms = WordForms(classes)
    assert set(forms.phrase("kill {his} wife")) >= {"kill his wife", "kill her husband", "kill their wife"}
    assert set(forms.phrase("thinks {he}'s dying")) == {"thinks he's dying", "thinks she's dying",
                                                        "thinks they's dying"}
    assert forms.word("gf's") == ("bf's", "gf's") and forms.words(["Son", "the"]) == ["daughter", "son", "the"]
    assert forms.pattern([{"LOWER": "wife"}, {"LOWER": {"IN": ["him", "x"]}}, {"TEXT": {"REGEX": "his"}}]) == [
        {"LOWER": {"IN": ["husband", "wife"]}}, {"LOWER": {"IN": ["her", "hers", "him", "his", "x"]}},
        {"TEXT": {"REGEX": "his"}}]
    assert WordForms().phrase("kill {him}") == ["kill him", "kill her", "kill them"]


def test_every_swapped_word_is_neutral_in_the_features():
    rules = load_identity_terms()
    table = identity_table(rules)
    assert sorted({w for pair in rules["sex_swap"] for w in pair} - set(table)) == []


def test_tables_without_the_switch_match_as_written(tmp_path):
    """A version's snapshot made before 'lexicon_sex_forms' keeps its concepts."""
    from crisis_nlp.resources import rule_files

    for f in rule_files():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    rules = json.loads((tmp_path / "identity_terms.json").read_text(encoding="utf-8"))
    del rules["lexicon_sex_forms"]
    (tmp_path / "identity_terms.json").write_text(json.dumps(rules), encoding="utf-8")
    him, her = note_features(["pointed a handgun at him", "pointed a handgun at her"], str(tmp_path))
    assert "C_WEAPON_OTHERS" in him.split() and "C_WEAPON_OTHERS" not in her.split()


def test_identity_rules_refuse_unknown_keys():
    rules = dict(load_identity_terms())
    check_identity_terms(rules)
    with pytest.raises(ValueError, match="unknown keys"):
        check_identity_terms({**rules, "sex_nuetral": {}})
    with pytest.raises(ValueError, match="missing keys"):
        check_identity_terms({k: v for k, v in rules.items() if k != "race"})


def test_settings_switch_each_part_off():
    rules = load_identity_terms()
    assert "hispanic" not in identity_table(rules, race=False)
    assert "she" not in identity_table(rules, sex=False)
    assert identity_table(rules, sex=False)["w/f"] == "female"  # race gone, sex kept


# -- counterfactual rewrites ----------------------------------------------------------

def test_sex_swap_goes_both_ways():
    assert F.sex_swap("32 YOM, his son told him to leave") == ("32 YOF, her daughter told her to leave", "to_female")
    assert F.sex_swap("Her son took her car, told her to go") == ("His daughter took his car, told him to go",
                                                                  "to_male")
    assert F.sex_swap("W/F 20s, 45 f, I'm at 5th") == ("W/M 20s, 45 m, I'm at 5th", "to_male")
    assert F.sex_swap("5 m away, W/F") == ("5 f away, W/M", "to_female")  # ties go to_female; '5 m' is read as sex
    assert F.sex_swap("caller needs a ride to the shelter") is None


def test_race_and_neutral_words_go_before_the_first_person():
    assert F.insert_before_person("RP says her son is on the roof", "Black") == "Black RP says her son is on the roof"
    assert F.insert_before_person("neighbor says her son", "tall") == "tall neighbor says her son"
    assert F.insert_before_person("CALLER STATES SUBJ ON ROOF", "Asian") == "ASIAN CALLER STATES SUBJ ON ROOF"
    assert F.insert_before_person("car alarm going off", "tall") is None
    assert F.variants("car alarm going off", "race") is None
    assert set(F.variants("pt on the bridge", "name")) == set(F.NAMES)


class _Stub:
    """A model whose violence score reads 'she' and whose mode reads a name."""

    version = "stub"

    def classify_batch(self, notes, explain=True):
        from crisis_nlp.result import ClassificationResult

        out = []
        for n in notes:
            mode = "law_enforcement" if "Washington" in n else "mobile_crisis"
            out.append(ClassificationResult(["suicidal"], [], mode, {}, "", "stub"))
        return out

    def predict_proba(self, notes):
        import numpy as np

        from crisis_nlp.labels import LABELS

        p = np.zeros((len(notes), len(LABELS)))
        p[:, LABELS.index("violence")] = [0.3 if " she " in f" {n.lower()} " else 0.1 for n in notes]
        return p


def test_the_measures_see_a_biased_model():
    notes = ["he says he wants to die", "pt on the bridge, she is crying", "caller needs a shelter bed"]
    report = F.measure(_Stub(), notes)
    sex, name = report["kinds"]["sex"], report["kinds"]["name"]
    assert sex["n"] == 2 and sex["changed"] == 0
    assert sex["groups"]["to_female"]["mean_change"]["violence"] == pytest.approx(0.2)
    assert sex["groups"]["to_male"]["mean_change"]["violence"] == pytest.approx(-0.2)
    assert name["changed"] == 3 and name["mode_changed"] == 3
    assert name["groups"]["black"]["le_net_per_300"] == pytest.approx(0.8 * 300)
    assert name["groups"]["white"]["le_net_per_300"] == pytest.approx(-0.2 * 300)
    failures = F.target_failures(report)
    assert any(f.startswith("name: 3 of 3") for f in failures)
    assert any("sex/to_female: mean violence" in f for f in failures)
    assert "crying" not in json.dumps(report) and "crying" not in " ".join(failures)  # no note text


# -- the targets, on the shipped model ---------------------------------------------------

@pytest.fixture(scope="module")
def notes():
    texts = F.load_note_texts(GOLD)
    if GOLD_CAD.exists():
        texts += F.load_note_texts(GOLD_CAD)
    return texts + F.sample(F.load_note_texts(DATA), SYNTHETIC_SAMPLE)


@pytest.fixture(scope="module")
def report(model, notes):
    return F.measure(model, notes)


def _fails(report, kind):
    return F.target_failures(report, kinds=[kind])


def test_every_kind_is_measured_on_most_notes(report, notes):
    for kind in F.KINDS:
        assert report["kinds"][kind]["n"] >= 0.8 * len(notes), kind
    assert report["kinds"]["neutral"]["changed"] >= 0  # the control: reported, no target


def test_sex_swap_meets_the_targets(report):
    assert _fails(report, "sex") == []


def test_race_insertion_meets_the_targets(report):
    assert _fails(report, "race") == []


def test_name_swap_meets_the_targets(report):
    assert _fails(report, "name") == []


# -- model card and compare ------------------------------------------------------------

def _stub_evaluation():
    notes = ["he says he wants to die", "pt on the bridge, she is crying", "caller needs a shelter bed"]
    return F.fairness_evaluation(_Stub(), notes, notes_source="three test notes", baseline=_Stub(),
                                 baseline_spec="default@2.0.0")


def test_model_card_carries_the_figures_beside_the_baselines():
    from crisis_nlp.registry.card import render_model_card

    manifest = {"name": "county-x", "version": "1.1.0", "evaluation": {"fairness": _stub_evaluation()}}
    card = render_model_card(manifest)
    assert "## Counterfactual fairness" in card
    assert "| name | 3 | 3 (100.0%) | 3 | 3 (100.0%) |" in card  # this version, then default@2.0.0
    assert "| name | black | +240.00 (+240.00) |" in card
    assert "`county-x@1.1.0` misses the targets: " in card
    bare = render_model_card({"name": "x", "version": "1.0.0", "evaluation": {}})
    assert "Not measured for this version" in bare


def test_compare_prints_the_fairness_of_both_versions():
    from crisis_nlp.training.compare import format_comparison
    from crisis_nlp.training.evaluate import compute_metrics

    rec = [{"text": "x", "categories": [], "flags": [], "response_mode": "standard_dispatch"}]
    metrics = compute_metrics(rec, [{"categories": [], "flags": [], "response_mode": "standard_dispatch"}])
    ev = _stub_evaluation()
    c = {"n": 1, "warnings": [], "worse": [], "diff": {"category_micro_f1": 0.0, "response_mode_accuracy": 0.0},
         "new": {"spec": "a@1.0.0", "metrics": metrics, "fairness": ev["report"]},
         "old": {"spec": "b@1.0.0", "metrics": metrics, "fairness": ev["baseline"]["report"]}}
    text = format_comparison(c)
    assert "counterfactual fairness" in text
    assert "name: 3 notes, 3 changed (100.0%), mode changed 3; old: 3 changed" in text
    assert "a@1.0.0: misses the fairness targets: " in text and "name: 3 of 3 notes changed" in text
