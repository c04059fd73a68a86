"""NENA EIDO in and out: parsing, HTML stripping, the note we add, and clear refusals."""

import copy
import json
import logging
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from crisis_nlp.api import MAX_NOTE_CHARS
from crisis_nlp.serve.eido import (
    AGENT_URN_PREFIX,
    MAX_EIDO_BYTES,
    classify_eido,
    parse_eido,
    strip_html,
    suggestion_line,
)
from crisis_nlp.errors import CrisisNLPError, DataFormatError, InputError
from crisis_nlp.result import RESULT_KEYS

from conftest import ROOT

SAMPLE = ROOT / "tests" / "data" / "eido_incident.json"
NOW = datetime(2026, 3, 14, 3, 20, 5, tzinfo=timezone.utc)
SAMPLE_NOTE_IDS = [f"urn:uuid:3f0b6a52-1d8e-4c57-9a0e-6b2f9f1c0a1{i}" for i in range(3)]


@pytest.fixture
def sample():
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


def minimal(*notes, **top):
    return {**top, "notesComponent": [{"notesActionComments": n} for n in notes]}


# -- parsing ------------------------------------------------------------------------------

def test_sample_is_parsed_with_its_incident_id_and_notes_in_time_order(sample):
    incident = parse_eido(sample)
    assert incident.incident_id == "urn:emergency:uid:incidentid:7c1e2b90d4:psap.example-county.example"
    # the array holds them out of order and in two time zones (-07:00 and Z)
    assert [n.component_id for n in incident.notes] == SAMPLE_NOTE_IDS
    assert [n.text.split()[0] for n in incident.notes] == ["RP", "RP", "RP"]
    assert incident.notes[0].text.startswith("RP (wife) states husband")
    assert all(n.author_ref == "calltaker.17@psap.example-county.example" for n in incident.notes)
    assert incident.text == "\n".join(n.text for n in incident.notes)


def test_html_is_stripped_entities_decoded_and_blocks_become_lines(sample):
    texts = [n.text for n in parse_eido(sample).notes]
    assert not any("<" in t or ">" in t for t in texts)
    assert not any("&amp;" in t or "&#39;" in t or "&ndash;" in t for t in texts)
    assert texts[1].splitlines() == [
        "RP now outside at neighbor's house with the kids.",
        "Per RP husband is still in the garage with his deer rifle & a bottle of whiskey,",
        "said he will shoot himself if police show up.",
        "No shots heard. RP unsure if rifle is loaded.",
    ]
    assert texts[2] == "RP advised to stay out of the garage \u2013 keeping line open."


@pytest.mark.parametrize(
    "raw, text",
    [
        ("a<br>b<br/>c", "a\nb\nc"),
        ("<p>one</p><p>two &amp; three</p>", "one\ntwo & three"),
        ("<div>a&nbsp;b<script>alert(1)</script><style>p{}</style></div>c &lt;3", "a b\nc <3"),
        ("<b>bold</b> and <i>italic</i>", "bold and italic"),
        ("plain text note\nsecond   line", "plain text note\nsecond line"),
        ("pt states 5 < 10 pills", "pt states 5 < 10 pills"),
        ("<p>  </p><br>", ""),
    ],
)
def test_strip_html(raw, text):
    assert strip_html(raw) == text


def test_json_text_and_bytes_parse_like_the_dict(sample):
    as_dict = parse_eido(sample)
    for doc in (json.dumps(sample), json.dumps(sample).encode("utf-8")):
        parsed = parse_eido(doc)
        assert parsed.incident_id == as_dict.incident_id
        assert parsed.notes == as_dict.notes


def test_notes_without_a_usable_timestamp_come_last_in_document_order():
    doc = {"notesComponent": [
        {"notesActionComments": "undated one"},
        {"notesActionComments": "late", "lastUpdateTimeStamp": "2026-01-01T10:00:00Z"},
        {"notesActionComments": "bad stamp", "lastUpdateTimeStamp": "yesterday"},
        {"notesActionComments": "early", "lastUpdateTimeStamp": "2026-01-01T09:00:00.0Z"},
        {"notesActionComments": "no offset = UTC", "lastUpdateTimeStamp": "2026-01-01T09:30:00"},
    ]}
    assert [n.text for n in parse_eido(doc).notes] == [
        "early", "no offset = UTC", "late", "undated one", "bad stamp"]


