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
    COOKIE,
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

    from ..schema.compiler import SchemaCompiler

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
        return _parse_json_text
    if collection_format in OBJECT_FORMATS:
        return _object_parser(schema, definitions)
    if kind == "array":
        return _array_parser(schema, collection_format, definitions)
    scalar = _SCALAR_PARSERS.get(kind)
    if scalar is None:
        return _single
    return _scalar_parser(scalar)


def _parse_json_text(texts: list[str]) -> Any:
    return _json_text(_single(texts))


def _scalar_parser(scalar: Callable[[str], Any]) -> Callable[[list[str]], Any]:
    def parse_scalar(texts: list[str]) -> Any:
        return scalar(_single(texts))

    return parse_scalar


def _object_parser(schema: dict[str, Any], definitions: dict[str, dict[str, Any]]) -> Callable[[Any], Any]:
    """deepObject / form-object styles: each property's texts parsed by its own schema."""
    props = schema.get("properties") or {}
    parsers = {k: text_parser(v, "csv", definitions) for k, v in props.items()}
    extra_schema = schema.get("additionalProperties")
    extra = text_parser(extra_schema if isinstance(extra_schema, dict) else {}, "csv", definitions)

    def parse_object(fields: dict[str, list[str]]) -> dict[str, Any]:
        return {k: parsers.get(k, extra)(v) for k, v in fields.items()}

    return parse_object


def _array_parser(
    schema: dict[str, Any], collection_format: str, definitions: dict[str, dict[str, Any]]
) -> Callable[[Any], Any]:
    items = resolve(schema["items"], definitions) if isinstance(schema.get("items"), dict) else {}
    item_parser = _SCALAR_PARSERS.get(primary_type(items))
    split: Callable[[list[str]], list[str]]
    if collection_format == "multi":
        split = _repeated_texts
    else:
        split = _text_splitter(COLLECTION_SEPARATORS.get(collection_format, ","))
    if item_parser is None:
        return split

    def parse_items(texts: list[str]) -> list[Any]:
        return [item_parser(t) for t in split(texts)]

    return parse_items


def _repeated_texts(texts: list[str]) -> list[str]:
    """``multi``: ``?id=1&id=2``, each occurrence an item."""
    return texts


def _text_splitter(separator: str) -> Callable[[list[str]], list[str]]:
    def split_text(texts: list[str]) -> list[str]:
        return _single(texts).split(separator) if texts[0] else []

    return split_text


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
        return _deep_object_source(name)
    if param.collection_format == "form-object":  # ?kind=cat&max=3, the object's own keys
        return _form_object_source(tuple(schema.get("properties") or ()))
    return _SOURCES[param.location](name)


def _deep_object_source(name: str) -> Source:
    prefix = name + "["

    def read_deep_object(request: Request, path_args: dict[str, Any]) -> dict[str, list[str]]:
        return {
            k[len(prefix) : -1]: request.args.getlist(k)
            for k in request.args
            if k.startswith(prefix) and k.endswith("]")
        }

    return read_deep_object


def _form_object_source(keys: tuple[str, ...]) -> Source:
    def read_form_object(request: Request, path_args: dict[str, Any]) -> dict[str, list[str]]:
        return {k: request.args.getlist(k) for k in keys if k in request.args}

    return read_form_object


def _query_source(name: str) -> Source:
    def read_query(request: Request, path_args: dict[str, Any]) -> list[str]:
        return request.args.getlist(name)

    return read_query


def _form_source(name: str) -> Source:
    def read_form_field(request: Request, path_args: dict[str, Any]) -> list[str]:
        return request.form.getlist(name)

    return read_form_field


def _path_source(name: str) -> Source:
    def read_path(request: Request, path_args: dict[str, Any]) -> list[str]:
        return [path_args[name]]

    return read_path


def _header_source(name: str) -> Source:
    def read_header(request: Request, path_args: dict[str, Any]) -> list[str]:
        value = request.headers.get(name)
        return [] if value is None else [value.strip()]  # HTTP ignores white space around values

    return read_header


def _cookie_source(name: str) -> Source:
    def read_cookie(request: Request, path_args: dict[str, Any]) -> list[str]:
        value = request.cookies.get(name)
        return [] if value is None else [value]

    return read_cookie


_SOURCES: dict[str, Callable[[str], Source]] = {
    QUERY: _query_source,
    FORM: _form_source,
    PATH: _path_source,
    HEADER: _header_source,
    COOKIE: _cookie_source,
}


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

    def __init__(self, param: Parameter, schemas: SchemaCompiler) -> None:
        definitions = schemas.definitions
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
        self.validate = schemas.validator(param.schema, direction=REQUEST).validate
        self.decode = schemas.decoder(param.schema)
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


def as_received(data: bytes, mimetype: str, charset: str | None) -> str | bytes:
    """A body klue does not parse: ``str`` for ``text/*`` (its charset, UTF-8 by default), else the bytes."""
    if not mimetype.startswith("text/"):
        return data
    try:
        return data.decode(charset or "utf-8")
    except (UnicodeDecodeError, LookupError):
        raise ValidationError.for_field(BODY, "", f"the body is not text in {quote(charset or 'utf-8')}") from None


class RequestParser:
    """Compiled per operation: request in, ``(args, kwargs)`` for the handler out."""

    def __init__(self, op: Operation, schemas: SchemaCompiler) -> None:
        self.op = op
        self.readers = [ParameterReader(p, schemas) for p in op.parameters if not p.is_file]
        self.files = [ParameterReader(p, schemas) for p in op.parameters if p.is_file]
        self.form_types = tuple(t for t in op.consumes if t in FORM_MEDIA_TYPES) if op.form_parameters else ()
        self.body = op.body
        #: Whether requests' bodies are read at all (a body or form parameters).
        self.reads_body = op.body is not None or bool(op.form_parameters)
        if op.body is not None:
            self.body_media = op.body.media_types
            self.body_validate = schemas.validator(op.body.schema, fill_defaults=True, direction=REQUEST).validate
            self.body_decode = schemas.decoder(op.body.schema)

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
        if body.other_media_types and media_type_accepted(mimetype, body.other_media_types):
            return as_received(data, mimetype, request.mimetype_params.get("charset"))
        if not media_type_accepted(mimetype, self.body_media):
            got = f"got {quote(mimetype)}" if mimetype else "none given"
            declared = (*self.body_media, *body.other_media_types)
            raise UnsupportedMediaType(f"Content-Type must be {' or '.join(declared)} ({got})")
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
