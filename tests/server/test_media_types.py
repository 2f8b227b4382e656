"""A handler's result goes out as the media type its response declares: str for
text/*, bytes, a file or an iterator (streamed) for the rest, JSON for JSON
types; with several declared, the request's Accept chooses (406 when none fits)."""
import io

import pytest
from flask import Flask, request

from klue.swagger import ApiPool

SPEC = """
openapi: 3.0.3
info: {title: media, version: "1"}
paths:
  /text:
    get:
      x-bind-server: tests.server.test_media_types.handler
      responses: {200: {description: ok, content: {text/plain: {schema: {type: string}}}}}
  /png:
    get:
      x-bind-server: tests.server.test_media_types.handler
      responses: {200: {description: ok, content: {image/png: {schema: {type: string, format: binary}}}}}
  /csv:
    get:
      x-bind-server: tests.server.test_media_types.handler
      responses: {200: {description: ok, content: {text/csv: {}}}}
  /download:
    get:
      x-bind-server: tests.server.test_media_types.handler
      responses: {200: {description: ok, content: {application/octet-stream: {}}}}
  /anything:
    get:
      x-bind-server: tests.server.test_media_types.handler
      responses: {200: {description: ok, content: {"*/*": {}}}}
  /both:
    get:
      x-bind-server: tests.server.test_media_types.handler
      responses:
        200:
          description: ok
          content:
            application/json: {schema: {type: object}}
            text/html: {schema: {type: string}}
"""

SWAGGER = """
swagger: "2.0"
info: {title: media2, version: "1"}
paths:
  /text:
    get:
      x-bind-server: tests.server.test_media_types.handler
      produces: [text/plain]
      responses: {200: {description: ok, schema: {type: string}}}
"""

result = None


def csv_rows():
    return iter(["a,1\n", "b,2\n"])


def handler():
    return result() if callable(result) else result


@pytest.fixture
def client():
    app = Flask("media")
    ApiPool.add("media", yaml_str=SPEC).spawn_api(app)
    ApiPool.add("media2", yaml_str=SWAGGER).spawn_api(app)
    return app.test_client()


def answer(client, path, value, **headers):
    global result
    result = value
    return client.get(path, headers=headers)


def test_a_str_for_text_plain_is_text_not_a_json_string(client):
    r = answer(client, "/text", "hello, é")
    assert (r.status_code, r.content_type, r.get_data(as_text=True)) == (200, "text/plain; charset=utf-8", "hello, é")
    r = answer(client, "/text", "swagger 2 too")
    assert (r.content_type, r.data) == ("text/plain; charset=utf-8", b"swagger 2 too")


def test_bytes_for_a_binary_type(client):
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    r = answer(client, "/png", png)
    assert (r.status_code, r.content_type, r.data) == (200, "image/png", png)
    r = answer(client, "/png", bytearray(b"ab"))
    assert r.data == b"ab"


def test_a_file_is_streamed_and_closed(client):
    data = bytes(range(256)) * 1000  # several chunks
    file = io.BytesIO(data)
    r = answer(client, "/download", file)
    assert r.is_streamed and r.content_type == "application/octet-stream"
    assert r.data == data and file.closed


def test_a_generator_is_streamed_chunk_by_chunk(client):
    sent = []

    def rows():
        for n in range(3):
            sent.append(n)
            yield f"{n},{n * n}\n"

    r = answer(client, "/csv", rows)  # the handler returns rows(): a generator
    assert r.is_streamed and r.content_type == "text/csv; charset=utf-8"
    assert r.get_data(as_text=True) == "0,0\n1,1\n2,4\n" and sent == [0, 1, 2]


def test_a_range_declared_is_sent_as_a_real_type(client):
    assert answer(client, "/anything", b"\x00\x01").content_type == "application/octet-stream"
    assert answer(client, "/anything", "words").content_type == "text/plain; charset=utf-8"


def test_without_accept_the_first_declared_type_that_fits_the_result(client):
    r = answer(client, "/both", {"a": 1})
    assert (r.content_type, r.get_json()) == ("application/json", {"a": 1})
    r = answer(client, "/both", "<p>hi</p>")  # a str: the declared text type before JSON
    assert (r.content_type, r.data) == ("text/html; charset=utf-8", b"<p>hi</p>")
    assert answer(client, "/both", "<p>hi</p>", Accept="*/*").content_type == "text/html; charset=utf-8"


def test_accept_chooses_among_the_declared_types(client):
    r = answer(client, "/both", "<p>hi</p>", Accept="text/html")
    assert (r.content_type, r.data) == ("text/html; charset=utf-8", b"<p>hi</p>")
    r = answer(client, "/both", {"a": 1}, Accept="text/html;q=0.9, application/json;q=0.5")
    assert r.content_type == "application/json"  # the only acceptable type a dict fits
    r = answer(client, "/both", "<p>hi</p>", Accept="text/*")
    assert r.content_type == "text/html; charset=utf-8"


def test_406_when_nothing_acceptable_fits(client):
    r = answer(client, "/both", {"a": 1}, Accept="text/html")  # a dict cannot be HTML
    assert r.status_code == 406 and r.get_json()["code"] == "NOT_ACCEPTABLE"
    assert "application/json" in r.get_json()["detail"]
    r = answer(client, "/both", "x", Accept="image/png")
    assert r.status_code == 406


@pytest.mark.parametrize("path, value", [("/png", {"not": "bytes"}), ("/png", 42), ("/download", [1, 2])])
def test_a_result_that_cannot_be_that_type_is_a_500(client, path, value, caplog):
    r = answer(client, path, value)
    assert r.status_code == 500 and "cannot be sent as" in caplog.text
    assert "cannot be sent" not in r.get_data(as_text=True)  # the reason stays in the log


def test_the_client_gets_str_for_text_and_bytes_for_binary_and_asks_for_what_it_reads():
    app = Flask("media_client")
    ApiPool.add("media", yaml_str=SPEC).spawn_api(app)
    api = ApiPool.add("media", yaml_str=SPEC, local=app)
    seen = []

    @app.before_request
    def note_accept():
        seen.append(request.headers.get("Accept"))

    global result
    result = "plain words"
    assert api.client.get_text().call() == "plain words"
    result = b"\x89PNG\x00"
    assert api.client.get_png().call() == b"\x89PNG\x00"
    result = csv_rows
    assert api.client.get_csv().call() == "a,1\nb,2\n"
    result = {"a": 1}
    assert api.client.get_both().call() == {"a": 1}
    result = "<p>hi</p>"
    assert api.client.get_both().call() == "<p>hi</p>"
    assert seen[:2] == ["text/plain", "image/png"] and seen[-1] == "application/json, text/html"
