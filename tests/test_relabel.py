"""relabel: every format, every column kept, bad rows, compare cross-table, pandas."""

import csv
import gzip
import io
import json

import pytest

from crisis_nlp.batch.relabel import relabel_file, result_columns
from crisis_nlp.batch.crosstab import cross_table, format_report, shares
from crisis_nlp.errors import InputError, OutputError
from crisis_nlp.labels import LABELS

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

CALL_TYPES = ["MENTAL", "DISTURBANCE", "THEFT", "MEDICAL"]


@pytest.fixture(scope="module")
def calls(gold):
    """A frame of calls: id, old call type, a multi-line note, a number."""
    rows = []
    for i, g in enumerate(gold[:120]):
        text = g["text"] if i % 7 else g["text"].replace(", ", ",\n", 1)  # some notes span lines
        rows.append({"incident_no": f"c{i:04d}", "call_type": CALL_TYPES[i % 4], "narrative": text, "units": i % 3})
    return pd.DataFrame(rows)


def _write(df, path):
    if path.suffix == ".parquet":
        df.to_parquet(path, index=False)
    elif path.name.endswith(".jsonl.gz"):
        with gzip.open(path, "wt", encoding="utf-8") as f:
            for rec in df.to_dict("records"):
                f.write(json.dumps(rec) + "\n")
    else:
        df.to_csv(path, index=False, sep=";")


def _read(path):
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pandas()
    if path.name.endswith(".jsonl.gz"):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return pd.DataFrame([json.loads(x) for x in f])
    return pd.read_csv(path, sep=";", dtype=str, keep_default_na=False)


@pytest.mark.parametrize("name", ["calls.csv", "calls.jsonl.gz", "calls.parquet"])
def test_every_format_keeps_every_column_and_matches_relabel_frame(tmp_path, model, calls, name):
    src, out = tmp_path / name, tmp_path / ("out." + name.split(".", 1)[1])
    _write(calls, src)
    stats = relabel_file(src, out, text_field="narrative", model=model, chunk_size=50)
    assert stats["read"] == stats["labelled"] == len(calls)
    got = _read(out)
    assert list(got.columns) == list(calls.columns) + result_columns()
    assert got["incident_no"].tolist() == calls["incident_no"].tolist()
    assert got["narrative"].tolist() == calls["narrative"].tolist()  # multi-line notes intact
    want = model.relabel_frame(calls, text_column="narrative")
    for c in ("categories", "flags"):
        parsed = [json.loads(v) for v in got[c]] if name.endswith(".csv") else [list(v) for v in got[c]]
        assert parsed == want[c].tolist()
    assert got["response_mode"].tolist() == want["response_mode"].tolist()
    for x in LABELS:
        assert [float(v) for v in got[f"score_{x}"]] == want[f"score_{x}"].tolist()
    if name.endswith(".parquet"):
        assert got["units"].dtype == calls["units"].dtype  # Arrow types kept


def test_csv_bad_rows_get_an_error_and_keep_their_bytes(tmp_path, model):
    long_note = "subj yelling " * 2000
    raw = (b"id,text,other\r\n"
           b'1,"RP states son has a knife\nsays he wants to die",ok\r\n'
           b"2,bad \xff\xfe bytes,caf\xe9\r\n"
           b"3,,empty\r\n"
           b"4,   ,blank\r\n"
           + f"5,{long_note},long\r\n".encode()
           + b"6,only two\r\n"
           b"7,loud music next door,fine\r\n")
    src, out = tmp_path / "calls.csv", tmp_path / "out.csv"
    src.write_bytes(raw)
    stats = relabel_file(src, out, model=model)
    assert (stats["read"], stats["labelled"], stats["failed"]) == (7, 2, 5)
    data = out.read_bytes()
    assert b"bad \xff\xfe bytes,caf\xe9," in data  # invalid UTF-8 carried through unchanged
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8", "surrogateescape"))))
    err = {r["id"]: r["error"] for r in rows}
    assert [r["id"] for r in rows] == list("1234567")
    assert err["1"] == "" and err["7"] == "" and json.loads(rows[0]["flags"])
    assert "UTF-8" in err["2"] and "empty" in err["3"] and "empty" in err["4"]
    assert "over the limit" in err["5"] and "fields" in err["6"]
    for r in rows[1:6]:
        assert r["categories"] == r["response_mode"] == r["score_suicidal"] == ""
    for e in err.values():  # the error column never quotes the note
        assert "knife" not in e and "yelling" not in e and "bytes" not in e


