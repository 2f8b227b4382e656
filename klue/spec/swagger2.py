"""Swagger 2.0 documents -> the version-neutral ``Spec``.

Every problem found is collected with its JSON pointer, and all of them are
raised together as one ``SpecError``, so ``klue validate`` can list them.
"""
from __future__ import annotations

import re
from typing import Any

from ..exceptions import SpecError, SpecProblem
from .formats import FormatRegistry
from .interface import (
    BODY, FORM, FORM_MEDIA_TYPES, HEADER, JSON_MEDIA_TYPE, MISSING, PATH, QUERY,
    Bindings, Body, Operation, Parameter, ResponseSpec, Spec,
)
from .loader import pointer_join, resolve_pointer, unescape_pointer_token
from .validation import SchemaValidator, schema_problems

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
PARAM_LOCATIONS = (PATH, QUERY, HEADER, FORM, BODY)
PRIMITIVE_TYPES = ("string", "number", "integer", "boolean", "array", "file")
SCHEMA_TYPES = ("string", "number", "integer", "boolean", "array", "object", "null")
COLLECTION_FORMATS = ("csv", "ssv", "tsv", "pipes", "multi")
_STATUS = re.compile(r"^(?:[1-5]\d\d|[1-5]XX|default)$")
_TEMPLATE_VAR = re.compile(r"{([^{}/]+)}")
_INT_BOUNDS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
#: Keywords of a non-body Swagger 2.0 parameter that are JSON Schema keywords.
_PARAM_SCHEMA_KEYS = (
    "type", "format", "items", "enum", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "minLength", "maxLength", "pattern", "minItems", "maxItems", "uniqueItems", "multipleOf", "x-nullable",
)
DEFINITIONS_REF = "#/definitions/"


def schema_section(_doc: dict) -> tuple[str, ...]:
    return ("definitions",)


class SchemaNormalizer:
    """Turns Swagger 2.0 schemas into JSON Schema draft 4 (``x-nullable``,
    ``type: file``, integer formats as bounds, refs into ``#/definitions``)."""

    def __init__(self, doc: dict, problems: list[SpecProblem], source: str) -> None:
        self.doc = doc
        self.problems = problems
        self.source = source

    def normalize(self, schema: Any, pointer: str) -> dict:
        """The draft 4 form of ``schema``; its problems are recorded under ``pointer``."""
        out = self._normalize(schema, pointer)
        for path, reason in schema_problems(out):
            self.problems.append(SpecProblem(self.source, pointer_join(pointer, *path), reason))
        return out

    def _normalize(self, schema: Any, pointer: str, _seen: frozenset = frozenset()) -> dict:
        if not isinstance(schema, dict):
            self.problems.append(SpecProblem(self.source, pointer, f"a schema must be a mapping, not {_kind(schema)}"))
            return {}
        if "$ref" in schema:
            return self._ref(schema, pointer, _seen)
        out: dict[str, Any] = {}
        for key, value in schema.items():
            at = pointer_join(pointer, key)
            if key in ("properties", "patternProperties", "definitions") and isinstance(value, dict):
                out[key] = {name: self._normalize(sub, pointer_join(at, name), _seen) for name, sub in value.items()}
            elif key == "items" and isinstance(value, list):
                out[key] = [self._normalize(sub, pointer_join(at, i), _seen) for i, sub in enumerate(value)]
            elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
                out[key] = self._normalize(value, at, _seen)
            elif key in ("allOf", "anyOf", "oneOf"):
                out[key] = [self._normalize(sub, pointer_join(at, i), _seen) for i, sub in enumerate(_as_list(value, at, self))]
            elif key == "required" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                self.problems.append(SpecProblem(self.source, at, "'required' in a schema must be a list of property names"))
            elif key == "type" and not _valid_type(value):
                self.problems.append(SpecProblem(self.source, at, f"unknown type {value!r}"))
            elif not (key == "type" and value == "file"):
                out[key] = value
        return _apply_nullable_and_bounds(out, schema)

    def _ref(self, schema: dict, pointer: str, seen: frozenset) -> dict:
        ref = schema["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#"):
            self.problems.append(SpecProblem(self.source, pointer_join(pointer, "$ref"), f"unresolvable $ref {ref!r}"))
            return {}
        if ref.startswith(DEFINITIONS_REF) and "/" not in ref[len(DEFINITIONS_REF):]:
            out: dict = {"$ref": ref}
        elif ref in seen:
            self.problems.append(SpecProblem(self.source, pointer, f"$ref {ref!r} refers to itself"))
            return {}
        else:  # a ref into parameters/responses/...: inline what it points at
            try:
                target = resolve_pointer(self.doc, ref[1:])
            except KeyError:
                self.problems.append(SpecProblem(self.source, pointer_join(pointer, "$ref"), f"$ref {ref!r} does not resolve"))
                return {}
            out = self._normalize(target, ref[1:], seen | {ref})
        if schema.get("x-nullable") is True:
            return {"anyOf": [out, {"type": "null"}]}
        return out


