"""The stdio loop and the HTTP API, over a real subprocess pipe and real HTTP."""

import json
import socket
import subprocess
import sys
import threading
import time

import pytest

from crisis_nlp.result import RESULT_KEYS

from conftest import ROOT


def test_stdio_answers_each_line_in_order_and_survives_bad_lines():
    lines = [
        json.dumps({"id": "1", "text": "subj on bridge rail threatening to jump, denies weapons"}),
        "{not json",
        json.dumps({"id": "3"}),
        json.dumps({"id": "4", "text": ""}),
        json.dumps("loud music next door"),
        json.dumps([1, 2]),
        json.dumps({"id": "7", "text": "pt unresponsive, not breathing after taking pills"}),
    ]
    p = subprocess.run([sys.executable, "-m", "crisis_nlp.cli", "serve", "--stdio"], input="\n".join(lines) + "\n",
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    out = [json.loads(x) for x in p.stdout.splitlines()]
    assert len(out) == len(lines)
    assert out[0]["id"] == "1" and "suicidal" in out[0]["categories"] and set(RESULT_KEYS) <= set(out[0])
    assert "not valid JSON" in out[1]["error"]
    assert out[2]["id"] == "3" and "no 'text'" in out[2]["error"]
    assert "empty" in out[3]["error"]
    assert out[4]["response_mode"] == "standard_dispatch"
    assert "error" in out[5]
    assert out[6]["id"] == "7" and "medical" in out[6]["flags"]


def test_stdio_flushes_each_line():
    """A driver can read the answer to line 1 before it sends line 2."""
    proc = subprocess.Popen([sys.executable, "-m", "crisis_nlp.cli", "serve", "--stdio"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        for i in range(3):
            proc.stdin.write(json.dumps({"id": str(i), "text": "RP states son wants to die"}) + "\n")
            proc.stdin.flush()
            assert json.loads(proc.stdout.readline())["id"] == str(i)
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)


fastapi = pytest.importorskip("fastapi", reason="the HTTP service is the optional [serve] extra")
uvicorn = pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")


@pytest.fixture(scope="module")
def server(model):
    from crisis_nlp.serve.http import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(create_app(model), host="127.0.0.1",  # default limits, as in openapi.json
                            port=port, log_level="warning")
    srv = uvicorn.Server(config)
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    yield base
    srv.should_exit = True
    t.join(timeout=10)


def test_classify_over_http(server, model):
    note = "RP states brother (army vet) said he'd end it tonight, has a handgun, ETOH"
    r = httpx.post(server + "/v1/classify", json={"id": "inc-1", "text": note})
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == "inc-1"
    assert {k: body[k] for k in RESULT_KEYS} == model.classify(note).to_dict()


def test_batch_health_models(server):
    r = httpx.post(server + "/v1/classify/batch", json={"notes": [{"text": "pt wants to die"}, {"text": "stolen bike"}]})
    assert r.status_code == 200 and len(r.json()["results"]) == 2
    assert httpx.get(server + "/healthz").json()["status"] == "ok"
    assert any(m["loaded"] for m in httpx.get(server + "/v1/models").json())


@pytest.mark.parametrize(
    "path, body, status",
    [
        ("/v1/classify", {"text": ""}, 422),
        ("/v1/classify", {"txt": "x"}, 422),
        ("/v1/classify", {"text": 5}, 422),
        ("/v1/classify", {"text": "x" * 20001}, 422),
        ("/v1/classify", {"text": "   "}, 400),
        ("/v1/classify/batch", {"notes": [{"text": "a"}] * 257}, 422),
        ("/v1/classify/batch", {"notes": []}, 422),
        ("/v1/classify/eido", {"no": "notes"}, 400),
    ],
)
def test_bad_requests_get_clear_4xx(server, path, body, status):
    r = httpx.post(server + path, json=body)
    assert r.status_code == status
    assert "detail" in r.json()


def test_oversized_body_is_refused(server):
    r = httpx.post(server + "/v1/classify", content=b'{"text": "' + b"a" * (2 * 1024 * 1024) + b'"}',
                   headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_committed_openapi_document_is_current(model):
    from crisis_nlp.serve.http import create_app

    committed = json.loads((ROOT / "openapi.json").read_text())
    live = create_app(model).openapi()
    live["info"]["version"] = committed["info"]["version"] = "-"
    assert committed == live, "regenerate openapi.json: python tools/write_openapi.py"


schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402


# the committed OpenAPI document (a test above keeps it equal to the live one)
schema = schemathesis.openapi.from_path(str(ROOT / "openapi.json"))


@schema.parametrize()
@settings(max_examples=30, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_schema(case, server):
    """Property-based: generated requests, valid and invalid, never get a 5xx or a
    response that breaks the documented schema, and invalid ones are rejected. (A
    schema-valid request may still get a documented 400: a note of only spaces, an EIDO
    document whose notes hold no text.)"""
    from schemathesis.checks import positive_data_acceptance

    case.call_and_validate(base_url=server, excluded_checks=[positive_data_acceptance])
