"""ApiPool.add: sources, names, spec problems with file and pointer, YAML quirks, $ref bundling."""
import json

import pytest
import yaml
from flask import Flask

from klue.exceptions import KlueException, SpecError
from klue.swagger import ApiPool
from tests.conftest import spec_path
from tests.handlers import behaviours

SMALL = {
    "swagger": "2.0",
    "info": {"title": "small", "version": "3.1"},
    "paths": {"/x": {"get": {"responses": {"200": {"description": "ok"}}}}},
}


def problems_of(exc_info):
    return [(p.pointer, p.reason) for p in exc_info.value.problems]


# -- sources and names --------------------------------------------------------------

@pytest.mark.parametrize("source", [
    {"yaml_path": spec_path("petstore.yaml")},
    {"yaml_str": open(spec_path("petstore.yaml")).read()},
    {"spec_dict": yaml.safe_load(open(spec_path("petstore.yaml")))},
])
def test_add_from_each_source(source):
    api = ApiPool.add("petstore", **source)
    assert ApiPool.petstore is api and ApiPool.get("petstore") is api and "petstore" in ApiPool
    assert api.name == "petstore" and api.get_version() == "1.4.2"
    assert type(api.model.Pet(name="x")).__name__ == "Pet"


def test_json_file(tmp_path):
    path = tmp_path / "small.json"
    path.write_text(json.dumps(SMALL))
    assert ApiPool.add("small", yaml_path=str(path)).get_version() == "3.1"


def test_spec_dict_is_not_modified():
    original = json.loads(json.dumps(SMALL))
    ApiPool.add("small", spec_dict=original)
    assert original == SMALL


def test_adding_twice_replaces():
    first = ApiPool.add("small", spec_dict=SMALL)
    second = ApiPool.add("small", spec_dict=dict(SMALL, info={"title": "s", "version": "4"}))
    assert ApiPool.small is second is not first and ApiPool.small.get_version() == "4"


def test_exactly_one_source():
    with pytest.raises(TypeError, match="exactly one"):
        ApiPool.add("x")
    with pytest.raises(TypeError, match="exactly one"):
        ApiPool.add("x", yaml_str="a: 1", spec_dict={})


@pytest.mark.parametrize("name", ["", "1abc", "my-api", "_private", "add", "get", 3, None])
def test_bad_api_names(name):
    with pytest.raises(KlueException, match="API name"):
        ApiPool.add(name, spec_dict=SMALL)


def test_unknown_api():
    with pytest.raises(AttributeError, match="no API 'nope'.*loaded: small"):
        ApiPool.add("small", spec_dict=SMALL) and ApiPool.nope
    with pytest.raises(KeyError, match="no API 'nope'"):
        ApiPool.get("nope")


def test_loading_needs_no_bindings_and_no_host():
    api = ApiPool.add("small", spec_dict=SMALL)
    assert api.spec.host is None and api.spec.operations[0].bindings.server is None


# -- what real YAML files contain --------------------------------------------------

def test_integer_response_codes_and_dates_are_kept_as_strings():
    api = ApiPool.add("small", yaml_str="""
swagger: "2.0"
info: {title: t, version: 2020-01-01}
paths:
  /x:
    get:
      responses:
        200: {description: ok, schema: {type: string, default: 2021-05-06}}
        404: {description: none}
""")
    op = api.spec.operations[0]
    assert set(op.responses) == {"200", "404"}
    assert api.get_version() == "2020-01-01"
    assert op.responses["200"].schema["default"] == "2021-05-06"
    json.dumps(api.spec.document)  # the document stays JSON-serializable


# -- spec problems name the file, the operation and the pointer ---------------------------

def test_missing_file():
    with pytest.raises(SpecError) as e:
        ApiPool.add("x", yaml_path="/no/such/spec.yaml")
    assert "/no/such/spec.yaml" in str(e.value) and "cannot read" in str(e.value)


def test_yaml_syntax_error_gives_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("swagger: '2.0'\ninfo: {title: x\npaths: {}\n")
    with pytest.raises(SpecError) as e:
        ApiPool.add("x", yaml_path=str(path))
    assert str(path) in str(e.value) and "line 3" in str(e.value)


@pytest.mark.parametrize("doc, reason", [
    ("[1, 2]", "mapping at the top level"),
    ("openapi: 2.5.0", r"OpenAPI 2.5.0 is not supported \(3.0.x and 3.1.x are\)"),
    ("swagger: '1.2'", "not a Swagger 2.0 document"),
    ("foo: bar", "not a spec"),
])
def test_not_a_swagger_document(doc, reason):
    with pytest.raises(SpecError, match=reason):
        ApiPool.add("x", yaml_str=doc)