def _valid_type(value: Any) -> bool:
    types = value if isinstance(value, list) else [value]
    return all(t in SCHEMA_TYPES or t == "file" for t in types)


def _as_list(value: Any, pointer: str, normalizer: SchemaNormalizer) -> list:
    if isinstance(value, list):
        return value
    normalizer.problems.append(SpecProblem(normalizer.source, pointer, "must be a list of schemas"))
    return []


def _apply_nullable_and_bounds(out: dict, original: dict) -> dict:
    if out.get("type") == "integer" and original.get("format") in _INT_BOUNDS:
        low, high = _INT_BOUNDS[original["format"]]
        out.setdefault("minimum", low)
        out.setdefault("maximum", high)
    if original.get("x-nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


class Swagger2Builder:
    """Builds a ``Spec`` from one bundled Swagger 2.0 document."""

    def __init__(self, doc: dict, source: str, problems: list[SpecProblem] | None = None) -> None:
        self.doc = doc
        self.source = source
        self.problems: list[SpecProblem] = list(problems or ())
        self.schemas = SchemaNormalizer(doc, self.problems, source)

    def problem(self, pointer: str, reason: str, operation: str = "") -> None:
        self.problems.append(SpecProblem(self.source, pointer, reason, operation))

    def build(self) -> Spec:
        doc = self.doc
        if str(doc.get("swagger")) != "2.0":
            raise SpecError.single(self.source, "/swagger", f"not a Swagger 2.0 document (swagger: {doc.get('swagger')!r})")
        info = self._mapping(doc.get("info"), "/info", required=True)
        definitions = {
            name: self.schemas.normalize(schema, pointer_join("/definitions", name))
            for name, schema in self._mapping(doc.get("definitions"), "/definitions").items()
        }
        self._check_aliases(definitions)
        operations = self._operations()
        persisted = self._persisted(doc.get("definitions") or {})
        base_path = self._base_path()
        if self.problems:
            raise SpecError(self.problems)
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
            model_definitions=doc.get("definitions") or {},
            model_context={k: doc[k] for k in ("parameters", "responses") if isinstance(doc.get(k), dict)},
            persisted_models=persisted,
        )

    def _persisted(self, definitions: dict) -> dict[str, str]:
        persisted = {}
        for name, schema in definitions.items():
            if isinstance(schema, dict) and "x-persist" in schema:
                target = schema["x-persist"]
                if isinstance(target, str) and "." in target:
                    persisted[name] = target
                else:
                    self.problem(pointer_join("/definitions", name, "x-persist"),
                                 f"x-persist must be a dotted path like 'pkg.module.Class', got {target!r}")
        return persisted

    def _check_aliases(self, definitions: dict[str, dict]) -> None:
        """``A: {$ref: B}``, ``B: {$ref: A}`` describes no value at all."""
        for name in definitions:
            seen, current = [name], definitions[name]
            while set(current) == {"$ref"} and current["$ref"].startswith(DEFINITIONS_REF):
                target = unescape_pointer_token(current["$ref"][len(DEFINITIONS_REF):])
                if target in seen:
                    self.problem(pointer_join("/definitions", name, "$ref"), "definitions refer to each other in a circle: "
                                 + " -> ".join(seen + [target]))
                    break
                seen.append(target)
                current = definitions.get(target, {})

    def _mapping(self, value: Any, pointer: str, required: bool = False) -> dict:
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            self.problem(pointer, "is required" if value is None else f"must be a mapping, not {_kind(value)}")
            return {}
        return value

    def _base_path(self) -> str:
        base = self.doc.get("basePath") or "/"
        if not isinstance(base, str) or not base.startswith("/"):
            self.problem("/basePath", f"basePath must start with '/', got {base!r}")
            return ""
        return base.rstrip("/")

    def _operations(self) -> list[Operation]:
        operations: list[Operation] = []
        seen_ids: dict[str, str] = {}
        for path, item in self._mapping(self.doc.get("paths"), "/paths", required=True).items():
            item_pointer = pointer_join("/paths", path)
            if not path.startswith("/"):
                self.problem(item_pointer, f"path {path!r} must start with '/'")
                continue
            if re.search(r"[<>\s#?]", path):
                self.problem(item_pointer, f"path {path!r} contains a character not allowed in a path template (<, >, #, ?, space)")
                continue
            item = self._deref(self._mapping(item, item_pointer), item_pointer) or {}
            shared = item.get("parameters", [])
            for method in HTTP_METHODS:
                if method not in item:
                    continue
                op = self._operation(path, method, item[method], shared, item_pointer)
                if op is None:
                    continue
                if op.operation_id:
                    if op.operation_id in seen_ids:
                        self.problem(pointer_join(op.pointer, "operationId"),
                                     f"operationId {op.operation_id!r} is also used by {seen_ids[op.operation_id]}", op.label)
                    seen_ids[op.operation_id] = op.label
                operations.append(op)
        return operations

    def _deref(self, node: Any, pointer: str) -> Any:
        """Follow local refs on a parameter, response or path item; None if broken
        (the loader has reported a ref that does not resolve)."""
        seen = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in seen:
                self.problem(pointer_join(pointer, "$ref"), f"$ref {ref!r} refers to itself")
                return None
            seen.add(ref)
            try:
                node = resolve_pointer(self.doc, ref[1:])
            except KeyError:
                return None
        return node

    def _operation(self, path: str, method: str, raw: Any, shared: Any, item_pointer: str) -> Operation | None:
        pointer = pointer_join(item_pointer, method)
        if not isinstance(raw, dict):
            self.problem(pointer, f"an operation must be a mapping, not {_kind(raw)}")
            return None
        op_id = raw.get("operationId")
        op = Operation(
            method=method.upper(), path=path, operation_id=op_id if isinstance(op_id, str) else None, pointer=pointer,
            consumes=self._media_types(raw, "consumes", pointer), produces=self._media_types(raw, "produces", pointer),
            bindings=self._bindings(raw, pointer), summary=str(raw.get("summary") or ""),
        )
        if op_id is not None and not isinstance(op_id, str):
            self.problem(pointer_join(pointer, "operationId"), "operationId must be a string", op.label)
        self._parameters(op, (pointer_join(item_pointer, "parameters"), shared),
                         (pointer_join(pointer, "parameters"), raw.get("parameters", [])))
        self._check_path_template(op)
        op.responses = self._responses(op, raw.get("responses"))
        return op

    def _media_types(self, raw: dict, key: str, pointer: str) -> tuple[str, ...]:
        value, where = (raw[key], pointer_join(pointer, key)) if key in raw else (self.doc.get(key), "/" + key)
        if not value:
            return (JSON_MEDIA_TYPE,)
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.problem(where, f"{key} must be a list of media types, like [application/json]")
            return (JSON_MEDIA_TYPE,)
        return tuple(v.split(";")[0].strip().lower() for v in value)

    def _bindings(self, raw: dict, pointer: str) -> Bindings:
        b = Bindings(
            server=raw.get("x-bind-server"), client=raw.get("x-bind-client"),
            no_server=raw.get("x-no-bind-server") is True,
            decorate_server=raw.get("x-decorate-server"), decorate_request=raw.get("x-decorate-request"),
        )
        if not isinstance(raw.get("x-no-bind-server", False), bool):
            self.problem(pointer_join(pointer, "x-no-bind-server"), "x-no-bind-server must be true or false")
        for key, value in (("x-bind-server", b.server), ("x-bind-client", b.client),
                           ("x-decorate-server", b.decorate_server), ("x-decorate-request", b.decorate_request)):
            if value is not None and not (isinstance(value, str) and value.strip()):
                self.problem(pointer_join(pointer, key), f"{key} must be a non-empty string")
        return b

    def _parameters(self, op: Operation, *sources: tuple[str, Any]) -> None:
        """Merge path-level then operation-level parameters (the latter win)."""
        merged: dict[tuple[str, str], tuple[dict, str]] = {}
        for base, params in sources:
            if not isinstance(params, list):
                self.problem(base, "parameters must be a list", op.label)
                continue
            for i, raw in enumerate(params):
                at = pointer_join(base, i)
                param = self._deref(raw, at)
                if param is None:
                    continue
                if not isinstance(param, dict) or not isinstance(param.get("name"), str) or param.get("in") not in PARAM_LOCATIONS:
                    self.problem(at, "a parameter needs a string 'name' and 'in' one of " + ", ".join(PARAM_LOCATIONS), op.label)
                    continue
                merged[(param["name"], param["in"])] = (param, at)  # an operation's own override the path's
        for param, at in merged.values():
            self._parameter(op, param, at)
        names: dict[str, str] = {}
        for p in op.parameters:
            if p.name in names:
                self.problem(p.pointer, f"parameter {p.name!r} is declared in both {names[p.name]} and {p.location}; "
                             "handlers receive parameters by name, so names must differ", op.label)
            names[p.name] = p.location
        if op.body and op.form_parameters:
            self.problem(op.pointer, "an operation cannot have both a body and formData parameters", op.label)
        if any(p.is_file for p in op.parameters) and "multipart/form-data" not in op.consumes:
            self.problem(op.pointer, "a 'type: file' parameter needs consumes: multipart/form-data", op.label)

    def _parameter(self, op: Operation, raw: dict, at: str) -> None:
        name, location = raw["name"], raw["in"]
        required = bool(raw.get("required", False))
        if location == BODY:
            if op.body is not None:
                self.problem(at, f"a second body parameter ({name!r}); an operation has at most one", op.label)
                return
            schema = self.schemas.normalize(raw.get("schema", {}), pointer_join(at, "schema"))
            media = tuple(m for m in op.consumes if _is_json(m)) or op.consumes
            op.body = Body(name=name, schema=schema, required=required, media_types=media, pointer=at)
            return
        ptype = raw.get("type")
        if ptype not in PRIMITIVE_TYPES:
            self.problem(pointer_join(at, "type"), f"parameter {name!r} needs a type, one of " + ", ".join(PRIMITIVE_TYPES), op.label)
            return
        if ptype == "file" and location != FORM:
            self.problem(pointer_join(at, "type"), f"'type: file' is only allowed for formData, not {location}", op.label)
        if location == PATH and not required:
            self.problem(pointer_join(at, "required"), f"path parameter {name!r} must be required: true", op.label)
        collection = raw.get("collectionFormat", "csv")
        if collection not in COLLECTION_FORMATS or (collection == "multi" and location not in (QUERY, FORM)):
            self.problem(pointer_join(at, "collectionFormat"), f"invalid collectionFormat {collection!r} for {location}", op.label)
        if ptype == "array" and not isinstance(raw.get("items"), dict):
            self.problem(pointer_join(at, "items"), f"array parameter {name!r} needs 'items'", op.label)
            return
        schema = self.schemas.normalize({k: raw[k] for k in _PARAM_SCHEMA_KEYS if k in raw}, at)
        default = raw.get("default", MISSING)
        if default is not MISSING and ptype != "file":
            self._check_default(default, schema, pointer_join(at, "default"), op)
        op.parameters.append(Parameter(
            name=name, location=location, schema=schema, required=required or location == PATH,
            default=default, collection_format=collection, is_file=ptype == "file", pointer=at,
            allow_empty=raw.get("allowEmptyValue") is True,
        ))

    def _check_default(self, default: Any, schema: dict, pointer: str, op: Operation) -> None:
        if schema_problems(schema):
            return  # already reported
        validator = SchemaValidator(schema, {}, FormatRegistry())
        if not validator.is_valid(default):
            reason = "; ".join(e.message for e in validator.explain(default, "default", ""))
            self.problem(pointer, f"the default {default!r} does not match the parameter's own schema: {reason}", op.label)

    def _check_path_template(self, op: Operation) -> None:
        variables = _TEMPLATE_VAR.findall(op.path)
        for twice in sorted({v for v in variables if variables.count(v) > 1}):
            self.problem(op.pointer, f"path template variable {{{twice}}} appears more than once", op.label)
        in_template = set(variables)
        declared = {p.name for p in op.parameters if p.location == PATH}
        for missing in sorted(in_template - declared):
            self.problem(op.pointer, f"path template variable {{{missing}}} has no 'in: path' parameter", op.label)
        for extra in sorted(declared - in_template):
            self.problem(op.pointer, f"path parameter {extra!r} does not appear in the path {op.path}", op.label)

    def _responses(self, op: Operation, raw: Any) -> dict[str, ResponseSpec]:
        at = pointer_join(op.pointer, "responses")
        if not isinstance(raw, dict) or not raw:
            self.problem(at, "an operation must declare at least one response", op.label)
            return {}
        responses = {}
        for status, response in raw.items():
            where = pointer_join(at, status)
            if status.startswith("x-"):
                continue
            if not _STATUS.match(status):
                self.problem(where, f"{status!r} is not a valid response status", op.label)
                continue
            response = self._deref(response, where)
            if response is None:
                continue
            if not isinstance(response, dict):
                self.problem(where, "a response must be a mapping", op.label)
                continue
            schema = response.get("schema")
            normalized = self.schemas.normalize(schema, pointer_join(where, "schema")) if schema is not None else None
            examples = response.get("examples") if isinstance(response.get("examples"), dict) else {}
            responses[status] = ResponseSpec(status, normalized, str(response.get("description") or ""), examples)
        return responses


def _is_json(media_type: str) -> bool:
    return media_type == JSON_MEDIA_TYPE or media_type.endswith("+json")


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


def build_spec(doc: dict, source: str, problems: list[SpecProblem] | None = None) -> Spec:
    """Build the Spec of a bundled document; ``problems`` are those found while bundling."""
    return Swagger2Builder(doc, source, problems).build()


__all__ = ["build_spec", "schema_section", "FORM_MEDIA_TYPES"]