def test_entries_without_notes_text_are_skipped():
    doc = {"notesComponent": [{"$id": "n1"}, {"$id": "n2", "notesActionComments": "pt c/o chest pain"}]}
    assert [n.component_id for n in parse_eido(doc).notes] == ["n2"]


def test_repr_shows_no_note_text(sample):
    assert "deer rifle" not in repr(parse_eido(sample))


# -- classifying and the note we add --------------------------------------------------------

def test_result_has_the_library_keys_and_matches_classifying_the_text(model, sample):
    out = classify_eido(model, sample, now=NOW)
    assert set(out) == {"result", "eido"}
    assert tuple(out["result"]) == RESULT_KEYS
    assert out["result"] == model.classify(parse_eido(sample).text).to_dict()


def test_a_note_by_a_new_automated_agent_is_added_and_linked(model, sample):
    out = classify_eido(model, sample, now=NOW)
    eido, result = out["eido"], out["result"]

    notes = eido["notesComponent"]
    assert len(notes) == len(sample["notesComponent"]) + 1
    assert notes[:-1] == sample["notesComponent"]  # the CAD's notes are untouched
    ours = notes[-1]
    existing_ids = {c["$id"] for key, comps in sample.items() if key.endswith("Component")
                    for c in (comps if isinstance(comps, list) else [comps])}
    assert ours["$id"] not in existing_ids and ours["$id"].startswith("urn:uuid:")
    assert ours["lastUpdateTimeStamp"] == "2026-03-14T03:20:05Z"
    assert ours["updatedByAgencyReference"] == {"$ref": "psap.example-county.example"}

    line = strip_html(ours["notesActionComments"])  # the note is HTML5: escaped, one line
    assert "\n" not in line
    assert line == suggestion_line(model.classify(parse_eido(sample).text))
    assert line.startswith(f"crisis_nlp {result['model_version']} suggestion: {result['response_mode']}; "
                           f"categories: {', '.join(result['categories']) or 'none'}; "
                           f"flags: {', '.join(result['flags']) or 'none'}; rule ")
    assert result["reason"] in line

    agents = [a for a in eido["agentComponent"] if a["$id"] == ours["agentReference"]["$ref"]]
    assert len(agents) == 1
    agent = agents[0]
    assert agent not in sample["agentComponent"]
    assert ours["updatedByAgentReference"] == {"$ref": agent["$id"]}
    assert agent["$id"] not in existing_ids
    assert agent["agentIdentification"] == f"{AGENT_URN_PREFIX}{result['model_version']}"
    assert agent["agentIdentification"] == f"urn:crisis-nlp:classifier:{model.version}"
    assert agent["lastUpdateTimeStamp"] == "2026-03-14T03:20:05Z"
    assert agent["agencyReference"] == {"$ref": "psap.example-county.example"}
    assert agent["agentRoleRegistryText"]
    jcard = json.loads(agent["agentJcard"])
    props = {p[0]: p[3] for p in jcard[1]}
    assert jcard[0] == "vcard" and props["kind"] == "application"
    assert "automated software agent" in props["note"].lower()
    # everything else in the document is carried over as it was
    assert {k: v for k, v in eido.items() if k not in ("notesComponent", "agentComponent")} == \
        {k: v for k, v in sample.items() if k not in ("notesComponent", "agentComponent")}


def test_each_call_makes_new_component_ids(model, sample):
    a = classify_eido(model, sample, now=NOW)["eido"]
    b = classify_eido(model, sample, now=NOW)["eido"]
    assert a["notesComponent"][-1]["$id"] != b["notesComponent"][-1]["$id"]
    assert a["agentComponent"][-1]["$id"] != b["agentComponent"][-1]["$id"]


