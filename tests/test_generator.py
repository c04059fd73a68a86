import copy
import gzip
import hashlib
import json
import math
import os
import random
import re
import subprocess
import sys
from collections import Counter, defaultdict

import pytest

from crisis_nlp.batch.tables import read_records
from crisis_nlp.labels import CATEGORIES
from crisis_nlp.model.policy import ResponsePolicy

from conftest import DATA, GOLD, ROOT

sys.path.insert(0, str(ROOT / "training_data_synthetic"))
import generate  # noqa: E402

#: generate.source_digest() of the generator, banks and wrapping that made the committed
#: notes.jsonl.gz (``generate.py`` prints it as ``sources=``). Update it when regenerating.
COMMITTED_SOURCES = "700f01f15318545eac9c14f871d3de4305a98a61b15a90f7bcbb68ce03d70e90"
# (stop 48: the take-back literals moved from the package's context_rules.json into
# wrapping/takebacks.json; the notes it makes are byte for byte the ones made before)

# a race/ethnicity descriptor as the generator writes one ("B/F 30s", "hispanic male")
DESCRIPTOR = re.compile(
    r"\b(?:[WBHAIN]|ME)/[MF]\b|\b(?:white|black|hispanic|latino|asian|native american|native|middle eastern|arab"
    r"|caucasian|african american) (?:male|female|man|woman)\b", re.I)
PSYCH_CODE_HEADERS = re.compile(r"\b(?:EDP|10-96|PSYCH\w*|MENTAL|DISTURBED PERSON)\b|\bE\.D\.P\.", re.I)


def _jsonl(notes):
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in notes).encode()


# -- determinism ------------------------------------------------------------------------------

def test_same_seed_same_notes_other_seed_other_notes():
    a = generate.generate(n=500, seed=1)
    b = generate.generate(n=500, seed=1)
    c = generate.generate(n=500, seed=2)
    assert a == b
    assert [r["text"] for r in a] != [r["text"] for r in c]


def test_same_seed_gives_a_byte_identical_file_in_another_process(tmp_path):
    """Two runs with different string-hash seeds write the same bytes (no set or dict order leaks in)."""
    outs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"n{hash_seed}.jsonl.gz"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, str(ROOT / "training_data_synthetic" / "generate.py"), "--n", "300",
                        "--seed", "5", "--out", str(out)], check=True, env=env, capture_output=True)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


def test_committed_data_is_what_the_generator_makes():
    if generate.source_digest() != COMMITTED_SOURCES:
        pytest.fail("the generator, the phrase banks or the wrapping changed since notes.jsonl.gz was made; "
                    "regenerate it with `python training_data_synthetic/generate.py` and set COMMITTED_SOURCES "
                    "in tests/test_generator.py to the sources= digest it prints")
    notes = generate.generate()  # defaults = what produced the committed file
    assert hashlib.sha256(_jsonl(notes)).hexdigest() == hashlib.sha256(gzip.open(DATA).read()).hexdigest()


def test_the_generators_take_backs_are_package_take_backs():
    """The generator orders a part that takes a report back before the crisis; its frozen
    list (wrapping/takebacks.json) must still be take-backs the package reads, or the
    order it keeps would protect nothing. New package take-backs reach the notes only when
    the list and the notes are regenerated together."""
    from crisis_nlp.resources import load_json

    package = {r["literal"] for r in load_json("context_rules.json")["rules"]
               if r["direction"].upper() == "PRECEDING" and not r.get("pattern")}
    frozen = json.loads((ROOT / "training_data_synthetic" / "wrapping" / "takebacks.json").read_text())["literals"]
    assert frozen and set(frozen) <= package, set(frozen) - package
    assert generate.DISPEL_RX.search("SO-1 ADV UNFOUNDED, NOBODY IN DISTRESS")


# -- the committed file (holds for the file before and after the CAD-genre generator) ----------

@pytest.fixture(scope="module")
def committed():
    return list(read_records(DATA))


