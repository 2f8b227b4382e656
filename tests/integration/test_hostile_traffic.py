"""Hostile traffic against real servers on 127.0.0.1 (issue 13): ``klue serve``
in one process (waitress) and with ``--workers 2`` (gunicorn), attacked over
raw sockets the way an attacker would. Every case is bounded to seconds.
"""
import contextlib
import re
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests

from tests.cli.test_cli import stop, wait_until_up
from tests.live import free_port

SPEC = """
swagger: "2.0"
info: {title: hostile, version: "1"}
basePath: /h
paths:
  /search:
    get:
      x-bind-server: handlers.search
      parameters: [{in: query, name: q, type: string, pattern: '^(a+)+$'}]
      responses: {200: {description: ok, schema: {type: object}}}
  /items:
    post:
      x-bind-server: handlers.store
      parameters: [{in: body, name: body, required: true, schema: {type: object}}]
      responses:
        201: {description: stored, schema: {type: object}}
  /items/{name}:
    delete:
      x-bind-server: handlers.remove
      parameters: [{in: path, name: name, type: string, required: true}]
      responses: {204: {description: gone}}
"""

HANDLERS = """
import flask
STORED = []

def search(q=None):
    return {"q": q}

def store(body):
    STORED.append(body)
    return body, 201

def remove(name):
    return flask.Response("ignored", status=204, mimetype="text/html")
"""

MODES = {"one-process": [], "workers": ["--workers", "2"]}
KLUE_SERVE = [sys.executable, "-m", "klue.cli", "serve"]


class Served:
    """A server process on a free port: started, waited for, stopped, its log kept."""

    def __init__(self, command, cwd, port):
        self.port, self.url, self.log = port, f"http://127.0.0.1:{port}", ""
        self.proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def __enter__(self):
        try:
            wait_until_up(f"{self.url}/ping", self.proc)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        _, self.log = stop(self.proc)


