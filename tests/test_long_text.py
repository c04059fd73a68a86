"""Evidence must not pile up with length.

A long text of everyday words is no more a crisis than a short one. Three hand-written
sets, by writers who never saw the generator, its phrase banks or its narratives:

- ``long_everyday.jsonl``: 90 forum posts of 250-900 words that are not about mental
  health (car and home repair; cooking, pets and family; tech, sport and travel);
- ``long_cad.jsonl``: 40 multi-update CAD pages of 180-350 words, 25 ordinary calls and
  15 with a crisis in one or two of their updates, labelled by the taxonomy;
- the gold sets' ordinary calls, joined six at a time into one long page.

The bar to beat is a keyword list: it called 27% of real non-mental-health forum posts
behavioural-health calls (the model of stop 15: 88%; default@2.0.0 on these posts: 90/90;
default@2.1.0: 13/90; default@2.2.0: 15/90; default@2.3.0: 20/90; default@2.4.0: 6/90;
default@2.5.0: 7/90).
"""

import json
import random

import pytest

from crisis_nlp.training.evaluate import compute_metrics

from conftest import GOLD

DATA = GOLD.parent
# Floors: what default@2.4.0 measured, rounded to leave one note of slack at most, and for
# posts, long crisis pages and joined pages what default@2.28.0 measured: 3 of 90 posts (3.3%;
# 2.27.0: 3, 2.26.0: 3, 2.25.0: 3, 2.24.0: 3, 2.23.0: 3, 2.22.0: 4, 2.21.0: 5, 2.20.0: 5, 2.19.0: 5, 2.18.0: 6, 2.17.0: 6, 2.16.0: 6, 2.15.0: 6, 2.14.0: 5, 2.13.0: 4, 2.12.0: 6, 2.11.0: 6, 2.10.0: 6, 2.9.0: 8, 2.8.0: 9, 2.7.0: 7, 2.6.0: 7, 2.5.0: 7,
# 2.4.0: 6, 2.3.0: 20, 2.2.0: 15, 2.1.0: 13); 0 of 25 ordinary long pages (2.4.0-2.17.0: 0;
# 2.18.0: 1, lc-035, a motorcycle crash with LIFE FLIGHT and a rope rescue, suicidal 0.082
# against its threshold of 0.08); 14 of 15 crisis pages found (2.15.0-2.21.0: 15; 2.23.0-2.28.0 miss
# lc-017's mushroom paranoia under the shared threshold: README 'What is bad'; 2.22.0: 13, also
# lc-034's self-cutting, which the self_harm companion finds; 2.14.0: 14, missing lc-006, whose voices 2.15.0's psychosis pattern was written
# for; 2.13.0: 13, 2.12.0: 14, 2.11.0 and 2.10.0: 13). Joined
# pages, since stop 30 four samples of 300 (one sample moved by up to six pages between two
# models of equal ranking): 6 of 1,200 (0.5%; 2.27.0: 6, 2.26.0: 13, 2.25.0: 13, 2.24.0: 13, 2.23.0: 13, 2.22.0: 6, 2.21.0: 16, 2.20.0: 16, 2.19.0: 16, 2.18.0: 15, 2.17.0: 19, 2.16.0: 24, 2.15.0: 23, 2.14.0: 21; 2.13.0: 52, 4.3%; 2.12.0: 74, 6.2%;
# 2.11.0: 67, 5.6%). Since 2.10.0 a note over 64 tokens is also read in stretches and each score is
# the lower of the whole and the best stretch (crisis_nlp/model/stretches.py). The posts
# figure is partly in-sample: four of the 2.4.0 table fixes ("in the end it", "came up with a
# plan", "jumper" as a sweater or a pin) were found on these posts; the joined figure partly
# too: 2.13.0's shop-razor block ("razor cartridges") names the wording of the ordinary gold
# note that most often set self_harm on joined pages, and 2.14.0's stolen-drug rule was
# written for the pharmacy thefts that set substance_use there. The targets set with these
# sets: posts <= 10% (met); joined pages <= 5% (met by 2.13.0-2.28.0).
FLOORS = {
    "everyday_posts_labelled_crisis": 0.10,
    "long_cad_other_labelled_crisis": 0.04,
    "long_cad_crisis_found": 0.86,
    "joined_clean_notes_labelled_crisis": 0.03,
}


def _load(name):
    return [json.loads(x) for x in (DATA / name).read_text(encoding="utf-8").splitlines() if x.strip()]


def test_the_long_sets_are_long_varied_and_valid():
    posts = _load("long_everyday.jsonl")
    assert len(posts) == 90 and len({p["id"] for p in posts}) == 90
    assert len({p["source"] for p in posts}) == 3
    assert min(len(p["text"].split()) for p in posts) >= 200
    pages = _load("long_cad.jsonl")
    assert len(pages) == 40 and min(len(p["text"].split()) for p in pages) >= 150
    assert sum(1 for p in pages if p["categories"]) == 15


def test_long_everyday_posts_are_not_crisis_calls(model):
    posts = _load("long_everyday.jsonl")
    results = model.classify_batch([p["text"] for p in posts], explain=False)
    called = [p["id"] for p, r in zip(posts, results) if r.categories]
    assert len(called) / len(posts) <= FLOORS["everyday_posts_labelled_crisis"], called


def test_long_cad_pages_keep_the_crisis_in_one_update_and_only_it(model):
    pages = _load("long_cad.jsonl")
    results = model.classify_batch([p["text"] for p in pages], explain=False)
    m = compute_metrics(pages, [r.to_dict() for r in results])
    assert m["other_calls_labelled_crisis"] <= FLOORS["long_cad_other_labelled_crisis"]
    found = sum(1 for p, r in zip(pages, results) if p["categories"] and r.categories)
    assert found / sum(1 for p in pages if p["categories"]) >= FLOORS["long_cad_crisis_found"]


def test_ordinary_notes_joined_stay_ordinary(model):
    """Six ordinary calls that are each read as no crisis, joined into one page, are still
    read as no crisis: weak evidence does not add up with length."""
    gold = [g for name in ("gold.jsonl", "gold_cad.jsonl") for g in _load(name) if not g["categories"]]
    alone = model.classify_batch([g["text"] for g in gold], explain=False)
    clean = [g["text"] for g, r in zip(gold, alone) if not r.categories]
    assert len(clean) >= 200
    pages = []
    for seed in range(4):  # one sample of 300 is too few: it moved by up to six pages between models
        rng = random.Random(seed)
        pages += ["\n".join(rng.sample(clean, 6)) for _ in range(300)]
    called = sum(1 for r in model.classify_batch(pages, explain=False) if r.categories)
    assert called / len(pages) <= FLOORS["joined_clean_notes_labelled_crisis"]


@pytest.mark.parametrize("k", [1, 5, 20])
def test_a_repeated_note_scores_as_the_note(model, k):
    """The same ordinary note written k times is the same evidence: no category appears."""
    note = "RP advises the neighbor's car alarm has been going off for an hour, no one around, requests a unit"
    assert model.classify(" ".join([note] * k)).categories == []
