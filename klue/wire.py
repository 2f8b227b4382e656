"""JSON on the wire, read and written the same way by server and client.

Reading is strict: no ``NaN``/``Infinity``, no number too large for a float,
and integral numbers such as ``2.0`` are integers (JSON has one number type;
JSON Schema says so since draft 6), so validators and handlers agree on types.
"""
from __future__ import annotations

import json
from typing import Any

_INFINITY = float("inf")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _parse_float(text: str) -> int | float:
    value = float(text)
    if value in (_INFINITY, -_INFINITY):
        raise ValueError(f"number {text[:20]}{'...' if len(text) > 20 else ''} is too large")
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _parse_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:  # over sys.get_int_max_str_digits()
        raise ValueError(f"integer of {len(text)} digits is too large") from None


def loads_json(data: bytes | str) -> Any:
    """Parse a request or response body; ValueError (or RecursionError) if it is not strict JSON."""
    return json.loads(data, parse_constant=_reject_constant, parse_float=_parse_float, parse_int=_parse_int)


def dump_json(value: Any) -> bytes:
    """Compact UTF-8 JSON; ValueError for NaN or infinity, TypeError for what JSON cannot hold."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def is_json_media_type(mimetype: str) -> bool:
    return mimetype == "application/json" or mimetype.endswith("+json")
