"""Client edge cases: arguments, headers, retries, responses, parallel and local calls at their limits.

Every server binds to 127.0.0.1 on a free port and is stopped at the end of its test;
every call uses small timeouts and a fast RetryPolicy.
"""
import collections
import datetime as dt
import io
import json
import os
import threading
import time
from email.utils import formatdate

import pytest
from flask import Flask, Response, g, redirect, request

from klue.client import RetryPolicy
from klue.exceptions import (
    ArgumentError,
    CallConnectionError,
    ClientError,
    InvalidResponseError,
    KlueException,
    NoHostError,
    RemoteError,
    ValidationError,
)
from klue.swagger import ApiPool
from klue.swagger.client import async_call
from tests.live import free_port, live

FAST = RetryPolicy(backoff=0.01, max_backoff=0.05)

# -- a plain Flask app that records exactly what arrives ----------------------------------------

REC_SPEC = """
swagger: "2.0"
info: {title: recorder, version: "1"}
basePath: /r
paths:
  /p/{name}:
    get:
      operationId: path
      parameters:
        - {in: path, name: name, type: string, required: true}
        - {in: query, name: q, type: string}
        - {in: query, name: tags, type: array, items: {type: string}, collectionFormat: csv}
        - {in: query, name: codes, type: array, items: {type: string}, collectionFormat: pipes}
        - {in: query, name: ids, type: array, items: {type: integer}, collectionFormat: multi}
        - {in: query, name: n, type: integer}
        - {in: query, name: when, type: string, format: date-time}
        - {in: query, name: day, type: string, format: date}
        - {in: header, name: X-H, type: string}
        - {in: header, name: X-Arr, type: array, items: {type: string}}
      responses: {200: {description: ok, schema: {type: object}}}
  /body:
    post:
      operationId: body
      parameters: [{in: body, name: b, schema: {type: object, additionalProperties: true}}]
      responses: {200: {description: ok, schema: {type: object}}}
  /thing:
    head:
      operationId: headThing
      responses: {200: {description: ok, schema: {type: object}}}
    post:
      operationId: postThing
      parameters: [{in: body, name: b, schema: {type: object}}]
      responses: {200: {description: ok, schema: {type: object}}}
  /loop:
    get:
      operationId: loop
      responses: {200: {description: ok}}
  /cookie:
    get:
      operationId: cookie
      responses: {200: {description: ok, schema: {type: object}}}
  /upload:
    post:
      operationId: upload
      consumes: [multipart/form-data]
      parameters:
        - {in: query, name: fail_first, type: boolean}
        - {in: formData, name: f, type: file}
        - {in: formData, name: c, type: string}
      responses: {200: {description: ok, schema: {type: object}}}
  /status/{code}:
    get:
      operationId: statusGet
      parameters:
        - {in: path, name: code, type: integer, required: true}
        - {in: query, name: ra, type: string}
        - {in: query, name: kind, type: string}
      responses:
        200: {description: ok, schema: {$ref: "#/definitions/Hits"}}
        204: {description: nothing}
        201: {description: created, schema: {$ref: "#/definitions/Hits"}}
        404: {description: missing, schema: {$ref: "#/definitions/Error"}}
    post:
      operationId: statusPost
      parameters:
        - {in: path, name: code, type: integer, required: true}
        - {in: query, name: ra, type: string}
      responses:
        200: {description: ok, schema: {$ref: "#/definitions/Hits"}}
  /undeclared:
    get:
      operationId: undeclared
      responses: {200: {description: ok, schema: {$ref: "#/definitions/Hits"}}}
  /empty:
    get:
      operationId: empty
      responses: {200: {description: ok, schema: {$ref: "#/definitions/Hits"}}}
  /big:
    get:
      operationId: big
      responses: {200: {description: ok, schema: {type: array, items: {$ref: "#/definitions/Hits"}}}}
definitions:
  Hits:
    type: object
    required: [hits]
    properties:
      hits: {type: integer}
  Error:
    type: object
    required: [error]
    properties:
      error: {type: string}
"""


