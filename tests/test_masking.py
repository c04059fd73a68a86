"""Personal-data masking (issue 13, item 5): every format of the invented corpus in
bench/bench_masking.py is recalled at the floor measured there, and the words a
classifier needs are not taken for names."""

import gzip
import importlib.util
import json
import random
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crisis_nlp.preprocess import analyze, clean_text
from crisis_nlp.preprocess.text import mask_names

ROOT = Path(__file__).resolve().parent.parent
# measured with bench/bench_masking.py: 1.00 for every format but IPv6 (0.98: "7f" in an
# address is read as an age, "7 f") and four name forms (0.98); the goal is 0.95
RECALL_FLOOR = 0.95


def _bench():
    spec = importlib.util.spec_from_file_location("bench_masking", ROOT / "bench" / "bench_masking.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_recall_per_format_is_at_the_floor():
    rows = _bench().recall_table(clean_text)
    assert len(rows) >= 25
    low = [(fmt, hit / n) for fmt, hit, n in rows if hit / n < RECALL_FLOOR]
    assert not low


@pytest.mark.parametrize(
    "raw, placeholder, secret",
    [
        ("cb +44 20 7946 0958 after 6", "PII_PHONE", "7946"),
        ("call 011 52 55 1234 5678", "PII_PHONE", "5678"),
        ("number is 867-5309", "PII_PHONE", "5309"),
        ("cb 8675309", "PII_PHONE", "8675309"),
        ("ssn 123 45 6789", "PII_SSN", "6789"),
        ("ssn 123456789 on file", "PII_SSN", "123456789"),
        ("card 4111 1111 1111 1111 exp 12", "PII_CARD", "1111"),
        ("card 4111111111111111", "PII_CARD", "4111111111111111"),
        ("MRN: 00482913", "PII_MRN", "00482913"),
        ("med rec # A1234567", "PII_MRN", "1234567"),
        ("from 192.0.2.44 logged", "PII_IP", "192.0.2.44"),
        ("ip 2001:db8::1", "PII_IP", "db8"),
        ("see https://example.com/u/jdoe.", "PII_URL", "jdoe"),
        ("posted on facebook.com/jdoe99", "PII_URL", "jdoe99"),
        ("mail zo\u00eb.m\u00fcller@beispiel.de", "PII_EMAIL", "beispiel"),
        ("RP name is Maria Lopez", "PII_NAME", "Lopez"),
        ("RP JOHN SMITH STATES SUBJ HAS A KNIFE", "PII_NAME", "SMITH"),
        ("Subj: Okafor, Chidi, 34 M", "PII_NAME", "Okafor"),
        ("Mrs. Nguyen called", "PII_NAME", "Nguyen"),
        ("spoke with Aisha Mbeki", "PII_NAME", "Mbeki"),
        ("states son Will is threatening to jump", "PII_NAME", "Will"),
        ("caller says her name is maria lopez", "PII_NAME", "lopez"),
        ("Client Marcus T., 47M", "PII_NAME", "T."),
    ],
)
def test_new_formats_are_masked(raw, placeholder, secret):
    cleaned = clean_text(raw)
    assert placeholder in cleaned
    assert secret not in cleaned


@pytest.mark.parametrize(
    "note",
    [
        "pt states he will kill himself tonight, no hope left",
        "PT STATES HE WILL KILL HIMSELF, THREATENING TO JUMP FROM THE BRIDGE",
        "Pt Will Not Eat, Says There Is No Hope",
        "took sertraline and trazodone, also xanax, fentanyl, narcan given",
        "RP states subj may have a gun, grace period on rent ended in june",
        "Garfield St near Harmon Hall, 10-96, no weapons",
        "BAC .12, took 30 pills at 21:14, 34 yo male",
        "per rp pt is at home w/ mom, denies SI",
        "bill from the pharmacy, mark on his arm, art therapy group",
    ],
)
def test_crisis_words_are_not_masked(note):
    assert "PII_" not in clean_text(note)
    words = set(analyze(note).features.split())
    for w in ("will", "kill", "hope", "bridge", "sertraline", "fentanyl", "gun"):
        if w in note.lower().split() or w + "," in note.lower().split():
            assert w in words or "neg_" + w in words


def test_synthetic_notes_get_a_name_only_where_they_hold_one():
    """The generator puts an invented name in some notes (and records its origin): those
    are masked, and a PII_NAME in the others is a false mask. Everyday narratives (posts,
    and crisis notes told inside one) name people the generator does not record ('the
    breakup with Tom'), so they are left out."""
    with gzip.open(ROOT / "training_data_synthetic/notes.jsonl.gz", "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    rows = [r for r in rows if r.get("identity") is not None and r.get("augmented") != "long_narrative"]
    sample = random.Random(1).sample(rows, 2000)
    with_name = [r["text"] for r in sample if (r.get("identity") or {}).get("name_origin")]
    without = [r["text"] for r in sample if not (r.get("identity") or {}).get("name_origin")]
    # measured at stop 50: 7 of 1,620 (0.4%), after the name lists were rebuilt from the notes
    # of stop 40's banks (tools/build_name_lists.py; "tank", "save", "mart" and other census
    # surnames the notes use as words became everyday names, masked only after a cue).
    # Measured on the data of stop 40: 57 of 1,620 (3.5%): 31 in the six banks added then, nearly
    # all invented place and street names of their settings ("Lake ... launch", "... Shop",
    # "... Rec", "... BARN"), masked as names: a false mask of a place costs a word, not privacy.
    # stop 21: 43 of 1,587 (2.7%): 9 in b8, 10 in the four new banks
    # ("CASINO SEC", "SEA LION", "Dunkin'"), most of the rest place names of the CAD wrapping
    # ("BURGER BARN", "QUICK STOP", "SAVE MART") that all banks share.
    # stop 20: 35 of 1,609 (2.2%; 15 of them in the bilingual bank b8,
    # where upper-case Spanish next to a cue reads as a surname: "LANG LINE", "SU ESPOSA", and
    # place names of the CAD wrapping such as "... BARN", "SAVE MART"); stop 19: 17 of 1,606.
    # Spanish words that are also census surnames stay maskable: making them everyday words
    # let real surnames through ("caller Maria Bueno")
    assert sum("PII_NAME" in clean_text(t) for t in without) <= 0.015 * len(without)
    # measured: 340 of 380 at stop 50 (0.89; 339 before it; 368 of 413 and stop 20's 351 of 391 on
    # earlier data); lower-case names after "name" are missed ("pt name garcia santiago")
    assert sum("PII_NAME" in clean_text(t) for t in with_name) >= 0.85 * len(with_name)


def test_frequent_words_of_the_notes_are_rarely_taken_for_names():
    """The bench's check on the 3,000 commonest words of the synthetic notes, each in five
    sentences: 2 of 15,000 masked at stop 50 ("named" and "miss" after "per", both name cues
    themselves); 242 before the name lists were rebuilt ("council", "worth", "ferry", "hedge",
    "tea": census surnames that the notes use as words)."""
    bench = _bench()
    with gzip.open(ROOT / "training_data_synthetic/notes.jsonl.gz", "rt", encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f]
    masked, total, examples = bench.false_masking(clean_text, bench.frequent_words(texts, 3000))
    assert masked <= 0.002 * total, examples


def test_the_name_lists_hold_none_of_the_generators_names_as_words():
    """The generator's invented names reach the notes in lower case (case augmentation); a
    rebuild that read them as words of the notes would make them everyday words that are
    never masked on their own ('Olena Horvat' unlisted, 'Tran' an everyday name)."""
    spec = importlib.util.spec_from_file_location("build_name_lists", ROOT / "tools" / "build_name_lists.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    names = mod.generator_names()
    assert {"olena", "horvat", "tran"} <= names
    read = lambda f: {w.strip() for w in (ROOT / "crisis_nlp/resources" / f).read_text().splitlines()
                      if w.strip() and not w.startswith("#")}
    assert not names & read("names_vocab.txt")
    everyday = set(mod.ENGLISH.split()) | mod.rule_file_words()
    assert names & read("names_stop.txt") <= everyday


@pytest.mark.parametrize("note, kept, masked", [
    ("EDP 10-96 9775 BIRCH LN, subj yelling at traffic", "10-96", "9775"),
    ("10-96 AT 44 ELM ST, FEMALE SCREAMING", "10-96 AT", "44 ELM"),
    ("meet complainant at 123-45 Jackson Ave", "meet complainant at", "123-45"),
])
def test_a_radio_code_before_an_address_stays_out_of_it(note, kept, masked):
    cleaned = clean_text(note)
    assert kept in cleaned and masked not in cleaned and "PII_ADDRESS" in cleaned


@pytest.mark.parametrize("note", [
    "need a caseworker, cant do the forms. RP: Olena Horvat. Requesting dispatch assessment.",
    "Caller Tomasz Wrobel states his mother is confused again",
])
def test_two_unlisted_capitalised_words_after_a_cue_are_a_name(note):
    """The name pass used to skip a note with no listed name, so a cue followed by an
    unlisted name ('RP: Olena Horvat') stayed in the features."""
    cleaned = mask_names(note)
    assert "PII_NAME" in cleaned and "Horvat" not in cleaned and "Wrobel" not in cleaned


def test_false_masking_of_ordinary_words_is_rare():
    bench = _bench()
    vocab = ["will", "hope", "grace", "may", "june", "bill", "faith", "art", "rose", "mark", "neal", "bridge",
             "kill", "jump", "states", "son", "knife", "gun", "pills", "rope", "hang", "home", "brown", "white",
             "black", "young", "long", "rich", "chase", "hunter", "sharp", "cutter", "king", "major"]
    masked, total, examples = bench.false_masking(clean_text, vocab)
    assert masked == 0, examples


def test_placeholders_stay_whole():
    for note in ("cb 555-867-5309 per Maria Lopez", "1234 N Main St per JOHN SMITH", "RP Lopez, Maria DOB 1/2/80"):
        cleaned = clean_text(note)
        assert all(tok in ("PII_PHONE", "PII_NAME", "PII_ADDRESS", "PII_DOB")
                   for tok in cleaned.replace(",", " ").split() if tok.startswith("PII"))


_NAMEY = ["Maria ", "Lopez", ", ", "RP ", "name is ", "son ", "Will ", "WILL ", "JOHN ", "SMITH ", "Mr. ", "per ",
          "caller ", "T. ", "Okafor", "PII_PHONE ", "states ", "x", " ", "-", "'", "\u00e9", "Ng", "Mbeki ", "aka "]


@given(st.lists(st.sampled_from(_NAMEY), max_size=25).map("".join))
@settings(max_examples=400, deadline=None, derandomize=True)
def test_name_masking_only_replaces_spans_by_the_placeholder(text):
    """What is not masked is kept as it was, in order; placeholders already in the note
    are never cut into."""
    out = mask_names(text)
    parts = out.split("PII_NAME")
    pattern = ".+?".join(re.escape(s) for s in parts)
    assert re.fullmatch(pattern, text, re.DOTALL), (text, out)
    assert out.count("PII_PHONE") == text.count("PII_PHONE")


@pytest.mark.parametrize("race", ["asian", "hispanic", "latino", "latina", "caucasian", "native american",
                                  "african american", "pacific islander"])
def test_a_race_word_never_becomes_part_of_a_name(race):
    """Stop 45: 'ON THE TRAIL, ASIAN SUBJ' read as 'LAST, FIRST' ('trail' is a listed surname), so
    the inserted race word masked the word before it and changed the features."""
    for surname in ("TRAIL", "Trail", "trail", "Lopez"):
        for word in (race.upper(), race.title(), race):
            note = f"comp up on the {surname}, {word} subj yelling for help"
            masked = mask_names(note)
            assert word in masked, (note, masked)
            assert mask_names(note.replace(f"{word} ", "")).replace(f"{word} ", "") == masked.replace(f"{word} ", "")
    from crisis_nlp.preprocess.text import identity_words

    assert set(race.split()) <= identity_words()
    # and a name after a race word is still masked
    for cue in ("caller", "subj", "per"):
        masked = mask_names(f"{cue} {race.title()} Lopez states her car was hit")
        assert "Lopez" not in masked and race.title() in masked, masked
