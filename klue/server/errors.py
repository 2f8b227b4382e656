"""Error bodies that fit the spec: the error model an operation declares, filled from klue's error.

Without an ``error_callback`` (which, given, still decides every error body),
an error klue sends itself (400 bad request, 401/403 security, 404/405,
413, 415, a handler's ``KlueException``, a 500 for anything unexpected)
goes out in the shape the operation declares for its status: the exact
status, then its range (``4XX``, OpenAPI 3), then ``default``. A declared
response without a body (no schema, no content) keeps the RFC 9457 problem
body, as do 404/405 for unknown paths or methods (no operation declares
them; OpenAPI 3's ``components.responses`` are not bound to operations).

The mapping is compiled at spawn time, per operation and declared status:
per request it only reads the error's facts into the compiled slots and
validates the result with the response's prepared validator.

Which property gets what, by its name and declared type (``$ref`` and
``allOf`` followed, ``nullable`` allowed; an untyped property is read as
the type its name suggests)::

    integer  code, status, status_code, statusCode, http_status, httpStatus,
             http_code, httpCode                          the HTTP status (404)
    string   code, error_code, errorCode, status          klue's code (NOT_FOUND)
    string   type        "about:blank" when the response is
                         application/problem+json or the property has a URI
                         format (RFC 9457), otherwise klue's code
    string   message, detail, details, description, msg, reason,
             error_message, errorMessage, error_description
                                                  the detail (every one present)
    string   error       the detail; klue's code when one of the names above
                         also has a slot (``{error, error_description}``, OAuth 2)
    string   title       the status phrase ("Not Found") when another text
                         property (above) has the detail; otherwise the detail
    string   call_id, callId, request_id, requestId, trace_id, traceId,
             correlation_id, correlationId                the call ID
    boolean  ok, success, succeeded                       false
    boolean  error, failed                                true
    array    errors, field_errors, fieldErrors, details   the field errors of a
             400 (``ValidationError``): strings as "query parameter 'limit': ...",
             objects by their properties: in/location/source -> where,
             name/field/param/parameter/path/property -> which,
             message/msg/detail/description/reason/error -> why; an empty
             list when there are none (the property is left out unless required)
    object   any name: filled by the same table, one level deep (Google's and
             Stripe's ``{"error": {"code": ..., "message": ...}}``)

A response whose body is a JSON ``string`` gets the detail. A 5xx's detail
is never the exception's text: "The server could not handle this request;
...", as in the problem body. A response declared only as ``text/plain``
(or another ``text/*``) gets the detail as text, ``text/html`` the detail
HTML-escaped; a JSON response goes out as its declared JSON media type
(``application/json`` first, then ``application/problem+json``, vendor
``+json`` types).

Properties that match nothing are left out. A schema that cannot be
satisfied (a required property the table cannot fill, by name or by type;
nothing to fill and a problem body the schema refuses; a sample body the
schema refuses, an ``enum`` for instance) keeps the problem body for that
status: spawning logs one warning per API listing each such operation and
status with its reasons. If a filled body is refused at request time all
the same (an ``enum`` of statuses under ``default``...), the problem body
goes out and the refusal is logged: a mapping never turns an error into a
500 or a traceback.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from flask import Response

from ..exceptions import FieldError, InternalServerError, KlueException, RequestError, ValidationError
from ..schema.validation import RESPONSE
from ..schema.view import (
    collapsed_properties,
    collapsed_required,
    is_object_like,
    primary_type,
    resolve,
    union_branches,
)
from ..spec.interface import Operation, by_status
from ..wire import dump_json, is_json_media_type

if TYPE_CHECKING:
    from ..schema.compiler import SchemaCompiler

log = logging.getLogger("klue.server")

#: A 5xx's detail: what happened stays in the server log.
SERVER_ERROR_DETAIL = "The server could not handle this request; the server log has the details."
PROBLEM_JSON = "application/problem+json"


def phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def public_detail(error: KlueException, status: int) -> str:
    """What a client may read of an error: its message for a 4xx, a fixed sentence for a 5xx."""
    if status >= 500:
        return SERVER_ERROR_DETAIL
    return error.message or phrase(status)


class Facts:
    """What an error body can say, read once per error."""

    __slots__ = ("call_id", "code", "detail", "field_errors", "status", "title")

    def __init__(self, error: KlueException, status: int, call_id: str | None) -> None:
        self.status = status
        self.code = error.code
        self.detail = public_detail(error, status)
        self.title = phrase(status)
        self.call_id = call_id or ""
        self.field_errors: Sequence[FieldError] = error.errors if isinstance(error, ValidationError) else ()


#: A slot's value when the property is left out.
_OMIT: Any = object()
Fill = Callable[[Facts], Any]

_STATUS_NAMES = frozenset(
    {"code", "status", "status_code", "statusCode", "http_status", "httpStatus", "http_code", "httpCode"}
)
_CODE_NAMES = frozenset({"code", "error_code", "errorCode", "status"})
_DETAIL_NAMES = frozenset(
    {
        "message",
        "detail",
        "details",
        "description",
        "msg",
        "reason",
        "error_message",
        "errorMessage",
        "error_description",
    }
)
_CALL_ID_NAMES = frozenset(
    {"call_id", "callId", "request_id", "requestId", "trace_id", "traceId", "correlation_id", "correlationId"}
)
_FALSE_NAMES = frozenset({"ok", "success", "succeeded"})
_TRUE_NAMES = frozenset({"error", "failed"})
_ERRORS_NAMES = frozenset({"errors", "field_errors", "fieldErrors", "details"})
_STRING_NAMES = _CODE_NAMES | _DETAIL_NAMES | _CALL_ID_NAMES | {"type", "error", "title"}
_URI_FORMATS = frozenset({"uri", "uri-reference", "iri", "iri-reference"})

# A field error's item properties: what of the FieldError each takes.
_ITEM_FIELDS = {
    **dict.fromkeys(("in", "location", "source"), "location"),
    **dict.fromkeys(("name", "field", "param", "parameter", "path", "property"), "name"),
    **dict.fromkeys(("message", "msg", "detail", "description", "reason", "error"), "message"),
}


def _status(f: Facts) -> Any:
    return f.status


def _code(f: Facts) -> Any:
    return f.code


def _detail(f: Facts) -> Any:
    return f.detail


def _title(f: Facts) -> Any:
    return f.title


def _about_blank(f: Facts) -> Any:
    return "about:blank"


def _false(f: Facts) -> Any:
    return False


def _true(f: Facts) -> Any:
    return True


def _call_id(required: bool) -> Fill:
    if required:
        return lambda f: f.call_id
    return lambda f: f.call_id or _OMIT


@dataclass
class _Compiled:
    """A schema's filler, or why there is none."""

    fill: Fill | None
    missing: list[str]


