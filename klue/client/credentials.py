"""Credentials a client sends: ``ApiPool.add(name, ..., credentials={"scheme": value})``.

A value is, per scheme of the called API's spec:

* a string: an API key, or a token for bearer, oauth2, openIdConnect and
  other ``Authorization`` schemes;
* a ``(username, password)`` tuple, for basic;
* a zero-argument callable returning one of those, called on each call (tokens rotate);
* ``ClientCredentials(token_url, client_id, client_secret)``: the OAuth2
  client-credentials grant, its token cached until shortly before it expires
  and fetched again (the call retried once) when the API answers 401;
* ``FORWARD``: the same scheme's credential from the request being served.

For each operation the client takes the first requirement whose schemes all
have credentials (an empty one, ``{}``, only when no other fits), and puts
each credential where its scheme says. Credentials go only to the API's own
base URL (redirects are never followed) and never into exception messages.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus, urlsplit

from ..exceptions import ClientError, KlueException
from ..spec.interface import API_KEY, BASIC, COOKIE, MUTUAL_TLS, QUERY, Operation, SecurityScheme

if TYPE_CHECKING:
    from requests import Response


class _Forward:
    """``credentials={"scheme": FORWARD}``: pass on the caller's own credential."""

    def __repr__(self) -> str:
        return "klue.security.FORWARD"


FORWARD: Any = _Forward()

#: Token endpoint answers larger than this are refused.
MAX_TOKEN_RESPONSE = 64 * 1024
_OAUTH_ERROR_CODE = re.compile(r"^[\x20-\x21\x23-\x5B\x5D-\x7E]{1,64}\Z")  # RFC 6749's error charset, bounded


class ClientCredentials:
    """The OAuth2 client-credentials grant (RFC 6749, 4.4) as a credential value.

    The token is fetched on first use, kept until ``refresh_margin`` seconds
    (at most a tenth of its lifetime) before it expires, and fetched once
    however many threads ask at the same time. The client id and secret are
    sent with HTTP Basic, form-encoded first as RFC 6749 (2.3.1) says.
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        scopes: list[str] | tuple[str, ...] | None = None,
        *,
        timeout: float = 10.0,
        refresh_margin: float = 30.0,
    ) -> None:
        parts = urlsplit(token_url) if isinstance(token_url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"token_url must be an http(s) URL, not {token_url!r}")
        if not isinstance(client_id, str) or not client_id or not isinstance(client_secret, str):
            raise ValueError("client_id must be a non-empty string and client_secret a string")
        if scopes is not None and (isinstance(scopes, str) or not all(isinstance(s, str) and s for s in scopes)):
            raise ValueError("scopes must be a list of scope names")
        self.token_url = token_url
        self.client_id = client_id
        self._secret = client_secret
        self.scopes = tuple(scopes or ())
        self.timeout = timeout
        self.refresh_margin = refresh_margin
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self._attempts = 0  # fetches begun: a thread that waited for a failed one shares its failure
        self._failure: ClientError | None = None
        #: How many times a token was fetched (for tests and metrics).
        self.fetches = 0

    def __repr__(self) -> str:
        return f"ClientCredentials({self.token_url!r}, client_id={self.client_id!r})"

    def token(self) -> str:
        """The current access token, fetched when there is none or it is about to expire."""
        token = self._token
        if token is not None and time.monotonic() < self._expires_at:
            return token
        attempts = self._attempts
        with self._lock:  # the first thread fetches; the others find its token, or its failure
            if self._token is not None and time.monotonic() < self._expires_at:
                return self._token
            if self._attempts != attempts and self._failure is not None:
                raise ClientError(self._failure.message, method="POST", url=self.token_url)
            self._attempts += 1
            try:
                self._token, self._expires_at = self._fetch()
            except ClientError as e:
                self._failure = e
                raise
            self._failure = None
            return self._token

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (the API refused it): the next ``token()`` fetches a new one."""
        with self._lock:
            if self._token == token:
                self._token, self._expires_at = None, 0.0

    def _fetch(self) -> tuple[str, float]:
        data = {"grant_type": "client_credentials"}
        if self.scopes:
            data["scope"] = " ".join(self.scopes)
        auth = (quote(self.client_id, safe=""), quote(self._secret, safe=""))
        where = f"token request to {self.token_url}"
        self.fetches += 1
        import requests  # here, not at import: a spec loads without the client's stack

        try:
            with requests.post(
                self.token_url,
                data=data,
                auth=auth,
                timeout=self.timeout,
                stream=True,
                allow_redirects=False,
                headers={"Accept": "application/json"},
            ) as response:
                body = _bounded_content(response, where)
                status = response.status_code
        except requests.RequestException as e:
            raise ClientError(f"{where} failed: {type(e).__name__}", method="POST", url=self.token_url) from None
        return self._read_token(status, body, where)

    def _read_token(self, status: int, body: bytes, where: str) -> tuple[str, float]:
        answer: Any  # JSON
        try:
            answer = json.loads(body) if body else None
        except ValueError:
            answer = None
        if status != 200:
            code = answer.get("error") if isinstance(answer, dict) else None
            detail = f" ({code})" if isinstance(code, str) and _OAUTH_ERROR_CODE.match(code) else ""
            raise ClientError(
                f"{where} was refused: {status}{detail}", method="POST", url=self.token_url, status_code=502
            )
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token or any(c in token for c in "\r\n\0 "):
            raise ClientError(f"{where}: the answer has no usable access_token", method="POST", url=self.token_url)
        token_type = answer.get("token_type", "bearer")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise ClientError(f"{where}: token_type {token_type!r} is not bearer", method="POST", url=self.token_url)
        expires_in = answer.get("expires_in")
        if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool) and expires_in > 0:
            margin = min(self.refresh_margin, expires_in / 10)
            return token, time.monotonic() + expires_in - margin
        return token, float("inf")  # no lifetime given: kept until the API refuses it


