"""Error bodies that fit the spec: the error model an operation declares, filled (klue.server.errors)."""
import copy
import logging

import pytest
from flask import Flask

from klue.exceptions import KlueException, NotFound, ValidationError
from klue.security import api_keys
from klue.swagger import ApiPool
from tests.handlers import behaviours

HANDLER = "tests.handlers.behaviours.respond"

CODE_MESSAGE = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
}
SLACK = {
    "type": "object",
    "required": ["ok", "error"],
    "properties": {"ok": {"type": "boolean"}, "error": {"type": "string"}},
}
GOOGLE = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "status"],
            "properties": {
                "code": {"type": "integer"},
                "message": {"type": "string"},
                "status": {"type": "string"},
            },
        }
    },
}


def spec(version, responses, *, secured=False, definitions=None):
    """One operation, GET /things?limit=<integer 1..10>, declaring ``responses``:
    status -> (media type, schema or None). Swagger 2 takes the first media type as ``produces``."""
    definitions = copy.deepcopy(definitions or {})
    op = {
        "operationId": "listThings",
        "x-bind-server": HANDLER,
        "responses": {"200": {"description": "ok"}},
    }
    if version == "2.0":
        op["parameters"] = [{"in": "query", "name": "limit", "type": "integer", "minimum": 1, "maximum": 10}]
        medias = {media for media, _ in responses.values()}
        op["produces"] = sorted(medias)
        for status, (media, schema) in responses.items():
            op["responses"][status] = {"description": "error", **({"schema": schema} if schema else {})}
        doc = {"swagger": "2.0", "info": {"title": "t", "version": "1"}, "basePath": "/v1", "definitions": definitions}
        refs = "#/definitions/"
    else:
        op["parameters"] = [{"in": "query", "name": "limit", "schema": {"type": "integer", "minimum": 1, "maximum": 10}}]
        for status, (media, schema) in responses.items():
            content = {media: {"schema": schema} if schema else {}}
            op["responses"][status] = {"description": "error", "content": content}
        doc = {
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "1"},
            "servers": [{"url": "/v1"}],
            "components": {"schemas": definitions},
        }
        refs = "#/components/schemas/"
    if secured:
        scheme = {"type": "apiKey", "in": "header", "name": "X-Key"}
        if version == "2.0":
            doc["securityDefinitions"] = {"key": scheme}
        else:
            doc["components"]["securitySchemes"] = {"key": scheme}
        op["security"] = [{"key": []}]
    doc["paths"] = {"/things": {"get": op}}
    return _with_refs(doc, refs)


def _with_refs(node, refs):
    """``{"$ref": "Error"}`` in the tests' schemas -> the version's ref."""
    if isinstance(node, dict):
        if set(node) == {"$ref"} and "/" not in node["$ref"]:
            return {"$ref": refs + node["$ref"]}
        return {k: _with_refs(v, refs) for k, v in node.items()}
    if isinstance(node, list):
        return [_with_refs(v, refs) for v in node]
    return node


VERSIONS = ["2.0", "3.0.3"]


def serve(doc, **options):
    behaviours.result = None
    spawn_options = {"security": {"key": api_keys({"k": "alice"})}} if "securityDefinitions" in doc or (
        "securitySchemes" in doc.get("components", {})
    ) else {}
    api = ApiPool.add("errs", spec_dict=doc, **options)
    app = Flask("errs")
    api.spawn_api(app, **spawn_options)
    return app.test_client()


def raises(error):
    behaviours.result = error


def assert_problem(r, status):
    assert r.status_code == status
    body = r.get_json()
    assert body["type"] == "about:blank" and body["status"] == status and body["code"], body
    return body


# -- Error{code: integer, message: string}, both required ------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_code_message_for_a_bad_query_parameter(version):
    client = serve(spec(version, {"default": ("application/json", CODE_MESSAGE)}))
    r = client.get("/v1/things?limit=99")
    assert r.status_code == 400 and r.headers["Content-Type"] == "application/json"
    body = r.get_json()
    assert set(body) == {"code", "message"} and body["code"] == 400
    assert body["message"].startswith("query parameter 'limit': 99 is greater than the maximum of 10")
    assert r.headers["KlueCallerID"]


