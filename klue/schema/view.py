"""What a normalised schema says: the definition a ``$ref`` names, its type.

Answered here once, for the loader, the validators, the codec and the models.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

#: Every ref of a normalised schema points here.
DEFINITIONS_REF = "#/definitions/"

#: The JSON Schema drafts normalised schemas are written in (their ``$schema``):
#: draft 4 for Swagger 2.0 and OpenAPI 3.0, 2020-12 for OpenAPI 3.1.
DRAFT4 = "http://json-schema.org/draft-04/schema#"
DRAFT2020 = "https://json-schema.org/draft/2020-12/schema"


def escape_pointer_token(token: str) -> str:
    """One JSON pointer token (RFC 6901): ``a/b`` -> ``a~1b``."""
    return str(token).replace("~", "~0").replace("/", "~1")


def unescape_pointer_token(token: str) -> str:
    """``a~1b`` (or its URL-encoded form) -> ``a/b``."""
    return unquote(token).replace("~1", "/").replace("~0", "~")


def ref_to(name: str) -> str:
    """``Pet`` -> ``#/definitions/Pet`` (escaped)."""
    return DEFINITIONS_REF + escape_pointer_token(name)


def ref_name(schema: Any) -> str | None:
    """``{"$ref": "#/definitions/Pet"}`` -> ``Pet`` (pointer escapes undone); None for anything else."""
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    if isinstance(ref, str) and ref.startswith(DEFINITIONS_REF):
        return unescape_pointer_token(ref[len(DEFINITIONS_REF) :])
    return None


def primary_type(schema: dict[str, Any]) -> str | None:
    """``"integer"`` for ``{"type": ["integer", "null"]}``."""
    kind = schema.get("type")
    if isinstance(kind, list):
        return next((t for t in kind if t != "null"), None)
    return kind if isinstance(kind, str) else None


def is_null_schema(schema: Any) -> bool:
    """``{"type": "null"}``: the null branch of a nullable union (OpenAPI 3.0's ``nullable`` becomes one)."""
    return isinstance(schema, dict) and schema.get("type") == "null"


def union_branches(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """A schema's ``oneOf`` then ``anyOf`` branches, without the null one: the shapes a non-null value can take."""
    return [b for b in [*schema.get("oneOf", ()), *schema.get("anyOf", ())] if not is_null_schema(b)]


def is_object_like(schema: dict[str, Any]) -> bool:
    """Whether values of ``schema`` are converted key by key: it has properties, an ``allOf``
    (the parts of a model), or an ``additionalProperties`` schema."""
    return "properties" in schema or "allOf" in schema or isinstance(schema.get("additionalProperties"), dict)


def resolve(schema: dict[str, Any], definitions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What a normalised schema stands for: its named schema for a ``$ref``,
    the non-null branch of a nullable wrapper (for type-driven decisions)."""
    for _ in range(32):
        name = ref_name(schema)
        if name is not None:
            schema = definitions.get(name, {})
            continue
        if set(schema) == {"anyOf"} and len(schema["anyOf"]) == 2:
            branches = union_branches(schema)
            if len(branches) == 1:
                schema = branches[0]
                continue
        break
    return schema


def collapsed_properties(
    schema: Any, definitions: dict[str, Any], _seen: frozenset[str] = frozenset()
) -> dict[str, dict[str, Any]]:
    """Properties of an object schema, those inherited through ``allOf`` (and refs) included."""
    name = ref_name(schema)
    if name is not None:
        if name in _seen:
            return {}
        return collapsed_properties(definitions.get(name, {}), definitions, _seen | {name})
    if not isinstance(schema, dict):
        return {}
    found: dict[str, dict[str, Any]] = {}
    for part in schema.get("allOf", ()):
        found.update(collapsed_properties(part, definitions, _seen))
    found.update(schema.get("properties") or {})
    return found


def collapsed_required(schema: Any, definitions: dict[str, Any], _seen: frozenset[str] = frozenset()) -> set[str]:
    """The required property names of an object schema, those required through ``allOf`` (and refs) included."""
    name = ref_name(schema)
    if name is not None:
        if name in _seen:
            return set()
        return collapsed_required(definitions.get(name, {}), definitions, _seen | {name})
    if not isinstance(schema, dict):
        return set()
    found: set[str] = set()
    for part in schema.get("allOf", ()):
        found |= collapsed_required(part, definitions, _seen)
    required = schema.get("required")
    if isinstance(required, list):
        found.update(r for r in required if isinstance(r, str))
    return found