def _bounded_content(response: Response, where: str) -> bytes:
    chunks, size = [], 0
    for chunk in response.iter_content(8192):
        size += len(chunk)
        if size > MAX_TOKEN_RESPONSE:
            raise ClientError(f"{where}: the answer is larger than {MAX_TOKEN_RESPONSE} bytes", method="POST")
        chunks.append(chunk)
    return b"".join(chunks)


# -- checking what ApiPool.add was given -----------------------------------------------------


def check_credentials(api_name: str, schemes: Mapping[str, SecurityScheme], credentials: Any) -> dict[str, Any]:
    """Refuse, at load time, credentials for undeclared schemes or of the wrong shape."""
    if credentials is None:
        return {}
    if not isinstance(credentials, Mapping):
        raise TypeError(
            f"credentials of API '{api_name}' must be a mapping of scheme names to values, "
            f"not {type(credentials).__name__}"
        )
    checked = {}
    for name, value in credentials.items():
        scheme = schemes.get(name)
        if scheme is None:
            declared = ", ".join(sorted(schemes)) or "none"
            raise KlueException(
                f"credentials of API '{api_name}' name scheme {name!r}, which its spec does not "
                f"declare (declared: {declared})"
            )
        problem = _shape_problem(scheme, value)
        if problem:
            raise KlueException(f"credentials of API '{api_name}' for scheme {name!r}: {problem}")
        checked[name] = value
    return checked


def _shape_problem(scheme: SecurityScheme, value: Any) -> str | None:
    if scheme.kind == MUTUAL_TLS:
        return "mutualTLS is a client certificate, not a credential klue can send"
    if value is FORWARD or (callable(value) and not isinstance(value, ClientCredentials)):
        return None  # a callable's answer is checked when it is called
    if isinstance(value, ClientCredentials):
        return (
            None
            if scheme.kind not in (API_KEY, BASIC)
            else f"ClientCredentials gives bearer tokens; {scheme.label} takes none"
        )
    return _value_problem(scheme, value)


def _value_problem(scheme: SecurityScheme, value: Any) -> str | None:
    """What is wrong with a plain value for ``scheme`` (never quoting it)."""
    texts: tuple[str, ...]
    if scheme.kind == BASIC:
        if not (isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, str) for v in value)):
            return "basic needs a (username, password) tuple of strings"
        if ":" in value[0]:
            return "a basic username cannot contain ':'"
        texts = value
    elif not isinstance(value, str) or not value:
        return f"{scheme.label} needs a non-empty string, not {type(value).__name__}"
    else:
        texts = (value,)
    for text in texts:
        if any(c in text for c in "\r\n\0"):
            return "a credential cannot contain CR, LF or NUL"
        if text != text.strip():
            return "a credential cannot start or end with white space"
    if scheme.kind == API_KEY and scheme.location == COOKIE and any(c in texts[0] for c in ';,"\\ \t'):
        return 'a cookie value cannot contain ; , " \\ or white space (it would add cookies of its own)'
    return None


# -- per operation ---------------------------------------------------------------------------


