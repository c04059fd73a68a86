"""Hostile requests to the HTTP API: never a 500, never the note in a response other than
the result, the size limit also on chunked bodies (issue 13)."""

import json

import pytest

pytest.importorskip("fastapi", reason="the HTTP service is the optional [serve] extra")
from fastapi.testclient import TestClient  # noqa: E402

SECRET = "Jane Roe 555-0142 says she will end it"  # invented; must never come back in an error
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def client(model):
    from crisis_nlp.serve.http import create_app

    return TestClient(create_app(model), raise_server_exceptions=False)


def _no_echo(r):
    assert r.status_code < 500, r.text
    assert "Jane" not in r.text and "555-0142" not in r.text
    assert '"input"' not in r.text  # FastAPI's default echoes each bad value under "input"
    return r


@pytest.mark.parametrize("body, status", [
    ({"text": 5, "id": SECRET}, 422),
    ({"text": SECRET + "x" * 20_000}, 422),
    ({"txt": SECRET}, 422),
    ({SECRET: "x", "text": "ok"}, 422),  # an unknown key is not echoed either
    (SECRET, 422),  # a bare JSON string
    ({"notes": [{"text": SECRET}] * 257}, 422),
    ({"notes": [{"text": SECRET, "idd": 1}]}, 422),
])
def test_validation_errors_never_echo_the_body(client, body, status):
    path = "/v1/classify/batch" if isinstance(body, dict) and "notes" in body else "/v1/classify"
    r = _no_echo(client.post(path, json=body))
    assert r.status_code == status
    problems = r.json()["detail"]
    assert problems and all(set(p) == {"type", "loc", "msg"} for p in problems)


@pytest.mark.parametrize("raw, headers", [
    (b'{"text": "' + SECRET.encode() + b'"}', {"content-type": "text/plain"}),  # wrong content type
    (b'{"text": "' + SECRET.encode() + b' \\ud800"}', JSON),  # a lone surrogate in the note
    (b'{"text": "pt ok", "id": "\\udfff' + SECRET.encode() + b'"}', JSON),  # ... in the id
    (b'{"text": "' + SECRET.encode() + b'", "id": NaN}', JSON),
    (b'{"text": "' + SECRET.encode() + b'", "id": ' + b"9" * 5000 + b"}", JSON),  # 5,000 digits
    (b'{"text": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", JSON),  # deep nesting
    (b'{"text": "' + SECRET.encode() + b'"', JSON),  # cut short
    (b"\xff\xfe" + SECRET.encode(), JSON),  # not UTF-8
])
def test_malformed_bodies_get_4xx_without_the_note(client, raw, headers):
    r = _no_echo(client.post("/v1/classify", content=raw, headers=headers))
    assert 400 <= r.status_code < 500


def test_chunked_body_over_the_limit_is_refused_while_it_arrives(model):
    from crisis_nlp.serve.http import create_app

    client = TestClient(create_app(model, max_body_bytes=10_000), raise_server_exceptions=False)
    sent = []

    def body():  # no Content-Length: the body is streamed in chunks
        yield b'{"text": "' + SECRET.encode()
        for _ in range(100):
            sent.append(1)
            yield b"a" * 1000
        yield b'"}'

    r = client.post("/v1/classify", content=body(), headers=JSON)
    assert r.status_code == 413 and "Jane" not in r.text
    ok = client.post("/v1/classify", content=iter([b'{"text": "pt ', b'wants to die"}']), headers=JSON)
    assert ok.status_code == 200 and "suicidal" in ok.json()["categories"]


def test_a_false_small_content_length_does_not_get_past_the_limit(model):
    from crisis_nlp.serve.http import BodyLimit

    import asyncio

    sent = []

    async def app(scope, receive, send):  # pragma: no cover - must not be reached
        raise AssertionError("the app was called")

    async def receive():
        return {"type": "http.request", "body": b"a" * 600, "more_body": True}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "headers": [(b"content-length", b"10")]}
    asyncio.run(BodyLimit(app, max_bytes=1000)(scope, receive, send))
    assert sent[0]["status"] == 413


@pytest.mark.parametrize("raw", [
    b'{"a": ' + b"[" * 400 + b"]" * 400 + b', "notesComponent": [{"notesActionComments": "pt ok"}]}',
    b'{"a": ' + b"9" * 4400 + b', "notesComponent": [{"notesActionComments": "pt ok"}]}',
    b'{"$id": "\\ud800", "notesComponent": [{"notesActionComments": "pt ok"}]}',
    b'{"notesComponent": [{"notesActionComments": "' + SECRET.encode() + b' \\udc80"}]}',
    b'{"a": NaN, "notesComponent": [{"notesActionComments": "pt ok"}]}',
    b'{"notesComponent": [{"notesActionComments": "\xff' + SECRET.encode() + b'"}]}',
])
def test_hostile_eido_documents_get_400_with_the_library_message(client, raw):
    r = _no_echo(client.post("/v1/classify/eido", content=raw, headers=JSON))
    assert r.status_code == 400 and "EIDO" in r.json()["detail"]


def test_results_are_strict_json(client):
    r = client.post("/v1/classify", json={"text": "pt wants to die", "id": "é-1"})
    assert r.status_code == 200
    json.loads(r.text, parse_constant=lambda c: pytest.fail(f"bare {c}"))
    assert r.json()["id"] == "é-1"
