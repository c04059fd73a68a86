"""The classifier obeys scikit-learn's API and learns from examples."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import f1_score
from sklearn.model_selection import GridSearchCV, KFold

from crisis_nlp.errors import InputError, LabelError, NotFittedError
from crisis_nlp.training.evaluate import label_matrix
from crisis_nlp.model.estimator import DEFAULT_OUTPUTS, CrisisClassifier, tune_thresholds

FAST = dict(char_ngram_range=None, word_min_df=1)


@pytest.fixture(scope="module")
def xy(small_labelled):
    texts = [r["text"] for r in small_labelled]
    return texts, label_matrix(small_labelled, DEFAULT_OUTPUTS)


def test_init_only_stores_params_and_clone_works():
    clf = CrisisClassifier(C=2.0, thresholds={"suicidal": 0.3})
    assert clf.get_params()["C"] == 2.0
    twin = clone(clf)
    assert twin.get_params() == clf.get_params() and twin is not clf
    assert not hasattr(clf, "classifier_")


def test_fit_predict_shapes_and_learned_attributes(xy):
    X, Y = xy
    clf = CrisisClassifier(**FAST).fit(X[:800], Y[:800])
    assert clf.fit(X[:800], Y[:800]) is clf
    P = clf.predict_proba(X[800:])
    assert P.shape == (len(X) - 800, len(DEFAULT_OUTPUTS))
    assert ((P >= 0) & (P <= 1)).all()
    assert set(np.unique(clf.predict(X[800:]))) <= {0, 1}
    # far better than chance on unseen notes of the same generator: random labels drawn
    # at the training prevalence score a micro-F1 near 0.08 here, 800 notes of training ~0.5
    rng = np.random.default_rng(0)
    chance = f1_score(Y[800:], (rng.random(Y[800:].shape) < Y[:800].mean(0)).astype(int), average="micro")
    assert clf.score(X[800:], Y[800:]) > max(0.4, 3 * chance)


def test_unfitted_use_says_how_to_fix():
    with pytest.raises(NotFittedError, match="fit"):
        CrisisClassifier().predict_proba(["note"])


def test_grid_search_prefers_the_model_that_learns(xy):
    """GridSearchCV can clone, fit and score it: of a C so small that nothing is learned
    and a useful C, it must pick the useful one."""
    X, Y = xy
    # unweighted classes: a C that learns nothing predicts no label (f1 0), not every label.
    # Unweighted, 200 notes a fold learned nothing at C = 4 on the data of stop 20 either
    # (both 0.0, and a tie goes to the first); 400 a fold at C = 100: 0.0 against 0.19
    gs = GridSearchCV(CrisisClassifier(**{**FAST, "class_weight": None}), {"C": [1e-6, 100.0]}, cv=KFold(2),
                      scoring="f1_micro")
    gs.fit(X[:800], Y[:800])
    assert gs.best_params_["C"] == 100.0
    scores = gs.cv_results_["mean_test_score"]
    assert scores[1] > scores[0]


@pytest.mark.parametrize(
    "kwargs, Y_shape, err",
    [
        ({}, (3, 2), InputError),
        ({"thresholds": {"nope": 0.5}}, None, LabelError),
        ({"thresholds": {"suicidal": 1.5}}, None, InputError),
    ],
)
def test_bad_fit_input_is_rejected(kwargs, Y_shape, err):
    X = ["a note", "another note", "third"]
    Y = np.zeros(Y_shape or (3, len(DEFAULT_OUTPUTS)), dtype=int)
    with pytest.raises(err):
        CrisisClassifier(**kwargs).fit(X, Y)


def test_one_string_instead_of_a_list_is_an_error(xy):
    with pytest.raises(InputError, match="list"):
        CrisisClassifier(**FAST).fit("one note", np.zeros((1, len(DEFAULT_OUTPUTS))))


def test_tune_thresholds_favours_recall_on_high_risk_labels():
    rng = np.random.default_rng(0)
    y = rng.random(2000) < 0.3
    p = np.clip(y * 0.35 + rng.random(2000) * 0.65, 0, 1)
    Y = np.stack([y, y], axis=1)
    P = np.stack([p, p], axis=1)
    th = tune_thresholds(Y, P, ["suicidal", "grief_loss"])
    assert th["suicidal"] <= th["grief_loss"]
    rec = lambda t: ((p >= t) & y).sum() / y.sum()
    assert rec(th["suicidal"]) >= rec(th["grief_loss"])


def test_a_high_risk_tie_goes_to_the_lower_threshold():
    """``high_risk_tie`` (an option since stop 40, off by default): on a flat F2 curve a
    high-risk label takes the lowest threshold within the tie of the best, and never one
    further from the best than that."""
    rng = np.random.default_rng(2)
    y = rng.random(4000) < 0.3
    p = np.where(y, rng.uniform(0.1, 1.0, 4000), rng.uniform(0.0, 0.3, 4000))
    Y, P = y[:, None], p[:, None]
    plain = tune_thresholds(Y, P, ["suicidal"], high_risk_tie=0.0, resamples=0)["suicidal"]
    tied = tune_thresholds(Y, P, ["suicidal"], high_risk_tie=0.02, resamples=0)["suicidal"]
    assert tied < plain  # what the tie-break is for

    def f2(t):
        tp, fp = ((p >= t) & y).sum(), ((p >= t) & ~y).sum()
        prec, rec = tp / max(1, tp + fp), tp / y.sum()
        return 5 * prec * rec / (4 * prec + rec)

    assert f2(tied) >= f2(plain) - 0.02
    assert tune_thresholds(Y, P, ["grief_loss"], high_risk_tie=0.02)["grief_loss"] == \
        tune_thresholds(Y, P, ["grief_loss"], high_risk_tie=0.0)["grief_loss"]  # high-risk labels only


def test_low_risk_categories_share_one_threshold_high_risk_keep_their_own():
    """Two low-risk categories whose own best thresholds differ get one threshold, the
    best micro-F1 over both; a high-risk label with the same scores keeps its own (the
    plain argmax, ``resamples=0``, so that "best" can be checked exactly)."""
    rng = np.random.default_rng(1)
    y1, y2 = rng.random(3000) < 0.3, rng.random(3000) < 0.3
    p1 = np.where(y1, rng.uniform(0.4, 1.0, 3000), rng.uniform(0, 0.6, 3000))   # own best F1 near 0.6
    p2 = np.where(y2, rng.uniform(0.15, 0.55, 3000), rng.uniform(0, 0.3, 3000))  # own best F1 near 0.3
    Y = np.stack([y1, y2, y1], axis=1)
    P = np.stack([p1, p2, p1], axis=1)
    names = ["grief_loss", "veteran", "self_harm"]
    alone = {n: tune_thresholds(Y[:, [j]], P[:, [j]], [n], resamples=0)[n] for j, n in enumerate(names)}
    assert alone["grief_loss"] - alone["veteran"] >= 0.2
    th = tune_thresholds(Y, P, names, resamples=0)
    assert th["grief_loss"] == th["veteran"]
    assert th["grief_loss"] != alone["grief_loss"] or th["veteran"] != alone["veteran"]
    grid = np.round(np.arange(0.05, 0.91, 0.01), 2)

    def micro(t):
        pred = P[:, :2] >= t
        tp, fp, fn = (pred & Y[:, :2]).sum(), (pred & ~Y[:, :2]).sum(), (~pred & Y[:, :2]).sum()
        return 2 * tp / (2 * tp + fp + fn)
    assert micro(th["grief_loss"]) == max(micro(t) for t in grid)
    assert th["self_harm"] == alone["self_harm"]  # high-risk: its own F2 threshold
    assert tune_thresholds(Y, P, names, shared=(), resamples=0) == alone
    bagged = tune_thresholds(Y, P, names)  # the default: bagged, and still one shared threshold
    assert bagged["grief_loss"] == bagged["veteran"] and micro(bagged["grief_loss"]) >= max(micro(t) for t in grid) - 0.01


def _flat_f2_scores(seed: int = 0, n: int = 2000):
    """Scores whose F2 curve is flat near its best (positives spread evenly, negatives
    piled low with a long tail), as the synthetic suicidal and medical curves are."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.2
    p = np.where(y, rng.uniform(0.05, 0.9, n), rng.beta(1, 5, n))
    return y[:, None], p[:, None]


