import hashlib
import json
import sys
from collections import Counter

import pytest

from crisis_nlp.io import read_records
from crisis_nlp.labels import CATEGORIES
from crisis_nlp.policy import ResponsePolicy

from conftest import DATA, ROOT

sys.path.insert(0, str(ROOT / "training_data_synthetic"))
import generate  # noqa: E402


def test_same_seed_same_notes_other_seed_other_notes():
    a = generate.generate(n=500, seed=1)
    b = generate.generate(n=500, seed=1)
    c = generate.generate(n=500, seed=2)
    assert a == b
    assert [r["text"] for r in a] != [r["text"] for r in c]


def test_committed_data_is_what_the_generator_makes():
    notes = generate.generate()  # defaults = what produced the committed file
    data = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in notes).encode()
    import gzip

    assert hashlib.sha256(data).hexdigest() == hashlib.sha256(gzip.open(DATA).read()).hexdigest()


@pytest.fixture(scope="module")
def committed():
    return list(read_records(DATA))


def test_committed_data_shape(committed):
    n = len(committed)
    assert n >= 30000
    non_bh = sum(1 for r in committed if not r["categories"])
    assert non_bh / n >= 0.30
    assert sum(1 for r in committed if not r["categories"] and r["flags"]) > 1000  # flags on non-BH calls
    assert sum(1 for r in committed if len(r["categories"]) >= 2) / n > 0.25
    styles = Counter(r["style"] for r in committed)
    banks = Counter(r["bank"] for r in committed)
    assert len(styles) >= 10 and len(banks) >= 4
    assert all(r["family"] == f"{r['style']}|{r['bank']}" for r in committed)
    assert DATA.stat().st_size < 20 * 2**20


def test_labels_are_consistent_with_the_policy(committed):
    policy = ResponsePolicy.default()
    for r in committed[:3000]:
        assert set(r["categories"]) <= set(CATEGORIES)
        assert policy.decide(r["categories"], r["flags"], r["cues"]).mode == r["response_mode"]


def test_no_exact_duplicate_texts(committed):
    texts = [r["text"] for r in committed]
    assert len(set(texts)) == len(texts)