@pytest.mark.parametrize("version", VERSIONS)
def test_code_message_for_a_404_raised_by_the_handler(version):
    client = serve(spec(version, {"default": ("application/json", CODE_MESSAGE)}))
    raises(NotFound("no such thing"))
    assert client.get("/v1/things").get_json() == {"code": 404, "message": "no such thing"}


@pytest.mark.parametrize("version", VERSIONS)
def test_code_message_for_an_unexpected_exception_keeps_its_text_in_the_log(version, caplog):
    client = serve(spec(version, {"default": ("application/json", CODE_MESSAGE)}))
    raises(RuntimeError("db password is hunter2"))
    with caplog.at_level(logging.ERROR, logger="klue.server"):
        r = client.get("/v1/things")
    assert r.status_code == 500
    assert r.get_json() == {
        "code": 500,
        "message": "The server could not handle this request; the server log has the details.",
    }
    assert "hunter2" not in r.get_data(as_text=True) and "hunter2" in caplog.text


@pytest.mark.parametrize("version", VERSIONS)
def test_code_message_for_a_401_keeps_the_challenge(version):
    client = serve(spec(version, {"401": ("application/json", CODE_MESSAGE)}, secured=True))
    r = client.get("/v1/things")
    assert r.status_code == 401 and r.get_json()["code"] == 401 and r.get_json()["message"]
    assert r.headers["WWW-Authenticate"]
    assert client.get("/v1/things", headers={"X-Key": "k"}).status_code == 200


@pytest.mark.parametrize("version", VERSIONS)
def test_ref_and_all_of_are_followed(version):
    definitions = {
        "Base": {"type": "object", "required": ["code"], "properties": {"code": {"type": "integer"}}},
        "Error": {"allOf": [{"$ref": "Base"}, {"type": "object", "required": ["message"],
                                                 "properties": {"message": {"type": "string"}}}]},
    }
    client = serve(spec(version, {"404": ("application/json", {"$ref": "Error"})}, definitions=definitions))
    raises(NotFound("gone"))
    assert client.get("/v1/things").get_json() == {"code": 404, "message": "gone"}


# -- other shapes -----------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_slack_style(version):
    client = serve(spec(version, {"default": ("application/json", SLACK)}))
    raises(NotFound("channel_not_found"))
    assert client.get("/v1/things").get_json() == {"ok": False, "error": "channel_not_found"}


@pytest.mark.parametrize("version", VERSIONS)
def test_google_style_nested_error(version):
    client = serve(spec(version, {"default": ("application/json", GOOGLE)}))
    raises(NotFound("no such thing"))
    assert client.get("/v1/things").get_json() == {
        "error": {"code": 404, "message": "no such thing", "status": "NOT_FOUND"}
    }


@pytest.mark.parametrize("version", VERSIONS)
def test_field_errors_call_id_and_title(version):
    schema = {
        "type": "object",
        "required": ["status", "error_code", "title", "detail", "request_id", "errors"],
        "properties": {
            "status": {"type": "integer"},
            "error_code": {"type": "string"},
            "title": {"type": "string"},
            "detail": {"type": "string"},
            "request_id": {"type": "string"},
            "errors": {"type": "array", "items": {
                "type": "object", "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}, "in": {"type": "string"}},
            }},
            "unmapped": {"type": "string"},
        },
        "additionalProperties": False,
    }
    client = serve(spec(version, {"default": ("application/json", schema)}))
    r = client.get("/v1/things?limit=0", headers={"KlueCallerID": "call-7"})
    body = r.get_json()
    assert body == {
        "status": 400,
        "error_code": "VALIDATION_ERROR",
        "title": "Bad Request",
        "detail": body["detail"],
        "request_id": "call-7",
        "errors": [{"field": "limit", "message": "0 is less than the minimum of 1", "in": "query"}],
    }
    raises(NotFound("none"))
    assert client.get("/v1/things").get_json()["errors"] == []  # required: there, and empty


