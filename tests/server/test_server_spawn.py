"""spawn_api: routes, bindings, 404/405, CORS, call ID and call path, real HTTP."""
import re
import threading
import uuid

import pytest
import requests
from flask import Flask
from werkzeug.serving import make_server

from klue.exceptions import BindingError, KlueException, UnboundOperationsError
from klue.swagger import ApiPool
from tests.conftest import spec_path
from tests.handlers import behaviours

MINIMAL = """
swagger: "2.0"
info: {title: t, version: "1"}
basePath: %(base)s
paths:
  /a:
    get:
      %(binding)s
      responses: {200: {description: ok}}
  /b/{x}:
    post:
      operationId: postB
      parameters: [{in: path, name: x, type: string, required: true}]
      %(binding_b)s
      responses: {200: {description: ok}}
"""


def minimal(binding="x-bind-server: tests.handlers.behaviours.respond", binding_b="x-no-bind-server: true", base="/"):
    return MINIMAL % {"binding": binding, "binding_b": binding_b, "base": base}


@pytest.fixture
def things():
    behaviours.result = {"name": "a"}
    api = ApiPool.add("things", yaml_path=spec_path("behaviours.yaml"))
    app = Flask("things")
    api.spawn_api(app)
    return app


# -- routes ---------------------------------------------------------------------

def test_base_path_prefixes_every_route(things):
    c = things.test_client()
    assert c.get("/api/thing").status_code == 200
    assert c.get("/thing").status_code == 404


def test_unknown_path_under_the_api_is_a_json_404(things):
    r = things.test_client().get("/api/nope")
    assert r.status_code == 404 and r.headers["Content-Type"] == "application/json"
    assert r.get_json()["detail"] == "GET /api/nope: no such path"
    assert uuid.UUID(r.headers["KlueCallerID"])


