"""klue: spec-first Flask servers, clients and models from Swagger specs.

Load specs into ``ApiPool``, spawn validated Flask routes with
``ApiPool.<name>.spawn_api(app)``, build models from ``ApiPool.<name>.model``.
Importing klue patches nothing, starts no thread and opens no socket; Flask
is imported by what serves (``spawn_api``, ``make_app``), requests by the
first client call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .api import API
from .context import get_call_id, get_call_path, get_principal
from .exceptions import KlueException, ValidationError
from .pool import ApiPool
from .schema.formats import SwaggerFormat

if TYPE_CHECKING:
    from .app import make_app


def __getattr__(name: str) -> Any:
    if name == "make_app":  # imports Flask: only for whoever serves
        from .app import make_app

        return make_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "API",
    "ApiPool",
    "KlueException",
    "SwaggerFormat",
    "ValidationError",
    "__version__",
    "get_call_id",
    "get_call_path",
    "get_principal",
    "make_app",
]
