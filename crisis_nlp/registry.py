"""The model registry: versioned folders of (artifact, policy, manifest).

Layout: ``<registry>/<name>/<version>/{model.joblib, policy.toml, manifest.json}``. The
shipped registry is the repo's ``models/`` folder, installed as package data; another can
be chosen with ``registry=`` or the ``CRISIS_NLP_REGISTRY`` environment variable.

A joblib file is a pickle, and unpickling runs code: the artifact's sha256 is checked
against the manifest *before* it is opened, and the scikit-learn version that wrote it
must match the installed one. The manifest itself is not signed: whoever can write the
registry folder can replace both, so keep it read-only in production.

Search order: a version is looked up in the chosen registry (``registry=``, else
``$CRISIS_NLP_REGISTRY``) first and then in the shipped one, so a user registry that
holds only an agency's versions can still name, compare and fall back to
``default@1.0.0``. Which version ``load_model()`` returns is recorded by
:mod:`crisis_nlp.lifecycle` in the chosen registry (``promote`` / ``rollback``); with
nothing promoted it is the newest ``default`` version, as before.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.resources import files
from pathlib import Path
from typing import Any

from .errors import IncompatibleModelError, IntegrityError, ModelNotFoundError, RegistryError

ARTIFACT = "model.joblib"
POLICY = "policy.toml"
MANIFEST = "manifest.json"
CARD = "model_card.md"
DEFAULT_NAME = "default"
FORMAT_VERSION = 1
ENV_VAR = "CRISIS_NLP_REGISTRY"
_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


def default_registry() -> Path:
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    return shipped_registry()


def shipped_registry() -> Path:
    """The registry installed with the package (possibly read-only)."""
    try:
        return Path(str(files("crisis_nlp._models")))  # installed: package data
    except ModuleNotFoundError:  # imported from a source checkout: the repo's models/
        return Path(__file__).resolve().parent.parent / "models"


def parse_version(version: str) -> tuple[int, int, int]:
    m = _SEMVER.match(version)
    if not m:
        raise RegistryError(f"version {version!r} is not a semantic version like 1.2.0.")
    return int(m[1]), int(m[2]), int(m[3])


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def runtime_versions() -> dict[str, str]:
    import joblib
    import numpy
    import scipy
    import sklearn
    import spacy

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "spacy": spacy.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "joblib": joblib.__version__,
    }


@dataclass(frozen=True)
class ModelEntry:
    name: str
    version: str
    path: Path
    manifest: dict[str, Any]

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"


def _read_manifest(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelNotFoundError(f"{folder} has no {MANIFEST}; it is not a model version.") from None
    except json.JSONDecodeError as exc:
        raise IntegrityError(f"{folder / MANIFEST} is not valid JSON ({exc}); the version is damaged.") from None


def list_models(registry: str | Path | None = None) -> list[ModelEntry]:
    """Every version in the registry, sorted by name then semantic version."""
    root = Path(registry) if registry is not None else default_registry()
    entries: list[ModelEntry] = []
    if not root.is_dir():
        return entries
    for name_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
        for vdir in name_dir.iterdir():
            if vdir.is_dir() and _SEMVER.match(vdir.name) and (vdir / MANIFEST).exists():
                entries.append(ModelEntry(name_dir.name, vdir.name, vdir, _read_manifest(vdir)))
    return sorted(entries, key=lambda e: (e.name, parse_version(e.version)))


def search_roots(registry: str | Path | None = None) -> list[Path]:
    """The chosen registry, then the shipped one (once)."""
    root = Path(registry) if registry is not None else default_registry()
    shipped = shipped_registry()
    same = root.resolve() == shipped.resolve() if root.exists() and shipped.exists() else root == shipped
    return [root] if same else [root, shipped]


def list_all(registry: str | Path | None = None) -> list[ModelEntry]:
    """Every version on the search path; a name@version in the chosen registry hides the shipped one."""
    seen: set[str] = set()
    out: list[ModelEntry] = []
    for root in search_roots(registry):
        for e in list_models(root):
            if e.spec not in seen:
                seen.add(e.spec)
                out.append(e)
    return sorted(out, key=lambda e: (e.name, parse_version(e.version)))


def resolve(spec: str | None = None, registry: str | Path | None = None) -> ModelEntry:
    """Find a version: ``None`` = the promoted default (else the newest ``default``),
    ``"1.0.0"``, ``"name"`` (its newest) or ``"name@1.0.0"``; see the search order above."""
    root = Path(registry) if registry is not None else default_registry()
    if not spec:
        from .lifecycle import current_default

        spec = current_default(root)
    name, version = DEFAULT_NAME, None
    if spec:
        if "@" in spec:
            name, _, version = spec.partition("@")
        elif _SEMVER.match(spec):
            version = spec
        else:
            name = spec
    if version is not None:
        parse_version(version)
    everything = list_all(root)
    candidates = [e for e in everything if e.name == name]
    if version is not None:
        candidates = [e for e in candidates if e.version == version]
    if not candidates:
        known = ", ".join(e.spec for e in everything) or "none"
        wanted = f"{name}@{version}" if version else name
        where = " or ".join(str(r) for r in search_roots(root))
        raise ModelNotFoundError(
            f"no model version {wanted!r} in registry {where}; available: {known}. "
            "Run `crisis-nlp models` to list them or `crisis-nlp train` to build one."
        )
    return candidates[-1]


def verify(entry: ModelEntry) -> None:
    """Check file hashes and library compatibility; raise before anything is unpickled."""
    m = entry.manifest
    if m.get("format_version") != FORMAT_VERSION:
        raise IncompatibleModelError(
            f"{entry.spec} has artifact format {m.get('format_version')!r}; this crisis_nlp reads "
            f"format {FORMAT_VERSION}. Retrain it with `crisis-nlp train`."
        )
    for fname, key in ((ARTIFACT, "artifact_sha256"), (POLICY, "policy_sha256")):
        path = entry.path / fname
        if not path.exists():
            raise IntegrityError(f"{entry.spec}: {path} is missing; reinstall the package or retrain.")
        expected = m.get(key)
        actual = sha256_file(path)
        if not expected or actual != expected:
            raise IntegrityError(
                f"{entry.spec}: {fname} has sha256 {actual[:12]}..., the manifest says "
                f"{str(expected)[:12]}...; the file was changed or damaged and was NOT loaded. "
                "Reinstall the package or retrain the version."
            )
    want = str(m.get("versions", {}).get("scikit-learn", ""))
    have = runtime_versions()["scikit-learn"]
    if want.split(".")[:2] != have.split(".")[:2]:
        raise IncompatibleModelError(
            f"{entry.spec} was saved with scikit-learn {want}; scikit-learn {have} is installed. "
            f"Install scikit-learn=={want} (as pyproject.toml pins) or retrain with `crisis-nlp train`."
        )


def load_artifact(entry: ModelEntry) -> Any:
    """Verify, then unpickle the artifact."""
    import joblib

    verify(entry)
    return joblib.load(entry.path / ARTIFACT)


def save_version(
    artifact: Any,
    policy_toml: str,
    manifest: dict[str, Any],
    *,
    name: str = DEFAULT_NAME,
    version: str,
    registry: str | Path | None = None,
    card: Callable[[dict[str, Any]], str] | None = None,
) -> ModelEntry:
    """Write a new version; refuse to overwrite one that exists (versions are immutable).

    ``card`` renders the model card from the finished manifest; it is written next to it
    as documentation, outside the integrity check (it is never loaded or executed).
    """
    import joblib

    parse_version(version)
    if not re.match(r"^[a-z0-9][a-z0-9_.-]*$", name):
        raise RegistryError(f"model name {name!r}: use lower-case letters, digits, '-', '_' or '.'.")
    root = Path(registry) if registry is not None else default_registry()
    final = root / name / version
    if final.exists():
        raise RegistryError(f"{name}@{version} exists in {root}; versions are immutable, choose a new version.")
    tmp = root / name / f".{version}.partial"
    tmp.mkdir(parents=True, exist_ok=True)
    joblib.dump(artifact, tmp / ARTIFACT, compress=("xz", 6))
    (tmp / POLICY).write_text(policy_toml, encoding="utf-8")
    full = {
        "name": name,
        "version": version,
        "format_version": FORMAT_VERSION,
        "created": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        **manifest,
        "versions": runtime_versions(),
        "artifact_sha256": sha256_file(tmp / ARTIFACT),
        "artifact_bytes": (tmp / ARTIFACT).stat().st_size,
        "policy_sha256": sha256_file(tmp / POLICY),
    }
    (tmp / MANIFEST).write_text(json.dumps(full, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    if card is not None:
        (tmp / CARD).write_text(card(full), encoding="utf-8")
    os.replace(tmp, final)  # atomic: a version is there whole or not at all
    return ModelEntry(name, version, final, full)
