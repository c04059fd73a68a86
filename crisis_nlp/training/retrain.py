"""Retraining with an agency's own labelled notes.

Why: only an agency's own notes teach the model its shorthand. The agency's notes are
combined with the shipped synthetic notes (their weight configurable; or used alone),
with the shipped model's preprocessing, features and threshold tuning. Honest by
construction:

- a stratified part of the agency's notes is held out before anything is fitted; it is
  used only to measure the registered model (and the current default, for comparison);
- thresholds are tuned, as for the shipped model, on out-of-sample predictions: k-fold
  cross-fitted predictions on the training part (the agency's rows where a label has
  enough positives there, all rows otherwise); cues stay at 0.5;
- the registered model is the one fitted on the training part, so the numbers in its
  manifest and model card are measured on notes that model never saw.

Agency notes do not record the policy's situational cues. With the synthetic data, the
cue columns are learned from the synthetic notes only (agency rows get weight 0 there);
alone (``local_only``), they are taken from the current default model's predictions on
the agency's notes (its cue columns distilled), since no other source exists.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..model.artifact import ModelArrays
from .agency_data import DEFAULT_MIN_EXAMPLES, LabelMapping, load_agency_data
from ..errors import InputError, RegistryError
from .evaluate import compute_metrics, label_matrix
from .labelled import load_labelled
from ..labels import CUES, SCHEMA_VERSION
from ..model.estimator import DEFAULT_OUTPUTS, SHARED_THRESHOLD, CrisisClassifier
from ..model.knowledge import with_rules
from ..model.policy import ResponsePolicy
from ..preprocess import note_features
from ..model.stretches import with_window
from ..registry.versions import ModelEntry, default_registry, parse_version, resolve, save_version, sha256_file
from ..resources import read_text, rule_files
from .train import DEFAULT_PARAMS, label_thresholds, stored_params

def default_synthetic() -> Path:
    """The synthetic notes: installed with the package, or the source checkout's."""
    from importlib.resources import files

    try:
        return Path(str(files("crisis_nlp._synthetic"))) / "notes.jsonl.gz"
    except ModuleNotFoundError:  # imported from a source checkout
        return Path(__file__).resolve().parents[2] / "training_data_synthetic" / "notes.jsonl.gz"
MIN_TUNING_POSITIVES = 5


def _noop(msg: str) -> None:
    pass


def stratify_key(records: Sequence[dict[str, Any]]) -> list[str]:
    """Each record's rarest label (by its frequency in ``records``), or ``none``."""
    freq: dict[str, int] = {}
    for r in records:
        for x in r["categories"] + r["flags"]:
            freq[x] = freq.get(x, 0) + 1
    return [min(r["categories"] + r["flags"], key=lambda x: (freq[x], x), default="none") for r in records]


def stratified_split(keys: Sequence[str], fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out) indices: ``fraction`` of every stratum held out (at least one of a
    stratum of two or more), deterministic for a seed."""
    if not 0.0 < fraction < 1.0:
        raise InputError(f"holdout must be a fraction between 0 and 1 (e.g. 0.25), got {fraction!r}.")
    rng = np.random.default_rng(seed)
    held: list[int] = []
    for k in sorted(set(keys)):
        idx = np.flatnonzero(np.asarray(keys) == k)
        rng.shuffle(idx)
        n = int(round(fraction * len(idx)))
        if len(idx) >= 2:
            n = min(max(n, 1), len(idx) - 1)
        held.extend(idx[:n].tolist())
    ho = np.array(sorted(held), dtype=int)
    return np.setdiff1d(np.arange(len(keys)), ho), ho


def stratified_folds(keys: Sequence[str], n_folds: int, seed: int) -> np.ndarray:
    """A fold number per row, each stratum dealt round-robin after a seeded shuffle."""
    rng = np.random.default_rng(seed + 1)
    fold = np.zeros(len(keys), dtype=int)
    offset = 0
    for k in sorted(set(keys)):
        idx = np.flatnonzero(np.asarray(keys) == k)
        rng.shuffle(idx)
        fold[idx] = (np.arange(len(idx)) + offset) % n_folds
        offset += len(idx)
    return fold


def load_synthetic(path: str | Path | None, n: int | None, seed: int) -> tuple[list[dict[str, Any]], Path]:
    path = Path(path) if path is not None else default_synthetic()
    if not path.exists():
        raise InputError(
            f"the synthetic training data is not at {path}: pass --synthetic PATH to a notes.jsonl.gz, or "
            "train on your data alone with --local-only."
        )
    records = load_labelled(path)
    if n is not None and n < len(records):
        if n <= 0:
            raise InputError(f"synthetic_n must be a positive number of notes, got {n}.")
        pick = np.sort(np.random.default_rng(seed).choice(len(records), size=n, replace=False))
        records = [records[i] for i in pick]
    return records, path


def _tune(Y: np.ndarray, P: np.ndarray, is_local: np.ndarray) -> dict[str, float]:
    """Thresholds as for the shipped model, on the agency's rows where they suffice."""
    outputs = DEFAULT_OUTPUTS
    everywhere = label_thresholds(Y, P, outputs)
    local = label_thresholds(Y[is_local], P[is_local], outputs) if is_local.any() else everywhere
    # the categories that share one threshold take it together, from the agency's rows
    # when those hold enough positives of the group
    group = [j for j, o in enumerate(outputs) if o in SHARED_THRESHOLD]
    shared_local = Y[np.ix_(is_local, group)].sum() >= MIN_TUNING_POSITIVES
    out = {}
    for j, o in enumerate(outputs):  # cues: 0.5 in both (label_thresholds)
        if o in SHARED_THRESHOLD:
            out[o] = local[o] if shared_local else everywhere[o]
        elif Y[is_local, j].sum() >= MIN_TUNING_POSITIVES:
            out[o] = local[o]
        else:
            out[o] = everywhere[o]
    return out


