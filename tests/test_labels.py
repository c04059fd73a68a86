import pytest

from crisis_nlp.errors import LabelError
from crisis_nlp.labels import (
    CATEGORIES, FLAGS, RESPONSE_MODES, validate_categories, validate_flags, validate_response_mode,
)


ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
VENDORED = ROOT / "docs" / "taxonomy.md"  # a copy of the contract, so this runs on any checkout
SHARED = ROOT.parent / "shared" / "taxonomy.md"  # the contract itself, beside the checkout on our machines


def test_ids_match_the_taxonomy_document():
    doc = VENDORED.read_text(encoding="utf-8")
    assert "Schema 1.1" in doc
    for ident in CATEGORIES + FLAGS + RESPONSE_MODES:
        assert f"`{ident}`" in doc


def test_the_vendored_taxonomy_is_the_shared_contract():
    if not SHARED.exists():  # a clean clone elsewhere: only the vendored copy is there to check
        pytest.skip("shared/taxonomy.md is not beside the checkout; docs/taxonomy.md is checked on its own")
    assert VENDORED.read_text(encoding="utf-8") == SHARED.read_text(encoding="utf-8"), (
        "shared/taxonomy.md changed: copy it to docs/taxonomy.md and update crisis_nlp/labels.py")


def test_validation_orders_and_dedups():
    assert validate_categories(["veteran", "suicidal", "suicidal"]) == ["suicidal", "veteran"]
    assert validate_flags(["medical", "weapon"]) == ["weapon", "medical"]


@pytest.mark.parametrize("bad", [["suicide"], ["weapon"], [None], "suicidal"])
def test_unknown_or_malformed_categories_raise(bad):
    with pytest.raises(LabelError):
        validate_categories(bad)


def test_unknown_response_mode_names_the_allowed_ones():
    with pytest.raises(LabelError, match="co_responder"):
        validate_response_mode("police")
