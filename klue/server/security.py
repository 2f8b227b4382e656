"""Enforcing a spec's security on the requests a spawned API serves.

At spawn time every scheme that a served operation requires is bound to a
verifier: ``spawn_api(security={name: func})`` first, then the scheme's
``x-bind-security``, then connexion's ``x-apikeyInfoFunc``,
``x-basicInfoFunc``, ``x-bearerInfoFunc`` or ``x-tokenInfoFunc``. A scheme
left without one stops the spawn (``UnboundSecurityError``): nothing is ever
served open by accident. Mocked operations check only that a credential is
there, so a frontend can exercise its auth flow before the backend exists.

Per request, ``OperationSecurity.authorize`` runs before the body is read:
it reads each credential from its header, query parameter or cookie, calls
the verifier, checks the granted scopes, and returns the principal or raises
``Unauthorized`` (401, with ``WWW-Authenticate`` challenges) or ``Forbidden``
(403, scopes short). Verifiers take:

* apiKey: ``func(api_key, required_scopes)``
* basic: ``func(username, password, required_scopes)``
* bearer, oauth2, openIdConnect, other http schemes: ``func(token, required_scopes)``
* mutualTLS: ``func(client_certificate, required_scopes)`` (the WSGI server's ``SSL_CLIENT_CERT``)

and return the principal, or None (or False) to refuse.
"""

from __future__ import annotations

import base64
import binascii
import inspect
import traceback
from collections.abc import Callable, Iterable, Mapping, Sized
from typing import TYPE_CHECKING, Any

from ..exceptions import BindingError, Forbidden, KlueException, Unauthorized, UnboundSecurityError
from ..importing import import_object
from ..spec.interface import API_KEY, BASIC, BEARER, COOKIE, MUTUAL_TLS, QUERY, Operation, SecurityScheme

if TYPE_CHECKING:
    from flask import Request

Verifier = Callable[..., Any]
#: Longer credentials are refused without calling the verifier.
MAX_CREDENTIAL_LENGTH = 8192

#: What one scheme's check came to.
PASSED, ABSENT, REFUSED, SCOPES_SHORT = "passed", "absent", "refused", "scopes short"


class _Malformed:
    """A credential that is there but cannot be read (bad base64, given twice...)."""

    def __repr__(self) -> str:
        return "MALFORMED"


MALFORMED: Any = _Malformed()


# -- reading credentials -------------------------------------------------------------------


def credential_reader(scheme: SecurityScheme) -> Callable[[Request], Any]:
    """A function from a request to the scheme's credential: None when absent, MALFORMED when unreadable."""
    if scheme.kind == API_KEY:
        if scheme.location == QUERY:
            return _query_reader(scheme.parameter)
        if scheme.location == COOKIE:
            return _cookie_reader(scheme.parameter)
        return _header_reader("HTTP_" + scheme.parameter.upper().replace("-", "_"))
    if scheme.kind == MUTUAL_TLS:
        return _client_certificate
    return _authorization_reader(
        scheme.http_scheme, decode_basic=scheme.kind == BASIC, token68=scheme.kind in (BASIC, BEARER)
    )


def _bounded(value: str | None) -> Any:
    if value is None or value == "":
        return None
    return value if len(value) <= MAX_CREDENTIAL_LENGTH else MALFORMED


def _header_reader(environ_key: str) -> Callable[[Request], Any]:
    def read_header(request: Request) -> Any:
        value = request.environ.get(environ_key)
        if value is not None and "," in value:  # the header sent twice, joined by the WSGI server
            return MALFORMED
        return _bounded(value.strip() if value is not None else None)

    return read_header


def _query_reader(name: str) -> Callable[[Request], Any]:
    def read_query(request: Request) -> Any:
        values = request.args.getlist(name)
        if len(values) > 1:  # which one would the verifier see, and which one a proxy?
            return MALFORMED
        return _bounded(values[0] if values else None)

    return read_query


def _cookie_reader(name: str) -> Callable[[Request], Any]:
    def read_cookie(request: Request) -> Any:
        values = request.cookies.getlist(name)
        if len(values) > 1:
            return MALFORMED
        return _bounded(values[0] if values else None)

    return read_cookie


def _client_certificate(request: Request) -> Any:
    return _bounded(request.environ.get("SSL_CLIENT_CERT"))


