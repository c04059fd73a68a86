"""Training: fit the classifier, tune thresholds on held-out families, evaluate honestly,
write a registry version.

Generalisation to unseen writing is what matters, so nothing is scored on notes whose
style or phrase bank the scoring model saw. Four cross-fitted folds each hold out one
phrase bank *and* a group of styles (training drops every note that shares either);
thresholds are tuned on the out-of-family predictions of folds 0-1 and the held-out
metrics are measured on folds 2-3 with those thresholds. The shipped model is then fitted
on all the data with thresholds tuned on all out-of-family predictions. The gold set is
only ever scored, never tuned on.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, ModelError
from .evaluate import compute_metrics, label_matrix
from .labelled import load_labelled
from ..labels import CUES, LABELS, SCHEMA_VERSION
from ..model.artifact import CALIBRATION_GRID, ModelArrays, expected_calibration_error, platt_calibration
from ..model.estimator import DEFAULT_OUTPUTS, THRESHOLD_RESAMPLES, CrisisClassifier, tune_thresholds
from ..model.knowledge import (DEFAULT_CEILINGS, DEFAULT_COMPANIONS, DEFAULT_FALLBACKS, DEFAULT_FLOOR_SHARES,
                               DEFAULT_FLOORS, apply_to_features, check_ceilings, check_companions, check_fallbacks,
                               check_floor_shares, check_floors, with_rules)
from ..preprocess.tables import fallback_uncounted
from ..model.policy import ResponsePolicy, split_outputs
from ..preprocess.pipeline import note_features_and_windows
from ..model.stretches import DEFAULT_WINDOW_TOKENS, check_window_tokens, fold_scores, with_window
from ..registry.versions import ModelEntry, save_version, sha256_file
from ..resources import read_text, rule_files

N_FOLDS = 4
DEFAULT_PARAMS: dict[str, Any] = {"C": 4.0, "char_ngram_range": None, "min_groups": 3, "concept_features": "binary",
                                  "word_norm": "l2", "length_cap": 64, "concept_value": 3,
                                  "concept_pairs": False,
                                  # read by the knowledge rules only (model/knowledge.py): IN_PERSON by a
                                  # ceiling since 2.21.0, INTOXICATED by a companion and PUBLIC_RISK by
                                  # a floor since 2.22.0, SELF_INJURY by a companion since 2.23.0
                                  "rule_only_concepts": ("IN_PERSON", "INTOXICATED", "PUBLIC_RISK", "SELF_INJURY")}  # the shipped recipe


def _noop(msg: str) -> None:
    pass


def decide(P: np.ndarray, thresholds: dict[str, float], outputs: Sequence[str],
           policy: ResponsePolicy) -> list[dict[str, Any]]:
    """Probabilities -> predicted records (categories, flags, cues, response mode)."""
    t = np.array([thresholds.get(o, 0.5) for o in outputs])
    out = []
    for row in (P >= t).tolist():
        cats, flags, cues = split_outputs(row, outputs)
        out.append({"categories": list(cats), "flags": list(flags), "cues": list(cues),
                    "response_mode": policy.decide(cats, flags, cues).mode})
    return out


def label_thresholds(Y: np.ndarray, P: np.ndarray, outputs: Sequence[str]) -> dict[str, float]:
    """Tuned thresholds for labels; cues stay at 0.5.

    Cue wording ("caller states she...") is the most generator-specific part of the
    synthetic notes, so cue thresholds tuned on it are over-confident (caller_is_person
    went to 0.84 and missed half the hand-written self-calls); 0.5 is the neutral choice.
    Only the label columns are tuned (the bootstrap weights are drawn per note, so the
    labels' thresholds do not depend on which columns are tuned beside them).
    """
    labels = [j for j, o in enumerate(outputs) if o not in CUES]
    tuned = tune_thresholds(Y[:, labels], P[:, labels], [outputs[j] for j in labels])
    return {o: tuned.get(o, 0.5) for o in outputs}


PARITY_TOLERANCE = 1e-5  # the estimator computes in float32, the scorer in float64


def scorer_parity(clf: CrisisClassifier, arrays: ModelArrays, features: Sequence[str]) -> float:
    """Largest difference between the estimator's probabilities and the inference scorer's
    (single-note and bulk paths) on ``features``; raises if over :data:`PARITY_TOLERANCE`,
    so a version whose stored arrays would score differently is never written."""
    from ..model.scorer import LinearScorer

    sk = clf.predict_proba_matrix(clf.transform_features(features))
    scorer = LinearScorer(arrays)
    single = np.array([scorer.proba(*scorer.vector(f)) for f in features])
    bulk = scorer.proba_matrix(scorer.matrix(features))
    worst = float(max(np.abs(sk - single).max(), np.abs(sk - bulk).max())) if len(features) else 0.0
    if worst > PARITY_TOLERANCE:
        raise ModelError(f"the stored model scores {worst:.2e} away from the fitted estimator; not written.")
    return worst


def _as_paths(gold_path) -> list:
    if gold_path is None:
        return []
    return [gold_path] if isinstance(gold_path, (str, Path)) else list(gold_path)


def calibration_table(Y: np.ndarray, P: np.ndarray, outputs: Sequence[str]) -> np.ndarray:
    """Platt calibration of every label on out-of-family predictions; the policy's cues
    keep their raw scores (identity rows), since cue wording is the most
    generator-specific part of the notes and their 0.5 threshold is kept neutral."""
    table = platt_calibration(Y, P)
    for j, o in enumerate(outputs):
        if o in CUES:
            table[j] = CALIBRATION_GRID
    return table


def apply_calibration(P: np.ndarray, table: np.ndarray) -> np.ndarray:
    out = np.empty_like(P)
    for j in range(P.shape[1]):
        out[:, j] = np.interp(P[:, j], CALIBRATION_GRID, table[j])
    return out


def calibration_errors(Y: np.ndarray, P: np.ndarray, outputs: Sequence[str]) -> dict[str, float]:
    """Expected calibration error (10 bins) of each label's scores."""
    return {o: round(expected_calibration_error(Y[:, j], P[:, j]), 4)
            for j, o in enumerate(outputs) if o not in CUES}


def score_gold(model: Any, path: str | Path) -> dict[str, Any]:
    """Metrics of ``model`` on a hand-labelled set, with each label's calibration error."""
    gold = load_labelled(path)
    texts = [g["text"] for g in gold]
    results = model.classify_batch(texts)
    metrics = compute_metrics(gold, [r.to_dict() for r in results])
    Y = label_matrix(gold, LABELS)
    P = np.array([[r.scores[x] for x in LABELS] for r in results]) if results else np.empty((0, len(LABELS)))
    metrics["calibration_error"] = calibration_errors(Y, P, LABELS)
    return metrics


def _fairness_baseline(registry: str | Path | None) -> dict[str, Any]:
    """The current default, to report its fairness figures beside the new version's (none
    when it cannot be loaded or cannot read a note, e.g. it was trained on an older label
    schema, or its rule tables need a newer crisis_nlp: found at stop 33, when such a
    default stopped a finished training at this step)."""
    from ..api import load_model
    from ..errors import CrisisNLPError

    try:
        base = load_model(registry=registry if registry is None or Path(registry).is_dir() else None)
        base.classify("baseline check")  # builds its pipeline from its rule tables now
    except CrisisNLPError:
        return {}
    return {"baseline": base, "baseline_spec": f"default@{base.version}" if "@" not in base.version else base.version}


def stored_params(clf: CrisisClassifier) -> dict[str, Any]:
    """The classifier's hyper-parameters as the manifest records them (JSON-friendly)."""
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in clf.get_params().items()
            if k not in ("thresholds", "outputs", "n_jobs")}


