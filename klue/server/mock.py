"""Mock responses: answer operations before their handlers exist.

``spawn_api(app, mock="missing")`` answers the operations that have no
``x-bind-server``; ``mock="all"`` answers every one. The answer is the success
response's example when the spec has one (``examples`` of the response, or
``example`` of its schema), otherwise a value generated from the schema that
validates against it. Values are computed once, at spawn, so the same spec
always gives the same answers; requests are validated as usual.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..schema.validation import matches_pattern
from ..schema.view import primary_type, ref_name, union_branches
from ..spec.interface import Operation

try:  # the regular-expression parser behind `re`; renamed in Python 3.11
    import re._parser as _sre_parse  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse as _sre_parse

if TYPE_CHECKING:
    from ..schema.compiler import SchemaCompiler

log = logging.getLogger("klue.server")

MOCK_MODES = ("missing", "all")
MAX_DEPTH = 4  # below this, optional properties and array items are left out
GIVE_UP_DEPTH = 32
_FORMAT_SAMPLES = {
    "date": "2024-01-31",
    "date-time": "2024-01-31T12:00:00+00:00",
    "email": "user@example.com",
    "uuid": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "uri": "https://example.com/",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "byte": "a2x1ZQ==",
    "password": "secret",
}


class ExampleGenerator:
    """Deterministic example values for the schemas of one spec."""

    def __init__(self, definitions: dict[str, dict[str, Any]], use_examples: bool = True) -> None:
        self.definitions = definitions
        self.use_examples = use_examples  # off when the spec's own examples are invalid

    def generate(self, schema: Any, depth: int = 0) -> Any:
        if not isinstance(schema, dict) or depth > GIVE_UP_DEPTH:  # e.g. a schema with no finite instance
            return None
        if "example" in schema and self.use_examples:
            return schema["example"]
        name = ref_name(schema)
        if name is not None:
            return self.generate(self.definitions.get(name, {}), depth + 1)
        if schema.get("enum"):
            return next((v for v in schema["enum"] if v is not None), schema["enum"][0])
        if "default" in schema:
            return schema["default"]
        if "allOf" in schema:
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                value = self.generate(part, depth)
                if isinstance(value, dict):
                    merged.update(value)
            return merged
        branches = union_branches(schema)
        if branches:
            return self.generate(branches[0], depth)
        return self._by_type(schema, primary_type(schema), depth)

    def _by_type(self, schema: dict[str, Any], kind: str | None, depth: int) -> Any:
        if kind == "object" or (kind is None and "properties" in schema):
            return self._object(schema, depth)
        if kind == "array":
            count = max(schema.get("minItems", 0), 1 if depth < MAX_DEPTH else 0)
            return [self.generate(schema.get("items", {}), depth + 1) for _ in range(count)]
        if kind == "string":
            return _string(schema)
        if kind in ("integer", "number"):
            return _number(schema, kind)
        if kind == "boolean":
            return True
        return None

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        required = set(schema.get("required") or ())
        return {
            prop: self.generate(sub, depth + 1)
            for prop, sub in (schema.get("properties") or {}).items()
            if prop in required or depth < MAX_DEPTH
        }


def _string(schema: dict[str, Any]) -> str:
    text = _FORMAT_SAMPLES.get(schema.get("format", ""), "string")
    pattern = schema.get("pattern")
    if pattern:
        text = sample_matching(pattern) or text
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    if len(text) < low:
        text += (text[-1:] or "x") * (low - len(text))
    if high is not None and len(text) > high:
        text = text[:high]
    return text


def _number(schema: dict[str, Any], kind: str) -> int | float:
    low, high = schema.get("minimum"), schema.get("maximum")
    step = schema.get("multipleOf") or 1
    value: float = 1 if low is None else low
    if high is not None and value > high:
        value = high
    if schema.get("exclusiveMinimum") is True and low is not None and value <= low:
        value = low + step
    if schema.get("exclusiveMaximum") is True and high is not None and value >= high:
        value = high - step
    if step and value % step:
        value = (value // step + 1) * step
    return int(value) if kind == "integer" else float(value)


def sample_matching(pattern: str) -> str | None:
    """A short string that ``pattern`` accepts, or None. ``sre_parse`` only
    reads the pattern; the match is the validating engine's (linear time)."""
    try:
        text = _from_tokens(_sre_parse.parse(pattern))
    except (re.error, ValueError, TypeError, RecursionError):
        return None
    return text if matches_pattern(pattern, text) else None


def _from_tokens(tokens: Any) -> str:
    out = []
    for op, arg in tokens:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "NOT_LITERAL":
            out.append("a" if chr(arg) != "a" else "b")
        elif name == "ANY":
            out.append("a")
        elif name == "IN":
            out.append(_from_class(arg))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, _high, sub = arg
            out.append(_from_tokens(sub) * low)
        elif name == "SUBPATTERN":
            out.append(_from_tokens(arg[-1]))
        elif name == "BRANCH":
            out.append(_from_tokens(arg[1][0]))
        elif name == "ATOMIC_GROUP":
            out.append(_from_tokens(arg))
        # AT (anchors), ASSERT and the like add no characters
    return "".join(out)


def _from_class(items: Any) -> str:
    negate = any(str(op) == "NEGATE" for op, _ in items)
    if negate:
        excluded = {chr(a) for op, a in items if str(op) == "LITERAL"}
        return next(c for c in "aZ0_-" if c not in excluded)
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            return chr(arg)
        if name == "RANGE":
            return chr(arg[0])
        if name == "CATEGORY":
            return {"CATEGORY_DIGIT": "0", "CATEGORY_SPACE": " ", "CATEGORY_WORD": "a"}.get(str(arg), "a")
    return "a"


def mock_handler(op: Operation, schemas: SchemaCompiler, api_name: str) -> Callable[..., Any]:
    """A handler answering ``op`` (of API ``api_name``) with its success response's example."""
    status = op.success_status
    response = op.response_for(status)
    if response is None or response.schema is None:
        value = None
    elif response.examples.get("application/json") is not None:
        value = response.examples["application/json"]
    else:
        valid = schemas.validator(response.schema).is_valid
        value = ExampleGenerator(schemas.definitions).generate(response.schema)
        if not valid(value):  # some spec's examples break their own schemas
            value = ExampleGenerator(schemas.definitions, use_examples=False).generate(response.schema)
        if not valid(value):
            log.warning("API '%s' %s: the generated mock response does not match its schema", api_name, op.label)

    def mock(*_args: Any, **_kwargs: Any) -> Any:
        return value, status

    mock.__name__ = f"mock_{op.operation_id or op.method.lower()}"
    return mock
