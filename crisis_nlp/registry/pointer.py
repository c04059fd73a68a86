"""The default pointer of a registry (``<registry>/default.json``): which version
``load_model()`` returns. Read here; written by :mod:`crisis_nlp.registry.lifecycle`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import IntegrityError

POINTER = "default.json"
POINTER_FORMAT = 1


def read_pointer_file(root: Path) -> dict[str, Any]:
    """The pointer file's content in registry ``root`` (an empty stack when there is none)."""
    path = Path(root) / POINTER
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"format": POINTER_FORMAT, "stack": [], "log": []}
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IntegrityError(
            f"{path} is not valid JSON ({exc}); it was not written by crisis-nlp. Restore it from a "
            "backup or delete it (the default then falls back to the newest shipped version)."
        ) from None
    if not isinstance(state, dict) or not isinstance(state.get("stack"), list):
        raise IntegrityError(f"{path} has no 'stack' list; restore it from a backup or delete it.")
    state.setdefault("log", [])
    return state


def promoted_spec(root: Path) -> str | None:
    """The promoted spec (``name@version``) in registry ``root``, or ``None``."""
    stack = read_pointer_file(root)["stack"]
    return stack[-1] if stack else None
