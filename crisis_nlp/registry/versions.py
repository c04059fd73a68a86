"""The model registry: versioned folders of plain data.

Layout: ``<registry>/<name>/<version>/`` holding ``manifest.json``, the learned arrays
(``model.json``, ``vocabulary.json``, ``weights.npz``: see :mod:`crisis_nlp.model.artifact`),
``policy.toml`` and ``rules/`` (a snapshot of every preprocessing table the version was
trained with). The manifest records the sha256 of every one of those files, and each is
checked before anything is read. Nothing in a version is a pickle, so a version that
someone else trained is data, not code.

Where versions live:
- the *shipped* registry, the repo's ``models/`` folder installed as package data
  (read-only);
- the *user* registry, where ``train``, ``retrain`` and ``promote`` write: ``--registry``
  / ``registry=``, else ``$CRISIS_NLP_REGISTRY``, else a per-user data folder
  (``platformdirs.user_data_dir("crisis-nlp")/models``). Nothing is ever written into
  site-packages.

A version is looked up in the user registry first and then in the shipped one, so a
user registry that holds only an agency's versions can still name, compare and fall
back to ``default@2.0.0``. Which version ``load_model()`` returns is recorded by
:mod:`crisis_nlp.registry.lifecycle` in the user registry (``promote`` / ``rollback``); with
nothing promoted it is the newest shipped ``default`` version.

The manifest is not signed: whoever can write the registry folder can replace a version
(but not make it run code). Keep production registries read-only.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.resources import files
from pathlib import Path
from typing import Any

from ..model.artifact import FILES as ARRAY_FILES
from ..model.artifact import ModelArrays
from .pointer import promoted_spec
from ..errors import IncompatibleModelError, IntegrityError, ModelNotFoundError, RegistryError

POLICY = "policy.toml"
MANIFEST = "manifest.json"
CARD = "model_card.md"
RULES = "rules"
LEGACY_ARTIFACT = "model.joblib"  # format 1: a pickle; never loaded, only converted on request
DEFAULT_NAME = "default"
FORMAT_VERSION = 2
ENV_VAR = "CRISIS_NLP_REGISTRY"
_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*\Z")


def default_registry() -> Path:
    """The user registry: ``$CRISIS_NLP_REGISTRY``, else a per-user data folder."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("crisis-nlp", appauthor=False)) / "models"


def registry_for_reading(registry: str | Path | None) -> Path:
    """The registry to search first; one named explicitly must exist."""
    default = default_registry()
    if registry is None:
        return default  # (may not exist yet: nothing trained or promoted there)
    root = Path(registry)
    if not root.is_dir() and root != default:
        raise RegistryError(f"registry folder {root} does not exist; check --registry / {ENV_VAR} "
                            "(a registry is created by `crisis-nlp train --registry DIR`).")
    return root


def shipped_registry() -> Path:
    """The registry installed with the package (possibly read-only)."""
    try:
        return Path(str(files("crisis_nlp._models")))  # installed: package data
    except ModuleNotFoundError:  # imported from a source checkout: the repo's models/
        return Path(__file__).resolve().parents[2] / "models"


def parse_version(version: str) -> tuple[int, int, int]:
    m = _SEMVER.match(version) if isinstance(version, str) and version.isascii() else None
    if not m or version != version.strip():
        raise RegistryError(f"version {version!r} is not a semantic version like 1.2.0.")
    return int(m[1]), int(m[2]), int(m[3])


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def runtime_versions() -> dict[str, str]:
    import numpy
    import scipy
    import spacy

    out = {"python": platform.python_version(), "spacy": spacy.__version__,
           "numpy": numpy.__version__, "scipy": scipy.__version__}
    try:  # recorded when present (it is, wherever a version is trained); not needed to classify
        import sklearn

        out["scikit-learn"] = sklearn.__version__
    except ImportError:
        pass
    return out


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
    if not root.is_dir():  # (an explicit registry is checked by registry_for_reading)
        return entries
    for name_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
        for vdir in name_dir.iterdir():
            if vdir.is_dir() and _SEMVER.match(vdir.name) and (vdir / MANIFEST).exists():
                entries.append(ModelEntry(name_dir.name, vdir.name, vdir, _read_manifest(vdir)))
    return sorted(entries, key=lambda e: (e.name, parse_version(e.version)))


def search_roots(registry: str | Path | None = None) -> list[Path]:
    """The chosen registry, then the shipped one (once)."""
    root = registry_for_reading(registry)
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
    root = registry_for_reading(registry)
    if not spec:
        spec = promoted_spec(root)
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


def version_files(folder: Path) -> list[str]:
    """Every file of a version that inference reads, relative to its folder, sorted."""
    names = [*ARRAY_FILES, POLICY]
    rules = folder / RULES
    if rules.is_dir():
        names += sorted(f"{RULES}/{p.name}" for p in rules.iterdir() if p.is_file())
    return names


