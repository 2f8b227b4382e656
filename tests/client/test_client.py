"""Generated client callers against real servers on 127.0.0.1."""
import datetime as dt
import io
import time
import uuid

import pytest
from flask import Flask

from klue.client import RetryPolicy
from klue.exceptions import (
    ArgumentError,
    CallConnectionError,
    CallTimeout,
    InvalidResponseError,
    NoHostError,
    RemoteError,
    SpecError,
)
from klue.swagger import ApiPool
from tests.conftest import spec_path
from tests.handlers import client_side
from tests.live import free_port, live, silent_server

FAST = RetryPolicy(backoff=0.01, max_backoff=0.05)


@pytest.fixture
def petstore_server(petstore_spec):
    """The test petstore, served for real; its API is also the one we call."""
    api = ApiPool.add("petstore", yaml_path=petstore_spec)
    app = Flask("petstore")
    api.spawn_api(app)
    with live(app) as server:
        ApiPool.add("petstore", yaml_path=petstore_spec, host="127.0.0.1", port=server.port, proto="http")
        yield server


@pytest.fixture
def faults():
    app = client_side.fault_app()
    with live(app) as server:
        api = ApiPool.add("faults", yaml_path=spec_path("faults.yaml"), host=server.url, retry=FAST, timeout=5)
        yield api, app


# -- names ------------------------------------------------------------------------------

def test_callers_are_named_by_x_bind_client_then_operation_id(petstore):
    assert set(petstore.client) == {"list_pets", "addPet", "getPet", "deletePet", "uploadPhoto", "login", "echo"}
    with pytest.raises(AttributeError, match="no client operation 'nope'.*addPet"):
        petstore.client.nope


def test_operation_ids_become_identifiers():
    paths = {f"/{i}": {"get": {"operationId": op_id, "responses": {"200": {"description": "ok"}}}}
             for i, op_id in enumerate(["get-pet.v2", "2fa", "import", "Ünïcode", "ﬁnd", "---"])}
    api = ApiPool.add("n", spec_dict={"swagger": "2.0", "info": {"title": "n", "version": "1"}, "paths": paths})
    assert set(api.client) == {"get_pet_v2", "op_2fa", "import_", "Ünïcode", "find", "op"}
    assert all(name.isidentifier() and not name.startswith("_") for name in api.client)


#: operationIds whose Python names would start with '_', or be no identifier: each name is reachable.
ODD_IDS = {"/main": "__main__.x", "/private": "_x", "/dunder": "__x__", "/import": "import", "/digit": "2fa",
           "/unicode": "créer", "/ligature": "ﬁnd", "/snake": "get_pet", "/dash": "get-pet", "/y": "y", "/_y": "_y"}
ODD_NAMES = {"main___x": "/main", "x": "/private", "x__": "/dunder", "import_": "/import", "op_2fa": "/digit",
             "créer": "/unicode", "find": "/ligature"}


def odd_ids_spec():
    ops = {path: {"get": {"operationId": op_id, "x-bind-server": "tests.handlers.behaviours.request_path",
                          "responses": {"200": {"description": "ok", "schema": {"type": "object"}}}}}
           for path, op_id in ODD_IDS.items()}
    return {"swagger": "2.0", "info": {"title": "odd", "version": "1"}, "paths": ops}


def test_every_client_name_is_an_attribute_of_api_client_against_a_live_server():
    api = ApiPool.add("odd", spec_dict=odd_ids_spec())
    app = Flask("odd")
    api.spawn_api(app)
    with live(app) as server:
        api = ApiPool.add("odd", spec_dict=odd_ids_spec(), host="127.0.0.1", port=server.port, proto="http")
        assert list(api.client) == sorted(ODD_NAMES)
        called = {
            "main___x": api.client.main___x().call(), "x": api.client.x().call(), "x__": api.client.x__().call(),
            "import_": api.client.import_().call(), "op_2fa": api.client.op_2fa().call(),
            "créer": api.client.créer().call(),
            "find": api.client.ﬁnd().call(),  # Python reads this name as NFKC 'find', as the client spells it
        }
        assert called == {name: {"path": path} for name, path in ODD_NAMES.items()}
        assert getattr(api.client, "ﬁnd")().call() == {"path": "/ligature"}  # getattr is not normalised: klue does
    with pytest.raises(SpecError, match=r"client name 'get_pet' \(from operationId 'get-pet'\) of API 'odd' "
                                        r"is also used by GET /snake \(get_pet\)"):
        api.client.get_pet
    with pytest.raises(SpecError, match=r"client name 'y' \(from operationId '_y'\) .* used by GET /y \(y\)"):
        api.client.y
    with pytest.raises(AttributeError, match=r"names starting with '_' are private; did you mean api.client.x\?"):
        api.client._x
    with pytest.raises(AttributeError, match="^__x__$"):
        getattr(api.client, "__x__")