class _MappingCompiler:
    """Compiles the filler of one response schema (spawn time only)."""

    def __init__(self, definitions: dict[str, Any], problem_type: bool) -> None:
        self.definitions = definitions
        self.problem_type = problem_type  # ``type`` is a URI: application/problem+json

    def kind(self, schema: Any, name: str) -> tuple[str | None, dict[str, Any]]:
        """(the JSON type values of ``schema`` take, the schema resolved); an untyped one's type by ``name``."""
        resolved = resolve(schema, self.definitions) if isinstance(schema, dict) else {}
        kind = primary_type(resolved)
        if kind is None:
            if is_object_like(resolved):
                kind = "object"
            elif "items" in resolved:
                kind = "array"
            elif union_branches(resolved):
                kind = "union"
            elif name:
                kind = _kind_by_name(name)
        return kind, resolved

    def body(self, schema: dict[str, Any]) -> _Compiled | None:
        """The top-level body's filler; None when anything goes (the problem body fits)."""
        kind, resolved = self.kind(schema, "")
        if kind == "string":
            return _Compiled(_detail, [])
        if kind == "object":
            return self.object(resolved, nested=False)
        if kind is None:
            return None
        return _Compiled(None, [f"a body of type {kind}"])

    def object(self, schema: dict[str, Any], nested: bool) -> _Compiled:
        properties = collapsed_properties(schema, self.definitions)
        required = collapsed_required(schema, self.definitions)
        kinds = {name: self.kind(sub, name) for name, sub in properties.items()}
        texts = {n for n, (k, _) in kinds.items() if k == "string" and n in _DETAIL_NAMES}
        error_is_text = kinds.get("error", (None,))[0] == "string"
        slots: list[tuple[str, Fill]] = []
        missing = [f"required '{name}' is not a declared property" for name in sorted(required - set(properties))]
        for name, (kind, resolved) in kinds.items():
            fill, why = self.property(name, kind, resolved, name in required, nested, texts, error_is_text)
            if fill is not None:
                slots.append((name, fill))
            elif name in required:
                missing.append(f"required '{name}' ({kind or 'untyped'}) {why}")
        if missing:
            return _Compiled(None, missing)
        if not slots:
            return _Compiled(None, [])
        return _Compiled(_object_filler(tuple(slots)), [])

    def property(
        self,
        name: str,
        kind: str | None,
        schema: dict[str, Any],
        required: bool,
        nested: bool,
        texts: set[str],
        error_is_text: bool,
    ) -> tuple[Fill | None, str]:
        if kind in ("integer", "number"):
            return (_status, "") if name in _STATUS_NAMES else (None, "has no mapping")
        if kind == "string":
            return self.string(name, schema, texts, error_is_text, required)
        if kind == "boolean":
            if name in _FALSE_NAMES:
                return _false, ""
            return (_true, "") if name in _TRUE_NAMES else (None, "has no mapping")
        if kind == "array":
            if name not in _ERRORS_NAMES:
                return None, "has no mapping"
            return self.errors(schema, required)
        if kind == "object":
            if nested:
                return None, "is nested more than one level deep"
            compiled = self.object(schema, nested=True)
            if compiled.fill is None:
                return None, "cannot be filled: " + ("; ".join(compiled.missing) or "nothing in it has a mapping")
            return compiled.fill, ""
        return None, "has no mapping"

    def string(
        self, name: str, schema: dict[str, Any], texts: set[str], error_is_text: bool, required: bool
    ) -> tuple[Fill | None, str]:
        if name in _DETAIL_NAMES:
            return _detail, ""
        if name == "error":
            return (_code if texts else _detail), ""
        if name == "title":
            return (_title if texts or error_is_text else _detail), ""
        if name == "type":
            uri = self.problem_type or schema.get("format") in _URI_FORMATS
            return (_about_blank if uri else _code), ""
        if name in _CODE_NAMES:
            return _code, ""
        if name in _CALL_ID_NAMES:
            return _call_id(required), ""
        return None, "has no mapping"

    def errors(self, schema: dict[str, Any], required: bool) -> tuple[Fill | None, str]:
        items = schema.get("items")
        kind, resolved = self.kind(items if isinstance(items, dict) else {}, "")
        if kind == "string" or kind is None:
            item: Callable[[FieldError], Any] = str
        elif kind == "object":
            item_fill = self.item(resolved)
            if item_fill is None:
                return None, "has items the field errors cannot fill"
            item = item_fill
        else:
            return None, f"has {kind} items"
        return _errors_filler(item, required), ""

    def item(self, schema: dict[str, Any]) -> Callable[[FieldError], Any] | None:
        properties = collapsed_properties(schema, self.definitions)
        required = collapsed_required(schema, self.definitions)
        slots = []
        for name, sub in properties.items():
            kind, _ = self.kind(sub, name)
            attribute = _ITEM_FIELDS.get(name)
            if attribute is not None and kind in ("string", None):
                slots.append((name, attribute))
            elif name in required:
                return None
        if not slots or required - {n for n, _ in slots}:
            return None
        pairs = tuple(slots)

        def fill_item(e: FieldError) -> dict[str, Any]:
            return {name: getattr(e, attribute) for name, attribute in pairs}

        return fill_item