def _f2(y: np.ndarray, p: np.ndarray, t: float) -> float:
    tp, fp = ((p >= t) & y).sum(), ((p >= t) & ~y).sum()
    if tp == 0:
        return 0.0
    prec, rec = tp / (tp + fp), tp / y.sum()
    return 5 * prec * rec / (4 * prec + rec)


def test_bagged_thresholds_do_not_jump_when_a_few_scores_change():
    """Why thresholds are bagged (``THRESHOLD_RESAMPLES``): on a flat F2 curve, rescoring 1%
    of the notes moves the plain argmax by a large step in one of eight tries; the mean over
    bootstrap resamples moves by at most 0.02 in every try, and stays near the best F2."""
    Y, P = _flat_f2_scores()
    plain0 = tune_thresholds(Y, P, ["suicidal"], resamples=0)["suicidal"]
    bagged0 = tune_thresholds(Y, P, ["suicidal"])["suicidal"]
    plain_moves, bagged_moves = [], []
    for k in range(8):
        rng = np.random.default_rng(100 + k)
        Q = P.copy()
        Q[rng.choice(len(P), 20, replace=False), 0] = rng.random(20)
        plain_moves.append(abs(tune_thresholds(Y, Q, ["suicidal"], resamples=0)["suicidal"] - plain0))
        bagged_moves.append(abs(tune_thresholds(Y, Q, ["suicidal"])["suicidal"] - bagged0))
    assert max(plain_moves) >= 0.05  # what bagging is for
    assert max(bagged_moves) <= 0.02
    y, p = Y[:, 0], P[:, 0]
    best = max(_f2(y, p, t) for t in np.round(np.arange(0.05, 0.91, 0.01), 2))
    assert _f2(y, p, bagged0) >= best - 0.01


