"""Spec and docs pages of spawned APIs, and mock mode."""
import json

import pytest
from flask import Flask

from klue.exceptions import UnboundOperationsError
from klue.server import docs
from klue.server.mock import ExampleGenerator, sample_matching
from klue.swagger import ApiPool
from tests.conftest import spec_path
from tests.handlers import behaviours


def spawn(mock=None, docs_on=True, spec="mockable.yaml"):
    api = ApiPool.add("mockable", yaml_path=spec_path(spec))
    app = Flask("m")
    api.spawn_api(app, mock=mock, docs=docs_on)
    return api, app.test_client()


# -- spec and docs ------------------------------------------------------------------------

def test_spec_is_served_as_json(petstore):
    app = Flask("p")
    petstore.spawn_api(app)
    name = "swagger.json" if petstore.spec.version == "2.0" else "openapi.json"
    assert docs.spec_file_name(petstore) == name
    r = app.test_client().get(f"/v1/{name}")
    assert r.status_code == 200 and r.mimetype == "application/json"
    served, document = r.get_json(), json.loads(json.dumps(petstore.spec.document))
    location = ("host", "schemes", "basePath") if petstore.spec.version == "2.0" else ("servers",)
    assert {k: v for k, v in served.items() if k not in location} == {
        k: v for k, v in document.items() if k not in location}
    assert served["paths"]["/pets"]["get"]["operationId"] == "listPets"


def served_location(api, host="localhost", script_root="", scheme="http"):
    app = Flask("p")
    api.spawn_api(app)
    environ = {"wsgi.url_scheme": scheme, "SCRIPT_NAME": script_root}
    r = app.test_client().get(f"/v1/{docs.spec_file_name(api)}", headers={"Host": host},
                              environ_overrides=environ)
    assert r.status_code == 200, r.data
    spec = r.get_json()
    if api.spec.version == "2.0":
        return spec.get("host"), spec["schemes"], spec["basePath"]
    return spec["servers"]


def test_the_served_spec_says_where_it_is_served_not_what_its_file_says(petstore):
    if petstore.spec.version == "2.0":
        assert petstore.spec.document["host"] != "127.0.0.1:9999"
        assert served_location(petstore, "127.0.0.1:9999") == ("127.0.0.1:9999", ["http"], "/v1")
        assert served_location(petstore, "api.example", "/shop", "https") == ("api.example", ["https"], "/shop/v1")
        assert served_location(petstore, "[::1]:8081") == ("[::1]:8081", ["http"], "/v1")
    else:
        assert served_location(petstore, "127.0.0.1:9999") == [{"url": "http://127.0.0.1:9999/v1"}]
        assert served_location(petstore, "api.example", "/shop", "https") == [{"url": "https://api.example/shop/v1"}]


@pytest.mark.parametrize("host", ['evil.example/x?', 'a"b', "a b", "evil.example@good", "x" * 300, "h:99999999",
                                  "evil.example#", "évil.example"])
def test_a_host_header_that_is_not_a_plain_host_is_not_repeated(petstore, host):
    try:
        location = served_location(petstore, host)
    except AssertionError:  # werkzeug may refuse the request itself: fine, nothing served
        return
    if petstore.spec.version == "2.0":
        assert location == (None, ["http"], "/v1")  # no host: relative to where the spec was fetched
    else:
        assert location == [{"url": "/v1"}]


def test_an_api_at_the_root_is_served_at_slash():
    spec = {"swagger": "2.0", "info": {"title": "d", "version": "1"}, "host": "elsewhere:1", "paths": {}}
    app = Flask("d")
    ApiPool.add("d", spec_dict=spec).spawn_api(app)
    served = app.test_client().get("/swagger.json").get_json()
    assert (served["host"], served["basePath"], served["schemes"]) == ("localhost", "/", ["http"])
    spec3 = {"openapi": "3.0.3", "info": {"title": "d", "version": "1"}, "paths": {}}
    app3 = Flask("d3")
    ApiPool.add("d3", spec_dict=spec3).spawn_api(app3)
    assert app3.test_client().get("/openapi.json").get_json()["servers"] == [{"url": "http://localhost"}]


