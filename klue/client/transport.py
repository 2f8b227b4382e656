"""Sending requests: one pooled ``requests.Session`` per API, retries, timeouts.

What is retried, and why:

* the connection could not be opened (refused, DNS, connect timeout): nothing
  reached the server, so every method is retried;
* a read timeout, a connection dropped mid-way, or a 429/502/503/504 answer:
  the server may have acted, so only idempotent methods are retried, unless
  the caller says ``force_retry=True``;
* nothing else: a bad URL or header cannot get better by trying again.

Waits between attempts grow exponentially with full jitter. ``Retry-After``
is honoured; when it asks for more than ``RetryPolicy.max_retry_after``, the
answer is returned at once rather than retried early. Redirects are not
followed: a 3xx is the answer.

The environment's proxy and CA bundle settings (``HTTP_PROXY``,
``HTTPS_PROXY``, ``NO_PROXY``, ``REQUESTS_CA_BUNDLE``...) are read on the
first call to each host and kept, as httpx reads them when a client is made:
requests reads them on every call, ~0.15 ms of CPU, more than klue's own work.
"""

from __future__ import annotations

import contextvars
import functools
import http.cookiejar
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import BaseAdapter, HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from ..exceptions import CallConnectionError, CallTimeout, ClientError, ResponseTooLarge
from .breaker import CircuitBreaker
from .policy import (
    DEFAULT_MAX_RESPONSE_SIZE,
    IDEMPOTENT_METHODS,
    RETRYABLE_STATUSES,
    RetryPolicy,
)

_READ_SIZE = 64 * 1024

Send = Callable[..., requests.Response]
#: What the network can do to a request (ChunkedEncodingError: the connection
#: broke in the middle of the response).
_NETWORK_FAILURES = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


def _never_reached_server(error: requests.RequestException) -> bool:
    """True when the request certainly did not reach the server (so any method may be retried)."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    if not isinstance(error, requests.ConnectionError):
        return False
    inner = error.args[0] if error.args else None  # urllib3's MaxRetryError
    reason = getattr(inner, "reason", inner)
    return isinstance(reason, (NewConnectionError, ConnectTimeoutError, ConnectionRefusedError))


class _Session(requests.Session):
    """A ``requests.Session`` that reads the environment's settings once per host."""

    #: Hosts whose settings are kept; past this, the table starts again.
    MAX_HOSTS = 256

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple[str, str], dict[str, Any]] = {}

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> dict[str, Any]:
        if proxies or verify is not None or cert is not None or not self.trust_env:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        settings = self._environment.get(key)
        if settings is None:
            if len(self._environment) >= self.MAX_HOSTS:
                self._environment.clear()
            settings = self._environment[key] = super().merge_environment_settings(url, {}, None, None, None)
        return {**settings, "proxies": dict(settings["proxies"]), "stream": stream}


@dataclass
class OutgoingRequest:
    """One call as the transport sends it: built by ``Call``, fixed per
    operation where it can be (``send``, ``host``), counted as it is tried."""

    method: str
    url: str
    host: str  # what the circuit breaker keys on
    send: Send  # the session's ``request``, decorated by the operation's x-decorate-request
    timeout: tuple[float, float]  # connect, read
    max_attempts: int
    force_retry: bool
    #: For ``send``: params, headers, data or files, allow_redirects.
    options: dict[str, Any] = field(default_factory=dict)
    #: Files and where each starts, rewound before every attempt.
    rewind: list[tuple[Any, int]] = field(default_factory=list)
    attempts: int = 0


