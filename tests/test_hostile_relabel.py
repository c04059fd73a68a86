"""Lossless relabel (issue 13): nothing of the input dropped or overwritten, a resume that
checks every byte of the input, errors that quote no row."""

import csv
import io
import json
import os

import pytest

from crisis_nlp.batch.relabel import relabel_file
from crisis_nlp.errors import InputError
from crisis_nlp.batch.formats import INPUT_KEY


def _rows(data: bytes, encoding="utf-8"):
    return list(csv.reader(io.StringIO(data.decode(encoding, "surrogateescape"), newline="")))


def test_csv_extra_fields_are_kept_after_the_result_columns(tmp_path, model):
    src, out = tmp_path / "c.csv", tmp_path / "o.csv"
    src.write_bytes(b"id,text\r\n1,pt wants to die\r\n2,pt says, he will jump,extra \xff field\r\n3,short\r\n")
    stats = relabel_file(src, out, model=model)
    assert (stats["read"], stats["failed"]) == (3, 1)
    rows = _rows(out.read_bytes())
    header = rows[0]
    assert rows[2][:2] == ["2", "pt says"]
    assert rows[2][len(header):] == [" he will jump", "extra \udcff field"]  # kept, in order
    assert "extra field(s) are kept" in rows[2][header.index("error")]
    assert b"extra \xff field" in out.read_bytes()  # byte for byte


def test_jsonl_lines_that_are_not_objects_are_kept_byte_for_byte(tmp_path, model):
    lines = [b'{"id": 1, "text": "pt wants to die"}', b'[1, 2.50, "x"]', b'"just a string"', b"not json at all \xff",
             b"NaN", b"9" * 5000, b"[" * 3000 + b"]" * 3000]
    src, out = tmp_path / "c.jsonl", tmp_path / "o.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    stats = relabel_file(src, out, model=model)
    got = out.read_bytes().splitlines()
    assert stats["read"] == len(got) == len(lines)
    assert got[1].startswith(b'{"input": [1, 2.50, "x"], ')  # other JSON: verbatim
    assert got[2].startswith(b'{"input": "just a string", ')
    for raw, line in zip(lines[3:], got[3:]):
        rec = json.loads(line)
        assert rec[INPUT_KEY].encode("utf-8", "surrogateescape") == raw  # the exact bytes, recoverable
        assert rec["error"] and rec["categories"] is None
    assert "suicidal" in json.loads(got[0])["categories"]


def test_a_utf8_bom_does_not_cost_the_first_row(tmp_path, model):
    src, out = tmp_path / "c.jsonl", tmp_path / "o.jsonl"
    src.write_bytes(b'\xef\xbb\xbf{"id": 1, "text": "pt wants to die"}\n{"id": 2, "text": "stolen bike"}\n')
    stats = relabel_file(src, out, model=model)
    assert stats["labelled"] == 2
    first = out.read_bytes().splitlines()[0]
    assert first.startswith(b'\xef\xbb\xbf{"id": 1')  # kept, as the input had it
    assert json.loads(first.decode("utf-8-sig"))["error"] is None
    csv_src, csv_out = tmp_path / "c.csv", tmp_path / "o.csv"
    csv_src.write_bytes(b"\xef\xbb\xbftext,id\r\npt wants to die,1\r\n")
    assert relabel_file(csv_src, csv_out, model=model)["labelled"] == 1


def test_output_that_is_the_input_is_refused(tmp_path, model, monkeypatch):
    src = tmp_path / "calls.csv"
    original = b"id,text\r\n1,pt wants to die\r\n"
    src.write_bytes(original)
    (tmp_path / "link.csv").symlink_to(src)
    os.link(src, tmp_path / "hard.csv")
    monkeypatch.chdir(tmp_path)
    for out in (src, "calls.csv", "./sub/../calls.csv", tmp_path / "link.csv", "hard.csv"):
        (tmp_path / "sub").mkdir(exist_ok=True)
        with pytest.raises(InputError, match="is the input file itself"):
            relabel_file("calls.csv", out, model=model)
    assert src.read_bytes() == original and not list(tmp_path.glob("*.parts"))


