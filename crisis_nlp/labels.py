"""The label schema: the ids of ``shared/taxonomy.md`` and their validation.

These ids are a public contract (dispatch software stores them), so they live in one
place and change only with :data:`SCHEMA_VERSION`.
"""

from __future__ import annotations

from collections.abc import Iterable

from .errors import LabelError

SCHEMA_VERSION = "1.1"

CATEGORIES: tuple[str, ...] = (
    "suicidal",
    "anxiety_panic",
    "depression_isolation",
    "substance_use",
    "self_harm",
    "trauma_ptsd",
    "grief_loss",
    "resource_request",
    "veteran",
    "psychosis",
)
FLAGS: tuple[str, ...] = ("weapon", "violence", "medical")
RESPONSE_MODES: tuple[str, ...] = (
    "standard_dispatch",
    "crisis_line",
    "mobile_crisis",
    "co_responder",
    "law_enforcement",
    "ems",
)
#: Situational cues that the response policy needs besides the labels. The model
#: predicts them too, but they are not part of the public result.
CUES: tuple[str, ...] = (
    "violence_in_progress",
    "weapon_against_others",
    "public_place",
    "agitated_unknown_safety",
    "caller_is_person",
    "confused_unsafe",
    "wants_to_talk",
)
#: Labels whose misses cost most; thresholds favour their recall.
HIGH_RISK: tuple[str, ...] = ("suicidal", "self_harm", "weapon", "violence", "medical")

LABELS: tuple[str, ...] = CATEGORIES + FLAGS


def _validate(ids: Iterable[str], allowed: tuple[str, ...], kind: str) -> list[str]:
    if isinstance(ids, str):
        raise LabelError(f"{kind} must be a list of ids, got the string {ids!r}; wrap it in a list.")
    out: list[str] = []
    for i in ids:
        if not isinstance(i, str) or i not in allowed:
            raise LabelError(
                f"unknown {kind[:-1] if kind.endswith('s') else kind} id {i!r}; "
                f"allowed ids are: {', '.join(allowed)} (see shared/taxonomy.md)."
            )
        if i not in out:
            out.append(i)
    return out


def validate_categories(ids: Iterable[str]) -> list[str]:
    """Return the category ids in taxonomy order, raising :class:`LabelError` on unknown ids."""
    got = set(_validate(ids, CATEGORIES, "categories"))
    return [c for c in CATEGORIES if c in got]


def validate_flags(ids: Iterable[str]) -> list[str]:
    """Return the flag ids in taxonomy order, raising :class:`LabelError` on unknown ids."""
    got = set(_validate(ids, FLAGS, "flags"))
    return [f for f in FLAGS if f in got]


def validate_cues(ids: Iterable[str]) -> list[str]:
    got = set(_validate(ids, CUES, "cues"))
    return [c for c in CUES if c in got]


def validate_response_mode(mode: str) -> str:
    if mode not in RESPONSE_MODES:
        raise LabelError(
            f"unknown response mode {mode!r}; allowed: {', '.join(RESPONSE_MODES)}."
        )
    return mode
