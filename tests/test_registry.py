import json
import shutil

import pytest

from crisis_nlp import load_model
from crisis_nlp.errors import IncompatibleModelError, IntegrityError, ModelNotFoundError, RegistryError
from crisis_nlp.registry import default_registry, list_models, resolve, save_version


@pytest.fixture()
def registry_copy(tmp_path):
    """A writable copy of the shipped registry."""
    dst = tmp_path / "registry"
    shutil.copytree(default_registry(), dst, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return dst


def shipped_entry(root):
    return resolve(None, root)


def test_shipped_registry_has_a_complete_manifest():
    entry = resolve()
    m = entry.manifest
    for key in ("version", "created", "label_schema_version", "training_data", "evaluation", "versions",
                "artifact_sha256", "thresholds"):
        assert key in m, key
    assert m["training_data"]["sha256"] and len(m["artifact_sha256"]) == 64
    for lib in ("python", "scikit-learn", "spacy", "numpy"):
        assert lib in m["versions"]
    assert m["evaluation"]["heldout_families"]["n"] > 0 and m["evaluation"]["gold"]["n"] >= 200


def test_load_by_version_and_newest_agree():
    newest = resolve()
    assert resolve(newest.version).path == newest.path
    assert resolve(f"default@{newest.version}").path == newest.path
    assert load_model(newest.version).version == newest.version


def test_tampered_artifact_is_refused_before_unpickling(registry_copy, monkeypatch):
    entry = shipped_entry(registry_copy)
    with open(entry.path / "model.joblib", "ab") as f:
        f.write(b"\x00")
    import joblib

    monkeypatch.setattr(joblib, "load", lambda *a, **k: pytest.fail("unpickled a tampered file"))
    with pytest.raises(IntegrityError, match="NOT loaded"):
        load_model(registry=registry_copy)


def test_tampered_policy_is_refused(registry_copy):
    entry = shipped_entry(registry_copy)
    (entry.path / "policy.toml").write_text("# changed\n", encoding="utf-8")
    with pytest.raises(IntegrityError):
        load_model(registry=registry_copy)


def test_missing_artifact(registry_copy):
    entry = shipped_entry(registry_copy)
    (entry.path / "model.joblib").unlink()
    with pytest.raises(IntegrityError, match="missing"):
        load_model(registry=registry_copy)


def test_unknown_version_lists_what_exists(registry_copy):
    with pytest.raises(ModelNotFoundError, match="available: default@"):
        load_model("9.9.9", registry=registry_copy)
    with pytest.raises(RegistryError):
        load_model("latest-and-greatest@x", registry=registry_copy)


def test_incompatible_scikit_learn_is_refused(registry_copy):
    entry = shipped_entry(registry_copy)
    m = json.loads((entry.path / "manifest.json").read_text())
    m["versions"]["scikit-learn"] = "0.24.2"
    (entry.path / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(IncompatibleModelError, match="scikit-learn"):
        load_model(registry=registry_copy)


def test_versions_are_immutable_and_sorted_semantically(registry_copy):
    entry = shipped_entry(registry_copy)
    with pytest.raises(RegistryError, match="immutable"):
        save_version({"x": 1}, "", {}, version=entry.version, registry=registry_copy)
    save_version({"x": 1}, "", {}, version="0.10.0", registry=registry_copy)
    save_version({"x": 1}, "", {}, version="0.9.0", registry=registry_copy)
    versions = [e.version for e in list_models(registry_copy)]
    assert versions.index("0.9.0") < versions.index("0.10.0")
