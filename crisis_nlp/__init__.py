"""crisis_nlp: recognise behavioural-health crisis calls in emergency call notes.

    >>> from crisis_nlp import load_model
    >>> model = load_model()
    >>> r = model.classify("subj on bridge rail threatening to jump, denies weapons")
    >>> r.categories, r.flags, r.response_mode

Decision support for trained call-takers and clinicians, not a dispatcher.
"""

from typing import TYPE_CHECKING, Any

from .errors import (
    CrisisNLPError,
    DataFormatError,
    DataValidationError,
    IncompatibleModelError,
    InputError,
    IntegrityError,
    LabelError,
    ModelError,
    ModelNotFoundError,
    NotFittedError,
    OutputError,
    PolicyError,
    RegistryError,
)
from .labels import CATEGORIES, FLAGS, LABELS, RESPONSE_MODES, SCHEMA_VERSION
from .model.policy import ResponsePolicy
from .result import ClassificationResult

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .api import CrisisModel, load_model
    from .model.estimator import CrisisClassifier

# scikit-learn and spaCy take a second to import: load them on first use, not at import
_LAZY = {"CrisisModel": "api", "load_model": "api", "CrisisClassifier": "model.estimator"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'crisis_nlp' has no attribute {name!r}")

__all__ = [
    "CATEGORIES",
    "FLAGS",
    "LABELS",
    "RESPONSE_MODES",
    "SCHEMA_VERSION",
    "ClassificationResult",
    "CrisisClassifier",
    "CrisisModel",
    "CrisisNLPError",
    "DataFormatError",
    "DataValidationError",
    "IncompatibleModelError",
    "InputError",
    "IntegrityError",
    "LabelError",
    "ModelError",
    "ModelNotFoundError",
    "NotFittedError",
    "OutputError",
    "PolicyError",
    "RegistryError",
    "ResponsePolicy",
    "load_model",
]
