"""String formats: how each is checked, and converted to and from Python.

One registry per API feeds both validators (fast and explaining) and the
converters, so a format means the same thing everywhere. User formats are
bravado-core ``SwaggerFormat`` tuples, as in the original klue.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from fastjsonschema.draft04 import CodeGeneratorDraft04

Check = Callable[[str], bool]
Convert = Callable[[Any], Any]

_FAST_REGEXES = CodeGeneratorDraft04.FORMAT_REGEXS
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")
_DATE_TIME = re.compile(_FAST_REGEXES["date-time"])
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
_BASE64 = re.compile(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?\Z")
_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_date(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def parse_date_time(value: str) -> dt.datetime:
    text = value.upper()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    if "." in text:  # Python reads at most 6 fraction digits; re.sub costs as much as the rest
        text = _FRACTION.sub(r"\1", text)
    return dt.datetime.fromisoformat(text)


def _parses(parse: Callable[[str], Any], pattern: re.Pattern) -> Check:
    def check(value: str) -> bool:
        if not pattern.match(value):
            return False
        try:
            parse(value)
        except ValueError:
            return False
        return True

    return check


def _is_base64(value: str) -> bool:
    if not _BASE64.match(value):
        return False
    try:
        base64.b64decode(value, validate=True)
    except binascii.Error:  # pragma: no cover - the regex already rejects these
        return False
    return True


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def _uuid_to_wire(value: Any) -> Any:
    return str(value) if isinstance(value, uuid.UUID) else value


@dataclass(frozen=True)
class Format:
    name: str
    check: Check | None = None
    to_python: Convert | None = None
    to_wire: Convert | None = None


def _regex_check(name: str) -> Check:
    pattern = re.compile(_FAST_REGEXES[name])
    return lambda value: pattern.match(value) is not None


BUILTIN_FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("date", _parses(parse_date, _DATE), parse_date, _iso),
        Format("date-time", _parses(parse_date_time, _DATE_TIME), parse_date_time, _iso),
        Format("byte", _is_base64),
        Format("uuid", lambda v: _UUID.match(v) is not None, None, _uuid_to_wire),
        *(Format(name, _regex_check(name)) for name in ("email", "hostname", "ipv4", "ipv6", "uri")),
    )
}


def _user_check(validate: Callable[[Any], Any]) -> Check:
    def check(value: str) -> bool:
        try:
            validate(value)
        except Exception:  # bravado formats raise SwaggerValidationError; any error means invalid
            return False
        return True

    return check


class FormatRegistry:
    """The formats one API knows: the built-ins plus the user's."""

    def __init__(self, user_formats: Iterable[Any] = ()) -> None:
        self.formats = dict(BUILTIN_FORMATS)
        for uf in user_formats or ():
            name = getattr(uf, "format", None)
            if not isinstance(name, str):
                raise TypeError(f"formats= takes bravado_core.formatter.SwaggerFormat objects, got {uf!r}")
            self.formats[name] = Format(
                name,
                _user_check(uf.validate) if getattr(uf, "validate", None) else None,
                getattr(uf, "to_python", None),
                getattr(uf, "to_wire", None),
            )

    def checks(self) -> dict[str, Check]:
        return {name: f.check for name, f in self.formats.items() if f.check}

    def wire_text_is_final(self) -> bool:
        """True when every format leaves a string as it is on the way out (the
        built-ins do; a user's ``to_wire`` may not), so a body that already
        validates as JSON needs no encoding."""
        return all(f.to_wire is None or BUILTIN_FORMATS.get(name) == f for name, f in self.formats.items())

    def to_python(self, name: str | None) -> Convert | None:
        f = self.formats.get(name) if name else None
        return f.to_python if f else None

    def to_wire(self, name: str | None) -> Convert | None:
        f = self.formats.get(name) if name else None
        return f.to_wire if f else None