def family_folds(records: Sequence[dict[str, Any]], seed: int, n_folds: int = N_FOLDS):
    """Yield (fold, train_idx, test_idx, (bank, styles)): test = one bank x one style group,
    train = neither.

    A bank written in one style only (the everyday narratives: one writer, one kind of
    post) cannot be crossed with a style group; fold k instead holds out the k-th such
    bank whole (test gets its notes, train none of them)."""
    st = np.array([r.get("style", "") for r in records])
    bk = np.array([r.get("bank", "") for r in records])
    styles_of: dict[str, set[str]] = {}
    for s_, b_ in zip(st.tolist(), bk.tolist()):
        styles_of.setdefault(b_, set()).add(s_)
    solo = sorted(b_ for b_, ss in styles_of.items() if len(ss) == 1 and len(styles_of) > 1)
    solo_styles = set().union(*(styles_of[b_] for b_ in solo)) if solo else set()
    styles = sorted(set(st.tolist()) - solo_styles)
    banks = sorted(set(styles_of) - set(solo))
    if len(styles) < n_folds or len(banks) < n_folds:
        raise InputError(
            f"family hold-out needs at least {n_folds} styles and {n_folds} banks; the data has "
            f"{len(styles)} and {len(banks)}. Records need 'style' and 'bank' fields."
        )
    rng = random.Random(seed)
    rng.shuffle(styles)
    rng.shuffle(banks)
    groups = [set(styles[k::n_folds]) for k in range(n_folds)]
    for k in range(n_folds):
        in_style = np.isin(st, list(groups[k]))
        in_bank = bk == banks[k]
        train, test = ~in_style & ~in_bank, in_style & in_bank
        held = [banks[k]]
        if k < len(solo):
            whole = bk == solo[k]
            train, test = train & ~whole, test | whole
            held.append(solo[k])
        yield k, np.flatnonzero(train), np.flatnonzero(test), (" + ".join(held), sorted(groups[k]))