def recorder_app():
    app = Flask("recorder")
    app.hits = collections.Counter()
    app.seen = []
    lock = threading.Lock()

    def hit():
        with lock:
            app.hits[(request.method, request.path)] += 1
            n = app.hits[(request.method, request.path)]
            app.seen.append({
                "method": request.method, "path": request.path, "raw": request.environ.get("RAW_URI"),
                "args": request.args.to_dict(flat=False), "headers": request.headers,
                "content_type": request.content_type, "body": request.get_data(cache=True),
                "files": {k: len(v.read()) for k, v in request.files.items()}, "form": request.form.to_dict(flat=False),
            })
            return n

    @app.route("/r/p/<name>")
    def path(name):
        hit()
        app.seen[-1]["name"] = name
        return {"name": name}

    @app.route("/r/body", methods=["POST"])
    def body():
        hit()
        return {"ok": True}

    @app.route("/r/thing", methods=["GET", "POST"])
    def thing():
        hit()
        if request.method == "POST":
            return redirect("/r/thing", 302)
        return {"n": 1}

    @app.route("/r/loop")
    def loop():
        hit()
        return redirect("/r/loop", 302)

    @app.route("/r/cookie")
    def cookie():
        hit()
        r = Response(json.dumps({"cookie": request.headers.get("Cookie")}), mimetype="application/json")
        r.set_cookie("session", "user-1-secret")
        return r

    @app.route("/r/upload", methods=["POST"])
    def upload():
        n = hit()
        if n == 1 and request.args.get("fail_first") == "true":
            return Response("{}", status=503, mimetype="application/json")
        return {"sizes": app.seen[-1]["files"], "content_type": request.mimetype}

    @app.route("/r/status/<int:code>", methods=["GET", "POST"])
    def status(code):
        n = hit()
        headers = {"Retry-After": request.args["ra"]} if "ra" in request.args else {}
        if code == 204:
            return Response(status=204)
        if code >= 300:
            if request.args.get("kind") == "text":
                return Response("<html>oops</html>", status=code, headers=headers, mimetype="text/html")
            if request.args.get("kind") == "offspec":
                return Response(json.dumps({"message": "nope"}), status=code, headers=headers, mimetype="application/json")
            return Response(json.dumps({"error": f"status {code}"}), status=code, headers=headers, mimetype="application/json")
        return Response(json.dumps({"hits": n}), status=code, mimetype="application/json")

    @app.route("/r/undeclared")
    def undeclared():
        hit()
        return Response("<html>created</html>", status=201, mimetype="text/html")

    @app.route("/r/empty")
    def empty():
        hit()
        return Response(b"", status=200, mimetype="application/json")

    @app.route("/r/big")
    def big():
        hit()
        return Response(json.dumps([{"hits": i} for i in range(100_000)]), mimetype="application/json")

    return app


@pytest.fixture
def rec():
    app = recorder_app()
    with live(app) as server:
        api = ApiPool.add("rec", yaml_str=REC_SPEC, host=server.url, retry=FAST, timeout=2)
        yield api, app


def _klue_app(name, spec, **add):
    """A klue app for ``spec``, and the API pointed at it in-process."""
    app = Flask(name)
    ApiPool.add(name, yaml_str=spec).spawn_api(app)
    return app, ApiPool.add(name, yaml_str=spec, local=app, retry=FAST, **add)


# ==============================================================================================
# Arguments: what actually arrives server-side
# ==============================================================================================

@pytest.mark.parametrize("value", ["..", "."])
def test_dot_segment_path_values_reach_their_own_resource(rec, value):
    """A path value '..' must not become a '/..' segment that the URL library resolves away
    (GET /r/p/.. was sent as GET /r/, another resource)."""
    api, app = rec
    try:
        call = api.client.path(name=value)
    except ArgumentError:
        return  # refusing the value outright is acceptable too
    call.call()
    assert app.seen[-1]["path"].startswith("/r/p/"), app.seen[-1]["path"]
    assert app.seen[-1].get("name") == value


def test_empty_required_path_value_is_refused(rec):
    """'' for a path parameter produces GET /r/p/ (another resource): it cannot be sent."""
    api, app = rec
    with pytest.raises(ArgumentError, match="name"):
        api.client.path(name="")
    assert not app.seen


def test_csv_item_containing_the_separator_is_refused(rec):
    """tags=['a,b', 'c'] silently arrived as three tags ['a', 'b', 'c']."""
    api, app = rec
    with pytest.raises(ArgumentError, match="tags"):
        api.client.path(name="x", tags=["a,b", "c"])
    with pytest.raises(ArgumentError, match="codes"):
        api.client.path(name="x", codes=["a|b"])
    assert not app.seen


