"""Schemas of any spec version -> JSON Schema with ``#/definitions`` refs.

Swagger 2.0 and OpenAPI 3.0 schemas become draft 4; OpenAPI 3.1's stay JSON
Schema 2020-12, keeping its meaning (``if``/``then``/``else``,
``unevaluatedProperties``, ``prefixItems``, numeric ``exclusiveMinimum``...),
and are validated as 2020-12. What differs between versions is described by
a ``Dialect``: where named schemas live, how null is allowed
(``x-nullable``, ``nullable``, or type arrays), which draft schemas are in.
"""

from __future__ import annotations

import difflib
import json
import logging
from dataclasses import dataclass
from typing import Any

from ..exceptions import SpecProblem
from ..schema.messages import MAX_QUOTED, quote
from ..schema.validation import default_problems, schema_problems
from ..schema.view import DEFINITIONS_REF, DRAFT4, DRAFT2020
from .loader import pointer_join, resolve_pointer, resolve_ref

log = logging.getLogger("klue.spec")

SCHEMA_TYPES = ("string", "number", "integer", "boolean", "array", "object", "null")
_INT_BOUNDS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "definitions", "$defs")
#: 2020-12's keywords holding one schema (a mapping or a boolean) and those holding a map of them.
_SUBSCHEMAS_2020 = (
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "additionalItems",
)
_SUBSCHEMA_MAPS_2020 = ("dependentSchemas",)
#: Keywords that see what sibling keywords evaluated, ``$ref`` included: kept beside the ``allOf``
#: a ``$ref`` with siblings becomes, where they still see into both.
_UNEVALUATED = ("unevaluatedProperties", "unevaluatedItems")
#: Siblings of a 3.1 ``$ref`` that stay beside the ``allOf`` it becomes.
_BESIDE_REF = (*_UNEVALUATED, "$defs")


@dataclass(frozen=True)
class Dialect:
    """How one spec version writes schemas."""

    name: str
    schemas_ref: str  # "#/definitions/" or "#/components/schemas/"
    nullable_key: str | None  # "x-nullable", "nullable", or None (3.1: type arrays)
    file_type: bool = False  # Swagger 2.0's "type: file"
    json_schema_2020: bool = False  # OpenAPI 3.1

    @property
    def draft(self) -> str:
        """The ``$schema`` normalised schemas are written in, and validated as."""
        return DRAFT2020 if self.json_schema_2020 else DRAFT4


SWAGGER2 = Dialect("Swagger 2.0", "#/definitions/", "x-nullable", file_type=True)
OPENAPI30 = Dialect("OpenAPI 3.0", "#/components/schemas/", "nullable")
OPENAPI31 = Dialect("OpenAPI 3.1", "#/components/schemas/", None, json_schema_2020=True)


