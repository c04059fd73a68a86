"""The registry: versions are plain data, every file hashed and checked, no pickle ever
loaded; writes go to the user's registry, never into the installed package."""

import json
import os
import pickle
import shutil
import subprocess
import sys

import numpy as np
import pytest

from crisis_nlp import load_model
from crisis_nlp.errors import IncompatibleModelError, IntegrityError, ModelNotFoundError, RegistryError
from crisis_nlp.registry.versions import (
    default_registry,
    list_models,
    resolve,
    save_version,
    sha256_file,
    shipped_registry,
    version_files,
)


@pytest.fixture()
def registry_copy(tmp_path):
    """A writable copy of the shipped registry."""
    dst = tmp_path / "registry"
    shutil.copytree(shipped_registry(), dst, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return dst


def shipped_entry(root):
    return resolve(None, root)


def _rehash(entry):
    """Make the manifest match the folder again (what an attacker who can write it would do)."""
    m = json.loads((entry.path / "manifest.json").read_text())
    m["files"] = {f: sha256_file(entry.path / f) for f in version_files(entry.path)}
    (entry.path / "manifest.json").write_text(json.dumps(m))


class _Boom:
    """Unpickling this writes a marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_shipped_registry_has_a_complete_manifest():
    entry = resolve()
    m = entry.manifest
    for key in ("version", "created", "label_schema_version", "training_data", "evaluation", "versions",
                "files", "thresholds", "format_version"):
        assert key in m, key
    assert m["format_version"] == 2
    assert sorted(m["files"]) == sorted(version_files(entry.path))  # every file inference reads is hashed
    assert any(f.startswith("rules/") for f in m["files"])  # the rule tables travel with the version
    assert all(len(h) == 64 for h in m["files"].values())
    assert not list(entry.path.rglob("*.joblib")) and not list(entry.path.rglob("*.pkl"))
    for lib in ("python", "spacy", "numpy"):
        assert lib in m["versions"]
    assert m["evaluation"]["gold"]["n"] >= 200


def test_load_by_version_and_newest_agree():
    newest = resolve()
    assert resolve(newest.version).path == newest.path
    assert resolve(f"default@{newest.version}").path == newest.path
    assert load_model(newest.version).version == newest.version


@pytest.mark.parametrize("fname", ["weights.npz", "vocabulary.json", "model.json", "policy.toml"])
def test_a_changed_file_is_refused_before_it_is_read(registry_copy, fname):
    entry = shipped_entry(registry_copy)
    with open(entry.path / fname, "ab") as f:
        f.write(b"\x00")
    with pytest.raises(IntegrityError, match="NOT loaded"):
        load_model(registry=registry_copy)


def test_a_changed_or_added_rule_table_is_refused(registry_copy):
    entry = shipped_entry(registry_copy)
    rules = sorted((entry.path / "rules").iterdir())
    with open(rules[0], "a", encoding="utf-8") as f:
        f.write("\n")
    with pytest.raises(IntegrityError, match="NOT loaded"):
        load_model(registry=registry_copy)
    _rehash(entry)
    load_model(registry=registry_copy)  # consistent again
    (entry.path / "rules" / "extra.tsv").write_text("si\tsomething else\n", encoding="utf-8")
    with pytest.raises(IntegrityError, match="not listed"):
        load_model(registry=registry_copy)


def test_a_version_with_a_table_this_release_does_not_know_is_refused(registry_copy):
    """A version trained by a newer crisis_nlp, whose snapshot holds a table this release's
    preprocessing never reads, would load and classify differently from how it was trained:
    refused with a message that says what to do, even with a consistent manifest."""
    entry = shipped_entry(registry_copy)
    (entry.path / "rules" / "lexicon_future.json").write_text('{"concepts": {}}', encoding="utf-8")
    _rehash(entry)
    with pytest.raises(IncompatibleModelError, match="lexicon_future.json.*Upgrade crisis_nlp"):
        load_model(registry=registry_copy)
    (entry.path / "rules" / "lexicon_future.json").unlink()
    _rehash(entry)
    load_model(registry=registry_copy)  # the same version without it loads


def test_missing_file(registry_copy):
    entry = shipped_entry(registry_copy)
    (entry.path / "weights.npz").unlink()
    with pytest.raises(IntegrityError, match="missing"):
        load_model(registry=registry_copy)


def test_a_planted_pickle_is_never_opened(registry_copy, tmp_path):
    """A crafted version whose manifest matches: a format-1 model.joblib beside the data,
    and a weights.npz that holds an object array (loading it needs pickle). No loading
    path - load_model, the CLI, the HTTP app - runs the pickle's code."""
    marker = tmp_path / "pwned"
    entry = shipped_entry(registry_copy)
    # 1. a format-1 version shadowing the default
    legacy = registry_copy / "default" / "9.0.0"
    shutil.copytree(entry.path, legacy)
    with open(legacy / "model.joblib", "wb") as f:
        pickle.dump(_Boom(str(marker)), f)
    m = json.loads((legacy / "manifest.json").read_text())
    m.update(version="9.0.0", format_version=1, artifact_sha256=sha256_file(legacy / "model.joblib"))
    (legacy / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(IncompatibleModelError, match="convert"):
        load_model(registry=registry_copy)
    # 2. a format-2 version whose weights hold a pickled object
    evil = registry_copy / "default" / "9.1.0"
    shutil.copytree(entry.path, evil)
    np.savez(evil / "weights.npz", coef=np.array([_Boom(str(marker))], dtype=object))
    m = json.loads((evil / "manifest.json").read_text())
    m["version"] = "9.1.0"
    m["files"] = {f: sha256_file(evil / f) for f in version_files(evil)}
    (evil / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(IntegrityError, match="cannot be read"):
        load_model("default@9.1.0", registry=registry_copy)
    env = {**os.environ, "CRISIS_NLP_REGISTRY": str(registry_copy)}
    for spec in ("default@9.0.0", "default@9.1.0"):
        out = subprocess.run([sys.executable, "-m", "crisis_nlp.cli", "classify", "--model", spec, "pt wants to die"],
                             env=env, capture_output=True, text=True)
        assert out.returncode == 1 and "Traceback" not in out.stderr
    pytest.importorskip("fastapi")
    from crisis_nlp.serve.http import create_app  # noqa: F401  (the app takes a loaded model: same path)

    assert not marker.exists()


def test_legacy_version_converts_only_when_trusted(registry_copy, tmp_path):
    from crisis_nlp.cli import main

    legacy = registry_copy / "default" / "0.9.0"
    shutil.copytree(shipped_entry(registry_copy).path, legacy)
    m = json.loads((legacy / "manifest.json").read_text())
    m.update(version="0.9.0", format_version=1)
    (legacy / "manifest.json").write_text(json.dumps(m))
    assert main(["models", "convert", "default@0.9.0", "--registry", str(registry_copy)]) == 1  # no --trust-pickle


def test_unknown_version_lists_what_exists(registry_copy):
    with pytest.raises(ModelNotFoundError, match="available: default@"):
        load_model("9.9.9", registry=registry_copy)
    with pytest.raises(RegistryError):
        load_model("latest-and-greatest@x", registry=registry_copy)
    with pytest.raises(RegistryError):
        load_model("default@2.0.0\n", registry=registry_copy)


def test_a_missing_registry_folder_is_an_error_for_reads(tmp_path):
    with pytest.raises(RegistryError, match="does not exist"):
        load_model(registry=tmp_path / "nowhere")


def test_writes_go_to_the_user_registry_never_the_package(registry_copy, monkeypatch, tmp_path):
    entry = shipped_entry(registry_copy)
    arrays = __import__("crisis_nlp.model.artifact", fromlist=["ModelArrays"]).ModelArrays.read(entry.path)
    monkeypatch.setenv("CRISIS_NLP_REGISTRY", str(tmp_path / "mine"))
    assert default_registry() == tmp_path / "mine"
    new = save_version(arrays, "", {}, name="county-x", version="1.0.0")
    assert new.path.parent.parent == tmp_path / "mine"
    monkeypatch.delenv("CRISIS_NLP_REGISTRY")
    assert shipped_registry() not in default_registry().parents and default_registry() != shipped_registry()


def test_versions_are_immutable_and_sorted_semantically(registry_copy):
    from crisis_nlp.model.artifact import ModelArrays

    entry = shipped_entry(registry_copy)
    arrays = ModelArrays.read(entry.path)
    with pytest.raises(RegistryError, match="immutable"):
        save_version(arrays, "", {}, version=entry.version, registry=registry_copy)
    save_version(arrays, "", {}, version="0.10.0", registry=registry_copy)
    save_version(arrays, "", {}, version="0.9.0", registry=registry_copy)
    versions = [e.version for e in list_models(registry_copy)]
    assert versions.index("0.9.0") < versions.index("0.10.0")
    with pytest.raises(RegistryError):
        save_version(arrays, "", {}, name="county-x\n", version="1.0.0", registry=registry_copy)


def test_a_version_reads_its_own_rule_tables_not_the_package_ones(registry_copy):
    """The rule tables travel with the version: a copy whose shorthand table knows a new
    abbreviation reads it; the shipped version, with the package's table, does not. So
    editing the package's tables changes only versions trained afterwards."""
    entry = shipped_entry(registry_copy)
    copy = registry_copy / "county-x" / "1.0.0"
    shutil.copytree(entry.path, copy)
    with open(copy / "rules" / "shorthand.tsv", "a", encoding="utf-8") as f:
        f.write("zzq\tsuicidal ideation\n")
    m = json.loads((copy / "manifest.json").read_text())
    m["files"] = {f: sha256_file(copy / f) for f in version_files(copy)}
    (copy / "manifest.json").write_text(json.dumps(m))
    note = "pt reports zzq tonight, wants to end it, has pills"
    mine = load_model("county-x@1.0.0", registry=registry_copy)
    shipped = load_model(registry=registry_copy)
    assert mine.rules_dir.endswith("rules") and mine.rules_dir != shipped.rules_dir
    from crisis_nlp.preprocess.pipeline import doc_features, process

    assert "suicidal" in doc_features(process(note, mine.rules_dir)).split()
    assert "suicidal" not in doc_features(process(note, shipped.rules_dir)).split()
    assert mine.predict_proba([note])[0][0] != shipped.predict_proba([note])[0][0]


def test_a_version_reads_its_own_masking_tables(registry_copy):
    """Masking makes features (``PII_NAME``), so since stop 46 the masking tables travel with
    the version like the other rule tables: a copy whose surname list knows 'Zzqson' masks
    it; the package's tables do not, and a version snapshotted before them (2.25.0) reads the
    package's."""
    from crisis_nlp.preprocess.pipeline import doc_features, process
    from crisis_nlp.preprocess.text import MASKING_TABLES, mask_pii, masking_dir
    from crisis_nlp.resources import read_text

    entry = shipped_entry(registry_copy)
    copy = registry_copy / "county-x" / "1.0.0"
    shutil.copytree(entry.path, copy)
    for name in MASKING_TABLES:
        (copy / "rules" / name).write_text(read_text(name), encoding="utf-8")
    with open(copy / "rules" / "names_last.txt", "a", encoding="utf-8") as f:
        f.write("zzqson\n")
    _rehash(resolve("county-x@1.0.0", registry_copy))
    mine = load_model("county-x@1.0.0", registry=registry_copy)
    assert all(f"rules/{name}" in mine.manifest["files"] for name in MASKING_TABLES)
    note = "per caller her son zzqson is upset, says he wants to die"
    assert "PII_NAME" in mask_pii(note, rules_dir=mine.rules_dir)
    assert "PII_NAME" not in mask_pii(note)
    assert "pii_name" in doc_features(process(note, mine.rules_dir)).split()
    old = resolve("default@2.25.0", registry_copy)  # snapshotted before stop 46: no masking tables
    assert not any(f"rules/{name}" in old.manifest["files"] for name in MASKING_TABLES)
    assert masking_dir(str(old.path / "rules")) is None
    assert masking_dir(mine.rules_dir) is not None


def test_a_snapshot_with_some_masking_tables_is_an_error(tmp_path):
    from crisis_nlp.errors import CrisisNLPError
    from crisis_nlp.preprocess.text import mask_pii
    from crisis_nlp.resources import read_text

    (tmp_path / "names_last.txt").write_text(read_text("names_last.txt"), encoding="utf-8")
    with pytest.raises(CrisisNLPError, match="names_first.txt"):
        mask_pii("per caller her son Zed is upset", rules_dir=str(tmp_path))