def _kind_by_name(name: str) -> str | None:
    if name in _STATUS_NAMES - _CODE_NAMES:
        return "integer"
    if name in _STRING_NAMES:
        return "string"
    if name in _FALSE_NAMES:
        return "boolean"
    if name in _ERRORS_NAMES:
        return "array"
    return None


def _object_filler(slots: tuple[tuple[str, Fill], ...]) -> Fill:
    def fill_object(f: Facts) -> dict[str, Any]:
        body = {}
        for name, fill in slots:
            value = fill(f)
            if value is not _OMIT:
                body[name] = value
        return body

    return fill_object


def _errors_filler(item: Callable[[FieldError], Any], required: bool) -> Fill:
    def fill_errors(f: Facts) -> Any:
        if not f.field_errors and not required:
            return _OMIT
        return [item(e) for e in f.field_errors]

    return fill_errors


class _ErrorBody:
    """One declared error response, compiled: its filler, validator and media type."""

    __slots__ = ("fill", "label", "mimetype", "text", "validate")

    def __init__(self, label: str, fill: Fill | None, mimetype: str, validate: Any = None, text: str = "") -> None:
        self.label, self.fill, self.mimetype, self.validate, self.text = label, fill, mimetype, validate, text

    def response(self, facts: Facts) -> Response | None:
        if self.fill is None:
            return None
        if self.text:
            text = facts.detail if self.text == "plain" else html.escape(facts.detail)
            return Response(text, status=facts.status, mimetype=self.mimetype)
        body = self.fill(facts)
        try:
            if self.validate is not None:
                self.validate(body, "response")
            data = dump_json(body)
        except (ValidationError, TypeError, ValueError, RecursionError) as e:
            log.warning(
                "%s: the filled %s error body does not match the spec (%s); sending the problem body",
                self.label,
                facts.status,
                e,
            )
            return None
        return Response(data, status=facts.status, mimetype=self.mimetype)


def _json_mimetype(media_types: Iterable[str]) -> str | None:
    json_types = [m for m in media_types if is_json_media_type(m)]
    if not json_types:
        return None
    return "application/json" if "application/json" in json_types else json_types[0]


