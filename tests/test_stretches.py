"""A long note is read whole and in stretches; its scores are the lower of the two
(crisis_nlp/model/stretches.py): evidence must be local, not piled up with length."""

import dataclasses

import numpy as np
import pytest

from crisis_nlp.api import CrisisModel
from crisis_nlp.errors import InputError
from crisis_nlp.model.stretches import DEFAULT_WINDOW_TOKENS, check_window_tokens, local_scores
from crisis_nlp.preprocess.pipeline import doc_features, doc_features_and_windows, doc_windows, process

ORDINARY = ("RP advises the neighbor's car alarm has been going off for an hour, no one around, "
            "requests a unit to check the lot. ")


def test_local_scores_caps_long_notes_by_their_best_stretch_only():
    P = np.array([[0.9, 0.2], [0.8, 0.1], [0.3, 0.7]])
    P_windows = np.array([[0.5, 0.4], [0.6, 0.05], [0.1, 0.9]])  # note 0: two stretches, note 2: one
    out = local_scores(P, P_windows, [2, 0, 1])
    assert np.allclose(out, [[0.6, 0.2], [0.8, 0.1], [0.1, 0.7]])  # never above the whole note's score
    assert local_scores(P, np.empty((0, 2)), [0, 0, 0]) is P


def test_a_short_note_has_no_stretches():
    doc = process("pt took 30 of her xanax pills, denies SI")
    assert doc_windows(doc, 64) == [] and doc_windows(doc, None) == []


def test_stretches_cover_a_long_note_half_overlapping_with_their_own_concepts():
    # plain words only (no shorthand, digits or clitics), so that a token is one feature word
    plain_words = "the car alarm next door has been going off all morning and nobody is around to turn it off. "
    note = "he denies thoughts of suicide. " + plain_words * 6 + "she swallowed a whole bottle of pills."
    doc = process(note)
    words = [w for w in doc_features(doc).split() if not w[:1].isupper()]
    size = 16
    windows = doc_windows(doc, size)
    n = len(words)
    assert len(windows) == len(range(0, n - size, size // 2)) + 1
    plain = [[w for w in s.split() if not w[:1].isupper()] for s in windows]
    assert all(len(p) == size for p in plain)
    assert plain[0] == words[:size] and plain[-1] == words[-size:]  # the first and last stretches end the note
    assert plain[1] == words[size // 2:size // 2 + size]
    # a concept is in the stretches that hold its words, read in the whole note's context
    assert "NEG_C_SUICIDE" in windows[0].split() and "C_SUICIDE" not in " ".join(windows).split()
    assert "NEG_C_SUICIDE" not in windows[-1].split()
    overdose = [i for i, s in enumerate(windows) if "C_INGESTION" in s.split()]
    assert overdose and overdose[-1] == len(windows) - 1 and 0 not in overdose


def test_window_tokens_must_be_a_sensible_integer():
    assert check_window_tokens(None) is None and check_window_tokens(64) == 64
    for bad in (0, 7, "64", 64.0, True):
        with pytest.raises(InputError, match="window_tokens"):
            check_window_tokens(bad)


@pytest.fixture(scope="module")
def whole_only(model):
    """The shipped model with the same weights, reading every note only whole."""
    settings = {k: v for k, v in model.arrays.settings.items() if k != "window_tokens"}
    return CrisisModel(dataclasses.replace(model.arrays, settings=settings), model.policy, model.version,
                       path=model.path)


def test_the_shipped_model_reads_long_notes_in_stretches(model):
    assert model.arrays.settings.get("window_tokens") == DEFAULT_WINDOW_TOKENS


def test_short_notes_score_as_before_and_long_ones_never_higher(model, whole_only, gold):
    texts = [g["text"] for g in gold]
    short = [t for t in texts if not doc_windows(process(t), DEFAULT_WINDOW_TOKENS)]
    assert 0 < len(short) < len(texts)
    assert np.array_equal(model.proba_all(short), whole_only.proba_all(short))
    pages = ["\n".join(texts[i:i + 4]) for i in range(0, 200, 4)]
    capped, whole = model.proba_all(pages), whole_only.proba_all(pages)
    # never higher (the knowledge rules that follow are monotone), and lower on some pages
    assert (capped <= whole + 1e-12).all() and (capped < whole - 1e-6).any()


def test_single_and_bulk_paths_read_stretches_alike(model, gold):
    pages = ["\n".join(g["text"] for g in gold[i:i + 5]) for i in range(0, 100, 5)]
    bulk = model.classify_batch(pages, explain=False)
    for page, b in zip(pages, bulk):
        one = model.classify(page)
        assert (one.categories, one.flags, one.response_mode) == (b.categories, b.flags, b.response_mode)
        assert max(abs(one.scores[k] - b.scores[k]) for k in one.scores) < 1e-4  # rounded to 4 places


def test_a_crisis_in_one_stretch_of_a_long_page_is_still_found(model):
    page = ORDINARY * 8 + "2241 upd: RP now says her son is on the roof saying he wants to kill himself. " + ORDINARY * 4
    assert doc_windows(process(page), DEFAULT_WINDOW_TOKENS)
    assert "suicidal" in model.classify(page).categories


def test_tokens_without_words_do_not_move_the_stretches():
    """Stretches count tokens that make a feature word, so an appended time stamp or a unit
    number (no word) leaves them as they were (a behaviour check appends both)."""
    note = "he denies thoughts of suicide. " + ORDINARY * 5
    assert doc_windows(process(note), 24) == doc_windows(process(note + " [23:14] E12 1412"), 24)


def test_features_and_stretches_read_together_are_those_read_apart():
    """The single-note path reads a doc's words once for both (doc_features_and_windows)."""
    for note in ("pt took 30 of her xanax pills", "he denies thoughts of suicide. " + ORDINARY * 5):
        doc = process(note)
        for size in (None, 16, 64):
            assert doc_features_and_windows(doc, size) == (doc_features(doc), doc_windows(doc, size))
