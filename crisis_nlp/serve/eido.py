"""NENA EIDO (NENA-STA-021, Emergency Incident Data Object, JSON) in and out.

A CAD or call-handling system sends an incident as an EIDO document. We classify the
free text of its notes and give back the result plus a copy of the document with one
new ``notesComponent`` entry written by the classifier as an automated agent, so that
the suggestion travels with the incident together with who (what) made it.

Field names follow NENA's published schema (github.com/NENA911/EIDO-JSON,
``Schema/openapi.yaml``, EIDO 1.0.0, and its samples): every data component has the
prologue ``$id``, ``lastUpdateTimeStamp``, ``updatedByAgencyReference`` and
``updatedByAgentReference`` (a reference is ``{"$ref": "<$id of a component>"}``); a note
(``NotesType``) has ``notesActionComments`` (required, HTML5) and ``agentReference``; an
agent (``AgentType``, "agents ... and automated systems acting as agents") has
``agentRoleRegistryText``, ``agencyReference`` and ``agentJcard``. The incident id is the
document's own ``$id`` (an ``urn:emergency:uid:incidentid:`` URN in NENA's sample).
Not confirmed in the 1.0.0 schema: ``agentIdentification`` is in the schema's 0.0.3 draft
and NENA's first sample, not in 1.0.0 (where an agent is named by its ``$id``); we write it
as asked, next to the ``$id``. The Agent Role registry's values could not be checked, so
``AGENT_ROLE`` is a local value. ``eidoMessageIdentifier`` appears in no NENA source we
found and is not read. Older spellings of the note timestamp (``lastUpdateTimestamp``,
``LastUpdateTimeStamp``) and of the incident id (``incidentTrackingIdentifier``) are read.

Nothing here logs: note text is personal data and never leaves the returned values.
"""

from __future__ import annotations

import copy
import html
import itertools
import json
import math
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

from ..errors import DataFormatError, InputError

if TYPE_CHECKING:  # the model's imports are heavy; only type checkers need them here
    from ..api import CrisisModel
    from ..result import ClassificationResult

MAX_EIDO_BYTES = 1024 * 1024
"""Largest EIDO document accepted (1 MiB, the same limit as the HTTP service)."""
MAX_EIDO_DEPTH = 64
"""Deepest nesting of objects and lists accepted (NENA's schema needs fewer than 10 levels)."""

AGENT_URN_PREFIX = "urn:crisis-nlp:classifier:"
AGENT_ROLE = "Automated Decision Support"
"""Our ``agentRoleRegistryText``; a local value, not checked against NENA's registry."""

_TIMESTAMP_FIELDS = ("lastUpdateTimeStamp", "lastUpdateTimestamp", "LastUpdateTimeStamp")
# tags after which a reader expects a new line; everything else is inline
_BLOCK_TAGS = frozenset({"address", "blockquote", "br", "dd", "div", "dl", "dt", "h1", "h2", "h3",
                         "h4", "h5", "h6", "hr", "li", "ol", "p", "pre", "section", "table", "td",
                         "th", "tr", "ul"})
_SKIP_TAGS = frozenset({"script", "style", "template"})


# -- HTML -> text -----------------------------------------------------------------------

