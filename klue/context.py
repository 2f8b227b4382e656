"""Call ID and call path: tracing one user action across services.

A server reads ``KlueCallerID``/``KlueCallerPath`` from the request (the
legacy ``KlueCallID``/``KlueCallPath`` too), generates a uuid4 ID when none
came in, and appends its own API name to the path. Handlers read them from
``flask.g.call_id``/``flask.g.call_path`` or through ``get_call_id()`` and
``get_call_path()``; the client sends them on to the next service.

``get_principal()`` is who the request was authenticated as (``klue.server.security``).
"""

from __future__ import annotations

import re
import sys
import uuid
from collections.abc import Mapping
from typing import Any

CALLER_ID_HEADER = "KlueCallerID"
CALLER_PATH_HEADER = "KlueCallerPath"
LEGACY_ID_HEADER = "KlueCallID"
LEGACY_PATH_HEADER = "KlueCallPath"

# Incoming values are echoed in logs and headers: accept only tame ones.
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}\Z")
_VALID_PATH = re.compile(r"^[A-Za-z0-9_-]{1,64}(?:\.[A-Za-z0-9_-]{1,64}){0,63}\Z")
#: A call path keeps at most its last hops within these bounds (the hops nearest this service).
MAX_CALL_PATH_HOPS = 16
MAX_CALL_PATH_LENGTH = 512
#: 64 hops of 64 characters and their dots: a longer header cannot match, so it is not even matched.
_MAX_INCOMING_PATH = 64 * 65


def new_call_id() -> str:
    """A random (version 4) UUID as a string."""
    return str(uuid.uuid4())


def _app_globals() -> Any:
    """``flask.g`` inside an app context, else None. Client-only programs never
    import Flask, and without Flask imported there can be no app context."""
    flask = sys.modules.get("flask")
    if flask is None or not flask.has_app_context():
        return None
    return flask.g


# The headers as WSGI names them: environ lookups are far cheaper than Headers.get.
_ENVIRON_ID = ("HTTP_" + CALLER_ID_HEADER.upper(), "HTTP_" + LEGACY_ID_HEADER.upper())
_ENVIRON_PATH = ("HTTP_" + CALLER_PATH_HEADER.upper(), "HTTP_" + LEGACY_PATH_HEADER.upper())


def open_call(api_name: str, environ: Mapping[str, str]) -> tuple[str, str]:
    """Set ``g.call_id`` and ``g.call_path`` for the request being served (from its WSGI environ)."""
    call_id = environ.get(_ENVIRON_ID[0]) or environ.get(_ENVIRON_ID[1])
    if not call_id or not _VALID_ID.match(call_id):
        call_id = new_call_id()
    incoming = environ.get(_ENVIRON_PATH[0]) or environ.get(_ENVIRON_PATH[1])
    if incoming and len(incoming) <= _MAX_INCOMING_PATH and _VALID_PATH.match(incoming):
        call_path = _bounded_path(f"{incoming}.{api_name}")
    else:
        call_path = api_name
    request_globals = sys.modules["flask"].g._get_current_object()  # a server: Flask is imported
    request_globals.call_id = call_id
    request_globals.call_path = call_path
    request_globals.principal = None  # until the operation's security says who it is
    request_globals.principals = {}
    return call_id, call_path


def _bounded_path(path: str) -> str:
    """The last hops of ``path`` within ``MAX_CALL_PATH_HOPS`` and ``MAX_CALL_PATH_LENGTH``."""
    if len(path) <= MAX_CALL_PATH_LENGTH and path.count(".") < MAX_CALL_PATH_HOPS:
        return path
    hops = path.split(".")[-MAX_CALL_PATH_HOPS:]
    while len(hops) > 1 and len(".".join(hops)) > MAX_CALL_PATH_LENGTH:
        hops.pop(0)
    return ".".join(hops)


def get_call_id() -> str | None:
    """The call ID of the request being served, or None outside a request."""
    g = _app_globals()
    return g.get("call_id") if g is not None else None


def call_id_for_outgoing() -> str:
    """The call ID a client call should carry: the current request's, or a new
    one. Inside a request of a plain Flask app (no klue route), the new ID is
    kept in ``g`` so every call made for that request shares it."""
    g = _app_globals()
    if g is None:
        return new_call_id()
    call_id: str | None = g.get("call_id")
    if call_id is None:
        call_id = g.call_id = new_call_id()
    return call_id


def get_call_path() -> str | None:
    """The '.'-separated API names from the public API to this one, or None."""
    g = _app_globals()
    return g.get("call_path") if g is not None else None


def get_principal() -> Any:
    """Who the request being served was authenticated as: what the verifier of its
    security scheme returned (with several schemes in one requirement, the first
    one's; ``flask.g.principals`` has each by scheme name). None on public
    operations and outside a request."""
    g = _app_globals()
    return g.get("principal") if g is not None else None
