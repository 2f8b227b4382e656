"""Values from requests, made safe for a log line.

A path, a query value or an error message quoting one arrives from outside:
with a CR or LF in it, it could forge a log line of its own; with ANSI escape
codes, repaint a terminal; and it can be megabytes long. ``loggable`` escapes
every control character (``\\n`` becomes ``\\x0a``) and cuts the text to a
bound, saying how long it was.
"""

from __future__ import annotations

#: C0 and C1 control characters, DEL, and Unicode's line and paragraph separators.
_CONTROL = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029]
_ESCAPES = {c: f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}" for c in _CONTROL}
_ESCAPES[ord("\\")] = "\\\\"  # so that an escape in the log always means one was made

#: The longest text one value may put in a log line.
MAX_LOGGED = 1024


def loggable(text: object, limit: int = MAX_LOGGED) -> str:
    """``text`` with control characters escaped, cut to ``limit`` characters."""
    value = str(text)
    if len(value) > limit:
        value = f"{value[:limit]}...({len(value)} characters)"
    return value.translate(_ESCAPES)