def test_bagged_thresholds_are_reproducible_and_checked():
    Y, P = _flat_f2_scores(seed=3)
    Y2, P2 = np.hstack([Y, Y]), np.hstack([P, P])
    assert tune_thresholds(Y2, P2, ["suicidal", "grief_loss"]) == tune_thresholds(Y2, P2, ["suicidal", "grief_loss"])
    with pytest.raises(InputError, match="grid"):
        tune_thresholds(Y, P, ["suicidal"], grid=np.array([0.5, 0.3]))
    with pytest.raises(InputError, match="one column per output"):
        tune_thresholds(Y2, P2, ["suicidal"])


def test_negation_is_understood_not_memorised(xy):
    """A model trained on notes where negation cues never precede a weapon word still
    does not flag "denies having a <weapon>": negation is decided by rule."""
    X, Y = xy
    j = DEFAULT_OUTPUTS.index("weapon")
    keep = [i for i, t in enumerate(X) if not any(n in t.lower() for n in ("no ", "denies", "not ", "w/o", "without", "negative", "none", "n't"))]
    clf = CrisisClassifier(**FAST).fit([X[i] for i in keep], Y[keep])
    words = ["handgun", "pistol", "rifle", "knife", "shotgun", "machete"]
    pos = clf.predict_proba([f"subj has a {w} with him" for w in words])[:, j]
    neg = clf.predict_proba([f"subj denies having a {w} with him" for w in words])[:, j]
    assert (neg < pos).all()


