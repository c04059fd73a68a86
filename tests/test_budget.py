"""The reading budget (issue 13, item 1): ordinary notes are read whole and their features
do not change; a long or hostile note is read up to a bounded estimate, with its crisis
words found anywhere. Speed itself is measured by bench/bench_pathological.py; these tests
check the structure that bounds it."""

import gzip
import hashlib
import itertools
import json
import random
import shutil
import string

import pytest

from crisis_nlp.preprocess import analyze, note_features
from crisis_nlp.preprocess.budget import (
    HEAD_COST,
    SEPARATOR,
    SMALL_CHARS,
    TAIL_COST,
    WHOLE_COST,
    _Estimate,
)
from crisis_nlp.preprocess.pipeline import reading_budget
from crisis_nlp.preprocess.text import MASKING_TABLES, normalize_characters

from conftest import DATA, ROOT

LIMIT = 20_000

# sha256 of the feature strings, one a line, made by the code before the reading budget
# (commit 0a5109d) with the rule tables that default@2.1.0 snapshotted: what a note is turned
# into must not change for ordinary notes, nor for the long hand-written evaluation posts and
# pages (up to ~4,900 characters). Read with those tables, so that a later edit of the
# package's tables (which changes only models trained afterwards) leaves this test alone.
# 2.1.0 snapshotted no masking tables (a version before 2.26.0 reads the package's), so they
# come from 2.27.0's snapshot, the package's until stop 49 changed pii_patterns.json.
FROZEN_RULES = ROOT / "models/default/2.1.0/rules"
FROZEN_MASKING = ROOT / "models/default/2.27.0/rules"
FROZEN = {
    "gold.jsonl": "15b1a207dff055989922c9ec13ab74c842f99d95950eefb6a1140aaff361559d",
    "gold_cad.jsonl": "9aa7f45a681f1287875cb536c62f00b55113372887fc463bd1197862293b2d3e",
    # stop 20: two posts changed where Spanish words became everyday words of masking
    # (names_vocab.txt): "Las Vegas" is no longer masked as a name, nor "Nana" before it
    "long_everyday.jsonl": "0d9d1464b2732f5c6b163431685957c33e63b6498c96ce0e80c797b8c407f603",
    "long_cad.jsonl": "60495109e1e57d8eac0e70334b67f8993946cf29e55c3235398accd772575866",
    # the data of stop 40 (six more banks: this hash is the current code's; the current code
    # gives stop 36's data the hash checked before, d0328472..., as stop 36's code gave stop
    # 26's df5aeaca..., which was checked against the code before the budget). Stop 50: the
    # name pass also visits notes whose only name signal is a weak cue ("RP: Olena Horvat",
    # two unlisted capitalised words after a cue, as mask_names documents); with the frozen
    # tables that masks 10 more names in 8 of these notes and changes no gold note or long post
    "synthetic, first 3000": "09c6878fb0bd5c3b69af5a5e50d89abd4479e047614fb0c25c520eb292dfaa3f",
}


def _texts(name):
    if name.startswith("synthetic"):
        with gzip.open(DATA, "rt", encoding="utf-8") as f:
            return [json.loads(line)["text"] for line in itertools.islice(f, 3000)]
    return [json.loads(x)["text"] for x in (ROOT / "tests/data" / name).read_text().splitlines() if x.strip()]


@pytest.fixture(scope="module")
def frozen_rules(tmp_path_factory):
    folder = tmp_path_factory.mktemp("frozen_rules")
    for table in FROZEN_RULES.iterdir():
        shutil.copy(table, folder / table.name)
    for name in MASKING_TABLES:
        shutil.copy(FROZEN_MASKING / name, folder / name)
    return str(folder)


@pytest.mark.parametrize("name", sorted(FROZEN))
def test_feature_strings_of_ordinary_notes_are_frozen(name, frozen_rules):
    features = note_features(_texts(name), frozen_rules)
    assert hashlib.sha256("\n".join(features).encode()).hexdigest() == FROZEN[name]


def _select(text):
    return reading_budget().select(normalize_characters(text))


def _committed():
    texts = _texts("gold.jsonl") + _texts("gold_cad.jsonl")
    with gzip.open(DATA, "rt", encoding="utf-8") as f:
        return texts + [json.loads(line)["text"] for line in f]


def test_every_committed_note_and_4000_characters_of_them_are_read_whole():
    """Every gold note and every training note up to 4,950 characters (the longest one when
    the budget was set) is read whole. The data of stop 22 (thirteen audited banks) has six
    training notes of 4,974-5,974 characters (joined updates) that are read as their head and
    crisis passages, the same at training and at inference, and no more may be (stop 21: six
    of 5,051-5,929; stop 20: five of 5,061-5,956; stop 19: one of 5,197)."""
    texts = _committed()
    cut_long = 0
    for text in texts:
        normalized = normalize_characters(text)
        if reading_budget().select(normalized) != normalized:
            assert len(text) > 4_950, len(text)
            cut_long += 1
    assert cut_long <= 6
    for seed in range(10):  # what a real note of the longest kind looks like, as near as we have
        joined = normalize_characters(" ".join(random.Random(seed).sample(texts, 60))[:4000])
        assert reading_budget().select(joined) == joined


