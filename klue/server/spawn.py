"""``spawn_api``: one Flask route per bound operation.

Everything an operation needs per request (handler with its decorators,
request parser, response builder) is built here, once. The view function
then only opens the call context, parses, calls, and builds the response.
"""

from __future__ import annotations

import inspect
import logging
import re
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from time import perf_counter
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from flask import Flask, current_app, g, request
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import MethodNotAllowed as HTTPMethodNotAllowed
from werkzeug.exceptions import NotFound as HTTPNotFound

from ..context import CALLER_ID_HEADER, open_call
from ..exceptions import BindingError, KlueException, MethodNotAllowed, NotFound, UnboundOperationsError
from ..importing import import_object
from ..logsafe import loggable
from ..schema.validation import REQUEST, RESPONSE
from ..spec.interface import PATH_TEMPLATE_VARIABLE, Operation
from ..wire import NOSNIFF_HEADER
from .docs import register_docs
from .errors import ErrorBodies, warn_unfilled
from .mock import MOCK_MODES, mock_handler
from .request import RequestParser
from .response import ErrorRenderer, ResponseBuilder, pick_mimetype
from .security import OperationSecurity, VerifierBinder, compile_security, masked_query_names, presence_verifier

if TYPE_CHECKING:
    from ..api import API

Handler = Callable[..., Any]
#: One line per request: API, method, path, status, time, call ID and call path.
access_log = logging.getLogger("klue.access")


def flask_rule(base_path: str, path: str) -> tuple[str, dict[str, str]]:
    """``/pets/{pet-id}`` -> (``/pets/<p0>``, {"p0": "pet-id"}): spec names need not be identifiers."""
    names: dict[str, str] = {}

    def replace(match: re.Match[str]) -> str:
        var = f"p{len(names)}"
        names[var] = match.group(1)
        return f"<{var}>"

    return base_path + PATH_TEMPLATE_VARIABLE.sub(replace, path), names


_DOTTED = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")


def bind_handler(op: Operation, decorator: Handler | None) -> list[Handler] | None:
    """Import the operation's handler and wrap it in its decorators; None if unbound.

    ``x-bind-server`` must import. Without it, an ``operationId`` that is a
    dotted path to an importable function (as specs written for connexion
    have) is the handler; one that does not import leaves the operation unbound.
    The answer is every stage, innermost first: the handler, then it in
    ``x-decorate-server``, then in ``decorator``; the last one is what runs.
    """
    if op.bindings.server:
        handler = import_object(op.bindings.server, what=f"x-bind-server of {op.label}")
        if not callable(handler):
            raise KlueException(f"x-bind-server of {op.label}: {op.bindings.server} is not callable")
    elif op.operation_id and _DOTTED.match(op.operation_id):
        try:
            handler = import_object(op.operation_id, what=f"operationId of {op.label}")
        except BindingError:
            return None
        if not callable(handler):
            return None
    else:
        return None
    stages = [handler]
    if op.bindings.decorate_server:
        decorate = import_object(op.bindings.decorate_server, what=f"x-decorate-server of {op.label}")
        stages.append(decorate(handler))
    return _decorated(stages, decorator)


def _decorated(stages: list[Handler], decorator: Handler | None) -> list[Handler]:
    return [*stages, decorator(stages[-1])] if decorator is not None else stages


def is_async(func: Any) -> bool:
    """Whether ``func``, or a function it wraps (``functools.wraps``' ``__wrapped__``), is ``async def``."""
    seen = 0
    while func is not None and seen < 100:  # a __wrapped__ cycle must not hang spawn_api
        # an instance of a class with ``async def __call__`` too
        if inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
            inspect.getattr_static(type(func), "__call__", None)
        ):
            return True
        func, seen = getattr(func, "__wrapped__", None), seen + 1
    return False


async def _awaited(result: Awaitable[Any]) -> Any:
    return await result


