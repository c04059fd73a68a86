"""Text preprocessing for call notes: normalisation, personal-data masking, dispatch
shorthand, concepts and negation, on a blank English spaCy pipeline (no model download)."""

from .pipeline import (
    NoteAnalysis,
    NotePreprocessor,
    analyze,
    build_nlp,
    clean_text,
    note_features,
    plain_words,
)
from .text import mask_pii, normalize_text

__all__ = [
    "NoteAnalysis",
    "NotePreprocessor",
    "analyze",
    "build_nlp",
    "clean_text",
    "mask_pii",
    "normalize_text",
    "note_features",
    "plain_words",
]