def train(
    data_path: str | Path,
    *,
    version: str,
    name: str = "default",
    registry: str | Path | None = None,
    gold_path: str | Path | None = None,
    seed: int = 0,
    params: dict[str, Any] | None = None,
    n_jobs: int | None = 2,
    rules_dir: str | Path | None = None,
    label_floors: dict[str, Sequence[str]] | None = DEFAULT_FLOORS,
    label_ceilings: dict[str, dict[str, Sequence[str]]] | None = DEFAULT_CEILINGS,
    label_floor_shares: dict[str, float] | None = DEFAULT_FLOOR_SHARES,
    label_fallbacks: dict[str, dict[str, Any]] | None = DEFAULT_FALLBACKS,
    label_companions: dict[str, Sequence[str]] | None = DEFAULT_COMPANIONS,
    window_tokens: int | None = DEFAULT_WINDOW_TOKENS,
    progress: Callable[[str], None] = _noop,
) -> ModelEntry:
    """Train on a labelled file with style/bank families and write ``name@version``.

    ``rules_dir``: the preprocessing tables to train with (default the package's); they
    are snapshotted into the version, which reads them from there ever after.
    ``label_floors``: label -> affirmed concept tokens that set it whatever the score;
    ``label_ceilings``: label -> ``{"when": tokens, "unless": tokens}`` that turn it off
    (see :mod:`crisis_nlp.model.knowledge`); ``label_floor_shares``: label -> the share of
    its threshold the learned score must reach for its floor to hold; ``label_fallbacks``:
    label -> ``{"when": tokens, "max_words": n}`` that set it on a bare page with no
    category on; ``label_companions``: category -> affirmed concept tokens that set it when
    another category is on; ``None`` for none.
    ``window_tokens``: a note longer than this is also read in stretches of this many
    tokens (:mod:`crisis_nlp.model.stretches`); ``None``: every note read only whole."""
    t_start = time.perf_counter()
    params = {**DEFAULT_PARAMS, **(params or {})}
    floors = check_floors(label_floors or {}, DEFAULT_OUTPUTS)
    ceilings = check_ceilings(label_ceilings or {}, DEFAULT_OUTPUTS)
    shares = check_floor_shares(label_floor_shares or {}, floors)  # a share names a floored label
    fallbacks = check_fallbacks(label_fallbacks or {}, DEFAULT_OUTPUTS)
    companions = check_companions(label_companions or {}, DEFAULT_OUTPUTS)
    knowledge = {"label_floors": floors, "label_ceilings": ceilings, "label_floor_shares": shares,
                 "label_fallbacks": fallbacks, "label_companions": companions}
    check_window_tokens(window_tokens)
    progress(f"reading {data_path}")
    records = load_labelled(data_path)
    texts = [r["text"] for r in records]
    outputs = DEFAULT_OUTPUTS
    Y = label_matrix(records, outputs)
    progress(f"preprocessing {len(texts):,} notes")
    t0 = time.perf_counter()
    feats, windows = note_features_and_windows(texts, str(rules_dir) if rules_dir is not None else None,
                                               window_tokens)
    t_pre = time.perf_counter() - t0
    policy_toml = read_text("policy_default.toml")
    policy = ResponsePolicy.from_toml(policy_toml)

    banks = np.array([r.get("bank", "") for r in records])
    families = np.array([f'{r.get("style", "")}|{r.get("bank", "")}' for r in records])
    oof = np.full(Y.shape, np.nan)  # each note read whole: calibration and thresholds come from these
    oof_local = np.full(Y.shape, np.nan)  # and as inference reads it (whole and in stretches): the report
    fold_info = []
    fold_of = np.full(len(records), -1)
    for k, tr, te, (bank, styles) in family_folds(records, seed):
        progress(f"fold {k + 1}/{N_FOLDS}: hold out bank {bank} x styles {', '.join(styles)} "
                 f"({len(te):,} test, {len(tr):,} train)")
        clf = CrisisClassifier(outputs=outputs, n_jobs=n_jobs, **params)
        clf.fit_features([feats[i] for i in tr], Y[tr], groups=banks[tr], families=families[tr])
        oof[te], oof_local[te] = fold_scores(clf, [feats[i] for i in te], [windows[i] for i in te])
        fold_of[te] = k
        fold_info.append({"fold": k, "bank": bank, "styles": styles, "n_train": int(len(tr)), "n_test": int(len(te))})
    # calibration and thresholds from folds 0-1, measured on folds 2-3 (never on a gold set)
    tune_idx = np.flatnonzero(np.isin(fold_of, [0, 1]))
    report_idx = np.flatnonzero(np.isin(fold_of, [2, 3]))
    cal_half = calibration_table(Y[tune_idx], oof[tune_idx], outputs)
    P_tune, P_report = apply_calibration(oof[tune_idx], cal_half), apply_calibration(oof_local[report_idx], cal_half)
    th_half = label_thresholds(Y[tune_idx], P_tune, outputs)
    P_report = apply_to_features(P_report, [feats[i] for i in report_idx], knowledge, outputs, th_half,
                                 fallback_uncounted(rules_dir))
    pred = decide(P_report, th_half, outputs, policy)
    heldout = compute_metrics([records[i] for i in report_idx], pred)
    heldout["calibration_error"] = calibration_errors(Y[report_idx], P_report, outputs)
    # the shipped version: calibration and thresholds from all out-of-family predictions
    done = np.flatnonzero(fold_of >= 0)
    calibration = calibration_table(Y[done], oof[done], outputs)
    thresholds = label_thresholds(Y[done], apply_calibration(oof[done], calibration), outputs)

    progress(f"fitting the final model on all {len(texts):,} notes")
    t0 = time.perf_counter()
    final = CrisisClassifier(outputs=outputs, thresholds=thresholds, n_jobs=n_jobs, **params)
    final.fit_features(feats, Y, groups=banks, families=families)
    t_fit = time.perf_counter() - t0

    arrays = with_window(with_rules(ModelArrays.from_classifier(final, calibration=calibration), floors, ceilings,
                                    shares, fallbacks, companions), window_tokens)
    parity = scorer_parity(final, arrays, feats[:: max(1, len(feats) // 500)])
    gold_sets = {}
    from ..api import CrisisModel

    model = CrisisModel(arrays, policy, version, rules_dir=rules_dir)
    for path in _as_paths(gold_path):
        gold_sets[Path(path).name] = score_gold(model, path)
        g = gold_sets[Path(path).name]
        progress(f"gold set {path}: category micro-F1 {g['category_micro']['f1']:.3f}, "
                 f"response-mode accuracy {g['response_mode_accuracy']:.3f}")
    first = next(iter(gold_sets.values()), None)
    fairness = None
    if gold_sets:
        from .fairness import fairness_evaluation

        progress("counterfactual fairness on the gold notes (sex swap, race word, name, neutral word)")
        notes = [g["text"] for path in _as_paths(gold_path) for g in load_labelled(path)]
        fairness = fairness_evaluation(model, notes, notes_source=" + ".join(gold_sets),
                                       **_fairness_baseline(registry))
    manifest = {
        "label_schema_version": SCHEMA_VERSION,
        "outputs": list(outputs),
        "thresholds": thresholds,
        "params": stored_params(final),
        "label_floors": floors,
        "label_ceilings": ceilings,
        "label_floor_shares": shares,
        "label_fallbacks": fallbacks,
        "label_companions": companions,
        "window_tokens": window_tokens,
        "training_data": {"path": Path(data_path).name, "sha256": sha256_file(data_path), "n_notes": len(records)},
        "seed": seed,
        "evaluation": {
            "protocol": "4 cross-fitted folds, each holding out one phrase bank AND a group of styles; "
                        "Platt calibration and thresholds fitted on folds 0-1 (F2 for each high-risk label, "
                        "one F1 threshold shared by the other categories, each the mean best grid point over "
                        f"{THRESHOLD_RESAMPLES} bootstrap resamples; cues at 0.5), metrics on folds 2-3; shipped "
                        "model refit on all data with calibration and thresholds from all out-of-family "
                        "predictions; gold sets only scored, never tuned on",
            "folds": fold_info,
            "heldout_families": heldout,
            "gold": first,
            "gold_sets": gold_sets,
            "fairness": fairness,
            "gold_set": ({"path": Path(_as_paths(gold_path)[0]).name, "sha256": sha256_file(_as_paths(gold_path)[0])}
                         if gold_sets else None),
        },
        "scorer_parity_max_abs_diff": parity,
        "timing_seconds": {"preprocess": round(t_pre, 1), "final_fit": round(t_fit, 1),
                           "total": round(time.perf_counter() - t_start, 1)},
    }
    from ..registry.card import render_model_card

    entry = save_version(arrays, policy_toml, manifest, name=name, version=version, registry=registry,
                         rules=rule_files(rules_dir), card=render_model_card)
    progress(f"wrote {entry.spec} to {entry.path}")
    return entry
