"""Swagger 2.0 documents -> the version-neutral ``Spec``.

What is Swagger 2.0's own: ``basePath``/``host``/``schemes``, ``consumes``
and ``produces``, non-body parameters that carry their schema keywords
inline, ``in: body`` and ``in: formData``, and ``responses.<status>.schema``.
"""

from __future__ import annotations

from typing import Any

from ..exceptions import SpecError, SpecProblem
from ..schema.messages import quote
from ..wire import is_json_media_type
from .builder import SpecBuilder
from .interface import (
    BODY,
    FORM,
    FORM_MEDIA_TYPES,
    HEADER,
    JSON_MEDIA_TYPE,
    MISSING,
    PATH,
    QUERY,
    Body,
    Operation,
    Parameter,
    ResponseSpec,
    Spec,
)
from .loader import pointer_join
from .schema import SWAGGER2, not_a_type

PARAM_LOCATIONS = (PATH, QUERY, HEADER, FORM, BODY)
PRIMITIVE_TYPES = ("string", "number", "integer", "boolean", "array", "file")
COLLECTION_FORMATS = ("csv", "ssv", "tsv", "pipes", "multi")
#: Keywords of a non-body Swagger 2.0 parameter that are JSON Schema keywords.
_PARAM_SCHEMA_KEYS = (
    "type",
    "format",
    "items",
    "enum",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "multipleOf",
    "x-nullable",
)


def schema_section(_doc: dict[str, Any]) -> tuple[str, ...]:
    return ("definitions",)


