"""Promote and rollback: only the default pointer changes, atomically; user registries
fall back to the shipped one."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from crisis_nlp import load_model
from crisis_nlp.errors import IntegrityError, RegistryError
from crisis_nlp.registry.lifecycle import POINTER, current_default, promote, read_pointer, rollback
from crisis_nlp.registry.versions import list_all, resolve, shipped_registry


@pytest.fixture()
def user_registry(tmp_path):
    """A user registry holding two agency versions (copies of the shipped artifact) and
    no copy of default@2.0.0."""
    shipped = resolve("default@2.0.0", shipped_registry())
    for v in ("1.1.0", "1.2.0"):
        shutil.copytree(shipped.path, tmp_path / "county-x" / v)
    return tmp_path


def test_user_registry_falls_back_to_the_shipped_one(user_registry):
    specs = [e.spec for e in list_all(user_registry)]
    assert specs == ["county-x@1.1.0", "county-x@1.2.0", "default@2.0.0", "default@2.1.0", "default@2.2.0",
                     "default@2.3.0", "default@2.4.0", "default@2.5.0", "default@2.6.0", "default@2.7.0",
                     "default@2.8.0", "default@2.9.0", "default@2.10.0", "default@2.11.0",
                     "default@2.12.0", "default@2.13.0", "default@2.14.0", "default@2.15.0",
                     "default@2.16.0", "default@2.17.0", "default@2.18.0", "default@2.19.0",
                     "default@2.20.0", "default@2.21.0", "default@2.22.0", "default@2.23.0",
                     "default@2.24.0", "default@2.25.0", "default@2.26.0",
                     "default@2.27.0", "default@2.28.0", "default@2.29.0"]
    assert resolve("default@2.0.0", user_registry).path.parent.parent == shipped_registry()
    assert resolve(None, user_registry).spec == "default@2.29.0"  # nothing promoted: the newest shipped


def test_promote_and_rollback(user_registry):
    assert promote("county-x@1.1.0", user_registry).spec == "county-x@1.1.0"
    assert load_model(registry=user_registry).version == "county-x@1.1.0"
    promote("county-x", user_registry)  # a name alone: its newest version
    assert current_default(user_registry) == "county-x@1.2.0"
    assert rollback(user_registry).spec == "county-x@1.1.0"
    assert load_model(registry=user_registry).version == "county-x@1.1.0"
    assert rollback(user_registry).spec == "default@2.29.0"
    with pytest.raises(RegistryError, match="nothing to roll back"):
        rollback(user_registry)
    log = read_pointer(user_registry)["log"]
    assert [e["action"] for e in log] == ["promote", "promote", "rollback", "rollback"]
    # versions themselves never changed
    assert (user_registry / "county-x" / "1.2.0" / "weights.npz").exists()


def test_promote_refuses_a_damaged_version(user_registry):
    with open(user_registry / "county-x" / "1.1.0" / "weights.npz", "ab") as f:
        f.write(b"\0")
    with pytest.raises(IntegrityError):
        promote("county-x@1.1.0", user_registry)
    assert not (user_registry / POINTER).exists()


def test_env_var_registry_is_used_by_load_model(user_registry, monkeypatch):
    promote("county-x@1.2.0", user_registry)
    monkeypatch.setenv("CRISIS_NLP_REGISTRY", str(user_registry))
    assert load_model().version == "county-x@1.2.0"
    assert load_model("default@2.0.0").version == "2.0.0"


def test_an_interrupted_promote_leaves_the_old_default(user_registry):
    promote("county-x@1.1.0", user_registry)
    before = (user_registry / POINTER).read_bytes()
    # a process killed after writing the new pointer's temporary file, before the rename
    code = ("import os, crisis_nlp.registry.lifecycle as L; "
            "L.os.replace = lambda *a: os.kill(os.getpid(), 9); "
            f"L.promote('county-x@1.2.0', {str(user_registry)!r})")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert p.returncode == -9
    assert (user_registry / POINTER).read_bytes() == before
    assert [f.name for f in user_registry.iterdir() if f.name.endswith(".tmp")]  # the half-done write is there
    assert load_model(registry=user_registry).version == "county-x@1.1.0"
    assert promote("county-x@1.2.0", user_registry).spec == "county-x@1.2.0"  # and the next one works
    assert current_default(user_registry) == "county-x@1.2.0"


def test_a_failed_rename_cleans_up(user_registry, monkeypatch):
    import crisis_nlp.registry.lifecycle as L

    def boom(*a):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(L.os, "replace", boom)
    with pytest.raises(OSError):
        promote("county-x@1.1.0", user_registry)
    assert current_default(user_registry) is None
    assert not [f for f in user_registry.iterdir() if f.name.endswith(".tmp")]


def test_a_hand_damaged_pointer_is_reported(user_registry):
    (user_registry / POINTER).write_text("{not json")
    with pytest.raises(IntegrityError, match="delete it"):
        load_model(registry=user_registry)


def test_cli_models_list_promote_rollback(user_registry):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "crisis_nlp.cli", "models", *args], capture_output=True,
                              text=True, timeout=120)

    p = run("promote", "county-x@1.1.0", "--registry", str(user_registry))
    assert p.returncode == 0 and "county-x@1.1.0 is now the default" in p.stdout
    p = run("--registry", str(user_registry))
    assert p.returncode == 0 and "county-x@1.1.0 (default)" in p.stdout and "default@2.0.0" in p.stdout
    assert json.loads((user_registry / POINTER).read_text())["stack"] == ["county-x@1.1.0"]
    p = run("rollback", "--registry", str(user_registry))
    assert p.returncode == 0 and "back to default@2.29.0" in p.stdout
    p = run("rollback", "--registry", str(user_registry))
    assert p.returncode == 1 and "nothing to roll back" in p.stderr
