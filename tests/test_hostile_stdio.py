"""Hostile lines to ``serve --stdio``: one answer line per input line whatever it holds,
every answer strict JSON, no note text in an error (issue 13)."""

import io
import json
import os
import subprocess
import sys

import pytest

from crisis_nlp.serve.http import serve_stdio

SECRET = b"Jane Roe 555-0142"


def _strict(line: bytes) -> dict:
    return json.loads(line.decode("utf-8"), parse_constant=lambda c: pytest.fail(f"bare {c} in an answer"))


def _serve(model, lines: list[bytes]) -> list[dict]:
    stdin = io.TextIOWrapper(io.BytesIO(b"\n".join(lines) + b"\n"), encoding="utf-8")
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    n = serve_stdio(model, stdin, stdout)
    stdout.flush()
    out = stdout.buffer.getvalue().splitlines()
    assert n == len(out) == len(lines)
    assert SECRET not in b"".join(line for line in out)
    return [_strict(line) for line in out]


HOSTILE = [
    b'{"id": "a", "text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",  # RecursionError in json
    b'{"id": "\\ud800", "text": "pt wants to die"}',  # an id that cannot be written back
    b'{"id": "c", "text": "' + SECRET + b' \xff\xfe"}',  # not UTF-8
    b'{"id": NaN, "text": "pt wants to die"}',
    b'{"id": Infinity, "text": "pt wants to die"}',
    b'{"id": ' + b"7" * 5000 + b', "text": "pt wants to die"}',
    b'{"id": "g", "text": "' + SECRET + b' \\udc80"}',  # a lone surrogate in the note
]


def test_every_hostile_line_gets_one_error_line_and_the_stream_goes_on(model):
    deep_but_readable = b'{"id": "h", "text": "pt ok", "x": ' + b"[" * 900 + b"]" * 900 + b"}"
    good = b'{"id": "last", "text": "pt wants to die"}'
    got = _serve(model, HOSTILE + [deep_but_readable, good])
    for g in got[:-2]:
        assert "error" in g and g["id"] in (None, "c", "g"), g
    assert got[-2]["id"] == "h" and "response_mode" in got[-2]
    assert got[-1]["id"] == "last" and "suicidal" in got[-1]["categories"]


def test_invalid_utf8_with_a_strict_utf8_stdin_does_not_stop_the_server():
    """The case of the issue: PYTHONIOENCODING=utf-8 makes sys.stdin strict."""
    lines = [b'{"id": "1", "text": "\xff\xfe pt"}', b'{"id": "\\ud800", "text": "pt"}',
             b'{"id": NaN, "text": "pt"}', b'{"id": "4", "text": "pt wants to die"}']
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    p = subprocess.run([sys.executable, "-m", "crisis_nlp.cli", "serve", "--stdio"], input=b"\n".join(lines) + b"\n",
                       capture_output=True, timeout=300, env=env)
    assert p.returncode == 0, p.stderr.decode(errors="replace")[-2000:]
    out = [_strict(x) for x in p.stdout.splitlines()]
    assert len(out) == 4
    assert all("error" in o for o in out[:3]) and out[3]["id"] == "4"
    assert b"Traceback" not in p.stderr