@pytest.mark.parametrize("name, value", [
    ("X-Arr", ["a\r\nX-Evil: 1"]),  # CR/LF in an array header escapes the CR/LF check
    ("X-H", " leading"),             # requests refuses leading whitespace
    ("X-H", "日本"),                 # not latin-1: http.client raises UnicodeEncodeError
])
def test_header_values_http_cannot_carry_are_refused_when_built(rec, name, value):
    api, app = rec
    with pytest.raises(ArgumentError, match=name):
        api.client.path(name="x", **{name: value})
    assert not app.seen


@pytest.mark.parametrize("headers", [{"X-Y": "a\r\nX-Evil: 1"}, {"X-Y": 5}])
def test_unsendable_request_headers_fail_fast_not_as_retried_connection_errors(rec, headers):
    """A caller bug is not a network failure: no retries, no CallConnectionError."""
    api, _ = rec
    with pytest.raises(Exception) as e:
        api.client.path(name="x").call(request_headers=headers)
    assert not isinstance(e.value, ClientError), f"{type(e.value).__name__}: {e.value}"
    assert isinstance(e.value, (ValueError, TypeError, ValidationError))


@pytest.mark.parametrize("payload", [{"x": float("nan")}, {"x": float("inf")}, {"x": object()}])
def test_body_that_is_not_json_is_a_validation_error(rec, payload):
    """json.dumps raised a bare ValueError/TypeError out of the caller."""
    api, _ = rec
    with pytest.raises(ArgumentError):
        api.client.body(payload)


def test_max_attempts_below_one_is_refused(rec):
    """max_attempts=0 silently meant the default (3 attempts), because of `x or default`."""
    api, app = rec
    with pytest.raises((ValueError, ValidationError, TypeError)):
        api.client.statusGet(code=502).call(max_attempts=0)
    assert app.hits[("GET", "/r/status/502")] == 0


def test_request_headers_from_caller_and_call_are_merged(rec):
    api, app = rec
    api.client.path(name="x", request_headers={"X-A": "1"}).call(request_headers={"X-B": "2"})
    headers = app.seen[-1]["headers"]
    assert headers.get("X-B") == "2"
    assert headers.get("X-A") == "1"


def test_arguments_arrive_intact(rec):
    api, app = rec
    when = dt.datetime(2021, 3, 4, 5, 6, 7, 123456, tzinfo=dt.timezone(dt.timedelta(hours=-3)))
    api.client.path(name="é ?#%+{q};=&", q="a&b=c+d é#", ids=[1, 1, 2], tags=["x y", "z"], n=2.0, when=when,
                    day=dt.date(2020, 2, 29), **{"X-H": "café", "X-Arr": ["a", "b"]}).call()
    seen = app.seen[-1]
    assert seen["name"] == "é ?#%+{q};=&"
    assert seen["args"] == {"q": ["a&b=c+d é#"], "ids": ["1", "1", "2"], "tags": ["x y,z"], "n": ["2"],
                            "when": [when.isoformat()], "day": ["2020-02-29"]}
    assert seen["headers"]["X-Arr"] == "a,b"
    assert seen["headers"]["X-H"].encode("latin-1").decode("latin-1") == "café"


@pytest.mark.parametrize("kwargs", [
    {"n": True},                                   # bool is not an integer
    {"n": 1.5},
    {"when": dt.datetime(2020, 1, 1)},             # naive datetime: not RFC 3339
    {"day": dt.datetime(2020, 1, 1, 12, 0)},       # a datetime is not a date
    {"ids": ["1"]},
    {"nope": 1},
])
def test_bad_argument_values_are_refused_before_sending(rec, kwargs):
    api, app = rec
    with pytest.raises(ArgumentError):
        api.client.path(name="x", **kwargs)
    assert not app.seen


def test_none_for_optional_parameters_is_left_out(rec):
    api, app = rec
    api.client.path(name="x", q=None, ids=None, **{"X-H": None}).call()
    assert app.seen[-1]["args"] == {} and "X-H" not in app.seen[-1]["headers"]


def test_model_checks_on_body(petstore):
    with pytest.raises(ArgumentError, match="name"):
        petstore.client.addPet(petstore.model.Tag(label="x"))  # a model of another definition
    with pytest.raises(ArgumentError, match="Additional properties|additional"):
        petstore.client.addPet({"name": "a", "owner": {"email": "a@b.co", "extra": 1}})
    with pytest.raises(ArgumentError):
        petstore.client.getPet(pet_id=True)


