"""Hostile EIDO documents: the library's DataFormatError, never RecursionError, ValueError
or UnicodeEncodeError (issue 13)."""

import json

import pytest

from crisis_nlp.serve.eido import MAX_EIDO_DEPTH, classify_eido, parse_eido
from crisis_nlp.errors import DataFormatError, InputError

NOTE = {"notesActionComments": "pt on bridge wants to jump"}


def _nested(depth: int):
    value: object = "x"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("doc", [
    b'{"a": ' + b"[" * 300 + b"]" * 300 + b', "notesComponent": [{"notesActionComments": "pt"}]}',
    b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b', "notesComponent": [{"notesActionComments": "pt"}]}',
    b'{"a": ' + b"9" * 4301 + b', "notesComponent": [{"notesActionComments": "pt"}]}',
    b'{"$id": "\\ud800", "notesComponent": [{"notesActionComments": "pt"}]}',
    b'{"notesComponent": [{"notesActionComments": "pt \\udc80"}]}',
    b'{"notesComponent": [{"notesActionComments": "pt", "\\ud800": 1}]}',
    b'{"a": NaN, "notesComponent": [{"notesActionComments": "pt"}]}',
    b'{"a": -Infinity, "notesComponent": [{"notesActionComments": "pt"}]}',
])
def test_hostile_json_text_is_a_data_format_error(model, doc):
    for form in (doc, doc.decode("utf-8")):
        with pytest.raises(DataFormatError):
            classify_eido(model, form)


@pytest.mark.parametrize("doc", [
    {"a": _nested(300), "notesComponent": [NOTE]},
    {"a": _nested(5000), "notesComponent": [NOTE]},
    {"a": float("nan"), "notesComponent": [NOTE]},
    {"a": "\ud800", "notesComponent": [NOTE]},
    {"notesComponent": [{"notesActionComments": "pt \udcff"}]},
])
def test_hostile_dicts_are_a_data_format_error(model, doc):
    with pytest.raises(DataFormatError):
        classify_eido(model, doc)


def test_nesting_up_to_the_bound_is_read_and_brackets_in_strings_do_not_count(model):
    deep = {"a": _nested(MAX_EIDO_DEPTH - 2), "b": "[" * 500, "notesComponent": [NOTE]}
    out = classify_eido(model, json.dumps(deep))
    assert out["eido"]["a"] == deep["a"] and out["eido"]["b"] == deep["b"]
    assert parse_eido(deep).notes[0].text == NOTE["notesActionComments"]


def test_errors_are_the_library_hierarchy():
    assert issubclass(DataFormatError, InputError)