def test_classifying_our_own_output_again_reuses_our_agent(model, sample):
    once = classify_eido(model, sample, now=NOW)["eido"]
    twice = classify_eido(model, once, now=NOW + timedelta(minutes=1))["eido"]
    assert len(twice["agentComponent"]) == len(once["agentComponent"])
    assert len(twice["notesComponent"]) == len(once["notesComponent"]) + 1
    assert twice["notesComponent"][-1]["agentReference"] == once["notesComponent"][-1]["agentReference"]


def test_a_document_without_agents_or_agency_still_gets_a_linked_agent(model):
    out = classify_eido(model, minimal("subj on bridge rail threatening to jump"), now=NOW)["eido"]
    (agent,) = out["agentComponent"]
    assert out["notesComponent"][-1]["agentReference"] == {"$ref": agent["$id"]}
    assert "agencyReference" not in agent and "updatedByAgencyReference" not in out["notesComponent"][-1]


def test_input_is_not_mutated(model, sample):
    before = copy.deepcopy(sample)
    out = classify_eido(model, sample, now=NOW)
    assert sample == before
    out["eido"]["notesComponent"][0]["notesActionComments"] = "changed"
    out["eido"]["incidentComponent"]["notesReference"].clear()
    assert sample == before  # a deep copy, not a shallow one


@pytest.mark.parametrize(
    "now, stamp",
    [
        (datetime(2026, 3, 14, 4, 20, tzinfo=timezone(timedelta(hours=-7))), "2026-03-14T11:20:00Z"),
        (datetime(2026, 3, 14, 4, 20, 7, 999999), "2026-03-14T04:20:07Z"),  # naive = UTC
    ],
)
def test_timestamps_are_utc_iso_8601(model, now, stamp):
    out = classify_eido(model, minimal("RP states son has a knife, says he wants to die"), now=now)
    assert out["eido"]["notesComponent"][-1]["lastUpdateTimeStamp"] == stamp


def test_default_timestamp_is_utc(model):
    out = classify_eido(model, minimal("pt c/o panic attack"))
    stamp = out["eido"]["notesComponent"][-1]["lastUpdateTimeStamp"]
    assert stamp.endswith("Z")
    assert datetime.fromisoformat(stamp).utcoffset() == timedelta(0)


def test_the_shipped_model_reads_the_sample_as_suicidal_with_a_weapon(model, sample):
    result = classify_eido(model, sample, now=NOW)["result"]
    assert "suicidal" in result["categories"] and "weapon" in result["flags"]
    assert result["response_mode"] != "standard_dispatch"


def test_note_text_is_never_logged(model, sample, caplog):
    caplog.set_level(logging.DEBUG)
    classify_eido(model, sample, now=NOW)
    with pytest.raises(DataFormatError):
        classify_eido(model, {"notesComponent": "deer rifle in the garage"})
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "deer rifle" not in logged and "whiskey" not in logged


def test_no_module_of_the_library_logs():
    """The test above sees only what a logger writes, and the library has none: a module
    that starts to log (or print to stderr from a library path) must come with a test that
    its records hold no note text. This one fails when a module imports ``logging``."""
    import re
    from pathlib import Path

    import crisis_nlp

    root = Path(crisis_nlp.__file__).parent
    logging_modules = [str(p.relative_to(root)) for p in sorted(root.rglob("*.py"))
                       if re.search(r"^\s*(import logging|from logging )", p.read_text(encoding="utf-8"), re.M)]
    assert len(list(root.rglob("*.py"))) > 40
    assert logging_modules == []


# -- refusals ---------------------------------------------------------------------------

OK_NOTE = [{"notesActionComments": "pt says he wants to kill himself"}]