@pytest.fixture(scope="module", params=list(MODES))
def served(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(request.param)
    (folder / "hostile.yaml").write_text(SPEC)
    (folder / "handlers.py").write_text(HANDLERS)
    port = free_port()
    with Served([*KLUE_SERVE, "hostile.yaml", "--port", str(port), "--timeout", "5", *MODES[request.param]],
                folder, port) as server:
        yield request.param, port, server.url


def raw(port, data, timeout=5.0, read_all=True):
    """Send ``data`` on a fresh connection and return what comes back (until close or timeout)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        with contextlib.suppress(OSError):
            sock.sendall(data)
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, OSError):
                break
            if not chunk:
                break
            chunks.append(chunk)
            if not read_all and _is_whole_response(b"".join(chunks)):
                break
        return b"".join(chunks)


def _is_whole_response(reply: bytes) -> bool:
    """True once the head and as many body bytes as its Content-Length announces have come."""
    head, separator, body = reply.partition(b"\r\n\r\n")
    if not separator:
        return False
    match = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
    return match is None or len(body) >= int(match.group(1))


def status_of(reply: bytes) -> int:
    assert reply.startswith(b"HTTP/1."), reply[:200]
    return int(reply.split(b" ", 2)[1])


def test_slow_clients_do_not_starve_ordinary_requests(served):
    """30 slowloris connections, headers at a byte every half second."""
    mode, port, base = served
    stop_dripping = threading.Event()
    sockets = []
    for _ in range(30):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n")
        sockets.append(s)

    def drip():
        while not stop_dripping.wait(0.5):
            for s in sockets:
                with contextlib.suppress(OSError):
                    s.send(b"X")

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    try:
        time.sleep(1.5)  # let the slow connections take whatever they can
        for _ in range(3):
            started = time.monotonic()
            assert requests.get(f"{base}/ping", timeout=5).status_code == 200
            assert time.monotonic() - started < 2.0, mode
    finally:
        stop_dripping.set()
        dripper.join(timeout=5)
        for s in sockets:
            s.close()


def chunked(body: bytes, size: int = 65536) -> bytes:
    out = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size]) for i in range(0, len(body), size))
    return out + b"0\r\n\r\n"


POST_CHUNKED = (b"POST /h/items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")


def test_a_chunked_body_over_the_limit_is_a_413_never_a_truncated_parse(served):
    mode, port, base = served
    body = b'{"name":"Truncated"}' + b" " * (11 * 1024 * 1024) + b"GARBAGE"
    reply = raw(port, POST_CHUNKED + chunked(body), timeout=15)
    assert status_of(reply) == 413, (mode, reply[:300])
    assert requests.post(f"{base}/h/items", json={"name": "ok"}, timeout=5).status_code == 201


def test_a_content_length_over_the_limit_is_refused_before_the_body_is_sent(served):
    mode, port, _ = served
    started = time.monotonic()
    reply = raw(port, b"POST /h/items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 104857600\r\n\r\n{", timeout=10, read_all=False)
    assert status_of(reply) == 413 and time.monotonic() - started < 5, mode


def test_an_http_1_0_body_without_a_length_is_never_read_as_one(served):
    """Without Content-Length or chunks a request has no body (RFC 9112 6.3): the
    server does not wait for the client to close, and the handler never sees it."""
    mode, port, _ = served
    started = time.monotonic()
    reply = raw(port, b"POST /h/items HTTP/1.0\r\nContent-Type: application/json\r\n\r\n" + b'{"a": 1}' * 1000,
                read_all=False)
    assert status_of(reply) == 400 and b"a request body is required" in reply, (mode, reply[:300])
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("framing", [
    b"zz\r\n{}\r\n0\r\n\r\n",            # a chunk size that is not hex
    b"2\r\n{}XX0\r\n\r\n",               # a chunk without its CRLF
    b"-2\r\n{}\r\n0\r\n\r\n",            # a negative chunk size
])
def test_malformed_chunked_encoding_is_a_400(served, framing):
    mode, port, _ = served
    reply = raw(port, POST_CHUNKED + framing)
    assert status_of(reply) == 400, (mode, reply[:300])


def test_conflicting_content_length_and_transfer_encoding_cannot_smuggle(served):
    """RFC 9112 6.3: refuse, or go by Transfer-Encoding alone and close the connection."""
    mode, port, _ = served
    reply = raw(port, b"POST /h/items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\nGET /h/search HTTP/1.1\r\nHost: x\r\n\r\n")
    status = status_of(reply)
    assert status in (400, 201), (mode, reply[:300])
    if status == 201:  # waitress: by Transfer-Encoding alone, never by Content-Length's 4 bytes
        head, _, rest = reply.partition(b"\r\n\r\n")
        assert rest.startswith(b"{}HTTP/1.1 200 "), reply


def test_no_server_version_is_advertised(served):
    mode, _, base = served
    server = requests.get(f"{base}/ping", timeout=5).headers.get("Server")
    assert server is None or "/" not in server, server  # gunicorn says "gunicorn", without its version


def test_the_redos_query_is_answered_in_milliseconds(served):
    mode, _, base = served
    for value in ("a" * 30 + "!", "a" * 10_000 + "!"):
        started = time.monotonic()
        r = requests.get(f"{base}/h/search", params={"q": value}, timeout=10)
        # gunicorn refuses a request line over 4,094 bytes itself (414)
        assert r.status_code in (400, 414) and time.monotonic() - started < 1.0, mode
        assert len(r.content) < 2048


def test_a_handler_s_204_goes_out_without_a_body_or_media_type(served):
    _, _, base = served
    r = requests.delete(f"{base}/h/items/x", timeout=5)
    assert r.status_code == 204 and r.content == b"" and "Content-Type" not in r.headers
    assert r.headers["X-Content-Type-Options"] == "nosniff"


# -- reload ------------------------------------------------------------------------------

RELOAD_SPEC = """
swagger: "2.0"
info: {title: r, version: "1"}
paths:
  /v:
    get:
      x-bind-server: live_handlers.version
      responses: {200: {description: ok, schema: {type: object}}}
"""


@pytest.mark.parametrize("mode", list(MODES))
def test_reload_runs_the_new_code_on_the_next_request(tmp_path, mode):
    (tmp_path / "r.yaml").write_text(RELOAD_SPEC)
    handler = tmp_path / "live_handlers.py"
    handler.write_text("def version():\n    return {'v': 1}\n")
    port = free_port()
    with Served([*KLUE_SERVE, "r.yaml", "--port", str(port), "--reload", *MODES[mode]], tmp_path, port) as server:
        base = server.url
        assert requests.get(f"{base}/v", timeout=5).json() == {"v": 1}
        time.sleep(1.1)  # the reloaders compare modification times, to the second on some file systems
        handler.write_text("def version():\n    return {'v': 2}\n")
        deadline, seen = time.monotonic() + 30, None
        while time.monotonic() < deadline and seen != {"v": 2}:
            with contextlib.suppress(requests.RequestException, ValueError):
                seen = requests.get(f"{base}/v", timeout=2).json()
            time.sleep(0.2)
        assert seen == {"v": 2}, mode


# -- make_app under gunicorn -------------------------------------------------------------

CALLEE = """
swagger: "2.0"
info: {title: callee, version: "1"}
basePath: /callee
paths:
  /hello:
    get:
      operationId: hello
      x-bind-server: pair.hello
      responses: {200: {description: ok, schema: {type: object}}}
"""
CALLER = CALLEE.replace("callee", "caller").replace("/hello", "/relay").replace("operationId: hello",
                                                                                 "operationId: relay").replace(
    "pair.hello", "pair.relay")
PAIR = """
from klue.swagger import ApiPool

def hello():
    return {"hello": "from callee"}

def relay():
    return ApiPool.callee.client.hello().call()
"""


def test_make_app_under_gunicorn_calls_its_own_apis_and_logs_access(tmp_path):
    (tmp_path / "callee.yaml").write_text(CALLEE)
    (tmp_path / "caller.yaml").write_text(CALLER)
    (tmp_path / "pair.py").write_text(PAIR)
    port = free_port()
    gunicorn = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                "klue:make_app('caller.yaml', 'callee.yaml')"]
    with Served(gunicorn, tmp_path, port) as server:
        base = server.url
        assert requests.get(f"{base}/caller/relay", timeout=5).json() == {"hello": "from callee"}
        assert requests.get(f"{base}/caller/nothing", timeout=5).status_code == 404
        assert requests.post(f"{base}/caller/relay", timeout=5).status_code == 405
    log = server.log
    assert "klue.access: caller GET /caller/relay -> 200" in log
    assert "klue.access: callee GET /callee/hello -> 200" in log and "path caller.callee" in log
    assert "klue.access: caller GET /caller/nothing -> 404" in log
    assert "klue.access: caller POST /caller/relay -> 405" in log


def test_served_apis_call_each_other_without_starving_the_thread_pool(tmp_path):
    """klue serve's APIs call each other in process: 8 concurrent relayed calls on
    2 threads cannot each hold a thread while waiting for another."""
    (tmp_path / "callee.yaml").write_text(CALLEE)
    (tmp_path / "caller.yaml").write_text(CALLER)
    (tmp_path / "pair.py").write_text(PAIR)
    port = free_port()
    with Served([*KLUE_SERVE, "caller.yaml", "callee.yaml", "--port", str(port), "--threads", "2"],
                tmp_path, port) as server:
        results = []

        def relay():
            results.append(requests.get(f"{server.url}/caller/relay", timeout=10).json())

        started = time.monotonic()
        threads = [threading.Thread(target=relay) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=15)
        assert results == [{"hello": "from callee"}] * 8 and time.monotonic() - started < 5