def verify(entry: ModelEntry) -> None:
    """Check the format and every file's sha256 against the manifest; raise before
    anything is read. A file that inference would read and the manifest does not list
    is refused too (nothing unhashed is ever used)."""
    m = entry.manifest
    fmt = m.get("format_version")
    if fmt == 1 or (entry.path / LEGACY_ARTIFACT).exists():
        raise IncompatibleModelError(
            f"{entry.spec} is a format-1 version (a pickled model.joblib), which crisis_nlp no longer "
            "loads: unpickling runs code. If you trust where it came from, convert it once with "
            f"`crisis-nlp models convert {entry.spec} --trust-pickle`, or retrain it."
        )
    if fmt != FORMAT_VERSION:
        raise IncompatibleModelError(
            f"{entry.spec} has format {fmt!r}; this crisis_nlp reads format {FORMAT_VERSION}. "
            "Install the crisis_nlp release that wrote it, or retrain it with `crisis-nlp train`."
        )
    listed = m.get("files")
    if not isinstance(listed, dict):
        raise IntegrityError(f"{entry.spec}: the manifest lists no file hashes; the version was NOT loaded.")
    unlisted = [f for f in version_files(entry.path) if f not in listed]
    if unlisted:
        raise IntegrityError(f"{entry.spec}: {', '.join(unlisted)} not listed in the manifest; "
                             "the version was changed after it was written and was NOT loaded.")
    for fname, expected in listed.items():
        path = entry.path / fname
        if ".." in Path(fname).parts or not path.is_file():
            raise IntegrityError(f"{entry.spec}: {fname} is missing; reinstall the package or retrain.")
        actual = sha256_file(path)
        if actual != expected:
            raise IntegrityError(
                f"{entry.spec}: {fname} has sha256 {actual[:12]}..., the manifest says "
                f"{str(expected)[:12]}...; the file was changed or damaged and was NOT loaded. "
                "Reinstall the package or retrain the version."
            )
    unknown = unknown_tables(entry.path)
    if unknown:
        raise IncompatibleModelError(
            f"{entry.spec} was trained with rule tables this crisis_nlp does not know ({', '.join(unknown)}), "
            "so it would classify differently from how it was trained. Upgrade crisis_nlp to the release "
            "that trained it (see the manifest's 'versions'), or retrain the version with this one."
        )


def unknown_tables(folder: Path) -> list[str]:
    """Rule tables in a version's snapshot that this release's preprocessing never reads
    (a version trained by a newer crisis_nlp): loading it would silently drop them."""
    from ..resources import rule_files

    rules = folder / RULES
    if not rules.is_dir():
        return []
    known = {p.name for p in rule_files()}
    return sorted(f"{RULES}/{p.name}" for p in rule_files(rules) if p.name not in known)


def load_arrays(entry: ModelEntry) -> ModelArrays:
    """Verify every file, then read the learned arrays (no pickle anywhere)."""
    verify(entry)
    return ModelArrays.read(entry.path)


def rules_dir(entry: ModelEntry) -> Path | None:
    """The version's snapshot of preprocessing tables (None for a version without one)."""
    folder = entry.path / RULES
    return folder if folder.is_dir() else None


def save_version(
    arrays: ModelArrays,
    policy_toml: str,
    manifest: dict[str, Any],
    *,
    name: str = DEFAULT_NAME,
    version: str,
    registry: str | Path | None = None,
    rules: Iterable[Path] = (),
    card: Callable[[dict[str, Any]], str] | None = None,
) -> ModelEntry:
    """Write a new version; refuse to overwrite one that exists (versions are immutable).

    ``rules``: the preprocessing table files to snapshot into ``rules/`` (they are what
    the version's features were made with). ``card`` renders the model card from the
    finished manifest; it is written next to it as documentation, outside the integrity
    check (it is never read by inference).
    """
    check_name(name)
    parse_version(version)
    root = Path(registry) if registry is not None else default_registry()
    final = root / name / version
    if final.exists():
        raise RegistryError(f"{name}@{version} exists in {root}; versions are immutable, choose a new version.")
    tmp = root / name / f".{version}.partial"
    try:
        if tmp.exists():
            shutil.rmtree(tmp)
        (tmp / RULES).mkdir(parents=True)
        arrays.write(tmp)
        (tmp / POLICY).write_text(policy_toml, encoding="utf-8")
        for src in rules:
            shutil.copyfile(src, tmp / RULES / Path(src).name)
        full = {
            "name": name,
            "version": version,
            "format_version": FORMAT_VERSION,
            "created": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
            **manifest,
            "versions": runtime_versions(),
            "files": {f: sha256_file(tmp / f) for f in version_files(tmp)},
            "bytes": sum((tmp / f).stat().st_size for f in version_files(tmp)),
        }
        (tmp / MANIFEST).write_text(json.dumps(full, indent=2, sort_keys=False) + "\n", encoding="utf-8")
        if card is not None:
            (tmp / CARD).write_text(card(full), encoding="utf-8")
        os.replace(tmp, final)  # atomic: a version is there whole or not at all
    except OSError as exc:
        raise RegistryError(f"cannot write {name}@{version} into {root} ({exc.strerror or exc}); "
                            "choose a writable folder with --registry.") from None
    return ModelEntry(name, version, final, full)


def model_digest(manifest: dict[str, Any]) -> str | None:
    """One sha256 for a whole version: of its files' hashes (None without a manifest)."""
    files_ = manifest.get("files")
    if not files_:
        return None
    return hashlib.sha256(json.dumps(files_, sort_keys=True).encode()).hexdigest()


def entry_from_folder(folder: str | Path) -> ModelEntry:
    """The version in ``folder`` (as a registry holds it: ``<name>/<version>/``)."""
    folder = Path(folder)
    # named by its folders, as list_models names it (a copied version keeps its manifest)
    return ModelEntry(folder.parent.name, folder.name, folder, _read_manifest(folder))


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise RegistryError(f"model name {name!r}: use lower-case letters, digits, '-', '_' or '.'.")
    return name
