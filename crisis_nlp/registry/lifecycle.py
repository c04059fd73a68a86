"""Which version is the default: promote and roll back, recorded in the registry.

Versions never change; only a small pointer file, ``<registry>/default.json``, says which
one :func:`crisis_nlp.load_model` returns. It holds a stack of promoted specs (the last
is the default; ``rollback`` pops it) and a log of every change. It is rewritten whole
(temporary file, fsync, ``os.replace``), so a promote or rollback that is interrupted
leaves either the old pointer or the new one, never half of one. With no pointer (or an
empty stack) the default is the newest ``default`` version, as before promotion existed.

Two promotes racing on one registry can lose one of them (last writer wins); run them
one at a time.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import RegistryError
from .pointer import POINTER, POINTER_FORMAT, promoted_spec, read_pointer_file
from .versions import DEFAULT_NAME, ModelEntry, default_registry, resolve, verify

def _root(registry: str | Path | None) -> Path:
    return Path(registry) if registry is not None else default_registry()


def read_pointer(registry: str | Path | None = None) -> dict[str, Any]:
    """The pointer file's content (an empty stack when there is none)."""
    return read_pointer_file(_root(registry))


def current_default(registry: str | Path | None = None) -> str | None:
    """The promoted spec (``name@version``), or ``None`` when nothing is promoted."""
    return promoted_spec(_root(registry))


def _write_pointer(root: Path, state: dict[str, Any]) -> None:
    """Replace the pointer file atomically: a reader sees the old file or the new one."""
    root.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".default.", suffix=".tmp", dir=root)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(state, indent=2) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, root / POINTER)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable
        dfd = os.open(root, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:  # some platforms cannot fsync a directory
        pass


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def promote(spec: str, registry: str | Path | None = None) -> ModelEntry:
    """Make ``spec`` what ``load_model()`` returns. The version is verified first."""
    root = _root(registry)
    entry = resolve(spec, root)
    verify(entry)  # never point the default at a damaged or incompatible version
    state = read_pointer(root)
    if state["stack"] and state["stack"][-1] == entry.spec:
        return entry
    previous = state["stack"][-1] if state["stack"] else None
    state["stack"].append(entry.spec)
    state["log"].append({"action": "promote", "spec": entry.spec, "previous": previous, "at": _now()})
    state["format"] = POINTER_FORMAT
    _write_pointer(root, state)
    return entry


def rollback(registry: str | Path | None = None) -> ModelEntry:
    """Return the default to what it was before the last promote."""
    root = _root(registry)
    state = read_pointer(root)
    if not state["stack"]:
        raise RegistryError(
            f"nothing to roll back in {root}: no version was promoted there. "
            "`crisis-nlp models` shows the versions and the current default."
        )
    gone = state["stack"].pop()
    now = state["stack"][-1] if state["stack"] else None
    entry = resolve(now or DEFAULT_NAME, root)  # fails (and writes nothing) if the previous one is gone
    state["log"].append({"action": "rollback", "spec": now, "previous": gone, "at": _now()})
    _write_pointer(root, state)
    return entry