def test_jsonl_bad_rows_get_an_error(tmp_path, model):
    raw = (b'{"id": 1, "text": "subj on bridge wants to jump"}\n'
           b'{"id": 2, "text": "bad \xff bytes", "o": "caf\xe9"}\n'
           b'{"id": 3}\n'
           b'{"id": 4, "text": 17}\n'
           b'{"id": 5, "text": ["a list"]}\n'
           b"this is not json\n"
           b"[1, 2]\n"
           b'{"id": 8, "text": "x\\ud800y"}\n')
    src, out = tmp_path / "calls.jsonl", tmp_path / "out.jsonl"
    src.write_bytes(raw)
    relabel_file(src, out, model=model)
    lines = out.read_bytes().splitlines()
    assert len(lines) == 8
    assert b'"o": "caf\xe9"' in lines[1]
    got = [json.loads(x.decode("utf-8", "surrogateescape")) for x in lines]
    assert got[0]["error"] is None and "suicidal" in got[0]["categories"]
    errors = [g["error"] for g in got[1:]]
    assert "UTF-8" in errors[0] and "missing" in errors[1] and "int, not text" in errors[2]
    assert "list, not text" in errors[3] and "line 6 is not valid JSON" in errors[4]
    assert "line 7 is not a JSON object" in errors[5] and "UTF-8" in errors[6]
    assert got[7]["text"] == "x\ud800y"  # kept (escaped) as it was


def test_parquet_non_text_column_and_nulls(tmp_path, model):
    src, out = tmp_path / "c.parquet", tmp_path / "o.parquet"
    pq.write_table(pa.table({"id": [1, 2, 3], "text": ["subj wants to die", None, ""]}), src)
    relabel_file(src, out, model=model)
    got = pq.read_table(out).to_pylist()
    assert got[0]["error"] is None and "suicidal" in got[0]["categories"]
    assert "missing" in got[1]["error"] and "empty" in got[2]["error"]
    pq.write_table(pa.table({"id": [1], "text": [5]}), src)
    relabel_file(src, out, model=model)
    assert "not text" in pq.read_table(out).to_pylist()[0]["error"]


def test_run_failures_raise_and_leave_no_journal(tmp_path, model):
    src = tmp_path / "c.csv"
    src.write_text("id,narrative\n1,hello\n")
    with pytest.raises(InputError, match="no column 'text'.*--text-field"):
        relabel_file(src, tmp_path / "o.csv", model=model)
    assert not (tmp_path / "o.csv.parts").exists()
    with pytest.raises(InputError, match="cannot read"):
        relabel_file(tmp_path / "missing.csv", tmp_path / "o.csv", model=model)
    with pytest.raises(OutputError, match="cannot write"):
        relabel_file(src, tmp_path / "no" / "such" / "o.csv", text_field="narrative", model=model)
    relabel_file(src, tmp_path / "o.csv", text_field="narrative", model=model)
    with pytest.raises(InputError, match="already has result columns"):  # relabelling an output
        relabel_file(tmp_path / "o.csv", tmp_path / "o2.csv", text_field="narrative", model=model)