def test_committed_data_shape(committed):
    n = len(committed)
    assert n >= 30000
    non_bh = sum(1 for r in committed if not r["categories"])
    assert non_bh / n >= 0.30
    assert sum(1 for r in committed if not r["categories"] and r["flags"]) > 1000  # flags on non-BH calls
    assert sum(1 for r in committed if len(r["categories"]) >= 2) / n > 0.15
    styles = Counter(r["style"] for r in committed)
    banks = Counter(r["bank"] for r in committed)
    assert len(styles) >= 10 and len(banks) >= 4
    assert all(r["family"] == f"{r['style']}|{r['bank']}" for r in committed)
    assert DATA.stat().st_size < 20 * 2**20


def test_labels_are_consistent_with_the_policy(committed):
    policy = ResponsePolicy.default()
    for r in committed[:3000]:
        assert set(r["categories"]) <= set(CATEGORIES)
        assert policy.decide(r["categories"], r["flags"], r["cues"]).mode == r["response_mode"]


def test_no_exact_duplicate_texts(committed):
    texts = [r["text"] for r in committed]
    assert len(set(texts)) == len(texts)


# -- what the generator makes now ---------------------------------------------------------

@pytest.fixture(scope="module")
def sample():
    return generate.generate(n=5000, seed=11)


def test_sample_shape(sample):
    n = len(sample)
    assert n == 5000
    assert sum(1 for r in sample if not r["categories"]) / n >= 0.50  # most calls are ordinary calls
    assert sum(1 for r in sample if not r["categories"] and r["flags"]) / n > 0.1
    assert sum(1 for r in sample if len(r["categories"]) >= 2) / n > 0.15
    styles = Counter(r["style"] for r in sample)
    assert set(styles) == set(generate.STYLES) | {generate.EVERYDAY_STYLE}
    assert sum(styles[s] for s in generate.CAD_STYLES) / n > 0.25
    assert len({r["bank"] for r in sample}) >= 4
    assert all(r["family"] == f"{r['style']}|{r['bank']}" for r in sample)
    texts = [r["text"] for r in sample]
    assert len(set(texts)) == n


def test_sample_labels_follow_the_policy(sample):
    policy = ResponsePolicy.default()
    for r in sample:
        assert set(r["categories"]) <= set(CATEGORIES)
        assert policy.decide(r["categories"], r["flags"], r["cues"]).mode == r["response_mode"]


def test_ordinary_calls_span_the_call_types(sample):
    W = generate.load_wrapping()
    kinds = Counter(generate.infer_kind(W, r["text"], set(r["flags"])) for r in sample if not r["categories"])
    assert len([k for k, c in kinds.items() if k and c >= 10]) >= 25


def test_crisis_headers_mostly_on_crisis_notes_and_protocol_25_only_there(sample):
    """Headers come from the call kinds plausible for the note; a generic header can go on
    any note; a few ordinary calls were dispatched under a crisis code that the narrative
    corrects (so that a header never decides a label on its own)."""
    W = generate.load_wrapping()["cad"]
    crisis_kinds = {"psych", "edp", "suicide", "overdose", "intox"}
    kinds = Counter((bool(r["categories"]), r["call_type"]) for r in sample)
    on_ordinary = sum(kinds[False, k] for k in crisis_kinds)
    n_ordinary = sum(1 for r in sample if not r["categories"])
    assert 0.005 * n_ordinary < on_ordinary < 0.05 * n_ordinary
    assert sum(kinds[True, k] for k in crisis_kinds) > 100
    for k in W["generic_kinds"]:
        assert kinds[True, k] > 10 and kinds[False, k] > 10, k
    assert _share(sample, lambda r: r["call_type"]) > 0.3
    p25 = re.compile(r"Chief Complaint: Psychiatric", re.I)
    # protocol 25 on an ordinary call only where it was dispatched under a crisis code (the
    # header may not be shown): rare
    assert len([r for r in sample if not r["categories"] and p25.search(r["text"])]) <= 0.02 * n_ordinary
    assert sum(1 for r in sample if r["categories"] and p25.search(r["text"])) > 50


def _share(notes, pred):
    return sum(1 for r in notes if pred(r)) / len(notes)


def _within(p_group, p_all, n_group, floor=0.03, k=3):
    """Within a few points: the larger of ``floor`` and ``k`` standard errors of the group share."""
    return abs(p_group - p_all) <= max(floor, k * math.sqrt(max(p_all * (1 - p_all), 1e-9) / n_group))