def runnable(app: Flask, op: Operation, stages: Sequence[Handler]) -> Handler:
    """What the view calls: the outermost stage, synchronous.

    A stage with nothing ``async def`` in it (the handler, its decorators, what
    they wrap) is called as it is: nothing is checked per request. Otherwise it
    runs through Flask's async support (``app.ensure_sync``: asgiref's
    ``async_to_sync``, an event loop in another thread, the context copied
    there and back): an ``async def`` outer stage directly; a sync one (a sync
    decorator around an async handler) is called and its result, when
    awaitable, awaited there.
    """
    outer = stages[-1]
    first_async = next((stage for stage in stages if is_async(stage)), None)
    if first_async is None:
        return outer
    try:
        import asgiref.sync  # noqa: F401  # what Flask's ensure_sync runs coroutines with
    except ImportError:
        raise BindingError(
            f"{op.label}: {_name(first_async)} is async (async def), and serving it needs "
            "asgiref (Flask's async support): pip install 'klue-client-server[async]'"
        ) from None
    if _gevent_patched():
        raise BindingError(
            f"{op.label}: {_name(first_async)} is async (async def), which cannot run in a gevent-patched "
            "process (gevent's greenlets share one thread, and asyncio one running loop per thread): serve "
            "it from threads (klue serve in one process, or gunicorn --worker-class gthread)"
        )
    if inspect.iscoroutinefunction(outer):
        return app.ensure_sync(outer)
    await_result = app.async_to_sync(_awaited)

    def call_and_await(*args: Any, **kwargs: Any) -> Any:
        result = outer(*args, **kwargs)
        return await_result(result) if inspect.isawaitable(result) else result

    return call_and_await


def _gevent_patched() -> bool:
    """Whether gevent has patched threading here (gunicorn's gevent workers do)."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and bool(monkey.is_module_patched("threading"))


def _name(func: Any) -> str:
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', type(func).__qualname__)}"


#: Requests whose body is larger get a 413 (``spawn_api(app, max_body_size=...)``).
DEFAULT_MAX_BODY_SIZE = 10 * 1024 * 1024


@dataclass(frozen=True)
class CompiledOperation:
    """What a request to one operation needs, all of it built at spawn time."""

    op: Operation
    handler: Handler
    parser: RequestParser
    builder: ResponseBuilder
    errors: ErrorRenderer
    security: OperationSecurity | None
    #: Flask rule variable -> the spec's path parameter name.
    path_names: dict[str, str]
    #: Query parameters whose values the access log masks (apiKey schemes in the query).
    masked: frozenset[str]


def compile_operation(
    api: API, op: Operation, handler: Handler, path_names: dict[str, str], security: OperationSecurity | None
) -> CompiledOperation:
    return CompiledOperation(
        op=op,
        handler=handler,
        parser=RequestParser(op, api.schemas),
        builder=ResponseBuilder(op, api.schemas),
        errors=error_renderer(api, op),
        security=security,
        path_names=path_names,
        masked=masked_query_names(api.spec.security_schemes.values()),
    )


def error_renderer(api: API, op: Operation | None = None) -> ErrorRenderer:
    """The API's error bodies; with ``op``, also the error bodies it declares (compiled here)."""
    bodies = ErrorBodies(op, api.schemas) if op is not None and api.error_callback is None else None
    return ErrorRenderer(api.name, api.error_callback, api.schemas.encoder(None), bodies)