def _authorization_reader(word: str, decode_basic: bool, token68: bool) -> Callable[[Request], Any]:
    lowered = word.lower()

    def read_authorization(request: Request) -> Any:
        header = request.environ.get("HTTP_AUTHORIZATION")
        if not header:
            return None
        given, _, rest = header.strip().partition(" ")
        if given.lower() != lowered:
            return None  # another scheme's credential: not this one's to judge
        credential = _bounded(rest.strip())
        if credential is None or (token68 and credential is not MALFORMED and any(c in credential for c in ", \t")):
            return MALFORMED  # nothing after the word, or two headers joined by the WSGI server
        if decode_basic and credential is not MALFORMED:
            return decode_basic_credentials(credential)
        return credential

    return read_authorization


def decode_basic_credentials(encoded: str) -> Any:
    """``dXNlcjpwYXNz`` -> ("user", "pass"); MALFORMED unless base64 of ``user:password`` (RFC 7617)."""
    try:
        text = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return MALFORMED
    username, colon, password = text.partition(":")
    return (username, password) if colon else MALFORMED


# -- granted scopes ------------------------------------------------------------------------


def granted_scopes(principal: Any) -> set[str] | None:
    """The scopes a principal carries (``scopes`` list or space-separated ``scope``,
    as a key or an attribute), or None when it carries none."""
    for key in ("scopes", "scope"):
        if isinstance(principal, Mapping):
            value = principal.get(key)
        else:
            value = getattr(principal, key, None)
        if isinstance(value, str):
            return set(value.split())
        if isinstance(value, (list, tuple, set, frozenset)):
            return {v for v in value if isinstance(v, str)}
        if value is not None:  # a dict, a number, a method...: scopes in no form klue reads grant none
            return set()
    return None


def missing_scopes(principal: Any, required: tuple[str, ...]) -> tuple[str, ...]:
    if not required:
        return ()
    granted = granted_scopes(principal)
    if granted is None:  # the verifier was told the required scopes; it answered for them
        return ()
    return tuple(s for s in required if s not in granted)


# -- verifiers -----------------------------------------------------------------------------


def klue_verifier(func: Verifier, scheme: SecurityScheme) -> Verifier:
    """klue's signatures, as ``(credential, required_scopes) -> principal``."""
    if scheme.kind != BASIC:
        return func

    def verify_basic(credential: tuple[str, str], scopes: list[str]) -> Any:
        return func(credential[0], credential[1], scopes)

    return verify_basic


def connexion_verifier(func: Verifier, scheme: SecurityScheme) -> Verifier:
    """connexion's signatures: the credential(s), plus ``required_scopes=`` when the function takes it."""
    takes_scopes = _accepts_keyword(func, "required_scopes")

    def verify_connexion(credential: Any, scopes: list[str]) -> Any:
        args = credential if scheme.kind == BASIC else (credential,)
        return func(*args, required_scopes=scopes) if takes_scopes else func(*args)

    return verify_connexion