def test_every_problem_is_listed_with_its_pointer():
    spec = {
        "swagger": "2.0",
        "info": {"title": "t", "version": "1"},
        "basePath": "api",
        "definitions": {"A": {"type": "object", "required": True}, "B": {"type": "strin"}},
        "paths": {
            "nope": {},
            "/a/{id}": {
                "get": {
                    "operationId": "dup",
                    "parameters": [
                        {"in": "query", "name": "q"},
                        {"in": "somewhere", "name": "z"},
                        {"in": "body", "name": "b1", "schema": {"$ref": "#/definitions/Missing"}},
                        {"in": "body", "name": "b2", "schema": {}},
                        {"in": "header", "name": "f", "type": "file"},
                    ],
                    "responses": {"200": {"description": "ok"}, "2000": {"description": "?"}},
                },
                "post": {"operationId": "dup", "x-bind-server": 5},
            },
        },
    }
    with pytest.raises(SpecError) as e:
        ApiPool.add("x", spec_dict=spec)
    found = problems_of(e)
    expected = [
        ("/basePath", "basePath must start with '/'"),
        ("/definitions/A/required", "must be a list"),
        ("/definitions/B/type", "unknown type 'strin'"),
        ("/paths/nope", "must start with '/'"),
        ("/paths/~1a~1{id}/get/parameters/0/type", "needs a type"),
        ("/paths/~1a~1{id}/get/parameters/1", "needs a string 'name' and 'in'"),
        ("/paths/~1a~1{id}/get/parameters/2/schema/$ref", "does not resolve"),
        ("/paths/~1a~1{id}/get/parameters/3", "a second body parameter"),
        ("/paths/~1a~1{id}/get/parameters/4/type", "only allowed for formData"),
        ("/paths/~1a~1{id}/get", "{id} has no 'in: path' parameter"),
        ("/paths/~1a~1{id}/get/responses/2000", "not a valid response status"),
        ("/paths/~1a~1{id}/post/x-bind-server", "must be a non-empty string"),
        ("/paths/~1a~1{id}/post/responses", "at least one response"),
        ("/paths/~1a~1{id}/post/operationId", "'dup' is also used by GET /a/{id} (dup)"),
    ]
    for pointer, reason in expected:
        assert any(p == pointer and reason in r for p, r in found), (pointer, reason, found)
    # the message names the source and the operation
    text = str(e.value)
    assert "<spec_dict>: GET /a/{id} (dup): at /paths/~1a~1{id}/get/parameters/0/type" in text


def test_path_parameter_must_be_required_and_in_the_template():
    spec = json.loads(json.dumps(SMALL))
    spec["paths"]["/x"]["get"]["parameters"] = [{"in": "path", "name": "y", "type": "string"}]
    with pytest.raises(SpecError) as e:
        ApiPool.add("x", spec_dict=spec)
    reasons = " | ".join(r for _, r in problems_of(e))
    assert "must be required: true" in reasons and "does not appear in the path" in reasons


def test_file_parameter_needs_multipart():
    spec = json.loads(json.dumps(SMALL))
    spec["paths"]["/x"]["get"]["parameters"] = [{"in": "formData", "name": "f", "type": "file"}]
    with pytest.raises(SpecError, match="multipart/form-data"):
        ApiPool.add("x", spec_dict=spec)


def test_body_and_form_together_is_a_problem():
    spec = json.loads(json.dumps(SMALL))
    spec["paths"]["/x"]["get"]["parameters"] = [
        {"in": "formData", "name": "f", "type": "string"}, {"in": "body", "name": "b", "schema": {}}]
    with pytest.raises(SpecError, match="both a body and formData"):
        ApiPool.add("x", spec_dict=spec)


def test_bad_x_persist_value_is_a_problem():
    spec = dict(SMALL, definitions={"A": {"type": "object", "x-persist": 12}})
    with pytest.raises(SpecError, match="/definitions/A/x-persist"):
        ApiPool.add("x", spec_dict=spec)


# -- $ref across files ------------------------------------------------------------------

def test_refs_into_other_files_are_bundled():
    api = ApiPool.add("split", yaml_path=spec_path("split/main.yaml"))
    definitions = api.spec.definitions
    assert {"Pet", "Owner", "node"} <= set(definitions)
    assert definitions["Owner"]["properties"]["best_friend"] == {"$ref": "#/definitions/Owner"}
    assert definitions["node"]["properties"]["children"]["items"] == {"$ref": "#/definitions/node"}
    op = next(o for o in api.spec.operations if o.method == "POST")
    assert op.parameters[0].name == "limit" and op.parameters[0].schema["maximum"] == 5
    pet = api.json_to_model("Pet", {"name": "a", "owner": {"email": "e", "best_friend": {"email": "f"}}})
    assert type(pet.owner.best_friend).__name__ == "Owner"


def test_bundled_spec_serves_and_validates():
    api = ApiPool.add("split", yaml_path=spec_path("split/main.yaml"))
    app = Flask("split")
    api.spawn_api(app)
    behaviours.result = {"value": 1, "children": [{"value": 2, "children": []}]}
    assert app.test_client().get("/tree").status_code == 200
    behaviours.result = {"value": 1, "children": [{"value": "two"}]}
    assert app.test_client().get("/tree").status_code == 500
    assert app.test_client().post("/pets?limit=6", json={"name": "a"}).status_code == 400


