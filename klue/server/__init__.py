"""The server side: Flask routes spawned from a spec's operations.

``spawn.spawn_api`` wires routes; ``request`` parses and validates what comes
in; ``response`` shapes what goes out, errors included.
"""

from .spawn import spawn_api

__all__ = ["spawn_api"]