@pytest.mark.parametrize("name, message", [
    ("_hidden", "x-bind-client '_hidden' cannot be an attribute of api.client: names starting with '_' are "
                "private to api.client; write e.g. 'hidden'"),
    ("__main__.x", "names starting with '_' are private to api.client; write e.g. 'main___x'"),
    ("2fa", "x-bind-client '2fa' cannot be an attribute of api.client: a Python name cannot start with '2'; "
            "write e.g. 'op_2fa'"),
])
def test_an_x_bind_client_name_that_cannot_be_an_attribute_is_a_load_error(name, message):
    paths = {"/a": {"get": {"operationId": "getA", "x-bind-client": name, "responses": {"200": {"description": "ok"}}}}}
    with pytest.raises(SpecError) as e:
        ApiPool.add("n", spec_dict={"swagger": "2.0", "info": {"title": "n", "version": "1"}, "paths": paths})
    (problem,) = e.value.problems
    assert problem.pointer == "/paths/~1a/get/x-bind-client" and problem.operation == "GET /a (getA)"
    assert message in problem.reason and message in str(e.value)


def test_x_bind_client_names_that_python_can_call_keep_working():
    paths = {f"/{i}": {"get": {"operationId": f"op{i}", "x-bind-client": name, "responses": {"200": {"description": "ok"}}}}
             for i, name in enumerate(["list_pets", "get-pet", "import", "créer"])}
    api = ApiPool.add("n", spec_dict={"swagger": "2.0", "info": {"title": "n", "version": "1"}, "paths": paths})
    assert list(api.client) == ["créer", "get_pet", "import_", "list_pets"]


def test_client_name_clash_is_an_error_for_whoever_calls_that_name():
    """A server that never calls its own API is not refused for a clash (``get-pet`` and ``get_pet``)."""
    paths = {"/a": {"get": {"operationId": "getA", "responses": {"200": {"description": "ok"}}}},
             "/b": {"get": {"x-bind-client": "getA", "operationId": "other", "responses": {"200": {"description": "ok"}}}},
             "/c": {"get": {"operationId": "get-c", "responses": {"200": {"description": "ok"}}}},
             "/d": {"get": {"operationId": "get_c", "responses": {"200": {"description": "ok"}}}},
             "/e": {"get": {"operationId": "fine", "responses": {"200": {"description": "ok"}}}}}
    api = ApiPool.add("n", spec_dict={"swagger": "2.0", "info": {"title": "n", "version": "1"}, "paths": paths})
    assert list(api.client) == ["fine"] and "getA" not in api.client and callable(api.client.fine)
    with pytest.raises(SpecError, match="client name 'get_c' of API 'n' is also used by GET /c"):
        api.client.get_c
    with pytest.raises(SpecError) as e:
        api.client.getA
    assert "client name 'getA'" in str(e.value) and "GET /a (getA)" in str(e.value) and "GET /b (other)" in str(e.value)
    assert e.value.problems[0].pointer == "/paths/~1b/get/x-bind-client"


# -- arguments are checked before anything is sent ------------------------------------------

@pytest.mark.parametrize("args, kwargs, message", [
    ((), {}, "body field 'pet': a request body is required"),
    (({"name": "a"}, {"name": "b"}), {}, "takes its body as the only positional argument, got 2"),
    (({"name": 5},), {}, "body field 'name': 5 is not of type 'string'"),
    (({"name": "a"},), {"color": "red"}, "'color': is not a parameter of POST /pets (addPet)"),
])
def test_bad_arguments_raise_before_sending(petstore, args, kwargs, message):
    with pytest.raises(ArgumentError) as e:
        petstore.client.addPet(*args, **kwargs)
    assert message in str(e.value)


