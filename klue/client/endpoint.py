"""``Endpoint``: where one API's calls go and what they share.

The base URL (from ``ApiPool.add``'s overrides, then the spec), the breaker's
host key, the timeout, the error callback and the transport (built on the
first call: it imports requests). Each operation's caller is compiled from its
operation, the API's ``SchemaCompiler`` and this, never from the whole ``API``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from ..exceptions import NoHostError
from ..spec.interface import Spec
from .breaker import CircuitBreaker
from .policy import DEFAULT_MAX_RESPONSE_SIZE, DEFAULT_TIMEOUT, RetryPolicy
from .transport import Transport


class Endpoint:
    """The base URL, timeouts, error callback and transport one API's callers share."""

    def __init__(
        self,
        api_name: str,
        spec: Spec,
        *,
        host: str | None = None,
        port: int | None = None,
        proto: str | None = None,
        timeout: float | None = None,
        error_callback: Callable[[Exception], Any] | None = None,
        local_app: Any = None,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        pool_size: int = 64,
        max_response_size: int | None = DEFAULT_MAX_RESPONSE_SIZE,
    ) -> None:
        self.api_name = api_name
        self.spec = spec
        self.host_override, self.port, self.proto = host, port, proto
        #: Seconds for connecting and for each read, unless a call says otherwise.
        self.timeout: float = timeout if timeout is not None else DEFAULT_TIMEOUT
        self.error_callback = error_callback
        self.local_app = local_app
        self.retry = retry or RetryPolicy()
        self.breaker = breaker
        self.pool_size = pool_size
        self.max_response_size = max_response_size
        self._lock = threading.Lock()
        self._transport: Transport | None = None
        self._base_url: str | None = None
        self._host: str | None = None

    @property
    def base_url(self) -> str:
        """``proto://host[:port]/basePath``; ``NoHostError`` when neither the spec nor ``ApiPool.add`` gives a host."""
        if self._base_url is None:
            self._base_url = resolve_base_url(
                self.api_name,
                self.spec,
                host=self.host_override,
                port=self.port,
                proto=self.proto,
                local=self.local_app is not None,
            )
        return self._base_url

    @property
    def host(self) -> str:
        """``host[:port]`` of the base URL: the circuit breaker's key."""
        if self._host is None:
            self._host = urlsplit(self.base_url).netloc
        return self._host

    @property
    def transport(self) -> Transport:
        if self._transport is None:
            with self._lock:
                if self._transport is None:
                    self._transport = Transport(
                        self.api_name,
                        self.pool_size,
                        self.local_app,
                        self.max_response_size,
                        self.retry,
                        self.breaker,
                    )
        return self._transport

    def close(self) -> None:
        """Close the transport's pooled connections, if it was ever built."""
        if self._transport is not None:
            self._transport.close()


def resolve_base_url(
    api_name: str,
    spec: Spec,
    *,
    host: str | None = None,
    port: int | None = None,
    proto: str | None = None,
    local: bool = False,
) -> str:
    """``proto://host[:port]/basePath`` from ``ApiPool.add`` overrides, then the spec."""
    if host and "://" in host:  # host="http://127.0.0.1:5000" is accepted too
        parts = urlsplit(host)
        proto, host = proto or parts.scheme, parts.netloc
    host = host or spec.host or ("localhost" if local else None)
    if not host:
        raise NoHostError(f"API '{api_name}' has no host: its spec has none, so give ApiPool.add(host=..., port=...)")
    if port:
        host = f"{host.rsplit(':', 1)[0] if _has_port(host) else host}:{int(port)}"
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
