"""crisis_nlp: recognise behavioural-health crisis calls in emergency call notes.

    >>> from crisis_nlp import load_model
    >>> model = load_model()
    >>> r = model.classify("subj on bridge rail threatening to jump, denies weapons")
    >>> r.categories, r.flags, r.response_mode

Decision support for trained call-takers and clinicians, not a dispatcher.
"""

from .api import CrisisModel, load_model
from .errors import (
    CrisisNLPError,
    DataFormatError,
    IncompatibleModelError,
    InputError,
    IntegrityError,
    LabelError,
    ModelError,
    ModelNotFoundError,
    NotFittedError,
    PolicyError,
    RegistryError,
)
from .labels import CATEGORIES, FLAGS, LABELS, RESPONSE_MODES, SCHEMA_VERSION
from .model import CrisisClassifier
from .policy import ResponsePolicy
from .result import ClassificationResult

__version__ = "0.1.0"

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
    "IncompatibleModelError",
    "InputError",
    "IntegrityError",
    "LabelError",
    "ModelError",
    "ModelNotFoundError",
    "NotFittedError",
    "PolicyError",
    "RegistryError",
    "ResponsePolicy",
    "load_model",
]
