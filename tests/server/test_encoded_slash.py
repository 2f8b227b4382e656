"""A path parameter holding an encoded slash (GitHub's ``/git/refs/heads%2Ffeature-a``)
reaches its operation where the server passes the raw URI (werkzeug, waitress, gunicorn)."""
import socket

import pytest
import requests
from flask import Flask

from klue.swagger import ApiPool
from tests.live import live

SPEC = """
swagger: "2.0"
info: {title: refs, version: "1"}
basePath: /repos
paths:
  /{owner}/git/refs/{ref}:
    get:
      x-bind-server: tests.server.test_encoded_slash.get_ref
      parameters:
        - {in: path, name: owner, type: string, required: true}
        - {in: path, name: ref, type: string, required: true}
      responses: {200: {description: ok, schema: {type: object}}}
  /{owner}/issues/{number}:
    get:
      x-bind-server: tests.server.test_encoded_slash.get_ref
      parameters:
        - {in: path, name: owner, type: string, required: true}
        - {in: path, name: number, type: integer, required: true}
      responses: {200: {description: ok, schema: {type: object}}}
"""


def get_ref(owner, ref=None, number=None):
    return {"owner": owner, "ref": ref, "number": number}


@pytest.fixture
def app():
    app = Flask("refs")
    ApiPool.add("refs", yaml_str=SPEC).spawn_api(app)
    return app


@pytest.mark.parametrize("path, expected", [
    ("/repos/octo/git/refs/heads%2Ffeature-a", {"owner": "octo", "ref": "heads/feature-a"}),
    ("/repos/octo/git/refs/heads%2ffeature%2Fb", {"owner": "octo", "ref": "heads/feature/b"}),
    ("/repos/o%2Fx/git/refs/main", {"owner": "o/x", "ref": "main"}),
    ("/repos/octo/git/refs/caf%C3%A9%2F%20x", {"owner": "octo", "ref": "café/ x"}),
])
def test_an_encoded_slash_stays_in_its_parameter(app, path, expected):
    r = app.test_client().get(path)
    assert r.status_code == 200, r.data
    assert {k: v for k, v in r.get_json().items() if v is not None} == expected


@pytest.mark.parametrize("path", [
    "/repos/octo/git/refs/heads/feature-a",   # a real slash: another path, which no operation has
    "/repos/octo/nothing%2Fhere",
    "/repos/octo/git/refs/%EE%80%80%2Fx",      # the marker character itself: never confused with a slash
])
def test_other_paths_stay_404(app, path):
    r = app.test_client().get(path)
    assert r.status_code == 404 and r.get_json()["code"] == "NOT_FOUND"


def test_an_encoded_slash_is_validated_like_any_value(app):
    r = app.test_client().get("/repos/octo/issues/1%2F2")
    assert r.status_code == 400 and "'1/2' is not an integer" in r.get_json()["detail"]


def test_over_real_http(app):
    with live(app) as server:
        r = requests.get(f"{server.url}/repos/octo/git/refs/heads%2Ffeature-a", timeout=5)
        assert r.status_code == 200 and r.json()["ref"] == "heads/feature-a"


def test_under_waitress(app):
    import threading

    import waitress

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = waitress.create_server(app, host="127.0.0.1", port=port, threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        r = requests.get(f"http://127.0.0.1:{port}/repos/octo/git/refs/heads%2Ffeature-a", timeout=5)
        assert r.status_code == 200 and r.json()["ref"] == "heads/feature-a"
    finally:
        server.task_dispatcher.shutdown(timeout=1)
        server.asyncore.close_all(server._map)  # ends run()'s loop: nothing left to watch
        thread.join(timeout=5)
    assert not thread.is_alive()