@pytest.mark.parametrize(
    "doc, err, msg",
    [
        ("{not json", DataFormatError, "not valid JSON"),
        (b"\xff\xfe{\x00", DataFormatError, "not valid JSON"),
        ("", DataFormatError, "not valid JSON"),
        ("[1, 2]", DataFormatError, "must be a JSON object"),
        ("null", DataFormatError, "must be a JSON object"),
        (42, InputError, "pass a dict or the JSON text"),
        (["notesComponent"], InputError, "pass a dict or the JSON text"),
        ({"incidentComponent": {}}, DataFormatError, "no notesComponent with notesActionComments"),
        ({"notesComponent": []}, DataFormatError, "no notesComponent with notesActionComments"),
        ({"notesComponent": None}, DataFormatError, "no notesComponent with notesActionComments"),
        ({"notesComponent": [{"$id": "n1"}]}, DataFormatError, "no notesComponent with notesActionComments"),
        ({"notesComponent": "RP says husband has a gun"}, DataFormatError, "notesComponent must be a list"),
        ({"notesComponent": OK_NOTE[0]}, DataFormatError, "notesComponent must be a list"),
        ({"notesComponent": [1]}, DataFormatError, r"notesComponent\[0\] must be an object, not int"),
        ({"notesComponent": [*OK_NOTE, "x"]}, DataFormatError, r"notesComponent\[1\] must be an object"),
        ({"notesComponent": [{"notesActionComments": 5}]}, DataFormatError,
         r"notesComponent\[0\]\.notesActionComments must be a string"),
        ({"notesComponent": [{"notesActionComments": ["a", "b"]}]}, DataFormatError,
         "notesActionComments must be a string"),
        ({"notesComponent": [{"notesActionComments": "<p> </p><br>"}]}, DataFormatError,
         "no text once HTML is removed"),
        ({"$id": 7, "notesComponent": OK_NOTE}, DataFormatError, r"EIDO \$id must be a string"),
        ({"agentComponent": "calltaker", "notesComponent": OK_NOTE}, DataFormatError,
         "agentComponent must be a list of objects"),
        ({"agentComponent": [None], "notesComponent": OK_NOTE}, DataFormatError,
         "agentComponent must be a list of objects"),
        ({"notesComponent": OK_NOTE, "extra": {1, 2}}, DataFormatError, "not JSON data"),
    ],
)
def test_malformed_documents_are_refused_clearly(model, doc, err, msg):
    with pytest.raises(err, match=msg) as parsed:
        parse_eido(doc)
    with pytest.raises(err, match=msg) as classified:
        classify_eido(model, doc)
    assert isinstance(classified.value, CrisisNLPError)
    assert "husband" not in str(parsed.value)  # messages name fields, never note text


def test_documents_over_1_mb_are_refused_and_up_to_it_accepted():
    def doc_of(size: int) -> str:
        head = json.dumps({"notesComponent": OK_NOTE, "pad": ""})
        text = head[:-2] + "x" * (size - len(head)) + '"}'
        assert len(text.encode()) == size
        return text

    assert parse_eido(doc_of(MAX_EIDO_BYTES)).notes
    assert parse_eido(doc_of(MAX_EIDO_BYTES).encode()).notes
    for big in (doc_of(MAX_EIDO_BYTES + 1), doc_of(MAX_EIDO_BYTES + 1).encode(),
                json.loads(doc_of(MAX_EIDO_BYTES + 1))):
        with pytest.raises(InputError, match="over the limit of 1,048,576") as exc:
            parse_eido(big)
        assert not isinstance(exc.value, DataFormatError)


def test_size_is_counted_in_utf8_bytes_not_characters():
    doc = minimal("é" * (MAX_EIDO_BYTES // 2 + 10))  # fewer characters than the limit, more bytes
    assert len(json.dumps(doc, ensure_ascii=False)) < MAX_EIDO_BYTES
    with pytest.raises(InputError, match="over the limit"):
        parse_eido(json.dumps(doc, ensure_ascii=False))


def test_notes_longer_than_the_model_accepts_are_refused_clearly(model):
    doc = minimal("husband has a gun " * (MAX_NOTE_CHARS // 36 + 1),
                  "and says he is done " * (MAX_NOTE_CHARS // 40 + 1))
    with pytest.raises(InputError, match="over the model's limit") as exc:
        classify_eido(model, doc)
    assert "husband" not in str(exc.value)


# -- the command line uses this module -------------------------------------------------------

def test_cli_classify_eido(model):
    p = subprocess.run([sys.executable, "-m", "crisis_nlp.cli", "classify", "--eido", str(SAMPLE)],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert tuple(out["result"]) == RESULT_KEYS
    assert out["eido"]["notesComponent"][-1]["notesActionComments"].startswith("crisis_nlp ")
    assert "deer rifle" not in p.stderr
