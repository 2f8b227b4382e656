"""Turning a Flask request into a handler's arguments.

A ``RequestParser`` is compiled per operation at spawn time: one reader per
declared parameter, with its string parser, prepared validator and decoder.
Per request it only reads, converts and validates; every problem becomes a
``ValidationError`` naming the parameter or field, all of them reported at once.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Callable

from werkzeug.datastructures import FileStorage

from ..exceptions import FieldError, UnsupportedMediaType, ValidationError
from ..spec.interface import (
    BODY, COOKIE, FORM, FORM_MEDIA_TYPES, HEADER, MISSING, PATH, QUERY, Operation, Parameter,
)
from ..wire import is_json_media_type, loads_json

if TYPE_CHECKING:
    from flask import Request

    from ..api import API

_INTEGER = re.compile(r"^[+-]?[0-9]+\Z")
_NUMBER = re.compile(r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_SEPARATORS = {"csv": ",", "ssv": " ", "tsv": "\t", "pipes": "|"}


class InvalidValue(ValueError):
    """A parameter's text is not of its declared type."""


def _primary_type(schema: dict) -> str | None:
    types = schema.get("type")
    if isinstance(types, list):
        types = next((t for t in types if t != "null"), None)
    return types


def _parse_integer(text: str) -> int:
    if not _INTEGER.match(text):
        raise InvalidValue(f"{text!r} is not an integer")
    try:
        return int(text)
    except ValueError:  # more digits than int() accepts
        raise InvalidValue("integer has too many digits") from None


def _parse_number(text: str) -> int | float:
    if _INTEGER.match(text):
        return _parse_integer(text)
    if not _NUMBER.match(text):
        raise InvalidValue(f"{text!r} is not a number")
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise InvalidValue(f"{text!r} is out of range")
    return value


def _parse_boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise InvalidValue(f"{text!r} is not a boolean (true or false)")


_SCALAR_PARSERS: dict[str | None, Callable[[str], Any]] = {
    "integer": _parse_integer,
    "number": _parse_number,
    "boolean": _parse_boolean,
}


def text_parser(schema: dict, collection_format: str) -> Callable[[list[str]], Any]:
    """A function from the raw strings of a parameter to its typed value."""
    if _primary_type(schema) == "array":
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        item_parser = _SCALAR_PARSERS.get(_primary_type(items))
        if collection_format == "multi":
            split: Callable[[list[str]], list[str]] = lambda texts: texts
        else:
            separator = _SEPARATORS.get(collection_format, ",")
            split = lambda texts: _single(texts).split(separator) if texts[0] else []
        if item_parser is None:
            return split
        return lambda texts: [item_parser(t) for t in split(texts)]
    scalar = _SCALAR_PARSERS.get(_primary_type(schema))
    if scalar is None:
        return _single
    return lambda texts: scalar(_single(texts))


def _single(texts: list[str]) -> str:
    if len(texts) > 1:
        raise InvalidValue(f"given {len(texts)} times; expected once")
    return texts[0]


class ParameterReader:
    """Reads, converts, validates and decodes one non-body parameter."""

    __slots__ = ("name", "location", "required", "default", "is_file", "parse", "validate", "decode", "empty_rejected")

    def __init__(self, param: Parameter, api: "API") -> None:
        self.name = param.name
        self.location = param.location
        self.required = param.required
        self.is_file = param.is_file
        # Swagger 2.0: '?name=' is only allowed where allowEmptyValue says so;
        # for an array it is the empty array, the only way csv can say so.
        self.empty_rejected = (param.location in (QUERY, FORM) and not param.allow_empty
                               and _primary_type(param.schema) != "array")
        self.parse = text_parser(param.schema, param.collection_format)
        self.validate = api.validators.get(param.schema).validate
        self.decode = api.codec.decoder(param.schema)
        self.default = MISSING if param.default is MISSING else self._decoded(param.default)

    def _decoded(self, value: Any) -> Any:
        return self.decode(value) if self.decode else value

    def read(self, texts: list[str] | None) -> Any:
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


