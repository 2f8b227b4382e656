"""Every exception klue raises, in one hierarchy::

    KlueException                  (a handler raising it answers 500, or its status_code)
    ├── ConfigurationError         a mistake in a spec or in the code that uses it; no HTTP status
    │   ├── SpecError              a spec cannot be loaded (every problem, with its pointer)
    │   ├── BindingError           an x-bind-*/x-persist target cannot be used
    │   │   ├── UnboundOperationsError
    │   │   └── UnboundSecurityError
    │   ├── MergeApisException     ApiPool.merge(): one model name, two definitions
    │   ├── NoHostError            a call to an API with no host
    │   └── SchemaCompileError (ValueError)  the validation engine refused a schema
    ├── ArgumentError (ValueError) a client call's arguments, or json_to_model's data, do not
    │   │                          match the spec: the calling code's mistake (500 if it escapes)
    │   └── UnknownPropertyError (TypeError)  a model built with a keyword its schema does not declare
    ├── HTTPError                  what a server answers, by status
    │   ├── RequestError           4xx: the request's fault
    │   │   ├── ValidationError          400 (field ``errors``)
    │   │   ├── Unauthorized             401 (``challenges``)
    │   │   │   └── Forbidden            403
    │   │   ├── NotFound                 404
    │   │   ├── MethodNotAllowed         405
    │   │   ├── NotAcceptable            406
    │   │   ├── PayloadTooLarge          413
    │   │   └── UnsupportedMediaType     415
    │   └── InternalServerError    5xx: the server's fault (details stay in its log)
    │       └── ResponseValidationError  a handler's answer does not match the spec
    └── ClientError                a call to another service failed (``method``, ``url``, ``attempts``)
        ├── TransportError         no answer
        │   ├── CallConnectionError      could not connect, or the connection broke
        │   ├── CallTimeout              no answer in time
        │   └── CircuitOpenError         not sent: the host failed too often
        ├── RemoteError            the service answered non-2xx (its ``status_code`` and ``body``)
        └── InvalidResponseError   a 2xx that is not what the spec declares
            └── ResponseTooLarge         over max_response_size

A handler can ``raise NotFound("no such pet")`` and the client gets a 404.
Nothing here imports Flask, werkzeug or requests: every program imports
this module, and a client-only one should not pay for a server's stack.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class KlueException(Exception):
    """Base of all klue errors; ``status_code`` is the HTTP status it maps to."""

    status_code: int = 500
    #: A short, stable, machine-readable name for the kind of error.
    code: str = "INTERNAL_ERROR"

    def __init__(self, message: str = "", *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments defeat Exception's default pickling (and
        # copy.copy); rebuild from the attributes instead, for every subclass.
        return (_rebuild, (type(self), self.args, self.__dict__.copy()))


def _rebuild(cls: type[KlueException], args: tuple[Any, ...], state: dict[str, Any]) -> KlueException:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


#: The seed's README spells it this way; kept so its snippets run unchanged.
KlueExeption = KlueException


@dataclass(frozen=True)
class FieldError:
    """One invalid input: where it was (``body``, ``query``...), which
    parameter or field, and why."""

    location: str
    name: str
    message: str

    def __str__(self) -> str:
        if not self.name:
            return f"{self.location}: {self.message}"
        kind = "parameter" if self.location in ("path", "query", "header", "cookie", "formData") else "field"
        return f"{self.location} {kind} '{self.name}': {self.message}"

    def to_json(self) -> dict[str, str]:
        return {"in": self.location, "name": self.name, "message": self.message}


class ConfigurationError(KlueException):
    """A spec, or the code that loads, binds or calls it, is wrong: fixed by
    editing, never by retrying. It has no HTTP meaning (``status_code`` None;
    a server that meets one answers 500)."""

    status_code = None  # type: ignore[assignment]
    code = "CONFIGURATION_ERROR"


class HTTPError(KlueException):
    """An error with the HTTP status a server answers with."""


class RequestError(HTTPError):
    """4xx: the request is at fault."""

    status_code = 400
    code = "BAD_REQUEST"


class _WithFieldErrors(KlueException):
    """An error naming each bad parameter or field (``errors``); the message joins them."""

    def __init__(self, message: str = "", *, errors: Sequence[FieldError] = (), status_code: int | None = None) -> None:
        self.errors = list(errors)
        if not message and self.errors:
            message = "; ".join(str(e) for e in self.errors)
        super().__init__(message, status_code=status_code)

    @classmethod
    def for_field(cls, location: str, name: str, message: str) -> Any:
        return cls(errors=[FieldError(location, name, message)])


class ValidationError(RequestError, _WithFieldErrors):
    """A request does not match the spec: each bad parameter or field is in ``errors``."""

    status_code = 400
    code = "VALIDATION_ERROR"


class ArgumentError(_WithFieldErrors, ValueError):
    """What code gave klue does not match the spec: a client call's arguments
    (checked before anything is sent) or ``json_to_model``'s data. Each bad
    argument or field is in ``errors``. The mistake is the calling code's, so
    when it escapes a handler the server answers 500, never 400."""

    code = "INVALID_ARGUMENTS"


class UnknownPropertyError(ArgumentError, TypeError):
    """A model was given property names its definition does not declare and
    does not allow (``api.model.Pet(nme="x")``): a ``TypeError``, as Python's
    own ``f() got an unexpected keyword argument``, and an ``ArgumentError``
    whose ``errors`` name each unknown property. ``model`` is the definition's
    name, ``unknown`` the names refused, ``known`` the declared ones."""

    code = "UNKNOWN_PROPERTY"

    def __init__(
        self, model: str, unknown: Sequence[str], known: Sequence[str], why: str = "", *, keywords: bool = True
    ) -> None:
        self.model, self.unknown, self.known = model, list(unknown), list(known)
        super().__init__(
            _unknown_property_message(model, self.unknown, self.known, why, keywords),
            errors=[FieldError(model, name, "is not a property of this model") for name in self.unknown],
        )


def _unknown_property_message(model: str, unknown: list[str], known: list[str], why: str, keywords: bool) -> str:
    """``Pet() got an unexpected keyword argument 'nme' (did you mean 'name'?); its properties: ...``."""
    import difflib  # only on this error's path: every program imports this module

    plural = len(unknown) > 1
    listed = ", ".join(repr(name) for name in unknown[:_LISTED])
    if len(unknown) > _LISTED:
        listed += f" and {len(unknown) - _LISTED} more"
    if keywords:
        message = (
            f"{model}() got {'unexpected keyword arguments' if plural else 'an unexpected keyword argument'} {listed}"
        )
    else:
        message = f"{model} has no propert{'ies' if plural else 'y'} {listed}"
    guesses = {name: found[0] for name in unknown[:_LISTED] if (found := difflib.get_close_matches(name, known, n=1))}
    if len(unknown) == 1 and guesses:
        message += f" (did you mean {guesses[unknown[0]]!r}?)"
    elif guesses:
        message += " (did you mean " + ", ".join(f"{found!r} for {name!r}" for name, found in guesses.items()) + "?)"
    known_text = ", ".join(known[:_LISTED]) if known else "none"
    if len(known) > _LISTED:
        known_text += f"... ({len(known) - _LISTED} more)"
    return f"{message}; its properties: {known_text}" + (f" ({why})" if why else "")


_LISTED = 20  # names a message lists at most


class InternalServerError(HTTPError):
    """Something failed on the server side; its details stay in the server log."""

    status_code = 500
    code = "INTERNAL_ERROR"


class ResponseValidationError(InternalServerError):
    """A handler returned something that its operation's response schema rejects."""

    code = "INVALID_RESPONSE"


