"""Why a value was rejected, in one short sentence per problem.

Messages are built from jsonschema-rs' error kinds, in jsonschema's familiar
words (``5 is not of type 'string'``), and never quote more than a short
prefix of the value: error bodies go back to clients and into logs, and a
9 MB string against ``maxLength: 64`` must not come back as 9 MB.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

#: A quoted value is cut to this many characters (its length is then given).
MAX_QUOTED = 40
#: At most this many names are listed (unexpected properties, enum options).
MAX_LISTED = 5

READ_ONLY_MARK = "x-klue-read-only"


def quote(value: Any) -> str:
    """A value as an error message shows it: short, on one line."""
    if isinstance(value, dict):
        return "the object"
    if isinstance(value, list):
        return "the array"
    if isinstance(value, str):
        if len(value) <= MAX_QUOTED:
            return repr(value)
        return f"{value[:MAX_QUOTED]!r}... ({len(value)} characters)"
    text = json.dumps(value) if isinstance(value, (bool, type(None))) else repr(value)
    return text if len(text) <= MAX_QUOTED else text[:MAX_QUOTED] + f"... ({len(text)} characters)"


#: A field's name (its path in the value) is cut to this many characters.
MAX_FIELD_NAME = 120


def field_name(path: str) -> str:
    """A field's path as an error names it: a 1 MB key must not make a 1 MB error."""
    return path if len(path) <= MAX_FIELD_NAME else f"{path[:MAX_FIELD_NAME]}... ({len(path)} characters)"


def listing(names: Iterable[Any]) -> str:
    """``'a', 'b' and 3 more``: at most ``MAX_LISTED`` quoted names."""
    names = list(names)
    shown = ", ".join(quote(n) for n in names[:MAX_LISTED])
    return shown + (f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else "")


def _types(kind: Any) -> dict[str, str]:
    return {"types": listing(kind.types)}


def _additional_properties(kind: Any) -> dict[str, str]:
    names = kind.unexpected
    return {"names": listing(names), "verb": "is" if len(names) == 1 else "are"}


def _enum(kind: Any) -> dict[str, str]:
    return {"options": listing(kind.options)}


def _limit(kind: Any) -> dict[str, str]:
    return {"limit": str(kind.limit)}


def _pattern(kind: Any) -> dict[str, str]:
    return {"pattern": quote(kind.pattern)}


def _property(kind: Any) -> dict[str, str]:
    return {"property": quote(kind.property)}


def _multiple(kind: Any) -> dict[str, str]:
    return {"multiple": str(kind.multiple_of)}


def _format(kind: Any) -> dict[str, str]:
    return {"format": str(kind.format)}


def _nothing(kind: Any) -> dict[str, str]:
    return {}


# error kind -> (its message, with {value} the quoted value; what fills the rest)
_MESSAGES: dict[str, tuple[str, Callable[[Any], dict[str, str]]]] = {
    "Type": ("{value} is not of type {types}", _types),
    "Required": ("{property} is a required property", _property),
    "AdditionalProperties": (
        "Additional properties are not allowed ({names} {verb} not allowed)",
        _additional_properties,
    ),
    "Enum": ("{value} is not one of [{options}]", _enum),
    "Constant": ("{value} is not the one allowed value", _nothing),
    "Pattern": ("{value} does not match {pattern}", _pattern),
    "BacktrackLimitExceeded": ("{value} is too complex to match against the pattern", _nothing),
    "RegexEngineFailure": ("{value} could not be matched against the pattern", _nothing),
    "MaxLength": ("{value} is too long", _nothing),
    "MinLength": ("{value} is too short", _nothing),
    "Minimum": ("{value} is less than the minimum of {limit}", _limit),
    "Maximum": ("{value} is greater than the maximum of {limit}", _limit),
    "ExclusiveMinimum": ("{value} is less than or equal to the minimum of {limit}", _limit),
    "ExclusiveMaximum": ("{value} is greater than or equal to the maximum of {limit}", _limit),
    "MultipleOf": ("{value} is not a multiple of {multiple}", _multiple),
    "MinItems": ("the array is too short (at least {limit} items)", _limit),
    "MaxItems": ("the array is too long (at most {limit} items)", _limit),
    "UniqueItems": ("the array has non-unique elements", _nothing),
    "AdditionalItems": ("Additional items are not allowed", _nothing),
    "MinProperties": ("the object has too few properties (at least {limit})", _limit),
    "MaxProperties": ("the object has too many properties (at most {limit})", _limit),
    "Format": ("{value} is not a valid {format}", _format),
    "AnyOf": ("{value} is not valid under any of the given schemas", _nothing),
    "OneOfNotValid": ("{value} is not valid under any of the given schemas", _nothing),
    "OneOfMultipleValid": ("{value} is valid under more than one of the given schemas", _nothing),
    "Not": ("{value} is not allowed here", _nothing),
    "FalseSchema": ("{value} is not allowed here", _nothing),
    "UnevaluatedProperties": (
        "Unevaluated properties are not allowed ({names} {verb} not allowed)",
        _additional_properties,
    ),
    "UnevaluatedItems": ("Unevaluated items are not allowed ({names} {verb} not allowed)", _additional_properties),
}

#: ``contains`` fails in three ways, told apart by the failed keyword.
_CONTAINS = {
    "contains": "the array has no item valid under 'contains'",
    "minContains": "the array has fewer than {limit} items valid under 'contains'",
    "maxContains": "the array has more than {limit} items valid under 'contains'",
}


def describe(kind: Any, value: Any, schema: Any, keyword: str = "") -> str:
    """The sentence for one jsonschema-rs error ``kind`` about ``value``,
    where ``schema`` is the (sub)schema holding the failed ``keyword``."""
    schema = schema if isinstance(schema, dict) else {}
    name = type(kind).__name__
    if name == "Not" and schema.get(READ_ONLY_MARK):
        return "is read-only: the server sets it, a request cannot"
    if schema.get("format") == "password" or schema.get("writeOnly") is True:
        return f"the value (not shown) fails '{keyword}: {quote(schema.get(keyword))}'"
    if name == "Contains" and keyword in _CONTAINS:
        return _CONTAINS[keyword].format(limit=schema.get(keyword))
    template, fill = _MESSAGES.get(name, ("{value} is invalid", _nothing))
    return template.format(value=quote(value), **fill(kind))