def test_arrays_round_trip_through_files_without_pickle(xy, tmp_path):
    """A fitted classifier written as a version's arrays and read back scores the same
    notes the same way, and the files hold no pickle."""
    from crisis_nlp.model.artifact import ModelArrays
    from crisis_nlp.preprocess import note_features
    from crisis_nlp.model.scorer import LinearScorer

    X, Y = xy
    clf = CrisisClassifier(n_jobs=1).fit(X, Y)
    ModelArrays.from_classifier(clf).write(tmp_path)
    back = ModelArrays.read(tmp_path)
    with np.load(tmp_path / "weights.npz", allow_pickle=False) as z:
        assert all(z[k].dtype != object for k in z.files)
    scorer = LinearScorer(back)
    feats = note_features(X[:50])
    assert np.allclose(scorer.proba_matrix(scorer.matrix(feats)), clf.predict_proba(X[:50]), rtol=0, atol=1e-5)


def test_type_rows_grow_without_changing_a_batch_view():
    """The word-type rows are one CSR matrix that grows in place: a view taken for a batch
    stays as it was while later types are appended and the buffers are reallocated."""
    import numpy as np

    from crisis_nlp.model.scorer import _TypeRows

    rows = _TypeRows(n_word=3, n_cols=10, n_types=2)
    assert rows.matrix().toarray().tolist() == np.eye(3, 10).tolist()  # unit rows of the word columns
    rows.set_row(1, np.array([4, 7]), np.array([1.0, 2.0]))  # a base type, made on first sight
    view = rows.matrix()
    before = view.toarray().copy()
    new = [rows.new_type(np.array([t % 10]), np.array([float(t)])) for t in range(2000)]
    assert new == list(range(2, 2002))
    assert (view.toarray() == before).all()
    full = rows.matrix()
    assert full.shape == (3 + 1 + 2000, 10)
    assert rows.crow[1] == 3 and full[rows.crow[1]].toarray().tolist() == [[0, 0, 0, 0, 1, 0, 0, 2, 0, 0]]
    assert rows.crow[0] == -1  # not seen yet
    assert full[rows.crow[1999]].toarray()[0, 1997 % 10] == 1997.0


@pytest.mark.parametrize("concept_features,word_norm,length_cap,concept_value,concept_pairs,concept_cap",
                         [("binary", "l1", None, 1.0, True, None), ("binary", "l2", 12, 3.0, True, None),
                          ("binary", "l2", 12, 3.0, False, None), ("tfidf", "l1", None, 1.0, True, None),
                          ("tfidf", "l2", 8, 1.0, False, None), ("binary", "l2", 12, 3.0, False, 2)])
def test_scorer_matches_the_estimator_for_every_feature_setting(xy, tmp_path, concept_features, word_norm,
                                                                 length_cap, concept_value, concept_pairs,
                                                                 concept_cap):
    """The inference scorer (single note and batch) does the featurizer's arithmetic for
    each way of normalising, after a round trip through the version's files."""
    from crisis_nlp.model.artifact import ModelArrays
    from crisis_nlp.model.scorer import LinearScorer
    from crisis_nlp.preprocess import note_features

    X, Y = xy
    clf = CrisisClassifier(concept_features=concept_features, word_norm=word_norm, length_cap=length_cap,
                           concept_value=concept_value, concept_pairs=concept_pairs, concept_cap=concept_cap,
                           **FAST).fit(X[:600], Y[:600])
    ModelArrays.from_classifier(clf).write(tmp_path)
    scorer = LinearScorer(ModelArrays.read(tmp_path))
    feats = note_features(X[600:700])
    want = clf.predict_proba(X[600:700])
    single = np.array([scorer.proba(*scorer.vector(f)) for f in feats])
    assert np.abs(single - want).max() < 1e-5
    assert np.abs(scorer.proba_matrix(scorer.matrix(feats)) - want).max() < 1e-5