class Unauthorized(RequestError):
    """No credential, or one that was refused: 401. ``challenges`` become
    ``WWW-Authenticate`` headers (``Bearer realm="api"``...)."""

    status_code = 401
    code = "UNAUTHORIZED"

    def __init__(self, message: str = "", *, challenges: Sequence[str] = (), status_code: int | None = None) -> None:
        self.challenges = list(challenges)
        super().__init__(message, status_code=status_code)


class Forbidden(Unauthorized):
    """Valid credentials that do not grant what the operation needs (scopes): 403."""

    status_code = 403
    code = "FORBIDDEN"


class NotFound(RequestError):
    status_code = 404
    code = "NOT_FOUND"


class MethodNotAllowed(RequestError):
    status_code = 405
    code = "METHOD_NOT_ALLOWED"


class NotAcceptable(RequestError):
    """None of the media types the response may be sent as is in the request's ``Accept``: 406."""

    status_code = 406
    code = "NOT_ACCEPTABLE"


class PayloadTooLarge(RequestError):
    status_code = 413
    code = "PAYLOAD_TOO_LARGE"


class UnsupportedMediaType(RequestError):
    status_code = 415
    code = "UNSUPPORTED_MEDIA_TYPE"


class MergeApisException(ConfigurationError):
    """``ApiPool.merge()`` found two models with one name and different definitions."""

    code = "MERGE_CONFLICT"