def test_bad_parameter_values_raise(petstore):
    with pytest.raises(ArgumentError, match="query parameter 'limit'"):
        petstore.client.list_pets(limit=0)
    with pytest.raises(ArgumentError, match="path parameter 'pet_id'"):
        petstore.client.getPet(pet_id="x")
    with pytest.raises(ArgumentError, match="path parameter 'pet_id': is required"):
        petstore.client.getPet()
    with pytest.raises(ArgumentError, match="no positional argument"):
        petstore.client.getPet(3, pet_id=3)
    with pytest.raises(ArgumentError, match="cannot contain CR, LF or NUL"):
        petstore.client.list_pets(**{"X-Request-Tag": "a\r\nX: y"})


def test_no_host_says_so(petstore):
    call = petstore.client.getPet(pet_id=1)  # building the call is fine
    with pytest.raises(NoHostError, match="has no host.*ApiPool.add\\(host="):
        ApiPool.add("nohost", spec_dict={"swagger": "2.0", "info": {"title": "n", "version": "1"},
                                         "paths": {"/x": {"get": {"operationId": "x", "responses": {"200": {"description": "ok"}}}}}}).client.x().call()
    assert call is not None


# -- calls against the real petstore ----------------------------------------------------------

def test_path_query_header_and_body_calls(petstore_server, received):
    api = ApiPool.petstore
    pet = api.client.getPet(pet_id=12).call()
    assert type(pet).__name__ == "Pet" and pet.id == 12 and pet.name == "rex"
    pets = api.client.list_pets(limit=5, kind="cat", tags=["a", "b"], ids=[1, 2], fat=False,
                                since=dt.date(2020, 1, 2), **{"X-Request-Tag": "t"}).call()
    assert [p.name for p in pets] == ["rex", "tom"]
    assert received["list_pets"][1] == {"limit": 5, "kind": "cat", "tags": ["a", "b"], "ids": [1, 2], "codes": None,
                                        "fat": False, "min_weight": None, "since": dt.date(2020, 1, 2), "X-Request-Tag": "t"}
    created = api.client.addPet(api.model.Pet(name="new", born=dt.date(2019, 1, 1))).call()
    assert created.id == 99 and created.born == dt.date(2019, 1, 1)
    created = api.client.addPet({"name": "fromdict"}).call()
    assert created.name == "fromdict"
    assert api.client.deletePet(pet_id=3, **{"X-Confirm": "yes"}).call() is None


def test_path_values_are_escaped(petstore_server, received):
    out = ApiPool.petstore.client.echo({"text": "x"}, name="a.b", status=200).call()
    assert out["name"] == "a.b"
    with pytest.raises(ArgumentError):  # '/' does not match the spec's pattern: never sent
        ApiPool.petstore.client.echo(name="../etc", status=200)


def test_form_and_file_calls(petstore_server, received):
    api = ApiPool.petstore
    assert api.client.login(user="bob", remember=True, scopes=["a", "b"]).call() == {"user": "bob", "remember": True, "scopes": ["a", "b"]}
    out = api.client.uploadPhoto(pet_id=4, caption="hi", photo=("me.png", io.BytesIO(b"12345"), "image/png")).call()
    assert out == {"caption": "hi", "size": 5, "filename": "me.png"}


def test_error_status_raises_remote_error_with_decoded_body(petstore_server):
    with pytest.raises(RemoteError) as e:
        ApiPool.petstore.client.deletePet(pet_id=3, **{"X-Confirm": "yes"}).call(request_headers={"X-Confirm": "no"})
    assert e.value.status_code == 400
    assert e.value.body["errors"][0]["name"] == "X-Confirm"
    assert "DELETE http://127.0.0.1" in str(e.value)


def test_error_callback_receives_client_errors(petstore_server, petstore_spec):
    seen = []
    api = ApiPool.add("petstore", yaml_path=petstore_spec, host="127.0.0.1", port=petstore_server.port,
                      proto="http", error_callback=lambda e: seen.append(e) or "handled")
    assert api.client.echo({}, name="abc", status=200).call(request_headers={"Content-Type": "text/plain"}) == "handled"
    assert isinstance(seen[0], RemoteError) and seen[0].status_code == 415