@dataclass
class Applied:
    """What one call's credentials put in the request: to redact, and to refresh on a 401."""

    secrets: list[str] = field(default_factory=list)
    refreshable: list[tuple[ClientCredentials, str]] = field(default_factory=list)

    def refresh(self) -> bool:
        """Forget the tokens used; True when there is a new one to try."""
        for source, token in self.refreshable:
            source.invalidate(token)
        return bool(self.refreshable)

    def redact(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret:
                for form in (secret, quote(secret, safe=""), quote_plus(secret)):
                    text = text.replace(form, "***")
        return text


class OperationCredentials:
    """Which of an operation's requirements its calls satisfy, and how to put them in a request."""

    def __init__(self, op: Operation, schemes: Mapping[str, SecurityScheme], credentials: Mapping[str, Any]) -> None:
        self.op = op
        self.chosen: list[tuple[SecurityScheme, Any]] = []
        self.missing: str | None = None
        requirements = [r for r in op.security if r]
        fitting = next((r for r in requirements if all(name in credentials for name in r)), None)
        if fitting is not None:
            self.chosen = [(schemes[name], credentials[name]) for name in fitting]
        elif not op.is_public:
            alternatives = " or ".join(" and ".join(schemes[n].label for n in r) for r in requirements)
            self.missing = (
                f"{op.label} needs credentials for {alternatives}: give ApiPool.add(..., credentials={{scheme: value}})"
            )

    def check(self) -> None:
        if self.missing is not None:
            raise ClientError(self.missing)

    def apply(self, headers: dict[str, str], query: dict[str, Any]) -> Applied:
        """Put each chosen credential in ``headers``/``query``; raises ``ClientError`` for one that cannot be had."""
        applied = Applied()
        for scheme, value in self.chosen:
            credential = self._resolve(scheme, value, applied)
            self._place(scheme, credential, headers, query, applied)
        return applied

    def _resolve(self, scheme: SecurityScheme, value: Any, applied: Applied) -> Any:
        if value is FORWARD:
            return forwarded(scheme, self.op)
        if isinstance(value, ClientCredentials):
            token = value.token()
            applied.refreshable.append((value, token))
            return token
        if callable(value):
            value = value()
            problem = _value_problem(scheme, value)
            if problem:
                raise ClientError(
                    f"{self.op.label}: the credential callable for scheme '{scheme.name}' returned "
                    f"an unusable value: {problem}"
                )
        return value

    @staticmethod
    def _place(
        scheme: SecurityScheme, credential: Any, headers: dict[str, str], query: dict[str, Any], applied: Applied
    ) -> None:
        if isinstance(credential, _Verbatim):  # forwarded as it came
            headers[credential.header] = credential.value
            applied.secrets.append(credential.value)
            return
        if scheme.kind == API_KEY:
            applied.secrets.append(credential)
            if scheme.location == QUERY:
                query[scheme.parameter] = credential
            elif scheme.location == COOKIE:
                cookie = f"{scheme.parameter}={credential}"
                headers["Cookie"] = "; ".join(filter(None, [headers.get("Cookie"), cookie]))
            else:
                headers[scheme.parameter] = credential
            return
        if scheme.kind == BASIC:
            username, password = credential
            encoded = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
            applied.secrets.extend((password, encoded))
            headers["Authorization"] = f"Basic {encoded}"
            return
        applied.secrets.append(credential)
        headers["Authorization"] = f"{scheme.http_scheme} {credential}"


@dataclass(frozen=True)
class _Verbatim:
    """A forwarded credential: the header it came in, as it came."""

    header: str
    value: str


def forwarded(scheme: SecurityScheme, op: Operation) -> Any:
    """The credential of ``scheme`` in the request being served, where ``scheme`` says it travels."""
    from flask import has_request_context, request  # only a server forwards

    if not has_request_context():
        raise ClientError(f"{op.label}: FORWARD for scheme '{scheme.name}' needs a request being served")
    value: Any = None
    if scheme.kind == API_KEY:
        if scheme.location == QUERY:
            value = request.args.get(scheme.parameter)
        elif scheme.location == COOKIE:
            value = request.cookies.get(scheme.parameter)
        else:
            value = request.headers.get(scheme.parameter)
    else:
        header = request.headers.get("Authorization", "")
        word, _, rest = header.strip().partition(" ")
        if word.lower() == scheme.http_scheme.lower() and rest.strip():
            value = _Verbatim("Authorization", f"{scheme.http_scheme} {rest.strip()}")
    if not value:
        raise ClientError(
            f"{op.label}: FORWARD for scheme '{scheme.name}': the request being served has no such credential"
        )
    if isinstance(value, str) and _value_problem(scheme, value):  # an API key (Authorization is passed verbatim)
        raise ClientError(f"{op.label}: FORWARD for scheme '{scheme.name}': the credential cannot be sent on")
    return value


__all__ = ["FORWARD", "Applied", "ClientCredentials", "OperationCredentials", "check_credentials"]
