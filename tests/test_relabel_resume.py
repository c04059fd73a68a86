"""relabel survives kill -9: --resume finishes the job, identical to an uninterrupted run;
--jobs 2 equals --jobs 1 on CSV too."""

import csv
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import PAUSING_CLI

CHUNK = "40"
REPEAT = 4
N_ROWS = REPEAT * 260  # 26 parts of CHUNK rows


def _args(src, out, *extra):
    return ["relabel", str(src), "-o", str(out), "--text-field", "narrative", "--chunk-size", CHUNK, "--quiet", *extra]


def _cmd(src, out, *extra):
    return [sys.executable, "-m", "crisis_nlp.cli", *_args(src, out, *extra)]


def _run(src, out, *extra):
    p = subprocess.run(_cmd(src, out, *extra), capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return p


def _kill_group(p):
    os.killpg(p.pid, signal.SIGKILL)  # the CLI and its workers: kill -9
    p.wait(timeout=60)


def _wait_for_parts(parts, n, p, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if parts.exists() and len(list(parts.glob(f"*.csv"))) >= n:
            return True
        if p.poll() is not None:
            return False
        time.sleep(0.005)
    raise AssertionError(f"no {n} parts after {timeout}s")


def _rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


@pytest.fixture(scope="module")
def calls_csv(tmp_path_factory, gold):
    path = tmp_path_factory.mktemp("resume") / "calls.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["incident_no", "call_type", "narrative"])
        for i in range(REPEAT):
            for j, g in enumerate(gold):
                w.writerow([f"{i}-{j}", "MENTAL" if j % 5 == 0 else "OTHER",
                            "" if j == 17 else g["text"].replace(", ", ",\n", 1)])
    return path


@pytest.fixture(scope="module")
def reference(calls_csv):
    """An uninterrupted --jobs 1 run."""
    out = calls_csv.with_name("reference.csv")
    _run(calls_csv, out, "--jobs", "1")
    return out


def _assert_same(out, reference):
    got, want = _rows(out), _rows(reference)
    assert len(got) == len(want)
    for i, (a, b) in enumerate(zip(got, want)):
        assert a == b, f"row {i} differs"
    assert out.read_bytes() == reference.read_bytes()
    assert not out.with_name(out.name + ".parts").exists()


def test_kill_9_after_some_parts_then_resume_with_jobs_2(calls_csv, reference, tmp_path):
    """Paused after 3 parts (tests/pausing_cli.py), so the kill always lands mid-run; the
    resumed --jobs 2 output equals the uninterrupted --jobs 1 one."""
    jobs = "2"
    out = tmp_path / "out.csv"
    p = subprocess.Popen(PAUSING_CLI + ["3", *_args(calls_csv, out, "--jobs", jobs)], start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert _wait_for_parts(out.with_name("out.csv.parts"), 3, p), "the run ended before the kill"
    _kill_group(p)
    assert not out.exists()
    _run(calls_csv, out, "--jobs", jobs, "--resume")
    _assert_same(out, reference)


def test_kill_9_at_an_unplanned_moment_then_resume(calls_csv, reference, tmp_path):
    """Killed as soon as the first part appears, wherever the run is then (between parts 1
    and 20 of 26: the launcher pauses after part 20, so the run cannot end before the kill)."""
    out = tmp_path / "out.csv"
    p = subprocess.Popen(PAUSING_CLI + ["20", *_args(calls_csv, out, "--jobs", "1")], start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert _wait_for_parts(out.with_name("out.csv.parts"), 1, p), "the run ended before the kill"
    _kill_group(p)
    assert not out.exists()
    _run(calls_csv, out, "--jobs", "1", "--resume")
    _assert_same(out, reference)


class _Crash(Exception):
    pass


def test_resume_refuses_other_options_or_input(calls_csv, tmp_path, model):
    from crisis_nlp.batch.relabel import relabel_file
    from crisis_nlp.errors import InputError, OutputError

    out = tmp_path / "out.csv"
    parts = out.with_name("out.csv.parts")

    def crash_after_two(chunk, totals, labelled):
        if chunk.index == 1:
            raise _Crash

    opts = dict(text_field="narrative", chunk_size=int(CHUNK), model=model)
    with pytest.raises(_Crash):
        relabel_file(calls_csv, out, on_chunk=crash_after_two, **opts)
    (parts / "000002.csv.tmp").write_bytes(b"half a part")  # as a kill mid-write leaves it
    with pytest.raises(OutputError, match="pass --resume"):  # no silent restart
        relabel_file(calls_csv, out, **opts)
    with pytest.raises(InputError, match="cannot resume.*explain"):
        relabel_file(calls_csv, out, resume=True, explain=True, **opts)
    changed = calls_csv.with_name("changed.csv")
    changed.write_bytes(calls_csv.read_bytes().replace(b"OTHER", b"OTHR", 1))
    with pytest.raises(InputError, match="cannot resume.*sha256"):
        relabel_file(changed, out, resume=True, **opts)
    seen = []
    stats = relabel_file(calls_csv, out, resume=True, on_chunk=lambda c, t, labelled: seen.append(labelled), **opts)
    assert seen[:3] == [False, False, True]  # the two done chunks were not labelled again
    assert stats["read"] == N_ROWS and not parts.exists() and len(_rows(out)) == 1 + N_ROWS