class SchemaNormalizer:
    """Normalises the schemas of one document, recording problems with their pointers."""

    def __init__(self, doc: dict[str, Any], problems: list[SpecProblem], source: str, dialect: Dialect) -> None:
        self.doc = doc
        self.problems = problems
        self.source = source
        self.dialect = dialect
        #: (pointer of the ref, the ref it became) for each recursive ref into a component's
        #: ``$defs``: it points into the normalised definitions (``check_deep_refs``).
        self.deep_refs: list[tuple[str, str]] = []

    def problem(self, pointer: str, reason: str) -> None:
        self.problems.append(SpecProblem(self.source, pointer, reason))

    def normalize(self, schema: Any, pointer: str) -> dict[str, Any]:
        """The normalised form of ``schema``; its problems are recorded under ``pointer``."""
        out = self._normalize(schema, pointer)
        for path, reason in schema_problems(out, self.dialect.draft):
            self.problem(pointer_join(pointer, *path), reason)
        return out

    def check_deep_refs(self, definitions: dict[str, Any]) -> None:
        """Each recursive ref into a component's ``$defs`` must find its target in the normalised
        definitions (it does unless normalising moved it, e.g. under a ``$ref``'s siblings)."""
        for pointer, ref in self.deep_refs:
            followed = [ref]
            try:
                target = resolve_pointer(definitions, ref[len(DEFINITIONS_REF) - 1 :])
                while set(target) == {"$ref"} and target["$ref"].startswith(DEFINITIONS_REF):  # an alias
                    if target["$ref"] in followed:
                        self.problem(pointer, f"$ref {ref!r} refers to itself")
                        break
                    followed.append(target["$ref"])
                    target = resolve_pointer(definitions, target["$ref"][len(DEFINITIONS_REF) - 1 :])
            except KeyError:
                self.problem(pointer, f"$ref {ref!r} is recursive through a place klue cannot point at")

    def local_ref(self, ref: str) -> str | None:
        """``#/components/schemas/Pet`` -> ``#/definitions/Pet``; None if not a named schema."""
        prefix = self.dialect.schemas_ref
        if ref.startswith(prefix) and "/" not in ref[len(prefix) :]:
            return DEFINITIONS_REF + ref[len(prefix) :]
        return None

    def _normalize(self, schema: Any, pointer: str, _seen: frozenset[str] = frozenset()) -> dict[str, Any]:
        if isinstance(schema, bool) and self.dialect.json_schema_2020:
            return {} if schema else {"not": {}}
        if not isinstance(schema, dict):
            self.problem(pointer, f"a schema must be a mapping, not {kind_of(schema)}")
            return {}
        if "$ref" in schema:
            ref_out = self._ref(schema, pointer, _seen)
            rest = {
                k: v
                for k, v in schema.items()
                if k != "$ref"
                and not k.startswith("x-")
                and k not in ("description", "summary", "title", "nullable", "example", "examples")
            }
            if rest and self.dialect.json_schema_2020:  # 3.1: keywords beside $ref apply too
                # unevaluated* stay beside the allOf: there they see what the $ref evaluated.
                # $defs too: recursive refs point at it where it was written.
                beside = {k: rest.pop(k) for k in _BESIDE_REF if k in rest}
                parts = [ref_out, self._normalize(rest, pointer, _seen)] if rest else [ref_out]
                both: dict[str, Any] = {"allOf": parts}
                for key, value in beside.items():
                    self._keyword(both, key, value, pointer_join(pointer, key), _seen)
                return both
            return ref_out
        out: dict[str, Any] = {}
        for key, value in schema.items():
            self._keyword(out, key, value, pointer_join(pointer, key), _seen)
        out = self._finish(out, schema)
        if "default" in out:
            out["default"] = self.check_default(out["default"], out, pointer_join(pointer, "default"))
        return out

    def check_default(self, default: Any, schema: dict[str, Any], pointer: str) -> Any:
        """A default must be a value of its schema: it is what handlers get when the field is left out.

        Returns the default to use. Two leniencies, for specs as they are written (GitHub's has
        both): YAML reads ``default: true`` of a string as a boolean, so a scalar that is valid as
        its JSON text (``'true'``) becomes that string, as the loader turns YAML's int keys back
        into strings; and a default that breaks only a format klue checks but does not convert
        (``''`` for a URI, meaning none) is a warning: formats are annotations JSON Schema lets
        validators leave unchecked, and nothing fails on it (a bad ``date`` default would fail
        its conversion: an error)."""
        draft = self.dialect.draft
        reason = default_problems(default, schema, draft=draft)
        if not reason:
            return default
        if isinstance(default, (bool, int, float)) and "string" in _types_of(schema):
            text = json.dumps(default)
            if not default_problems(text, schema, draft=draft):
                return text
        shown = "" if isinstance(default, (dict, list)) else f" {quote(default)}"  # quote says "the array"
        message = f"the default{shown} does not match its own schema: {reason}"
        if default_problems(default, schema, checked_only_formats=False, draft=draft):
            self.problem(pointer, message)
        else:
            log.warning(
                "%s: at %s: %s (a warning, not an error: only a format is broken, one klue does not convert)",
                self.source,
                pointer,
                message,
            )
        return default

    def _keyword(self, out: dict[str, Any], key: str, value: Any, at: str, seen: frozenset[str]) -> None:
        sub = self._normalize
        if self.dialect.json_schema_2020 and self._keyword_2020(out, key, value, at, seen):
            return
        if key in _SUBSCHEMA_MAPS and isinstance(value, dict):
            keep = key != "$defs" or self.dialect.json_schema_2020  # 3.1's are pointed into (deep refs)
            out[key if keep else "definitions"] = {n: sub(s, pointer_join(at, n), seen) for n, s in value.items()}
        elif key == "items" and isinstance(value, list):
            out[key] = [sub(s, pointer_join(at, i), seen) for i, s in enumerate(value)]
        elif key == "prefixItems" and isinstance(value, list):  # 3.1 tuples are draft 4's list of items
            out["items"] = [sub(s, pointer_join(at, i), seen) for i, s in enumerate(value)]
        elif key in ("items", "additionalProperties", "not") and isinstance(value, (dict, bool)):
            out[key] = sub(value, at, seen) if isinstance(value, dict) or key != "additionalProperties" else value
        elif key in ("allOf", "anyOf", "oneOf"):
            if isinstance(value, list):
                out[key] = [sub(s, pointer_join(at, i), seen) for i, s in enumerate(value)]
            else:
                self.problem(at, "must be a list of schemas")
        elif key == "required" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            self.problem(at, "'required' in a schema must be a list of property names")
        elif key == "type":
            self._type(out, value, at)
        elif key == "discriminator" and isinstance(value, dict):
            out[key] = self._discriminator(value)
        elif key == "const" and self.dialect.json_schema_2020:
            out["enum"] = [value]
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            bound = "minimum" if key == "exclusiveMinimum" else "maximum"  # 2020-12's numeric form
            out[bound], out[key] = value, True
        elif key.startswith("x-"):
            pass  # extensions mean nothing to validation, and may hold refs into other sections
        elif key not in ("xml", "externalDocs", "$schema", "$id", "$comment"):
            out[key] = value  # "example" stays: mock mode answers with it

    def _keyword_2020(self, out: dict[str, Any], key: str, value: Any, at: str, seen: frozenset[str]) -> bool:
        """2020-12's own keywords, kept as they are (their subschemas normalised); False for the others."""
        if key in _SUBSCHEMAS_2020 and isinstance(value, (dict, bool)):
            out[key] = value if isinstance(value, bool) else self._normalize(value, at, seen)
        elif key in _SUBSCHEMA_MAPS_2020 and isinstance(value, dict):
            out[key] = {n: self._normalize(s, pointer_join(at, n), seen) for n, s in value.items()}
        elif key == "prefixItems" and isinstance(value, list):
            out[key] = [self._normalize(s, pointer_join(at, i), seen) for i, s in enumerate(value)]
        elif key in ("exclusiveMinimum", "exclusiveMaximum"):
            out[key] = value  # a number, as 2020-12 writes it (a boolean is a problem its metaschema finds)
        elif key == "enum":
            if value == []:
                log.warning("%s: at %s: 'enum: []' allows no value at all: surely a mistake", self.source, at)
            out[key] = value
        else:
            return False
        return True

    def _type(self, out: dict[str, Any], value: Any, at: str) -> None:
        types = value if isinstance(value, list) else [value]
        allowed = SCHEMA_TYPES + (("file",) if self.dialect.file_type else ())
        wrong = [t for t in types if isinstance(t, (dict, list)) or t not in allowed]
        if wrong or not types:
            self.problem(at, not_a_type(wrong[0] if wrong else value, allowed))
        elif value != "file":
            out["type"] = value

    def _discriminator(self, value: dict[str, Any]) -> dict[str, Any]:
        mapping = value.get("mapping")
        if not isinstance(mapping, dict):
            return value
        return {
            **value,
            "mapping": {
                k: self.local_ref(v) or (DEFINITIONS_REF + v if "/" not in str(v) else v) for k, v in mapping.items()
            },
        }

    def _finish(self, out: dict[str, Any], original: dict[str, Any]) -> dict[str, Any]:
        if out.get("type") == "integer" and original.get("format") in _INT_BOUNDS:
            low, high = _INT_BOUNDS[original["format"]]
            out.setdefault("minimum", low)
            out.setdefault("maximum", high)
        key = self.dialect.nullable_key
        if key and original.get(key) is True:
            out.pop(key, None)
            return allow_null(out)
        return out

    def _ref(self, schema: dict[str, Any], pointer: str, seen: frozenset[str]) -> dict[str, Any]:
        ref = schema["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#"):
            self.problem(pointer_join(pointer, "$ref"), f"unresolvable $ref {ref!r}")
            return {}
        local = self.local_ref(ref)
        if local is not None:
            out: dict[str, Any] = {"$ref": local}
        else:  # a ref into parameters/responses/$defs...: inline what it points at
            found = resolve_ref(self.doc, ref[1:], pointer)
            if found is None or (found[1] != ref[1:] and not self.dialect.json_schema_2020):
                self.problem(pointer_join(pointer, "$ref"), f"$ref {ref!r} does not resolve")
                return {}
            target, where = found
            if where in seen:
                return self._recursive_ref(ref, where, pointer)
            out = self._normalize(target, where, seen | {where})
        key = self.dialect.nullable_key
        if key == "x-nullable" and schema.get(key) is True:  # Swagger 2.0's nullable refs
            return {"anyOf": [out, {"type": "null"}]}
        return out

    def _recursive_ref(self, ref: str, where: str, pointer: str) -> dict[str, Any]:
        """A ref met again while inlining it: in 3.1, one into a component's ``$defs`` points there in
        the normalised definitions (``#/definitions/Tree/$defs/Node``: validated, left unconverted);
        any other is a problem."""
        named = self.dialect.schemas_ref[1:]
        if self.dialect.json_schema_2020 and where.startswith(named) and "/$defs/" in where[len(named) :]:
            deep = DEFINITIONS_REF + where[len(named) :]
            self.deep_refs.append((pointer_join(pointer, "$ref"), deep))
            return {"$ref": deep}
        self.problem(pointer, f"$ref {ref!r} refers to itself")
        return {}


