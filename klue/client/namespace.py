"""``api.client``: one caller per operation, by name.

An operation is callable under its ``x-bind-client`` name, or else under its
``operationId`` made into a Python identifier, so any spec with operationIds
is callable without editing it. Two operations under one name make that
name a ``SpecError`` naming both, raised to whoever calls it (a server that
never calls its own API is not refused for it). Callers are compiled on
first use, so loading a spec with thousands of operations stays fast.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..exceptions import NoHostError, SpecError, SpecProblem
from ..naming import python_name
from ..spec.interface import Operation
from ..spec.loader import pointer_join
from .breaker import CircuitBreaker
from .caller import OperationCaller
from .policy import DEFAULT_MAX_RESPONSE_SIZE, RetryPolicy
from .transport import Transport

if TYPE_CHECKING:
    from ..api import API


def client_names(
    api_name: str, source: str, operations: list[Operation]
) -> tuple[dict[str, Operation], dict[str, SpecError]]:
    """Map caller names to operations; a name two operations claim maps to the error that says so."""
    names: dict[str, Operation] = {}
    problems: dict[str, list[SpecProblem]] = {}
    for op in operations:
        raw = op.bindings.client or op.operation_id
        if not raw:
            continue
        name = python_name(raw)
        if name in names:
            key = "x-bind-client" if op.bindings.client else "operationId"
            problems.setdefault(name, []).append(
                SpecProblem(
                    source,
                    pointer_join(op.pointer, key),
                    f"client name '{name}' of API '{api_name}' is also used by {names[name].label}",
                    op.label,
                )
            )
            continue
        names[name] = op
    clashes = {name: SpecError(found) for name, found in problems.items()}
    return {name: op for name, op in names.items() if name not in clashes}, clashes


class ApiClient:
    """The callers of one API: ``api.client.<name>(*args, **kwargs)`` returns a ``Call``."""

    def __init__(
        self,
        api: API,
        *,
        local_app: Any = None,
        retry: RetryPolicy | None = None,
        pool_size: int = 64,
        breaker: CircuitBreaker | None = None,
        credentials: Mapping[str, Any] | None = None,
        max_response_size: int | None = DEFAULT_MAX_RESPONSE_SIZE,
    ) -> None:
        self._max_response_size = max_response_size
        self._api = api
        self._breaker = breaker
        self._credentials = dict(credentials or {})  # checked by API, when they were given
        self._operations, self._clashes = client_names(api.name, api.spec.source, api.spec.operations)
        self._callers: dict[str, OperationCaller] = {}
        self._local_app = local_app
        self._retry = retry or RetryPolicy()
        self._pool_size = pool_size
        self._lock = threading.Lock()
        self._transport_instance: Transport | None = None
        self._base: str | None = None
        self._host: str | None = None

    def __getattr__(self, name: str) -> OperationCaller:
        if name.startswith("_"):
            raise AttributeError(name)
        caller = self._callers.get(name)
        if caller is None:
            op = self._operations.get(name)
            if op is None and name in self._clashes:
                raise self._clashes[name]
            if op is None:
                known = ", ".join(sorted(self._operations)) or "none"
                raise AttributeError(f"API '{self._api.name}' has no client operation '{name}' (operations: {known})")
            with self._lock:
                caller = self._callers.get(name) or OperationCaller(self, op)
                self._callers[name] = caller
        return caller

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._operations))

    def operation_of(self, name: str) -> Operation:
        """The operation called ``name`` (``KeyError`` if none is)."""
        return self._operations[name]

    def __contains__(self, name: object) -> bool:
        return name in self._operations

    def __dir__(self) -> list[str]:
        return sorted(self._operations)

    def __repr__(self) -> str:
        return f"<client of API '{self._api.name}': {len(self._operations)} operations>"

    def _use_credentials(self, checked: Mapping[str, Any]) -> None:
        """Replace the credentials (already checked by ``check_credentials``)."""
        with self._lock:
            self._credentials = dict(checked)
            self._callers = {}  # each caller chose its requirement from the old credentials

    @property
    def _transport(self) -> Transport:
        if self._transport_instance is None:
            with self._lock:
                if self._transport_instance is None:
                    self._transport_instance = Transport(
                        self._api.name,
                        self._pool_size,
                        self._local_app,
                        self._max_response_size,
                        self._retry,
                        self._breaker,
                    )
        return self._transport_instance

    def _base_url(self) -> str:
        if self._base is None:
            self._base = base_url(self._api, local=self._local_app is not None)
        return self._base

    def _base_host(self) -> str:
        """``host[:port]`` of the base URL: the circuit breaker's key."""
        if self._host is None:
            self._host = urlsplit(self._base_url()).netloc
        return self._host

    def _close(self) -> None:
        if self._transport_instance is not None:
            self._transport_instance.close()


def base_url(api: API, *, local: bool = False) -> str:
    """``proto://host[:port]/basePath`` from ``ApiPool.add`` overrides, then the spec."""
    spec = api.spec
    proto, host = api.proto, api.host
    if host and "://" in host:  # host="http://127.0.0.1:5000" is accepted too
        parts = urlsplit(host)
        proto, host = proto or parts.scheme, parts.netloc
    host = host or spec.host or ("localhost" if local else None)
    if not host:
        raise NoHostError(f"API '{api.name}' has no host: its spec has none, so give ApiPool.add(host=..., port=...)")
    if api.port:
        host = f"{host.rsplit(':', 1)[0] if _has_port(host) else host}:{int(api.port)}"
    if not proto:
        schemes = spec.schemes
        proto = "https" if "https" in schemes or not schemes else schemes[0]
        if not schemes and (local or _is_loopback(host)):
            proto = "http"
    return f"{proto}://{host}{spec.base_path}"


def _is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if _has_port(host) else host
    return name in ("localhost", "127.0.0.1", "[::1]")


def _has_port(host: str) -> bool:
    return ":" in host and not host.endswith("]")
