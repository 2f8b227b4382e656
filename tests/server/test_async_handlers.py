"""async def handlers, their decorators and spawn_api's decorator=, run through Flask's
async support (asgiref): validation, security, tracing and errors as for plain functions."""
import logging
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from flask import Flask

from klue.exceptions import BindingError
from klue.security import api_keys
from klue.server.spawn import is_async
from klue.swagger import ApiPool
from tests.conftest import spec_path
from tests.handlers import asynchronous
from tests.live import live

KEY = "key-of-the-async-robot-0123"


def spawn(**options):
    api = ApiPool.add("asynchronous", yaml_path=spec_path("asynchronous.yaml"))
    app = Flask("async")
    api.spawn_api(app, mock="missing", security={"key": api_keys({KEY: "robot"})}, **options)
    return app


@pytest.fixture
def client():
    return spawn().test_client()


def test_an_async_handler_returns_a_model(client):
    r = client.get("/v1/pets/3")
    assert r.status_code == 200 and r.json == {"id": 3, "name": "pet 3"}
    # it ran on asgiref's event loop thread, not the request's
    assert asynchronous.seen["thread"] != threading.get_ident()


def test_an_async_handler_returns_a_body_and_a_status(client):
    r = client.post("/v1/pets", json={"id": 1, "name": "Rex"})
    assert r.status_code == 201 and r.json == {"id": 1, "name": "Rex"}


def test_a_klue_exception_from_an_async_handler_sets_the_status(client):
    r = client.get("/v1/pets/0")
    assert r.status_code == 404
    assert r.json["code"] == "NOT_FOUND" and r.json["detail"] == "no pet 0"
    assert r.json["call_id"] == r.headers["KlueCallerID"]


def test_an_unexpected_exception_is_a_500_with_the_traceback_in_the_log_only(client, caplog):
    with caplog.at_level(logging.ERROR, logger="klue.server"):
        r = client.get("/v1/pets/13")
    assert r.status_code == 500 and r.json["code"] == "INTERNAL_ERROR"
    text = r.get_data(as_text=True)
    assert "secret internals" not in text and "Traceback" not in text
    assert "secret internals of pet 13" in caplog.text and "Traceback" in caplog.text
    assert "in get_pet" in caplog.text  # the handler's own frame, through asgiref
    assert r.json["call_id"] in caplog.text


def test_requests_are_validated_before_an_async_handler_runs(client):
    asynchronous.seen.clear()
    r = client.get("/v1/pets/500")
    assert r.status_code == 400 and r.json["errors"][0]["name"] == "pet_id"
    assert "thread" not in asynchronous.seen
    r = client.post("/v1/pets", json={"id": 1, "name": ""})
    assert r.status_code == 400 and r.json["errors"][0]["name"] == "name"


def test_security_is_checked_before_an_async_handler_and_its_principal_reaches_it(client):
    assert client.get("/v1/whoami").status_code == 401
    assert client.get("/v1/whoami", headers={"X-API-Key": "wrong-key"}).status_code == 401
    r = client.get("/v1/whoami", headers={"X-API-Key": KEY, "KlueCallerID": "act-1", "KlueCallerPath": "public"})
    assert r.status_code == 200
    assert r.json == {"principal": "robot", "g_principal": "robot", "call_id": "act-1",
                      "call_path": "public.asynchronous", "path": "/v1/whoami"}


def test_response_validation_applies_to_what_an_async_handler_returns(monkeypatch):
    async def bad(pet_id):
        return {"id": pet_id}  # no name

    monkeypatch.setattr(asynchronous, "get_pet", bad)
    r = spawn().test_client().get("/v1/pets/3")
    assert r.status_code == 500 and r.json["code"] == "INVALID_RESPONSE"


@pytest.mark.parametrize("path, layers", [
    ("/v1/wraps", []),                                # sync decorator (functools.wraps) around async
    ("/v1/hiding", []),                               # sync decorator without wraps around async
    ("/v1/async-around-async", ["async_deco"]),
    ("/v1/async-around-sync", ["async_deco"]),
    ("/v1/mocked", ["mock"]),
])
def test_x_decorate_server_stacks_and_mocks(client, path, layers):
    r = client.get(path)
    assert r.status_code == 200, r.json
    assert r.json == {"layers": layers}


def test_an_async_global_decorator_wraps_sync_async_and_mocked_handlers():
    app = spawn(decorator=asynchronous.global_async)
    client = app.test_client()
    seen = []

    @app.after_request
    def note(response):
        from flask import g
        seen.append(g.get("global_async"))
        return response

    assert client.get("/v1/sync/pets/2").json == {"id": 2, "name": "pet 2"}
    assert client.get("/v1/pets/2").json == {"id": 2, "name": "pet 2"}
    assert client.get("/v1/mocked").json == {"layers": ["mock"]}
    assert client.get("/v1/async-around-sync").json == {"layers": ["async_deco"]}
    assert client.get("/v1/pets/0").status_code == 404
    assert seen == [True] * 5  # g set inside the coroutine is seen after it


def test_mock_all_with_async_handlers_needs_no_event_loop():
    api = ApiPool.add("asynchronous", yaml_path=spec_path("asynchronous.yaml"))
    app = Flask("async")
    api.spawn_api(app, mock="all")
    client = app.test_client()
    r = client.get("/v1/pets/3")
    assert r.status_code == 200 and set(r.json) == {"id", "name"}
    assert client.get("/v1/whoami", headers={"X-API-Key": "anything"}).status_code == 200