def _accepts_keyword(func: Verifier, name: str) -> bool:
    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature
        return False
    return any(p.name == name or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def presence_verifier(scheme: SecurityScheme) -> Verifier:
    """Mock mode: any credential in the right place passes."""
    principal = {"scheme": scheme.name, "mock": True}

    def verify_presence(_credential: Any, _scopes: list[str]) -> Any:
        return principal

    return verify_presence


class VerifierBinder:
    """Finds each scheme's verifier once per spawn, and which schemes have none."""

    def __init__(self, api_name: str, schemes: Mapping[str, SecurityScheme], overrides: Any) -> None:
        self.api_name = api_name
        self.schemes = schemes
        self.overrides = check_overrides(api_name, schemes, overrides)
        self.bound: dict[str, Verifier | None] = {}
        self.unbound: dict[str, list[str]] = {}

    def verifier(self, name: str, op: Operation) -> Verifier | None:
        if name not in self.bound:
            self.bound[name] = self._find(self.schemes[name])
        found = self.bound[name]
        if found is None:
            needed_by = self.unbound.setdefault(name, [])
            if op.label not in needed_by:
                needed_by.append(op.label)
        return found

    def _find(self, scheme: SecurityScheme) -> Verifier | None:
        if scheme.name in self.overrides:
            return klue_verifier(self.overrides[scheme.name], scheme)
        for dotted, adapt, key in (
            (scheme.binding, klue_verifier, "x-bind-security"),
            (scheme.connexion_binding, connexion_verifier, "connexion's verifier"),
        ):
            if dotted:
                func = import_object(dotted, what=f"{key} of security scheme '{scheme.name}' of API '{self.api_name}'")
                if not callable(func):
                    raise BindingError(f"{key} of security scheme '{scheme.name}': {dotted} is not callable")
                return adapt(func, scheme)
        return None

    def check_all_bound(self) -> None:
        if self.unbound:
            raise UnboundSecurityError(self.api_name, self.unbound)


def check_overrides(api_name: str, schemes: Mapping[str, SecurityScheme], overrides: Any) -> dict[str, Verifier]:
    """``spawn_api(security=...)``: a mapping of declared scheme names to callables."""
    if overrides is None:
        return {}
    if not isinstance(overrides, Mapping):
        raise TypeError(f"security must be a mapping of scheme names to verifiers, not {type(overrides).__name__}")
    unknown = sorted(set(overrides) - set(schemes))
    if unknown:
        declared = ", ".join(sorted(schemes)) or "none"
        raise KlueException(
            f"API '{api_name}': security= names undeclared scheme(s) {', '.join(map(repr, unknown))} "
            f"(declared: {declared})"
        )
    for name, func in overrides.items():
        if not callable(func):
            raise TypeError(f"security[{name!r}] of API '{api_name}' must be callable, not {func!r}")
    return dict(overrides)


# -- per operation ---------------------------------------------------------------------------


class VerifierError(Exception):
    """A verifier raised something other than ``Unauthorized``/``Forbidden``: answered as a 500.

    Its message says which scheme, the exception's type and where it was raised, never the
    exception's text: that may quote the credential."""


class SchemeCheck:
    """One scheme of one requirement: read its credential, verify it, check its scopes."""

    __slots__ = ("read", "scheme", "scopes", "verify")

    def __init__(self, scheme: SecurityScheme, verify: Verifier, scopes: tuple[str, ...]) -> None:
        self.scheme = scheme
        self.read = credential_reader(scheme)
        self.verify = verify
        self.scopes = scopes

    def check(self, request: Request) -> tuple[str, Any]:
        """(outcome, principal, or the Forbidden the verifier raised); any other exception is a 500, never access."""
        credential = self.read(request)
        if credential is None:
            return ABSENT, None
        if credential is MALFORMED:
            return REFUSED, None
        try:
            principal = self.verify(credential, list(self.scopes))
        except Forbidden as refusal:
            return SCOPES_SHORT, refusal
        except Unauthorized:
            return REFUSED, None
        except Exception as e:
            # Never the exception's text (KeyError('sk_live_...') quotes the credential), nor a
            # NotFound("no user x") that would answer 404 and tell usernames apart: a 500 saying where.
            raise VerifierError(self._failure(e)) from None
        if principal is None or principal is False or (isinstance(principal, (str, Sized)) and not principal):
            return REFUSED, None  # KEYS.get(key, {}) must not let everyone in
        if missing_scopes(principal, self.scopes):
            return SCOPES_SHORT, principal
        return PASSED, principal

    def _failure(self, error: Exception) -> str:
        frames = traceback.extract_tb(error.__traceback__)
        where = f" at {frames[-1].filename}:{frames[-1].lineno} ({frames[-1].name})" if frames else ""
        return f"the verifier of security scheme '{self.scheme.name}' raised {type(error).__name__}{where}"


class OperationSecurity:
    """Compiled per operation: its alternatives, each a list of ``SchemeCheck``."""

    def __init__(self, op: Operation, alternatives: list[list[SchemeCheck]], realm: str) -> None:
        self.op = op
        self.alternatives = alternatives
        self.optional = any(not r for r in op.security)  # {} among them: anonymous is allowed
        self.realm = realm
        # The common case, one scheme and nothing else: no bookkeeping per request.
        self.single = (
            alternatives[0][0] if len(alternatives) == 1 and len(alternatives[0]) == 1 and not self.optional else None
        )

    def authorize(self, request: Request) -> tuple[Any, dict[str, Any]]:
        """(principal, principals by scheme) of the first alternative that passes; raises otherwise."""
        if self.single is not None:
            outcome, principal = self.single.check(request)
            if outcome is PASSED:
                return principal, {self.single.scheme.name: principal}
            raise self._refusal({self.single: outcome}, {self.single: principal})
        outcomes: dict[SchemeCheck, str] = {}
        answers: dict[SchemeCheck, Any] = {}
        seen: dict[tuple[str, tuple[str, ...]], tuple[str, Any]] = {}  # one verifier call per scheme and scopes
        for alternative in self.alternatives:
            principals: dict[str, Any] = {}
            for check in alternative:
                key = (check.scheme.name, check.scopes)
                if key not in seen:
                    seen[key] = check.check(request)
                outcome, principal = seen[key]
                outcomes[check], answers[check] = outcome, principal
                if outcome is not PASSED:
                    break
                principals.setdefault(check.scheme.name, principal)
            else:
                first = alternative[0].scheme.name
                return principals[first], principals
        if self.optional and not any(check.read(request) is not None for a in self.alternatives for check in a):
            return None, {}  # anonymous is allowed; a credential given (even one never verified) is not ignored
        raise self._refusal(outcomes, answers)

    def _refusal(self, outcomes: dict[SchemeCheck, str], answers: dict[SchemeCheck, Any]) -> Unauthorized:
        """403 when some alternative had every credential valid but scopes short; 401 otherwise."""
        for alternative in self.alternatives:
            seen = [outcomes.get(check) for check in alternative]
            if all(o in (PASSED, SCOPES_SHORT) for o in seen) and SCOPES_SHORT in seen:
                short = [c for c in alternative if outcomes.get(c) is SCOPES_SHORT]
                raised = next((answers[c] for c in short if isinstance(answers.get(c), Forbidden)), None)
                scopes = " ".join(dict.fromkeys(s for c in short for s in c.scopes))
                challenges = [
                    self._challenge(c.scheme, error="insufficient_scope", scope=scopes)
                    for c in short
                    if c.scheme.kind == BEARER
                ]
                message = f"the credentials given do not grant what this operation needs (scopes: {scopes})"
                if raised is not None:  # the verifier's own reason ("account suspended") and challenges win
                    return Forbidden(raised.message or message, challenges=raised.challenges or challenges)
                return Forbidden(message, challenges=challenges)
        refused = [c.scheme.name for c, o in outcomes.items() if o is REFUSED]
        if refused:
            message = "the credentials given for " + ", ".join(dict.fromkeys(refused)) + " were refused"
        else:
            message = "this operation needs credentials: " + " or ".join(
                " and ".join(c.scheme.label for c in alternative) for alternative in self.alternatives
            )
        return Unauthorized(message, challenges=self._challenges(outcomes))

    def _challenges(self, outcomes: dict[SchemeCheck, str]) -> list[str]:
        challenges: dict[str, str] = {}
        for alternative in self.alternatives:
            for check in alternative:
                scheme = check.scheme
                if scheme.name in challenges or scheme.kind == MUTUAL_TLS:
                    continue
                error = "invalid_token" if scheme.kind == BEARER and outcomes.get(check) is REFUSED else None
                challenges[scheme.name] = self._challenge(scheme, error=error)
        return list(dict.fromkeys(challenges.values()))

    def _challenge(self, scheme: SecurityScheme, **params: str | None) -> str:
        if scheme.kind == API_KEY:  # no registered scheme; says where the key goes
            word, params = "ApiKey", {"in": scheme.location, "name": scheme.parameter}
        else:
            word = scheme.http_scheme
        if scheme.kind == BASIC:
            params["charset"] = "UTF-8"
        pairs = [f'realm="{self.realm}"'] + [f'{k}="{_quoted(v)}"' for k, v in params.items() if v]
        return f"{word} " + ", ".join(pairs)


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def compile_security(
    op: Operation, schemes: Mapping[str, SecurityScheme], verifier: Callable[[str], Verifier | None], realm: str
) -> OperationSecurity | None:
    """The operation's ``OperationSecurity``, or None when it is public (nothing to do per request).

    ``verifier(name)`` gives each scheme's verifier (None: unbound, noted by the caller)."""
    alternatives = [r for r in op.security if r]
    if not alternatives:
        return None
    compiled = []
    for requirement in alternatives:
        checks = []
        for name, scopes in requirement.items():
            verify = verifier(name)
            if verify is not None:
                checks.append(SchemeCheck(schemes[name], verify, scopes))
        compiled.append(checks)
    return OperationSecurity(op, compiled, realm)


def masked_query_names(schemes: Iterable[SecurityScheme]) -> frozenset[str]:
    """Query parameters that carry API keys: masked in the access log."""
    return frozenset(s.parameter for s in schemes if s.kind == API_KEY and s.location == QUERY)


__all__ = [
    "MAX_CREDENTIAL_LENGTH",
    "OperationSecurity",
    "VerifierBinder",
    "compile_security",
    "granted_scopes",
    "masked_query_names",
    "presence_verifier",
]