def _query(request: "Request", name: str, _path_args: dict) -> list[str]:
    return request.args.getlist(name)


def _header(request: "Request", name: str, _path_args: dict) -> list[str]:
    value = request.headers.get(name)
    return [value.strip()] if value is not None else []  # HTTP ignores whitespace around values


def _cookie(request: "Request", name: str, _path_args: dict) -> list[str]:
    value = request.cookies.get(name)
    return [value] if value is not None else []


def _form(request: "Request", name: str, _path_args: dict) -> list[str]:
    return request.form.getlist(name)


def _path(_request: "Request", name: str, path_args: dict) -> list[str]:
    return [path_args[name]]


_SOURCES = {QUERY: _query, HEADER: _header, COOKIE: _cookie, FORM: _form, PATH: _path}


class RequestParser:
    """Compiled per operation: request in, ``(args, kwargs)`` for the handler out."""

    def __init__(self, op: Operation, api: "API") -> None:
        self.op = op
        self.readers = [(ParameterReader(p, api), _SOURCES[p.location]) for p in op.parameters if not p.is_file]
        self.files = [ParameterReader(p, api) for p in op.parameters if p.is_file]
        self.form_types = tuple(t for t in op.consumes if t in FORM_MEDIA_TYPES) if op.form_parameters else ()
        self.body = op.body
        if op.body is not None:
            self.body_media = op.body.media_types
            self.body_validate = api.validators.get(op.body.schema, fill_defaults=True).validate
            self.body_decode = api.codec.decoder(op.body.schema)

    def parse(self, request: "Request", path_args: dict) -> tuple[tuple, dict]:
        errors: list[FieldError] = []
        kwargs: dict[str, Any] = {}
        if self.form_types:
            self._check_form_type(request)
        for reader, source in self.readers:
            try:
                value = reader.read(source(request, reader.name, path_args))
            except ValidationError as e:
                errors.extend(e.errors)
                continue
            kwargs[reader.name] = None if value is MISSING else value
        for reader in self.files:
            try:
                kwargs[reader.name] = self._read_file(request, reader)
            except ValidationError as e:
                errors.extend(e.errors)
        args: tuple = ()
        if self.body is not None:
            try:
                args = (self._read_body(request),)
            except ValidationError as e:
                errors.extend(e.errors)
        if errors:
            raise ValidationError(errors=errors)
        return args, kwargs

    def _check_form_type(self, request: "Request") -> None:
        if request.mimetype in self.form_types:
            return
        if request.mimetype or request.content_length:
            raise UnsupportedMediaType(f"Content-Type must be one of: {', '.join(self.form_types)}")

    @staticmethod
    def _read_file(request: "Request", reader: ParameterReader) -> FileStorage | None:
        stored = request.files.get(reader.name)
        if stored is None or not stored.filename:  # browsers send an empty part for "no file"
            if reader.required:
                raise ValidationError.for_field(FORM, reader.name, "a file is required")
            return None
        return stored

    def _read_body(self, request: "Request") -> Any:
        body = self.body
        assert body is not None
        data = request.get_data(cache=True)
        if not data:
            if body.required:
                raise ValidationError.for_field(BODY, body.name, "a request body is required")
            return None
        mimetype = request.mimetype
        if not (mimetype in self.body_media or (is_json_media_type(mimetype) and any(map(is_json_media_type, self.body_media)))):
            got = f"got {mimetype!r}" if mimetype else "none given"
            raise UnsupportedMediaType(f"Content-Type must be {' or '.join(self.body_media)} ({got})")
        try:
            value = loads_json(data)
        except RecursionError:
            raise ValidationError.for_field(BODY, "", "JSON is nested too deeply") from None
        except ValueError as e:  # JSONDecodeError and UnicodeDecodeError
            raise ValidationError.for_field(BODY, "", f"invalid JSON: {e}") from None
        value = self.body_validate(value, BODY, "")
        return self.body_decode(value) if self.body_decode else value