class Swagger2Builder(SpecBuilder):
    """Builds a ``Spec`` from one bundled Swagger 2.0 document."""

    dialect = SWAGGER2

    def build(self) -> Spec:
        doc = self.doc
        if str(doc.get("swagger")) != "2.0":
            raise SpecError.single(
                self.source, "/swagger", f"not a Swagger 2.0 document (swagger: {doc.get('swagger')!r})"
            )
        info = self.mapping(doc.get("info"), "/info", required=True)
        definitions = self.definitions(doc.get("definitions"), "/definitions")
        security_schemes = self.security_schemes(
            doc.get("securityDefinitions"), "/securityDefinitions", (HEADER, QUERY), ("basic", "apiKey", "oauth2")
        )
        operations = self.operations()
        persisted = self.persisted(doc.get("definitions"), "/definitions")
        base_path = self._base_path()
        self.raise_problems(operations)
        return Spec(
            source=self.source,
            version="2.0",
            document=doc,
            info=info,
            base_path=base_path,
            host=doc.get("host") or None,
            schemes=tuple(doc.get("schemes") or ()),
            definitions=definitions,
            operations=operations,
            persisted_models=persisted,
            security_schemes=security_schemes,
        )

    def _base_path(self) -> str:
        base = self.doc.get("basePath") or "/"
        if not isinstance(base, str) or not base.startswith("/"):
            self.problem("/basePath", f"basePath must start with '/', got {base!r}")
            return ""
        return self.routable_base_path(base.rstrip("/"), "/basePath")

    def operation(self, op: Operation, raw: dict[str, Any], item: dict[str, Any], item_pointer: str) -> None:
        op.consumes = self._media_types(raw, "consumes", op.pointer)
        op.produces = self._media_types(raw, "produces", op.pointer)
        for param, at in self.merged_parameters(
            op,
            (pointer_join(item_pointer, "parameters"), item.get("parameters", [])),
            (pointer_join(op.pointer, "parameters"), raw.get("parameters", [])),
            locations=PARAM_LOCATIONS,
        ):
            self._parameter(op, param, at)
        if op.body and op.form_parameters:
            self.problem(op.pointer, "an operation cannot have both a body and formData parameters", op.label)
        if any(p.is_file for p in op.parameters) and "multipart/form-data" not in op.consumes:
            self.problem(op.pointer, "a 'type: file' parameter needs consumes: multipart/form-data", op.label)
        op.responses = self._responses(op, raw.get("responses"))

    def _media_types(self, raw: dict[str, Any], key: str, pointer: str) -> tuple[str, ...]:
        value, where = (raw[key], pointer_join(pointer, key)) if key in raw else (self.doc.get(key), "/" + key)
        if not value:
            return (JSON_MEDIA_TYPE,)
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.problem(where, f"{key} must be a list of media types, like [application/json]")
            return (JSON_MEDIA_TYPE,)
        return tuple(v.split(";")[0].strip().lower() for v in value)

    def _parameter(self, op: Operation, raw: dict[str, Any], at: str) -> None:
        name, location = raw["name"], raw["in"]
        required = bool(raw.get("required", False))
        if location == BODY:
            if op.body is not None:
                self.problem(at, f"a second body parameter ({name!r}); an operation has at most one", op.label)
                return
            schema = self.schemas.normalize(raw.get("schema", {}), pointer_join(at, "schema"))
            media = tuple(m for m in op.consumes if is_json_media_type(m)) or op.consumes
            others = tuple(m for m in op.consumes if m not in media and m not in FORM_MEDIA_TYPES)
            op.body = Body(name, schema, required, media, at, other_media_types=others)
            return
        ptype = raw.get("type")
        if not isinstance(ptype, str) or ptype not in PRIMITIVE_TYPES:
            allowed = tuple(t for t in PRIMITIVE_TYPES if t != "file" or location == FORM)
            self.problem(
                pointer_join(at, "type"),
                f"parameter {quote(name)} needs a type, one of " + ", ".join(sorted(allowed))
                if ptype is None
                else not_a_type(ptype, allowed),
                op.label,
            )
            return
        if ptype == "file" and location != FORM:
            self.problem(
                pointer_join(at, "type"), f"'type: file' is only allowed for formData, not {location}", op.label
            )
        if location == PATH and not required:
            self.problem(pointer_join(at, "required"), f"path parameter {name!r} must be required: true", op.label)
        collection = raw.get("collectionFormat", "csv")
        if collection not in COLLECTION_FORMATS or (collection == "multi" and location not in (QUERY, FORM)):
            self.problem(
                pointer_join(at, "collectionFormat"),
                f"invalid collectionFormat {collection!r} for {location}",
                op.label,
            )
        if ptype == "array" and not isinstance(raw.get("items"), dict):
            self.problem(pointer_join(at, "items"), f"array parameter {name!r} needs 'items'", op.label)
            return
        schema = self.schemas.normalize({k: raw[k] for k in _PARAM_SCHEMA_KEYS if k in raw}, at)
        default = raw.get("default", MISSING)
        if default is not MISSING and ptype != "file":
            default = self.schemas.check_default(default, schema, pointer_join(at, "default"))
        op.parameters.append(
            Parameter(
                name=name,
                location=location,
                schema=schema,
                required=required or location == PATH,
                default=default,
                collection_format=collection,
                is_file=ptype == "file",
                pointer=at,
                allow_empty=raw.get("allowEmptyValue") is True,
            )
        )

    def _responses(self, op: Operation, raw: Any) -> dict[str, ResponseSpec]:
        at = pointer_join(op.pointer, "responses")
        if not isinstance(raw, dict) or not raw:
            self.problem(at, "an operation must declare at least one response", op.label)
            return {}
        responses = {}
        for status, response in raw.items():
            where = pointer_join(at, status)
            if status.startswith("x-") or not self.check_status(status, where, op):
                continue
            response = self.deref(response, where)
            if response is None:
                continue
            if not isinstance(response, dict):
                self.problem(where, "a response must be a mapping", op.label)
                continue
            schema = response.get("schema")
            normalized = self.schemas.normalize(schema, pointer_join(where, "schema")) if schema is not None else None
            examples = response.get("examples")
            if not isinstance(examples, dict):
                examples = {}
            responses[status] = ResponseSpec(status, normalized, str(response.get("description") or ""), examples)
        return responses


def build_spec(doc: dict[str, Any], source: str, problems: list[SpecProblem] | None = None) -> Spec:
    """Build the Spec of a bundled document; ``problems`` are those found while bundling."""
    return Swagger2Builder(doc, source, problems).build()