def test_compare_field_cross_table(tmp_path, model, calls):
    src, out = tmp_path / "calls.parquet", tmp_path / "out.parquet"
    _write(calls, src)
    stats = relabel_file(src, out, text_field="narrative", compare_field="call_type", model=model, chunk_size=32)
    rows = cross_table(stats)
    by = {r["value"]: r for r in rows}
    assert set(by) == set(CALL_TYPES) and sum(r["calls"] for r in rows) == len(calls)
    assert by["MENTAL"]["old_bh"] and not by["THEFT"]["old_bh"]
    labelled = model.relabel_frame(calls, text_column="narrative")
    theft = labelled[labelled["call_type"] == "THEFT"]
    assert by["THEFT"]["new_bh"] == sum(bool(c) for c in theft["categories"])
    assert by["THEFT"]["co_responder"] == (theft["response_mode"] == "co_responder").sum()
    s = shares(rows)
    newly = sum(bool(c) for c, t in zip(labelled["categories"], labelled["call_type"]) if t != "MENTAL")
    assert s["newly_recognised_calls"] == newly and s["old_bh"] == pytest.approx(0.25)
    text = format_report(rows, "call_type")
    assert "MENTAL *" in text and "newly recognised" in text and "co_responder" in text
    assert shares(cross_table(stats, {"MENTAL", "MEDICAL"}))["old_bh"] == pytest.approx(0.5)


def test_relabel_frame_keeps_index_and_marks_bad_rows(model):
    df = pd.DataFrame({"narrative": ["subj wants to die", None, float("nan"), "", 3]}, index=[10, 11, 12, 13, 14])
    out = model.relabel_frame(df, text_column="narrative", explain=True)
    assert list(out.index) == [10, 11, 12, 13, 14] and "reason" in out.columns
    assert "suicidal" in out.loc[10, "categories"] and out.loc[10, "reason"].startswith("rule")
    assert out["error"].tolist()[1:] == ["the note is missing", "the note is missing", "the note is empty",
                                         "the note is int, not text"]
    with pytest.raises(InputError, match="no column"):
        model.relabel_frame(df)


def test_progress_line_shows_rows_rate_and_eta():
    from crisis_nlp.batch.progress import Progress

    buf = io.StringIO()
    p = Progress(True, buf, every=0)
    p.update(100, 0.1)
    p.update(200, 0.2)
    p.close()
    assert "200 rows" in buf.getvalue() and "rows/s" in buf.getvalue() and "ETA" in buf.getvalue()
    quiet = io.StringIO()
    Progress(False, quiet, every=0).update(5, 0.5)
    assert quiet.getvalue() == ""


def test_relabel_records_and_empty_inputs(tmp_path, model):
    from crisis_nlp.batch.relabel import relabel

    recs = [{"id": 1, "text": "subj wants to die"}, {"id": 2}]
    out = list(relabel(iter(recs), model=model, chunk_size=1))
    assert [r["id"] for r in out] == [1, 2] and "suicidal" in out[0]["categories"] and out[1]["error"]
    for name, body in (("e.csv", b"id,text\r\n"), ("e.jsonl", b"")):
        (tmp_path / name).write_bytes(body)
        stats = relabel_file(tmp_path / name, tmp_path / ("o" + name), model=model)
        assert stats["read"] == 0 and (tmp_path / ("o" + name)).exists()
    assert (tmp_path / "oe.csv").read_text().startswith("id,text,categories,")
    pq.write_table(pa.table({"text": pa.array([], pa.string())}), tmp_path / "e.parquet")
    relabel_file(tmp_path / "e.parquet", tmp_path / "oe.parquet", model=model)
    assert pq.read_table(tmp_path / "oe.parquet").column_names == ["text"] + result_columns()
    with pytest.raises(InputError, match="at least 1"):
        relabel_file(tmp_path / "e.csv", tmp_path / "x.csv", model=model, jobs=0)


