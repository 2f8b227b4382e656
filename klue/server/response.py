"""Turning handler results and errors into JSON responses.

``ResponseBuilder`` is compiled per operation: for each declared status, the
encoder and prepared validator of its schema. ``ErrorRenderer`` builds error
bodies: the API's ``error_callback`` model when it has one, otherwise the error
body the operation declares for the status, filled as ``klue.server.errors``
says, otherwise RFC 9457 problem details. Neither ever puts exception text from inside a handler, or
a traceback, into a 5xx body: those go to the server log.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from flask import Response
from werkzeug.datastructures import Headers, MIMEAccept
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_accept_header
from werkzeug.wrappers import Response as WerkzeugResponse

from ..exceptions import (
    CallTimeout,
    ClientError,
    Forbidden,
    InternalServerError,
    KlueException,
    MethodNotAllowed,
    NotAcceptable,
    NotFound,
    PayloadTooLarge,
    ResponseValidationError,
    Unauthorized,
    UnsupportedMediaType,
    ValidationError,
)
from ..logsafe import loggable
from ..schema.validation import RESPONSE
from ..spec.interface import Operation, by_status
from ..wire import dump_json, is_json_media_type
from .errors import ErrorBodies, phrase, public_detail

if TYPE_CHECKING:
    from ..schema.compiler import SchemaCompiler

log = logging.getLogger("klue.server")


def pick_mimetype(produces: tuple[str, ...]) -> str:
    """The JSON media type the operation declares, ``application/json`` first."""
    if "application/json" in produces or not produces:
        return "application/json"
    return next((m for m in produces if is_json_media_type(m)), "application/json")


def json_response(body: Any, status: int, mimetype: str = "application/json") -> Response:
    return Response(dump_json(body), status=status, mimetype=mimetype)


#: What a handler may return for a body that is not JSON: text for ``text/*``,
#: bytes for the rest; a file-like object or an iterator is streamed.
TEXT, BINARY = "text", "binary"


def media_kind(media_type: str) -> str | None:
    """None for JSON (``application/json``, ``+json``), else TEXT or BINARY."""
    if is_json_media_type(media_type):
        return None
    return TEXT if media_type.startswith("text/") else BINARY


class _Declared:
    """What is known at spawn time about one declared response: its schema's
    encoder and validator (JSON bodies) and the media types it may go out as."""

    __slots__ = ("encode", "has_schema", "media_types", "other_types", "validate")

    def __init__(self, schema: dict[str, Any] | None, schemas: SchemaCompiler, media_types: tuple[str, ...]) -> None:
        self.has_schema = schema is not None
        self.encode = schemas.encoder(schema, RESPONSE)
        self.validate = schemas.validator(schema, direction=RESPONSE).validate if schema is not None else None
        self.media_types = media_types
        #: Declared types that are not JSON: empty for the (common) JSON-only response, which skips negotiation.
        self.other_types = tuple(m for m in media_types if media_kind(m) is not None)


class ResponseBuilder:
    """Compiled per operation: a handler's result in, a validated Response out."""

    def __init__(self, op: Operation, schemas: SchemaCompiler) -> None:
        self.op = op
        self.success_status = op.success_status
        self.mimetype = pick_mimetype(op.produces)
        self.declared = {
            status: _Declared(r.schema, schemas, r.media_types or op.produces) for status, r in op.responses.items()
        }
        #: An operation declaring no response at all (OpenAPI 3.1 allows it): any status, unvalidated.
        self.undeclared = _Declared(None, schemas, op.produces) if not op.responses else None

    def build(self, result: Any, accept: str | None = None) -> WerkzeugResponse:
        """The response for a handler's ``result``; ``accept`` is the request's
        ``Accept`` header, read only where several media types are declared."""
        response = self._build(result, accept)
        if response.status_code in _NO_BODY_STATUSES:
            without_body(response)
        return response

    def _build(self, result: Any, accept: str | None) -> WerkzeugResponse:
        if isinstance(result, WerkzeugResponse):
            return result
        status, headers = self.success_status, None
        if isinstance(result, tuple):
            result, status, headers = _unpack(result, status)
        declared = by_status(self.declared, status) or self.undeclared
        if declared is None:
            raise ResponseValidationError(f"{self.op.label}: status {status} is not declared in the spec")
        if result is None or status in _NO_BODY_STATUSES:
            if result is not None:
                raise ResponseValidationError(
                    f"{self.op.label}: a {status} response has no body, but the handler returned one"
                )
            if declared.has_schema:
                raise ResponseValidationError(f"{self.op.label}: handler returned None for status {status}")
            response = Response(status=status)
        elif declared.other_types and (media_type := negotiate(declared, result, accept, self.mimetype)):
            response = non_json_response(result, status, media_type)
        else:
            body = declared.encode(result)
            if declared.validate is not None:
                try:
                    declared.validate(body, "response")
                except ValidationError as e:
                    raise _invalid(self.op, result, f"response {status} does not match the spec: {e}") from None
            try:
                response = Response(dump_json(body), status=status, mimetype=self.mimetype)
            except (TypeError, ValueError, RecursionError) as e:
                raise _invalid(self.op, result, f"response is not JSON-serializable: {e}") from None
        if headers:
            response.headers.extend(headers)
        return response


