"""``api.client``: one caller per operation, by name.

An operation is callable under its ``x-bind-client`` name, or else under its
``operationId`` made into a Python identifier that ``api.client`` reaches
(``naming.client_name``: ``_x`` is ``x``, ``2fa`` is ``op_2fa``), or else,
without either, under its method and path (``GET /pets/{id}`` is
``get_pets_by_id``), so any spec is callable without editing it. Two operations under
one name make that name a ``SpecError`` naming both, raised to whoever calls
it (a server that never calls its own API is not refused for it). Callers are compiled on
first use, so loading a spec with thousands of operations stays fast.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..exceptions import SpecError, SpecProblem
from ..naming import caller_name_of, client_name
from ..spec.interface import Operation, Spec
from ..spec.loader import pointer_join
from .breaker import CircuitBreaker
from .caller import OperationCaller
from .credentials import OperationCredentials
from .endpoint import Endpoint, resolve_base_url
from .transport import Transport

if TYPE_CHECKING:
    from ..api import API
    from ..schema.compiler import SchemaCompiler


def operation_client_name(op: Operation) -> str:
    """The name ``api.client`` calls ``op`` by (``naming.caller_name_of``)."""
    return caller_name_of(op.method, op.path, op.bindings.client, op.operation_id)


def client_names(
    api_name: str, source: str, operations: list[Operation]
) -> tuple[dict[str, Operation], dict[str, SpecError]]:
    """Map caller names to operations; a name two operations claim maps to the error that says so."""
    names: dict[str, Operation] = {}
    problems: dict[str, list[SpecProblem]] = {}
    # operations named by the spec first: a name derived from a method and path never takes theirs
    named = [op for op in operations if op.bindings.client or op.operation_id]
    given = {client_name(op.bindings.client or op.operation_id or "") for op in named}
    for op in named + [op for op in operations if not (op.bindings.client or op.operation_id)]:
        name = operation_client_name(op)
        if op not in named and name in given:
            continue  # the spec named another operation so: this one has no caller (give it an operationId)
        if name in names:
            key = "x-bind-client" if op.bindings.client else "operationId" if op.operation_id else "method and path"
            raw = op.bindings.client or op.operation_id or f"{op.method} {op.path}"
            derived = f" (from {key} {raw!r})" if name != raw else ""
            problems.setdefault(name, []).append(
                SpecProblem(
                    source,
                    pointer_join(op.pointer, key),
                    f"client name '{name}'{derived} of API '{api_name}' is also used by {names[name].label}",
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
        api_name: str,
        spec: Spec,
        schemas: SchemaCompiler,
        endpoint: Endpoint,
        credentials: Mapping[str, Any] | None = None,
    ) -> None:
        self._name = api_name
        self._spec = spec
        self._schemas = schemas
        self._endpoint = endpoint
        self._credentials = dict(credentials or {})  # checked by API, when they were given
        self._operations, self._clashes = client_names(api_name, spec.source, spec.operations)
        self._callers: dict[str, OperationCaller] = {}
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> OperationCaller:
        if name.startswith("_"):
            called = client_name(name) if not name.endswith("__") else ""  # dunders: Python's protocols
            if called in self._operations:
                raise AttributeError(
                    f"API '{self._name}' has no client operation '{name}': names starting with '_' are private; "
                    f"did you mean api.client.{called}?"
                )
            raise AttributeError(name)
        caller = self._callers.get(name)
        if caller is None:
            op = self._operations.get(name)
            if op is None and not name.isascii():  # getattr(client, "ﬁnd"): Python's own spelling is NFKC
                name = unicodedata.normalize("NFKC", name)
                op = self._operations.get(name)
            if op is None and name in self._clashes:
                raise self._clashes[name]
            if op is None:
                known = ", ".join(sorted(self._operations)) or "none"
                raise AttributeError(f"API '{self._name}' has no client operation '{name}' (operations: {known})")
            with self._lock:
                caller = self._callers.get(name) or self._compile(op)
                self._callers[name] = caller
        return caller

    def _compile(self, op: Operation) -> OperationCaller:
        credentials = OperationCredentials(op, self._spec.security_schemes, self._credentials)
        return OperationCaller(op, self._schemas, self._endpoint, credentials)

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
        return f"<client of API '{self._name}': {len(self._operations)} operations>"

    def _use_credentials(self, checked: Mapping[str, Any]) -> None:
        """Replace the credentials (already checked by ``check_credentials``)."""
        with self._lock:
            self._credentials = dict(checked)
            self._callers = {}  # each caller chose its requirement from the old credentials

    @property
    def _transport(self) -> Transport:
        return self._endpoint.transport

    @property
    def _breaker(self) -> CircuitBreaker | None:
        return self._endpoint.breaker

    def _base_url(self) -> str:
        return self._endpoint.base_url

    def _close(self) -> None:
        self._endpoint.close()


def base_url(api: API, *, local: bool = False) -> str:
    """``proto://host[:port]/basePath`` of ``api`` from ``ApiPool.add`` overrides, then the spec."""
    return resolve_base_url(api.name, api.spec, host=api.host, port=api.port, proto=api.proto, local=local)
