"""The result of classifying one note, and its JSON form."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

RESULT_KEYS = ("categories", "flags", "response_mode", "scores", "reason", "model_version")


@dataclass(frozen=True)
class ClassificationResult:
    """What the model says about one note.

    ``scores`` holds a probability for every category and flag (not only the predicted
    ones); ``reason`` names the policy rule that chose ``response_mode`` and the words
    that drove the labels.
    """

    categories: list[str]
    flags: list[str]
    response_mode: str
    scores: dict[str, float]
    reason: str
    model_version: str

    @property
    def is_behavioural_health(self) -> bool:
        return bool(self.categories)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in RESULT_KEYS}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)
