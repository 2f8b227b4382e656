"""Serving a spawned API's spec and its interactive documentation.

``<base path>/swagger.json`` is the (bundled) spec, saying where it is
actually served (the request's scheme, host and script root), whatever its
file says: the docs page's "Try it out" works on any port and behind a
proxy. ``<base path>/docs`` is a
Swagger UI page whose assets come from the ``swagger-ui-bundle`` package
(the ``docs`` extra), never from a CDN: deployments are often offline.
Without that package, ``/docs`` is a plain page listing the operations.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, request, send_from_directory
from werkzeug.exceptions import NotFound

from ..wire import NOSNIFF_HEADER

if TYPE_CHECKING:
    from ..api import API

log = logging.getLogger("klue.server")

_UI_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title}</title>
  <link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{assets}/swagger-ui-bundle.js"></script>
  <script src="{assets}/swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({{
      url: {spec_url}, dom_id: "#swagger-ui", deepLinking: true,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: "StandaloneLayout"
    }});
  </script>
</body>
</html>
"""

_PLAIN_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{title}</title></head>
<body>
  <h1>{title}</h1>
  <p>The spec: <a href="{spec_url}">{spec_url}</a>. For the interactive page,
  <code>pip install 'klue-client-server[docs]'</code>.</p>
  <table>
    <tr><th>Method</th><th>Path</th><th>Operation</th><th>Summary</th></tr>
{rows}
  </table>
</body>
</html>
"""


#: A Host header worth repeating in the served spec: a name or address and a
#: port, nothing that could make it another URL (anything else: no host, so
#: the spec is read relative to where it was fetched).
_HOST = re.compile(r"[A-Za-z0-9.\-]{1,253}(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]{2,45}\](:[0-9]{1,5})?")

#: The keys saying where a spec is served, which the served copy replaces.
_LOCATION_KEYS = {"2.0": ("host", "schemes", "basePath"), "3": ("servers",)}


class ServedSpec:
    """The JSON of a spec as served: encoded once at spawn, without the keys
    that say where it is served; each request puts its own location in front."""

    def __init__(self, api: API) -> None:
        self.swagger2 = api.spec.version == "2.0"
        self.base_path = api.spec.base_path
        dropped = _LOCATION_KEYS["2.0" if self.swagger2 else "3"]
        rest = {k: v for k, v in api.spec.document.items() if k not in dropped}
        self.rest = json.dumps(rest, ensure_ascii=False).encode("utf-8")[1:]  # b'"info": ...}' or b'}'

    def body(self, scheme: str, host: str, script_root: str) -> bytes:
        """The spec as served at ``scheme://host<script_root><base path>``."""
        base = script_root + self.base_path
        host_ok = _HOST.fullmatch(host) is not None
        if self.swagger2:
            location: dict[str, Any] = {"basePath": base or "/", "schemes": [scheme]}
            if host_ok:
                location["host"] = host
        else:
            location = {"servers": [{"url": f"{scheme}://{host}{base}" if host_ok else base or "/"}]}
        head = json.dumps(location, ensure_ascii=False).encode("utf-8")[:-1]
        return head + (b"," + self.rest if self.rest != b"}" else self.rest)


def swagger_ui_dir() -> str | None:
    """Where swagger-ui-bundle keeps Swagger UI's files, or None if it is not installed."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return None
    return swagger_ui_path if os.path.isdir(swagger_ui_path) else None


def spec_file_name(api: API) -> str:
    return "swagger.json" if api.spec.version == "2.0" else "openapi.json"


def register_docs(app: Flask, api: API) -> list[str]:
    """Add the spec and docs routes of ``api``, except where a route is already there."""
    base = api.spec.base_path
    taken = {rule.rule for rule in app.url_map.iter_rules()}
    spec_path = f"{base}/{spec_file_name(api)}"
    docs_path = f"{base}/docs"
    added = []
    served = ServedSpec(api)  # encoded once, at spawn
    ui_dir = swagger_ui_dir()

    def serve_spec() -> Response:
        body = served.body(request.scheme, request.host, request.script_root)
        return Response(body, mimetype="application/json", headers=[NOSNIFF_HEADER])

    def serve_docs() -> Response:
        return Response(
            _page(api, ui_dir, request.script_root + spec_path, request.script_root + docs_path),
            mimetype="text/html",
            headers=[NOSNIFF_HEADER],
        )

    def serve_asset(filename: str) -> Any:
        if ui_dir is None:
            raise NotFound()
        return send_from_directory(ui_dir, filename, max_age=86400)

    for rule, endpoint, view in (
        (spec_path, "spec", serve_spec),
        (docs_path, "docs", serve_docs),
        (docs_path + "/<path:filename>", "docs_asset", serve_asset),
    ):
        if rule in taken:
            log.warning("API '%s': %s is a route already; its docs are not served there", api.name, rule)
            continue
        app.add_url_rule(rule, endpoint=f"klue.{api.name}.{endpoint}", view_func=view, methods=["GET"])
        added.append(rule)
    return added


def _page(api: API, ui_dir: str | None, spec_url: str, docs_url: str) -> str:
    title = html.escape(f"{api.spec.title or api.name} {api.get_version()}".strip())
    if ui_dir is not None:
        spec_literal = json.dumps(spec_url).replace("<", "\\u003c")  # safe inside <script>
        return _UI_PAGE.format(title=title, assets=html.escape(docs_url), spec_url=spec_literal)
    rows = "\n".join(
        f"    <tr><td>{op.method}</td><td>{html.escape(api.spec.base_path + op.path)}</td>"
        f"<td>{html.escape(op.operation_id or '')}</td><td>{html.escape(op.summary)}</td></tr>"
        for op in api.spec.operations
    )
    return _PLAIN_PAGE.format(title=title, spec_url=html.escape(spec_url), rows=rows)
