"""Serve one bench app on 127.0.0.1 with werkzeug's threaded server (HTTP/1.1, keep-alive).

``python bench/serve.py klue|plain|plain_jsonschema PORT``: used by
bench_client.py as the endpoint the clients call; a thread per connection,
so 50 concurrent 100 ms calls are served at once. Stopped by its parent.
"""
from __future__ import annotations

import logging
import sys

import _common  # noqa: F401  (sys.path: this checkout's klue, bench modules)
from bench_apps import FACTORIES
from werkzeug.serving import make_server


def main() -> None:
    name, port = sys.argv[1], int(sys.argv[2])
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = make_server(_common.LOOPBACK, port, FACTORIES[name](), threaded=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