def _text_mimetype(media_types: Iterable[str]) -> str | None:
    texts = [m for m in media_types if m.startswith("text/")]
    if "text/plain" in texts:
        return "text/plain"
    return texts[0] if texts else None


def _sample_facts(key: str) -> list[Facts]:
    """Errors a declared status stands for, to try the filled body on at spawn time."""
    if key.isdigit():
        statuses = [int(key)]
    elif key.endswith("XX"):
        statuses = [int(key[0]) * 100]
    else:
        statuses = [400, 500]
    samples = []
    for status in statuses:
        kind = RequestError if status < 500 else InternalServerError
        samples.append(Facts(kind("sample", status_code=status), status, "sample-call-id"))
        if status == 400:
            sample = ValidationError(errors=[FieldError("query", "limit", "sample")])
            samples.append(Facts(sample, 400, "sample-call-id"))
    return samples


def _problem_sample(facts: Facts) -> dict[str, Any]:
    return {
        "type": "about:blank",
        "title": facts.title,
        "status": facts.status,
        "detail": facts.detail,
        "code": facts.code,
        "call_id": facts.call_id,
    }


#: A declared error response whose body stays the problem body (not None: ``by_status`` would look further).
_PROBLEM = _ErrorBody("", None, "")


class ErrorBodies:
    """The declared error responses of one operation, compiled: status key -> its body (``_PROBLEM``:
    the problem body). ``unfilled`` says, for the spawn warning, which could not be filled and why."""

    __slots__ = ("by_key", "unfilled")

    def __init__(self, op: Operation, schemas: SchemaCompiler) -> None:
        self.by_key: dict[str, _ErrorBody] = {}
        #: (operation and status, why), for the spawn warning
        self.unfilled: list[tuple[str, str]] = []
        for key, declared in op.responses.items():
            if key[0] in "45" or key == "default":
                try:
                    body = self._compile(op, key, declared.schema, declared.media_types, schemas)
                except Exception as e:  # a mapping failure never stops a spawn: the problem body stays
                    body = None
                    self.unfilled.append((f"{op.label} {key}", f"{type(e).__name__}: {e}"))
                self.by_key[key] = body or _PROBLEM

    def _compile(
        self,
        op: Operation,
        key: str,
        schema: dict[str, Any] | None,
        media_types: tuple[str, ...],
        schemas: SchemaCompiler,
    ) -> _ErrorBody | None:
        declared_media = media_types or (op.produces if schema is not None else ())
        mimetype = _json_mimetype(declared_media)
        label = f"{op.label} {key}"
        if mimetype is None:
            text_type = _text_mimetype(declared_media)
            if text_type is None:
                return None
            return _ErrorBody(label, _detail, text_type, text="html" if text_type == "text/html" else "plain")
        if schema is None:
            return None
        compiled = _MappingCompiler(schemas.definitions, mimetype == PROBLEM_JSON).body(schema)
        if compiled is None:
            return None
        validator = schemas.validator(schema, direction=RESPONSE)
        samples = _sample_facts(key)
        if compiled.fill is None:
            if not compiled.missing and all(validator.is_valid(_problem_sample(f)) for f in samples):
                return None  # nothing to fill, and the problem body fits
            self.unfilled.append((label, "; ".join(compiled.missing or ["nothing in it has a mapping"])))
            return None
        fill = compiled.fill
        for facts in samples:
            try:
                validator.validate(fill(facts), "response")
            except ValidationError as e:
                self.unfilled.append((label, f"a filled {facts.status} body does not match: {e}"))
                return None
        return _ErrorBody(label, fill, mimetype, validator.validate)

    def response(self, error: KlueException, status: int, call_id: str | None) -> Response | None:
        """The declared body of this error, or None: send the problem body."""
        body = by_status(self.by_key, status)
        if body is None or body.fill is None:
            return None
        try:
            return body.response(Facts(error, status, call_id))
        except Exception:  # never a 500 or a traceback because of the mapping
            log.exception("%s: filling the %s error body failed; sending the problem body", body.label, status)
            return None


def warn_unfilled(api_name: str, unfilled: Sequence[tuple[str, str]]) -> None:
    """One warning per API: the declared error bodies that keep the problem body, grouped by why."""
    if not unfilled:
        return
    by_reason: dict[str, list[str]] = {}
    for where, reason in unfilled:
        by_reason.setdefault(reason, []).append(where)
    lines = [f"{reason}: {', '.join(where)}" for reason, where in by_reason.items()]
    log.warning(
        "API '%s': %d declared error response(s) cannot be filled from klue's errors and keep the problem body:\n  %s",
        api_name,
        len(unfilled),
        "\n  ".join(lines),
    )
