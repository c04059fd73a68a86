"""The command line against messy input and a new user's rough edges (issue 13): the
library's errors, never a traceback; --encoding wherever files are read; help on every
option."""

import argparse
import json
import re
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from crisis_nlp.cli import build_parser, main

from conftest import GOLD, PAUSING_CLI, ROOT

CLI = [sys.executable, "-m", "crisis_nlp.cli"]
LABELLED_CP1252 = "id,text,categories,flags,response_mode\r\n1,pt très triste says he wants to die,[],[],crisis_line\r\n"


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


# -- bad text at every entry point ---------------------------------------------------

def test_classify_argument_with_bytes_that_are_not_utf8():
    p = subprocess.run(CLI + ["classify", b"pt \xff wants to die"], capture_output=True, timeout=300)
    assert p.returncode == 1 and b"Traceback" not in p.stderr
    assert b"not valid utf-8" in p.stderr and b"--encoding" in p.stderr
    ok = subprocess.run(CLI + ["classify", "--encoding", "latin-1", b"pt caf\xe9 wants to die"],
                        capture_output=True, timeout=300)
    assert ok.returncode == 0 and "suicidal" in json.loads(ok.stdout)["categories"]


def test_classify_latin1_on_stdin(monkeypatch, capsys):
    for encoding, code in ((None, 1), ("cp1252", 0)):
        monkeypatch.setattr(sys, "stdin", SimpleNamespace(buffer=__import__("io").BytesIO(
            "pt très triste, wants to die".encode("cp1252"))))
        got, out, err = _run(["classify"] + (["--encoding", encoding] if encoding else []), capsys)
        assert got == code
        assert ("--encoding cp1252" in err) if code else ("suicidal" in json.loads(out)["categories"])


def test_classify_note_with_a_lone_surrogate_is_the_library_error(model):
    from crisis_nlp.errors import InputError

    for call in (lambda: model.classify("pt \ud800 555-0142"), lambda: model.classify_batch(["ok", "\udcff"]),
                 lambda: model.classify_batch(["ok", "x\ud800"], explain=False), lambda: model.predict_proba(["\ud800"])):
        with pytest.raises(InputError, match="not valid UTF-8") as err:
            call()
        assert "555" not in str(err.value)


@pytest.mark.parametrize("command", ["evaluate", "review", "compare"])
def test_a_cp1252_file_needs_and_accepts_encoding(command, tmp_path, capsys):
    data = tmp_path / "calls.csv"
    data.write_bytes(LABELLED_CP1252.encode("cp1252"))
    argv = {"evaluate": ["evaluate", "--data", data],
            "review": ["review", "--data", data, "-o", tmp_path / "r.csv"],
            "compare": ["compare", "default@2.0.0", "default@2.0.0", "--data", data]}[command]
    code, _out, err = _run(argv, capsys)
    assert code == 1 and "not valid utf-8" in err and "--encoding cp1252" in err
    code, out, err = _run(argv + ["--encoding", "cp1252"], capsys)
    assert code == 0, err


def test_train_data_in_cp1252_names_the_encoding_option(tmp_path, capsys):
    data = tmp_path / "calls.csv"
    data.write_bytes(LABELLED_CP1252.encode("cp1252"))
    code, _out, err = _run(["train", "--data", data, "--name", "county-z", "--version", "1.0.0",
                            "--registry", tmp_path / "reg", "--quiet"], capsys)
    assert code == 1 and "--encoding cp1252" in err


# -- rough edges -----------------------------------------------------------------------

def test_evaluate_on_notes_without_labels_fails(tmp_path, capsys):
    data = tmp_path / "notes.jsonl"
    data.write_text('{"text": "pt wants to die"}\n{"text": "stolen bike"}\n')
    code, out, err = _run(["evaluate", "--data", data], capsys)
    assert code == 1 and "has no labels" in err and out == ""


def test_eido_format_text_prints_text(tmp_path, capsys):
    doc = tmp_path / "e.json"
    doc.write_text(json.dumps({"notesComponent": [{"notesActionComments": "pt on bridge wants to jump"}]}))
    code, out, _err = _run(["classify", "--eido", doc, "--format", "text"], capsys)
    assert code == 0 and out.startswith("response mode : ")
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)


