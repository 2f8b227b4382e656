"""Call ID and call path across two real services, and parallel calls."""
import threading
import time

import pytest
from flask import Flask

from klue.client import RetryPolicy
from klue.exceptions import RemoteError
from klue.swagger import ApiPool
from klue.swagger.client import async_call
from tests.conftest import spec_path
from tests.live import live


@pytest.fixture
def services():
    """Service B and service A, each on its own real server; A calls B over HTTP."""
    b_app = Flask("b")
    with live(b_app) as b_server:
        b = ApiPool.add("chain_b", yaml_path=spec_path("chain_b.yaml"), host=b_server.url,
                        retry=RetryPolicy(backoff=0.01))
        b.spawn_api(b_app)
        a_app = Flask("a")
        with live(a_app) as a_server:
            a = ApiPool.add("chain_a", yaml_path=spec_path("chain_a.yaml"), host=a_server.url)
            a.spawn_api(a_app)
            yield a, b


def test_call_id_and_path_travel_from_a_to_b(services):
    a, _ = services
    out = a.client.hop().call(request_headers={"KlueCallerID": "user-action-1", "KlueCallerPath": "public"})
    assert out["a"] == {"call_id": "user-action-1", "call_path": "public.chain_a"}
    assert out["b"] == {"call_id": "user-action-1", "call_path": "public.chain_a.chain_b", "n": 0}
    # calls made in parallel from inside a handler carry them too
    assert out["parallel"] == [
        {"call_id": "user-action-1", "call_path": "public.chain_a.chain_b", "n": 1},
        {"call_id": "user-action-1", "call_path": "public.chain_a.chain_b", "n": 2},
    ]


def test_a_call_from_outside_starts_a_new_trace(services):
    a, _ = services
    out = a.client.hop().call()
    assert out["a"]["call_path"] == "chain_a" and out["b"]["call_path"] == "chain_a.chain_b"
    assert out["a"]["call_id"] == out["b"]["call_id"]


def test_async_call_runs_in_parallel_and_keeps_order(services):
    _, b = services
    started = time.monotonic()
    results = async_call(*[b.client.sleep(ms=200, n=i) for i in range(20)])
    elapsed = time.monotonic() - started
    assert [r.n for r in results] == list(range(20))
    assert elapsed < 1.0, elapsed


def test_one_failure_does_not_cancel_the_others(services):
    _, b = services
    calls = [b.client.sleep(ms=50, n=0), b.client.sleep(ms=10, n=1, fail=True), b.client.sleep(ms=100, n=2)]
    started = time.monotonic()
    with pytest.raises(RemoteError) as e:
        async_call(*calls)
    assert e.value.status_code == 409 and time.monotonic() - started >= 0.1  # raised after all finished
    out = async_call(*calls, return_exceptions=True)
    assert out[0].n == 0 and isinstance(out[1], RemoteError) and out[2].n == 2


def test_error_callback_fills_the_failed_slot(services):
    _, b = services
    ApiPool.add("chain_b", yaml_path=spec_path("chain_b.yaml"), host=b.client._base_url().rsplit("/b", 1)[0],
                error_callback=lambda e: f"failed with {e.status_code}")
    out = async_call(ApiPool.chain_b.client.sleep(ms=1, n=0), ApiPool.chain_b.client.sleep(ms=1, n=1, fail=True))
    assert out[0].n == 0 and out[1] == "failed with 409"


def test_async_call_leaves_no_threads_behind(services):
    _, b = services
    before = threading.active_count()
    for _ in range(5):
        async_call(*[b.client.who(n=i) for i in range(10)], max_workers=4)
    # The live server's own request threads may still be closing: give them 2 s.
    deadline = time.monotonic() + 2
    while threading.active_count() != before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before


def test_async_call_arguments():
    assert async_call() == []
    with pytest.raises(TypeError, match="takes calls"):
        async_call(lambda: 1)