def test_request_headers_override_content_type_accept_and_call_id(rec):
    api, app = rec
    api.client.body({"a": 1}).call(request_headers={"content-type": "application/merge-patch+json",
                                                    "accept": "text/plain", "kluecallerid": "mine-1"})
    headers = app.seen[-1]["headers"]
    assert headers.getlist("Content-Type") == ["application/merge-patch+json"]
    assert headers.getlist("Accept") == ["text/plain"]
    assert headers.getlist("KlueCallerID") == ["mine-1"]
    assert app.seen[-1]["body"] == b'{"a":1}'


def test_options_given_to_call_win_over_the_caller(rec):
    api, app = rec
    with pytest.raises(RemoteError):
        api.client.statusGet(code=503, max_attempts=3).call(max_attempts=1)
    assert app.hits[("GET", "/r/status/503")] == 1


# ==============================================================================================
# Files and forms
# ==============================================================================================

def test_calling_a_call_twice_sends_the_whole_file_twice(rec):
    """The README: .call() sends the call each time; the second time the file was empty."""
    api, app = rec
    call = api.client.upload(f=("a.txt", io.BytesIO(b"12345"), "text/plain"))
    assert call.call()["sizes"] == {"f": 5}
    assert call.call()["sizes"] == {"f": 5}


def test_a_retried_upload_sends_the_whole_file(rec):
    """After a 503 the retry sent a 0-byte file, and the server accepted it: silent data loss."""
    api, app = rec
    out = api.client.upload(fail_first=True, f=("a.txt", io.BytesIO(b"12345"), "text/plain")).call(force_retry=True)
    assert app.hits[("POST", "/r/upload")] == 2
    assert out["sizes"] == {"f": 5}


UPLOAD_SPEC = """
swagger: "2.0"
info: {title: up, version: "1"}
paths:
  /upload:
    post:
      operationId: upload
      x-bind-server: tests.client.test_client_edge_cases.upload_handler
      consumes: [multipart/form-data]
      parameters:
        - {in: formData, name: f, type: file}
        - {in: formData, name: c, type: string}
      responses: {200: {description: ok, schema: {type: object}}}
"""


def upload_handler(f=None, c=None):
    return {"size": len(f.read()) if f is not None else None, "c": c}


def test_multipart_only_operation_without_a_file_is_sent_as_multipart():
    """consumes: [multipart/form-data] with no file given went out urlencoded; klue's own server answers 415."""
    _, api = _klue_app("up", UPLOAD_SPEC)
    assert api.client.upload(c="x").call() == {"size": None, "c": "x"}
    assert api.client.upload(c="y", f=("a", io.BytesIO(b"abc"), "text/plain")).call() == {"size": 3, "c": "y"}


# ==============================================================================================
# Responses
# ==============================================================================================

def test_head_operation_has_no_body_to_parse(rec):
    api, app = rec
    assert api.client.headThing().call() is None
    assert app.hits[("HEAD", "/r/thing")] == 1


def test_a_post_is_never_silently_turned_into_a_get_by_a_redirect(rec):
    """POST -> 302 -> the client followed with a GET and returned the GET's body as the POST's result."""
    api, app = rec
    try:
        api.client.postThing({"a": 1}).call()
    except ClientError:
        pass
    assert [s["method"] for s in app.seen] == ["POST"]


def test_a_redirect_loop_is_not_retried(rec):
    """TooManyRedirects is not a transient failure: it cost 93 requests (3 x 31)."""
    api, app = rec
    with pytest.raises(ClientError):
        api.client.loop().call()
    assert app.hits[("GET", "/r/loop")] <= 31


def test_cookies_set_by_one_call_are_not_sent_with_the_next(rec):
    """One process-wide session per API: a Set-Cookie of one user's call went out with every later call."""
    api, app = rec
    assert api.client.cookie().call() == {"cookie": None}
    assert api.client.cookie().call() == {"cookie": None}


def test_undeclared_2xx_that_is_not_json_is_an_invalid_response(rec):
    """README: 'InvalidResponseError: a 2xx body that is not JSON'. The HTML text came back as the result."""
    api, _ = rec
    with pytest.raises(InvalidResponseError):
        api.client.undeclared().call()