def test_binary_concepts_and_l1_words_do_not_grow_or_shrink_with_length(xy):
    """With concepts counted 0/1 and the word channel L1-normalised, a note repeated ten
    times, or followed by ten lines of ordinary words, keeps its concept values at 1 and
    its word channel summing to 1: neither dilution nor pile-up."""
    from crisis_nlp.model.artifact import is_concept_term
    from crisis_nlp.preprocess import note_features

    X, Y = xy
    clf = CrisisClassifier(concept_features="binary", word_norm="l1", **FAST).fit(X[:600], Y[:600])
    terms = clf.featurizer_.word_feature_names()
    concept = is_concept_term(terms)
    note = "pt states he wants to kill himself, has a gun in the car"
    filler = " ".join(["rp advises the neighbors car alarm has been going off all day"] * 10)
    rows = clf.transform_features(note_features([note, " ".join([note] * 10), note + " " + filler])).toarray()
    for row in rows:
        assert set(np.unique(row[concept])) <= {0.0, 1.0} and row[concept].sum() >= 2
        assert row[~concept].sum() == pytest.approx(1.0, abs=1e-5)
    assert (rows[1][concept] == rows[0][concept]).all()  # repeated: the same concepts, each 1
    assert (rows[2][concept] >= rows[0][concept]).all()  # the filler adds its own, takes none away


def test_a_length_cap_bounds_what_many_words_add_up_to(xy):
    """With ``length_cap`` M, a note of m > M distinct word features has a word channel of
    L2 length sqrt(M / m): its words' total evidence cannot grow past M terms' worth."""
    from crisis_nlp.model.artifact import is_concept_term
    from crisis_nlp.preprocess import note_features

    X, Y = xy
    clf = CrisisClassifier(concept_features="binary", length_cap=10, **FAST).fit(X[:600], Y[:600])
    concept = is_concept_term(clf.featurizer_.word_feature_names())
    short, long_ = X[0], " ".join(X[:40])
    for text in (short, long_):
        row = clf.transform_features(note_features([text])).toarray()[0]
        words = row[~concept]
        m = int((words > 0).sum())
        assert float(np.sqrt(words @ words)) == pytest.approx(np.sqrt(min(1.0, 10 / m)), rel=1e-4)


def test_a_concept_cap_bounds_what_many_concepts_add_up_to(xy):
    """With ``concept_cap`` K, a note of k > K concepts has each at concept_value * K / k:
    the channel's total stays at K concepts' worth; a note of at most K keeps full values."""
    from crisis_nlp.model.artifact import is_concept_term
    from crisis_nlp.preprocess import note_features

    X, Y = xy
    clf = CrisisClassifier(concept_features="binary", concept_value=3.0, concept_cap=4, **FAST).fit(X[:600], Y[:600])
    concept = is_concept_term(clf.featurizer_.word_feature_names())
    rows = clf.transform_features(note_features(X[:300] + [" ".join(X[:40])])).toarray()[:, concept]
    k = (rows > 0).sum(axis=1)
    assert k.max() > 4 and (k <= 4).any()
    for row, n in zip(rows, k):
        if n:
            assert np.allclose(row[row > 0], 3.0 * min(1.0, 4 / n), rtol=1e-5)
            assert row.sum() == pytest.approx(3.0 * min(n, 4), rel=1e-5)
    with pytest.raises(InputError, match="concept_cap"):
        CrisisClassifier(concept_features="tfidf", concept_cap=4, **FAST).fit(X[:100], Y[:100])