def make_view(
    api_name: str, compiled: CompiledOperation, app: Flask, max_body_size: int | None = DEFAULT_MAX_BODY_SIZE
) -> Callable[..., Any]:
    """The Flask view of one operation: open the call, check security, parse, call the handler, build the response."""
    op, handler, security = compiled.op, compiled.handler, compiled.security
    parse, build, render = compiled.parser.parse, compiled.builder.build, compiled.errors.render
    path_names, masked = compiled.path_names, compiled.masked
    mimetype = pick_mimetype(op.produces)
    reads_body = compiled.parser.reads_body
    app_config = app.config  # read per request (it may change), without the current_app proxy

    def view(**rule_args: str) -> Any:
        started = perf_counter()
        req = request._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup, not ten
        call_id, call_path = open_call(api_name, req.environ)
        if reads_body:
            # werkzeug refuses more, bodies and forms alike (413); the app's own limit wins if smaller
            app_limit = app_config.get("MAX_CONTENT_LENGTH")
            req.max_content_length = min(filter(None, (app_limit, max_body_size)), default=None)
        try:
            if security is not None:  # before the body is read: strangers cannot make us parse it
                request_globals = g._get_current_object()
                request_globals.principal, request_globals.principals = security.authorize(req)
            path_args = {path_names[k]: v for k, v in rule_args.items()}
            args, kwargs = parse(req, path_args)
            response = build(handler(*args, **kwargs), req.environ.get("HTTP_ACCEPT"))
        except Exception as e:  # every failure becomes a JSON error, never a traceback
            response = render(e, op, call_id, mimetype)
        headers = response.headers
        headers[CALLER_ID_HEADER] = call_id
        headers[NOSNIFF_HEADER[0]] = NOSNIFF_HEADER[1]
        if access_log.isEnabledFor(logging.INFO):
            access_log.info(
                "%s %s %s -> %s in %.1f ms (call %s, path %s) from %s",
                api_name,
                req.method,
                loggable_url(req, masked),
                response.status_code,
                (perf_counter() - started) * 1000,
                call_id,
                call_path,
                loggable_client(req),
            )
        return response

    view.__name__ = f"{api_name}_{op.operation_id or op.method.lower()}"
    view.__doc__ = op.summary
    return view


_SENSITIVE = re.compile(r"pass|secret|token|key|auth|session|signature|credential|cookie", re.IGNORECASE)


def loggable_client(req: Any) -> str:
    """The client's address, escaped: behind ``make_app(trusted_proxies=N)`` it
    comes from ``X-Forwarded-For``, a header like any other."""
    return loggable(req.remote_addr) if req.remote_addr else "-"


def loggable_url(req: Any, masked: frozenset[str] = frozenset()) -> str:
    """The request's path and query, values of secret-looking parameters (and ``masked`` ones)
    masked, control characters escaped, cut to a bound (``klue.logsafe``)."""
    if not req.args:
        return loggable(req.path)
    query = "&".join(
        f"{name}={'***' if name in masked or _SENSITIVE.search(name) else value}"
        for name, values in req.args.lists()
        for value in values
    )
    return loggable(f"{req.path}?{query}")


@dataclass
class AppState:
    """What klue keeps on a Flask app (``app.extensions['klue']``)."""

    apis: dict[str, API] = field(default_factory=dict)
    prefixes: dict[str, API] = field(default_factory=dict)  # base path -> API
    handlers_installed: bool = False

    def api_for_path(self, path: str) -> API | None:
        for prefix, api in sorted(self.prefixes.items(), key=lambda kv: -len(kv[0])):
            if path == prefix or path.startswith(prefix + "/") or prefix == "":
                return api
        return None


def app_state(app: Flask) -> AppState:
    state: AppState = app.extensions.setdefault("klue", AppState())
    return state


def _install_error_handlers(app: Flask, state: AppState) -> None:
    """JSON 404/405 for paths under a spawned API; anything else keeps Flask's (or the app's own) handling."""
    if state.handlers_installed:
        return
    state.handlers_installed = True
    for http_error, klue_error, code in ((HTTPNotFound, NotFound, 404), (HTTPMethodNotAllowed, MethodNotAllowed, 405)):
        previous = app.error_handler_spec.get(None, {}).get(code, {}).get(http_error)
        app.register_error_handler(http_error, _json_error_handler(state, klue_error, previous))


#: Stands for an encoded slash (``%2F``) while a raw path is matched against the routes.
_SLASH_MARK = "\ue000"
_ENCODED_SLASH = re.compile("%2f", re.IGNORECASE)


