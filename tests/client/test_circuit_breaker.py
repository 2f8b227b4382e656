"""The client's circuit breaker, against real local servers counting what reaches them."""
import threading
import time

import pytest

from klue.client import CircuitBreaker, RetryPolicy
from klue.exceptions import CallConnectionError, CircuitOpenError, RemoteError
from klue.swagger import ApiPool
from tests.conftest import spec_path
from tests.handlers import client_side
from tests.live import free_port, live

ONE_TRY = RetryPolicy(max_attempts=1)


@pytest.fixture
def faults():
    app = client_side.fault_app()
    with live(app) as server:
        yield server, app


def add(server_url, breaker):
    return ApiPool.add("faults", yaml_path=spec_path("faults.yaml"), host=server_url, retry=ONE_TRY,
                       circuit_breaker=breaker)


def test_opens_after_consecutive_failures_and_fails_fast(faults):
    server, app = faults
    api = add(server.url, CircuitBreaker(failures=3, reset_after=60))
    for _ in range(3):
        with pytest.raises(RemoteError):
            api.client.statusGet(code=503).call()
    started = time.monotonic()
    with pytest.raises(CircuitOpenError) as e:
        api.client.statusGet(code=200).call()  # would succeed, but is not even sent
    assert time.monotonic() - started < 0.05
    assert app.hits["/f/status/503"] == 3 and app.hits["/f/status/200"] == 0
    assert e.value.status_code == 503 and e.value.attempts == 0
    assert "failed 3 calls in a row" in str(e.value) and "next try in" in str(e.value)


def test_a_success_resets_the_count(faults):
    server, app = faults
    api = add(server.url, CircuitBreaker(failures=2, reset_after=60))
    for _ in range(3):
        with pytest.raises(RemoteError):
            api.client.statusGet(code=500).call()
        assert api.client.statusGet(code=200).call().hits >= 1
    assert not api.client._breaker.is_open(f"127.0.0.1:{server.port}")


def test_client_errors_do_not_count(faults):
    server, _ = faults
    api = add(server.url, CircuitBreaker(failures=2, reset_after=60))
    for _ in range(4):
        with pytest.raises(RemoteError):
            api.client.statusGet(code=404).call()
    assert api.client.statusGet(code=200).call().hits == 1


def test_half_opens_after_the_cool_down(faults):
    server, app = faults
    api = add(server.url, CircuitBreaker(failures=2, reset_after=0.3))
    for _ in range(2):
        with pytest.raises(RemoteError):
            api.client.statusGet(code=502).call()
    with pytest.raises(CircuitOpenError):
        api.client.statusGet(code=200).call()
    time.sleep(0.35)
    with pytest.raises(RemoteError):  # the trial call is sent, fails: open again
        api.client.statusGet(code=502).call()
    with pytest.raises(CircuitOpenError):
        api.client.statusGet(code=200).call()
    time.sleep(0.35)
    assert api.client.statusGet(code=200).call().hits == 1  # the trial succeeds: closed
    assert api.client.statusGet(code=200).call().hits == 2


def test_only_one_trial_call_while_half_open(faults):
    server, app = faults
    api = add(server.url, CircuitBreaker(failures=1, reset_after=0.2))
    with pytest.raises(RemoteError):
        api.client.statusGet(code=503).call()
    time.sleep(0.25)
    outcomes = []

    def call():
        try:
            outcomes.append(api.client.sleepGet(ms=300).call().hits)
        except CircuitOpenError:
            outcomes.append("fast")

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert sorted(outcomes, key=str) == [1, "fast", "fast", "fast"]


def test_a_dead_host_stops_costing_timeouts():
    port = free_port()
    api = ApiPool.add("faults", yaml_path=spec_path("faults.yaml"), host=f"http://127.0.0.1:{port}",
                      retry=RetryPolicy(max_attempts=2, backoff=0.01), circuit_breaker=CircuitBreaker(failures=2))
    for _ in range(2):
        with pytest.raises(CallConnectionError):
            api.client.statusGet(code=200).call()
    with pytest.raises(CircuitOpenError):
        api.client.statusGet(code=200).call()


def test_the_breaker_can_be_turned_off(faults):
    server, app = faults
    api = add(server.url, None)
    for _ in range(8):
        with pytest.raises(RemoteError):
            api.client.statusGet(code=503).call()
    assert app.hits["/f/status/503"] == 8


def test_default_breaker_and_bad_settings(faults):
    server, _ = faults
    api = ApiPool.add("faults", yaml_path=spec_path("faults.yaml"), host=server.url)
    assert (api.client._breaker.failures, api.client._breaker.reset_after) == (5, 10.0)
    for bad in ({"failures": 0}, {"reset_after": 0}, {"failures": "3"}):
        with pytest.raises(ValueError):
            CircuitBreaker(**bad)
