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
        ("/definitions/B/type", "type 'strin' is not one of: array, boolean, file, integer, null, number, object, string (did you mean 'string'?)"),
        ("/paths/nope", "must start with '/'"),
        ("/paths/~1a~1{id}/get/parameters/0/type", "parameter 'q' needs a type, one of array, boolean, integer, number, string"),
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


SCHEMA_PROBLEMS = """
swagger: "2.0"
info: {title: t, version: "1"}
parameters:
  Shared: {in: query, name: s, type: integer, maximum: y}
paths:
  /a/{id}:
    parameters: [{in: path, name: id, required: true, type: string, maxLength: z}]
    get:
      operationId: getA
      parameters:
        - {in: body, name: b, schema: {$ref: '#/definitions/Nope'}}
        - {$ref: '#/parameters/Shared'}
      responses: {200: {description: ok, schema: {type: integer, maximum: x}}}
definitions:
  P:
    type: object
    properties: {c: {$ref: '#/definitions/Missing'}}
"""


def test_schema_problems_name_their_operation_or_definition():
    with pytest.raises(SpecError) as e:
        ApiPool.add("t", yaml_str=SCHEMA_PROBLEMS)
    found = {(p.operation, p.pointer) for p in e.value.problems}
    assert found == {
        ("GET /a/{id} (getA)", "/paths/~1a~1{id}/get/parameters/0/schema/$ref"),  # found by the bundler
        ("GET /a/{id} (getA)", "/paths/~1a~1{id}/get/parameters/1/maximum"),  # a shared parameter, where used
        ("GET /a/{id} (getA)", "/paths/~1a~1{id}/get/responses/200/schema/maximum"),
        ("/a/{id}", "/paths/~1a~1{id}/parameters/0/maxLength"),  # the path's: every operation's
        ("definition 'P'", "/definitions/P/properties/c/$ref"),
    }
    assert "t: GET /a/{id} (getA): at /paths/~1a~1{id}/get/responses/200/schema/maximum: 'x' is not of type" in (
        str(e.value).replace("<yaml_str>", "t"))


def test_schema_problems_in_openapi3_name_their_schema():
    spec = {"openapi": "3.0.3", "info": {"title": "s", "version": "1"}, "paths": {},
            "components": {"schemas": {"P": {"type": "object", "properties": {"n": {"type": "integer", "minimum": "0"}}}}}}
    with pytest.raises(SpecError) as e:
        ApiPool.add("s", spec_dict=spec)
    assert [(p.operation, p.pointer) for p in e.value.problems] == [
        ("definition 'P'", "/components/schemas/P/properties/n/minimum")]


@pytest.mark.parametrize("param, reason", [
    ({"in": "query", "name": "q", "type": "int"},
     "type 'int' is not one of: array, boolean, integer, number, string (did you mean 'integer'?)"),
    ({"in": "formData", "name": "f", "type": "flie"},
     "type 'flie' is not one of: array, boolean, file, integer, number, string (did you mean 'file'?)"),
    ({"in": "query", "name": "q", "type": "float"},
     "type 'float' is not one of: array, boolean, integer, number, string (did you mean 'number'?)"),
    ({"in": "query", "name": "q", "type": "x" * 100},
     f"type {'x' * 40!r}... (100 characters) is not one of: array, boolean, integer, number, string"),
    ({"in": "query", "name": "q", "type": ["string"]},
     "type must be one of: array, boolean, integer, number, string, not the array"),
])
def test_a_parameter_of_a_wrong_type_is_told_which_types_there_are(param, reason):
    spec = {**SMALL, "paths": {"/x": {"post": {"parameters": [param], "consumes": ["multipart/form-data"],
                                               "responses": {"200": {"description": "ok"}}}}}}
    with pytest.raises(SpecError) as e:
        ApiPool.add("x", spec_dict=spec)
    assert problems_of(e) == [("/paths/~1x/post/parameters/0/type", reason)]
    assert e.value.problems[0].operation == "POST /x"


DEFAULTS = """
swagger: "2.0"
info: {title: t, version: "1"}
definitions:
  P:
    type: object
    properties:
      a: {type: integer, minimum: 1, default: 0}
      b: {type: string, enum: [a, b], default: c}
      d: {type: string, format: date, default: someday}
      e: {type: array, items: {type: string, maxLength: 2}, default: [abc]}
      f: {type: string, enum: ['true', 'false', legacy], default: true}
      u: {type: string, format: uri, default: ''}
paths:
  /a:
    get:
      parameters:
        - {in: query, name: n, type: integer, minimum: 1, default: 0}
        - {in: query, name: ok, type: string, enum: ['true', 'false'], default: true}
      responses: {200: {description: ok, schema: {$ref: '#/definitions/P'}}}
"""


def test_a_default_that_breaks_its_own_schema_is_a_load_error(caplog):
    with pytest.raises(SpecError) as e:
        ApiPool.add("t", yaml_str=DEFAULTS)
    assert [(p.operation, p.pointer, p.reason) for p in e.value.problems] == [
        ("definition 'P'", "/definitions/P/properties/a/default",
         "the default 0 does not match its own schema: 0 is less than the minimum of 1"),
        ("definition 'P'", "/definitions/P/properties/b/default",
         "the default 'c' does not match its own schema: 'c' is not one of ['a', 'b']"),
        ("definition 'P'", "/definitions/P/properties/d/default",
         "the default 'someday' does not match its own schema: 'someday' is not a valid date"),
        ("definition 'P'", "/definitions/P/properties/e/default",
         "the default does not match its own schema: [0]: 'abc' is too long"),
        ("GET /a", "/paths/~1a/get/parameters/0/default",
         "the default 0 does not match its own schema: 0 is less than the minimum of 1"),
    ]
    # only a format klue does not convert: a warning (GitHub's spec has '' for URIs)
    assert "properties/u/default: the default '' does not match its own schema" in caplog.text


