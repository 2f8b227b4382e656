"""No thread or socket outlives ``async_call``: 1,000 calls against a real server.

A threaded werkzeug server on 127.0.0.1 (tests/live.py) serves a small spec;
the test makes 1,000 calls through ``async_call`` in batches (successes and
4xx failures mixed), and counts the process's threads
(``threading.active_count()``) and open sockets (entries of /proc/self/fd
that are sockets). The server's own sockets and threads are in the counts all
along: every figure is taken with the server running.

* During the run, the client's pooled keep-alive connections are the only
  growth: at most one per worker, each with its server-side socket and thread.
* After the run, the counts are those the first batch left (the pool does not grow).
* Once the API is removed (its session closed), they are back to where they
  started, before the first call.
"""
from __future__ import annotations

import gc
import os
import threading
import time

import pytest
from flask import Flask

from klue.exceptions import RemoteError
from klue.swagger import ApiPool
from klue.swagger.client import async_call
from tests.live import live

pytestmark = pytest.mark.timeout(30)

SPEC = """
swagger: "2.0"
info: {title: leaks, version: "1"}
basePath: /leaks
produces: [application/json]
definitions:
  Echo:
    type: object
    required: [n]
    properties:
      n: {type: integer}
paths:
  /echo:
    get:
      operationId: echo
      x-bind-server: tests.integration.test_leaks.echo
      parameters:
        - {in: query, name: n, type: integer, required: true}
        - {in: query, name: fail, type: boolean, default: false}
      responses:
        200: {description: ok, schema: {$ref: "#/definitions/Echo"}}
        default: {description: error}
"""

CALLS = 1000
BATCH = 10
WORKERS = 8
SETTLE_SECONDS = 5.0


def echo(n, fail):
    if fail:
        from klue.exceptions import KlueException

        error = KlueException(f"call {n} fails", status_code=409)
        error.code = "CONFLICT"
        raise error
    return {"n": n}


def open_sockets() -> int:
    count = 0
    for entry in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{entry}").startswith("socket:"):
                count += 1
        except OSError:  # the fd of the listdir itself, or one closed meanwhile
            pass
    return count


def usage() -> tuple[int, int]:
    return threading.active_count(), open_sockets()


def settle(target: tuple[int, int]) -> tuple[int, int]:
    """The counts once they reach ``target`` or stop falling (server threads end when
    their connection closes, a moment after the client closed it)."""
    deadline = time.monotonic() + SETTLE_SECONDS
    now = usage()
    while now != target and time.monotonic() < deadline:
        time.sleep(0.05)
        now = usage()
    return now


def steady() -> tuple[int, int]:
    """The counts once they have not moved for 0.3 s: threads and sockets of earlier
    tests in this process (servers they stopped, pools they closed) end a moment late,
    and a socket an earlier test dropped closes only when it is collected."""
    gc.collect()
    deadline = time.monotonic() + SETTLE_SECONDS
    last, since = usage(), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < 0.3:
        time.sleep(0.05)
        now = usage()
        if now != last:
            last, since = now, time.monotonic()
    return last


@pytest.fixture
def server():
    app = Flask("leaks")
    with live(app) as srv:
        api = ApiPool.add("leaks", yaml_str=SPEC, host=srv.url)
        api.spawn_api(app)
        yield srv, api


def run_batch(api, first: int) -> None:
    calls = [api.client.echo(n=n, fail=n % 7 == 0) for n in range(first, first + BATCH)]
    out = async_call(*calls, max_workers=WORKERS, return_exceptions=True)
    for n, result in zip(range(first, first + BATCH), out):
        if n % 7 == 0:
            assert isinstance(result, RemoteError) and result.status_code == 409, result
        else:
            assert result.n == n, result


def test_async_call_leaves_no_threads_or_sockets(server):
    _, api = server
    started = time.monotonic()
    start = steady()  # the server thread is up and idle, earlier tests' threads are gone

    run_batch(api, 0)  # fills the client's connection pool
    pooled = settle(usage())
    threads_grown, sockets_grown = pooled[0] - start[0], pooled[1] - start[1]
    # each pooled connection: one client socket, one server socket, one server thread
    assert 0 <= sockets_grown <= 2 * WORKERS and 0 <= threads_grown <= WORKERS, (start, pooled)

    peak = pooled
    for first in range(BATCH, CALLS, BATCH):
        run_batch(api, first)
        now = usage()
        peak = (max(peak[0], now[0]), max(peak[1], now[1]))
    assert peak[0] <= start[0] + 2 * WORKERS and peak[1] <= start[1] + 2 * WORKERS, (start, peak)

    after_run = settle(pooled)
    # no growth: a pooled keep-alive connection the server closed meanwhile may make it fewer
    assert after_run[0] <= pooled[0] and after_run[1] <= pooled[1], (
        f"after {CALLS} calls: (threads, sockets) {after_run}, after the first batch {pooled}")

    ApiPool.remove("leaks")  # closes the client's session and its pooled connections
    after_close = settle(start)
    assert after_close == start, f"after closing the client: (threads, sockets) {after_close}, at the start {start}"
    elapsed = time.monotonic() - started
    print(f"klue leaks: {CALLS} calls in {elapsed:.1f} s; (threads, sockets) at the start {start},"
          f" after the first batch {pooled}, peak {peak}, after the run {after_run}, after closing {after_close}")
    assert elapsed < 30
