import pytest

from crisis_nlp.errors import LabelError
from crisis_nlp.labels import (
    CATEGORIES, FLAGS, RESPONSE_MODES, validate_categories, validate_flags, validate_response_mode,
)


def test_ids_match_the_taxonomy_document():
    text = (__import__("pathlib").Path(__file__).resolve().parents[2] / "shared" / "taxonomy.md")
    if not text.exists():
        pytest.skip("shared/taxonomy.md is not beside the checkout")  # the contract lives outside the repo
    doc = text.read_text()
    for ident in CATEGORIES + FLAGS + RESPONSE_MODES:
        assert f"`{ident}`" in doc


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