def test_broken_external_refs_are_reported(tmp_path):
    (tmp_path / "other.yaml").write_text("A: {type: string}\n")
    (tmp_path / "main.yaml").write_text(yaml.safe_dump({
        "swagger": "2.0", "info": {"title": "t", "version": "1"},
        "definitions": {
            "X": {"$ref": "other.yaml#/B"},
            "Y": {"$ref": "missing.yaml#/A"},
            "Z": {"$ref": "http://example.com/s.yaml#/A"},
            "W": {"$ref": "#/definitions/Nope"},
        },
        "paths": {},
    }))
    with pytest.raises(SpecError) as e:
        ApiPool.add("x", yaml_path=str(tmp_path / "main.yaml"))
    found = problems_of(e)
    assert ("/definitions/X/$ref", "$ref 'other.yaml#/B' does not resolve") in found
    assert any(p == "/definitions/Y/$ref" and "cannot read" in r for p, r in found)
    assert any(p == "/definitions/Z/$ref" and "remote $ref" in r for p, r in found)
    assert ("/definitions/W/$ref", "$ref '#/definitions/Nope' does not resolve") in found


# -- the garbage collector is paused while loading, and only then ---------------------

def test_loading_pauses_the_collector_and_restores_it(monkeypatch):
    import gc

    from klue.spec import loader
    seen = []
    real_read = loader.read_file
    monkeypatch.setattr(loader, "read_file", lambda path: (seen.append(gc.isenabled()), real_read(path))[1])
    assert gc.isenabled()
    ApiPool.add("paused", yaml_path=spec_path("petstore.yaml"))
    assert seen == [False] and gc.isenabled()
    with pytest.raises(SpecError):  # a failed load restores it too
        ApiPool.add("paused", yaml_str="swagger: '2.0'\npaths: 7\n")
    assert gc.isenabled()


def test_loading_leaves_a_disabled_collector_disabled():
    import gc

    from klue.spec import gc_paused
    gc.disable()
    try:
        ApiPool.add("paused", yaml_path=spec_path("petstore.yaml"))
        assert not gc.isenabled()
    finally:
        gc.enable()
    with gc_paused():  # nested pauses re-enable only at the outermost exit
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


@pytest.mark.parametrize("spec", [
    'swagger: "2.0"\ninfo: {title: t, version: "1"}\nbasePath: "/v<int:x>"\npaths: {}\n',
    'openapi: 3.0.3\ninfo: {title: t, version: "1"}\nservers: [{url: "http://h/a b"}]\npaths: {}\n',
])
def test_a_base_path_that_cannot_be_a_route_is_a_load_error_with_its_pointer(spec):
    with pytest.raises(SpecError) as e:
        ApiPool.add("t", yaml_str=spec)
    assert "not allowed in a path" in str(e.value)
    assert any(p.pointer in ("/basePath", "/servers/0/url") for p in e.value.problems)


@pytest.mark.parametrize("variables, pointer, reason", [
    (["v1"], "/servers/0/variables", "server variables must be a mapping"),
    ("v1", "/servers/0/variables", "server variables must be a mapping"),
    ({"version": {"enum": ["v1"]}}, "/servers/0/variables/version", "a server variable needs a default"),
])
def test_server_variables_of_the_wrong_shape_are_spec_problems(variables, pointer, reason):
    spec = {"openapi": "3.0.3", "info": {"title": "s", "version": "1"}, "paths": {},
            "servers": [{"url": "https://example.com/{version}", "variables": variables}]}
    with pytest.raises(SpecError) as e:
        ApiPool.add("s", spec_dict=spec)
    assert any(p == pointer and reason in r for p, r in problems_of(e)), problems_of(e)


def test_style_form_on_a_path_parameter_is_a_spec_problem():
    """OpenAPI 3 gives path parameters simple, label or matrix; form (exploded: one key per item) cannot be a path."""
    spec = {"openapi": "3.0.3", "info": {"title": "s", "version": "1"}, "paths": {"/a/{ids}": {"get": {
        "parameters": [{"in": "path", "name": "ids", "required": True, "style": "form", "explode": True,
                        "schema": {"type": "array", "items": {"type": "string"}}}],
        "responses": {"200": {"description": "ok"}}}}}}
    with pytest.raises(SpecError) as e:
        ApiPool.add("s", spec_dict=spec)
    assert ("/paths/~1a~1{ids}/get/parameters/0/style", "style 'form' is for query and cookie parameters, not path") in [
        (p, r) for p, r in problems_of(e)]


def test_openapi3_responses_keep_their_media_types():
    from klue.spec import load_spec
    doc = {
        "openapi": "3.0.3", "info": {"title": "t", "version": "1"},
        "paths": {"/x": {"get": {"responses": {
            "200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}},
            "404": {"description": "no", "content": {"text/HTML; charset=utf-8": {}}},
            "500": {"description": "bad"},
        }}}},
    }
    responses = load_spec(spec_dict=doc).operations[0].responses
    assert responses["200"].media_types == ("application/json",)
    assert responses["404"].media_types == ("text/html",) and responses["404"].schema is None
    assert responses["500"].media_types == ()
