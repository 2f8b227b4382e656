"""Importing klue must not patch the interpreter, start threads or touch the network."""
import json
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

PROBE = r"""
import json, queue, socket, ssl, sys, threading
before = (socket.socket, queue.SimpleQueue, ssl.SSLContext, threading.Thread, threading.active_count())
connect_calls = []
real_connect = socket.socket.connect
socket.socket.connect = lambda self, *a: connect_calls.append(a) or real_connect(self, *a)
import klue, klue.swagger, klue.server
from klue.swagger import ApiPool
after = (socket.socket, queue.SimpleQueue, ssl.SSLContext, threading.Thread, threading.active_count())
print(json.dumps({
    "same": [a is b for a, b in zip(before[:4], after[:4])],
    "threads": [before[4], after[4]],
    "gevent": sorted(m for m in sys.modules if m.split(".")[0] in ("gevent", "grequests", "eventlet")),
    "connects": len(connect_calls),
}))
"""


def test_import_patches_nothing_and_starts_nothing():
    out = subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", PROBE],
                         capture_output=True, text=True, timeout=60, check=True)
    result = json.loads(out.stdout)
    assert result["same"] == [True, True, True, True]
    assert result["threads"][0] == result["threads"][1]
    assert result["gevent"] == []
    assert result["connects"] == 0
    assert out.stderr == ""  # no warnings at import, DeprecationWarnings included


ASYNC_PROBE = r"""
import json, queue, socket, threading
from flask import Flask
from werkzeug.serving import make_server
real = (socket.socket, queue.SimpleQueue)
from klue.swagger import ApiPool
from klue.swagger.client import async_call
spec = {"swagger": "2.0", "info": {"title": "p", "version": "1"}, "paths": {"/p": {"get": {
    "operationId": "ping", "x-bind-server": "__main__.ping", "responses": {"200": {"description": "ok"}}}}}}
def ping():
    return None
app = Flask("p")
api = ApiPool.add("p", spec_dict=spec)
api.spawn_api(app)
server = make_server("127.0.0.1", 0, app, threaded=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
ApiPool.add("p", spec_dict=spec, host="127.0.0.1", port=server.server_port, proto="http")
out = async_call(*[ApiPool.p.client.ping() for _ in range(5)])
server.shutdown()
print(json.dumps({"results": out, "same": [socket.socket is real[0], queue.SimpleQueue is real[1]]}))
"""


def test_async_call_with_the_default_backend_patches_nothing():
    out = subprocess.run([sys.executable, "-c", ASYNC_PROBE], capture_output=True, text=True, timeout=60, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"results": [None] * 5, "same": [True, True]}


GEVENT_PROBE = r"""
from gevent import monkey
monkey.patch_all()
import json, threading, time
from flask import Flask
from werkzeug.serving import make_server
from klue.swagger import ApiPool
from klue.swagger.client import async_call
spec = {"swagger": "2.0", "info": {"title": "p", "version": "1"}, "paths": {"/p": {"get": {
    "operationId": "ping", "x-bind-server": "__main__.ping", "responses": {"200": {"description": "ok"}}}}}}
def ping():
    time.sleep(0.2)
app = Flask("p")
ApiPool.add("p", spec_dict=spec).spawn_api(app)
server = make_server("127.0.0.1", 0, app, threaded=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
ApiPool.add("p", spec_dict=spec, host="127.0.0.1", port=server.server_port, proto="http")
started = time.monotonic()
out = async_call(*[ApiPool.p.client.ping() for _ in range(10)])
elapsed = time.monotonic() - started
server.shutdown()
print(json.dumps({"results": out, "elapsed": elapsed}))
"""


def test_gevent_backend_is_used_in_a_gevent_patched_process():
    out = subprocess.run([sys.executable, "-c", GEVENT_PROBE], capture_output=True, text=True, timeout=60, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["results"] == [None] * 10
    assert result["elapsed"] < 1.5  # concurrent greenlets, not 10 x 0.2 s in a row


HEAVY_PROBE = r"""
import json, sys
import klue
from klue.swagger import ApiPool
ApiPool.add("p", spec_dict={"swagger": "2.0", "info": {"title": "p", "version": "1"}, "paths": {},
            "definitions": {"Pet": {"type": "object", "properties": {"name": {"type": "string"}}}}})
heavy = ("jsonschema", "rfc3987_syntax", "lark", "bravado_core", "swagger_spec_validator", "jsonref", "arrow")
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
"""


def test_loading_a_spec_imports_no_iri_grammar_nor_bravado_core():
    """jsonschema's format module builds Lark grammars for IRIs at import (about 1.2 s,
    python-jsonschema/jsonschema#1428); klue needs none of it: models are its own."""
    out = subprocess.run([sys.executable, "-c", HEAVY_PROBE], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout) == []


SIDE_PROBE = r"""
import json, sys
from klue import ApiPool
spec = {"swagger": "2.0", "info": {"title": "p", "version": "1"}, "host": "127.0.0.1:1", "schemes": ["http"],
        "paths": {"/p": {"get": {"operationId": "ping", "x-bind-server": "tests.handlers.behaviours.respond",
                                 "responses": {"200": {"description": "ok"}}}}}}
api = ApiPool.add("p", spec_dict=spec)
loaded = {"after_load": sorted(m for m in ("flask", "requests") if m in sys.modules)}
if sys.argv[1] == "server":
    from flask import Flask
    api.spawn_api(Flask("p"))
else:
    api.client.ping  # compiles the caller
loaded["after_use"] = sorted(m for m in ("flask", "requests") if m in sys.modules)
print(json.dumps(loaded))
"""


@pytest.mark.parametrize("side, expected", [("server", ["flask"]), ("client", ["requests"])])
def test_each_side_imports_only_its_own_stack(side, expected):
    """A client-only program never loads Flask; a server that makes no call never loads requests."""
    out = subprocess.run([sys.executable, "-c", SIDE_PROBE, side], capture_output=True, text=True, timeout=60,
                         check=True, cwd=str(REPO_ROOT))
    assert json.loads(out.stdout) == {"after_load": [], "after_use": expected}