def test_wrong_method_is_a_json_405_with_allow(things):
    r = things.test_client().put("/api/thing")
    assert r.status_code == 405 and r.get_json()["status"] == 405
    assert set(r.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_paths_outside_the_api_keep_flask_handling():
    api = ApiPool.add("t", yaml_str=minimal(base="/api"))
    app = Flask("t")

    @app.route("/home")
    def home():
        return "home"

    api.spawn_api(app)
    c = app.test_client()
    assert c.get("/home").data == b"home"
    r = c.get("/elsewhere")
    assert r.status_code == 404 and r.mimetype == "text/html"
    assert c.get("/api/elsewhere").mimetype == "application/json"


def test_the_apps_own_404_handler_still_serves_other_paths():
    app = Flask("t")
    app.register_error_handler(404, lambda e: ("custom", 404))
    ApiPool.add("t", yaml_str=minimal(base="/api")).spawn_api(app)
    assert app.test_client().get("/x").data == b"custom"
    assert app.test_client().get("/api/x").get_json()["status"] == 404


def test_two_apis_on_one_app():
    app = Flask("t")
    ApiPool.add("one", yaml_str=minimal(base="/one")).spawn_api(app)
    ApiPool.add("two", yaml_str=minimal(base="/two")).spawn_api(app)
    behaviours.result = None
    c = app.test_client()
    assert c.get("/one/a").status_code == 200 and c.get("/two/a").status_code == 200
    assert c.get("/two/a").headers["KlueCallerID"]


def test_spawning_twice_on_one_app_is_an_error():
    api = ApiPool.add("t", yaml_str=minimal())
    app = Flask("t")
    api.spawn_api(app)
    with pytest.raises(KlueException, match="already spawned"):
        api.spawn_api(app)


# -- bindings -----------------------------------------------------------------

def test_every_unbound_operation_is_listed():
    api = ApiPool.add("t", yaml_str=minimal(binding="", binding_b=""))  # loading never needs bindings
    app = Flask("t")
    with pytest.raises(UnboundOperationsError) as e:
        api.spawn_api(app)
    assert e.value.operations == ["GET /a", "POST /b/{x} (postB)"]
    assert "GET /a" in str(e.value) and "postB" in str(e.value)
    assert not [r for r in app.url_map.iter_rules() if r.endpoint.startswith("klue.")]


def test_x_no_bind_server_skips_the_operation():
    app = Flask("t")
    ApiPool.add("t", yaml_str=minimal()).spawn_api(app)
    assert app.test_client().post("/b/1").status_code == 404  # the only operation there is skipped
    assert not [r for r in app.url_map.iter_rules() if r.rule == "/b/<p0>"]


@pytest.mark.parametrize("target, message", [
    ("no_such_module_xyz.handler", "cannot import module 'no_such_module_xyz'"),
    ("tests.handlers.behaviours.missing", "has no attribute 'missing'"),
    ("nodots", "not a dotted path"),
    ("tests.handlers.behaviours.SECRET_NOT_CALLABLE", "has no attribute"),
])
def test_binding_import_failure_names_operation_and_path(target, message):
    api = ApiPool.add("t", yaml_str=minimal(binding=f"x-bind-server: {target}"))
    app = Flask("t")
    with pytest.raises(BindingError) as e:
        api.spawn_api(app)
    assert "GET /a" in str(e.value) and message in str(e.value)
    assert not [r for r in app.url_map.iter_rules() if r.endpoint.startswith("klue.")]  # nothing half-spawned


def test_non_callable_binding_is_an_error():
    api = ApiPool.add("t", yaml_str=minimal(binding="x-bind-server: tests.handlers.behaviours.order"))
    with pytest.raises(KlueException, match="not callable"):
        api.spawn_api(Flask("t"))


def test_path_parameter_names_need_not_be_identifiers():
    spec = minimal(binding_b="x-bind-server: tests.handlers.behaviours.respond").replace("name: x", "name: pet-id").replace("{x}", "{pet-id}")
    app = Flask("t")
    ApiPool.add("t", yaml_str=spec).spawn_api(app)
    behaviours.result = lambda **kw: (None if kw == {"pet-id": "7"} else RuntimeError(kw))
    assert app.test_client().post("/b/7").status_code == 200


# -- CORS -----------------------------------------------------------------------

def test_cors_is_off_unless_asked():
    app = Flask("t")
    ApiPool.add("t", yaml_str=minimal()).spawn_api(app)
    behaviours.result = None
    r = app.test_client().get("/a", headers={"Origin": "https://x.org"})
    assert "Access-Control-Allow-Origin" not in r.headers


def test_cors_opt_in():
    app = Flask("t")
    ApiPool.add("t", yaml_str=minimal(base="/api")).spawn_api(app, cors={"origins": ["https://x.org"]})
    behaviours.result = None
    r = app.test_client().get("/api/a", headers={"Origin": "https://x.org"})
    assert r.headers["Access-Control-Allow-Origin"] == "https://x.org"


def test_cors_true_is_any_origin_without_credentials_never_a_reflected_origin():
    app = Flask("t")
    ApiPool.add("t", yaml_str=minimal(base="/api")).spawn_api(app, cors=True)
    behaviours.result = None
    for origin in ("https://evil.example", "null"):
        r = app.test_client().get("/api/a", headers={"Origin": origin})
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        assert "Access-Control-Allow-Credentials" not in r.headers


@pytest.mark.parametrize("origins", [None, "*", ["*"], ["null"], ["https://.*\\.example"], [re.compile("x")]])
def test_credentials_without_an_explicit_list_of_origins_are_refused_at_spawn(origins):
    options = {"supports_credentials": True} if origins is None else {"supports_credentials": True, "origins": origins}
    with pytest.raises(KlueException, match="explicit list of origins"):
        ApiPool.add("t", yaml_str=minimal()).spawn_api(Flask("t"), cors=options)


def test_credentials_go_to_listed_origins_only():
    app = Flask("t")
    cors = {"supports_credentials": True, "origins": ["https://app.example"]}
    ApiPool.add("t", yaml_str=minimal(base="/api")).spawn_api(app, cors=cors)
    behaviours.result = None
    good = app.test_client().get("/api/a", headers={"Origin": "https://app.example"})
    assert good.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert good.headers["Access-Control-Allow-Credentials"] == "true"
    bad = app.test_client().get("/api/a", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in bad.headers


# -- call ID and call path -------------------------------------------------------------

def test_call_id_is_generated_and_returned(things):
    c = things.test_client()
    r1, r2 = c.get("/api/context"), c.get("/api/context")
    body = r1.get_json()
    assert uuid.UUID(body["call_id"]).version == 4
    assert body["call_id"] == body["get_call_id"] == r1.headers["KlueCallerID"]
    assert body["call_path"] == body["get_call_path"] == "things"
    assert r2.get_json()["call_id"] != body["call_id"]


def test_generated_call_ids_are_random_rfc_4122_version_4_uuids():
    from klue.context import new_call_id

    ids = [new_call_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for call_id in ids:
        parsed = uuid.UUID(call_id)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == call_id
    assert {call_id[19] for call_id in ids} == set("89ab")  # every variant digit turns up


@pytest.mark.parametrize("id_header, path_header", [("KlueCallerID", "KlueCallerPath"), ("KlueCallID", "KlueCallPath")])
def test_incoming_call_id_and_path_are_continued(things, id_header, path_header):
    r = things.test_client().get("/api/context", headers={id_header: "abc-123", path_header: "public.user"})
    body = r.get_json()
    assert body["call_id"] == "abc-123" and r.headers["KlueCallerID"] == "abc-123"
    assert body["call_path"] == "public.user.things"


@pytest.mark.parametrize("bad_id", ["x" * 200, "a b", "<script>", "a\u00e9"])
def test_unsafe_incoming_call_id_is_replaced(things, bad_id):
    r = things.test_client().get("/api/context", headers={"KlueCallerID": bad_id, "KlueCallerPath": "a..b"})
    body = r.get_json()
    assert body["call_id"] != bad_id and uuid.UUID(body["call_id"])
    assert body["call_path"] == "things"


def test_call_id_outside_a_request_is_none():
    from klue.swagger import get_call_id, get_call_path

    assert get_call_id() is None and get_call_path() is None


def test_error_responses_carry_the_call_id(things):
    behaviours.result = RuntimeError("x")
    r = things.test_client().get("/api/thing", headers={"KlueCallerID": "trace-1"})
    assert r.status_code == 500 and r.headers["KlueCallerID"] == "trace-1"
    assert set(r.get_json()) == {"error"}  # getThing declares default: Error{error, kind}, which has no call ID slot


# -- real HTTP on 127.0.0.1 ---------------------------------------------------------

@pytest.fixture
def live_server(petstore):
    app = Flask("live")
    petstore.spawn_api(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def test_spawned_api_over_real_http(live_server):
    with requests.Session() as s:
        r = s.get(f"{live_server}/v1/pets/5", timeout=5)
        assert r.status_code == 200 and r.json() == {"id": 5, "name": "rex"}
        r = s.post(f"{live_server}/v1/pets", json={"name": "x", "kind": "fish"}, timeout=5)
        assert r.status_code == 400 and "body field 'kind'" in r.json()["error"]  # addPet's 400: Error{error, status}
        r = s.post(f"{live_server}/v1/pets", data=b"{bad", headers={"Content-Type": "application/json"}, timeout=5)
        assert r.status_code == 400
        r = s.get(f"{live_server}/v1/pets?limit=3", headers={"KlueCallerID": "live-1"}, timeout=5)
        assert r.status_code == 200 and r.headers["KlueCallerID"] == "live-1" and len(r.json()) == 2


def test_a_failing_spawn_leaves_the_app_untouched():
    spec = minimal(binding_b="x-bind-server: tests.handlers.behaviours.nope_not_there")
    api = ApiPool.add("t", yaml_str=spec)
    app = Flask("t")
    with pytest.raises(BindingError):
        api.spawn_api(app)
    assert not [r for r in app.url_map.iter_rules() if r.endpoint.startswith("klue.")]
    assert "klue" not in app.extensions or not app.extensions["klue"].apis


def test_spawning_compiles_the_definitions_once_for_every_operation(monkeypatch):
    """Responses, bodies and mock checks that reach definitions share one compiled validator
    (one by one, Stripe's spec took 17 s and 3 GB to spawn); answers are unchanged."""
    import klue.schema.validation as validation

    item = {"type": "object", "required": ["sku"], "properties": {"sku": {"type": "string", "pattern": "^[A-Z]{3}$"}}}
    paths = {}
    for n in range(5):
        listing = {"type": "object", "properties": {"data": {"type": "array", "items": {"$ref": "#/definitions/Item"}},
                                                    "page": {"type": "integer", "minimum": n}}}
        paths[f"/items{n}"] = {
            "get": {"operationId": f"list{n}", "responses": {"200": {"description": "ok", "schema": listing}}},
            "post": {"operationId": f"add{n}", "parameters": [{"in": "body", "name": "b", "required": True,
                                                              "schema": {"$ref": "#/definitions/Item"}}],
                     "responses": {"200": {"description": "ok", "schema": {"$ref": "#/definitions/Item"}}}},
        }
    spec = {"swagger": "2.0", "info": {"title": "t", "version": "1"}, "paths": paths, "definitions": {"Item": item}}
    compiled = []
    real = validation.compile_validator
    monkeypatch.setattr(validation, "compile_validator", lambda root, *a: compiled.append(root) or real(root, *a))
    app = Flask("shared")
    ApiPool.add("shared", spec_dict=spec).spawn_api(app, mock="all")
    assert len([root for root in compiled if root.get("definitions")]) == 1
    client = app.test_client()
    assert client.get("/items3").status_code == 200
    bad = client.post("/items4", json={"sku": "abc"})
    assert bad.status_code == 400 and "'abc' does not match '^[A-Z]{3}$'" in bad.get_data(as_text=True)
