"""An edit of the concept lexicon must not drop phrases by accident.

Stop 41: a script that added a new concept to ``concepts.json`` also deleted six phrases of
two others ("hanging {himself}" from SUICIDE among them); the unit tests, CI and the slow
reproduction test all passed, because each checks the package against itself or against a
version trained from it. This test compares the package's table with the snapshot of the
newest shipped version (``models/default/<newest>/rules/concepts.json``), so a lost phrase
fails the fast suite before a training is started. A phrase removed on purpose is listed
below, with why, until a version trained without it ships.
"""

import json

from conftest import ROOT

from crisis_nlp.resources import read_text

#: concept -> phrases removed on purpose (empty: none pending)
REMOVED_ON_PURPOSE: dict[str, set[str]] = {}


def _newest_shipped_concepts() -> tuple[str, dict[str, list[str]]]:
    versions = [p for p in (ROOT / "models" / "default").iterdir() if (p / "rules" / "concepts.json").is_file()]
    newest = max(versions, key=lambda p: tuple(int(x) for x in p.name.split(".")))
    return newest.name, json.loads((newest / "rules" / "concepts.json").read_text(encoding="utf-8"))["concepts"]


def _lost(shipped: dict[str, list[str]], package: dict[str, list[str]]) -> dict[str, list[str]]:
    """Phrases of ``shipped`` that ``package`` no longer has and that were not removed on purpose."""
    lost = {concept: sorted(set(phrases) - set(package.get(concept, ())) - REMOVED_ON_PURPOSE.get(concept, set()))
            for concept, phrases in shipped.items()}
    return {c: p for c, p in lost.items() if p}


def test_no_concept_phrase_is_dropped_by_accident():
    version, shipped = _newest_shipped_concepts()
    package = json.loads(read_text("concepts.json"))["concepts"]
    assert _lost(shipped, package) == {}, f"phrases of default@{version} missing from the package's concepts.json"


def test_the_guard_sees_the_stop_41_loss():
    """Stop 41's accident, replayed on the shipped table: the guard names what went."""
    _version, shipped = _newest_shipped_concepts()
    edited = {c: [p for p in phrases if p not in ("hanging {himself}", "cut {himself}")] for c, phrases in shipped.items()}
    edited["A_NEW_CONCEPT"] = ["hanged {himself}"]  # a concept added beside it is no loss
    assert _lost(shipped, edited) == {"SUICIDE": ["hanging {himself}"], "SELF_HARM": ["cut {himself}"]}


#: the probe notes that showed stop 41's loss: 2.22.0-2.29.0 read both as suicidal, the
#: taken-back candidate read neither
HANGING_TALK = ["RP states her son keeps talking about hanging himself", "pt says he feels like hanging himself"]


def test_the_shipped_model_reads_talk_of_hanging_as_suicidal(model):
    for note in HANGING_TALK:
        assert "suicidal" in model.classify(note).categories, note