def test_docs_page_uses_local_swagger_ui_assets(petstore):
    app = Flask("p")
    petstore.spawn_api(app)
    c = app.test_client()
    page = c.get("/v1/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert '<script src="/v1/docs/swagger-ui-bundle.js">' in html
    assert f'url: "/v1/{docs.spec_file_name(petstore)}"' in html
    assert "http" not in html.split("<body>")[1]  # no CDN
    asset = c.get("/v1/docs/swagger-ui-bundle.js")
    assert asset.status_code == 200 and b"SwaggerUIBundle" in asset.data
    assert c.get("/v1/docs/../../../etc/passwd").status_code == 404
    assert c.get("/v1/docs/nope.js").status_code == 404


def test_docs_false_serves_neither(petstore):
    app = Flask("p")
    petstore.spawn_api(app, docs=False)
    c = app.test_client()
    assert c.get(f"/v1/{docs.spec_file_name(petstore)}").status_code == 404 and c.get("/v1/docs").status_code == 404


def test_without_swagger_ui_the_docs_page_lists_operations(petstore, monkeypatch):
    monkeypatch.setattr(docs, "swagger_ui_dir", lambda: None)  # as if the docs extra were not installed
    app = Flask("p")
    petstore.spawn_api(app)
    html = app.test_client().get("/v1/docs").get_data(as_text=True)
    assert "pip install 'klue-client-server[docs]'" in html
    assert "<td>GET</td><td>/v1/pets/{pet_id}</td><td>getPet</td>" in html


def test_a_spec_path_named_docs_wins():
    spec = {"swagger": "2.0", "info": {"title": "d", "version": "1"}, "paths": {"/docs": {"get": {
        "x-bind-server": "tests.handlers.behaviours.respond", "responses": {"200": {"description": "ok", "schema": {"type": "string"}}}}}}}
    api = ApiPool.add("d", spec_dict=spec)
    app = Flask("d")
    api.spawn_api(app)
    behaviours.result = "the spec's own /docs"
    assert app.test_client().get("/docs").get_json() == "the spec's own /docs"
    assert app.test_client().get("/swagger.json").status_code == 200


# -- mock mode -------------------------------------------------------------------------------

def test_unbound_operations_need_mock():
    with pytest.raises(UnboundOperationsError):
        spawn()


def test_mock_missing_answers_with_valid_generated_values():
    api, c = spawn(mock="missing")
    r = c.get("/m/node")
    assert r.status_code == 200
    node = r.get_json()
    assert api.validators.get({"$ref": "#/definitions/Node"}).is_valid(node)
    assert node["id"] in (10, 15, 20) and len(node["pair"]) == 2
    depth, inner = 0, node  # a recursive model is generated to a bounded depth
    while inner["children"]:
        depth, inner = depth + 1, inner["children"][0]
    assert 1 <= depth <= 5
    assert sample_matching("^[A-Z]{3}-[0-9]{2}$") == node["code"] == "AAA-00"
    assert 3 <= len(node["short"]) <= 5 and 0 < node["ratio"] <= 1
    assert c.get("/m/node").get_json() == node  # deterministic


def test_mock_uses_the_spec_examples():
    _, c = spawn(mock="all")
    assert c.get("/m/example").get_json() == {"name": "Fido from the spec"}
    assert c.get("/m/schema-example").get_json() == ["a", "b"]
    r = c.delete("/m/empty")
    assert r.status_code == 204 and r.data == b""


def test_mock_missing_keeps_real_handlers():
    behaviours.result = {"name": "from the handler"}
    _, c = spawn(mock="missing")
    assert c.get("/m/example").get_json() == {"name": "from the handler"}


def test_mock_still_validates_requests():
    _, c = spawn(mock="all")
    assert c.get("/m/node?depth=9").status_code == 400
    assert c.post("/m/dog", json={"name": "rex"}).status_code == 400  # barks is required
    r = c.post("/m/dog", json={"name": "rex", "barks": True})
    assert r.status_code == 201 and set(r.get_json()) == {"name", "barks"}


def test_bad_mock_mode():
    with pytest.raises(ValueError, match="mock must be"):
        spawn(mock="some")


def test_generated_values_validate_for_every_definition(petstore):
    for spec in ("mockable.yaml", "petstore.yaml", "behaviours.yaml"):
        api = ApiPool.add("g", yaml_path=spec_path(spec))
        generator = ExampleGenerator(api.spec.definitions)
        for name in api.spec.definitions:
            schema = {"$ref": f"#/definitions/{name}"}
            assert api.validators.get(schema).is_valid(generator.generate(schema)), (spec, name)