def _evaluate(model: Any, records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    results = model.classify_batch([r["text"] for r in records])
    return compute_metrics(records, [r.to_dict() for r in results])


def retrain(
    data: str | Path,
    *,
    version: str,
    name: str,
    registry: str | Path | None = None,
    text_field: str = "text",
    labels_mapping: str | Path | None = None,
    code_field: str = "call_type",
    fmt: str | None = None,
    synthetic: str | Path | None = None,
    synthetic_n: int | None = None,
    local_weight: float = 1.0,
    local_only: bool = False,
    holdout: float = 0.25,
    cv_folds: int = 3,
    policy: str | Path | None = None,
    min_examples: int = DEFAULT_MIN_EXAMPLES,
    base_model: str | None = None,
    gold_path: str | Path | None = None,
    seed: int = 0,
    params: dict[str, Any] | None = None,
    n_jobs: int | None = 2,
    rules_dir: str | Path | None = None,
    progress: Callable[[str], None] = _noop,
) -> ModelEntry:
    """Train ``name@version`` on an agency's labelled notes (plus synthetic ones) and register it.

    ``rules_dir``: preprocessing tables to train with (e.g. the agency's own shorthand;
    default the package's), snapshotted into the version."""
    from ..registry.card import render_model_card

    t_start = time.perf_counter()
    if not local_weight > 0:
        raise InputError(f"local_weight must be > 0, got {local_weight!r}.")
    if cv_folds < 2:
        raise InputError(f"cv_folds must be at least 2, got {cv_folds}.")
    parse_version(version)
    root = Path(registry) if registry is not None else default_registry()
    if (root / name / version).exists():  # refuse before the work, not after (save_version checks again)
        raise RegistryError(f"{name}@{version} exists in {root}; versions are immutable, choose a new version.")
    policy_toml = Path(policy).read_text(encoding="utf-8") if policy else read_text("policy_default.toml")
    response_policy = ResponsePolicy.from_toml(policy_toml)  # a bad policy fails before training
    params = {**DEFAULT_PARAMS, **(params or {})}
    # the registry to write may not exist yet: then the base is looked up in the default places
    base = resolve(base_model, registry if registry is None or Path(registry).is_dir() else None)

    progress(f"validating {data}")
    mapping = LabelMapping.from_file(labels_mapping) if labels_mapping else None
    agency = load_agency_data(data, text_field=text_field, mapping=mapping, code_field=code_field, fmt=fmt,
                              min_examples=min_examples)
    for w in agency.warnings:
        progress(f"warning: {w}")
    local = agency.records
    tr_local, ho_local = stratified_split(stratify_key(local), holdout, seed)
    train_local = [local[i] for i in tr_local]
    held_out = [local[i] for i in ho_local]

    synth: list[dict[str, Any]] = []
    synth_path = None
    if not local_only:
        progress("reading the synthetic notes")
        synth, synth_path = load_synthetic(synthetic, synthetic_n, seed)
    rows = train_local + synth
    is_local = np.array([True] * len(train_local) + [False] * len(synth))
    outputs = DEFAULT_OUTPUTS
    Y = label_matrix(rows, outputs)
    W = np.ones(Y.shape)
    W[is_local] = local_weight
    cue_cols = [outputs.index(c) for c in CUES]
    from ..api import CrisisModel, model_from_entry

    base_model = model_from_entry(base)
    if local_only:  # no cue labels anywhere: distil the current default's cue predictions
        P_cues = base_model.proba_all([r["text"] for r in train_local])
        t_out = list(base_model.arrays.outputs)
        for c in CUES:
            Y[:, outputs.index(c)] = (P_cues[:, t_out.index(c)] >= 0.5).astype(int)
    else:
        W[np.ix_(is_local, cue_cols)] = 0.0  # unknown for agency notes: learned from synthetic ones

    progress(f"preprocessing {len(rows):,} notes ({len(train_local):,} agency, {len(synth):,} synthetic; "
             f"{len(held_out):,} agency notes held out)")
    t0 = time.perf_counter()
    rules = str(rules_dir) if rules_dir is not None else None
    feats = note_features([r["text"] for r in rows], rules)
    t_pre = time.perf_counter() - t0

    keys = [("local:" if loc else "synthetic:") + k for loc, k in zip(is_local, stratify_key(rows))]
    fold = stratified_folds(keys, cv_folds, seed)
    oof = np.zeros(Y.shape)
    t0 = time.perf_counter()
    for k in range(cv_folds):
        tr, te = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        progress(f"cross-fit {k + 1}/{cv_folds} for threshold tuning ({len(tr):,} train, {len(te):,} predicted)")
        clf = CrisisClassifier(outputs=outputs, n_jobs=n_jobs, **params)
        clf.fit_features([feats[i] for i in tr], Y[tr], W[tr])
        oof[te] = clf.predict_proba_matrix(clf.transform_features([feats[i] for i in te]))  # whole, as train tunes
    t_cv = time.perf_counter() - t0
    thresholds = _tune(Y, oof, is_local)

    progress(f"fitting {name}@{version} on {len(rows):,} notes")
    t0 = time.perf_counter()
    final = CrisisClassifier(outputs=outputs, thresholds=thresholds, n_jobs=n_jobs, **params)
    final.fit_features(feats, Y, W)
    t_fit = time.perf_counter() - t0

    progress(f"measuring on {len(held_out):,} held-out agency notes")
    spec = f"{name}@{version}"
    # the base's knowledge rules (floors, ceilings, companions, fallbacks) carry over: they are about concepts, not data
    knowledge = {k: base_model.arrays.settings[k] for k in ("label_floors", "label_ceilings", "label_floor_shares",
                                                             "label_fallbacks", "label_companions") if base_model.arrays.settings.get(k)}
    arrays = with_window(with_rules(ModelArrays.from_classifier(final), knowledge.get("label_floors"),
                                    knowledge.get("label_ceilings"), knowledge.get("label_floor_shares"),
                                    knowledge.get("label_fallbacks"), knowledge.get("label_companions")),
                         base_model.arrays.settings.get("window_tokens"))  # read long notes as the base does
    new_model = CrisisModel(arrays, response_policy, spec, rules_dir=rules)
    metrics = _evaluate(new_model, held_out)
    baseline = _evaluate(base_model, held_out)
    gold_metrics = None
    if gold_path is not None:
        gold_metrics = _evaluate(new_model, load_labelled(gold_path))

    manifest = {
        "label_schema_version": SCHEMA_VERSION,
        "outputs": list(outputs),
        "thresholds": thresholds,
        "params": stored_params(final),
        **knowledge,
        "training_data": {
            "path": Path(data).name,
            "sha256": sha256_file(data),
            "n_notes": len(local),
            "agency": {"path": Path(data).name, "sha256": sha256_file(data), "n_notes": len(local),
                       "n_train": len(train_local), "n_heldout": len(held_out), "label_format": agency.label_format,
                       "labels_mapping": Path(labels_mapping).name if labels_mapping else None,
                       "label_counts": agency.label_counts(), "weight": local_weight},
            "synthetic": None if local_only else {
                "path": synth_path.name, "sha256": sha256_file(synth_path), "n_used": len(synth),
                "subsample": synthetic_n},
            "local_only": local_only,
            "cues": "distilled from " + base.spec if local_only else "learned from the synthetic notes only",
        },
        "seed": seed,
        "base_model": base.spec,
        "policy": {"name": response_policy.name, "version": response_policy.version,
                   "source": Path(policy).name if policy else "policy_default.toml"},
        "evaluation": {
            "protocol": f"stratified hold-out of {holdout:.0%} of the agency's notes, never used for fitting or "
                        f"tuning; thresholds tuned on {cv_folds}-fold cross-fitted predictions of the training part "
                        f"(agency rows where a label has >= {MIN_TUNING_POSITIVES} positives, all rows otherwise; "
                        "cues 0.5); the registered model is the one fitted on the training part",
            "heldout_agency": metrics,
            "baseline": {"spec": base.spec, "heldout_agency": baseline},
            "gold": gold_metrics,
            "gold_set": {"path": Path(gold_path).name, "sha256": sha256_file(gold_path)} if gold_path else None,
        },
        "timing_seconds": {"preprocess": round(t_pre, 1), "cross_fit": round(t_cv, 1), "final_fit": round(t_fit, 1),
                           "total": round(time.perf_counter() - t_start, 1)},
    }
    entry = save_version(arrays, policy_toml, manifest, name=name, version=version,
                         registry=registry, rules=rule_files(rules), card=render_model_card)
    progress(f"wrote {entry.spec} to {entry.path}")
    return entry
