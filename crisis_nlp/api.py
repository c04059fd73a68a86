"""The library's front door: load a model version and classify notes."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ModelError
from .notes import MAX_NOTE_CHARS, check_note  # noqa: F401  (MAX_NOTE_CHARS: public here too)
from .labels import CUES, LABELS
from .model.artifact import ModelArrays
from .model.knowledge import KnowledgeRules
from .model.policy import ResponsePolicy, split_outputs
from .preprocess.tables import fallback_uncounted, read_word_list
from .preprocess.pipeline import (
    CONCEPT_PREFIXES,
    NEG_PREFIX,
    doc_features_and_windows,
    doc_windows,
    feature_table,
    iter_docs,
    process,
    process_batch,
)
from .registry.versions import POLICY, RULES, ModelEntry, entry_from_folder, load_arrays, resolve
from .result import ClassificationResult
from .model.scorer import LinearScorer
from .model.stretches import local_scores

BATCH = 2048  # notes per step of the bulk path
EXPLAIN_WORDS = 2


class CrisisModel:
    """A trained classifier plus the response policy of one model version.

    Thread-safe for classification: it holds no per-call state.
    """

    def __init__(self, arrays: ModelArrays, policy: ResponsePolicy, version: str,
                 manifest: dict[str, Any] | None = None, path: Path | None = None,
                 rules_dir: str | Path | None = None) -> None:
        missing = [o for o in LABELS + CUES if o not in arrays.outputs]
        if missing:
            raise ModelError(f"the model lacks outputs {missing}; retrain it with the current label schema.")
        self.arrays = arrays
        self.policy = policy
        self.version = version
        self.manifest = manifest or {}
        self.path = path  # the version folder it was loaded from (None: built in memory)
        # the rule tables the version was trained with (its snapshot), else the package's
        rules = path / RULES if path is not None else rules_dir
        self.rules_dir = str(rules) if rules is not None and Path(rules).is_dir() else None
        idx = {o: i for i, o in enumerate(arrays.outputs)}
        self._label_idx = np.array([idx[x] for x in LABELS])
        self._out_index = idx
        self._thresholds = arrays.thresholds
        self._scorer = LinearScorer(arrays)
        self._window = arrays.settings.get("window_tokens")  # None: every note read only whole
        self._knowledge = KnowledgeRules(arrays.settings, arrays.outputs, arrays.word_vocab, arrays.thresholds,
                                         fallback_uncounted(self.rules_dir) if arrays.settings.get("label_fallbacks")
                                         else frozenset())
        self._decisions: dict[bytes, tuple] = {}
        self._word_names = arrays.word_vocab
        # which word features may appear in an explanation: not concepts, placeholders,
        # numbers or n-grams made only of function words (resources/explain_skip.txt)
        skip = _explain_skip(self.rules_dir)
        self._explainable = np.array(
            [not (n.startswith(CONCEPT_PREFIXES) or "pii_" in n
                  or all(w in skip or not w.strip("0:").isalpha() and "0" in w for w in n.split()))
             for n in self._word_names]
        )

    def __repr__(self) -> str:
        return f"CrisisModel(version={self.version!r})"

    @classmethod
    def from_classifier(cls, classifier: Any, policy: ResponsePolicy, version: str,
                        calibration: np.ndarray | None = None) -> "CrisisModel":
        """A model from a freshly fitted :class:`crisis_nlp.model.estimator.CrisisClassifier` (training)."""
        return cls(ModelArrays.from_classifier(classifier, calibration=calibration), policy, version)

    # -- public API -----------------------------------------------------------------
    def classify(self, note: str) -> ClassificationResult:
        """Classify one note."""
        return self._result(process(check_note(note, 0), self.rules_dir))

    def classify_batch(self, notes: Iterable[str], *, explain: bool = True) -> list[ClassificationResult]:
        """Classify many notes; the same labels, mode and scores as ``classify`` on each.

        ``explain=False`` is the bulk path (relabelling years of calls): the ``reason``
        names only the policy rule, not the words, and the whole batch is scored with one
        sparse product, which is several times cheaper per note.
        """
        texts = [check_note(n, i) for i, n in enumerate(notes)]
        if explain:
            return [self._result(doc) for doc in iter_docs(texts, rules_dir=self.rules_dir)]
        decisions, scores = self._bulk(texts)
        return [ClassificationResult(list(cats), list(flags), mode, dict(zip(LABELS, sc)), head, self.version)
                for (cats, flags, mode, head, _labels), sc in zip(decisions, scores.tolist())]

    def relabel_frame(self, df: Any, *, text_column: str = "text", explain: bool = False) -> Any:
        """A pandas DataFrame with every column of ``df`` plus the result columns; bad
        rows get ``error`` instead of labels (see :func:`crisis_nlp.batch.frame.relabel_frame`)."""
        from .batch.frame import relabel_frame

        return relabel_frame(self, df, text_column=text_column, explain=explain)

    def predict_proba(self, notes: Sequence[str]) -> np.ndarray:
        """Probabilities, one row per note, one column per id of ``crisis_nlp.LABELS``."""
        texts = [check_note(n, i) for i, n in enumerate(notes)]
        return self._proba_all(texts)[:, self._label_idx]

    def proba_all(self, notes: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities of every output (labels, then the policy's cues), one
        row per note, columns in ``self.arrays.outputs`` order."""
        return self._proba_all([check_note(n, i) for i, n in enumerate(notes)])

    # -- internals --------------------------------------------------------------------
    def _result(self, doc) -> ClassificationResult:
        features, windows = doc_features_and_windows(doc, self._window)
        cols, vals = self._scorer.vector(features)
        p = self._scorer.proba(cols, vals)
        if windows:  # one vector per stretch: for 2-3 stretches half the time of one batch matrix (measured)
            P_windows = np.array([self._scorer.proba(*self._scorer.vector(w)) for w in windows])
            p = local_scores(p[None], P_windows, [len(windows)])[0]
        p = self.arrays.calibrate(p)
        if self._knowledge:
            p = self._knowledge.apply_one(p, cols)
        on = p >= self._thresholds
        cats, flags, mode, head, labels = self._decision(on)
        scores = dict(zip(LABELS, p[self._label_idx].round(4).tolist()))
        reason = head + "; " + self._explain(cols, vals, labels) if labels else head
        negated = sorted({doc[s:e].text.lower() for s, e, _c, neg in doc._.concepts if neg})
        if negated:
            reason += "; negated: " + ", ".join(negated[:4])
        return ClassificationResult(list(cats), list(flags), mode, scores, reason, self.version)

    def _bulk(self, texts: Sequence[str]) -> tuple[list[tuple], np.ndarray]:
        """The bulk path for checked note texts: each note's decision (see ``_decision``)
        and its label scores (rounded, columns in ``LABELS`` order)."""
        P = self._proba_all(texts)
        return list(map(self._decision, P >= self._thresholds)), P[:, self._label_idx].round(4)

    def _proba_all(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities of every output (labels and cues) for checked note texts."""
        if not texts:
            return np.empty((0, len(self._out_index)))
        out, hits = [], []
        for i in range(0, len(texts), BATCH):  # bounded: a batch's Docs are held in memory
            with _collector_paused():
                docs = process_batch(texts[i:i + BATCH], self.rules_dir)
                X = self._scorer.matrix_table(feature_table(docs))
                P = self._scorer.proba_matrix(X)
                if self._window is not None:
                    windows = [doc_windows(d, self._window) for d in docs]
                    flat = [w for ws in windows for w in ws]
                    if flat:
                        P_windows = self._scorer.proba_matrix(self._scorer.matrix(flat))
                        P = local_scores(P, P_windows, [len(ws) for ws in windows])
                out.append(P)
                hits.append(self._knowledge.hits(X))
        P = self.arrays.calibrate(np.concatenate(out))
        return self._knowledge.apply_many(P, np.concatenate(hits)) if self._knowledge else P

    def _decision(self, on: np.ndarray) -> tuple:
        """Labels, mode and the reason's rule part for one on/off pattern of the outputs.

        There are few distinct patterns in practice, so they are cached (a plain dict:
        a racing thread at worst computes the same entry twice).
        """
        key = on.tobytes()
        hit = self._decisions.get(key)
        if hit is None:
            cats, flags, cues = split_outputs(on.tolist(), self.arrays.outputs)
            decision = self.policy.decide(cats, flags, cues)
            head = f"rule {decision.rule_number} {decision.rule.id} -> {decision.mode}"
            if decision.matched and decision.matched != ("always",):
                head += f" [{' + '.join(decision.matched)}]"
            hit = (cats, flags, decision.mode, head, cats + flags)
            if len(self._decisions) < 4096:
                self._decisions[key] = hit
        return hit

    def _explain(self, cols: np.ndarray, vals: np.ndarray, labels: Sequence[str]) -> str:
        """Per label, the note's word features that pushed it up most (negations as NOT x)."""
        k = int(np.searchsorted(cols, self._scorer.n_word))  # cols are sorted: word channel first
        keep = self._explainable[cols[:k]]
        cols, vals = cols[:k][keep], vals[:k][keep]
        if not len(cols):
            return "; ".join(labels)
        rows = np.array([self._out_index[x] for x in labels])
        contrib = self._scorer.W[cols[:, None], rows] * vals[:, None]  # (features, labels)
        top = np.argsort(-contrib, axis=0, kind="stable")[:EXPLAIN_WORDS].T.tolist()
        parts = []
        for j, label in enumerate(labels):
            words = [self._display(int(cols[i])) for i in top[j] if contrib[i, j] > 0]
            parts.append(f"{label} ({', '.join(words)})" if words else label)
        return "; ".join(parts)

    def _display(self, col: int) -> str:
        """A word feature as a dispatcher reads it: 'neg_weapon' -> 'NOT weapon'."""
        return " ".join(("NOT " + w[len(NEG_PREFIX):]) if w.startswith(NEG_PREFIX) else w
                        for w in str(self._word_names[col]).split())


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for one batch. A batch keeps ~20 container
    objects per note alive until it is done, and the collector would scan them again and
    again (measured: 4.6 µs of a note's 118); they are freed by reference counting when
    the batch ends, and any cycle is found by the next collection. Not switched back on
    if the caller had it off (or another thread turned it off first)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _explain_skip(rules_dir: str | None) -> frozenset[str]:
    return read_word_list(rules_dir, "explain_skip.txt")


def model_from_entry(entry: ModelEntry) -> CrisisModel:
    arrays = load_arrays(entry)  # verifies every file's hash first
    policy = ResponsePolicy.from_file(entry.path / POLICY)
    return CrisisModel(arrays, policy, entry.version if entry.name == "default" else entry.spec,
                       entry.manifest, entry.path)


def load_model_folder(folder: str | Path) -> CrisisModel:
    """Load the version stored in ``folder`` (checked like any registry version)."""
    return model_from_entry(entry_from_folder(folder))


def load_model(version: str | None = None, *, registry: str | Path | None = None) -> CrisisModel:
    """Load a model version from the registry (the newest shipped one by default).

    ``version`` may be ``"1.0.0"``, ``"name"`` (its newest) or ``"name@1.0.0"``. Every
    file of the version is checked against the sha256 in its manifest before it is read,
    and nothing is unpickled.
    """
    return model_from_entry(resolve(version, registry))