def test_cli_compare_field_to_stdout(tmp_path, calls):
    import subprocess
    import sys

    calls.to_csv(tmp_path / "calls.csv", index=False)
    p = subprocess.run([sys.executable, "-m", "crisis_nlp.cli", "relabel", "calls.csv", "-o", "-", "--text-field",
                        "narrative", "--compare-field", "call_type", "--compare-bh", "MENTAL"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    out = pd.read_csv(io.StringIO(p.stdout), dtype=str, keep_default_na=False)
    assert out["incident_no"].tolist() == calls["incident_no"].tolist() and "score_weapon" in out.columns
    assert "call_type against the new response mode" in p.stderr and "MENTAL *" in p.stderr
    assert "newly recognised" in p.stderr and "read 120 rows" in p.stderr
    table = pd.read_csv(tmp_path / "compare.csv")
    assert sorted(table["call_type"]) == sorted(CALL_TYPES) and table["calls"].sum() == len(calls)
    for note in calls["narrative"]:  # no note text on stderr
        assert note[:30] not in p.stderr


def test_jsonl_lines_are_written_back_byte_for_byte(tmp_path, model):
    """Each output line is its input line unchanged, with the result fields added before
    the closing brace: spacing, key order, escapes, number spelling and line endings of
    the input survive; the result is valid JSON with the same input fields."""
    raw = [b'{ "id" : 1 , "text":"pt states she wants to die", "x": {"a": [1, 2.50, 1e3]} }',
           b'{"text": "caf\\u00e9 -- denies SI/HI, no weapons"}\r',
           b'{"id":3,"text":"RP says brother has a handgun"}   ',
           b"{}"]
    src, out = tmp_path / "calls.jsonl", tmp_path / "out.jsonl"
    src.write_bytes(b"\n".join(raw) + b"\n\n")  # and a blank line, which is no row
    relabel_file(src, out, model=model, chunk_size=2)
    lines = out.read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == 5
    for given, line in zip(raw, lines):
        body = given.rstrip()[:-1]
        assert line.startswith(body), (given, line)
        got, before = json.loads(line), json.loads(given)
        assert {k: got[k] for k in before} == before
        assert list(got)[len(before):] == result_columns()
    assert json.loads(lines[0])["x"] == {"a": [1, 2.5, 1000.0]}
    assert json.loads(lines[3])["error"] == "the note is missing"


def test_result_values_are_encoded_as_json_dumps_would():
    from crisis_nlp.batch.formats import json_column

    values = {"categories": [["suicidal"], [], None, ["suicidal"]], "response_mode": ["mobile_crisis", None] * 2,
              "score_suicidal": [0.1234, 1.0, None, 0.0001], "error": [None, "line 3 is not valid JSON", "é", None]}
    for name, col in values.items():
        for _ in range(2):  # the second time from the cache
            assert json_column(name, col) == [json.dumps(v, ensure_ascii=False).encode() for v in col]


def test_jobs_label_with_the_model_passed_not_the_registry_default(tmp_path, gold):
    """relabel_file(model=m, jobs=2) used to label with the registry's default while the
    journal recorded m. Here m is a version whose policy sends every crisis call to
    co_responder: every labelled crisis row must say so."""
    import shutil

    from crisis_nlp import load_model
    from crisis_nlp.registry.versions import resolve, sha256_file, shipped_registry, version_files

    src_entry = resolve(None, shipped_registry())
    folder = tmp_path / "reg" / "county-x" / "1.0.0"
    shutil.copytree(src_entry.path, folder)
    policy = (folder / "policy.toml").read_text()
    for mode in ("mobile_crisis", "crisis_line", "law_enforcement", "ems"):
        policy = policy.replace(f'mode = "{mode}"', 'mode = "co_responder"')
    (folder / "policy.toml").write_text(policy)
    m = json.loads((folder / "manifest.json").read_text())
    m.update(name="county-x", files={f: sha256_file(folder / f) for f in version_files(folder)})
    (folder / "manifest.json").write_text(json.dumps(m))
    mine = load_model("county-x@1.0.0", registry=tmp_path / "reg")
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"text": g["text"]}) + "\n" for g in gold[:60]))
    out = tmp_path / "out.jsonl"
    relabel_file(src, out, model=mine, jobs=2, chunk_size=20)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["model_version"] for r in rows} == {"county-x@1.0.0"}
    modes = {r["response_mode"] for r in rows}
    assert modes <= {"co_responder", "standard_dispatch"} and "co_responder" in modes