# -- responses that break the spec ------------------------------------------------------------

@pytest.mark.parametrize("kind, error, message", [
    ("json", InvalidResponseError, "not valid JSON"),
    ("schema", InvalidResponseError, "response field 'hits': 'many' is not of type 'integer'"),
    ("text", RemoteError, "500"),
])
def test_invalid_responses_are_clear_errors(faults, kind, error, message):
    api, _ = faults
    with pytest.raises(error, match=message) as e:
        api.client.badBody(kind=kind).call()
    if kind == "text":
        assert e.value.body == "plain text error"


# -- retries and timeouts ---------------------------------------------------------------------

def test_get_read_timeout_is_tried_max_attempts_times(faults):
    api, app = faults
    started = time.monotonic()
    with pytest.raises(CallTimeout) as e:
        api.client.sleepGet(ms=500).call(read_timeout=0.1, max_attempts=3)
    assert app.hits["/f/sleep"] == 3 and e.value.attempts == 3
    assert "timed out waiting for the response after 3 attempts" in str(e.value)
    assert time.monotonic() - started < 2


def test_post_read_timeout_is_tried_once(faults):
    api, app = faults
    with pytest.raises(CallTimeout):
        api.client.sleepPost(ms=500).call(read_timeout=0.1)
    assert app.hits["/f/sleep"] == 1


def test_force_retry_retries_a_post(faults):
    api, app = faults
    with pytest.raises(CallTimeout):
        api.client.sleepPost(ms=500, read_timeout=0.1, max_attempts=2).call(force_retry=True)
    assert app.hits["/f/sleep"] == 2


@pytest.mark.parametrize("code", [502, 503, 504])
def test_get_retries_gateway_errors_post_does_not(faults, code):
    api, app = faults
    with pytest.raises(RemoteError) as e:
        api.client.statusGet(code=code).call()
    assert e.value.status_code == code and e.value.attempts == 3
    # the error body is decoded into the spec's default response model
    assert type(e.value.body).__name__ == "Error" and e.value.body.error == f"status {code}"
    assert app.hits[f"/f/status/{code}"] == 3
    with pytest.raises(RemoteError):
        api.client.statusPost(code=code).call()
    assert app.hits[f"/f/status/{code}"] == 4


def test_client_errors_are_not_retried(faults):
    api, app = faults
    with pytest.raises(RemoteError) as e:
        api.client.statusGet(code=404).call()
    assert e.value.status_code == 404 and app.hits["/f/status/404"] == 1


def test_retry_after_is_honoured(faults):
    api, app = faults
    started = time.monotonic()
    assert api.client.statusGet(code=503, retry_after="0.3").call().hits == 3
    assert time.monotonic() - started >= 0.6


def test_retry_after_beyond_the_cap_is_not_retried():
    policy = RetryPolicy(max_retry_after=0.5)

    class Fake:
        headers = {"Retry-After": "3600"}

    assert policy.wait(1, Fake()) is None


def test_nothing_listening_fails_clearly_after_retries():
    port = free_port()
    api = ApiPool.add("faults", yaml_path=spec_path("faults.yaml"), host="127.0.0.1", port=port, proto="http", retry=FAST)
    started = time.monotonic()
    with pytest.raises(CallConnectionError) as e:
        api.client.statusPost(code=200).call()  # even a POST: nothing was sent
    assert e.value.attempts == 3 and f"127.0.0.1:{port}" in str(e.value) and "connection refused" in str(e.value)
    assert time.monotonic() - started < 2


def test_server_that_never_answers_times_out():
    with silent_server("hang") as raw:
        api = ApiPool.add("faults", yaml_path=spec_path("faults.yaml"), host="127.0.0.1", port=raw.port, proto="http", retry=FAST)
        started = time.monotonic()
        with pytest.raises(CallTimeout):
            api.client.statusGet(code=200).call(read_timeout=0.2, max_attempts=2)
        assert time.monotonic() - started < 2 and raw.hits == 2


