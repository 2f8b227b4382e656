"""Real HTTP servers on 127.0.0.1 for the tests, bounded in time and always stopped."""
from __future__ import annotations

import contextlib
import socket
import threading
from typing import Iterator

from werkzeug.serving import make_server


class LiveServer:
    """A threaded werkzeug server on a free port of 127.0.0.1."""

    def __init__(self, app) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "the test server did not stop"


@contextlib.contextmanager
def live(app) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RawServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.hits = 0


@contextlib.contextmanager
def silent_server(mode: str) -> Iterator[RawServer]:
    """A raw TCP server that misbehaves: 'hang' accepts and never answers;
    'close' reads the request and closes the connection without a word;
    'half' sends half a response, then closes."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    stop = threading.Event()
    conns: list[socket.socket] = []
    raw = RawServer(listener.getsockname()[1])

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            raw.hits += 1
            conns.append(conn)
            if mode == "hang":
                continue
            conn.settimeout(1)
            with contextlib.suppress(OSError):
                conn.recv(65536)
                if mode == "half":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"na")
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield raw
    finally:
        stop.set()
        thread.join(timeout=5)
        for c in conns:
            with contextlib.suppress(OSError):
                c.close()
        listener.close()