@dataclass(frozen=True)
class SpecProblem:
    """One problem in a spec file, located by file, operation and JSON pointer."""

    source: str
    pointer: str
    reason: str
    operation: str = ""

    def __str__(self) -> str:
        where = f"{self.source}"
        if self.operation:
            where += f": {self.operation}"
        return f"{where}: at {self.pointer or '/'}: {self.reason}"


class SpecError(ConfigurationError):
    """A spec cannot be loaded; ``problems`` lists every problem found."""

    code = "SPEC_ERROR"

    def __init__(self, problems: Sequence[SpecProblem]) -> None:
        self.problems = list(dict.fromkeys(problems))  # one problem may be seen twice
        lines = [str(p) for p in self.problems]
        head = lines[0] if len(lines) == 1 else f"{len(lines)} problems in spec:\n  " + "\n  ".join(lines)
        super().__init__(head)

    @classmethod
    def single(cls, source: str, pointer: str, reason: str, operation: str = "") -> SpecError:
        return cls([SpecProblem(source, pointer, reason, operation)])


class BindingError(ConfigurationError):
    """An ``x-bind-server``/``x-decorate-*``/``x-persist`` target cannot be used."""

    code = "BINDING_ERROR"


class UnboundOperationsError(BindingError):
    """``spawn_api`` found operations with no handler; ``operations`` names them."""

    def __init__(self, api_name: str, operations: Sequence[str]) -> None:
        self.operations = list(operations)
        super().__init__(
            f"API '{api_name}': {len(self.operations)} operation(s) have no x-bind-server "
            f"(add one, or x-no-bind-server: true to skip them): " + ", ".join(self.operations)
        )


class UnboundSecurityError(BindingError):
    """``spawn_api`` found security schemes that operations require and nothing verifies."""

    def __init__(self, api_name: str, needed: Mapping[str, Sequence[str]]) -> None:
        self.schemes = {name: list(ops) for name, ops in needed.items()}
        listed = "; ".join(f"{name} (needed by {', '.join(ops)})" for name, ops in self.schemes.items())
        super().__init__(
            f"API '{api_name}': {len(self.schemes)} security scheme(s) have no verifier (add x-bind-security: "
            f"pkg.module.verify to the scheme, or give spawn_api(security={{name: verify}})): {listed}"
        )


class ClientError(KlueException):
    """A client call failed; ``method`` and ``url`` say which, ``attempts`` how often it was tried."""

    status_code = 502
    code = "CALL_FAILED"

    def __init__(
        self, message: str, *, method: str = "", url: str = "", attempts: int = 0, status_code: int | None = None
    ) -> None:
        self.method, self.url, self.attempts = method, url, attempts
        super().__init__(message, status_code=status_code)


class RemoteError(ClientError):
    """The called service answered with a non-2xx status; ``body`` is its decoded error body.

    ``status_code`` is the called service's status. When a ``ClientError``
    escapes a handler, the server does not pass that status on: its own
    client did nothing wrong, so it answers 502 (504 for a timeout), and the
    called URL stays in the server log."""

    code = "REMOTE_ERROR"

    def __init__(self, message: str, *, status_code: int, body: Any = None, headers: Any = None, **where: Any) -> None:
        self.body = body
        self.headers = headers
        super().__init__(message, status_code=status_code, **where)


class TransportError(ClientError):
    """No answer came: the connection failed, timed out, or was never tried."""

    code = "CALL_FAILED"


class CallTimeout(TransportError):
    """The called service did not answer in time (after the last attempt)."""

    status_code = 504
    code = "CALL_TIMEOUT"


class CallConnectionError(TransportError):
    """The called service could not be reached, or dropped the connection."""

    code = "CONNECTION_FAILED"


class InvalidResponseError(ClientError):
    """The called service answered 2xx with a body that is not what its spec declares."""

    code = "INVALID_REMOTE_RESPONSE"


class ResponseTooLarge(InvalidResponseError):
    """The called service's response body is over ``max_response_size`` (decompressed): the rest was not read."""

    code = "RESPONSE_TOO_LARGE"


class CircuitOpenError(TransportError):
    """The called host failed too many calls in a row: this one was not sent."""

    status_code = 503
    code = "CIRCUIT_OPEN"


class NoHostError(ConfigurationError):
    """A call was made to an API whose spec has no host and none was given to ``ApiPool.add``."""

    code = "NO_HOST"


class SchemaCompileError(ConfigurationError, ValueError):
    """jsonschema-rs refused a schema: the spec's checks normally catch it first, with its pointer."""

    code = "SCHEMA_COMPILE_ERROR"