_NO_BODY_STATUSES = frozenset({204, 205, 304})

_STREAMED_CHUNK = 64 * 1024


def fits(kind: str | None, result: Any) -> bool:
    """Whether ``result`` can be sent as a body of that kind (None: JSON)."""
    if isinstance(result, (bytes, bytearray, memoryview)) or hasattr(result, "read"):
        return kind is not None
    if isinstance(result, str):
        return True  # JSON (a string), text, or UTF-8 bytes
    if inspect.isgenerator(result) or isinstance(result, Iterator):
        return kind is not None
    return kind is None


def _is_json(media_type: str) -> bool:
    return media_kind(media_type) is None


def negotiate(declared: _Declared, result: Any, accept: str | None, json_type: str) -> str | None:
    """The media type to send ``result`` as when the response declares a
    non-JSON one: by ``Accept`` among the declared types ``result`` fits (406
    when none is acceptable), else the first declared that fits (for a str, a
    text or binary type before JSON). None: JSON."""
    candidates = [m for m in declared.media_types if fits(media_kind(m), result)]
    if isinstance(result, str):  # a str meant as JSON is rare where text is declared too
        candidates.sort(key=_is_json)
    if not candidates:
        kinds = ", ".join(declared.media_types)
        raise ResponseValidationError(f"a {type(result).__name__} cannot be sent as {kinds}")
    if accept and accept.strip() not in ("*/*", ""):
        chosen = parse_accept_header(accept, MIMEAccept).best_match(candidates)
        if chosen is None:
            raise NotAcceptable(f"this response can be sent as {', '.join(candidates)}")
    else:
        chosen = candidates[0]
    return None if media_kind(chosen) is None else chosen


def non_json_response(result: Any, status: int, media_type: str) -> Response:
    """A text or binary body: str, bytes, a file-like object, or an iterator (sent chunked)."""
    kind = media_kind(media_type)
    if "*" in media_type:  # a declared range (image/*, */*) is no Content-Type
        media_type = "text/plain" if kind == TEXT or isinstance(result, str) else "application/octet-stream"
    if hasattr(result, "read"):
        body: Any = _file_chunks(result)
    elif isinstance(result, (str, bytes, bytearray, memoryview)):
        body = result if isinstance(result, str) else bytes(result)
    else:
        body = _encoded_chunks(result)
    return Response(body, status=status, mimetype=media_type)


def _file_chunks(file: Any) -> Iterator[bytes]:
    try:
        while chunk := file.read(_STREAMED_CHUNK):
            yield chunk.encode("utf-8") if isinstance(chunk, str) else chunk
    finally:
        close = getattr(file, "close", None)
        if close is not None:
            close()


def _encoded_chunks(chunks: Iterator[Any]) -> Iterator[bytes]:
    for chunk in chunks:
        yield chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk)


def _invalid(op: Operation, result: Any, problem: str) -> ResponseValidationError:
    """The error for a result that cannot be sent; one that is awaitable says why it was never awaited."""
    if not inspect.isawaitable(result):
        return ResponseValidationError(f"{op.label}: {problem}")
    if inspect.iscoroutine(result):
        result.close()  # no "never awaited" warning on top of this error
    return ResponseValidationError(
        f"{op.label}: the handler returned {type(result).__name__} object, not a value: nothing it is made of "
        "says it is async, so spawn_api did not run it as async; declare it async def (its decorators "
        "keeping functools.wraps, or marked with inspect.markcoroutinefunction)"
    )


def without_body(response: WerkzeugResponse) -> None:
    """A 204, 205 or 304 has no content (RFC 9110), so no media type either,
    whatever a handler's own ``Response`` carried."""
    response.response = []
    for name in ("Content-Type", "Content-Length", "Content-Encoding"):
        response.headers.pop(name, None)


def _unpack(result: tuple[Any, ...], default_status: int) -> tuple[Any, int, Any]:
    """Flask's tuple forms: (body, status), (body, headers), (body, status, headers)."""
    if len(result) == 3:
        body, status, headers = result
    elif len(result) == 2:
        body, second = result
        is_headers = isinstance(second, (dict, list, Headers))
        status, headers = (default_status, second) if is_headers else (second, None)
    else:
        raise ResponseValidationError(f"a handler returned a tuple of {len(result)} items; expected 2 or 3")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise ResponseValidationError(f"a handler returned an invalid status {status!r}")
    return body, status, headers