def test_resume_sees_a_change_past_the_first_mib_with_size_and_mtime_kept(tmp_path, model):
    src, out = tmp_path / "c.csv", tmp_path / "o.csv"
    body = b"id,text\r\n" + b"".join(b"%d,pt number %d wants to die\r\n" % (i, i) for i in range(60_000))
    assert len(body) > 1.5 * 2**20
    src.write_bytes(body)

    class Stop(Exception):
        pass

    def stop(chunk, totals, labelled):
        raise Stop

    with pytest.raises(Stop):
        relabel_file(src, out, model=model, chunk_size=20_000, on_chunk=stop)
    st = src.stat()
    changed = body[:-20] + body[-20:].replace(b"die", b"dye")
    assert len(changed) == len(body)
    src.write_bytes(changed)
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(InputError, match="cannot resume.*sha256"):
        relabel_file(src, out, model=model, chunk_size=20_000, resume=True)


def test_resume_is_refused_for_a_pipe(tmp_path, model):
    from crisis_nlp.batch.journal import input_fingerprint

    fifo = tmp_path / "in.csv"
    os.mkfifo(fifo)
    assert input_fingerprint(fifo)["sha256"] is None  # not read: a pipe cannot be read twice
    with pytest.raises(InputError, match="not a regular file"):
        relabel_file(fifo, tmp_path / "o.csv", model=model, resume=True, fmt="csv")


def test_a_headerless_csv_error_quotes_no_row(tmp_path, model):
    src = tmp_path / "c.csv"
    src.write_text("1001,2024-05-01,Jane Roe 555-0142 says she wants to die\n1002,2024-05-01,loud music\n")
    with pytest.raises(InputError) as err:
        relabel_file(src, tmp_path / "o.csv", model=model)
    msg = str(err.value)
    assert "Jane" not in msg and "555" not in msg and "1001" not in msg
    assert "header row missing" in msg and "--text-field" in msg
    ok = tmp_path / "ok.csv"
    ok.write_text("id,narrative\n1,x\n")
    with pytest.raises(InputError, match="it has: id, narrative"):  # real column names are still shown
        relabel_file(ok, tmp_path / "o.csv", model=model)


def test_a_wrong_text_field_on_jsonl_fails_like_csv(tmp_path, model):
    src = tmp_path / "c.jsonl"
    src.write_text('{"id": 1, "narrative": "pt wants to die"}\n{"id": 2, "narrative": "x"}\n')
    with pytest.raises(InputError, match="has a field 'text'.*it has: id, narrative.*--text-field"):
        relabel_file(src, tmp_path / "o.jsonl", model=model)
    assert not (tmp_path / "o.jsonl").exists()


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_a_cp1252_csv_is_read_and_written_in_its_encoding(tmp_path, model, encoding):
    raw = "id,text,where\r\n1,pt says he wants to die,Café Ñandú\r\n".encode(encoding)
    src, out = tmp_path / "c.csv", tmp_path / "o.csv"
    src.write_bytes(raw)
    stats = relabel_file(src, out, model=model, encoding=encoding)
    assert stats["labelled"] == 1
    data = out.read_bytes()
    assert "Café Ñandú".encode(encoding) in data
    rows = _rows(data, encoding)
    assert rows[1][2] == "Café Ñandú" and "suicidal" in rows[1][rows[0].index("categories")]
    jsrc, jout = tmp_path / "c.jsonl", tmp_path / "o.jsonl"
    jsrc.write_bytes('{"text": "pt says he wants to die", "w": "Café"}\n'.encode(encoding))
    assert relabel_file(jsrc, jout, model=model, encoding=encoding)["labelled"] == 1
    assert jout.read_bytes().startswith('{"text": "pt says he wants to die", "w": "Café", '.encode(encoding))


def test_a_note_that_is_not_utf8_names_the_encoding_option(tmp_path, model):
    src, out = tmp_path / "c.csv", tmp_path / "o.csv"
    src.write_bytes("id,text\r\n1,pt très triste\r\n".encode("cp1252"))
    relabel_file(src, out, model=model)
    rows = _rows(out.read_bytes())
    assert "--encoding" in rows[1][rows[0].index("error")]
