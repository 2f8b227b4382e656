"""Calling one operation: ``api.client.get_pet(pet_id=3).call()``.

An ``OperationCaller`` is compiled per operation the first time it is used:
an encoder, prepared validator and text form for each parameter, the body's
encoder and validator, and each declared response's validator and decoder.
Building a ``Call`` checks the arguments (before anything is sent);
``Call.call()`` sends it and returns the decoded result.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests

from ..context import CALLER_ID_HEADER, CALLER_PATH_HEADER, call_id_for_outgoing, get_call_path
from ..exceptions import ArgumentError, ClientError, FieldError, InvalidResponseError, RemoteError, ValidationError
from ..importing import import_object
from ..schema.validation import REQUEST, RESPONSE
from ..spec.interface import BODY, COLLECTION_SEPARATORS, FORM, HEADER, PATH, QUERY, Operation, Parameter, by_status
from ..wire import dump_json, is_json_media_type, loads_json
from .credentials import Applied, OperationCredentials
from .transport import OutgoingRequest

if TYPE_CHECKING:
    from ..schema.compiler import SchemaCompiler
    from .endpoint import Endpoint

#: Keyword arguments that configure a call rather than fill a parameter.
CALL_OPTIONS = ("max_attempts", "read_timeout", "connect_timeout", "request_headers", "force_retry")


def _text(value: Any) -> str:
    """A JSON scalar as it travels in a URL, header or form field."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _ParameterEncoder:
    """Python value -> checked JSON value -> text (or list of texts for ``multi``)."""

    __slots__ = ("encode", "param", "separator", "validate")

    def __init__(self, param: Parameter, schemas: SchemaCompiler) -> None:
        self.param = param
        self.encode = schemas.encoder(param.schema, REQUEST)
        self.validate = schemas.validator(param.schema, direction=REQUEST).validate
        self.separator = COLLECTION_SEPARATORS.get(param.collection_format)

    def __call__(self, value: Any) -> Any:
        param = self.param
        if param.is_file:
            return value
        data = self.encode(value)
        self.validate(data, param.location, param.name)
        if param.collection_format == "json":
            return json.dumps(data, separators=(",", ":"))
        if param.collection_format in ("deepObject", "form-object") and isinstance(data, dict):
            # {name: {"kind": "cat"}} -> name[kind]=cat (deepObject) or kind=cat (form)
            deep = param.collection_format == "deepObject"
            return {
                (f"{param.name}[{k}]" if deep else k): ([_text(i) for i in v] if isinstance(v, list) else _text(v))
                for k, v in data.items()
            }
        texts: str | list[str]
        if isinstance(data, list):
            texts = [_text(v) for v in data]
            if self.separator is not None:
                if any(self.separator in t for t in texts):
                    raise ValidationError.for_field(
                        param.location,
                        param.name,
                        f"an item contains the separator "
                        f"{self.separator!r} of collectionFormat {param.collection_format}",
                    )
                texts = self.separator.join(texts)
        else:
            texts = _text(data)
        if param.location == PATH and texts in ("", ".", ".."):
            raise ValidationError.for_field(PATH, param.name, f"{texts!r} would change the URL's path")
        if param.location == HEADER:
            check_header_value(param.name, texts if isinstance(texts, str) else ",".join(texts))
        return texts


def check_header_value(name: str, text: Any) -> None:
    """Refuse what HTTP cannot carry in a header, before anything is sent."""
    problem = None
    if not isinstance(text, str):
        problem = f"a header value must be a string, not {type(text).__name__}"
    elif any(c in text for c in "\r\n\0"):
        problem = "a header value cannot contain CR, LF or NUL"
    elif text[:1].isspace():
        problem = "a header value cannot start with white space"
    else:
        try:
            text.encode("latin-1")
        except UnicodeEncodeError:
            problem = "a header value must be latin-1 text (encode other text first)"
    if problem:
        raise ValidationError.for_field(HEADER, name, problem)


@dataclass
class _ResponseDecoder:
    validate: Callable[..., Any] | None
    decode: Callable[[Any], Any] | None


@dataclass
class PreparedRequest:
    """A call's arguments, checked and encoded, ready to send."""

    path: str
    query: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    form: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Any] = field(default_factory=dict)
    body: bytes | None = None
    #: (file object, position when the call was built): rewound before each attempt.
    rewind: list[tuple[Any, int]] = field(default_factory=list)


