"""Property tests that stay (issue 13): over note text, JSON bodies to the HTTP app, CSV and
JSONL lines through relabel and EIDO documents. Asserted: no exception other than the
library's own, no note text in an error, one output row per input row. Examples are
bounded and derandomized, so the suite is quick and not flaky."""

import csv
import io
import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crisis_nlp.errors import CrisisNLPError

FUZZ = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))
MARK = "Zq7Marker"  # planted in every generated note: an error that holds it quotes the note

# text as it comes: any code point (lone surrogates included), CAD punctuation, long runs
SURROGATES = ["\ud800", "\udfff", "\udc80"]  # what undecodable bytes become (surrogateescape)
notes = st.one_of(
    st.text(max_size=200),
    st.builds(lambda a, s, b: a + s + b, st.text(max_size=50), st.sampled_from(SURROGATES), st.text(max_size=50)),
    st.text(alphabet=string.printable + "éñ—’\u00a0\ud800\udcff", max_size=300),
    st.builds(lambda c, n: c * n, st.sampled_from(list("#'\"(!?.,;: -")), st.integers(0, 2000)),
).map(lambda t: f"{MARK} {t}")
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30),
                         st.sampled_from(SURROGATES))
json_values = st.recursive(json_scalars, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                                st.dictionaries(st.text(max_size=8), kids, max_size=4)),
                           max_leaves=12)


@FUZZ
@given(note=notes)
def test_any_note_text_gets_a_result_or_the_library_error(model, note):
    try:
        result = model.classify(note)
    except CrisisNLPError as exc:
        assert MARK not in str(exc)
        return
    json.loads(result.to_json() if hasattr(result, "to_json") else json.dumps(result.to_dict()))
    assert len(model.classify_batch([note, note], explain=False)) == 2


@pytest.fixture(scope="module")
def client(model):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from crisis_nlp.serve.http import create_app

    return TestClient(create_app(model), raise_server_exceptions=True)


@FUZZ
@given(body=st.one_of(
    json_values,
    st.fixed_dictionaries({"text": st.one_of(notes, json_values)}, optional={"id": json_values, "x": json_values}),
    st.fixed_dictionaries({"notes": st.lists(st.fixed_dictionaries({"text": notes}), max_size=3)}),
), path=st.sampled_from(["/v1/classify", "/v1/classify/batch", "/v1/classify/eido"]))
def test_any_json_body_gets_an_answer_without_the_note(client, body, path):
    raw = json.dumps({"notesComponent": [{"notesActionComments": body}]} if path.endswith("eido") and
                     isinstance(body, str) else body).encode("utf-8", "surrogatepass")
    r = client.post(path, content=raw, headers={"content-type": "application/json"})
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert MARK not in r.text and '"input"' not in r.text


@FUZZ
@given(rows=st.lists(st.lists(st.text(max_size=40), min_size=1, max_size=4), min_size=1, max_size=8), note=notes)
def test_relabel_csv_keeps_one_row_per_row(model, tmp_path_factory, rows, note):
    from crisis_nlp.batch.relabel import relabel_file

    src = tmp_path_factory.mktemp("csv") / "in.csv"
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(["text", "other"])
    w.writerow([note, "x"])
    for r in rows:
        w.writerow(r)
    src.write_bytes(buf.getvalue().encode("utf-8", "surrogatepass"))  # lone surrogates: bytes not UTF-8
    out = src.with_name("out.csv")
    try:
        stats = relabel_file(src, out, model=model)
    except CrisisNLPError as exc:
        assert MARK not in str(exc)
        return
    data = out.read_bytes().decode("utf-8", "surrogateescape")
    got = list(csv.reader(io.StringIO(data, newline="")))
    assert stats["read"] == len(got) - 1 == len(rows) + 1
    n = 2  # input columns: every input cell is in the output, in order, around the result columns
    for r, o in zip(rows, got[2:]):
        assert o[:min(len(r), n)] == r[:n] and o[len(got[0]):] == r[n:]
    errors = [r[got[0].index("error")] for r in got[1:] if len(r) > got[0].index("error")]
    assert all(MARK not in e for e in errors)


@FUZZ
@given(lines=st.lists(st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=40).filter(lambda b: b"\n" not in b and b.strip()),
    st.fixed_dictionaries({"text": notes}, optional={"id": json_values}).map(
        lambda d: json.dumps(d).encode()),
).filter(lambda b: b.strip()), min_size=1, max_size=8))
def test_relabel_jsonl_keeps_every_line(model, tmp_path_factory, lines):
    from crisis_nlp.batch.relabel import relabel_file

    src = tmp_path_factory.mktemp("jsonl") / "in.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    out = src.with_name("out.jsonl")
    try:
        stats = relabel_file(src, out, model=model)
    except CrisisNLPError as exc:
        assert MARK not in str(exc)
        return
    got = out.read_bytes().splitlines()
    assert stats["read"] == len(got) == len(lines)
    for raw, line in zip(lines, got):
        rec = json.loads(line.decode("utf-8", "surrogateescape"))
        assert MARK not in (rec["error"] or "")
        if rec["error"] and "not a JSON object" in rec["error"] or "not valid JSON" in (rec["error"] or ""):
            body = raw.rstrip(b"\r\n")  # kept verbatim, or as a string that gives the bytes back
            assert body in line or rec["input"].encode("utf-8", "surrogateescape") == body


@FUZZ
@given(doc=st.one_of(
    json_values,
    st.fixed_dictionaries({"notesComponent": st.lists(st.one_of(
        st.fixed_dictionaries({"notesActionComments": st.one_of(notes, json_values)},
                              optional={"$id": json_values, "lastUpdateTimeStamp": json_values,
                                        "agentReference": json_values}),
        json_values), max_size=3)},
        optional={"$id": json_values, "agentComponent": json_values, "updatedByAgencyReference": json_values}),
))
def test_any_eido_document_gets_a_result_or_the_library_error(model, doc):
    from crisis_nlp.serve.eido import classify_eido

    for form in (doc, json.dumps(doc).encode("utf-8", "surrogatepass")):
        try:
            out = classify_eido(model, form)
        except CrisisNLPError as exc:
            assert MARK not in str(exc)
            continue
        json.dumps(out, allow_nan=False).encode("utf-8")