def routed_with_encoded_slashes(app: Flask) -> Any:
    """The answer of the operation a path matches once its ``%2F`` stay inside
    their segments (GitHub's ``/git/refs/heads%2Ffeature-a``), or None.

    WSGI decodes ``%2F`` into ``/`` in ``PATH_INFO``, so such a path found no
    route. Servers that also pass the raw URI (waitress and werkzeug's
    ``REQUEST_URI``, gunicorn's ``RAW_URI``) let it be matched again here: only
    for a path that found no route, so no other request pays for it."""
    environ = request.environ
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
    raw_path = raw.split("?", 1)[0]
    if "://" in raw_path:  # the absolute form: http://host/path
        raw_path = "/" + raw_path.split("://", 1)[1].partition("/")[2]
    if not _ENCODED_SLASH.search(raw_path) or _SLASH_MARK in unquote(raw_path):
        return None
    marked = unquote(_ENCODED_SLASH.sub(_SLASH_MARK, raw_path))
    script_root = environ.get("SCRIPT_NAME", "")
    if script_root and marked.startswith(script_root):
        marked = marked[len(script_root) :]
    try:
        endpoint, args = app.url_map.bind_to_environ(environ).match(marked, method=request.method)
    except HTTPException:
        return None
    if not endpoint.startswith("klue.") or endpoint not in app.view_functions:
        return None
    restored = {name: v.replace(_SLASH_MARK, "/") if isinstance(v, str) else v for name, v in args.items()}
    return app.view_functions[endpoint](**restored)


def _json_error_handler(state: AppState, klue_error: type[KlueException], previous: Handler | None) -> Handler:
    def handle(e: Any) -> Any:
        api = state.api_for_path(request.path)
        if api is None:
            return previous(e) if previous else e
        if klue_error is NotFound and (answer := routed_with_encoded_slashes(current_app)) is not None:
            return answer
        call_id, call_path = open_call(api.name, request.environ)
        message = f"{request.method} {request.path}: " + (
            "no such path" if klue_error is NotFound else "method not allowed"
        )
        response = error_renderer(api).render(klue_error(message), None, call_id)
        response.headers[CALLER_ID_HEADER] = call_id
        response.headers[NOSNIFF_HEADER[0]] = NOSNIFF_HEADER[1]
        if getattr(e, "valid_methods", None):
            response.headers["Allow"] = ", ".join(e.valid_methods)
        if access_log.isEnabledFor(logging.INFO):  # a scan of unknown paths shows in the access log too
            masked = masked_query_names(api.spec.security_schemes.values())
            access_log.info(
                "%s %s %s -> %s (call %s, path %s) from %s",
                api.name,
                loggable(request.method),
                loggable_url(request, masked),
                response.status_code,
                call_id,
                call_path,
                loggable_client(request),
            )
        return response

    return handle


def _validated_schemas(
    operations: Iterable[Operation], mock: str | None
) -> Iterator[tuple[dict[str, Any], str | None]]:
    """The (schema, direction) pairs compiling ``operations`` validates with:
    parameters, bodies, responses (and, mocked, the responses' own checks)."""
    for op in operations:
        if op.bindings.no_server:
            continue
        for param in op.parameters:
            yield param.schema, REQUEST
        if op.body is not None:
            yield op.body.schema, REQUEST
        for response in op.responses.values():
            if response.schema is not None:
                yield response.schema, RESPONSE
                if mock is not None:
                    yield response.schema, None