def allow_null(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` that also accepts null."""
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
    elif isinstance(kind, list):
        if "null" not in kind:
            schema["type"] = [*kind, "null"]
    else:
        return {"anyOf": [schema, {"type": "null"}]}
    if isinstance(schema.get("enum"), list) and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    return schema


#: What people write for a type, from other languages.
_TYPE_ALIASES = {
    "int": "integer",
    "long": "integer",
    "float": "number",
    "double": "number",
    "decimal": "number",
    "bool": "boolean",
    "str": "string",
    "text": "string",
    "list": "array",
    "dict": "object",
    "map": "object",
}


def not_a_type(value: Any, allowed: tuple[str, ...]) -> str:
    """``type 'int' is not one of: array, boolean, integer, number, string (did you mean 'integer'?)``."""
    choices = ", ".join(sorted(allowed))
    if not isinstance(value, str):
        return f"type must be one of: {choices}, not {quote(value)}"
    message = f"type {quote(value)} is not one of: {choices}"
    if len(value) <= MAX_QUOTED:  # difflib is quadratic: short words only
        guess = _TYPE_ALIASES.get(value.lower())
        if guess not in allowed:
            close = difflib.get_close_matches(value.lower(), allowed, n=1)
            guess = close[0] if close else None
        if guess:
            message += f" (did you mean {guess!r}?)"
    return message


def _types_of(schema: dict[str, Any]) -> list[Any]:
    kind = schema.get("type")
    return kind if isinstance(kind, list) else [kind]


def kind_of(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__
