"""Hostile input (issue 13, item 1): the text steps are linear and the tokenizer never
sees a long run without spaces. Speed itself is measured by bench/bench_pathological.py;
these tests check the structure that bounds it, and that ordinary notes are unchanged."""

import gzip
import json
import random
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crisis_nlp.preprocess import clean_text, mask_pii, normalize_text
from crisis_nlp.preprocess.text import MAX_NORMALIZED, PUNCT_RUN_MAX, RUN_MAX, SAME_PUNCT_MAX, limit_runs
from crisis_nlp.resources import load_json

ROOT = Path(__file__).resolve().parent.parent
KILLERS = {
    "apostrophes": "'" * 20000, "quotes": '"' * 20000, "hashes": "#" * 20000, "parens": "(" * 20000,
    "mixed punctuation": "!?.,;:" * 3333, "letters": "a" * 20000, "emoji": "\U0001F600" * 20000,
    "alphanumerics": "".join(random.Random(0).choice("ab12.-/'#") for _ in range(20000)),
    "combining marks": "\u0301" * 20000, "newline then spaces": "a\nb" + " " * 19990 + "c",
    "no": "no" * 9990 + " 1", "rm": "rm" * 9990 + " 1", "unit": "unit" * 4990 + " 1", "tag": "tag-" * 4990 + "1",
    "e-mail local part": "a" * 19990 + "@b", "e-mail at signs": "a@" * 9999, "e-mail dots": "a." * 9990 + "@b",
}


def _longest(pattern: str, text: str) -> int:
    return max((len(m.group()) for m in re.finditer(pattern, text)), default=0)


@pytest.mark.parametrize("name", sorted(KILLERS))
def test_the_tokenizer_never_sees_a_long_run(name):
    cleaned = clean_text(KILLERS[name])
    assert _longest(r"\S+", cleaned) <= RUN_MAX
    if len(cleaned) > RUN_MAX:  # limit_runs leaves a text this short alone (20,000 marks are cut to 30 now)
        assert _longest(r"[^\w\s]+", cleaned) <= max(SAME_PUNCT_MAX, PUNCT_RUN_MAX)
        assert _longest(r"([^\w\s])\1*", cleaned) <= SAME_PUNCT_MAX


def test_a_punctuation_run_is_capped_not_dropped():
    assert limit_runs("help!!!!!!!!!!!!!! now " + "x" * 30) == "help!!!! now " + "x" * 30
    assert limit_runs("what?!?!?!? " + "x" * 40) == "what? ! ? ! ? ! ? " + "x" * 40
    chopped = limit_runs("y" * 100)
    assert chopped.replace(" ", "") == "y" * 100 and _longest(r"\S+", chopped) == RUN_MAX


def test_nfkc_expansion_is_bounded():
    assert len(normalize_text("\ufdfa" * 20000)) <= MAX_NORMALIZED


def test_the_killer_regex_inputs_are_still_masked_right():
    assert normalize_text("a\nb" + " " * 19990 + "c") == "a ; b c"
    assert mask_pii("no" * 20 + " 1") == "no" * 20 + " 1"
    assert mask_pii("unit 4B") == "unit PII_UNIT"
    assert mask_pii("plate ABC1234") == "plate PII_PLATE"
    assert mask_pii("case no 2024-1234") == "case no PII_CASE"
    assert mask_pii("mail a.b@example.org") == "mail PII_EMAIL"


def test_no_pattern_can_retry_an_unbounded_run():
    """The shapes that made masking quadratic: an unbounded repeat inside a lookahead,
    unbounded whitespace gaps, an unbounded run that must be followed by something it
    can also contain. Each pattern (and its prefilter) is written without them."""
    for p in load_json("pii_patterns.json")["patterns"]:
        for key in ("regex", "needs"):
            rx = p.get(key)
            if not rx:
                continue
            assert "\\s*" not in rx, (p["name"], key)
            assert not re.search(r"\(\?=[^)]*[*+]", rx), (p["name"], key)  # (?=[...]*x)
            assert not re.search(r"\][*+]\\d", rx), (p["name"], key)  # [a-z0-9-]*\d
            assert not re.match(r"\[[^\]]*\][*+]", rx), (p["name"], key)  # a run retried from each position


# -- ordinary notes are unchanged -------------------------------------------------------
_OLD_SPACES = re.compile(r"[ \t\f\v]+")
_OLD_NEWLINES = re.compile(r"\s*[\r\n]+\s*")


def _old_normalize(text):
    """normalize_text before this change (quadratic on long runs of spaces)."""
    import unicodedata

    from crisis_nlp.preprocess import text as t

    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(t._TRANSLATE)
    if "\n" in text or "\r" in text:
        text = _OLD_NEWLINES.sub(" ; ", text)
    if t._MAYBE_AGE.search(text):
        text = t._AGE_UNIT.sub(r"\1 \2", text)
    if "  " in text or "\t" in text or "\f" in text or "\v" in text:
        text = _OLD_SPACES.sub(" ", text)
    return text.strip()


