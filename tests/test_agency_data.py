"""Validation of an agency's labelled notes: every problem reported with its row, nothing dropped."""

import pytest

from crisis_nlp.training.agency_data import LabelMapping, load_agency_data
from crisis_nlp.errors import DataFormatError, DataValidationError, InputError

from agency_notes import agency_rows, write_csv, write_jsonl


def csv_file(tmp_path, rows, name="notes.csv"):
    return write_csv(rows, tmp_path / name)


def test_a_clean_file_loads_whole(tmp_path):
    rows = agency_rows()
    data = load_agency_data(csv_file(tmp_path, rows))
    assert len(data.records) == len(rows)
    assert data.label_counts()["suicidal"] == 60
    assert data.records[0]["row"] == "row 2"  # the header is row 1, as a spreadsheet shows it
    assert any("weapon" in w for w in data.warnings)  # labels nobody has are said, not hidden


@pytest.mark.parametrize("change, expected", [
    (lambda r: r[4].update(categories="suicidal|sadness"), "row 6: unknown label 'sadness'"),
    (lambda r: r[2].update(text="   "), "row 4: 'text' is empty or missing"),
    (lambda r: r[9].update(text=r[3]["text"].upper()), "row 11: duplicate note: the same text as row 5"),
    (lambda r: r[7].update(response_mode="send_help"), "row 9: unknown response mode 'send_help'"),
    (lambda r: [x.update(flags="weapon") for x in r[:3]], "label weapon: only 3 example(s) (row 2, row 3, row 4)"),
])
def test_each_kind_of_problem_is_reported_with_its_row(tmp_path, change, expected):
    rows = agency_rows()
    change(rows)
    with pytest.raises(DataValidationError) as info:
        load_agency_data(csv_file(tmp_path, rows))
    assert expected in str(info.value)
    assert "nothing was trained" in str(info.value)


def test_all_problems_come_together(tmp_path):
    rows = agency_rows()
    rows[0]["text"] = ""
    rows[1]["categories"] = "sad"
    rows[2]["text"] = rows[3]["text"]
    with pytest.raises(DataValidationError) as info:
        load_agency_data(csv_file(tmp_path, rows))
    assert [w for w, _ in info.value.problems] == ["row 2", "row 3", "row 5"]


def test_one_zero_one_column_per_label_and_jsonl_record_numbers(tmp_path):
    rows = [{"text": r["text"], "suicidal": int(r["categories"] == "suicidal"), "weapon": 0} for r in agency_rows()]
    data = load_agency_data(write_jsonl(rows, tmp_path / "n.jsonl"))
    assert data.label_format == "columns" and data.label_counts()["suicidal"] == 60
    rows[5]["weapon"] = "maybe"
    with pytest.raises(DataValidationError, match=r"record 6: column 'weapon' must be 0 or 1"):
        load_agency_data(write_jsonl(rows, tmp_path / "n.jsonl"))


def test_mapping_from_the_agencys_own_codes(tmp_path):
    (tmp_path / "map.csv").write_text("code,labels,response_mode\nSUIC,suicidal,mobile_crisis\n"
                                      "OD,substance_use|medical,ems\nNOISE,,\n")
    mapping = LabelMapping.from_file(tmp_path / "map.csv")
    rows = [{"narrative": r["text"], "call_type": "SUIC" if r["categories"] else "NOISE"} for r in agency_rows()]
    data = load_agency_data(csv_file(tmp_path, rows), text_field="narrative", mapping=mapping)
    sui = [r for r in data.records if r["categories"]]
    assert len(sui) == 60 and all(r["response_mode"] == "mobile_crisis" for r in sui)
    rows[3]["call_type"] = "10-56"
    with pytest.raises(DataValidationError, match="row 5: code '10-56' in 'call_type' is not in the labels mapping"):
        load_agency_data(csv_file(tmp_path, rows), text_field="narrative", mapping=mapping)


def test_a_mapping_file_is_read_like_every_input(tmp_path):
    # saved by Excel: a byte order mark; | separates ids and must not be taken for the delimiter
    (tmp_path / "map.csv").write_bytes(b"\xef\xbb\xbfcode,labels\r\nOD,substance_use|medical\r\nX,\r\n")
    assert LabelMapping.from_file(tmp_path / "map.csv").codes["OD"] == (("substance_use", "medical"), None)
    (tmp_path / "map.csv").write_bytes("code,labels\r\nCAFÉ,suicidal\r\n".encode("cp1252"))
    with pytest.raises(InputError, match="not valid utf-8"):
        LabelMapping.from_file(tmp_path / "map.csv")


def test_a_bad_mapping_file_is_refused(tmp_path):
    (tmp_path / "map.csv").write_text("code,labels\nSUIC,suicidal\nSUIC,self_harm\nX,sadness\n")
    with pytest.raises(DataValidationError) as info:
        LabelMapping.from_file(tmp_path / "map.csv")
    assert "row 3: code 'SUIC' is mapped twice" in str(info.value)
    assert "row 4: code 'X' maps to unknown ids ['sadness']" in str(info.value)


def test_missing_text_column_and_missing_labels_say_what_to_pass(tmp_path):
    rows = agency_rows()
    with pytest.raises(DataFormatError, match="--text-field"):
        load_agency_data(csv_file(tmp_path, rows), text_field="narrative")
    with pytest.raises(DataFormatError, match="--labels-mapping"):
        load_agency_data(csv_file(tmp_path, [{"text": r["text"]} for r in rows]))


def test_evaluation_data_may_repeat_notes(tmp_path):
    rows = agency_rows()
    rows[1]["text"] = rows[0]["text"]
    assert len(load_agency_data(csv_file(tmp_path, rows), training=False).records) == len(rows)


def test_csv_notes_with_apostrophes_and_line_breaks(tmp_path):
    rows = agency_rows()
    rows[0]["text"] = "RP states son SXI, he'd said it's 'over'\nUPDATE: pt's door locked"
    rows[1]["text"] = "caller's bike stolen, 'blue' frame\r\nUPDATE: suspect's car gone"
    data = load_agency_data(csv_file(tmp_path, rows))
    assert [r["text"] for r in data.records[:2]] == [rows[0]["text"], rows[1]["text"]]
    assert len(data.records) == len(rows)
