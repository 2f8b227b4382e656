"""Edge cases and hostile input: requests, responses and spec loading at their limits.

Handlers of the small specs below bind to ``tests.server.test_edge_cases.echo``, which
records what it received in ``CALLS`` and returns ``RESULT(*args, **kwargs)``
when set, else its body argument (or a dict of its keyword arguments).
"""
import copy
import datetime as dt
import logging

import pytest
from flask import Flask
from werkzeug.datastructures import Headers

from klue.exceptions import SpecError
from klue.swagger import ApiPool
from tests.conftest import spec_path
from tests.handlers import behaviours, pets
from tests.server.declared_errors import fields_of

ECHO = "tests.server.test_edge_cases.echo"
CALLS: list = []
RESULT = None


def echo(*args, **kwargs):
    CALLS.append((args, kwargs))
    if RESULT is not None:
        return RESULT(*args, **kwargs)
    if args:
        return args[0]
    return {"got": {k: repr(v) for k, v in kwargs.items()}}


@pytest.fixture(autouse=True)
def _reset():
    global RESULT
    RESULT = None
    CALLS.clear()
    behaviours.result = None
    pets.received.clear()
    yield
    RESULT = None


def set_result(fn):
    global RESULT
    RESULT = fn


BASE = {"swagger": "2.0", "info": {"title": "review", "version": "1"}, "paths": {}}
OBJ_200 = {"200": {"description": "ok", "schema": {"type": "object"}}}


def spec_with(paths=None, **top):
    d = copy.deepcopy(BASE)
    d["paths"] = paths or {}
    d.update(copy.deepcopy(top))
    return d


def get_op(params, path="/x", responses=None, **op):
    return spec_with({path: {"get": {"x-bind-server": ECHO, "parameters": params,
                                     "responses": responses or OBJ_200, **op}}})


def body_op(schema, definitions=None, path="/x", response_schema=None, **op):
    operation = {
        "x-bind-server": ECHO,
        "parameters": [{"in": "body", "name": "b", "schema": schema}],
        "responses": {"200": {"description": "ok", "schema": response_schema or schema}},
        **op,
    }
    return spec_with({path: {"post": operation}}, definitions=definitions or {})


def serve(spec, name="review"):
    api = ApiPool.add(name, spec_dict=spec)
    app = Flask(name)
    api.spawn_api(app)
    return app.test_client()


def load_and_spawn(spec):
    api = ApiPool.add("review", spec_dict=spec)
    api.spawn_api(Flask("review"))
    return api


def assert_spec_error(spec, pointer_part):
    """A bad spec must raise SpecError (at load, or at the latest at spawn) naming the pointer."""
    with pytest.raises(SpecError) as e:
        load_and_spawn(spec)
    pointers = " ".join(p.pointer for p in e.value.problems)
    assert pointer_part in pointers, str(e.value)


def assert_400(r, name=None, location=None):
    assert r.status_code == 400, r.data
    body = r.get_json()
    assert body["status"] == 400
    if "type" in body:  # the problem body
        assert body["code"] == "VALIDATION_ERROR"
    else:  # the operation declares Error{error, status}
        assert set(body) == {"error", "status"}, body
    fields = fields_of(body)
    if name is not None:
        assert any(n == name for _, n in fields), body
    if location is not None:
        assert any(loc == location for loc, _ in fields), body
    return body


def last_kwargs(handler="list_pets"):
    return pets.received[handler][1]


# =============================================================================
# Requests: numbers
# =============================================================================

@pytest.mark.parametrize("text", ["\u0665", "\uff15", "\U0001d7d3"])  # arabic-indic, fullwidth, math bold 5
def test_non_ascii_digits_are_not_an_integer_query_parameter(client, text):
    r = client.get("/v1/pets", query_string={"limit": text})
    assert_400(r, "limit", "query")


def test_non_ascii_digits_are_not_an_integer_path_parameter(client):
    r = client.get("/v1/pets/\u0665")
    assert_400(r, "pet_id", "path")