class Transport:
    """The session of one API and everything between a request and its answer:
    the circuit breaker, retries, attempts, the bounded body read.
    ``handle_request`` is the one way in."""

    def __init__(
        self,
        api_name: str,
        pool_size: int = 32,
        local_app: Any = None,
        max_response_size: int | None = DEFAULT_MAX_RESPONSE_SIZE,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.api_name = api_name
        self.retry = retry or RetryPolicy()
        self.breaker = breaker
        self.max_response_size = max_response_size
        self.session = _Session()
        # One session serves every caller of the API: a cookie one user's call
        # received must never travel with another's.
        self.session.cookies.set_policy(_NoCookies())
        adapter: BaseAdapter = (
            WSGIAdapter(local_app)
            if local_app is not None
            else HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        )
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def handle_request(self, request: OutgoingRequest) -> requests.Response:
        """Send ``request`` past the breaker, with retries; the answer's body is read.

        Raises ``CircuitOpenError`` when the breaker holds the host open, and
        ``CallTimeout``/``CallConnectionError`` after the last attempt. A
        5xx answer or no answer counts as a failure for the breaker."""
        if self.breaker is not None:
            self.breaker.before(request.host, request.method, request.url)
        failed = True
        try:
            response = self._send_with_retries(request)
            failed = response.status_code >= 500
            return response
        finally:
            if self.breaker is not None:
                self.breaker.record(request.host, failed)

    def _send_with_retries(self, request: OutgoingRequest) -> requests.Response:
        """Each attempt gets ``connect + read`` timeout seconds for the whole
        exchange, body included, and at most ``max_response_size`` bytes of
        body (decompressed)."""
        method, url, timeout, policy = request.method, request.url, request.timeout, self.retry
        may_retry_sent = request.force_retry or method in IDEMPOTENT_METHODS
        while True:
            attempt = self._next_attempt(request)
            last = attempt >= request.max_attempts
            deadline = time.monotonic() + timeout[0] + timeout[1]
            try:
                response = request.send(method, url, timeout=timeout, stream=True, **request.options)
                if response.status_code not in RETRYABLE_STATUSES or not may_retry_sent or last:
                    read_body(response, deadline, self.max_response_size, method, url, attempt)
            except _NETWORK_FAILURES as e:
                retry = not last and (may_retry_sent or _never_reached_server(e))
                if not retry:
                    raise self._failure(e, method, url, attempt) from e
                time.sleep(policy.wait(attempt) or 0)
                continue
            except requests.RequestException as e:  # a bad URL or header: retrying cannot help
                raise ClientError(
                    f"{method} {url}: cannot be sent: {_QUERY.sub('?...', str(e))[:300]}",
                    method=method,
                    url=url,
                    attempts=attempt,
                ) from e
            if response.status_code in RETRYABLE_STATUSES and may_retry_sent and not last:
                wait = policy.wait(attempt, response)
                if wait is not None:
                    response.close()
                    time.sleep(wait)
                    continue
            return response

    @staticmethod
    def _next_attempt(request: OutgoingRequest) -> int:
        """Count the attempt and rewind the files, so a retry sends each one whole."""
        request.attempts += 1
        for stream, position in request.rewind:
            stream.seek(position)
        return request.attempts

    def _failure(self, error: requests.RequestException, method: str, url: str, attempts: int) -> Exception:
        tries = f"after {attempts} attempt{'s' if attempts > 1 else ''}"
        where: dict[str, Any] = dict(method=method, url=url, attempts=attempts)
        if isinstance(error, requests.Timeout):
            phase = "connecting" if isinstance(error, requests.ConnectTimeout) else "waiting for the response"
            return CallTimeout(f"{method} {url}: timed out {phase} {tries}", **where)
        return CallConnectionError(f"{method} {url}: {_reason(error)} {tries}", **where)

    def close(self) -> None:
        self.session.close()


def read_body(
    response: requests.Response, deadline: float, max_size: int | None, method: str, url: str, attempt: int
) -> None:
    """Read ``response``'s body into it (``response.content``), read by read,
    so that neither a trickling server (``deadline``) nor a huge or
    decompression-bomb body (``max_size``) can hold the caller."""
    if response._content is not False:  # already read (a local app's response)
        return
    try:
        declared = int(response.headers.get("Content-Length", ""))
    except ValueError:
        declared = -1
    if max_size is not None and declared > max_size and not response.headers.get("Content-Encoding"):
        response.close()
        raise ResponseTooLarge(
            f"{method} {url}: the response is {declared} bytes, over the limit of {max_size}",
            method=method,
            url=url,
            attempts=attempt,
        )
    read, chunks, size = _reader(response.raw), [], 0
    try:
        while True:
            if time.monotonic() > deadline:
                raise requests.ReadTimeout("the whole response took longer than the call's timeout")
            chunk = read(_READ_SIZE)
            if not chunk:
                break
            size += len(chunk)
            if max_size is not None and size > max_size:
                raise ResponseTooLarge(
                    f"{method} {url}: the response is over the limit of {max_size} bytes",
                    method=method,
                    url=url,
                    attempts=attempt,
                )
            chunks.append(chunk)
    except BaseException as e:
        response.close()
        raise _as_requests_error(e) from e
    response._content = b"".join(chunks)
    response._content_consumed = True


def _as_requests_error(error: BaseException) -> BaseException:
    """urllib3's errors while reading a body, as requests' own ``content`` reports them."""
    if isinstance(error, urllib3.exceptions.ReadTimeoutError):
        return requests.ReadTimeout(error)
    if isinstance(error, urllib3.exceptions.ProtocolError):
        return requests.exceptions.ChunkedEncodingError(error)
    if isinstance(error, urllib3.exceptions.DecodeError):
        return requests.exceptions.ContentDecodingError(error)
    if isinstance(error, urllib3.exceptions.SSLError):
        return requests.exceptions.SSLError(error)
    return error


def _reader(raw: Any) -> Callable[[int], bytes]:
    """One socket read at a time, decompressed (urllib3), or a local app's bytes."""
    if isinstance(raw, urllib3.HTTPResponse):
        return functools.partial(raw.read1, decode_content=True)
    read: Callable[[int], bytes] = raw.read
    return read


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """Accept no cookie into the shared session's jar."""

    def set_ok(self, cookie: Any, request: Any) -> bool:
        return False


#: A URL's query in requests' and urllib3's error texts: it may carry an API key, so it never reaches a message.
_QUERY = re.compile(r"\?[^\s'\")]*")


def _reason(error: requests.RequestException) -> str:
    text = str(error)
    if "Connection refused" in text:
        return "connection refused"
    if "Name or service not known" in text or "Failed to resolve" in text:
        return "host name not found"
    if (
        "Connection aborted" in text
        or "RemoteDisconnected" in text
        or isinstance(error, requests.exceptions.ChunkedEncodingError)
    ):
        return "connection closed by the server"
    return f"{type(error).__name__}: {_QUERY.sub('?...', text)[:200]}"


class WSGIAdapter(BaseAdapter):
    """Routes a session's requests into a WSGI app in this process (``ApiPool.add(local=app)``)."""

    def __init__(self, app: Any) -> None:
        super().__init__()
        self.app = app

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        from werkzeug.test import Client

        body = request.body.encode("utf-8") if isinstance(request.body, str) else request.body
        # In a new, empty context: a call from a request of the same app would
        # otherwise run in that request's app context, and share its flask.g
        # (call path, principal) with it.
        result = contextvars.Context().run(
            Client(self.app).open,
            request.url,
            method=request.method,
            headers=dict(request.headers),
            data=body or b"",
        )
        response = requests.Response()
        response.status_code = result.status_code
        response.headers = requests.structures.CaseInsensitiveDict(result.headers.items())
        response.raw = BytesIO(result.get_data())
        response.url = request.url or ""
        response.request = request
        response.reason = result.status.split(" ", 1)[-1]
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        return response

    def close(self) -> None:
        pass
