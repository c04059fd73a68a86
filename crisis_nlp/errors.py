"""All exceptions raised by crisis_nlp.

One hierarchy so that callers can catch :class:`CrisisNLPError` and know it came from
us; each message says what to do next. Only the CLI turns these into exit codes.
"""

from __future__ import annotations


class CrisisNLPError(Exception):
    """Base class of every error raised on purpose by crisis_nlp."""


class LabelError(CrisisNLPError, ValueError):
    """A label id is not in the taxonomy (or a label list is malformed)."""


class InputError(CrisisNLPError, ValueError):
    """A note or an input file cannot be used as given."""


class DataFormatError(InputError):
    """An input file is not in a format we can read (JSONL or CSV)."""


class DataValidationError(InputError):
    """Labelled training data has problems; ``problems`` lists each (row number, message)."""

    def __init__(self, message: str, problems: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class NotFittedError(CrisisNLPError, AttributeError):
    """A trainable object was used before ``fit``."""


class ModelError(CrisisNLPError):
    """Base class for problems with a stored model version."""


class ModelNotFoundError(ModelError, LookupError):
    """The requested model version is not in the registry."""


class IntegrityError(ModelError):
    """A model artifact does not match the sha256 in its manifest; it was not loaded."""


class IncompatibleModelError(ModelError):
    """The model was saved with library versions we cannot safely load."""


class RegistryError(ModelError):
    """The registry cannot be written as asked (for example, a version exists already)."""


class PolicyError(CrisisNLPError, ValueError):
    """A response-policy table is malformed."""


class OutputError(CrisisNLPError):
    """An output file or its journal folder cannot be written (or resumed) as asked."""