def test_non_ascii_digits_are_not_a_number_query_parameter(client):
    r = client.get("/v1/pets", query_string={"min_weight": "\uff11.5"})
    assert_400(r, "min_weight", "query")


def test_json_number_overflowing_to_infinity_is_400_not_500(client):
    data = '{"name": "a", "tags": [{"label": "x", "weight": 1e400}]}'
    r = client.post("/v1/pets", data=data, content_type="application/json")
    assert_400(r)  # addPet declares 400: Error{error, status}, not the problem body
    assert "add_pet" not in pets.received


def test_json_float_for_integer_field_is_rejected_or_made_an_int(client):
    r = client.put("/v1/echo/abc", json={"count": 1.0})
    if r.status_code == 400:
        assert_400(r, "count", "body")
        return
    assert r.status_code == 200
    payload = pets.received["echo"][0][0]
    assert type(payload["count"]) is int, "a `type: integer` field reached the handler as a float"


def test_integer_response_field_is_sent_as_a_json_integer():
    behaviours.result = {"name": "x", "size": 2.0}
    api = ApiPool.add("things", yaml_path=spec_path("behaviours.yaml"))
    app = Flask("things")
    api.spawn_api(app)
    r = app.test_client().get("/api/thing")
    # Either the response is rejected, or the integer goes out as an integer (not 2.0).
    assert r.status_code == 500 or b'"size":2}' in r.data, r.data


def test_json_true_for_integer_field_is_400(client):
    assert_400(client.post("/v1/pets", json={"name": "a", "id": True}), "id", "body")
    assert_400(client.post("/v1/pets", json={"name": "a", "tags": [{"label": "x", "weight": False}]}),
               "tags[0].weight", "body")


def test_integer_with_too_many_digits_is_400(client):
    r = client.post("/v1/pets", data='{"name":"a","id":' + "9" * 5000 + "}", content_type="application/json")
    assert_400(r)
    r = client.get("/v1/pets", query_string={"limit": "9" * 5000})
    assert_400(r, "limit", "query")


def test_empty_string_for_typed_query_parameters_is_400(client):
    for name in ("limit", "fat", "min_weight", "since"):
        assert_400(client.get(f"/v1/pets?{name}="), name, "query")


# =============================================================================
# Requests: bodies
# =============================================================================

@pytest.mark.parametrize("data", [b'{"name": "a"', b'{"name": "\xff"}', b'{"name": "a"} x', b"   ", b"NaN"])
def test_malformed_json_bodies_are_400(client, data):
    assert_400(client.post("/v1/pets", data=data, content_type="application/json"))