@pytest.mark.parametrize("version", VERSIONS)
def test_problem_json_schema_gets_about_blank_and_its_media_type(version):
    schema = {
        "type": "object",
        "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                       "detail": {"type": "string"}},
    }
    client = serve(spec(version, {"default": ("application/problem+json", schema)}))
    raises(NotFound("gone"))
    r = client.get("/v1/things")
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.get_json() == {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "gone"}


@pytest.mark.parametrize("version", VERSIONS)
def test_text_plain_error_is_the_detail(version):
    client = serve(spec(version, {"default": ("text/plain", {"type": "string"})}))
    raises(NotFound("no <such> thing"))
    r = client.get("/v1/things")
    assert r.status_code == 404 and r.mimetype == "text/plain" and r.get_data(as_text=True) == "no <such> thing"


@pytest.mark.parametrize("version", VERSIONS)
def test_text_html_error_is_the_detail_escaped(version):
    client = serve(spec(version, {"default": ("text/html", {"type": "string"})}))
    raises(NotFound("no <script>x</script> thing"))
    r = client.get("/v1/things")
    assert r.mimetype == "text/html"
    assert r.get_data(as_text=True) == "no &lt;script&gt;x&lt;/script&gt; thing"


def test_4xx_range_in_openapi3():
    client = serve(spec("3.0.3", {"4XX": ("application/json", CODE_MESSAGE)}))
    raises(NotFound("gone"))
    assert client.get("/v1/things").get_json() == {"code": 404, "message": "gone"}
    raises(RuntimeError("boom"))  # 5xx: no range, no default: the problem body
    assert_problem(client.get("/v1/things"), 500)


def test_exact_status_beats_range_and_default():
    other = {"type": "object", "required": ["msg"], "properties": {"msg": {"type": "string"}}}
    client = serve(spec("3.0.3", {
        "404": ("application/json", other),
        "4XX": ("application/json", SLACK),
        "default": ("application/json", CODE_MESSAGE),
    }))
    raises(NotFound("gone"))
    assert client.get("/v1/things").get_json() == {"msg": "gone"}
    assert client.get("/v1/things?limit=0").get_json()["ok"] is False
    raises(RuntimeError("boom"))
    assert client.get("/v1/things").get_json()["code"] == 500


@pytest.mark.parametrize("version", VERSIONS)
def test_declared_status_without_a_body_keeps_the_problem_body(version):
    client = serve(spec(version, {"404": ("application/json", None), "default": ("application/json", SLACK)}))
    raises(NotFound("gone"))
    assert_problem(client.get("/v1/things"), 404)


# -- what cannot be filled -------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_unknown_required_field_warns_once_at_spawn_and_keeps_the_problem_body(version, caplog):
    schema = {
        "type": "object",
        "required": ["code", "timestamp"],
        "properties": {"code": {"type": "integer"}, "timestamp": {"type": "string", "format": "date-time"}},
    }
    doc = spec(version, {"400": ("application/json", schema), "404": ("application/json", {
        "type": "object", "required": ["codes"], "properties": {"codes": {"type": "array"}}})})
    with caplog.at_level(logging.WARNING, logger="klue.server"):
        client = serve(doc)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    text = warnings[0].getMessage()
    assert "API 'errs'" in text and "GET /things (listThings) 400" in text and "'timestamp'" in text
    assert "GET /things (listThings) 404" in text and "'codes'" in text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="klue.server"):
        assert_problem(client.get("/v1/things?limit=0"), 400)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("version", VERSIONS)
