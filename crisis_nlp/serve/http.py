"""Serving the model to software that is not Python: a JSON-lines stdio loop (no extra
dependencies) and an HTTP API (FastAPI + uvicorn: ``pip install crisis-nlp[serve]``).

Note text is never logged: uvicorn's access log shows method, path and status only, and
error bodies never echo the note.
"""


import json
import sys
from typing import IO, Any

from ..api import CrisisModel
from ..notes import MAX_NOTE_CHARS
from ..errors import CrisisNLPError

MAX_BATCH = 256
MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_EIDO_BYTES = 1024 * 1024


# -- stdio -----------------------------------------------------------------------------

def serve_stdio(model: CrisisModel, stdin: IO[Any] | None = None, stdout: IO[Any] | None = None) -> int:
    """Read one JSON request a line ({"id": ..., "text": ...}), write one JSON result a
    line, in order, flushed, until end of input. A bad line gets ``{"error": ...}`` on its
    own line and the stream goes on: whatever a line holds (bytes that are not UTF-8, a
    lone surrogate, nesting too deep to parse, ``NaN``), it gets exactly one answer line,
    and an answer is always strict JSON. Returns the number of lines answered."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    source = getattr(stdin, "buffer", stdin)  # bytes when we can: a bad byte is one bad line, not the end
    sink = getattr(stdout, "buffer", None)
    n = 0
    for lineno, line in enumerate(source, 1):
        if not line.strip():
            continue
        out = _answer(model, line, lineno)
        try:
            data = json.dumps(out, ensure_ascii=False, allow_nan=False)
        except (ValueError, TypeError, RecursionError):  # an id that cannot be written back as JSON
            data = json.dumps({"id": None, "error": f"line {lineno}: the id cannot be written back as JSON"})
        if sink is not None:
            sink.write(data.encode("utf-8") + b"\n")
            sink.flush()
        else:
            stdout.write(data + "\n")
            stdout.flush()
        n += 1
    return n


def _answer(model: CrisisModel, line: str | bytes, lineno: int) -> dict[str, Any]:
    """The answer to one stdio line: a result or an error; never raises, never quotes the line."""
    req_id = None
    try:
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError:
                return {"id": None, "error": f"line {lineno} is not valid UTF-8; send the request as UTF-8 JSON"}
        try:
            req = json.loads(line, parse_constant=_no_constant)
        except json.JSONDecodeError as exc:
            return {"id": None, "error": f"line {lineno} is not valid JSON ({exc.msg})"}
        except RecursionError:
            return {"id": None, "error": f"line {lineno} is nested too deeply to read"}
        except ValueError as exc:  # NaN/Infinity, or an integer too long to convert
            return {"id": None, "error": f"line {lineno} is not valid JSON ({_short(exc)})"}
        if isinstance(req, str):
            req = {"text": req}
        if not isinstance(req, dict):
            return {"id": None, "error": f"line {lineno}: expected a JSON object with a 'text' field"}
        req_id = req.get("id")
        if not _writable(req_id):
            return {"id": None, "error": f"line {lineno}: the id cannot be echoed back as JSON (it is "
                                         "not valid Unicode text); send ids as UTF-8 text or numbers"}
        if "text" not in req:
            return {"id": req_id, "error": f"line {lineno}: the request has no 'text' field"}
        return {"id": req_id, **model.classify(req["text"]).to_dict()}
    except CrisisNLPError as exc:
        return {"id": req_id, "error": f"line {lineno}: {exc}"}
    except Exception as exc:  # noqa: BLE001 - one bad line must not stop the stream; the type only, no text
        return {"id": req_id, "error": f"line {lineno}: cannot be classified ({type(exc).__name__})"}


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _short(exc: Exception) -> str:
    """An exception's message without any input it might quote (json's messages quote none,
    but keep the first clause only, as a guard)."""
    return str(exc).split(":")[0][:120]


def _writable(value: Any) -> bool:
    """Whether ``value`` (an id to echo back) can be written as UTF-8 JSON."""
    try:
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (ValueError, TypeError, RecursionError):
        return False
    return True


# -- HTTP ------------------------------------------------------------------------------

_KNOWN_LOC = frozenset({"body", "query", "path", "header", "cookie", "text", "id", "notes"})


def validation_problems(errors: Any) -> list[dict[str, Any]]:
    """A request's validation errors as type, location and message only: never the value
    (FastAPI's default ``input``), and a key we do not know (it could be note text) is
    shown as '(field)'."""
    out = []
    for e in list(errors)[:20]:
        loc = [p if isinstance(p, int) or p in _KNOWN_LOC else "(field)" for p in e.get("loc", ())]
        out.append({"type": str(e.get("type", "invalid")), "loc": loc, "msg": str(e.get("msg", ""))[:200]})
    return out


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` gets 413, counted as it arrives,
    so a chunked body (no Content-Length) or a false Content-Length cannot get past it.
    The body is read whole (it is at most ``max_bytes``) and handed on to the app."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._refuse(send)
                return
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                pending = [message]
                break
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await self._refuse(send)
                return
            parts.append(body)
            if not message.get("more_body", False):
                pending = [{"type": "http.request", "body": b"".join(parts), "more_body": False}]
                break
        if pending[0]["type"] != "http.request":
            pending.insert(0, {"type": "http.request", "body": b"".join(parts), "more_body": False})

        async def replay() -> dict:
            return pending.pop(0) if pending else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Any) -> None:
        body = json.dumps({"detail": f"request body over {self.max_bytes} bytes"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

def create_app(model: CrisisModel, *, max_batch: int = MAX_BATCH, max_body_bytes: int = MAX_BODY_BYTES):
    """The HTTP API as a FastAPI application (imported here: FastAPI is an optional extra)."""
    try:
        from fastapi import FastAPI, HTTPException, Request
        from fastapi.exceptions import RequestValidationError
        from fastapi.responses import JSONResponse
        from pydantic import BaseModel, ConfigDict, Field
    except ImportError as exc:  # pragma: no cover - exercised without the extra
        raise CrisisNLPError("the HTTP service needs FastAPI: pip install 'crisis-nlp[serve]'") from exc

    from ..labels import CATEGORIES, FLAGS, RESPONSE_MODES
    from ..registry.versions import list_all

    class NoteIn(BaseModel):
        model_config = ConfigDict(extra="forbid")
        text: str = Field(min_length=1, max_length=MAX_NOTE_CHARS, description="the call note")
        id: str | None = Field(default=None, max_length=200, description="your identifier, echoed back")

    class BatchIn(BaseModel):
        model_config = ConfigDict(extra="forbid")
        notes: list[NoteIn] = Field(min_length=1, max_length=max_batch)

    class ResultOut(BaseModel):
        id: str | None = None
        categories: list[str] = Field(description=f"ids among {', '.join(CATEGORIES)}")
        flags: list[str] = Field(description=f"ids among {', '.join(FLAGS)}")
        response_mode: str = Field(description=f"one of {', '.join(RESPONSE_MODES)}")
        scores: dict[str, float]
        reason: str
        model_version: str

    class BatchOut(BaseModel):
        results: list[ResultOut]

    class ModelOut(BaseModel):
        name: str
        version: str
        created: str | None = None
        loaded: bool

    class Health(BaseModel):
        status: str
        model_version: str

    class ErrorOut(BaseModel):
        detail: str

    class ProblemOut(BaseModel):
        type: str = Field(description="pydantic's error type, e.g. missing, string_too_long, extra_forbidden")
        loc: list[str | int] = Field(description="where in the request; names we do not know read '(field)'")
        msg: str

    class InvalidOut(BaseModel):
        detail: list[ProblemOut]

    errors = {400: {"model": ErrorOut, "description": "the note cannot be classified (empty, not text, too long)"},
              413: {"model": ErrorOut, "description": "the request body is over the size limit"},
              422: {"model": InvalidOut, "description": "the request does not match the schema; the body is "
                                                       "never echoed back"}}

    app = FastAPI(
        title="crisis_nlp",
        version=model.version,
        description="Behavioural-health crisis labels and a recommended response mode for emergency call "
                    "notes. Decision support for trained people, not a dispatcher.",
    )

    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own handler echoes each bad value (``input``): the note itself
        return JSONResponse({"detail": validation_problems(exc.errors())}, status_code=422)

    def classify_or_400(text: str):
        try:
            return model.classify(text)
        except CrisisNLPError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None

    @app.post("/v1/classify", response_model=ResultOut, responses=errors, summary="Classify one note")
    def classify(note: NoteIn) -> dict:
        return {"id": note.id, **classify_or_400(note.text).to_dict()}

    @app.post("/v1/classify/batch", response_model=BatchOut, responses=errors,
              summary=f"Classify up to {max_batch} notes")
    def classify_batch(batch: BatchIn) -> dict:
        try:
            results = model.classify_batch([n.text for n in batch.notes])
        except CrisisNLPError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        return {"results": [{"id": n.id, **r.to_dict()} for n, r in zip(batch.notes, results)]}

    @app.post("/v1/classify/eido", responses=errors, summary="Classify the notes of a NENA EIDO document",
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
                  "type": "object", "description": "a NENA-STA-021 EIDO document with notesComponent entries"}}}}})
    async def classify_eido(request: Request) -> dict:
        from . import eido

        body = await request.body()
        if len(body) > MAX_EIDO_BYTES:
            raise HTTPException(status_code=413, detail=f"EIDO document over {MAX_EIDO_BYTES} bytes")
        try:
            return eido.classify_eido(model, body)
        except CrisisNLPError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None

    @app.get("/v1/models", response_model=list[ModelOut], summary="Model versions in the registry")
    def models() -> list[dict]:
        return [{"name": e.name, "version": e.version, "created": e.manifest.get("created"),
                 "loaded": e.version == model.version or e.spec == model.version} for e in list_all()]

    @app.get("/healthz", response_model=Health, summary="Liveness and the loaded model")
    async def healthz() -> dict:
        # async: answered on the event loop itself, not in a worker thread beside the one
        # running a batch, so it waits for the GIL once, not once per thread hop (while
        # batches of hostile notes run: p50 12-13 -> 9 ms, max 29-37 -> 20-26 ms;
        # bench/bench_pathological.py --http)
        return {"status": "ok", "model_version": model.version}

    return app