@pytest.mark.parametrize("argv", [
    ["train", "--name", "county-x\n", "--version", "1.0.0"],
    ["train", "--name", "county x", "--version", "1.0.0"],
    ["train", "--version", "1.1.0\n"],
    ["train", "--version", " 1.1.0"],
    ["models", "promote", "county-x@1.1.0\n"],
    ["models", "promote", "../../etc@1.0.0"],
    ["classify", "--model", "default@2.0.0 ", "x"],
])
def test_names_and_versions_with_whitespace_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "not a model name or version" in capsys.readouterr().err


def test_unwritable_outputs_are_clean_errors(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    bad = blocker / "out"  # a path under a file: NotADirectoryError, even for root
    code, _out, err = _run(["review", "--data", GOLD, "--top", "3", "-o", str(bad) + ".jsonl"], capsys)
    assert code == 1 and "cannot write" in err
    pytest.importorskip("matplotlib")
    code, _out, err = _run(["evaluate", "--data", GOLD, "--plot", str(bad) + ".png"], capsys)
    assert code == 1 and "cannot write" in err


def test_promote_into_an_unwritable_registry_is_a_clean_error(tmp_path, capsys):
    import shutil

    reg = tmp_path / "reg"
    shutil.copytree(ROOT / "models" / "default", reg / "default")
    (reg / "default.json").mkdir()  # the pointer cannot be replaced: an OSError, even for root
    code, _out, err = _run(["models", "--registry", reg, "promote", "default@2.0.0"], capsys)
    assert code == 1 and "cannot write the default pointer" in err


def test_models_marks_metrics_on_different_notes_as_not_comparable(monkeypatch, capsys):
    import crisis_nlp.registry.versions as registry

    real = registry.list_all()[0]

    def entry(spec, evaluation):
        return SimpleNamespace(spec=spec, path=real.path, manifest={"created": "2026", "artifact_bytes": 1,
                                                                    "evaluation": evaluation})

    monkeypatch.setattr(registry, "resolve", lambda spec, root=None: SimpleNamespace(spec="default@2.0.0"))
    gold = {"n": 260, "category_micro": {"f1": 0.792}}
    own = {"n": 28, "category_micro": {"f1": 1.0}}
    monkeypatch.setattr(registry, "list_all", lambda root=None: [entry("default@2.0.0", {"gold": gold}),
                                                               entry("county-x@1.1.0", {"heldout_agency": own})])
    code, out, _err = _run(["models"], capsys)
    assert code == 0
    assert re.search(r"default@2\.0\.0.*0\.792\s+gold set \(n=260\)", out)
    assert re.search(r"county-x@1\.1\.0.*1\.000\s+own held-out notes \(n=28\)", out)
    assert "not comparable" in out
    monkeypatch.setattr(registry, "list_all", lambda root=None: [entry("default@2.0.0", {"gold": gold}),
                                                               entry("county-x@1.1.0", {"gold": gold})])
    assert "not comparable" not in _run(["models"], capsys)[1]


def test_compare_judges_no_label_with_fewer_than_five_notes():
    from crisis_nlp.training.compare import MIN_SUPPORT, format_comparison
    from crisis_nlp.training.evaluate import compute_metrics

    gold = [{"categories": ["suicidal"], "flags": []}] * 10 + [{"categories": ["grief_loss"], "flags": []}]
    good = [{"categories": ["suicidal"], "flags": []}] * 10 + [{"categories": ["grief_loss"], "flags": []}]
    bad = [{"categories": ["suicidal"], "flags": []}] * 10 + [{"categories": [], "flags": []}]
    a, b = compute_metrics(gold, bad), compute_metrics(gold, good)
    from crisis_nlp.labels import LABELS

    too_few = [x for x in LABELS if a["per_label"][x]["support"] < MIN_SUPPORT]
    c = {"n": 11, "warnings": [], "new": {"spec": "new@1", "metrics": a}, "old": {"spec": "old@1", "metrics": b},
         "diff": {"category_micro_f1": 0.0}, "worse": [], "too_few": too_few}
    text = format_comparison(c)
    grief = next(line for line in text.splitlines() if line.startswith("grief_loss"))
    assert "WORSE" not in grief and "not judged" in grief
    veteran = next(line for line in text.splitlines() if line.startswith("veteran"))
    assert veteran.split()[1:4] == ["n/a", "n/a", "n/a"] and "WORSE" not in veteran


def test_compare_models_leaves_labels_with_few_notes_out_of_worse(model, monkeypatch):
    import crisis_nlp.training.compare as compare

    class Flip:  # the "new" model misses the one grief note
        version = "x"

        def __init__(self, drop):
            self.drop = drop

        def classify_batch(self, texts, explain=True):
            out = []
            import dataclasses

            for t in texts:
                r = model.classify(t)
                if self.drop:
                    r = dataclasses.replace(r, categories=[c for c in r.categories if c != "grief_loss"])
                out.append(r)
            return out

    specs = iter([True, False])
    monkeypatch.setattr(compare, "resolve", lambda spec, registry=None: SimpleNamespace(spec=spec, manifest={}))
    monkeypatch.setattr("crisis_nlp.api.model_from_entry", lambda entry: Flip(next(specs)))
    recs = [{"text": "pt wants to die", "categories": ["suicidal"], "flags": []}] * 6 + [
        {"text": "RP crying since her husband died last week", "categories": ["grief_loss"], "flags": []}]
    c = compare.compare_models("new@1", "old@1", recs, fairness=False)
    assert "grief_loss" in c["too_few"] and not any("grief_loss" in w for w in c["worse"])


def test_every_option_has_help_text():
    missing = []

    def walk(parser, path):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, path + [name])
            elif not isinstance(action, (argparse._HelpAction, argparse._VersionAction)) and not action.help:
                missing.append(" ".join(path + [action.option_strings[0] if action.option_strings else action.dest]))

    walk(build_parser(), ["crisis-nlp"])
    assert not missing, missing


