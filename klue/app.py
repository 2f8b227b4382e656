"""``make_app``: one Flask app serving several specs, for ``klue serve`` and gunicorn.

    gunicorn "klue:make_app('specs/petstore.yaml')"

Each spec is loaded into ``ApiPool`` under its file name (``petstore.yaml``
-> ``petstore``) and spawned. ``GET /ping`` and ``GET /version`` are added
unless a spec defines those paths itself.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING

from flask import Flask, Response

from .exceptions import KlueException
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
    """
    if not spec_paths:
        raise KlueException("make_app needs at least one spec file")
    if import_path is not None:
        folder = os.path.abspath(import_path)
        if folder not in sys.path:
            sys.path.insert(0, folder)
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
    log_to_stderr_if_unconfigured()
    for api in apis:
        api.spawn_api(app, mock=mock, docs=docs)
    _add_health_routes(app, apis)
    return app


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


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


def _add_health_routes(app: Flask, apis: list[API]) -> None:
    taken = {rule.rule for rule in app.url_map.iter_rules()}
    versions = dump_json({api.name: api.get_version() for api in apis})

    def ping() -> Response:
        return Response(b"{}", mimetype="application/json")

    def version() -> Response:
        return Response(versions, mimetype="application/json")

    if "/ping" not in taken:
        app.add_url_rule("/ping", endpoint="klue.ping", view_func=ping)
    if "/version" not in taken:
        app.add_url_rule("/version", endpoint="klue.version", view_func=version)
