"""Behaviour checks (crisis_nlp/behaviour.py): the perturbations, the runner, the report
tool, and - at the end - the failure-rate floors of the shipped model on both gold sets."""

import gzip
import itertools
import json
import re
import sys
from collections import Counter
from types import SimpleNamespace

import pytest

from crisis_nlp.training.behaviour import (
    DIR,
    INV,
    PERTURBATIONS,
    BehaviourReport,
    is_protected,
    perturb,
    protected_words,
    run_checks,
)
from crisis_nlp.errors import InputError

from conftest import DATA, GOLD, ROOT

GOLD_CAD = ROOT / "tests" / "data" / "gold_cad.jsonl"
INV_NAMES = [p.name for p in PERTURBATIONS if p.kind == INV]
DIR_NAMES = [p.name for p in PERTURBATIONS if p.kind == DIR]
NOTE = "RP states brother (army vet) said he'd end it tonight, has been drinking since Tuesday. Wife left last week"
CAD_NOTE = "PSYCH\n41 YOM HEARING VOICES, PACING IN FRONT YARD\nRP ADV NO WEAPONS SEEN\nM7 ENRT 14:02"
WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")


def _read(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def gold_notes():
    return [r["text"] for r in _read(GOLD) + _read(GOLD_CAD)]


# -- the perturbations ----------------------------------------------------------------

@pytest.mark.parametrize("name", [p.name for p in PERTURBATIONS])
@pytest.mark.parametrize("note", [NOTE, CAD_NOTE.replace("HEARING VOICES", "hearing voices")])
def test_every_perturbation_changes_the_text_and_is_deterministic(name, note):
    out = perturb(note, name, seed=3)
    assert out != note
    assert perturb(note, name, seed=3) == out
    assert isinstance(out, str) and out.strip()


@pytest.mark.parametrize("name", ["status_line", "footer", "header", "typos", "time_stamp", "add_weapon"])
def test_seeds_vary_the_perturbation(name):
    outs = {perturb(NOTE, name, seed=s) for s in range(20)}
    assert len(outs) > 1


def test_case_perturbations():
    assert perturb(NOTE, "upper_case") == NOTE.upper()
    assert perturb(NOTE, "lower_case") == NOTE.lower()
    assert perturb(CAD_NOTE, "upper_case") == CAD_NOTE  # already upper: no change, the runner skips it


def test_spacing_perturbations_keep_the_words():
    for name in ("extra_spaces", "line_breaks"):
        out = perturb(NOTE, name)
        assert out.split() == NOTE.split(), name
    assert "  " in perturb(NOTE, "extra_spaces")
    assert perturb(NOTE, "line_breaks").count("\n") > NOTE.count("\n")
    assert perturb(CAD_NOTE, "line_breaks").count("\n\n") == CAD_NOTE.count("\n")


STATUS = re.compile(r"^(\[\d\d:\d\d\] )?[A-Z]\d+ (ENRT \d\d:\d\d:\d\d|ONSCN \d\d:\d\d|ASSGN .*CMPLT \d\d:\d\d|AVAIL)$"
                    r"|^Dispatch received by unit [A-Z]\d+$|^Successfully paged: [A-Z]\d+, [A-Z]\d+$")


@pytest.mark.parametrize("seed", range(12))
def test_appended_and_prepended_lines(seed):
    from crisis_nlp.training.behaviour import _FOOTERS

    s = perturb(NOTE, "status_line", seed=seed)
    head, _, last = s.rpartition("\n")
    assert head == NOTE and STATUS.match(last), last
    f = perturb(NOTE, "footer", seed=seed)
    head, _, last = f.rpartition("\n")
    assert head == NOTE and last in _FOOTERS
    h = perturb(NOTE, "header", seed=seed)
    first, _, rest = h.partition("\n")
    assert rest == NOTE
    assert re.fullmatch(r"(CALL # |Call Date/Time: |INC |CAD INCIDENT NUMBER: )[\d/:\- ]+", first), first
    t = perturb(NOTE, "time_stamp", seed=seed)
    assert re.fullmatch(re.escape(NOTE) + r" \[\d\d:\d\d\]", t)


def test_neutral_wrapping_carries_no_label_word():
    """Headers, status lines and footers are wrapping a model must ignore: no call type, and
    no word that is by itself a phrase of the concept lexicon."""
    from crisis_nlp.training.behaviour import _FOOTERS

    concepts = json.loads((ROOT / "crisis_nlp/resources/concepts.json").read_text(encoding="utf-8"))["concepts"]
    single = {p.lower() for phrases in concepts.values() for p in phrases if " " not in p}
    lines = [perturb("x", n, seed=s) for n in ("status_line", "header", "time_stamp") for s in range(50)]
    for line in lines + list(_FOOTERS):
        assert not re.search(r"WELFARE|CALL TYPE|PSYCH|EDP|SICK|CHECK", line.upper()), line
        assert not set(WORD.findall(line.lower())) & single, line


def test_directional_sentences_are_appended_after_a_sentence_end():
    for name, words in (("add_weapon", ("knife", "handgun", "gun", "machete")),
                        ("add_denial", ("denies",)), ("add_no_weapons", ("no weapons",))):
        for seed in range(10):
            out = perturb(NOTE, name, seed=seed)
            assert out.startswith(NOTE + ". ")
            assert any(w in out[len(NOTE):] for w in words), (name, seed)
        assert perturb(CAD_NOTE, name).startswith(CAD_NOTE + ".\n")


def test_protected_words_come_from_the_lexicons():
    P = protected_words()
    for w in ("suicidal", "handgun", "overdose", "denies", "not", "without", "veteran", "possible"):
        assert w in P, w
    for w in ("SUICIDAL", "Overdosed", "OVRDOSE", "sucidal", "hadngun", "denies", "poss", "psych", "E12", "to"):
        assert is_protected(w), w
    for w in ("sandwich", "Tuesday", "umbrella"):  # not "kitchen" since 2.6.0: "soup kitchen" is a resource
        assert not is_protected(w), w
    assert "prompted" not in P  # a table's prose ("source": "Prompted by ...") is not a word list


def _changed_words(a, b):
    wa, wb = WORD.findall(a), WORD.findall(b)
    return Counter(wa) - Counter(wb), Counter(wb) - Counter(wa)


def test_typos_touch_only_one_or_two_ordinary_words(gold_notes):
    touched = 0
    for seed, note in itertools.product(range(2), gold_notes):
        out = perturb(note, "typos", seed=seed)
        gone, _new = _changed_words(note, out)
        assert 1 <= sum(gone.values()) <= 2 or out == note
        assert not any(is_protected(w) for w in gone), sorted(gone)
        # every protected word of the note is still there, as often as before
        kept = Counter(w.lower() for w in WORD.findall(note) if is_protected(w))
        assert Counter(w.lower() for w in WORD.findall(out) if w.lower() in kept) >= kept
        assert abs(len(out) - len(note)) <= 2
        touched += out != note
    # nearly every note gets its typo: 1,174 of 1,240 since 2.16.0 (94.7%; 2.15.0: over 95%),
    # whose psychosis phrases made more everyday words lexicon words ("traffic", "store",
    # "parking"), which a typo must not touch
    assert touched >= 0.93 * 2 * len(gold_notes)


def test_typos_leave_a_note_of_protected_words_alone():
    note = "SI, denies weapons, not suicidal, poss OD"
    assert perturb(note, "typos") == note


def test_unknown_perturbation_is_an_input_error():
    with pytest.raises(InputError, match="unknown behaviour check"):
        perturb(NOTE, "shout")
    with pytest.raises(InputError, match="unknown behaviour check"):
        run_checks(StubModel(), [NOTE], checks=["shout"])


# -- the runner, on stub models: it must be able to fail ------------------------------

class StubModel:
    """A keyword 'model': the rules below are what a check is expected to catch."""

    version = "stub"

    def __init__(self, case_sensitive=False, reads_denials=True, sees_weapons=True, footer_noise=False):
        self.case_sensitive = case_sensitive
        self.reads_denials = reads_denials
        self.sees_weapons = sees_weapons
        self.footer_noise = footer_noise
        self.calls = 0

    def classify_batch(self, texts, *, explain=True):
        assert explain is False  # the runner uses the bulk path
        self.calls += 1
        return [self._one(t) for t in texts]

    def _one(self, text):
        t = text if self.case_sensitive else text.lower()
        t = re.sub(r"[ \t]+", " ", t)  # keywords such as "end it" read across doubled spaces
        cats, flags = [], []
        suicidal = "end it" in t or "suicid" in t
        if not self.reads_denials:
            suicidal = suicidal or " si" in t
        elif "denies" in t and "end it" not in t:
            suicidal = False
        if suicidal:
            cats.append("suicidal")
        if "drinking" in t:
            cats.append("substance_use")
        sentences = re.split(r"[.\n]", t)
        if self.sees_weapons and any(w in x and "no weapons" not in x for x in sentences
                                     for w in ("knife", "gun", "machete")):
            flags.append("weapon")
        if self.footer_noise and "confidential" in t:
            flags.append("violence")
        mode = "co_responder" if flags else ("mobile_crisis" if cats else "standard_dispatch")
        return SimpleNamespace(categories=cats, flags=flags, response_mode=mode)


NOTES = [NOTE, CAD_NOTE, "noise complaint, loud music from apt 4B, RP wants it to stop",
         "caller states she is suicidal and drinking, alone at home", "MVA W/ INJ // 2 CARS // E12 ENRT"]


def test_a_robust_stub_passes_every_check():
    rep = run_checks(StubModel(), NOTES, ids=[f"n{i}" for i in range(len(NOTES))])
    assert isinstance(rep, BehaviourReport)
    assert [c.name for c in rep.checks] == [p.name for p in PERTURBATIONS]
    for c in rep.checks:
        assert c.failures == 0 and c.failure_rate == 0.0, c.name
        assert c.n + c.skipped == len(NOTES)
    assert rep.invariance_failure_rate == 0.0 and rep.directional_failure_rate == 0.0
    assert rep.n_notes == len(NOTES) and rep.model_version == "stub"


def test_a_case_sensitive_stub_fails_the_case_checks():
    rep = run_checks(StubModel(case_sensitive=True), NOTES, ids=[f"n{i}" for i in range(len(NOTES))])
    up = rep["upper_case"]
    # NOTE ("end it", "drinking") and note 3 ("suicidal", "drinking") lose their categories
    assert up.failures == 2 and up.failing_ids == ["n0", "n3"]
    assert up.reasons == {"categories changed": 2}
    assert up.n == 3 and up.skipped == 2  # the two upper-case CAD notes cannot change
    assert rep.invariance_failure_rate == pytest.approx(
        sum(c.failures for c in rep.checks if c.kind == INV) / sum(c.n for c in rep.checks if c.kind == INV))
    assert rep.invariance_failure_rate > 0


def test_a_stub_misled_by_a_footer_fails_only_where_the_footer_says_confidential():
    texts = [f"{n} ref {i}" for i in range(8) for n in NOTES]  # distinct notes draw distinct footers
    rep = run_checks(StubModel(footer_noise=True), texts, seed=1)
    f = rep["footer"]
    assert 0 < f.failures < f.n and f.reasons == {"flags changed": f.failures}
    assert all(c.failures == 0 for c in rep.checks if c.name != "footer")


def test_directional_checks_can_fail():
    rep = run_checks(StubModel(sees_weapons=False, reads_denials=False), NOTES * 4)
    w = rep["add_weapon"]
    assert w.n == 20 and w.failures == 20 and w.reasons == {"weapon not added": 20}
    d = rep["add_denial"]
    # "denies SI" makes the naive stub say suicidal; notes that were suicidal already do not count
    assert d.n == 12 and d.skipped == 8
    assert d.failures == d.n and set(d.reasons) == {"suicidal added"}
    assert rep.directional_failure_rate > 0


def test_weapon_check_fails_when_a_category_is_lost():
    class Forgetful(StubModel):
        def _one(self, text):
            r = super()._one(text)
            if "weapon" in r.flags:
                r.categories = []
            return r

    rep = run_checks(Forgetful(), [NOTE])
    assert rep["add_weapon"].reasons == {"category removed": 1}


def test_the_report_names_ids_not_text():
    rep = run_checks(StubModel(case_sensitive=True), NOTES * 3, max_examples=2)
    blob = json.dumps(rep.to_dict()) + rep.format_table()
    for note in NOTES:
        for chunk in re.split(r"[\n,.]", note):
            if len(chunk.strip()) > 12:
                assert chunk.strip() not in blob
    assert rep["upper_case"].failing_ids == ["0", "3"]  # ids default to the index; at most 2 kept
    assert "upper_case" in rep.format_table() and "all invariance" in rep.format_table()
    kept = run_checks(StubModel(case_sensitive=True), NOTES, keep_text=True)["upper_case"].examples
    assert kept[0]["text"] == NOTE and kept[0]["perturbed"] == NOTE.upper()


def test_runner_validates_ids_and_handles_no_notes():
    with pytest.raises(InputError, match="ids"):
        run_checks(StubModel(), NOTES, ids=["a"])
    rep = run_checks(StubModel(), [])
    assert rep.invariance_failure_rate == 0.0 and all(c.n == 0 for c in rep.checks)


def test_runner_classifies_each_check_in_one_batch():
    stub = StubModel()
    run_checks(stub, NOTES, checks=["upper_case", "typos"])
    assert stub.calls == 3  # the originals, then one batch per check


# -- a small real model (the shipped one may not match the label schema yet) --------

@pytest.fixture(scope="module")
def small_model():
    from crisis_nlp.api import CrisisModel
    from crisis_nlp.training.evaluate import label_matrix
    from crisis_nlp.model.estimator import DEFAULT_OUTPUTS, CrisisClassifier
    from crisis_nlp.model.policy import ResponsePolicy

    with gzip.open(DATA, "rt", encoding="utf-8") as f:
        recs = [json.loads(line) for line in itertools.islice(f, 2000)]
    clf = CrisisClassifier(char_ngram_range=None, max_word_features=5000).fit(
        [r["text"] for r in recs], label_matrix(recs, DEFAULT_OUTPUTS))
    return CrisisModel.from_classifier(clf, ResponsePolicy.default(), "test")


def test_checks_on_a_real_model_are_deterministic_and_consistent(small_model):
    recs = _read(GOLD_CAD)[:120]
    texts, ids = [r["text"] for r in recs], [r["id"] for r in recs]
    a = run_checks(small_model, texts, ids=ids, seed=5)
    b = run_checks(small_model, texts, ids=ids, seed=5)
    assert a.to_dict() == b.to_dict()
    for c in a.checks:
        assert c.n + c.skipped == len(texts)
        assert c.failures == sum(c.reasons.values()) and 0.0 <= c.failure_rate <= 1.0
        assert set(c.failing_ids) <= set(ids)
    assert a["extra_spaces"].n == len(texts) and a["add_weapon"].n == len(texts)
    # a perturbation that leaves the result alone by construction: the same note twice
    same = run_checks(small_model, texts[:20], checks=["time_stamp"])
    assert same["time_stamp"].n == 20


def test_report_tool_prints_the_table(small_model, monkeypatch, capsys):
    import crisis_nlp.api

    sys.path.insert(0, str(ROOT / "tools"))
    import behaviour_report

    monkeypatch.setattr(crisis_nlp.api, "load_model", lambda version=None, **kw: small_model)
    assert behaviour_report.main(["--data", str(GOLD_CAD), "--checks", "upper_case,add_weapon"]) == 0
    out = capsys.readouterr().out
    assert "| upper_case | INV |" in out and "| add_weapon | DIR |" in out and "all invariance" in out
    assert "model test, 360 notes" in out
    assert behaviour_report.main(["--data", str(GOLD), "--checks", "typos", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)[str(GOLD)]
    assert rep["checks"][0]["name"] == "typos" and rep["n_notes"] == 260
    assert behaviour_report.main(["--data", str(GOLD), "--checks", "shout"]) == 2


# -- the shipped model: failure-rate floors (issue 11: <= 2% on each gold set) -------
# SUITE-LEVEL: these run on the shipped default model (the `model` fixture). The floors
# are the measured rates of default@2.28.0 rounded up (README, "Behaviour checks"): 0.4%
# (gold; 2.27.0: 0.3%, 2.26.0: 0.3%, 2.25.0: 0.3%, 2.24.0: 0.3%, 2.23.0: 0.3%, 2.22.0: 0.3%, 2.21.0: 0.5%, 2.20.0: 0.5%, 2.19.0: 0.5%, 2.18.0: 0.5%, 2.17.0: 0.2%, 2.14.0: 0.3%, 2.13.0: 0.5%, 2.8.0: 0.6%, 2.6.0: 2.7%) and 0.3% (CAD
# gold; 2.27.0: 0.3%, 2.26.0: 0.2%, 2.25.0: 0.2%, 2.24.0: 0.2%, 2.23.0: 0.2%, 2.22.0: 0.2%, 2.21.0: 0.3%, 2.20.0: 0.3%, 2.19.0: 0.4%, 2.18.0: 0.4%, 2.17.0: 0.4%, 2.13.0: 0.3%, 2.6.0: 1.7%) for invariance, since the CAD wrapping lines
# are dropped before reading (what is left: typos, and a few notes near a threshold that case
# or spacing flips); the worst directional check is an added weapon, 10 of 260 older notes and 2 of 360
# CAD pages (2.27.0: 10 and 2; 2.26.0: 10 and 2; 2.25.0: 10 and 2; 2.24.0: 10 and 2; 2.23.0: 10 and 2; 2.22.0: 9 and 3; 2.21.0 and 2.20.0: 6 and 5; 2.19.0: 5 and 5; 2.18.0: 8 and 6) (a category that sits just over the shared threshold (0.36; 2.22.0: 0.32)
# drops under it; 2.13.0: 9 older notes under 0.43). The target (invariance <= 2% on
# each gold set) is met on both.
INVARIANCE_FLOOR = 0.01
DIRECTIONAL_FLOOR = 0.04


@pytest.fixture(scope="module")
def shipped_reports(model):
    return {path.name: run_checks(model, [r["text"] for r in _read(path)], ids=[r["id"] for r in _read(path)])
            for path in (GOLD, GOLD_CAD)}


@pytest.mark.parametrize("gold_set", ["gold.jsonl", "gold_cad.jsonl"])
def test_shipped_model_invariance_failure_rate(shipped_reports, gold_set):
    rep = shipped_reports[gold_set]
    assert rep.invariance_failure_rate <= INVARIANCE_FLOOR, "\n" + rep.format_table()


@pytest.mark.parametrize("gold_set", ["gold.jsonl", "gold_cad.jsonl"])
@pytest.mark.parametrize("check", DIR_NAMES)
def test_shipped_model_directional_failure_rate(shipped_reports, gold_set, check):
    rep = shipped_reports[gold_set]
    assert rep[check].n >= 100
    assert rep[check].failure_rate <= DIRECTIONAL_FLOOR, "\n" + rep.format_table()