def test_help_points_only_at_readme_sections_that_exist():
    headings = {line.lstrip("#").strip() for line in (ROOT / "README.md").read_text().splitlines()
                if line.startswith("#")}
    texts = []

    def walk(parser):
        texts.append(parser.description or "")
        for action in parser._actions:
            texts.append(action.help or "")
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    walk(sub)
                texts.extend(a.help or "" for a in action._choices_actions)

    walk(build_parser())
    refs = [m for t in texts for m in re.findall(r'README "([^"]+)"', t)]
    assert refs, "no README reference found: the test would prove nothing"
    assert [r for r in refs if r not in headings] == []


def test_wrong_text_field_on_jsonl_exits_non_zero(tmp_path, capsys):
    src = tmp_path / "c.jsonl"
    src.write_text('{"narrative": "pt wants to die"}\n')
    code, _out, err = _run(["relabel", src, "-o", tmp_path / "o.jsonl", "--quiet"], capsys)
    assert code == 1 and "--text-field" in err


def test_relabel_onto_its_input_is_refused(tmp_path, capsys):
    src = tmp_path / "c.csv"
    src.write_text("text\npt wants to die\n")
    code, _out, err = _run(["relabel", src, "-o", src, "--quiet"], capsys)
    assert code == 1 and "input file itself" in err and src.read_text() == "text\npt wants to die\n"


def test_ctrl_c_in_relabel_says_how_to_resume(tmp_path):
    src, out = tmp_path / "c.csv", tmp_path / "o.csv"
    src.write_text("text\n" + "pt wants to die\n" * 50)
    # the child gets SIGINT's default action: an earlier test in the same run (a dask
    # cluster) can leave SIGINT ignored in this process, and an ignored signal is inherited
    p = subprocess.Popen(PAUSING_CLI + ["1", "relabel", str(src), "-o", str(out), "--chunk-size", "10", "--quiet"],
                         stderr=subprocess.PIPE, text=True,  # pauses after the first part
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    parts = out.with_name("o.csv.parts")
    # wait for the first part however loaded the machine is (a CI run beside a training
    # took over a minute to load the model; a SIGINT sent before that hung the test)
    for _ in range(3000):
        if (parts / "000000.csv").exists() or p.poll() is not None:
            break
        time.sleep(0.1)
    assert (parts / "000000.csv").exists(), "relabel wrote no part in 300 s"
    p.send_signal(signal.SIGINT)
    try:
        err = p.communicate(timeout=300)[1]
    except subprocess.TimeoutExpired:
        p.kill()
        raise AssertionError(f"relabel ignored SIGINT (this process's SIGINT handler: {signal.getsignal(signal.SIGINT)})")
    assert p.returncode == 130 and "--resume" in err and "Traceback" not in err
    assert subprocess.run(CLI + ["relabel", str(src), "-o", str(out), "--chunk-size", "10", "--quiet", "--resume"],
                          timeout=300).returncode == 0
    assert len(out.read_text().splitlines()) == 51
