"""String formats: how each is checked, and converted to and from Python.

One registry per API feeds both validators (fast and explaining) and the
converters, so a format means the same thing everywhere. User formats are
``SwaggerFormat`` tuples, the shape of bravado-core's that the original klue
took (bravado-core's own are accepted as they are).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

Check = Callable[[str], bool]
Convert = Callable[[Any], Any]

# Values arrive from outside: every pattern here runs in linear time (no
# nested or overlapping repetition), and email and hostname, whose usual
# regexes backtrack quadratically, are checked without one.
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")
_DATE_TIME = re.compile(
    "^(?:\\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)|02-(?:0[1-9]|1\\d|2[0-8]))|(?:\\d\\d(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29)(t|T)(?:[01]\\d|2[0-3]):[0-5]\\d:(?:[0-5]\\d|60)(?:\\.\\d+)?(?:[+-](?:[01]\\d|2[0-3]):[0-5]\\d|[+-](?:[01]\\d|2[0-3])[0-5]\\d|z|Z)\\Z"
)
_IPV4 = re.compile(
    "^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\Z"
)
_IPV6 = re.compile(
    "^(?:(?:[0-9A-Fa-f]{1,4}:){6}(?:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}|(?:(?:[0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])\\.){3}(?:[0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5]))|::(?:[0-9A-Fa-f]{1,4}:){5}(?:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}|(?:(?:[0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])\\.){3}(?:[0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5]))|(?:[0-9A-Fa-f]{1,4})?::(?:[0-9A-Fa-f]{1,4}:){4}(?:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}|(?:(?:[0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])\\.){3}(?:[0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5]))|(?:(?:[0-9A-Fa-f]{1,4}:){,1}[0-9A-Fa-f]{1,4})?::(?:[0-9A-Fa-f]{1,4}:){3}(?:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}|(?:(?:[0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])\\.){3}(?:[0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5]))|(?:(?:[0-9A-Fa-f]{1,4}:){,2}[0-9A-Fa-f]{1,4})?::(?:[0-9A-Fa-f]{1,4}:){2}(?:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}|(?:(?:[0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])\\.){3}(?:[0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5]))|(?:(?:[0-9A-Fa-f]{1,4}:){,3}[0-9A-Fa-f]{1,4})?::[0-9A-Fa-f]{1,4}:(?:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}|(?:(?:[0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])\\.){3}(?:[0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5]))|(?:(?:[0-9A-Fa-f]{1,4}:){,4}[0-9A-Fa-f]{1,4})?::(?:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}|(?:(?:[0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])\\.){3}(?:[0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5]))|(?:(?:[0-9A-Fa-f]{1,4}:){,5}[0-9A-Fa-f]{1,4})?::[0-9A-Fa-f]{1,4}|(?:(?:[0-9A-Fa-f]{1,4}:){,6}[0-9A-Fa-f]{1,4})?::)\\Z"
)
_URI = re.compile(r"^\w+:(\/?\/?)[^\s]+\Z")
_HOST_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")
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


def _parses(parse: Callable[[str], Any], pattern: re.Pattern[str]) -> Check:
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


def _is_email(value: str) -> bool:
    """One ``@``; a local part not starting or ending with a dot, without
    ``..``; a domain with a dot inside it."""
    local, at, domain = value.partition("@")
    return (
        bool(at)
        and "@" not in domain
        and bool(local)
        and local[0] != "."
        and local[-1] != "."
        and ".." not in local
        and "." in domain[1:-1]
    )


def _is_hostname(value: str) -> bool:
    return len(value) <= 253 and all(len(label) <= 63 and _HOST_LABEL.match(label) for label in value.split("."))


def _matches_short(pattern: re.Pattern[str], longest: int) -> Check:
    def check(value: str) -> bool:
        return len(value) <= longest and pattern.match(value) is not None

    return check


def _matches(pattern: re.Pattern[str]) -> Check:
    def check(value: str) -> bool:
        return pattern.match(value) is not None

    return check


BUILTIN_FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("date", _parses(parse_date, _DATE), parse_date, _iso),
        Format("date-time", _parses(parse_date_time, _DATE_TIME), parse_date_time, _iso),
        Format("byte", _is_base64),
        Format("uuid", _matches(_UUID), None, _uuid_to_wire),
        Format("email", _is_email),
        Format("hostname", _is_hostname),
        Format("ipv4", _matches_short(_IPV4, 15)),
        Format("ipv6", _matches_short(_IPV6, 45)),
        Format("uri", _matches(_URI)),
    )
}


class SwaggerFormat(NamedTuple):
    """A user format, as in ``ApiPool.add(formats=[...])``: ``validate`` raises
    (any exception) on an invalid string; ``to_python``/``to_wire`` convert."""

    format: str
    to_wire: Callable[[Any], Any] | None
    to_python: Callable[[Any], Any] | None
    validate: Callable[[Any], Any] | None
    description: str = ""


def _user_check(validate: Callable[[Any], Any]) -> Check:
    def check(value: str) -> bool:
        try:
            validate(value)
        except Exception:  # whatever it raises, the value is invalid
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
                raise TypeError(f"formats= takes SwaggerFormat objects (klue.SwaggerFormat), got {uf!r}")
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
