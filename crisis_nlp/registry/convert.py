"""One-time conversion of a format-1 version (a pickled ``model.joblib``) to plain data.

Unpickling runs code, so crisis_nlp never loads a pickle on its own. This module does so
only when a user says, explicitly, that they trust the file (`crisis-nlp models convert
SPEC --trust-pickle`); the result is an ordinary format-2 version that loads without it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..model.artifact import ModelArrays
from ..errors import IntegrityError, RegistryError
from .versions import LEGACY_ARTIFACT, POLICY, ModelEntry, _read_manifest, save_version, sha256_file


def _unpack_vocabulary(vocab: object) -> object:
    """Format-1 artifacts from stop 6 on stored each vocabulary as (tag, joined terms, lengths)."""
    if isinstance(vocab, tuple) and len(vocab) == 3 and vocab[0] == "crisis_nlp.packed_vocabulary.v1":
        ends = np.cumsum(vocab[2]).tolist()
        starts = [0] + ends[:-1]
        return {vocab[1][a:b]: i for i, (a, b) in enumerate(zip(starts, ends))}
    return vocab


def convert_legacy(folder: str | Path, *, registry: str | Path, name: str | None = None,
                   version: str | None = None, rules: list[Path] | None = None) -> ModelEntry:
    """Unpickle a trusted format-1 version in ``folder`` and write it as format 2 into
    ``registry`` (same name and version unless given). The pickle's sha256 is checked
    against its manifest first."""
    import joblib

    folder = Path(folder)
    manifest = _read_manifest(folder)
    if manifest.get("format_version") != 1 or not (folder / LEGACY_ARTIFACT).exists():
        raise RegistryError(f"{folder} is not a format-1 version (no {LEGACY_ARTIFACT}); nothing to convert.")
    for fname, key in ((LEGACY_ARTIFACT, "artifact_sha256"), (POLICY, "policy_sha256")):
        if sha256_file(folder / fname) != manifest.get(key):
            raise IntegrityError(f"{folder / fname} does not match its manifest; it was NOT unpickled.")
    artifact = joblib.load(folder / LEGACY_ARTIFACT)  # the one place a pickle is opened, on request
    clf = artifact["classifier"] if isinstance(artifact, dict) else artifact
    fz = clf.featurizer_
    for vec in (fz.word_vectorizer_, fz.char_vectorizer_):
        if vec is not None:
            vec.vocabulary_ = _unpack_vocabulary(vec.vocabulary_)
    arrays = ModelArrays.from_classifier(clf, thresholds=manifest.get("thresholds"))
    kept = {k: v for k, v in manifest.items()
            if k not in ("name", "version", "format_version", "created", "versions", "artifact_sha256",
                         "artifact_bytes", "policy_sha256")}
    kept["converted_from"] = {"format_version": 1, "artifact_sha256": manifest.get("artifact_sha256"),
                              "created": manifest.get("created"), "versions": manifest.get("versions")}
    return save_version(arrays, (folder / POLICY).read_text(encoding="utf-8"), kept,
                        name=name or manifest.get("name", folder.parent.name),
                        version=version or manifest.get("version", folder.name),
                        registry=registry, rules=rules or [])
