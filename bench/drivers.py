"""In-process request drivers: call a WSGI or ASGI app directly, no socket.

Both build the request once and replay it, so the figures are the app's own
cost (Flask, klue, connexion...) plus a few microseconds of driver; each
request still gets a fresh body stream and is read to its end.
"""
from __future__ import annotations

import asyncio
import io
import json
from typing import Any, Callable

from werkzeug.test import EnvironBuilder


class WsgiDriver:
    """Sends one prepared request to a WSGI app, ``n`` times."""

    def __init__(self, app: Callable, method: str, path: str, body: Any = None,
                 headers: dict[str, str] | None = None) -> None:
        self.app = app
        self.body = json.dumps(body).encode() if body is not None else b""
        builder = EnvironBuilder(path=path, method=method, base_url="http://127.0.0.1",
                                 data=self.body if body is not None else None,
                                 content_type="application/json" if body is not None else None,
                                 headers={"Accept": "application/json", **(headers or {})})
        self.environ = builder.get_environ()
        builder.close()

    def one(self) -> tuple[int, bytes]:
        environ = dict(self.environ)
        environ["wsgi.input"] = io.BytesIO(self.body)
        status: list[str] = []

        def start_response(line: str, headers: list, exc_info: Any = None) -> Callable:
            status.append(line)
            return lambda data: None

        result = self.app(environ, start_response)
        try:
            data = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return int(status[0][:3]), data

    def run(self, n: int, ok: int) -> int:
        """Send ``n`` requests; return how many did not answer ``ok``."""
        app, template, body = self.app, self.environ, self.body
        errors = 0
        for _ in range(n):
            environ = dict(template)
            environ["wsgi.input"] = io.BytesIO(body)
            status: list[str] = []
            result = app(environ, lambda line, headers, exc_info=None: status.append(line))
            try:
                for _chunk in result:
                    pass
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            if not status[0].startswith(str(ok)):
                errors += 1
        return errors

    def close(self) -> None:
        pass


class AsgiDriver:
    """Sends one prepared request to an ASGI app (connexion 3), ``n`` times, on one event loop."""

    def __init__(self, app: Callable, method: str, path: str, body: Any = None) -> None:
        self.app = app
        self.body = json.dumps(body).encode() if body is not None else b""
        headers = [(b"host", b"127.0.0.1"), (b"accept", b"application/json")]
        if body is not None:
            headers += [(b"content-type", b"application/json"), (b"content-length", str(len(self.body)).encode())]
        self.scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
                      "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
                      "query_string": b"", "root_path": "", "headers": headers,
                      "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80)}
        self.loop = asyncio.new_event_loop()

    async def _one(self) -> tuple[int, bytes]:
        done = asyncio.Event()
        sent = False
        status = 0
        chunks: list[bytes] = []

        async def receive() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": self.body, "more_body": False}
            await done.wait()  # as a client that stays until the response is complete
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    done.set()

        await self.app(dict(self.scope), receive, send)
        done.set()
        return status, b"".join(chunks)

    def one(self) -> tuple[int, bytes]:
        return self.loop.run_until_complete(self._one())

    def run(self, n: int, ok: int) -> int:
        async def many() -> int:
            errors = 0
            for _ in range(n):
                status, _ = await self._one()
                errors += status != ok
            return errors

        return self.loop.run_until_complete(many())

    def close(self) -> None:
        self.loop.run_until_complete(self.loop.shutdown_default_executor())
        self.loop.close()