class OperationCaller:
    """Compiled per operation: arguments in, a ``Call`` out; responses in, results out."""

    def __init__(
        self, op: Operation, schemas: SchemaCompiler, endpoint: Endpoint, credentials: OperationCredentials
    ) -> None:
        self.op = op
        self.endpoint = endpoint
        self.encoders = {p.arg_name: _ParameterEncoder(p, schemas) for p in op.parameters}
        self.required = frozenset(p.arg_name for p in op.parameters if p.required)
        self.body = op.body
        if op.body is not None:
            self.encode_body = schemas.encoder(op.body.schema, REQUEST)
            body_validator = schemas.validator(op.body.schema, direction=REQUEST)
            self.validate_body = body_validator.validate
            # A body that validates as it is, JSON types only, is sent as it is:
            # the encoder would give it back unchanged (readOnly fields, which it
            # drops, fail validation; formats' to_wire keep strings).
            self.body_is_final = body_validator.accepts_as_is if schemas.wire_text_is_final else None
        self.responses = {
            status: _ResponseDecoder(
                schemas.validator(r.schema, direction=RESPONSE).validate, schemas.decoder(r.schema)
            )
            if r.schema is not None
            else _ResponseDecoder(None, None)
            for status, r in op.responses.items()
        }
        self.send_decorator = (
            import_object(op.bindings.decorate_request, what=f"x-decorate-request of {op.label}")
            if op.bindings.decorate_request
            else None
        )
        self._send: Callable[..., requests.Response] | None = None
        self.credentials = credentials
        self.accept = ", ".join(op.produces) or "application/json"
        #: The operation declares a body that is not JSON: such a response is returned as str or bytes.
        self.reads_other = any(not is_json_media_type(m) for m in op.produces)
        self.multipart_only = (
            "multipart/form-data" in op.consumes and "application/x-www-form-urlencoded" not in op.consumes
        )

    @property
    def send(self) -> Callable[..., requests.Response]:
        """The session's ``request``, decorated once by ``x-decorate-request``."""
        if self._send is None:
            send = self.endpoint.transport.session.request
            self._send = self.send_decorator(send) if self.send_decorator is not None else send
        return self._send

    # -- building a call -------------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Call:
        self.credentials.check()  # a ClientError naming the schemes, before anything is sent
        options = {k: kwargs.pop(k) for k in CALL_OPTIONS if k in kwargs and k not in self.encoders}
        return Call(self, self.prepare(args, kwargs), options)

    def prepare(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> PreparedRequest:
        errors: list[FieldError] = []
        body = self._body(args, errors)
        unknown = sorted(set(kwargs) - set(self.encoders))
        if unknown:
            known = ", ".join(sorted(self.encoders)) or "none"
            errors.extend(
                FieldError("argument", name, f"is not a parameter of {self.op.label} (parameters: {known})")
                for name in unknown
            )
        for name in sorted(self.required - {k for k, v in kwargs.items() if v is not None}):
            errors.append(FieldError(self.encoders[name].param.location, self.encoders[name].param.name, "is required"))
        prepared = PreparedRequest(path=self.op.path, body=body)
        for name, value in kwargs.items():
            if name not in self.encoders or value is None:
                continue
            try:
                self._place(prepared, self.encoders[name], value)
            except ValidationError as e:
                errors.extend(e.errors)
        if errors:
            raise ArgumentError(f"{self.op.label}: " + "; ".join(map(str, errors)), errors=errors)
        return prepared

    def _body(self, args: tuple[Any, ...], errors: list[FieldError]) -> bytes | None:
        expected = 1 if self.body is not None else 0
        if len(args) > expected:
            what = "its body as the only positional argument" if expected else "no positional argument"
            errors.append(FieldError("argument", "", f"{self.op.label} takes {what}, got {len(args)}"))
            return None
        if not args or args[0] is None:
            if self.body is not None and self.body.required:
                errors.append(FieldError(BODY, self.body.name, "a request body is required"))
            return None
        if self.body is not None and self.body.raw:  # octet-stream, text...: sent as given
            if isinstance(args[0], (bytes, str)):
                return args[0].encode("utf-8") if isinstance(args[0], str) else args[0]
            errors.append(
                FieldError(
                    BODY,
                    self.body.name,
                    f"a {self.body.media_types[0]} body is bytes or text, not {type(args[0]).__name__}",
                )
            )
            return None
        if self.body_is_final is not None:
            try:
                if self.body_is_final(args[0]):
                    return dump_json(args[0])  # TypeError for a model, a date...: encoded below
            except (TypeError, ValueError, RecursionError):
                pass
        data = self.encode_body(args[0])
        try:
            self.validate_body(data, BODY, "")
            return dump_json(data)
        except ValidationError as e:
            errors.extend(e.errors)
        except (TypeError, ValueError) as e:  # NaN, infinity, objects JSON has no form for
            errors.append(FieldError(BODY, "", f"the body cannot be sent as JSON: {e}"))
        return None

    @staticmethod
    def _place(prepared: PreparedRequest, encoder: _ParameterEncoder, value: Any) -> None:
        param = encoder.param
        encoded = encoder(value)
        if param.location == PATH:
            prepared.path = prepared.path.replace("{" + param.name + "}", quote(encoded, safe=""))
        elif param.location == QUERY:
            if isinstance(encoded, dict):  # an object spread over several keys
                prepared.query.update(encoded)
            else:
                prepared.query[param.name] = encoded
        elif param.location == HEADER:
            prepared.headers[param.name] = encoded
        elif param.location == FORM:
            (prepared.files if param.is_file else prepared.form)[param.name] = encoded
            stream = _file_object(encoded) if param.is_file else None
            if stream is not None:
                prepared.rewind.append((stream, stream.tell()))
        else:  # cookie
            prepared.headers["Cookie"] = "; ".join(
                filter(None, [prepared.headers.get("Cookie"), f"{param.name}={encoded}"])
            )

    # -- reading the response --------------------------------------------------------

    def result(self, response: requests.Response, method: str, url: str, attempts: int) -> Any:
        status = response.status_code
        decoder = by_status(self.responses, status)
        where = dict(method=method, url=url, attempts=attempts)
        if 200 <= status < 300:
            has_body = method != "HEAD" and status not in (204, 205)
            if self.reads_other and has_body and (other := _non_json_body(response)) is not None:
                return other
            return self._success(response, decoder, where)
        body = _parse_body(response)
        if decoder is not None and decoder.validate is not None and body is not None:
            try:
                decoder.validate(body, "response")
                body = decoder.decode(body) if decoder.decode else body
            except ValidationError:
                pass  # an error body off the spec is still worth handing over as is
        reason = response.reason or ""
        raise RemoteError(
            f"{method} {url}: {status} {reason}".rstrip(),
            status_code=status,
            body=body,
            headers=dict(response.headers),
            **where,
        )

    @staticmethod
    def _success(response: requests.Response, decoder: _ResponseDecoder | None, where: dict[str, Any]) -> Any:
        if where["method"] == "HEAD" or response.status_code in (204, 205):
            return None  # no body, whatever the headers say
        if not response.content and (decoder is None or decoder.validate is None):
            return None
        try:
            data = loads_json(response.content)
        except (ValueError, RecursionError) as e:
            raise InvalidResponseError(
                f"{where['method']} {where['url']}: response is not valid JSON: {e}", **where
            ) from None
        if decoder is None or decoder.validate is None:
            return data
        try:
            decoder.validate(data, "response")
        except ValidationError as e:
            raise InvalidResponseError(
                f"{where['method']} {where['url']}: response does not match the spec: {e}", **where
            ) from None
        return decoder.decode(data) if decoder.decode else data


def _non_json_body(response: requests.Response) -> str | bytes | None:
    """A text (``str``) or binary (``bytes``) body, by its Content-Type; None for JSON."""
    media_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if not media_type or is_json_media_type(media_type):
        return None
    return response.text if media_type.startswith("text/") else response.content


def _parse_body(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return loads_json(response.content)
    except (ValueError, RecursionError):
        return response.text


class Call:
    """One prepared call; ``call()`` sends it (again, each time it is called)."""

    def __init__(self, caller: OperationCaller, request: PreparedRequest, options: dict[str, Any]) -> None:
        self.caller = caller
        self.request = request
        self.options = check_options(options)

    def __repr__(self) -> str:
        return f"<Call {self.caller.op.label} of API '{self.caller.endpoint.api_name}'>"

    def call(self, **options: Any) -> Any:
        """Send the request and return the decoded result.

        Failures (non-2xx, timeouts, connection errors, invalid responses) are
        ``ClientError``s handed to the API's ``error_callback``, whose return
        value becomes the result; without a callback they are raised.
        """
        settings = {**self.options, **check_options(options)}
        if "request_headers" in self.options and "request_headers" in options:
            settings["request_headers"] = {**self.options["request_headers"], **options["request_headers"]}
        try:
            return self._send(settings)
        except ClientError as e:
            callback = self.caller.endpoint.error_callback
            if callback is None:
                raise
            return callback(e)

    def _send(self, settings: dict[str, Any]) -> Any:
        caller, request = self.caller, self.request
        op = caller.op
        url = caller.endpoint.base_url + request.path
        headers = {"Accept": caller.accept, **_trace_headers(), **request.headers}
        query = dict(request.query)
        applied = caller.credentials.apply(headers, query) if caller.credentials.chosen else None
        kwargs: dict[str, Any] = {"params": query, "headers": headers, "allow_redirects": False}
        if request.body is not None:
            headers["Content-Type"] = op.body.media_types[0] if op.body else "application/json"
            kwargs["data"] = request.body
        elif request.form or request.files:
            if request.files or caller.multipart_only:
                # Form fields as parts without a file name: requests then sends multipart.
                kwargs["files"] = [*_parts(request.form), *_parts(request.files)]
            else:
                kwargs["data"] = request.form
        headers.update(settings.get("request_headers") or {})
        try:
            return self._exchange(url, settings, kwargs, applied)
        except ClientError as e:
            if applied is not None:
                _redact(e, applied)
            raise

    def _exchange(self, url: str, settings: dict[str, Any], kwargs: dict[str, Any], applied: Applied | None) -> Any:
        """Hand the request to the transport and decode the answer; a refused OAuth2 token is renewed once."""
        caller = self.caller
        endpoint = caller.endpoint
        transport = endpoint.transport
        request = OutgoingRequest(
            method=caller.op.method,
            url=url,
            host=endpoint.host,
            send=caller.send,
            timeout=(
                settings.get("connect_timeout") or endpoint.timeout,
                settings.get("read_timeout") or endpoint.timeout,
            ),
            max_attempts=settings.get("max_attempts") or transport.retry.max_attempts,
            force_retry=bool(settings.get("force_retry")),
            options=kwargs,
            rewind=self.request.rewind,
        )
        response = transport.handle_request(request)
        if response.status_code == 401 and applied is not None and applied.refresh():
            response.close()
            renewed = caller.credentials.apply(kwargs["headers"], kwargs["params"])
            applied.secrets.extend(renewed.secrets)
            response = transport.handle_request(request)
        with response:
            return caller.result(response, request.method, url, request.attempts)


def _redact(error: ClientError, applied: Applied) -> None:
    """No credential in a client error's message, nor in its cause's (requests quotes URLs and header values)."""
    error.message = applied.redact(error.message)
    error.args = (error.message,)
    error.__cause__ = None
    error.__suppress_context__ = True


def check_options(options: dict[str, Any]) -> dict[str, Any]:
    """Refuse unknown or nonsensical call options, before anything is sent."""
    unknown = set(options) - set(CALL_OPTIONS)
    if unknown:
        raise TypeError(f"unknown call option(s): {', '.join(sorted(unknown))} (options: {', '.join(CALL_OPTIONS)})")
    attempts = options.get("max_attempts")
    if attempts is not None and (not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 1):
        raise ValueError(f"max_attempts must be a whole number of at least 1, not {attempts!r}")
    for name in ("connect_timeout", "read_timeout"):
        value = options.get(name)
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0):
            raise ValueError(f"{name} must be a number of seconds above 0, not {value!r}")
    headers = options.get("request_headers")
    if headers is not None:
        if not isinstance(headers, dict):
            raise ValueError(f"request_headers must be a dict, not {type(headers).__name__}")
        for name, value in headers.items():
            check_header_value(str(name), value)
    return options


def _parts(fields: dict[str, Any]) -> list[tuple[str, Any]]:
    """Form fields or files as requests' multipart parts; lists become repeated parts."""
    parts = []
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            parts.append((name, item if not isinstance(item, str) else (None, item)))
    return parts


def _file_object(value: Any) -> Any:
    stream = value[1] if isinstance(value, tuple) and len(value) > 1 else value
    return stream if hasattr(stream, "seek") and hasattr(stream, "tell") and stream.seekable() else None


def _trace_headers() -> dict[str, str]:
    """Call ID and path of the request being served, or a new call ID outside one."""
    headers = {CALLER_ID_HEADER: call_id_for_outgoing()}
    call_path = get_call_path()
    if call_path:
        headers[CALLER_PATH_HEADER] = call_path
    return headers


__all__ = ["CALL_OPTIONS", "Call", "OperationCaller"]
