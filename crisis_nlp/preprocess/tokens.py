"""What the components share about a ``Doc``: the extension keys their results live
under, the token arrays read once per note, and the tokenizer's special cases.

A module of its own so that the components (``components.py``) and the identity
normaliser (``identity.py``), which both need these, import it and not each other.

Extension values are stored where spaCy stores them (``doc.user_data`` under spaCy's own
key, see :func:`_ext_key`); the hot path reads that dict directly, because each
``doc._`` access builds an ``Underscore`` object: 6.7 us per read against 0.3 us
(measured, spaCy 3.8), which is several per cent of a 0.3 ms note.
"""

from collections.abc import Iterable

import numpy as np
from spacy.attrs import IS_PUNCT, IS_SPACE, LOWER, NORM
from spacy.language import Language
from spacy.tokens import Doc

_EXTENSIONS = ("concepts", "concept_modifiers", "concept_features", "negated", "context_triggers", "token_arrays")
for _name in _EXTENSIONS:
    Doc.set_extension(_name, default=None, force=True)


def _ext_key(name: str) -> tuple:
    """The ``doc.user_data`` key under which spaCy keeps the value of ``doc._.<name>``
    (a test checks that it still does)."""
    return ("._.", name, None, None)


CONCEPTS = _ext_key("concepts")
MODIFIERS = _ext_key("concept_modifiers")
CONCEPT_FEATURES = _ext_key("concept_features")
NEGATED = _ext_key("negated")
TRIGGERS = _ext_key("context_triggers")
ARRAYS = _ext_key("token_arrays")

# columns of token_arrays()
LOWER_COL, NORM_COL, PUNCT_COL, SPACE_COL = range(4)


def token_arrays(doc: Doc) -> np.ndarray:
    """(LOWER, NORM, IS_PUNCT, IS_SPACE) per token, read from the ``Doc`` once and shared
    by the components and the features (each ``Doc.to_array`` costs microseconds).

    A component that changes norms (``crisis_nlp_shorthand``, typo corrections in
    ``crisis_nlp_concepts``) keeps the NORM column in step.
    """
    arr = doc.user_data.get(ARRAYS)
    if arr is None or len(arr) != len(doc):
        arr = doc.user_data[ARRAYS] = doc.to_array([LOWER, NORM, IS_PUNCT, IS_SPACE])
    return arr


def add_special_cases(nlp: Language, strings: Iterable[str]) -> None:
    """Keep shorthand with punctuation ('w/o', 'c/o', 'a&o') as one token, in any case.

    A string that the tokenizer already keeps whole ('w/', 'w/o') gets no rule: such a
    rule changes no token, but each hit stops spaCy from caching the rest of the note's
    words, which made notes with 'w/' twice as slow to tokenize.
    """
    tokenizer = nlp.tokenizer
    for s in strings:
        for variant in sorted({s, s.upper(), s.capitalize()}):
            if [t.text for t in tokenizer(variant)] != [variant]:
                tokenizer.add_special_case(variant, [{"ORTH": variant}])