def test_a_short_note_cannot_exceed_the_budget():
    """SMALL_CHARS is where counting starts: no text that short can be estimated over the
    budget, the worst being distinct symbols, each a new token."""
    rng = random.Random(0)
    symbols = "".join(map(chr, range(0x1F300, 0x1F600)))
    for text in ("".join(rng.choice(symbols) for _ in range(SMALL_CHARS)),
                 " ".join(rng.choice(symbols) for _ in range(SMALL_CHARS // 2))):
        chunks = text.split()
        assert _Estimate(reading_budget().known).cost(chunks)[0] <= WHOLE_COST


def _words(alphabet, seed, n=LIMIT):
    rng = random.Random(seed)
    out = []
    while sum(map(len, out)) + len(out) < n:
        out.append("".join(rng.choice(alphabet) for _ in range(rng.randint(3, 9))))
    return " ".join(out)[:n]


def _random(alphabet, seed):
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(LIMIT))


HOSTILE = {
    "random words": lambda: _words(string.ascii_lowercase, 1),
    "random capitalised words": lambda: _words(string.ascii_uppercase, 2),
    "random printable, no spaces": lambda: _random(string.printable[:94], 3),
    "emoji": lambda: _random("".join(map(chr, range(0x1F600, 0x1F650))), 4),
    "CJK, no spaces": lambda: _random("".join(map(chr, range(0x4E00, 0x4F00))), 5),
    "one CJK character": lambda: "\u4e82" * LIMIT,
    "'a,' x10000": lambda: "a," * 10000,
    "'son Will ' x": lambda: ("son Will " * 2300)[:LIMIT],
    "gold notes joined": lambda: " ".join(json.loads(x)["text"] for x in (ROOT / "tests/data/gold.jsonl").read_text()
                                          .splitlines() if x.strip())[:LIMIT],
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_what_is_read_of_a_long_note_is_bounded(name):
    read = _select(HOSTILE[name]())
    assert read  # something is always read, even of a note without spaces
    assert _Estimate(reading_budget().known).cost(read.split())[0] <= HEAD_COST + TAIL_COST + 200
    assert len(read) < 9000  # (the estimate is at least COST_CHAR = 2 a character)


def _filler(seed, n):
    """Words that are no crisis keyword, no known word: what a long junk note is made of."""
    budget = reading_budget()
    rng = random.Random(seed)
    out = []
    while sum(map(len, out)) + len(out) < n:
        w = "".join(rng.choice("bcdfghjklmnpqrstvwxz") + rng.choice("aeiouy") for _ in range(3))
        if w not in budget.keywords and w not in budget.phrases:
            out.append(w)
    return " ".join(out)


def test_crisis_words_after_the_head_are_read_with_their_negation():
    note = _filler(1, 15000) + ". Per RP pt denies SI. Has a gun in the truck."
    read = _select(note)
    assert len(read) < len(note) // 2  # only a part is read ...
    feats = analyze(note).features.split()
    assert "NEG_C_SUICIDE" in feats and "C_SUICIDE" not in feats  # ... but the end with its context
    assert "C_WEAPON" in feats


def test_every_keyword_gets_a_passage_before_any_gets_a_second():
    """A flood of distinct passages about one word cannot hide another word later on."""
    rng = random.Random(2)
    flood = " ".join(f"gun {_filler(rng.random(), 20)}." for _ in range(300))
    note = (_filler(3, 8000) + " " + flood + " Pt took an overdose of pills.")[:LIMIT]
    assert "overdose" in note
    read = _select(note)
    assert "overdose" in read and read.count("gun") < 300
    assert {"C_WEAPON", "C_OVERDOSE"} <= set(analyze(note).features.split())


def test_passages_are_clauses_apart():
    note = _filler(4, 12000) + " no weapons seen. pt has a knife"
    read = _select(note)
    assert SEPARATOR in read
    feats = set(analyze(note).features.split())
    assert "NEG_C_WEAPON" in feats and "C_WEAPON" in feats  # 'no' does not reach the knife


def test_the_same_note_is_read_the_same_way_whatever_was_read_before():
    note = HOSTILE["random words"]()
    first = _select(note)
    for other in HOSTILE.values():
        _select(other())
        note_features([other()[:3000]])
    assert _select(note) == first


def test_identical_passages_are_read_once():
    note = _filler(5, 10000) + " pt denies SI." * 500
    read = _select(note[:LIMIT])
    assert read.count("denies SI") == 2  # the first with the filler before it, then one more
