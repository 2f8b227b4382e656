"""The client side: callers generated from a spec's operations.

``namespace.ApiClient`` is ``api.client``; ``caller`` checks arguments and
decodes responses; ``transport`` sends with retries and timeouts;
``policy`` holds ``RetryPolicy`` and the limits; ``breaker`` the circuit
breaker; ``parallel.async_call`` runs calls concurrently.

The names below are imported on first use: configuring a client (a
``RetryPolicy``, a ``CircuitBreaker``) does not import requests.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .breaker import CircuitBreaker
    from .caller import Call, OperationCaller
    from .namespace import ApiClient
    from .parallel import async_call
    from .policy import RetryPolicy

_HOMES = {
    "ApiClient": "namespace",
    "Call": "caller",
    "CircuitBreaker": "breaker",
    "OperationCaller": "caller",
    "RetryPolicy": "policy",
    "async_call": "parallel",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


__all__ = ["ApiClient", "Call", "CircuitBreaker", "OperationCaller", "RetryPolicy", "async_call"]