def spawn_api(
    api: API,
    app: Flask,
    decorator: Handler | None = None,
    *,
    cors: bool | dict[str, Any] = False,
    mock: str | None = None,
    docs: bool = True,
    max_body_size: int | None = DEFAULT_MAX_BODY_SIZE,
    security: Mapping[str, Callable[..., Any]] | None = None,
) -> list[str]:
    """Add a route to ``app`` for every bound operation of ``api``; return their endpoint names.

    Raises ``UnboundOperationsError`` listing every operation that has neither
    ``x-bind-server`` nor ``x-no-bind-server`` (unless ``mock`` answers it),
    and ``UnboundSecurityError`` listing every required security scheme that
    has no verifier (``security={name: func}`` here, or the scheme's
    ``x-bind-security``), before adding any route. ``mock="missing"`` answers
    unbound operations with examples, ``mock="all"`` every operation (their
    security only checks that credentials are there); ``docs`` serves the spec
    and its page. A request body over ``max_body_size`` bytes (10 MiB by
    default; None: no limit) is refused with a 413 before it is read.
    """
    if mock not in (None, *MOCK_MODES):
        raise ValueError(f"mock must be None, 'missing' or 'all', not {mock!r}")
    state = app_state(app)
    if api.name in state.apis:
        raise KlueException(f"API '{api.name}' is already spawned on this Flask app")
    # Import and compile everything first: a failure leaves the app untouched.
    views, unbound, unfilled = [], [], []
    verifiers = VerifierBinder(api.name, api.spec.security_schemes, security)
    api.schemas.prepare(_validated_schemas(api.spec.operations, mock))
    for op in api.spec.operations:
        if op.bindings.no_server:
            continue
        stages = None if mock == "all" else bind_handler(op, decorator)
        mocked = stages is None
        if stages is None:
            if mock is None:
                unbound.append(op.label)
                continue
            stages = _decorated([mock_handler(op, api.schemas, api.name)], decorator)
        handler = runnable(app, op, stages)
        rule, names = flask_rule(api.spec.base_path, op.path)
        checks = _operation_security(api, op, verifiers, mocked)
        compiled = compile_operation(api, op, handler, names, checks)
        if compiled.errors.bodies is not None:
            unfilled.extend(compiled.errors.bodies.unfilled)
        views.append(
            (
                rule,
                f"klue.{api.name}.{op.method}.{op.path}",
                make_view(api.name, compiled, app, max_body_size),
                op.method,
            )
        )
    if unbound:
        raise UnboundOperationsError(api.name, unbound)
    verifiers.check_all_bound()
    warn_unfilled(api.name, unfilled)
    for rule, endpoint, view, method in views:
        app.add_url_rule(rule, endpoint=endpoint, view_func=view, methods=[method])
    state.apis[api.name] = api
    state.prefixes.setdefault(api.spec.base_path, api)  # the first API under a base path renders its 404s
    _install_error_handlers(app, state)
    if docs:
        register_docs(app, api)
    if cors:
        _enable_cors(app, api.spec.base_path, cors)
    return [endpoint for _, endpoint, _, _ in views]


def _operation_security(api: API, op: Operation, verifiers: VerifierBinder, mocked: bool) -> OperationSecurity | None:
    """A mocked operation only checks that credentials are there; a real one needs every verifier."""
    schemes = api.spec.security_schemes

    def mock_verifier(name: str) -> Callable[..., Any]:
        return presence_verifier(schemes[name])

    def bound_verifier(name: str) -> Callable[..., Any] | None:
        return verifiers.verifier(name, op)

    return compile_security(op, schemes, mock_verifier if mocked else bound_verifier, realm=api.name)


def _enable_cors(app: Flask, base_path: str, options: bool | dict[str, Any]) -> None:
    try:
        from flask_cors import CORS
    except ImportError:  # pragma: no cover - depends on the extra being installed
        raise KlueException("cors=True needs flask-cors: pip install 'klue-client-server[cors]'") from None
    CORS(app, resources={(base_path or "") + "/*": cors_settings(options)})


_REGEX_CHARS = set("*\\[]?$^()")  # flask-cors reads an origin holding one as a pattern


def cors_settings(options: bool | dict[str, Any]) -> dict[str, Any]:
    """flask-cors settings for ``cors=``: ``True`` is any origin, without
    credentials (``Access-Control-Allow-Origin: *``, never a reflected
    ``Origin``, ``null`` included). Credentials need a list of origins."""
    settings = dict(options) if isinstance(options, dict) else {}
    origins = settings.get("origins", "*")
    if settings.get("supports_credentials"):
        listed = [origins] if isinstance(origins, str) else list(origins or ())
        if not listed or any(not isinstance(o, str) or o == "null" or set(o) & _REGEX_CHARS for o in listed):
            raise KlueException(
                "cors: supports_credentials needs an explicit list of origins "
                "(not '*', 'null' or patterns): any site could otherwise call the API as its users"
            )
    elif origins == "*":
        settings.setdefault("send_wildcard", True)
    settings["origins"] = origins
    return settings
