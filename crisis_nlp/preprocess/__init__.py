"""Text preprocessing for call notes: normalisation, personal-data masking, dispatch
shorthand, concepts and their context (negated, possible, historical, hypothetical,
another person's), on a blank English spaCy pipeline (no model download)."""

from .components import ConceptMatch
from .pipeline import (
    CONCEPT_PREFIXES,
    MARKED_PREFIXES,
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
    "CONCEPT_PREFIXES",
    "ConceptMatch",
    "MARKED_PREFIXES",
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
