"""Turning a Flask request into a handler's arguments.

A ``RequestParser`` is compiled per operation at spawn time: one reader per
declared parameter, with its string parser, prepared validator and decoder.
Per request it only reads, converts and validates; every problem becomes a
``ValidationError`` naming the parameter or field, all of them reported at once.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from ..exceptions import FieldError, UnsupportedMediaType, ValidationError
from ..schema.messages import quote
from ..schema.validation import REQUEST
from ..schema.view import primary_type, resolve
from ..spec.interface import (
    BODY,
    COLLECTION_SEPARATORS,
    FORM,
    FORM_MEDIA_TYPES,
    HEADER,
    MISSING,
    PATH,
    QUERY,
    Operation,
    Parameter,
)
from ..wire import is_json_media_type, loads_json

if TYPE_CHECKING:
    from flask import Request

    from ..api import API

_INTEGER = re.compile(r"^[+-]?[0-9]+\Z")
_NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
OBJECT_FORMATS = ("deepObject", "form-object")


def read_whole(request: Request, *, form: bool = False) -> bytes:
    """The request's body (parsed into ``request.form`` and ``files`` for a
    ``form``), whole, or raise: 413 when it is over the limit, whatever the
    framing (werkzeug cuts a chunked body at the limit and would hand over
    the prefix), 400 when the framing is broken."""
    try:
        data = request.get_data(cache=True, parse_form_data=form)
    except Exception as e:
        if isinstance(e, _framing_errors()):
            raise BadRequest(
                "the request body could not be read: malformed chunked encoding, or the connection closed early"
            ) from None
        raise
    environ, limit = request.environ, request.max_content_length
    if (
        limit is not None
        and (form or len(data) >= limit)
        and environ.get("wsgi.input_terminated")
        and request.content_length is None
        and _has_more(environ["wsgi.input"])
    ):
        raise RequestEntityTooLarge()
    return data


def _framing_errors() -> tuple[type[BaseException], ...]:
    """What a WSGI server raises while the app reads a body its client framed
    wrongly (the client's fault, a 400): gunicorn's parse errors, if gunicorn
    serves (only then is its module loaded), and socket errors."""
    gunicorn_errors = sys.modules.get("gunicorn.http.errors")
    return (OSError, gunicorn_errors.ParseException) if gunicorn_errors is not None else (OSError,)


def _has_more(stream: Any) -> bool:
    try:
        return bool(stream.read(1))
    except OSError:
        return False


class InvalidValue(ValueError):
    """A parameter's text is not of its declared type."""


def _parse_integer(text: str) -> int:
    if not _INTEGER.match(text):
        raise InvalidValue(f"{quote(text)} is not an integer")
    try:
        return int(text)
    except ValueError:  # more digits than int() accepts
        raise InvalidValue("integer has too many digits") from None


def _parse_number(text: str) -> int | float:
    if _INTEGER.match(text):
        return _parse_integer(text)
    if not _NUMBER.match(text):
        raise InvalidValue(f"{quote(text)} is not a number")
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise InvalidValue(f"{quote(text)} is out of range")
    return value


def _parse_boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise InvalidValue(f"{quote(text)} is not a boolean (true or false)")


_SCALAR_PARSERS: dict[str | None, Callable[[str], Any]] = {
    "integer": _parse_integer,
    "number": _parse_number,
    "boolean": _parse_boolean,
}


def text_parser(
    schema: dict[str, Any], collection_format: str, definitions: dict[str, dict[str, Any]]
) -> Callable[[Any], Any]:
    """A function from a parameter's raw text (list of strings, or dict of them
    for object styles) to its typed value, before validation."""
    schema = resolve(schema, definitions)
    kind = primary_type(schema)
    if collection_format == "json":
        return lambda texts: _json_text(_single(texts))
    if collection_format in OBJECT_FORMATS:
        props = schema.get("properties") or {}
        parsers = {k: text_parser(v, "csv", definitions) for k, v in props.items()}
        extra_schema = schema.get("additionalProperties")
        extra = text_parser(extra_schema if isinstance(extra_schema, dict) else {}, "csv", definitions)
        return lambda fields: {k: parsers.get(k, extra)(v) for k, v in fields.items()}
    if kind == "array":
        items = resolve(schema["items"], definitions) if isinstance(schema.get("items"), dict) else {}
        item_parser = _SCALAR_PARSERS.get(primary_type(items))
        if collection_format == "multi":

            def split(texts: list[str]) -> list[str]:
                return texts
        else:
            separator = COLLECTION_SEPARATORS.get(collection_format, ",")

            def split(texts: list[str]) -> list[str]:
                return _single(texts).split(separator) if texts[0] else []

        if item_parser is None:
            return split
        return lambda texts: [item_parser(t) for t in split(texts)]
    scalar = _SCALAR_PARSERS.get(kind)
    if scalar is None:
        return _single
    return lambda texts: scalar(_single(texts))


def _json_text(text: str) -> Any:
    try:
        return loads_json(text)
    except (ValueError, RecursionError) as e:
        raise InvalidValue(f"is not valid JSON: {e}") from None


def _single(texts: list[str]) -> str:
    if len(texts) > 1:
        raise InvalidValue(f"given {len(texts)} times; expected once")
    return texts[0]


Source = Callable[["Request", dict[str, Any]], Any]


def _source(param: Parameter, schema: dict[str, Any]) -> Source:
    """Where a parameter's raw text comes from in a request."""
    name = param.name
    if param.collection_format == "deepObject":  # ?filter[kind]=cat&filter[max]=3
        prefix = name + "["
        return lambda request, _: {
            k[len(prefix) : -1]: request.args.getlist(k)
            for k in request.args
            if k.startswith(prefix) and k.endswith("]")
        }
    if param.collection_format == "form-object":  # ?kind=cat&max=3, the object's own keys
        keys = tuple(schema.get("properties") or ())
        return lambda request, _: {k: request.args.getlist(k) for k in keys if k in request.args}
    location = param.location
    if location == QUERY:
        return lambda request, _: request.args.getlist(name)
    if location == FORM:
        return lambda request, _: request.form.getlist(name)
    if location == PATH:
        return lambda _, path_args: [path_args[name]]
    if location == HEADER:  # HTTP ignores white space around values
        return lambda request, _: [v.strip()] if (v := request.headers.get(name)) is not None else []
    return lambda request, _: [v] if (v := request.cookies.get(name)) is not None else []


class ParameterReader:
    """Reads, converts, validates and decodes one non-body parameter."""

    __slots__ = (
        "arg_name",
        "decode",
        "default",
        "empty_rejected",
        "is_file",
        "location",
        "name",
        "parse",
        "required",
        "source",
        "validate",
    )

    def __init__(self, param: Parameter, api: API) -> None:
        definitions = api.spec.definitions
        self.name = param.name
        self.arg_name = param.arg_name
        self.location = param.location
        self.required = param.required
        self.is_file = param.is_file
        resolved = resolve(param.schema, definitions)
        # '?name=' is only allowed where allowEmptyValue says so; for an
        # array it is the empty array, the only way csv can say so.
        self.empty_rejected = (
            param.location in (QUERY, FORM)
            and not param.allow_empty
            and primary_type(resolved) != "array"
            and param.collection_format not in OBJECT_FORMATS
        )
        self.source = _source(param, resolved)
        self.parse = text_parser(param.schema, param.collection_format, definitions)
        self.validate = api.validators.get(param.schema, direction=REQUEST).validate
        self.decode = api.codec.decoder(param.schema)
        self.default = MISSING if param.default is MISSING else self._decoded(param.default)

    def _decoded(self, value: Any) -> Any:
        return self.decode(value) if self.decode else value

    def read(self, texts: Any) -> Any:
        """Return the parameter's value, or MISSING when absent and without default."""
        if self.empty_rejected and texts and "" in texts:
            raise ValidationError.for_field(self.location, self.name, "an empty value is not allowed")
        if not texts:
            if self.required:
                raise ValidationError.for_field(self.location, self.name, "is required")
            return self.default
        try:
            value = self.parse(texts)
        except InvalidValue as e:
            raise ValidationError.for_field(self.location, self.name, str(e)) from None
        self.validate(value, self.location, self.name)
        return self._decoded(value)


def media_type_accepted(mimetype: str, accepted: tuple[str, ...]) -> bool:
    """Whether a request's Content-Type is one of ``accepted`` (``*/*``, ``image/*`` included)."""
    for media in accepted:
        if media == mimetype or media == "*/*" or (media.endswith("/*") and mimetype.startswith(media[:-1])):
            return True
    return is_json_media_type(mimetype) and any(map(is_json_media_type, accepted))


class RequestParser:
    """Compiled per operation: request in, ``(args, kwargs)`` for the handler out."""

    def __init__(self, op: Operation, api: API) -> None:
        self.op = op
        self.readers = [ParameterReader(p, api) for p in op.parameters if not p.is_file]
        self.files = [ParameterReader(p, api) for p in op.parameters if p.is_file]
        self.form_types = tuple(t for t in op.consumes if t in FORM_MEDIA_TYPES) if op.form_parameters else ()
        self.body = op.body
        #: Whether requests' bodies are read at all (a body or form parameters).
        self.reads_body = op.body is not None or bool(op.form_parameters)
        if op.body is not None:
            self.body_media = op.body.media_types
            self.body_validate = api.validators.get(op.body.schema, fill_defaults=True, direction=REQUEST).validate
            self.body_decode = api.codec.decoder(op.body.schema)

    def parse(self, request: Request, path_args: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        errors: list[FieldError] = []
        kwargs: dict[str, Any] = {}
        if self.form_types:
            self._check_form_type(request)
            read_whole(request, form=True)
        for reader in self.readers:
            try:
                value = reader.read(reader.source(request, path_args))
            except ValidationError as e:
                errors.extend(e.errors)
                continue
            kwargs[reader.arg_name] = None if value is MISSING else value
        for reader in self.files:
            try:
                kwargs[reader.arg_name] = self._read_file(request, reader)
            except ValidationError as e:
                errors.extend(e.errors)
        args: tuple[Any, ...] = ()
        if self.body is not None:
            try:
                args = (self._read_body(request),)
            except ValidationError as e:
                errors.extend(e.errors)
        if errors:
            raise ValidationError(errors=errors)
        return args, kwargs

    def _check_form_type(self, request: Request) -> None:
        if request.mimetype in self.form_types:
            return
        if request.mimetype or request.content_length:
            raise UnsupportedMediaType(f"Content-Type must be one of: {', '.join(self.form_types)}")

    @staticmethod
    def _read_file(request: Request, reader: ParameterReader) -> FileStorage | None:
        stored = request.files.get(reader.name)
        if stored is None or not stored.filename:  # browsers send an empty part for "no file"
            if reader.required:
                raise ValidationError.for_field(FORM, reader.name, "a file is required")
            return None
        return stored

    def _read_body(self, request: Request) -> Any:
        body = self.body
        assert body is not None
        data = read_whole(request)
        if not data:
            if body.required:
                raise ValidationError.for_field(BODY, body.name, "a request body is required")
            return None
        mimetype = request.mimetype
        if not media_type_accepted(mimetype, self.body_media):
            got = f"got {quote(mimetype)}" if mimetype else "none given"
            raise UnsupportedMediaType(f"Content-Type must be {' or '.join(self.body_media)} ({got})")
        if body.raw:
            return data
        try:
            value = loads_json(data)
        except RecursionError:
            raise ValidationError.for_field(BODY, "", "JSON is nested too deeply") from None
        except ValueError as e:  # JSONDecodeError and UnicodeDecodeError
            raise ValidationError.for_field(BODY, "", f"invalid JSON: {e}") from None
        value = self.body_validate(value, BODY, "")
        return self.body_decode(value) if self.body_decode else value