def test_unknown_feature_settings_are_refused(xy):
    from crisis_nlp.model.artifact import ModelArrays
    from crisis_nlp.model.scorer import LinearScorer
    from crisis_nlp.errors import IncompatibleModelError
    import dataclasses

    X, Y = xy
    with pytest.raises(InputError, match="word_norm"):
        CrisisClassifier(word_norm="max", **FAST).fit(X[:100], Y[:100])
    arrays = ModelArrays.from_classifier(CrisisClassifier(**FAST).fit(X[:200], Y[:200]))
    with pytest.raises(IncompatibleModelError, match="upgrade"):
        LinearScorer(dataclasses.replace(arrays, settings={"word_norm": "l3"}))
    with pytest.raises(IncompatibleModelError, match="upgrade"):  # a setting of a newer crisis_nlp
        LinearScorer(dataclasses.replace(arrays, settings={**arrays.settings, "concept_halo": 2}))


def test_words_outside_the_vocabulary_share_one_empty_row(model):
    """The bulk scorer makes a row per word type; a word that adds nothing (outside the
    vocabulary, no character n-grams) gets the one shared empty row, so a note of
    thousands of never-seen words costs no rows (it cost about 10 µs a word)."""
    scorer = model._scorer
    before = scorer._types.current()[1].n_rows
    X = scorer.matrix([" ".join(f"zzq{i}xv" for i in range(500))])
    assert X.nnz == 0
    assert scorer._types.current()[1].n_rows <= before + 1


def test_a_present_concept_takes_the_concept_value(xy):
    """``concept_value`` is what a present concept column holds (the parity test alone
    would pass if estimator and scorer both ignored it); out-of-range values are refused."""
    from crisis_nlp.model.artifact import is_concept_term
    from crisis_nlp.preprocess import note_features

    X, Y = xy
    clf = CrisisClassifier(concept_features="binary", concept_value=3.0, **FAST).fit(X[:600], Y[:600])
    concept = is_concept_term(clf.featurizer_.word_feature_names())
    row = clf.transform_features(note_features(["pt states he wants to kill himself, has a gun"])).toarray()[0]
    assert set(np.unique(row[concept])) == {0.0, 3.0}
    with pytest.raises(InputError, match="concept_value"):
        CrisisClassifier(concept_features="binary", concept_value=0, **FAST).fit(X[:100], Y[:100])


def test_without_concept_pairs_no_word_pair_holds_a_concept(xy):
    """``concept_pairs=False``: the appended concept tokens make no word pairs ("C_PUBLIC
    C_PUBLIC", "home C_SUICIDE"), while pairs of words and the concepts themselves stay."""
    X, Y = xy
    names = {p: CrisisClassifier(concept_features="binary", concept_pairs=p, **FAST).fit(X[:600], Y[:600])
             .featurizer_.word_feature_names() for p in (True, False)}
    def pairs_with_concepts(terms):
        return [t for t in terms if " " in t and any(w[:1].isupper() for w in t.split())]
    assert pairs_with_concepts(names[True]) and not pairs_with_concepts(names[False])
    assert {t for t in names[False] if " " in t} and {"C_SUICIDE", "C_WEAPON"} <= set(names[False])


def test_label_consistency_keeps_words_that_predict_a_label_in_many_families():
    """A word that predicts a label in one template family only carries no weight for it;
    one that predicts it across banks and styles does; concept tokens always may."""
    from crisis_nlp.model.features import label_consistent_mask

    rng = np.random.default_rng(0)
    notes, fams, y = [], [], []
    for style in ("s1", "s2", "s3", "s4"):
        for bank in ("b1", "b2", "b3", "b4"):
            for i in range(40):
                pos = i % 2 == 0
                words = ["filler", "note"]
                if pos:
                    words.append("voices")  # everywhere: real evidence
                    words.append("C_PSYCHOSIS")
                    if bank == "b1":
                        words.append("attic")  # one bank's template word
                elif rng.random() < 0.2:
                    words.append("attic")
                notes.append(" ".join(words))
                fams.append(f"{style}|{bank}")
                y.append(int(pos))
    Y = np.array(y)[:, None]
    clf = CrisisClassifier(outputs=("psychosis",), char_ngram_range=None, word_ngram_range=(1, 1),
                           concept_features="binary", label_consistency=3)
    clf.fit_features(notes, Y, families=fams)
    names = list(clf.featurizer_.word_feature_names())
    coef = clf.classifier_.coef_[0]
    assert coef[names.index("voices")] > 0
    assert coef[names.index("attic")] == 0  # masked: it predicts the label in one bank only
    assert coef[names.index("C_PSYCHOSIS")] != 0
    mask = label_consistent_mask(clf.featurizer_.transform(notes), Y, fams, 3)
    assert mask.shape == (1, len(names)) and not mask[0, names.index("attic")]
    with pytest.raises(InputError, match="families"):
        clone(clf).fit_features(notes, Y)


