import copy
import json
from datetime import datetime, timezone

import pytest

from crisis_nlp.eido import classify_eido, note_texts, strip_html
from crisis_nlp.errors import DataFormatError, InputError
from crisis_nlp.result import RESULT_KEYS

from conftest import ROOT

SAMPLE = ROOT / "tests" / "data" / "eido_incident.json"


@pytest.fixture(scope="module")
def sample():
    return json.loads(SAMPLE.read_text())


def test_notes_in_time_order_with_html_stripped(sample):
    texts = note_texts(sample)
    assert texts[0].startswith("RP (wife)") and "deer rifle & a bottle" in texts[1]
    assert all("<" not in t and "&amp;" not in t for t in texts)
    assert "\n" in texts[0]  # <br> became a line break


def test_strip_html():
    assert strip_html("<div>a&nbsp;b<script>x()</script></div><p>c &lt;3</p>") == "a b\nc <3"


def test_classify_eido_adds_a_note_by_an_automated_agent(model, sample):
    before = copy.deepcopy(sample)
    now = datetime(2026, 11, 27, 4, 20, tzinfo=timezone.utc)
    out = classify_eido(model, sample, now=now)
    assert sample == before  # input not mutated
    assert tuple(out["result"]) == RESULT_KEYS
    assert "suicidal" in out["result"]["categories"] and "weapon" in out["result"]["flags"]
    eido = out["eido"]
    assert len(eido["notesComponent"]) == 3
    ours = eido["notesComponent"][-1]
    assert ours["notesDateTimeStamp"] == "2026-11-27T04:20:00+00:00"
    assert ours["notesActionComments"].startswith(f"crisis_nlp {model.version} suggestion: "
                                                  f"{out['result']['response_mode']}")
    agent = next(a for a in eido["agentComponent"] if a["componentIdentifier"] == ours["notesAuthorReference"])
    assert agent["agentIdentification"] == f"urn:crisis-nlp:classifier:{model.version}"
    assert "automated" in agent["agentTypeDescription"]
    # the original notes are still there, untouched
    assert eido["notesComponent"][:2] == before["notesComponent"]


def test_json_text_and_bytes_work_too(model, sample):
    a = classify_eido(model, json.dumps(sample))["result"]
    b = classify_eido(model, json.dumps(sample).encode())["result"]
    assert a == b


@pytest.mark.parametrize(
    "doc, err, msg",
    [
        ("{not json", DataFormatError, "not valid JSON"),
        ("[1, 2]", DataFormatError, "JSON object"),
        ({"incidentComponent": {}}, DataFormatError, "no notesComponent"),
        ({"notesComponent": "text"}, DataFormatError, "must be a list"),
        ({"notesComponent": [1]}, DataFormatError, "not an object"),
        ({"notesComponent": [{"notesActionComments": 5}]}, DataFormatError, "must be text"),
        ({"notesComponent": [{"notesActionComments": "<p> </p>"}]}, DataFormatError, "no notesComponent with"),
        ("x" * (1024 * 1024 + 1), InputError, "over"),
    ],
)
def test_malformed_documents_are_refused_clearly(model, doc, err, msg):
    with pytest.raises(err, match=msg):
        classify_eido(model, doc)


def test_cli_classify_eido():
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-m", "crisis_nlp.cli", "classify", "--eido", str(SAMPLE)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["eido"]["notesComponent"][-1]["notesActionComments"].startswith("crisis_nlp ")