def test_2xx_with_empty_body_when_a_schema_is_declared(rec):
    api, _ = rec
    with pytest.raises(InvalidResponseError, match="not valid JSON"):
        api.client.empty().call()


def test_204_and_201(rec):
    api, _ = rec
    assert api.client.statusGet(code=204).call() is None
    created = api.client.statusGet(code=201).call()
    assert type(created).__name__ == "Hits" and created.hits == 1


@pytest.mark.parametrize("kind, body", [("text", "<html>oops</html>"), ("offspec", {"message": "nope"})])
def test_error_bodies_off_the_spec_are_handed_over_as_is(rec, kind, body):
    api, app = rec
    with pytest.raises(RemoteError) as e:
        api.client.statusGet(code=404, kind=kind).call()
    assert e.value.status_code == 404 and e.value.body == body and e.value.attempts == 1
    assert e.value.method == "GET" and e.value.url.endswith("/r/status/404")


def test_big_body_is_decoded(rec):
    api, _ = rec
    out = api.client.big().call(read_timeout=5)
    assert len(out) == 100_000 and out[-1].hits == 99_999


# ==============================================================================================
# Retries
# ==============================================================================================

def test_refused_connection_is_retried_for_a_post_too():
    api = ApiPool.add("rec", yaml_str=REC_SPEC, host="127.0.0.1", port=free_port(), proto="http", retry=FAST)
    with pytest.raises(CallConnectionError) as e:
        api.client.statusPost(code=200).call(max_attempts=2)
    assert e.value.attempts == 2


@pytest.mark.parametrize("code", [502, 503, 504])
def test_gateway_errors_for_a_post_are_tried_once_even_with_retry_after(rec, code):
    api, app = rec
    with pytest.raises(RemoteError):
        api.client.statusPost(code=code, ra="0").call()
    assert app.hits[("POST", f"/r/status/{code}")] == 1


def test_max_attempts_one_means_one_request(rec):
    api, app = rec
    with pytest.raises(RemoteError) as e:
        api.client.statusGet(code=503).call(max_attempts=1)
    assert e.value.attempts == 1 and app.hits[("GET", "/r/status/503")] == 1


def test_retry_after_as_seconds_and_http_date_and_capped(rec):
    policy = RetryPolicy(max_retry_after=3.0)

    class Fake:
        def __init__(self, value):
            self.headers = {"Retry-After": value}

    assert policy.wait(1, Fake("1.5")) == 1.5
    in_two = policy.wait(1, Fake(formatdate(time.time() + 2, usegmt=True)))
    assert 0.5 <= in_two <= 2.0
    assert policy.wait(1, Fake(formatdate(time.time() - 60, usegmt=True))) == 0.0
    # asked to wait longer than the cap: not retried early, the answer is returned at once
    assert policy.wait(1, Fake(formatdate(time.time() + 3600, usegmt=True))) is None
    assert policy.wait(1, Fake("-5")) == 0.0
    assert 0 <= policy.wait(1, Fake("soon")) <= policy.backoff


def test_retry_after_beyond_the_cap_fails_fast_on_the_wire(rec):
    api, app = rec
    ApiPool.add("rec", yaml_str=REC_SPEC, host=f"http://127.0.0.1:{app_port(api)}",
                retry=RetryPolicy(backoff=0.01, max_retry_after=0.15))
    started = time.monotonic()
    with pytest.raises(RemoteError) as e:
        ApiPool.rec.client.statusGet(code=503, ra="3600").call(max_attempts=2)
    elapsed = time.monotonic() - started
    assert e.value.attempts == 1 and elapsed < 0.5
    assert e.value.headers["Retry-After"] == "3600"  # the caller can see when to come back


def app_port(api):
    return int(api.client._base_url().rsplit(":", 1)[1].split("/")[0])


# ==============================================================================================
# error_callback
# ==============================================================================================

def test_error_callback_value_and_raising_callback(rec):
    api, app = rec
    seen = []
    base = f"http://127.0.0.1:{app_port(api)}"
    ApiPool.add("rec", yaml_str=REC_SPEC, host=base, retry=FAST, error_callback=lambda e: seen.append(e) or {"fallback": 1})
    assert ApiPool.rec.client.statusGet(code=404).call() == {"fallback": 1}
    assert isinstance(seen[0], RemoteError)

    def boom(e):
        raise KeyError("from callback")

    ApiPool.add("rec", yaml_str=REC_SPEC, host=base, retry=FAST, error_callback=boom)
    with pytest.raises(KeyError):
        ApiPool.rec.client.statusGet(code=404).call()
    out = async_call(ApiPool.rec.client.statusGet(code=200), ApiPool.rec.client.statusGet(code=404),
                     return_exceptions=True)
    assert out[0].hits >= 1 and isinstance(out[1], KeyError)