@pytest.mark.parametrize("headers", [{}, {"Content-Type": ""}, {"Content-Type": "text/json"}])
def test_missing_or_wrong_content_type_is_415(client, headers):
    r = client.post("/v1/pets", data=b'{"name": "a"}', headers=headers)
    assert r.status_code == 415 and r.get_json()["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_json_nested_very_deep_inside_a_valid_object_is_400(client):
    deep = '{"name": "a", "owner": ' + '{"friend": ' * 5000 + "{}" + "}" * 5000 + "}"
    assert_400(client.post("/v1/pets", data=deep, content_type="application/json"))


def test_optional_body_absent_is_none_and_null_is_400(client):
    r = client.put("/v1/echo/abc")
    assert r.status_code == 200 and pets.received["echo"][0] == (None,)
    assert_400(client.put("/v1/echo/abc", data="null", content_type="application/json"), location="body")


def test_server_keeps_serving_after_bad_requests(client):
    for data in (b"{", b"\xff\xfe", b"[" * 100000):
        client.post("/v1/pets", data=data, content_type="application/json")
    client.get("/v1/pets/\u0000")
    r = client.post("/v1/pets", json={"name": "ok"})
    assert r.status_code == 201 and r.get_json()["name"] == "ok"


# =============================================================================
# Requests: query, path, header parameters
# =============================================================================

def test_repeated_non_array_query_parameter_is_400(client):
    assert_400(client.get("/v1/pets?limit=5&limit=6"), "limit", "query")


def test_collection_format_edge_cases(client):
    assert client.get("/v1/pets?tags=").status_code == 200
    assert last_kwargs()["tags"] == []
    assert_400(client.get("/v1/pets?codes=AB|"), "codes[1]", "query")
    assert_400(client.get("/v1/pets?ids=1&ids="), "ids", "query")


def test_dot_dot_and_encoded_slash_in_path_parameter(client):
    r = client.put("/v1/echo/..", json={})
    assert r.status_code == 200 and pets.received["echo"][1]["name"] == ".."
    r = client.put("/v1/echo/a%2Fb", json={})
    assert r.status_code in (400, 404) and r.get_json()["status"] == r.status_code


def test_invalid_utf8_in_path_parameter_is_400(client):
    assert_400(client.put("/v1/echo/%ff", json={}), "name", "path")


def test_required_query_parameter_with_allow_empty_value_false_rejects_empty():
    c = serve(get_op([{"in": "query", "name": "q", "type": "string", "required": True, "allowEmptyValue": False}]))
    assert_400(c.get("/x?q="), "q", "query")
    assert not CALLS


def test_path_and_query_parameter_of_one_name_do_not_clobber_each_other():
    spec = get_op([
        {"in": "path", "name": "id", "type": "integer", "required": True},
        {"in": "query", "name": "id", "type": "string"},
    ], path="/x/{id}")
    c = serve(spec)  # real specs do this (Kubernetes: a path and a query parameter 'path')
    r = c.get("/x/5?id=abc")
    assert r.status_code == 200
    assert CALLS[-1][1] == {"id": 5, "query_id": "abc"}, "the query string replaced the validated path parameter"
    caller = ApiPool.review.client.__getattr__  # the client takes the same names
    assert set(ApiPool.review.spec.operations[0].parameters[i].arg_name for i in range(2)) == {"id", "query_id"}
    assert caller


def test_date_default_on_a_parameter_arrives_as_a_date():
    c = serve(get_op([{"in": "query", "name": "d", "type": "string", "format": "date", "default": "2020-01-02"}]))
    assert c.get("/x").status_code == 200
    assert CALLS[-1][1]["d"] == dt.date(2020, 1, 2)


# =============================================================================
# Requests: models
# =============================================================================

MODELS = {
    "Base": {"type": "object", "required": ["id"],
             "properties": {"id": {"type": "integer"}, "when": {"type": "string", "format": "date"}}},
    "Child": {"allOf": [{"$ref": "#/definitions/Base"}, {"type": "object", "properties": {
        "parent": {"$ref": "#/definitions/Child", "x-nullable": True}}}]},
    "Holder": {"type": "object", "properties": {
        "child": {"$ref": "#/definitions/Base", "x-nullable": True},
        "mode": {"type": "string", "enum": ["a", "b", None], "x-nullable": True},
        "bag": {"type": "object", "additionalProperties": {"$ref": "#/definitions/Base"}},
    }},
}


def test_allof_recursive_and_nullable_ref_models_decode():
    c = serve(body_op({"$ref": "#/definitions/Child"}, MODELS))
    r = c.post("/x", json={"id": 1, "when": "2020-01-01", "parent": {"id": 2, "when": "2021-01-01", "parent": None}})
    assert r.status_code == 200, r.data
    child = CALLS[-1][0][0]
    assert type(child).__name__ == "Child" and child.when == dt.date(2020, 1, 1)
    assert child.parent.when == dt.date(2021, 1, 1) and child.parent.parent is None
    assert_400(c.post("/x", json={"when": "2020-01-01"}))


def test_additional_properties_schema_and_nullable_enum():
    c = serve(body_op({"$ref": "#/definitions/Holder"}, MODELS))
    r = c.post("/x", json={"child": None, "mode": None, "bag": {"k": {"id": 1, "when": "2020-01-01"}}})
    assert r.status_code == 200, r.data
    holder = CALLS[-1][0][0]
    assert holder.bag["k"].when == dt.date(2020, 1, 1) and type(holder.bag["k"]).__name__ == "Base"
    assert_400(c.post("/x", json={"mode": "c"}), "mode", "body")
    assert_400(c.post("/x", json={"bag": {"k": {}}}), "bag.k", "body")


# =============================================================================
# Responses
# =============================================================================

@pytest.fixture
def things():
    api = ApiPool.add("things", yaml_path=spec_path("behaviours.yaml"))
    app = Flask("things")
    api.spawn_api(app)
    return app.test_client()


def test_tuple_with_a_headers_object(things):
    behaviours.result = ({"name": "x"}, Headers([("X-A", "1")]))
    r = things.get("/api/thing")
    assert r.status_code == 200 and r.headers["X-A"] == "1" and r.get_json() == {"name": "x"}


def test_model_from_another_api_is_encoded():
    other = ApiPool.add("other", yaml_path=spec_path("behaviours.yaml"))
    api = ApiPool.add("things", yaml_path=spec_path("behaviours.yaml"))
    app = Flask("things")
    api.spawn_api(app)
    behaviours.result = other.model.Thing(name="o", size=2)
    r = app.test_client().get("/api/thing")
    assert r.status_code == 200 and r.get_json() == {"name": "o", "size": 2}


@pytest.mark.parametrize("value", [
    (x for x in [{"name": "a"}]), b"bytes", ValueError("secret-text /srv/app.py line 3"), {"name": b"x"},
])
def test_5xx_bodies_never_carry_exception_text(things, value, caplog):
    behaviours.result = value
    with caplog.at_level(logging.CRITICAL, logger="klue.server"):
        r = things.get("/api/things")
    assert r.status_code == 500
    text = r.get_data(as_text=True)
    for leak in ("secret", "Traceback", "generator", "bytes", "File ", ".py"):
        assert leak not in text


def test_error_callback_from_the_readme_does_not_leak_5xx_details(caplog):
    """README's error_callback puts ``str(e)`` in the body; klue promises a 5xx never
    shows internal text, so what the callback gets for a 5xx must already be safe."""
    api = ApiPool.add("things", yaml_path=spec_path("behaviours.yaml"),
                      error_callback=lambda e: ApiPool.things.model.Error(error=type(e).__name__, kind=str(e)))
    app = Flask("things")
    api.spawn_api(app)
    behaviours.result = {"size": "not-an-int"}  # invalid response: klue's own internal message
    with caplog.at_level(logging.CRITICAL, logger="klue.server"):
        r = app.test_client().get("/api/thing")
    assert r.status_code == 500
    text = r.get_data(as_text=True)
    assert "does not match the spec" not in text and "not-an-int" not in text, text


def test_flask_abort_in_a_handler_gets_the_matching_error_code(things):
    r = things.get("/api/abort")
    assert r.status_code == 404
    assert r.get_json()["code"] == "NOT_FOUND"


def test_payload_too_large_gets_its_error_code(petstore):
    app = Flask("test")
    app.config["MAX_CONTENT_LENGTH"] = 10
    petstore.spawn_api(app)
    r = app.test_client().post("/v1/pets", data='{"name": "aaaaaaaaaaaaaaaaaaaaaa"}', content_type="application/json")
    assert r.status_code == 413
    assert r.get_json()["code"] == "PAYLOAD_TOO_LARGE"


# =============================================================================
# Spec loading: unusual but valid constructs
# =============================================================================

def test_path_level_parameters_refs_and_response_refs():
    spec = spec_with(
        {"/r/{id}": {
            "parameters": [{"$ref": "#/parameters/Id"}],
            "post": {"x-bind-server": ECHO,
                     "parameters": [{"$ref": "#/parameters/IdInt"}, {"$ref": "#/parameters/Payload"}],
                     "responses": {"200": {"$ref": "#/responses/Ok"}}},
            "get": {"x-bind-server": ECHO, "responses": OBJ_200},
        }},
        parameters={
            "Id": {"in": "path", "name": "id", "type": "string", "required": True},
            "IdInt": {"in": "path", "name": "id", "type": "integer", "required": True},
            "Payload": {"in": "body", "name": "p", "required": True,
                        "schema": {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}},
        },
        responses={"Ok": {"description": "ok", "schema": {"type": "object", "required": ["n"]}}},
    )
    c = serve(spec)
    assert c.post("/r/5", json={"n": 1}).status_code == 200 and CALLS[-1][1] == {"id": 5}
    assert_400(c.post("/r/abc", json={"n": 1}), "id", "path")
    assert c.get("/r/abc").status_code == 200 and CALLS[-1][1] == {"id": "abc"}


def test_definition_referring_to_a_parameter_schema_loads_and_serves():
    spec = body_op({"$ref": "#/definitions/Copy"}, {
        "Copy": {"type": "object", "properties": {"inner": {"$ref": "#/parameters/P/schema"}}},
    })
    spec["parameters"] = {"P": {"in": "body", "name": "p", "schema": {
        "type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}}}
    c = serve(spec)
    assert c.post("/x", json={"inner": {"n": 1}}).status_code == 200
    assert_400(c.post("/x", json={"inner": {}}), location="body")


def test_yaml_anchors_aliases_and_merge_keys():
    api = ApiPool.add("review", yaml_str="""
swagger: "2.0"
info: {title: t, version: "1"}
x-base: &B {type: object, properties: {a: {type: string}}}
x-ok: &R
  200: {description: ok, schema: {type: object}}
definitions:
  A:
    <<: *B
    required: [a]
paths:
  /a: {get: {x-bind-server: tests.server.test_edge_cases.echo, responses: *R}}
  /b: {get: {x-bind-server: tests.server.test_edge_cases.echo, responses: *R}}
""")
    assert api.spec.definitions["A"]["required"] == ["a"] and "a" in api.spec.definitions["A"]["properties"]
    assert [op.responses["200"].schema for op in api.spec.operations] == [{"type": "object"}] * 2


# =============================================================================
# Spec loading: problems must be SpecErrors with a pointer, never crashes
# =============================================================================

@pytest.mark.parametrize("schema, pointer", [
    ({"type": "string", "enum": "abc"}, "/definitions/A/enum"),
    ({"type": "string", "pattern": "(["}, "/definitions/A/pattern"),
    ({"type": "string", "pattern": 5}, "/definitions/A/pattern"),
    ({"type": "integer", "minimum": "a"}, "/definitions/A/minimum"),
    ({"type": "string", "maxLength": "a"}, "/definitions/A/maxLength"),
    ({"type": "object", "properties": []}, "/definitions/A/properties"),
    ({"$ref": "#/definitions/A"}, "/definitions/A"),
])
def test_bad_schema_keywords_are_spec_errors(schema, pointer):
    assert_spec_error(body_op({"$ref": "#/definitions/A"}, {"A": schema}), pointer)


@pytest.mark.parametrize("param, pointer", [
    ({"in": "query", "name": "a", "type": "integer", "default": "x"}, "/parameters/0"),
    ({"in": "query", "name": "a", "type": "string", "format": "date", "default": "nope"}, "/parameters/0"),
    ({"in": "query", "name": "a", "type": "boolean", "default": "true"}, "/parameters/0"),
    ({"in": "query", "name": "a", "type": "string", "pattern": "(["}, "/parameters/0"),
    ({"in": "query", "name": "a", "type": "array"}, "/parameters/0"),
])
def test_bad_parameter_declarations_are_spec_errors(param, pointer):
    assert_spec_error(get_op([param]), pointer)


def test_flask_rule_syntax_in_a_path_is_not_a_500():
    spec = get_op([], path="/x/<int:id>")
    try:
        c = serve(spec)
    except SpecError:
        return
    assert c.get("/x/5").status_code == 404


def test_path_template_variable_used_twice_is_a_spec_error():
    spec = get_op([{"in": "path", "name": "a", "type": "string", "required": True}], path="/x/{a}/{a}")
    assert_spec_error(spec, "/paths/~1x~1{a}~1{a}")


def test_x_no_bind_server_false_as_a_string_does_not_skip_the_operation():
    spec = get_op([], **{"x-no-bind-server": "false"})
    try:
        c = serve(spec)
    except SpecError:
        return
    assert c.get("/x").status_code == 200, "operation silently skipped"


def test_consumes_given_as_a_string_is_a_spec_error_or_understood():
    spec = body_op({"type": "object"}, consumes="application/json")
    try:
        c = serve(spec)
    except SpecError:
        return
    assert c.post("/x", json={"a": 1}).status_code == 200


def test_duplicate_keys_in_a_yaml_spec_are_a_spec_error():
    text = """
swagger: "2.0"
info: {title: t, version: "1"}
paths:
  /x: {get: {x-bind-server: tests.server.test_edge_cases.echo, responses: {200: {description: a}}}}
paths:
  /y: {get: {x-bind-server: tests.server.test_edge_cases.echo, responses: {200: {description: b}}}}
"""
    with pytest.raises(SpecError):
        ApiPool.add("review", yaml_str=text)


def test_int_and_string_status_keys_for_one_status_are_a_spec_error():
    spec = spec_with({"/x": {"get": {"x-bind-server": ECHO, "responses": {
        200: {"description": "int", "schema": {"type": "integer"}},
        "200": {"description": "str", "schema": {"type": "string"}},
    }}}})
    with pytest.raises(SpecError):
        ApiPool.add("review", spec_dict=spec)


def test_unencodable_text_in_yaml_str_is_a_spec_error():
    with pytest.raises(SpecError):
        ApiPool.add("review", yaml_str='swagger: "2.0"\ninfo: {title: "\udcff", version: "1"}\npaths: {}\n')


def test_deeply_nested_spec_is_a_spec_error_not_a_recursion_error():
    text = 'swagger: "2.0"\ninfo: {title: t, version: "1"}\npaths: {}\nx-deep: ' + "[" * 1200 + "]" * 1200
    with pytest.raises(SpecError):
        ApiPool.add("review", yaml_str=text)


# =============================================================================
# Secrets stay out of error bodies and logs
# =============================================================================

def test_password_and_write_only_values_are_never_echoed(caplog):
    spec = body_op({"type": "object", "properties": {
        "password": {"type": "string", "format": "password", "minLength": 12},
        "pin": {"type": "string", "maxLength": 4, "x-nullable": False},
    }, "required": ["password"]})
    c = serve(spec)
    with caplog.at_level(logging.INFO, logger="klue"):
        r = c.post("/x", json={"password": "hunter2-secret"[:7]})
    assert r.status_code == 400
    assert "hunter2" not in r.get_data(as_text=True) and "hunter2" not in caplog.text
    assert r.get_json()["errors"][0] == {"in": "body", "name": "password",
                                         "message": "the value (not shown) fails 'minLength: 12'"}


def test_whole_objects_are_not_quoted_in_errors():
    c = serve(body_op({"type": "array", "items": {"type": "string"}}))
    r = c.post("/x", json={"token": "abc123", "nested": {"secret": "s"}})
    assert r.status_code == 400
    assert "abc123" not in r.get_data(as_text=True)
    assert r.get_json()["errors"][0]["message"] == "the object is not of type 'array'"


def test_access_log_masks_secret_looking_query_values(client, caplog):
    with caplog.at_level(logging.INFO, logger="klue.access"):
        client.get("/v1/pets?kind=cat&api_key=s3cr3t&access_token=abc", headers={"Authorization": "Bearer zzz"})
    assert "kind=cat" in caplog.text and "api_key=***" in caplog.text and "access_token=***" in caplog.text
    assert "s3cr3t" not in caplog.text and "zzz" not in caplog.text
