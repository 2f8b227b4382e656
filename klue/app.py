"""``make_app``: one Flask app serving several specs, for ``klue serve`` and gunicorn.

    gunicorn "klue:make_app('specs/petstore.yaml')"

Each spec is loaded into ``ApiPool`` under its file name (``petstore.yaml``
-> ``petstore``) and spawned. ``GET /ping`` (alive), ``GET /ready`` (ready
for traffic: the app is built and the ``ready`` check passes) and ``GET
/version`` are added unless a spec defines those paths itself.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import yaml
from flask import Flask, Response

from .exceptions import KlueException
from .importing import import_object
from .pool import ApiPool, file_api_name
from .wire import dump_json

if TYPE_CHECKING:
    from .api import API


def make_app(
    *spec_paths: str,
    mock: str | None = None,
    docs: bool = True,
    self_url: str | None = None,
    import_path: str | None = ".",
    trusted_proxies: int = 0,
    ready: Callable[[], object] | str | None = None,
    log_config: str | None = None,
) -> Flask:
    """A Flask app serving every spec in ``spec_paths``.

    The served APIs call each other with no configuration: without
    ``self_url``, their clients send calls into this very app, in process
    (the handlers are right here; no address to guess, none a client's
    ``Host`` header could forge). ``self_url`` (e.g. ``http://127.0.0.1:8080``)
    sends them over HTTP to that address instead, to spread them over
    workers or through a proxy. ``import_path`` is put first on ``sys.path``
    so that ``x-bind-server: handlers.x`` is found in the current directory
    (None to leave it be). When logging is not configured at all (as under
    gunicorn), klue's own loggers write to stderr, so ``klue.access`` logs
    each request as under ``klue serve``.

    ``trusted_proxies``: how many reverse proxies stand in front, each adding
    one ``X-Forwarded-For``/``-Proto``/``-Host``/``-Port``/``-Prefix`` value;
    the app then sees the client's scheme, host and path prefix (werkzeug's
    ``ProxyFix``). 0, the default, trusts none of those headers: any client
    can send them. ``ready`` (a function, or its dotted path) answers
    ``GET /ready``: a true result is 200, false or an exception 503.
    ``log_config``: a logging configuration file applied first (see
    ``configure_logging``).
    """
    if not spec_paths:
        raise KlueException("make_app needs at least one spec file")
    if isinstance(trusted_proxies, bool) or not isinstance(trusted_proxies, int) or trusted_proxies < 0:
        raise KlueException(f"trusted_proxies must be a number of proxies (0 or more), not {trusted_proxies!r}")
    if import_path is not None:
        folder = os.path.abspath(import_path)
        if folder not in sys.path:
            sys.path.insert(0, folder)
    ready_check = _readiness_check(ready)
    names = [file_api_name(p) for p in spec_paths]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise KlueException(f"two specs would be served under one API name: {', '.join(twice)}; rename a file")
    app = Flask("klue")
    local = app if self_url is None else None
    apis = [
        ApiPool.add(name, yaml_path=path, host=self_url, local=local)
        for name, path in zip(names, spec_paths, strict=False)
    ]
    if log_config:
        configure_logging(log_config)
    log_to_stderr_if_unconfigured()
    for api in apis:
        api.spawn_api(app, mock=mock, docs=docs)
    _add_health_routes(app, apis, ready_check)
    if trusted_proxies:
        _trust_proxies(app, trusted_proxies)
    return app


def _trust_proxies(app: Flask, count: int) -> None:
    from werkzeug.middleware.proxy_fix import ProxyFix

    app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
        app.wsgi_app, x_for=count, x_proto=count, x_host=count, x_port=count, x_prefix=count
    )


def _readiness_check(ready: Callable[[], object] | str | None) -> Callable[[], object] | None:
    if isinstance(ready, str):
        ready = import_object(ready, what="make_app(ready=...)")
    if ready is not None and not callable(ready):
        raise KlueException(f"make_app(ready=...) must be a function or its dotted path, not {ready!r}")
    return ready


log = logging.getLogger("klue.server")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(path: str) -> None:
    """Apply the logging configuration in ``path``: a ``logging.config.dictConfig``
    dictionary as YAML or JSON (``.yaml``, ``.yml``, ``.json``), or an INI file
    for ``fileConfig`` (any other name). Loggers that exist already (klue's own:
    ``klue.access``, ``klue.server``, ``klue.client``) stay enabled unless the
    file says ``disable_existing_loggers: true``."""
    import logging.config

    if not os.path.isfile(path):  # fileConfig would read a missing file as an empty one
        raise KlueException(f"log config {path}: no such file")
    try:
        if path.lower().endswith((".yaml", ".yml", ".json")):
            with open(path, encoding="utf-8") as f:
                config = yaml.safe_load(f)  # JSON is YAML
            if not isinstance(config, dict):
                raise ValueError(f"must be a mapping (a dictConfig dictionary), not {type(config).__name__}")
            config.setdefault("disable_existing_loggers", False)
            logging.config.dictConfig(config)
        else:
            _file_config(path)
    except OSError as e:
        raise KlueException(f"log config {path}: {e.strerror or e}") from e
    except Exception as e:  # yaml, dictConfig and fileConfig each raise their own
        raise KlueException(f"log config {path}: {type(e).__name__}: {e}") from e


def _file_config(path: str) -> None:
    import logging.config

    try:
        logging.config.fileConfig(path, disable_existing_loggers=False)
    except KeyError as e:  # fileConfig's word for a missing section
        raise ValueError(f"no [{e.args[0]}] section (an INI logging config needs loggers, handlers, formatters)") from e


def log_to_stderr_if_unconfigured() -> None:
    """``klue`` logs INFO to stderr when neither the root logger nor klue's
    has a handler; a host that configured logging keeps its own."""
    klue_log = logging.getLogger("klue")
    if logging.getLogger().handlers or klue_log.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    klue_log.addHandler(handler)
    klue_log.setLevel(logging.INFO)


def _add_health_routes(app: Flask, apis: list[API], ready_check: Callable[[], object] | None) -> None:
    taken = {rule.rule for rule in app.url_map.iter_rules()}
    versions = dump_json({api.name: api.get_version() for api in apis})

    def ping() -> Response:
        return Response(b"{}", mimetype="application/json")

    def ready() -> Response:
        try:
            is_ready = ready_check is None or bool(ready_check())
        except Exception:  # the reason goes to the log, never to whoever asked
            log.exception("GET /ready: the readiness check %s failed", getattr(ready_check, "__name__", ready_check))
            is_ready = False
        return Response(
            b'{"ready":true}' if is_ready else b'{"ready":false}', 200 if is_ready else 503, mimetype="application/json"
        )

    def version() -> Response:
        return Response(versions, mimetype="application/json")

    if "/ping" not in taken:
        app.add_url_rule("/ping", endpoint="klue.ping", view_func=ping)
    if "/ready" not in taken:
        app.add_url_rule("/ready", endpoint="klue.ready", view_func=ready)
    if "/version" not in taken:
        app.add_url_rule("/version", endpoint="klue.version", view_func=version)
