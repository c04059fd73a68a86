"""NENA EIDO (NENA-STA-021, Emergency Incident Data Object, JSON) in and out.

A CAD sends an incident as an EIDO document; we classify the free text of its notes and
return the result plus a copy of the document with one new ``notesComponent`` entry
authored by the classifier as an automated agent, so that the suggestion can travel with
the incident and its provenance.

Field names: ``notesComponent``, ``notesActionComments``, ``agentComponent`` and
``agentIdentification`` are those the standard uses for notes and agents. The others we
read or write (``componentIdentifier``, ``notesDateTimeStamp``, ``notesAuthorReference``,
``agentTypeDescription``, ``incidentComponent.incidentTrackingIdentifier``,
``eidoMessageIdentifier``) follow the standard's naming as we understand it but could not
be checked against the published schema here; the parser tolerates their absence.
"""

from __future__ import annotations

import copy
import json
import uuid
from datetime import datetime, timezone
from html.parser import HTMLParser
from typing import Any

from .errors import DataFormatError, InputError

MAX_EIDO_BYTES = 1024 * 1024
_BLOCK_TAGS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"}


class _TextExtractor(HTMLParser):
    """HTML -> text: tags dropped, entities decoded, block tags become line breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def strip_html(text: str) -> str:
    """Plain text of a note that may hold HTML."""
    p = _TextExtractor()
    p.feed(text)
    p.close()
    lines = (" ".join(line.split()) for line in "".join(p.parts).splitlines())
    return "\n".join(line for line in lines if line)


def _load(doc: dict[str, Any] | str | bytes) -> dict[str, Any]:
    if isinstance(doc, (str, bytes)):
        if len(doc) > MAX_EIDO_BYTES:
            raise InputError(f"EIDO document is over {MAX_EIDO_BYTES} bytes; send the incident's notes only.")
        try:
            doc = json.loads(doc)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataFormatError(f"EIDO document is not valid JSON ({exc}).") from None
    if not isinstance(doc, dict):
        raise DataFormatError("EIDO document must be a JSON object with a notesComponent list.")
    return doc


def note_texts(doc: dict[str, Any] | str | bytes) -> list[str]:
    """The plain text of every note in the document, oldest first."""
    doc = _load(doc)
    notes = doc.get("notesComponent")
    if notes is None:
        raise DataFormatError("EIDO document has no notesComponent; there is no note text to classify.")
    if isinstance(notes, dict):
        notes = [notes]
    if not isinstance(notes, list):
        raise DataFormatError("EIDO notesComponent must be a list of note objects.")
    found = []
    for i, n in enumerate(notes):
        if not isinstance(n, dict):
            raise DataFormatError(f"EIDO notesComponent[{i}] is not an object.")
        text = n.get("notesActionComments")
        if text is None:
            continue
        if isinstance(text, list):
            text = "\n".join(str(t) for t in text)
        if not isinstance(text, str):
            raise DataFormatError(f"EIDO notesComponent[{i}].notesActionComments must be text.")
        found.append((str(n.get("notesDateTimeStamp") or ""), i, strip_html(text)))
    texts = [t for _ts, _i, t in sorted(found) if t.strip()]
    if not texts:
        raise DataFormatError("EIDO document has no notesComponent with notesActionComments text.")
    return texts


def classify_eido(model, doc: dict[str, Any] | str | bytes, *, now: datetime | None = None) -> dict[str, Any]:
    """Classify the incident's notes; return the result and the EIDO with our note added."""
    original = _load(doc)
    text = "\n".join(note_texts(original))
    result = model.classify(text)
    out = copy.deepcopy(original)
    stamp = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0).isoformat()
    agent_id = f"urn:crisis-nlp:classifier:{result.model_version}"
    agents = out.get("agentComponent")
    agents = agents if isinstance(agents, list) else ([agents] if isinstance(agents, dict) else [])
    agent = next((a for a in agents if isinstance(a, dict) and a.get("agentIdentification") == agent_id), None)
    if agent is None:
        agent = {
            "componentIdentifier": f"agent-{uuid.uuid4()}",
            "agentIdentification": agent_id,
            "agentTypeDescription": "automated software agent (crisis_nlp classifier); decision support, "
                                    "not a dispatcher",
        }
        agents.append(agent)
    out["agentComponent"] = agents
    line = (f"crisis_nlp {result.model_version} suggestion: {result.response_mode}; "
            f"categories: {', '.join(result.categories) or 'none'}; flags: {', '.join(result.flags) or 'none'}; "
            f"{result.reason}")
    notes = out.get("notesComponent")
    notes = notes if isinstance(notes, list) else [notes]
    notes.append({
        "componentIdentifier": f"note-{uuid.uuid4()}",
        "notesDateTimeStamp": stamp,
        "notesActionComments": line,
        "notesAuthorReference": agent["componentIdentifier"],
    })
    out["notesComponent"] = notes
    return {"result": result.to_dict(), "eido": out}