_BY_STATUS: dict[int, type[KlueException]] = {
    cls.status_code: cls
    for cls in (
        ValidationError,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        PayloadTooLarge,
        UnsupportedMediaType,
    )
}


def as_klue_exception(exc: BaseException) -> KlueException:
    """Any exception -> the KlueException whose status and text a client may see."""
    if isinstance(exc, ClientError):  # a service this one called failed: not the client's doing
        status = 504 if isinstance(exc, CallTimeout) else 502
        error = KlueException("a service this one depends on failed", status_code=status)
        error.code = "UPSTREAM_TIMEOUT" if status == 504 else "UPSTREAM_ERROR"
        error.__cause__ = exc
        return error
    if isinstance(exc, KlueException):
        return exc
    if isinstance(exc, HTTPException) and exc.code:  # flask.abort(...), werkzeug's own 413...
        cls = _BY_STATUS.get(exc.code, KlueException)
        description = "the request body is larger than this server accepts" if exc.code == 413 else exc.description
        error = cls(description or phrase(exc.code), status_code=exc.code)
        if cls is KlueException:
            error.code = re.sub(r"\W+", "_", phrase(exc.code)).strip("_").upper()
        return error
    return _internal_error(exc)


def _internal_error(cause: BaseException, status: int = 500) -> InternalServerError:
    """What a 5xx looks like from outside: nothing of ``cause`` but its status."""
    error = InternalServerError("Internal Server Error", status_code=status)
    error.__cause__ = cause
    return error


def error_details(exc: BaseException) -> dict[str, Any]:
    """The client-safe extension members of an error body (a request's field errors only)."""
    if isinstance(exc, ValidationError) and exc.errors:
        return {"errors": [e.to_json() for e in exc.errors]}
    return {}


class ErrorRenderer:
    """Builds the error responses of one API (or one operation): ``error_callback``'s body
    (made JSON by ``encode``) when it has one, otherwise the body the operation declares
    for the status (``bodies``, ``klue.server.errors``), otherwise problem details."""

    def __init__(
        self,
        api_name: str,
        error_callback: Callable[[Exception], Any] | None = None,
        encode: Callable[[Any], Any] | None = None,
        bodies: ErrorBodies | None = None,
    ) -> None:
        self.api_name = api_name
        self.error_callback = error_callback
        self.encode = encode
        self.bodies = bodies

    def render(
        self, exc: BaseException, op: Operation | None, call_id: str | None, mimetype: str = "application/json"
    ) -> Response:
        error = as_klue_exception(exc)
        status = error.status_code if isinstance(error.status_code, int) and 400 <= error.status_code <= 599 else 500
        where = op.label if op else "-"
        if status >= 500:
            log.error(
                "%s %s: %s (call %s): %s",
                self.api_name,
                where,
                phrase(status),
                call_id,
                loggable(exc),
                exc_info=(type(exc), exc, exc.__traceback__),
            )
        else:
            log.info("%s %s: %s (call %s): %s", self.api_name, where, status, call_id, loggable(error))
        # The callback may put str(e) in the body: for a 5xx it gets a clean
        # InternalServerError, the real one as its __cause__.
        public = error if status < 500 or error.__cause__ is exc else _internal_error(error, status)
        body = self._callback_body(public) if self.error_callback else None
        response = None
        if body is None and self.bodies is not None:
            response = self.bodies.response(error, status, call_id)
        if response is None:
            if body is None:
                body = self.problem(error, status, call_id)
            response = json_response(body, status, mimetype)
        if isinstance(error, Unauthorized):
            for challenge in error.challenges:
                response.headers.add("WWW-Authenticate", challenge)
        return response

    def _callback_body(self, error: KlueException) -> Any:
        callback: Callable[[Exception], Any] = self.error_callback  # type: ignore[assignment]
        try:
            result = callback(error)
            return self.encode(result) if self.encode is not None else result
        except Exception:
            log.exception("error_callback of API '%s' failed; sending the default error body", self.api_name)
            return None

    @staticmethod
    def problem(error: KlueException, status: int, call_id: str | None) -> dict[str, Any]:
        """RFC 9457 problem details, plus ``code``, ``call_id`` and field ``errors``."""
        body = {
            "type": "about:blank",
            "title": phrase(status),
            "status": status,
            "detail": public_detail(error, status),
            "code": error.code,
        }
        if call_id:
            body["call_id"] = call_id
        body.update(error_details(error))
        return body
