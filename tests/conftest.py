import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "tests" / "data" / "gold.jsonl"
DATA = ROOT / "training_data_synthetic" / "notes.jsonl.gz"
#: the command line with a pause after the N-th relabel part written (N comes first;
#: tests/pausing_cli.py): the pause lives in the tests, not in the library
PAUSING_CLI = [sys.executable, str(ROOT / "tests" / "pausing_cli.py")]


@pytest.fixture(scope="session")
def model():
    from crisis_nlp import load_model

    return load_model()


@pytest.fixture(scope="session")
def gold():
    return [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def small_labelled():
    """A few hundred synthetic notes from every style and bank (for quick fits)."""
    import sys

    sys.path.insert(0, str(ROOT / "training_data_synthetic"))
    from generate import generate

    return generate(n=1200, seed=7)


@pytest.fixture(autouse=True)
def _user_registry_in_tmp(tmp_path_factory, monkeypatch):
    """No test writes into the real per-user registry: $CRISIS_NLP_REGISTRY points at an
    empty folder of the test session (tests that need another set it themselves)."""
    monkeypatch.setenv("CRISIS_NLP_REGISTRY", str(tmp_path_factory.getbasetemp() / "user-registry"))