class _TextExtractor(HTMLParser):
    """Collects the text of an HTML fragment; block tags and <br> become line breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)  # entities are decoded for us
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:  # <br/>; a self-closed <script/> has no content to skip
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def strip_html(text: str) -> str:
    """Plain text of an HTML5 note: tags removed, entities decoded, blocks on their own lines.

    The standard says notes are HTML5, but many CADs send plain text; both come out as
    text the model was trained on. Spaces inside a line are collapsed and empty lines
    dropped; line breaks of plain-text notes are kept.
    """
    parser = _TextExtractor()
    parser.feed(text)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


# -- parsing ----------------------------------------------------------------------------

@dataclass(frozen=True)
class EidoNote:
    """One ``notesComponent`` entry with its HTML removed."""

    component_id: str | None
    timestamp: datetime | None  # None when absent or not ISO 8601; such notes sort last
    author_ref: str | None      # the ``$ref`` of its ``agentReference``
    text: str = field(repr=False)  # kept out of repr so that a logged object shows no note text


@dataclass(frozen=True)
class EidoIncident:
    """What we read from an EIDO document: its incident id and its notes, oldest first."""

    incident_id: str | None
    notes: tuple[EidoNote, ...]
    document: dict[str, Any] = field(repr=False, compare=False)

    @property
    def text(self) -> str:
        """All note text, oldest first, one note per block: what the model classifies."""
        return "\n".join(n.text for n in self.notes)


def parse_eido(doc: dict[str, Any] | str | bytes) -> EidoIncident:
    """Read an EIDO document (a parsed dict or JSON text) and check what we rely on.

    Raises ``InputError`` for a document over ``MAX_EIDO_BYTES`` and ``DataFormatError``
    (a subclass) for one that is not JSON, not an object, or has no usable note text.
    """
    document = _load(doc)
    incident_id = _incident_id(document)
    _check_list(document, "agentComponent")
    notes = document.get("notesComponent")
    if notes is None or notes == []:
        raise DataFormatError(
            "EIDO document has no notesComponent with notesActionComments; there is no note text to classify.")
    if not isinstance(notes, list):
        raise DataFormatError(
            f"EIDO notesComponent must be a list of note objects, not {_kind(notes)}.")
    found: list[tuple[int, EidoNote]] = []
    with_text = 0
    for i, entry in enumerate(notes):
        if not isinstance(entry, dict):
            raise DataFormatError(f"EIDO notesComponent[{i}] must be an object, not {_kind(entry)}.")
        raw = entry.get("notesActionComments")
        if raw is None:
            continue
        if not isinstance(raw, str):
            raise DataFormatError(
                f"EIDO notesComponent[{i}].notesActionComments must be a string (HTML5 text), not {_kind(raw)}.")
        with_text += 1
        text = strip_html(raw)
        if text:
            found.append((i, EidoNote(_str_or_none(entry.get("$id")), _timestamp(entry),
                                      _ref(entry.get("agentReference")), text)))
    if not with_text:
        raise DataFormatError(
            "EIDO document has no notesComponent with notesActionComments; there is no note text to classify.")
    if not found:
        raise DataFormatError(
            "EIDO notesComponent entries have notesActionComments but no text once HTML is removed.")
    found.sort(key=_time_order)
    return EidoIncident(incident_id, tuple(n for _i, n in found), document)


def _load(doc: object) -> dict[str, Any]:
    if isinstance(doc, (bytes, bytearray)):
        size = len(doc)
    elif isinstance(doc, str):
        size = len(doc.encode("utf-8", "surrogatepass"))
    elif isinstance(doc, dict):
        _check_tree(doc)  # before json.dumps, which would recurse as deep as the document goes
        try:
            size = len(json.dumps(doc, ensure_ascii=False, allow_nan=False).encode("utf-8", "surrogatepass"))
        except (TypeError, ValueError, RecursionError) as exc:
            raise DataFormatError(f"EIDO document is not JSON data ({type(exc).__name__}).") from None
    else:
        raise InputError(
            f"EIDO document is {_kind(doc)}; pass a dict or the JSON text (str or bytes).")
    if size > MAX_EIDO_BYTES:
        raise InputError(
            f"EIDO document is {size:,} bytes, over the limit of {MAX_EIDO_BYTES:,}; "
            "send the incident without attachments or large by-value data.")
    if not isinstance(doc, dict):
        _check_nesting(doc)  # json.loads and copy.deepcopy recurse once per level
        try:
            doc = json.loads(doc, parse_constant=_no_constant)
        except json.JSONDecodeError as exc:  # its message has a position, never the content
            raise DataFormatError(f"EIDO document is not valid JSON ({exc.msg} at line {exc.lineno}, "
                                  f"column {exc.colno}).") from None
        except UnicodeDecodeError:
            raise DataFormatError("EIDO document is not valid JSON (it is not UTF-8 text; JSON must be "
                                  "UTF-8).") from None
        except (ValueError, RecursionError) as exc:  # NaN/Infinity; an integer of 4,300+ digits
            raise DataFormatError(f"EIDO document is not valid JSON ({str(exc).split(':')[0][:100]}).") from None
        if not isinstance(doc, dict):
            raise DataFormatError(
                f"EIDO document must be a JSON object with a notesComponent list, not {_kind(doc)}.")
        _check_tree(doc)
    return doc


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


def _check_nesting(text: str | bytes | bytearray) -> None:
    """Refuse JSON text nested deeper than ``MAX_EIDO_DEPTH`` before parsing it: strings
    removed, the brackets left are counted (linear; no recursion)."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    if data.count(b"[") + data.count(b"{") <= MAX_EIDO_DEPTH:
        return
    brackets = _JSON_STRING.sub(b"", data).translate(None, _NOT_BRACKET)
    if max(itertools.accumulate(1 if b in b"[{" else -1 for b in brackets), default=0) > MAX_EIDO_DEPTH:
        raise DataFormatError(f"EIDO document is nested more than {MAX_EIDO_DEPTH} levels deep; "
                              "an EIDO needs far fewer.")


def _check_tree(doc: dict[str, Any]) -> None:
    """Walk a parsed document without recursion: no nesting over ``MAX_EIDO_DEPTH``, no
    string or key that is not valid Unicode (a lone surrogate), no NaN or infinity, no
    integer too long to write back."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > MAX_EIDO_DEPTH:
                raise DataFormatError(f"EIDO document is nested more than {MAX_EIDO_DEPTH} levels deep; "
                                      "an EIDO needs far fewer.")
            if isinstance(value, dict):
                for k, v in value.items():
                    stack.append((k, depth))
                    stack.append((v, depth + 1))
            else:
                stack.extend((v, depth + 1) for v in value)
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise DataFormatError("EIDO document holds text that is not valid Unicode (a lone surrogate "
                                      "escape such as \\ud800); send it as UTF-8.") from None
        elif isinstance(value, float) and not math.isfinite(value):
            raise DataFormatError("EIDO document holds NaN or Infinity, which JSON does not allow.")


def _incident_id(document: dict[str, Any]) -> str | None:
    # EIDO 1.0: the document's own $id is the Incident Tracking Identifier
    # (urn:emergency:uid:incidentid:...); early drafts had incidentTrackingIdentifier.
    for key in ("incidentTrackingIdentifier", "$id"):
        value = document.get(key)
        if value is not None:
            if not isinstance(value, str):
                raise DataFormatError(f"EIDO {key} must be a string, not {_kind(value)}.")
            return value
    return None


def _check_list(document: dict[str, Any], key: str) -> None:
    value = document.get(key)
    if value is not None and not (isinstance(value, list) and all(isinstance(v, dict) for v in value)):
        raise DataFormatError(f"EIDO {key} must be a list of objects, not {_kind(value)}.")


def _timestamp(entry: dict[str, Any]) -> datetime | None:
    for key in _TIMESTAMP_FIELDS:
        value = entry.get(key)
        if isinstance(value, str):
            try:
                stamp = datetime.fromisoformat(value.strip())
            except ValueError:
                return None  # a bad timestamp must not keep a crisis note from being read
            # a time without an offset is taken as UTC so that it can be compared
            return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)
    return None


def _time_order(item: tuple[int, EidoNote]) -> tuple:
    i, note = item
    if note.timestamp is None:
        return (1, 0.0, i)
    return (0, note.timestamp.timestamp(), i)


def _ref(value: object) -> str | None:
    return _str_or_none(value.get("$ref")) if isinstance(value, dict) else None


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), type(value).__name__)


# -- classifying and writing back --------------------------------------------------------

def classify_eido(model: CrisisModel, doc: dict[str, Any] | str | bytes, *,
                  now: datetime | None = None) -> dict[str, Any]:
    """Classify an incident's notes; return ``{"result": ..., "eido": ...}``.

    ``eido`` is a deep copy of the input plus one ``notesComponent`` entry holding the
    suggestion, written by an ``agentComponent`` entry for this model version (added, or
    reused if the document already lists the same classifier). ``now`` (default: the
    current UTC time) stamps both; the input is never modified.
    """
    incident = parse_eido(doc)
    from ..notes import MAX_NOTE_CHARS

    text = incident.text
    if len(text) > MAX_NOTE_CHARS:
        raise InputError(
            f"the EIDO notes hold {len(text):,} characters of text, over the model's limit of "
            f"{MAX_NOTE_CHARS:,}; send fewer or shorter notes.")
    result = model.classify(text)
    out = copy.deepcopy(incident.document)
    stamp = _stamp(now)
    agent_ref = _classifier_agent(out, result.model_version, stamp)
    note: dict[str, Any] = {"$id": f"urn:uuid:{uuid.uuid4()}", "lastUpdateTimeStamp": stamp}
    agency = out.get("updatedByAgencyReference")
    if isinstance(agency, dict) and "$ref" in agency:
        note["updatedByAgencyReference"] = dict(agency)
    note["updatedByAgentReference"] = {"$ref": agent_ref}
    note["notesActionComments"] = html.escape(suggestion_line(result), quote=False)  # HTML5 text
    note["agentReference"] = {"$ref": agent_ref}
    out["notesComponent"] = [*out["notesComponent"], note]
    return {"result": result.to_dict(), "eido": out}


def suggestion_line(result: ClassificationResult) -> str:
    """The one-line plain-text suggestion that goes into the new note."""
    return (f"crisis_nlp {result.model_version} suggestion: {result.response_mode}; "
            f"categories: {', '.join(result.categories) or 'none'}; "
            f"flags: {', '.join(result.flags) or 'none'}; {result.reason}")


def _classifier_agent(out: dict[str, Any], version: str, stamp: str) -> str:
    """Add (or find) the agentComponent entry for this classifier; return its ``$id``."""
    ident = AGENT_URN_PREFIX + version
    if out.get("agentComponent") is None:
        out["agentComponent"] = []
    agents = out["agentComponent"]
    for agent in agents:
        if agent.get("agentIdentification") == ident and isinstance(agent.get("$id"), str):
            return agent["$id"]
    agent: dict[str, Any] = {"$id": f"urn:uuid:{uuid.uuid4()}", "lastUpdateTimeStamp": stamp}
    agency = out.get("updatedByAgencyReference")
    if isinstance(agency, dict) and "$ref" in agency:
        agent["updatedByAgencyReference"] = dict(agency)
        agent["agencyReference"] = dict(agency)  # it runs on behalf of the agency that sent the EIDO
    agent["agentIdentification"] = ident
    agent["agentRoleRegistryText"] = [AGENT_ROLE]
    # jCard (RFC 7095) with vCard KIND "application" (RFC 6473): the standard way to say
    # that this contact is a piece of software, not a person
    agent["agentJcard"] = json.dumps(["vcard", [
        ["version", {}, "text", "4.0"],
        ["kind", {}, "text", "application"],
        ["fn", {}, "text", f"crisis_nlp classifier {version}"],
        ["note", {}, "text", "Automated software agent: decision support for call-takers and "
                             "dispatchers. It does not dispatch; a person decides."],
    ]])
    agents.append(agent)
    return agent["$id"]


def _stamp(now: datetime | None) -> str:
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    return now.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