@pytest.mark.parametrize("mode", ["close", "half"])
def test_server_closing_the_connection_is_a_connection_error(mode):
    with silent_server(mode) as raw:
        api = ApiPool.add("faults", yaml_path=spec_path("faults.yaml"), host="127.0.0.1", port=raw.port, proto="http", retry=FAST)
        with pytest.raises(CallConnectionError, match="connection closed by the server|IncompleteRead|ProtocolError"):
            api.client.statusPost(code=200).call()
        assert raw.hits == 1  # a POST that may have been received is not sent again


# -- headers -------------------------------------------------------------------------------

def test_request_headers_and_x_decorate_request(faults):
    api, _ = faults
    client_side.sent.clear()
    got = api.client.headers(**{"X-Thing": "a"}).call(request_headers={"X-Extra": "1", "KlueCallerID": "mine"})
    assert got["Authorization"] == "Bearer t0k3n" and got["X-Thing"] == "a" and got["X-Extra"] == "1"
    assert got["Kluecallerid"] == "mine" or got.get("KlueCallerID") == "mine"
    assert client_side.sent and client_side.sent[0][0] == "GET"
    client_side.decorated.clear()
    for _ in range(3):
        api.client.headers().call()
    assert client_side.decorated == [] and len(client_side.sent) == 4  # decorated once, when the caller was compiled


def test_outside_a_request_each_call_gets_a_new_call_id(faults):
    api, _ = faults
    ids = {api.client.headers().call()["Kluecallerid"] for _ in range(2)}
    assert len(ids) == 2 and all(uuid.UUID(i) for i in ids)


# -- in-process calls ----------------------------------------------------------------------------

def test_local_app_routes_calls_without_a_socket(received, petstore_spec):
    api = ApiPool.add("petstore", yaml_path=petstore_spec)
    app = Flask("local")
    api.spawn_api(app)
    ApiPool.add("petstore", yaml_path=petstore_spec, local=app)
    pet = ApiPool.petstore.client.getPet(pet_id=8).call()
    assert pet.id == 8 and received["get_pet"][1] == {"pet_id": 8}
    with pytest.raises(RemoteError) as e:
        ApiPool.petstore.client.deletePet(pet_id=8, **{"X-Confirm": "yes"}).call(request_headers={"X-Confirm": "maybe"})
    assert e.value.status_code == 400


# -- base URL and defaults ------------------------------------------------------------------

def _spec(**top):
    return {"swagger": "2.0", "info": {"title": "u", "version": "1"}, **top,
            "paths": {"/x": {"get": {"operationId": "x", "responses": {"200": {"description": "ok"}}}}}}


@pytest.mark.parametrize("top, overrides, expected", [
    ({"host": "api.example.com", "schemes": ["http", "https"], "basePath": "/v2/"}, {}, "https://api.example.com/v2"),
    ({"host": "api.example.com", "schemes": ["http"]}, {}, "http://api.example.com"),
    ({"host": "api.example.com"}, {}, "https://api.example.com"),
    ({"host": "api.example.com:8443", "schemes": ["https"]}, {"port": 9000}, "https://api.example.com:9000"),
    ({"host": "api.example.com", "schemes": ["https"]}, {"host": "127.0.0.1", "port": 5000, "proto": "http"}, "http://127.0.0.1:5000"),
    ({}, {"host": "http://127.0.0.1:5001"}, "http://127.0.0.1:5001"),
    ({}, {"host": "localhost", "port": 80}, "http://localhost:80"),
    ({"basePath": "/api"}, {"host": "[::1]", "port": 8080, "proto": "http"}, "http://[::1]:8080/api"),
])
def test_base_url(top, overrides, expected):
    from klue.client.namespace import base_url

    assert base_url(ApiPool.add("u", spec_dict=_spec(**top), **overrides)) == expected


def test_timeout_given_to_add_is_the_default(faults):
    _, app = faults
    with live(app) as server:
        api = ApiPool.add("slow", yaml_path=spec_path("faults.yaml"), host=server.url, retry=FAST, timeout=0.1)
        started = time.monotonic()
        with pytest.raises(CallTimeout):
            api.client.sleepGet(ms=400).call(max_attempts=1)
        assert time.monotonic() - started < 0.35
        assert api.client.sleepGet(ms=200).call(read_timeout=2, max_attempts=1).hits >= 1


