"""The one I/O stack (batch/tables.py): labelled data and relabel read a file through the
same opening, decoding and row readers, so they see the same rows."""

import gzip
import io
from types import SimpleNamespace

import pytest

from crisis_nlp.batch.formats import BadRow, CsvFormat, JsonlFormat
from crisis_nlp.batch.tables import read_records
from crisis_nlp.errors import InputError
from crisis_nlp.training.labelled import load_labelled

# a byte order mark, a quoted header cell, ; as delimiter, a note over two lines, a blank line
CSV = ('\ufeff"id";text;where\r\n1;"RP\'s son says\r\nhe wants to die";Café\r\n\r\n2;loud music;x\r\n'
       '3;short row\r\n')
JSONL = '\ufeff{"id": 1, "text": "pt wants to die", "where": "Café"}\n\n  \n{"id": 2, "text": "loud music"}\n'


def _relabel_texts(form, path):
    texts = []
    for chunk in form.chunks(path, text_field="text", compare_field=None, result_columns=["error"], chunk_size=2):
        texts += [None if isinstance(t, BadRow) else t for t in form.decode(chunk).texts]
    return texts


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
def test_records_and_relabel_read_the_same_rows(tmp_path, encoding):
    for name, data, form in (("c.csv", CSV, CsvFormat(encoding=encoding)),
                             ("c.jsonl", JSONL, JsonlFormat(encoding=encoding))):
        if encoding != "utf-8":
            data = data.replace("\ufeff", "")  # a byte order mark is UTF-8's
        path = tmp_path / name
        path.write_bytes(data.encode(encoding))
        records = list(read_records(path, encoding=encoding))
        assert [r["text"] for r in records][:2] == _relabel_texts(form, path)[:2]
        assert records[0]["where"] == "Café" and "id" in records[0]
    assert records[0]["text"] == "pt wants to die" and len(records) == 2  # blank lines are no records


def test_a_short_csv_row_gets_none_and_relabel_a_bad_row(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(CSV, encoding="utf-8")
    assert list(read_records(path))[2] == {"id": "3", "text": "short row", "where": None}
    assert _relabel_texts(CsvFormat(), path)[2] is None


def test_csv_from_stdin(monkeypatch):
    # the reader sniffs the delimiter from lines it keeps: stdin cannot be rewound
    monkeypatch.setattr("sys.stdin", SimpleNamespace(buffer=io.BytesIO(b"id;text\n1;pt wants to die\n")))
    assert list(read_records("-", "csv")) == [{"id": "1", "text": "pt wants to die"}]


def test_a_byte_not_in_the_encoding_names_the_line_and_the_option(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_bytes(b'{"text": "a"}\n{"text": "b"}\n{"text": "Jane caf\xe9 555-0142"}\n')
    with pytest.raises(InputError) as err:
        list(read_records(path))
    msg = str(err.value)
    assert "line 3 is not valid utf-8" in msg and "--encoding cp1252" in msg
    assert "Jane" not in msg and "555" not in msg
    assert list(read_records(path, encoding="cp1252"))[2]["text"] == "Jane café 555-0142"


def test_a_truncated_gz_is_an_input_error(tmp_path):
    path = tmp_path / "c.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"text": "loud music"}\n' * 1000)[:-40])
    with pytest.raises(InputError, match="cannot read .* truncated"):
        list(read_records(path))


@pytest.mark.parametrize("name", ["c.csv", "c.jsonl"])
def test_labelled_data_without_the_note_field_names_the_option_not_a_note(tmp_path, name):
    path = tmp_path / name
    if name.endswith(".csv"):
        path.write_text("id,narrative,categories\n1,Jane Roe 555-0142 wants to die,[\"suicidal\"]\n")
    else:
        path.write_text('{"id": 1, "narrative": "Jane Roe 555-0142 wants to die", "categories": ["suicidal"]}\n')
    with pytest.raises(InputError) as err:
        load_labelled(path)
    msg = str(err.value)
    assert "'text'" in msg and "it has: id, narrative, categories" in msg and "--text-field" in msg
    assert "Jane" not in msg and "555" not in msg
    assert load_labelled(path, text_field="narrative")[0]["categories"] == ["suicidal"]
