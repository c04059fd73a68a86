import csv
import json
import subprocess
import sys

import pytest

from crisis_nlp.result import RESULT_KEYS


def run(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "crisis_nlp.cli", *args], input=stdin, capture_output=True,
                          text=True, timeout=300)


def test_classify_argument_and_stdin_agree():
    note = "RP states brother (army vet) said he'd end it tonight, has a handgun, ETOH"
    a = run("classify", note)
    b = run("classify", stdin=note)
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    da, db = json.loads(a.stdout), json.loads(b.stdout)
    assert da == db and tuple(da) == RESULT_KEYS


def test_console_script_is_installed():
    out = subprocess.run(["crisis-nlp", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "relabel" in out.stdout


def test_relabel_jsonl_keeps_every_row_and_marks_bad_ones(tmp_path):
    src = tmp_path / "calls.jsonl"
    rows = [
        {"incident": "a1", "narrative": "subj on bridge rail threatening to jump, denies weapons"},
        {"incident": "a2", "narrative": ""},
        {"incident": "a3"},
        {"incident": "a4", "narrative": 17},
        {"incident": "a5", "narrative": "loud music next door, no injuries"},
    ]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out.jsonl"
    p = run("relabel", str(src), "-o", str(out), "--id-field", "incident", "--text-field", "narrative")
    assert p.returncode == 0, p.stderr
    got = [json.loads(line) for line in out.read_text().splitlines()]
    assert [g["incident"] for g in got] == ["a1", "a2", "a3", "a4", "a5"]
    assert got[0]["error"] is None and "suicidal" in got[0]["categories"]
    assert got[4]["error"] is None and got[4]["response_mode"] == "standard_dispatch"
    for g in got[1:4]:
        assert g["error"] and g["categories"] is None
    assert "missing" in got[2]["error"] and "not text" in got[3]["error"]
    assert "labelled 2" in p.stderr and "failed 3" in p.stderr
    assert "bridge" not in p.stderr  # note text is never echoed


def test_relabel_csv_with_multiline_quoted_fields(tmp_path):
    src = tmp_path / "calls.csv"
    with open(src, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "text"])
        w.writerow(["1", "21:14 RP states son has a knife\n21:16 says he wants to die"])
        w.writerow(["2", "vehicle break-in, laptop taken"])
    out = tmp_path / "out.csv"
    p = run("relabel", str(src), "-o", str(out), "--quiet")
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    rows = list(csv.DictReader(open(out, newline="")))
    assert [r["id"] for r in rows] == ["1", "2"]
    assert "weapon" in json.loads(rows[0]["flags"])
    assert float(rows[0]["score_weapon"]) > 0.5 and rows[0]["text"].count("\n") == 1  # multi-line note kept


def test_evaluate_prints_per_label_metrics_and_confusion(tmp_path, gold):
    data = tmp_path / "g.jsonl"
    data.write_text("".join(json.dumps(g) + "\n" for g in gold[:60]))
    p = run("evaluate", "--data", str(data))
    assert p.returncode == 0, p.stderr
    assert "suicidal" in p.stdout and "response-mode accuracy" in p.stdout and "confusion" in p.stdout
    pj = run("evaluate", "--data", str(data), "--json")
    m = json.loads(pj.stdout)
    assert m["n"] == 60 and set(m["per_label"]["suicidal"]) == {"precision", "recall", "f1", "support"}


def test_models_lists_the_shipped_version():
    p = run("models")
    assert p.returncode == 0 and "default@" in p.stdout


@pytest.mark.parametrize(
    "args, msg",
    [
        (("classify", "x", "--model", "7.7.7"), "no model version"),
        (("classify", "   "), "empty"),
        (("relabel", "/nonexistent/calls.jsonl", "-o", "/tmp/x.jsonl"), "cannot read"),
        (("evaluate", "--data", "calls.xlsx"), "cannot tell the format"),
    ],
)
def test_errors_exit_1_with_a_message(args, msg):
    p = run(*args)
    assert p.returncode == 1
    assert msg in p.stderr and "Traceback" not in p.stderr


def test_relabel_jobs_2_equals_jobs_1(tmp_path, gold):
    src = tmp_path / "calls.jsonl"
    rows = [{"id": g["id"], "text": g["text"]} for g in gold] * 3 + [{"id": "bad", "text": ""}]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    outs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}.jsonl"
        p = run("relabel", str(src), "-o", str(out), "--jobs", jobs, "--quiet")
        assert p.returncode == 0, p.stderr
        outs.append(out.read_text())
    assert outs[0] == outs[1]
    got = [json.loads(x) for x in outs[0].splitlines()]
    assert [g["id"] for g in got] == [r["id"] for r in rows]
    assert got[-1]["error"] and all(g["error"] is None for g in got[:-1])