def test_unknown_call_option_is_a_type_error(petstore):
    with pytest.raises(TypeError, match="unknown call option.*retries"):
        petstore.client.getPet(pet_id=1).call(retries=3)


# -- request bodies: sent as given when they are already valid JSON -------------------------

SENT_BODY_SPEC = {
    "swagger": "2.0", "info": {"title": "sent", "version": "1"},
    "definitions": {"Order": {"type": "object", "properties": {
        "n": {"type": "integer"}, "when": {"type": "string", "format": "date-time"},
        "code": {"type": "string", "format": "shout"}, "id": {"type": "integer", "readOnly": True},
        "lines": {"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "string"}}}}}}},
    "paths": {"/orders": {"post": {"operationId": "send", "parameters": [
        {"in": "body", "name": "body", "required": True, "schema": {"$ref": "#/definitions/Order"}}],
        "responses": {"204": {"description": "ok"}}}}},
}


@pytest.fixture
def sent_bodies():
    bodies = []
    app = Flask("sent")
    app.post("/orders")(lambda: (bodies.append(__import__("flask").request.get_data()), ("", 204))[1])
    with live(app) as server:
        yield bodies, server


@pytest.mark.parametrize("formats, body, sent", [
    # valid JSON as given: sent byte for byte as JSON, unicode kept
    ((), {"n": 2, "lines": [{"sku": "é"}], "when": "2020-01-02T03:04:05Z"},
     '{"n":2,"lines":[{"sku":"é"}],"when":"2020-01-02T03:04:05Z"}'),
    # not JSON yet: encoded first
    ((), {"n": 2.0, "when": dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)},
     '{"n":2,"when":"2020-01-02T03:04:05+00:00"}'),
    ((), {"n": 1, "lines": ({"sku": "a"},)}, '{"n":1,"lines":[{"sku":"a"}]}'),
    # a user format's to_wire always runs, even on text
    ("shout", {"code": "abc"}, '{"code":"ABC"}'),
])
def test_request_bodies_are_encoded_only_when_needed(sent_bodies, formats, body, sent):
    from klue import SwaggerFormat
    bodies, server = sent_bodies
    shout = SwaggerFormat(format="shout", to_wire=str.upper, to_python=str, validate=lambda v: None, description="")
    api = ApiPool.add("sent", spec_dict=SENT_BODY_SPEC, host=server.url, formats=[shout] if formats else [])
    assert api.client.send(body).call() is None
    assert bodies == [sent.encode("utf-8")]


def test_request_bodies_invalid_once_encoded_are_refused(sent_bodies):
    bodies, server = sent_bodies
    api = ApiPool.add("sent", spec_dict=SENT_BODY_SPEC, host=server.url)
    with pytest.raises(ArgumentError, match="body field 'n': 'x' is not of type 'integer'"):
        api.client.send({"n": "x"}).call()
    with pytest.raises(ArgumentError, match="cannot be sent as JSON"):
        api.client.send({"n": 1, "lines": [{"sku": "a", "extra": float("nan")}]}).call()
    assert bodies == []
    # a read-only field (a model fetched from the server, sent back) is dropped, as the encoder does
    api.client.send({"id": 3, "n": 1}).call()
    assert bodies == [b'{"n":1}']


# -- the environment's proxy settings -------------------------------------------------------

def test_environment_proxies_are_honoured_and_read_once_per_host(monkeypatch, sent_bodies):
    bodies, proxy = sent_bodies  # the live server plays the proxy: it serves absolute-URI requests
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    api = ApiPool.add("sent", spec_dict=SENT_BODY_SPEC, host="http://api.klue-test.invalid", retry=FAST)
    api.client.send({"n": 1}).call()
    api.client.send({"n": 2}).call()  # through the proxy again, settings kept for the host
    assert bodies == [b'{"n":1}', b'{"n":2}']
    session = api.client._transport.session
    assert list(session._environment) == [("http", "api.klue-test.invalid")]
    # NO_PROXY is read for a host not called before
    monkeypatch.setenv("NO_PROXY", "other.klue-test.invalid")
    other = ApiPool.add("other", spec_dict=SENT_BODY_SPEC, host="http://other.klue-test.invalid", retry=FAST)
    with pytest.raises(CallConnectionError):
        other.client.send({"n": 3}).call()
    assert len(bodies) == 2
