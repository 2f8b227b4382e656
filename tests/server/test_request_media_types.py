"""A request body declared as JSON and other media types (XML, text): JSON is
parsed and validated; the others reach the handler as they came, str for text/*,
bytes otherwise; an undeclared type is a 415 naming every declared one."""
import pytest
from flask import Flask

from klue.swagger import ApiPool

OPENAPI = """
openapi: 3.0.3
info: {title: bodies, version: "1"}
paths:
  /pets:
    post:
      x-bind-server: tests.server.test_request_media_types.echo
      requestBody:
        required: true
        content:
          application/json: {schema: {type: object, required: [name], properties: {name: {type: string}}}}
          application/xml: {schema: {type: object}}
          text/plain: {schema: {type: string}}
      responses: {200: {description: ok, schema: {type: object}, content: {application/json: {schema: {type: object}}}}}
"""

SWAGGER = """
swagger: "2.0"
info: {title: bodies2, version: "1"}
basePath: /v2
paths:
  /pets:
    post:
      x-bind-server: tests.server.test_request_media_types.echo
      consumes: [application/json, application/xml]
      parameters: [{in: body, name: body, required: true, schema: {type: object}}]
      responses: {200: {description: ok, schema: {type: object}}}
"""


def echo(body):
    return {"type": type(body).__name__, "value": body if isinstance(body, (str, dict)) else body.decode("latin-1")}


@pytest.fixture
def client():
    app = Flask("bodies")
    ApiPool.add("bodies", yaml_str=OPENAPI).spawn_api(app)
    ApiPool.add("bodies2", yaml_str=SWAGGER).spawn_api(app)
    return app.test_client()


def test_json_is_parsed_and_validated(client):
    assert client.post("/pets", json={"name": "Rex"}).get_json() == {"type": "dict", "value": {"name": "Rex"}}
    assert client.post("/pets", json={"nom": "Rex"}).status_code == 400


def test_xml_reaches_the_handler_as_bytes(client):
    xml = b"<pet><name>Rex</name></pet>"
    r = client.post("/pets", data=xml, content_type="application/xml")
    assert r.get_json() == {"type": "bytes", "value": xml.decode()}
    r = client.post("/v2/pets", data=xml, content_type="application/xml")
    assert r.get_json() == {"type": "bytes", "value": xml.decode()}


def test_text_reaches_the_handler_as_str_in_its_charset(client):
    r = client.post("/pets", data="café".encode("latin-1"), content_type="text/plain; charset=latin-1")
    assert r.get_json() == {"type": "str", "value": "café"}
    r = client.post("/pets", data="café".encode(), content_type="text/plain")
    assert r.get_json() == {"type": "str", "value": "café"}


@pytest.mark.parametrize("data, content_type", [(b"\xff\xfe", "text/plain"), (b"x", "text/plain; charset=nope")])
def test_text_that_is_not_in_its_charset_is_a_400(client, data, content_type):
    r = client.post("/pets", data=data, content_type=content_type)
    assert r.status_code == 400 and "is not text in" in r.get_json()["detail"]


def test_an_undeclared_type_is_a_415_naming_the_declared_ones(client):
    r = client.post("/pets", data=b"a=b", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 415
    assert r.get_json()["detail"].startswith("Content-Type must be application/json or application/xml or text/plain")
