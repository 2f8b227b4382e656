"""SIGTERM (docker stop, Kubernetes, systemd) stops ``klue serve`` gracefully.

A request in flight when the signal arrives is answered in full; a new
connection after it is refused; the process then exits 0, well within the
grace period.
"""
from __future__ import annotations

import signal
import socket
import threading
import time

import pytest
import requests

from klue.serving import GRACEFUL_TIMEOUT
from tests.cli.test_cli import klue_serve, wait_until_up
from tests.live import free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

SPEC = """
swagger: "2.0"
info: {title: slow, version: "1"}
basePath: /s
paths:
  /slow:
    get:
      x-bind-server: slow_handlers.slow
      responses:
        200: {description: ok, schema: {type: object, properties: {done: {type: boolean}}}}
"""


@pytest.mark.parametrize("mode", [[], ["--workers", "2"]], ids=["waitress", "gunicorn"])
def test_sigterm_lets_the_request_in_flight_finish_then_exits(tmp_path, mode):
    (tmp_path / "slow_handlers.py").write_text("import time\n\ndef slow():\n    time.sleep(1.5)\n    return {'done': True}\n")
    (tmp_path / "slow.yaml").write_text(SPEC)
    port = free_port()
    proc = klue_serve("slow.yaml", "--port", str(port), *mode, cwd=tmp_path)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/ping", proc)
        answers = []
        requests.get(f"http://127.0.0.1:{port}/ping", timeout=10)  # every gunicorn worker has imported the app
        in_flight = threading.Thread(
            target=lambda: answers.append(requests.get(f"http://127.0.0.1:{port}/s/slow", timeout=10)))
        in_flight.start()
        time.sleep(0.5)  # the request is in the handler
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        time.sleep(1.2)  # the server has seen it (within one loop timeout), the request still runs
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        in_flight.join(timeout=10)
        assert answers and answers[0].status_code == 200 and answers[0].json() == {"done": True}
        assert proc.wait(timeout=10) == 0
        assert time.monotonic() - signalled < GRACEFUL_TIMEOUT + 4  # gunicorn may wait out its graceful timeout
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