def test_the_vocabulary_cut_breaks_ties_by_the_term_not_by_the_cpu():
    """The max_features cut keeps the most frequent terms and, among equally frequent ones,
    the first in term order, whatever order the notes come in. scikit-learn's own cut
    breaks ties with numpy's unstable, CPU-dependent argsort: at stop 32 the same notes
    gave 2.13.0 a different vocabulary on a machine without AVX-512."""
    from crisis_nlp.model.features import NoteFeaturizer

    rng = np.random.default_rng(0)
    frequency = {f"t{i:03d}": int(n) for i, n in enumerate(rng.integers(1, 4, size=300))}
    notes = [term for term, n in frequency.items() for _ in range(n)]
    limit = sum(n == 3 for n in frequency.values()) + 17  # the cut falls inside the ties at 2
    expected = sorted(sorted(frequency, key=lambda t: (-frequency[t], t))[:limit])
    featurizer = NoteFeaturizer(max_word_features=limit, word_min_df=1, word_ngram_range=(1, 1), min_groups=1)
    for order in (notes, notes[::-1], rng.permutation(notes).tolist()):
        assert featurizer.fit(order).word_vectorizer_.get_feature_names_out().tolist() == expected


def test_rare_modified_concepts_are_dropped_plain_concepts_and_words_kept():
    """modifier_min_df: a concept with a context modifier seen in too few notes (here
    OTHER_C_BENZO in 2) leaves the vocabulary; the same concept affirmed (C_BENZO, also in
    2), a frequent modified concept and the words stay."""
    from crisis_nlp.model.features import NoteFeaturizer

    notes = (["took moms xanax OTHER_C_BENZO C_BENZO"] * 2 + ["xanax C_BENZO"] * 3
             + ["denies si NEG_C_SUICIDE"] * 5 + ["stolen bike"] * 5)
    kept = lambda **kw: set(NoteFeaturizer(word_min_df=1, word_ngram_range=(1, 1), **kw)
                            .fit(notes).word_vectorizer_.get_feature_names_out())
    assert "OTHER_C_BENZO" in kept()
    dropped = kept(modifier_min_df=3)
    assert "OTHER_C_BENZO" not in dropped
    assert {"C_BENZO", "NEG_C_SUICIDE", "moms", "took", "bike"} <= dropped
    with pytest.raises(InputError, match="modifier_min_df"):
        NoteFeaturizer(modifier_min_df=0).fit(notes)


def test_rule_only_concepts_keep_their_column_and_get_no_weight(xy):
    """A concept that only the knowledge rules read (since 2.21.0: IN_PERSON) stays in the
    vocabulary, so a ceiling can find it, and the learner gives it no weight."""
    X, Y = xy
    X = [t + (", req mct" if i % 3 == 0 else "") for i, t in enumerate(X[:600])]
    coefs = {}
    for rule_only in ((), ("IN_PERSON",)):
        clf = CrisisClassifier(**FAST, rule_only_concepts=rule_only).fit(X, Y[:600])
        names = list(clf.featurizer_.word_feature_names())
        coefs[rule_only] = clf.classifier_.coef_[:, names.index("C_IN_PERSON")]
    assert np.abs(coefs[()]).max() > 0  # learned when allowed: the test can fail
    assert np.abs(coefs[("IN_PERSON",)]).max() == 0