_ORDINARY = st.lists(st.sampled_from(
    list("abcXYZ0123456789 .,;:!?'\"()-/#&@\t\n\r") + ["  ", "\r\n", "17yo", "34YOM", "w/o", "RP", "SI/HI", "\u2019",
                                                      "\u201c", "\u2014", "\u00a0", "caf\u00e9", "10-96"]),
    max_size=60).map("".join)


@given(_ORDINARY)
@settings(max_examples=500, deadline=None, derandomize=True)
def test_normalisation_is_the_old_one_on_ordinary_text(text):
    assert normalize_text(text) == _old_normalize(text)


_WORDS = st.lists(st.text(alphabet="abcdefXYZ0123456789'-/.,!?()", min_size=1, max_size=RUN_MAX), max_size=30)


@given(_WORDS)
@settings(max_examples=300, deadline=None, derandomize=True)
def test_run_limits_leave_ordinary_words_alone(words):
    text = " ".join(words)
    if _longest(r"[^\w\s]+", text) <= PUNCT_RUN_MAX:  # what ordinary text has (checked on the notes below)
        assert limit_runs(text) == text


def test_run_limits_leave_the_words_of_every_committed_note_alone():
    texts = [json.loads(x)["text"] for x in (ROOT / "tests/data/gold.jsonl").read_text().splitlines() if x.strip()]
    with gzip.open(ROOT / "training_data_synthetic/notes.jsonl.gz", "rt", encoding="utf-8") as f:
        texts += [json.loads(line)["text"] for line in f]
    for text in texts:
        masked = mask_pii(normalize_text(text))
        # the words are untouched; only long punctuation runs (a '*****;' banner) are cut or spaced
        assert re.sub(r"[^\w]", "", limit_runs(masked)) == re.sub(r"[^\w]", "", masked)
        assert normalize_text(text) == _old_normalize(text)


# -- NFKC a piece at a time, line breaks and plain characters by string methods ----------
def test_the_starters_that_join_back_are_the_ones_unicodedata_has():
    """_JOINS_BACK is the second character of every canonical pair that is a starter, for
    the Unicode version of this Python (a newer one may add pairs: update the list)."""
    import sys
    import unicodedata

    from crisis_nlp.preprocess.text import _JOINS_BACK

    second = set()
    for cp in range(sys.maxunicode + 1):
        d = unicodedata.decomposition(chr(cp))
        if d and not d.startswith("<") and len(d.split()) == 2:
            s = chr(int(d.split()[1], 16))
            if unicodedata.combining(s) == 0:
                second.add(s)
    assert second == _JOINS_BACK


_UNICODE = st.lists(st.sampled_from(
    ["a", "e", " ", "\n", "\u0301", "\u0327", "\u0344", "\u0f73", "\uff9e", "\uff76", "\u1100", "\u1161", "\u11a8",
     "\uac00", "\u3131", "\u314f", "\u0b47", "\u0b3e", "\ufdfa", "\u3300", "\ufb03", "\u2019", "\u2014", "\u00a0",
     "\u200b", "\u4e00", "\U0001F600", "\u00e9", "\u212b", "\u0300" * 3]), min_size=1, max_size=12).map("".join)


@given(_UNICODE, st.integers(min_value=2, max_value=900))
@settings(max_examples=150, deadline=None, derandomize=True)
def test_nfkc_a_piece_at_a_time_is_nfkc_of_the_whole(unit, times):
    import unicodedata

    from crisis_nlp.preprocess import text as t

    note = (unit * times)[:20000]
    note = t._MARK_RUN.sub(lambda m: m.group()[:t.MARKS_MAX], note)  # (cut before, in both)
    assert t._nfkc(note) == unicodedata.normalize("NFKC", note).translate(t._TRANSLATE)[:MAX_NORMALIZED]


def test_a_run_of_combining_marks_is_cut_to_the_stream_safe_limit():
    from crisis_nlp.preprocess.text import MARKS_MAX

    assert normalize_text("a" + "\u0301" * 5000 + " b") == "\u00e1" + "\u0301" * (MARKS_MAX - 1) + " b"
    assert normalize_text("caf\u0065\u0301 ok") == "caf\u00e9 ok"


@given(st.lists(st.sampled_from(["a", "b c", " ", "  ", "\n", "\r", "\r\n", "\t", "\u2028", "\x0b", "\u00a0", ";",
                                 "\x85", "\x1c"]), max_size=14).map("".join))
@settings(max_examples=500, deadline=None, derandomize=True)
def test_line_breaks_by_string_methods_are_the_regex(text):
    from crisis_nlp.preprocess import text as t

    if "\n" in text or "\r" in text:
        assert t.normalize_spacing(t._line_breaks(text)) == t.normalize_spacing(t._NEWLINES.sub(" ; ", text))


@given(st.text(alphabet="".join(__import__("crisis_nlp.preprocess.text", fromlist=["_PLAIN"])._PLAIN) + "ab '\"-\u00e9",
               max_size=20))
@settings(max_examples=300, deadline=None, derandomize=True)
def test_plain_characters_by_replace_are_the_translate_table(text):
    from crisis_nlp.preprocess import text as t

    assert t._plain(text) == text.translate(t._TRANSLATE)