# ==============================================================================================
# async_call
# ==============================================================================================

def test_async_call_sizes_and_mixed_apis(rec):
    api, _ = rec
    _, local = _klue_app("up", UPLOAD_SPEC)
    assert async_call() == []
    assert async_call(api.client.statusGet(code=200))[0].hits >= 1
    out = async_call(api.client.path(name="a"), local.client.upload(f=("n", io.BytesIO(b"1"), "a/b")),
                     api.client.statusGet(code=204),
                     max_workers=1)
    assert out == [{"name": "a"}, {"size": 1, "c": None}, None]
    many = async_call(*[api.client.path(name=f"n{i}") for i in range(100)])
    assert [m["name"] for m in many] == [f"n{i}" for i in range(100)]


def test_async_call_with_a_call_that_cannot_be_sent(rec):
    api, app = rec
    nohost = ApiPool.add("nohost", yaml_str=REC_SPEC.replace("basePath: /r", "basePath: /z"))
    calls = [api.client.path(name="a"), nohost.client.path(name="b"), api.client.path(name="c")]
    with pytest.raises(NoHostError):
        async_call(*calls)
    assert sorted(s["name"] for s in app.seen) == ["a", "c"]  # the others still ran
    out = async_call(*calls, return_exceptions=True)
    assert isinstance(out[1], NoHostError) and out[2] == {"name": "c"}


def _fd_count():
    return len(os.listdir("/proc/self/fd"))


def test_no_threads_or_file_descriptors_left_behind(rec):
    api, _ = rec
    async_call(*[api.client.path(name="w") for _ in range(20)])  # warm the pool up
    fds = _fd_count()
    for _ in range(5):
        async_call(*[api.client.path(name="x") for _ in range(40)], max_workers=8)
    for _ in range(50):
        api.client.path(name="y").call()
    assert not [t for t in threading.enumerate() if t.name.startswith("klue-call")]
    assert _fd_count() <= fds + 2
    # re-adding the API under the same name closes the previous one's connections
    for _ in range(5):
        ApiPool.add("rec", yaml_str=REC_SPEC, host=f"http://127.0.0.1:{app_port(api)}", retry=FAST).client.path(name="z").call()
    assert _fd_count() <= fds + 4


def test_removed_and_re_added_apis(rec):
    api, app = rec
    ApiPool.remove("rec")
    with pytest.raises(AttributeError, match="no API 'rec'"):
        ApiPool.rec
    other = recorder_app()
    with live(other) as server:
        ApiPool.add("rec", yaml_str=REC_SPEC, host=server.url, retry=FAST)
        ApiPool.rec.client.path(name="new").call()
    assert other.seen[-1]["name"] == "new" and not app.seen


# ==============================================================================================
# Call IDs
# ==============================================================================================

def test_calls_made_while_serving_one_plain_flask_request_share_a_call_id(rec):
    """In a gateway that is not a klue app, every call of one incoming request got its own new ID,
    so the request's downstream calls could not be correlated."""
    api, app = rec
    plain = Flask("plain")

    @plain.route("/x")
    def x():
        api.client.body({}).call()
        async_call(api.client.body({}), api.client.body({}))
        return {}

    assert plain.test_client().get("/x").status_code == 200
    ids = {s["headers"]["KlueCallerID"] for s in app.seen}
    assert len(app.seen) == 3 and len(ids) == 1, ids


A_SPEC = """
swagger: "2.0"
info: {title: a, version: "1"}
basePath: /a
paths:
  /relay:
    get:
      operationId: relay
      x-bind-server: tests.client.test_client_edge_cases.relay
      responses: {200: {description: ok, schema: {type: object}}}
  /nested:
    get:
      operationId: nested
      x-bind-server: tests.client.test_client_edge_cases.nested
      responses: {200: {description: ok, schema: {type: object}}}
"""


def relay():
    return ApiPool.rec.client.statusGet(code=404).call()  # the RemoteError escapes