@pytest.mark.parametrize("wrapping", [
    r"\b(?:ENRT|ONSCN|CMPLT|ASSGN|AVAIL|TRANS|10-8)\b",  # unit status lines
    r"CONFIDENTIAL|automated message|CAD paging|unsubscribe|Sent via MDT",  # footers
    r"\[\d\d:\d\d\]",  # update stamps
    r"paged|Notified:|Alerted:",  # pages
    r"Call Date/Time|Rcvd|Received:|Reported:",  # call times
    r"555-01\d\d",  # callback numbers
    r"RP whisper|caller whisper|people on scene|people gathering|hard of hearing|bad reception|talking over CT"
    r"|in the background|people standing around|RP thinks|caller thinks|caller believes|RP believes",  # caller context
])
def test_wrapping_appears_with_and_without_a_crisis(sample, wrapping):
    rx = re.compile(wrapping, re.I)
    bh = [r for r in sample if r["categories"]]
    other = [r for r in sample if not r["categories"]]
    p_all = _share(sample, lambda r: rx.search(r["text"]))
    assert p_all > 0.03
    for group in (bh, other):
        assert _within(_share(group, lambda r: rx.search(r["text"])), p_all, len(group))


def test_identity_is_independent_of_the_labels_and_the_response_mode(sample):
    """Sex, a race/ethnicity descriptor and a name occur at the same rates whatever the labels
    (among the notes about a person: the everyday posts describe no one). Counted on drawn
    notes only: an augmented or lengthened copy repeats its source's identity, so it is no
    independent draw."""
    sample = [r for r in sample if r["identity"] is not None and not r["augmented"]]
    checks = {
        "female": lambda r: r["identity"]["sex"] == "f",
        "descriptor in text": lambda r: bool(DESCRIPTOR.search(r["text"])),
        "name": lambda r: r["identity"]["name_origin"] is not None,
    }
    checks.update({f"race={race}": (lambda r, race=race: r["identity"]["race"] == race)
                   for race in sorted({r["identity"]["race"] for r in sample} - {None})})
    groups = {"crisis": [r for r in sample if r["categories"]], "not crisis": [r for r in sample if not r["categories"]]}
    by_mode = defaultdict(list)
    for r in sample:
        by_mode[r["response_mode"]].append(r)
    groups.update({m: rs for m, rs in by_mode.items() if len(rs) >= 150})
    assert len(groups) >= 6
    off = []
    for name, pred in checks.items():
        p_all = _share(sample, pred)
        assert p_all > 0.02, name
        for g, rs in groups.items():
            # about 60 comparisons: at three standard errors one of them fails by chance on
            # about one sample in seven (normal approximation) (stop 45: a generator change that left identity alone
            # failed it, asian among ems notes at z = 3.02; seeds 12-14 of that generator gave
            # 2.6, 1.9, 2.5); at four, about one in 250, and a real tie of identity to labels
            # is far larger
            if not _within(_share(rs, pred), p_all, len(rs), k=4):
                off.append((name, g, round(_share(rs, pred), 3), round(p_all, 3)))
    assert not off


def test_bank_persons_with_a_race_word_are_not_used(sample):
    """Race words in a bank's ways of naming the person would follow who calls (third party or self)."""
    assert not [r["id"] for r in sample
                if r["identity"] is not None and r["identity"]["race"] is None and DESCRIPTOR.search(r["text"])]


def test_callback_numbers_are_555(sample):
    phone = re.compile(r"\(?\b\d{3}\)?[ -]\d{3}-\d{4}\b")
    for r in sample:
        for m in phone.finditer(r["text"]):
            assert "555" in m.group(0)


# -- augmentation ------------------------------------------------------------------------------

def test_augmented_copies_keep_labels_and_family(sample):
    by_id = {r["id"]: r for r in sample}
    aug = [r for r in sample if r["augmented"] in generate.AUGMENTATIONS]
    assert 0.10 <= len(aug) / len(sample) <= 0.18
    assert set(Counter(r["augmented"] for r in aug)) == set(generate.AUGMENTATIONS)
    for r in aug:
        src = by_id[r["augmented_from"]]
        assert src["augmented"] is None and src["text"] != r["text"]
        for k in ("categories", "flags", "cues", "response_mode", "style", "bank", "family", "identity"):
            assert r[k] == src[k], k
    assert all(r["augmented_from"] is None for r in sample if not r["augmented"])


