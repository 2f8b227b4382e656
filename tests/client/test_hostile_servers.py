"""The client against servers that misbehave on purpose (issue 13): bodies too
large or decompression bombs, and bodies trickled to hold the caller."""
import contextlib
import socket
import threading
import time
import tracemalloc
import zlib

import pytest

from klue.client.policy import DEFAULT_MAX_RESPONSE_SIZE
from klue.exceptions import CallTimeout, ResponseTooLarge
from klue.swagger import ApiPool

SPEC = """
swagger: "2.0"
info: {title: victim, version: "1"}
paths:
  /blob:
    get:
      operationId: get_blob
      responses: {200: {description: ok, schema: {type: object}}}
"""


@contextlib.contextmanager
def misbehaving(respond):
    """A server on 127.0.0.1 that reads each request and hands the connection to ``respond(conn)``."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn, contextlib.suppress(OSError):
                conn.settimeout(5)
                conn.recv(65536)
                respond(conn, stop)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=10)
        listener.close()


def client_for(port, **options):
    return ApiPool.add("victim", yaml_str=SPEC, host="127.0.0.1", port=port, proto="http", **options).client


def head(length=None, extra=b""):
    framing = b"Content-Length: %d\r\n" % length if length is not None else b"Transfer-Encoding: chunked\r\n"
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + framing + extra + b"\r\n"


def gzip_bomb(megabytes=300):
    """A gzip body that inflates to ``megabytes`` MB, built without holding them."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip container
    spaces = b" " * (1024 * 1024)
    parts = [packer.compress(b'{"a": "')]
    parts += [packer.compress(spaces) for _ in range(megabytes)]
    return b"".join([*parts, packer.compress(b'"}'), packer.flush()])


def test_a_decompression_bomb_is_refused_without_inflating_it():
    bomb = gzip_bomb()
    assert len(bomb) < 400_000

    def send_bomb(conn, stop):
        conn.sendall(head(len(bomb), b"Content-Encoding: gzip\r\n") + bomb)

    with misbehaving(send_bomb) as port:
        tracemalloc.start()
        try:
            started = time.monotonic()
            with pytest.raises(ResponseTooLarge, match="over the limit"):
                client_for(port).get_blob().call()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert time.monotonic() - started < 5
    assert peak < 4 * DEFAULT_MAX_RESPONSE_SIZE, peak  # not the 300 MB it inflates to


def test_a_declared_length_over_the_limit_is_refused_before_reading():
    def announce(conn, stop):
        conn.sendall(head(100 * 1024 * 1024) + b"{")
        stop.wait(5)  # never sends the rest

    with misbehaving(announce) as port:
        started = time.monotonic()
        with pytest.raises(ResponseTooLarge, match="104857600 bytes"):
            client_for(port, max_response_size=1024).get_blob().call()
        assert time.monotonic() - started < 2


def test_a_chunked_body_past_the_limit_is_cut_off():
    def endless(conn, stop):
        conn.sendall(head())
        piece = b"%x\r\n%s\r\n" % (4096, b" " * 4096)
        while not stop.is_set():
            conn.sendall(piece)

    with misbehaving(endless) as port:
        with pytest.raises(ResponseTooLarge):
            client_for(port, max_response_size=64 * 1024).get_blob().call()


def test_a_trickled_body_cannot_hold_the_caller_past_its_timeout():
    body = b'{"padding": "' + b"x" * 26 + b'"}'

    def trickle(conn, stop):
        conn.sendall(head(len(body)))
        for byte in body:
            if stop.wait(0.2):
                return
            conn.sendall(bytes([byte]))

    with misbehaving(trickle) as port:
        started = time.monotonic()
        with pytest.raises(CallTimeout):
            client_for(port, timeout=0.5).get_blob().call(max_attempts=1)
        elapsed = time.monotonic() - started
    # connect + read timeout for the whole exchange, plus at most one read: never the 8 s the body takes
    assert elapsed < 2.0, elapsed


def test_a_body_within_the_limit_and_the_deadline_is_read_whole():
    body = b'{"n": 1}'

    def answer(conn, stop):
        conn.sendall(head(len(body)) + body)

    with misbehaving(answer) as port:
        assert client_for(port, max_response_size=len(body)).get_blob().call() == {"n": 1}


@pytest.mark.parametrize("size", [0, -1, 1.5, True, "10"])
def test_a_nonsensical_max_response_size_is_refused(size):
    with pytest.raises(ValueError, match="max_response_size"):
        client_for(1, max_response_size=size)