def nested():
    mine = [g.call_id, g.call_path]
    inner = async_call(*[ApiPool.rec.client.body({"i": i}) for i in range(3)])
    return {"mine": mine, "inner": len(inner), "after": [g.call_id, g.call_path]}


def test_a_downstream_4xx_escaping_a_handler_is_a_502_that_hides_internal_urls(rec):
    """RemoteError carries the callee's status as its own status_code: service A answered 404 to its
    client, with 'GET http://127.0.0.1:<port>/r/status/404' (an internal address) as the detail."""
    a_app, _ = _klue_app("a", A_SPEC)
    r = a_app.test_client().get("/a/relay")
    assert r.status_code == 502, (r.status_code, r.get_json())
    assert "127.0.0.1" not in r.get_data(as_text=True)


def test_nested_async_call_in_a_handler_carries_the_call_id(rec):
    api, app = rec
    _, a = _klue_app("a", A_SPEC)
    out = a.client.nested().call(request_headers={"KlueCallerID": "id-7", "KlueCallerPath": "pub"})
    assert out["mine"] == ["id-7", "pub.a"] and out["after"] == ["id-7", "pub.a"] and out["inner"] == 3
    assert {s["headers"]["KlueCallerID"] for s in app.seen} == {"id-7"}
    assert {s["headers"]["KlueCallerPath"] for s in app.seen} == {"pub.a"}


# ==============================================================================================
# local=app
# ==============================================================================================

LOCAL_SPEC = """
swagger: "2.0"
info: {title: loc, version: "1"}
basePath: /l
paths:
  /q:
    get:
      operationId: q
      x-bind-server: tests.client.test_client_edge_cases.local_q
      parameters:
        - {in: query, name: ids, type: array, items: {type: integer}, collectionFormat: multi}
        - {in: header, name: X-H, type: string}
      responses:
        200: {description: ok, schema: {type: object}}
        default: {description: error}
"""


def local_q(ids=None, **headers):
    h = headers.get("X-H")
    if h == "teapot":
        raise KlueException("short and stout", status_code=418)
    if h == "crash":
        raise RuntimeError("internal detail")
    return {"ids": ids, "h": h, "call_path": g.call_path}


def test_local_mode_queries_headers_files_and_errors():
    _, api = _klue_app("loc", LOCAL_SPEC)
    assert api.client.q(ids=[3, 3, 1], **{"X-H": "v"}).call() == {"ids": [3, 3, 1], "h": "v", "call_path": "loc"}
    with pytest.raises(RemoteError) as e:
        api.client.q(**{"X-H": "teapot"}).call()
    assert e.value.status_code == 418 and e.value.body["detail"] == "short and stout"
    with pytest.raises(RemoteError) as e:
        api.client.q(**{"X-H": "crash"}).call()
    assert e.value.status_code == 500 and "internal detail" not in json.dumps(e.value.body)
    _, up = _klue_app("up", UPLOAD_SPEC)
    assert up.client.upload(c="x", f=("a", io.BytesIO(b"abcd"), "text/plain")).call() == {"size": 4, "c": "x"}
    from flask import has_app_context
    assert not has_app_context()


# ==============================================================================================
# Exceptions
# ==============================================================================================

def test_remote_error_survives_pickle_and_copy():
    """Errors cross process boundaries (multiprocessing, celery, ProcessPoolExecutor) and get copied:
    RemoteError's required keyword-only status_code made unpickling and copy.copy raise TypeError."""
    import copy
    import pickle

    e = RemoteError("GET http://x/y: 404 NOT FOUND", status_code=404, body={"error": "x"}, method="GET",
                    url="http://x/y", attempts=2)
    for clone in (lambda x: pickle.loads(pickle.dumps(x)), copy.copy):
        c = clone(e)
        assert (c.status_code, c.body, c.method, c.url, c.attempts, str(c)) == \
            (404, {"error": "x"}, "GET", "http://x/y", 2, str(e))


def test_gevent_backend_when_asked_for(rec):
    import gevent.pool  # noqa: F401 -- the test extra installs gevent: missing, this must fail, not skip
    api, _ = rec
    out = async_call(*[api.client.path(name=f"g{i}") for i in range(5)], backend="gevent", return_exceptions=True)
    assert [o["name"] for o in out] == [f"g{i}" for i in range(5)]
    with pytest.raises(ValueError, match="unknown async_call backend"):
        async_call(api.client.path(name="x"), backend="asyncio")