def test_long_notes_keep_the_labels_of_the_note_inside_them(sample):
    """Long text is no evidence: a note inside an everyday narrative or among ordinary
    calls' updates keeps its labels, and everyday posts are no crisis."""
    by_id = {r["id"]: r for r in sample}
    for kind, share in zip(generate.LONG_KINDS, (generate.LONG_NARRATIVE_SHARE, generate.LONG_UPDATES_SHARE)):
        rows = [r for r in sample if r["augmented"] == kind]
        assert abs(len(rows) / len(sample) - share) < 0.005, kind
        for r in rows:
            src = by_id[r["augmented_from"]]
            assert src["text"] in r["text"] and len(r["text"]) > len(src["text"])
            for k in ("categories", "flags", "cues", "response_mode", "style", "bank", "family"):
                assert r[k] == src[k], k
    posts = [r for r in sample if r["style"] == generate.EVERYDAY_STYLE]
    assert abs(len(posts) / len(sample) - generate.NARRATIVE_SHARE) < 0.005
    assert all(not r["categories"] and not r["flags"] and r["identity"] is None for r in posts)
    lengths = sorted(len(r["text"].split()) for r in posts)
    assert lengths[len(lengths) // 2] > 100  # long ones as likely as short ones


def test_narratives_share_no_wording_with_the_evaluation_sets():
    """The narrative writers never saw the gold or long-text sets: no sentence shares two
    six-word runs with them (a near-copy would make those sets partly training data)."""
    def runs(text, n=6):
        w = re.findall(r"[a-z']+", text.lower())
        return {" ".join(w[i:i + n]) for i in range(len(w) - n + 1)}

    data = GOLD.parent
    held = set()
    for path in sorted(data.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                held |= runs(json.loads(line)["text"])
    sentences = [x for w in generate.load_narratives() for x in w["sentences"]]
    assert len(sentences) >= 900
    assert [x for x in sentences if len(runs(x) & held) >= 2] == []


def _builder(bank):
    b = generate.NoteBuilder(random.Random(0), bank, "f")
    b.add("content", "hearing voices telling {him} to hurt {himself}", "psychosis")
    b.add("negation", "denies any weapons")
    b.header = "EDP"
    return b


def test_pronouns_follow_the_case_of_the_entry():
    b = generate.NoteBuilder(random.Random(0), generate.load_banks()[0], "f")
    assert b.fill("CLR ADV {he} HAS A KNIFE TO {his} WRIST") == "CLR ADV SHE HAS A KNIFE TO HER WRIST"
    assert b.fill("rp says {he} has a knife") == "rp says she has a knife"
    assert b.fill("{He} told RP") == "She told RP"
    assert b.fill("{He}, 24") == "She, 24"  # no letters of its own: not shouting


def test_typo_augmentation_leaves_the_label_words_alone():
    bank = generate.load_banks()[0]
    W = generate.load_wrapping()
    b = _builder(bank)
    text = "EDP caller states neighbor found her outside hearing voices telling her to hurt herself, denies any weapons, waiting outside"
    changed = 0
    for seed in range(50):
        new = generate.augment(random.Random(seed), text, "typos", b, W)
        for w in ("EDP", "hearing", "voices", "telling", "hurt", "herself", "denies", "weapons"):
            assert w in new.split(" ") or w + "," in new.split(" ")
        changed += new != text
    assert changed == 50


def test_other_augmentations_only_add_or_recase():
    W = generate.load_wrapping()
    b = _builder(generate.load_banks()[0])
    text = "caller states she is hearing voices, denies any weapons. waiting outside"
    rng = random.Random(3)
    assert generate.augment(rng, text, "upper", b, W) == text.upper()
    assert generate.augment(rng, text, "lower", b, W) == text.lower()
    assert generate.augment(rng, text, "status_line", b, W).startswith(text)
    assert generate.augment(rng, text, "footer", b, W).startswith(text)
    spaced = generate.augment(rng, text, "spacing", b, W)
    assert spaced.split() == text.split()


# -- psychosis --------------------------------------------------------------------------------

PSYCHOSIS_SECTION = {
    "pos": ["hearing voices nobody else hears", "thinks the neighbors are poisoning {his} food",
            "naked in the street shouting at cars", "talking to people who aren't there",
            {"text": "up for 4 days on meth, thinks there are people in the walls", "also": ["substance_use"]}],
    "neg": ["no hallucinations per RP", "not hearing voices"],
    "hard_neg": ["RP's tv show about ghosts too loud, neighbor comp"],
    "quotes": ["they put a chip in my head"],
}


@pytest.fixture(scope="module")
def psychosis_notes():
    bank = _without_psychosis(generate.load_banks()[0])
    bank["phrases"]["psychosis"] = PSYCHOSIS_SECTION
    bank["source"] = "t_psychosis"
    return generate.generate(n=4000, seed=3, banks=[bank])


def _without_psychosis(bank):
    """A copy of a bank with no psychosis section and no entry that also gives it."""
    bank = copy.deepcopy(bank)
    bank["phrases"].pop("psychosis", None)

    def strip(entries):
        out = []
        for e in entries:
            if isinstance(e, dict) and "psychosis" in e.get("also", []):
                continue
            out.append(e)
        return out

    for section in bank["phrases"].values():
        for key in list(section):
            section[key] = strip(section[key])
    for key in list(bank["cues"]):
        bank["cues"][key] = strip(bank["cues"][key])
    return bank


def test_a_bank_without_psychosis_gives_no_psychosis():
    assert "psychosis" in CATEGORIES
    bank = _without_psychosis(generate.load_banks()[0])
    # the report/update pairs are their own writers' (updates/), not a bank's section
    notes = generate.generate(n=1500, seed=5, banks=[bank], updates=[])
    assert not [r for r in notes if "psychosis" in r["categories"]]


def test_psychosis_notes_with_their_combinations(psychosis_notes):
    psy = [r for r in psychosis_notes if "psychosis" in r["categories"]]
    bh = [r for r in psychosis_notes if r["categories"]]
    assert len(psy) / len(bh) > 0.15
    assert sum(1 for r in psy if "substance_use" in r["categories"]) / len(psy) > 0.2  # drug-induced
    assert sum(1 for r in psy if "weapon" in r["flags"]) > 20
    assert sum(1 for r in psy if "agitated_unknown_safety" in r["cues"]) / len(psy) > 0.2
    modes = Counter(r["response_mode"] for r in psy)
    assert {"co_responder", "mobile_crisis", "law_enforcement", "ems"} <= set(modes)


def test_the_agency_code_heads_other_crisis_notes_too(sample):
    """EDP / 10-96 heads crisis notes without psychosis as well (a suicidal EDP is
    `suicidal`: the code alone is psychosis only when nothing more specific is said), so
    the code never decides `psychosis` by itself."""
    edp = [r for r in sample if r["call_type"] == "edp" and r["categories"]]
    other = [r for r in edp if "psychosis" not in r["categories"]]
    assert len(other) > 20 and len(other) / len(edp) > 0.2


def test_psychosis_is_said_by_a_phrase_or_by_the_agency_code(psychosis_notes):
    """A psychosis note without a psychosis phrase carries an EDP / 10-96 / PSYCH call type (taxonomy 1.1)."""
    phrases = [re.sub(r"\{\w+\}", "", p if isinstance(p, str) else p["text"]).lower()[:18]
               for p in PSYCHOSIS_SECTION["pos"] + PSYCHOSIS_SECTION["quotes"]]

    def says_it(text):
        low = " ".join(text.lower().split())
        return any(p.strip() in low for p in phrases)

    psy = [r for r in psychosis_notes if "psychosis" in r["categories"] and not r["augmented"]]
    unsaid = [r for r in psy if not says_it(r["text"])]
    code_only = [r for r in unsaid if r["call_type"] == "edp" and r["categories"] == ["psychosis"]]
    assert len(code_only) > 5
    assert all(PSYCH_CODE_HEADERS.search(r["text"]) for r in code_only)
    assert len(unsaid) - len(code_only) <= 0.05 * len(psy)  # the rest lost a letter of the phrase to a typo


# -- entries written but not used (training_data_synthetic/candidates/) ----------------------

def test_candidate_entries_are_well_formed():
    """Stop 28's entries are kept for a later stop, not trained on (the generator reads
    banks/*.json only); each is one the bank format accepts: a fragment that may gain only
    the medical flag, or an ordinary incident with taxonomy flags, no violence, and a call
    kind the wrapping knows."""
    cand = json.loads((ROOT / "training_data_synthetic" / "candidates" / "stop28_everyday_words.json").read_text())
    kinds = set(generate.load_wrapping()["cad"]["kinds"])
    banks = {b["source"] for b in generate.load_banks()}
    assert set(cand["banks"]) <= banks
    n = 0
    for bank, lists in cand["banks"].items():
        assert set(lists) <= {"violence.hard_neg", "weapon.hard_neg", "non_bh"}, bank
        for key, entries in lists.items():
            for e in entries:
                n += 1
                text, also = generate.entry(e)
                assert text.strip() and not re.sub(r"\{(?:he|his|him|himself|He|His)\}", "", text).count("{"), (bank, text)
                if key == "non_bh":
                    assert set(e["flags"]) <= {"weapon", "violence", "medical"} and "violence" not in e["flags"], e
                    assert e.get("kind") in kinds, e
                else:
                    assert set(also) <= {"medical"}, e  # a hard negative may gain a flag, never a category
    assert n == 651


# -- updates that take a report back, or close a crisis (stop 36) -------------------------------

def test_dispelled_reports_carry_no_label_and_resolved_ones_their_writers(sample):
    dispelled = [r for r in sample if r["update"] == "dispelled"]
    resolved = [r for r in sample if r["update"] == "resolved"]
    assert len(dispelled) >= 0.008 * len(sample) and len(resolved) >= 0.015 * len(sample)
    assert all(not r["categories"] and not r["flags"] and r["response_mode"] == "standard_dispatch" for r in dispelled)
    assert all(r["categories"] for r in resolved)
    # only reports taken back in words the context rules read are trained on
    pairs = {(u["source"], p["update"]) for u in generate.load_updates() for p in u["dispelled"]
             if generate.DISPEL_RX.search(p["update"])}
    assert all(generate.DISPEL_RX.search(r["text"]) for r in dispelled)
    sources = {s for s, _ in pairs}
    assert {r["update_source"] for r in dispelled} == sources  # every writer's pairs are used
    # the update is written after the report, whatever the style
    def tail(t):  # the last letters
        return re.sub(r"[^a-z]", "", t.lower())[-12:]

    def filled(u, sex):
        for k, v in generate.PRONOUNS[sex].items():
            u = u.replace(k, v)
        return u
    for r in dispelled[:200]:
        ups = {tail(filled(u, sex)) for s, u in pairs if s == r["update_source"] for sex in ("m", "f")}
        assert tail(r["text"]) in ups or r["augmented"], r["text"][-200:]


def test_a_part_that_takes_a_report_back_never_follows_a_crisis():
    """The context rules read 'unfounded', 'false alarm', 'not an EDP' as taking back all that
    precedes them: in a crisis note made of several calls' parts, such a part comes first."""
    bank = copy.deepcopy(generate.load_banks()[0])
    for sec in bank["phrases"].values():
        for key in ("pos", "quotes", "self", "against_others", "act", "threat"):
            if key in sec:
                sec[key] = [generate.entry(e)[0] + " qqmark" if isinstance(e, str) else {**e, "text": e["text"] + " qqmark"}
                            for e in sec[key]]
        if "hard_neg" in sec:
            sec["hard_neg"] = ["alarm at the bank went off, false alarm"] * 3
    notes = generate.generate(n=1500, seed=5, banks=[bank], updates=[])
    both = [r["text"].lower() for r in notes if (r["categories"] or r["flags"]) and "qqmark" in r["text"].lower()
            and "false alarm" in r["text"].lower()]
    assert len(both) > 20
    # the crisis is written again after the last take-back (a pasted protocol block may echo
    # a crisis phrase before the narrative: 'CALLER STATEMENT: NOBODY WILL EVEN NOTICE IM GONE')
    assert all(t.rindex("false alarm") < t.rindex("qqmark") for t in both), \
        [t for t in both if t.rindex("false alarm") > t.rindex("qqmark")][:2]
    # and in the narrative itself the take-back comes first
    body_first = [t for t in both if "narrative:" not in t and "comments:" not in t and "caller statement" not in t]
    assert body_first and all(t.rindex("false alarm") < t.index("qqmark") for t in body_first)


def test_the_take_back_pattern_is_the_frozen_list():
    """Every literal of wrapping/takebacks.json is matched whole, and only as a word (since stop 48
    the list is the generator's own; test_the_generators_take_backs_are_package_take_backs checks
    that it is still a part of the package's PRECEDING rules)."""
    lits = json.loads((ROOT / "training_data_synthetic" / "wrapping" / "takebacks.json").read_text())["literals"]
    assert lits and all(generate.DISPEL_RX.fullmatch(x) for x in lits)
    assert generate.DISPEL_RX.search("UNIT ADV UNFOUNDED") and not generate.DISPEL_RX.search("founded in 1920")


# -- merging a bank's two halves (tools/merge_bank_halves.py, stop 40) --------------------------

def test_merging_two_halves_keeps_the_format_and_drops_what_the_schema_forbids(tmp_path):
    sys.path.insert(0, str(ROOT / "tools"))
    import merge_bank_halves as mb

    cats = {c: {"pos": [], "neg": [], "hard_neg": [], "quotes": []} for c in mb.CATEGORIES}
    cats["suicidal"]["pos"] = ["{HE} SAYS {HE} WANTS TO DIE"]
    cats["suicidal"]["hard_neg"] = [{"text": "hx of SI years ago, tonight a stolen bike", "also": ["suicidal"]},
                                    {"text": "robbed at knifepoint of {his} meds, no crisis", "also": ["violence"]}]
    p1 = {"source": "t", "style": "test voice", "persons": {"male": ["subj", "W/M 40s"], "female": ["subj"]},
          "reporters": ["mother"], "phrases": cats}
    p2 = {"source": "t", "style": "test", "phrases": {
        "weapon": {"self": ["holding a knife to {his} own wrist"], "against_others": [], "neg": [], "hard_neg": []},
        "violence": {"act": [], "threat": [], "neg": [], "hard_neg": []},
        "medical": {"pos": ["call back at 212-867-5309 if worse"], "neg": [], "hard_neg": []}},
        "cues": {"safe": ["is safe at home right now, no plan", "IS SAFE AT HOME RIGHT NOW, NO PLAN"]},
        "non_bh": [{"text": "cat stuck on the roof of the shed, owner crying", "flags": [], "kind": "animal"},
                   {"text": "dog barking all night at the neighbors", "flags": [], "kind": "no_such_kind"}],
        "filler": ["gate code 1234"]}
    (tmp_path / "t_p1.json").write_text(json.dumps(p1))
    (tmp_path / "t_p2.json").write_text(json.dumps(p2))
    banks = tmp_path / "banks"
    banks.mkdir()
    bank, dropped = mb.merge("t", tmp_path, banks, gold=["a note that no entry is near"])
    assert bank["phrases"]["suicidal"]["pos"][0].startswith("{he} SAYS")  # the generator's placeholder
    assert [e["text"] for e in bank["phrases"]["suicidal"]["hard_neg"]] == ["robbed at knifepoint of {his} meds, "
                                                                             "no crisis"]
    assert bank["persons"]["male"] == ["subj"] and dropped["race"] == 1
    assert bank["phrases"]["medical"]["pos"] == [] and dropped["phone"] == 1
    assert bank["cues"]["safe"] == ["is safe at home right now, no plan"] and dropped["near_copy"] == 1
    assert "kind" not in bank["non_bh"][1] and dropped["unknown_kind"] == 1
    b = generate.NoteBuilder(random.Random(0), bank, "m")  # the generator takes it
    assert b.fill("{he} SAYS") == "HE SAYS"
    _, dropped = mb.merge("t", tmp_path, banks, gold=["cat stuck on the roof of the shed, owner crying"])
    assert dropped["near_gold"] == 1