def test_a_default_yaml_read_as_a_boolean_is_the_string_it_spells():
    """GitHub's spec: make_latest: {type: string, enum: ['true', 'false', legacy], default: true}."""
    spec = DEFAULTS.replace("minimum: 1, default: 0", "minimum: 1, default: 1").replace("default: c", "default: a")
    spec = spec.replace("default: someday", "default: '2020-01-01'").replace("default: [abc]", "default: [ab]")
    api = ApiPool.add("t", yaml_str=spec)
    assert api.spec.definitions["P"]["properties"]["f"]["default"] == "true"
    assert api.spec.operations[0].parameters[1].default == "true"


def test_an_openapi3_parameter_default_is_checked_once():
    spec = {"openapi": "3.0.3", "info": {"title": "s", "version": "1"},
            "paths": {"/a": {"get": {"parameters": [{"in": "query", "name": "k", "schema": {
                "type": "string", "enum": ["a", "b"], "default": "c"}}], "responses": {"200": {"description": "ok"}}}}}}
    with pytest.raises(SpecError) as e:
        ApiPool.add("s", spec_dict=spec)
    assert [str(p) for p in e.value.problems] == [
        "<spec_dict>: GET /a: at /paths/~1a/get/parameters/0/schema/default: the default 'c' does not match its own "
        "schema: 'c' is not one of ['a', 'b']"]


def _swagger_at(base_path, path="/x"):
    return {"swagger": "2.0", "info": {"title": "t", "version": "1"}, "basePath": base_path,
            "paths": {path: {"get": {"responses": {"200": {"description": "ok"}}}}}}


def _openapi_at(url):
    return {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "servers": [{"url": url}],
            "paths": {"/x": {"get": {"responses": {"200": {"description": "ok"}}}}}}


@pytest.mark.parametrize("spec, pointer, reason", [
    (_swagger_at("/a\x00b"), "/basePath", "base path '/a\\x00b' contains '\\x00', a character not allowed in a path"),
    (_swagger_at("/a%zz"), "/basePath", "base path '/a%zz' has a '%' that does not start a percent-escape"),
    (_swagger_at("/a%2Fb"), "/basePath", "base path '/a%2Fb' percent-encodes '/' (%2F), which a route cannot match"),
    (_swagger_at("/a%FF"), "/basePath", "base path '/a%FF' percent-encodes bytes that are not UTF-8"),
    (_swagger_at("/v{n}"), "/basePath", "base path '/v{n}' holds a '{' or '}': a base path has no template variables"),
    (_swagger_at("/" + "<" * 100), "/basePath", f"base path {'/' + '<' * 39!r}... (101 characters) contains '<'"),
    (_swagger_at("/", "/a%C3%A9"), "/paths/~1a%C3%A9",
     "path '/a%C3%A9' holds percent-escapes, which no request's decoded path matches: write '/aé'"),
    (_swagger_at("/", "/a\tb"), "/paths/~1a\tb", "path '/a\\tb' contains '\\t', a character not allowed in a path"),
    (_openapi_at("http://[::1/v1"), "/servers/0/url", "server url 'http://[::1/v1' is not a URL: Invalid IPv6 URL"),
    (_openapi_at("http://h/{version}"), "/servers/0/url",
     "server url variable 'version' is not declared in its variables"),
    (_openapi_at("http://h/v1?x=1"), "/servers/0/url", "server url 'http://h/v1?x=1' has a query or a fragment"),
    (_openapi_at("http://h/v1#top"), "/servers/0/url", "server url 'http://h/v1#top' has a query or a fragment"),
    (_openapi_at("http://h/a%3Cb"), "/servers/0/url", "base path '/a%3Cb' percent-encodes '<' (%3C)"),
])
def test_what_cannot_be_a_route_is_a_load_error_with_its_pointer(spec, pointer, reason):
    with pytest.raises(SpecError) as e:
        ApiPool.add("t", spec_dict=spec)
    assert [p.pointer for p in e.value.problems] == [pointer]
    assert e.value.problems[0].reason.startswith(reason), e.value.problems[0].reason


@pytest.mark.parametrize("spec, route", [
    (_swagger_at("/v1/%C3%A9"), "/v1/%C3%A9/x"),
    (_swagger_at("/v1/é"), "/v1/%C3%A9/x"),  # werkzeug routes decoded paths: non-ASCII works as it is
    (_swagger_at("/v1/~a-b.c_"), "/v1/~a-b.c_/x"),
    (_openapi_at("https://h/v1/%C3%A9"), "/v1/%C3%A9/x"),
])
def test_percent_escapes_in_base_paths_are_routed_decoded(spec, route):
    api = ApiPool.add("t", spec_dict=spec)
    app = Flask("t")
    api.spawn_api(app, mock="all")
    assert app.test_client().get(route).status_code == 200


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