def test_closed_schema_with_nothing_to_fill_warns(version, caplog):
    schema = {"type": "object", "properties": {"foo": {"type": "string"}}, "additionalProperties": False}
    with caplog.at_level(logging.WARNING, logger="klue.server"):
        client = serve(spec(version, {"default": ("application/json", schema)}))
    assert "nothing in it has a mapping" in caplog.text
    raises(NotFound("gone"))
    assert_problem(client.get("/v1/things"), 404)


@pytest.mark.parametrize("version", VERSIONS)
def test_open_schema_with_nothing_to_fill_is_silent(version, caplog):
    schema = {"type": "object", "properties": {"foo": {"type": "string"}}}
    with caplog.at_level(logging.WARNING, logger="klue.server"):
        client = serve(spec(version, {"default": ("application/json", schema)}))
    assert not caplog.records
    raises(NotFound("gone"))
    assert_problem(client.get("/v1/things"), 404)


def test_a_sample_the_schema_refuses_warns_at_spawn(caplog):
    schema = {"type": "object", "required": ["code"], "properties": {"code": {"type": "string", "enum": ["E1"]}}}
    with caplog.at_level(logging.WARNING, logger="klue.server"):
        client = serve(spec("3.0.3", {"default": ("application/json", schema)}))
    assert "does not match" in caplog.text
    raises(NotFound("gone"))
    assert_problem(client.get("/v1/things"), 404)


def test_a_filled_body_refused_at_request_time_falls_back_to_the_problem_body(caplog):
    schema = {"type": "object", "required": ["status"],
              "properties": {"status": {"type": "integer", "enum": [400, 500]}}}
    client = serve(spec("3.0.3", {"default": ("application/json", schema)}))
    raises(NotFound("gone"))  # 404: the samples (400, 500) passed, this one is refused
    with caplog.at_level(logging.WARNING, logger="klue.server"):
        assert_problem(client.get("/v1/things"), 404)
    assert "does not match the spec" in caplog.text
    raises(KlueException("x", status_code=400))
    assert client.get("/v1/things").get_json() == {"status": 400}


def test_unknown_paths_and_methods_keep_the_problem_body():
    client = serve(spec("3.0.3", {"default": ("application/json", CODE_MESSAGE)}))
    assert_problem(client.get("/v1/nowhere"), 404)
    r = client.post("/v1/things")
    assert_problem(r, 405)
    assert r.headers["Allow"]


# -- error_callback wins ---------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_error_callback_still_wins(version):
    client = serve(
        spec(version, {"default": ("application/json", SLACK)}),
        error_callback=lambda e: {"mine": type(e).__name__},
    )
    raises(NotFound("gone"))
    assert client.get("/v1/things").get_json() == {"mine": "NotFound"}
    assert client.get("/v1/things?limit=0").get_json() == {"mine": "ValidationError"}


@pytest.mark.parametrize("version", VERSIONS)
def test_handler_validation_error_with_field_errors_as_strings(version):
    schema = {"type": "object", "required": ["message", "errors"], "properties": {
        "message": {"type": "string"}, "errors": {"type": "array", "items": {"type": "string"}}}}
    client = serve(spec(version, {"default": ("application/json", schema)}))
    raises(ValidationError.for_field("body", "name", "is taken"))
    assert client.get("/v1/things").get_json() == {
        "message": "body field 'name': is taken", "errors": ["body field 'name': is taken"],
    }


@pytest.mark.parametrize("version", VERSIONS)
def test_without_a_declared_error_the_problem_body_is_unchanged(version):
    client = serve(spec(version, {}))
    r = client.get("/v1/things?limit=0", headers={"KlueCallerID": "call-9"})
    body = assert_problem(r, 400)
    assert r.headers["Content-Type"] == "application/json"
    assert body["code"] == "VALIDATION_ERROR" and body["call_id"] == "call-9" and body["title"] == "Bad Request"
    assert body["errors"] == [{"in": "query", "name": "limit", "message": "0 is less than the minimum of 1"}]
    raises(behaviours.Teapot("hot"))
    assert assert_problem(client.get("/v1/things"), 418)["code"] == "TEAPOT"
