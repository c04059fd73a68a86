"""Serving the model to software that is not Python: a JSON-lines stdio loop (no extra
dependencies) and an HTTP API (FastAPI + uvicorn: ``pip install crisis-nlp[serve]``).

Note text is never logged: uvicorn's access log shows method, path and status only, and
error bodies never echo the note.
"""


import json
import sys
from typing import IO, Any

from .api import MAX_NOTE_CHARS, CrisisModel
from .errors import CrisisNLPError

MAX_BATCH = 256
MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_EIDO_BYTES = 1024 * 1024


# -- stdio -----------------------------------------------------------------------------

def serve_stdio(model: CrisisModel, stdin: IO[str] | None = None, stdout: IO[str] | None = None) -> int:
    """Read one JSON request a line ({"id": ..., "text": ...}), write one JSON result a
    line, in order, flushed, until end of input. A bad line gets ``{"error": ...}`` on its
    own line and the stream goes on. Returns the number of lines answered."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    n = 0
    for lineno, line in enumerate(stdin, 1):
        if not line.strip():
            continue
        out: dict[str, Any]
        req_id = None
        try:
            req = json.loads(line)
            if isinstance(req, str):
                req = {"text": req}
            if not isinstance(req, dict):
                raise ValueError("expected a JSON object with a 'text' field")
            req_id = req.get("id")
            if "text" not in req:
                raise ValueError("the request has no 'text' field")
            out = {"id": req_id, **model.classify(req["text"]).to_dict()}
        except json.JSONDecodeError as exc:
            out = {"id": None, "error": f"line {lineno} is not valid JSON ({exc.msg})"}
        except (ValueError, CrisisNLPError) as exc:
            out = {"id": req_id, "error": f"line {lineno}: {exc}"}
        stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        stdout.flush()
        n += 1
    return n


# -- HTTP ------------------------------------------------------------------------------

def create_app(model: CrisisModel, *, max_batch: int = MAX_BATCH, max_body_bytes: int = MAX_BODY_BYTES):
    """The HTTP API as a FastAPI application (imported here: FastAPI is an optional extra)."""
    try:
        from fastapi import FastAPI, HTTPException, Request
        from fastapi.responses import JSONResponse
        from pydantic import BaseModel, ConfigDict, Field
    except ImportError as exc:  # pragma: no cover - exercised without the extra
        raise CrisisNLPError("the HTTP service needs FastAPI: pip install 'crisis-nlp[serve]'") from exc

    from .labels import CATEGORIES, FLAGS, RESPONSE_MODES
    from .registry import list_all

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

    errors = {400: {"model": ErrorOut, "description": "the note cannot be classified (empty, not text, too long)"},
              413: {"model": ErrorOut, "description": "the request body is over the size limit"}}

    app = FastAPI(
        title="crisis_nlp",
        version=model.version,
        description="Behavioural-health crisis labels and a recommended response mode for emergency call "
                    "notes. Decision support for trained people, not a dispatcher.",
    )

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > max_body_bytes:
            return JSONResponse({"detail": f"request body over {max_body_bytes} bytes"}, status_code=413)
        return await call_next(request)

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
    def healthz() -> dict:
        return {"status": "ok", "model_version": model.version}

    return app