def test_sync_handlers_are_called_as_they_are():
    """Nothing async in a stack: the view calls the handler itself, not a wrapper."""
    app = spawn()
    view = app.view_functions["klue.asynchronous.GET./sync/pets/{pet_id}"]
    cells = [c.cell_contents for c in view.__closure__]
    assert asynchronous.get_pet_sync in cells
    async_view = app.view_functions["klue.asynchronous.GET./pets/{pet_id}"]
    assert asynchronous.get_pet not in [c.cell_contents for c in async_view.__closure__]


def test_is_async_sees_through_wrappers():
    assert is_async(asynchronous.plain_async)
    assert is_async(asynchronous.sync_wraps(asynchronous.plain_async))
    assert is_async(asynchronous.sync_wraps(asynchronous.sync_wraps(asynchronous.plain_async)))
    assert not is_async(asynchronous.sync_hiding(asynchronous.plain_async))  # spawn_api still knows: a stage
    assert not is_async(asynchronous.plain)

    class Callable:
        async def __call__(self):
            return {"layers": []}

    assert is_async(Callable())

    def cycle():
        pass

    cycle.__wrapped__ = cycle
    assert not is_async(cycle)


def test_a_sync_function_returning_a_coroutine_is_a_clear_500(client, caplog):
    for path in ("/v1/coroutine/typed", "/v1/coroutine/untyped"):
        with caplog.at_level(logging.ERROR, logger="klue.server"):
            r = client.get(path)
        assert r.status_code == 500
        assert "returned coroutine object, not a value" in caplog.text and "async def" in caplog.text
        caplog.clear()


def test_without_asgiref_spawning_an_async_handler_fails_naming_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "asgiref", None)  # import asgiref.sync raises ImportError
    monkeypatch.setitem(sys.modules, "asgiref.sync", None)
    api = ApiPool.add("asynchronous", yaml_path=spec_path("asynchronous.yaml"))
    app = Flask("async")
    with pytest.raises(BindingError) as e:
        api.spawn_api(app, mock="missing", security={"key": api_keys({KEY: "robot"})})
    assert "GET /pets/{pet_id} (getPet)" in str(e.value)
    assert "tests.handlers.asynchronous.get_pet" in str(e.value)
    assert "pip install 'klue-client-server[async]'" in str(e.value)
    assert not [r for r in app.url_map.iter_rules() if r.rule.startswith("/v1/pets")]  # nothing added
    # an API of plain functions does not need asgiref
    ApiPool.add("chain_b", yaml_path=spec_path("chain_b.yaml")).spawn_api(Flask("b"))


def _services():
    """Service B in process (local=), and the async API that calls it."""
    b_app = Flask("b")
    b = ApiPool.add("chain_b", yaml_path=spec_path("chain_b.yaml"), local=b_app)
    b.spawn_api(b_app)
    return spawn()


def test_a_client_call_from_an_async_handler_carries_the_call_id_and_path():
    client = _services().test_client()
    r = client.get("/v1/hop", headers={"KlueCallerID": "user-action-7", "KlueCallerPath": "public"})
    assert r.status_code == 200, r.json
    trace = {"call_id": "user-action-7", "call_path": "public.asynchronous.chain_b"}
    assert r.json["a"] == {"call_id": "user-action-7", "call_path": "public.asynchronous"}
    assert r.json["b"] == {**trace, "n": 0}
    assert r.json["parallel"] == [{**trace, "n": 1}, {**trace, "n": 2}]
    # without incoming headers: a new ID, the same one in B
    out = client.get("/v1/hop").json
    assert out["b"]["call_id"] == out["a"]["call_id"] and out["b"]["call_path"] == "asynchronous.chain_b"


def test_a_client_call_from_an_async_handler_over_http_carries_the_call_id():
    b_app = Flask("b")
    with live(b_app) as b_server:
        ApiPool.add("chain_b", yaml_path=spec_path("chain_b.yaml"), host=b_server.url).spawn_api(b_app)
        with live(spawn()) as a_server:
            r = requests.get(f"{a_server.url}/v1/hop", headers={"KlueCallerID": "act-9"}, timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["b"] == {"call_id": "act-9", "call_path": "asynchronous.chain_b", "n": 0}
    assert r.headers["KlueCallerID"] == "act-9"


def test_parallel_requests_to_an_async_handler_over_http():
    with live(spawn()) as server:
        def get(i):
            return requests.get(f"{server.url}/v1/slow", params={"ms": 50},
                                headers={"KlueCallerID": f"c-{i}"}, timeout=10)

        started = time.monotonic()
        with ThreadPoolExecutor(20) as pool:
            responses = list(pool.map(get, range(20)))
        elapsed = time.monotonic() - started
    assert [r.status_code for r in responses] == [200] * 20
    assert [r.headers["KlueCallerID"] for r in responses] == [f"c-{i}" for i in range(20)]
    assert len({r.json()["thread"] for r in responses}) > 1  # one event loop per request, not one for all
    assert elapsed < 20 * 0.05, elapsed  # they overlapped (serial would be 1 s at least)


def test_an_async_handler_is_refused_in_a_gevent_patched_process():
    """asyncio keeps one running loop per OS thread, and gevent's greenlets share one:
    concurrent async requests would be 500s, so spawning says so instead."""
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    script = (
        "from gevent import monkey; monkey.patch_all()\n"
        "from flask import Flask\n"
        "from klue.exceptions import BindingError\n"
        "from klue.swagger import ApiPool\n"
        "api = ApiPool.add('a', yaml_path='tests/specs/asynchronous.yaml')\n"
        "try:\n"
        "    api.spawn_api(Flask('a'))\n"
        "except BindingError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "cannot run in a gevent-patched process" in out.stdout and "gthread" in out.stdout
