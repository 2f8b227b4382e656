"""klue: spec-first Flask servers, clients and models from Swagger specs.

Load specs into ``ApiPool``, spawn validated Flask routes with
``ApiPool.<name>.spawn_api(app)``, build models from ``ApiPool.<name>.model``.
Importing klue patches nothing, starts no thread and opens no socket.
"""
from ._version import __version__
from .api import API
from .app import make_app
from .context import get_call_id, get_call_path, get_principal
from .exceptions import KlueException, ValidationError
from .pool import ApiPool
from .spec.formats import SwaggerFormat

__all__ = ["__version__", "API", "ApiPool", "KlueException", "ValidationError", "get_call_id", "get_call_path",
           "get_principal", "make_app", "SwaggerFormat"]
