"""Handler results, errors and error bodies of spawned routes."""
import logging
import re

import pytest
from flask import Flask, Response

from klue import exceptions
from klue.exceptions import ArgumentError, KlueException, NoHostError, NotFound, SpecError, ValidationError
from klue.swagger import ApiPool
from tests.conftest import spec_path
from tests.handlers import behaviours

SECRET = "db password is hunter2"


@pytest.fixture
def api():
    behaviours.result = None
    behaviours.order.clear()
    return ApiPool.add("things", yaml_path=spec_path("behaviours.yaml"))


@pytest.fixture
def client(api):
    app = Flask("things")
    api.spawn_api(app)
    return app.test_client()


def returns(value):
    behaviours.result = value


def assert_problem(r, status):
    assert r.status_code == status
    assert r.headers["Content-Type"] == "application/json"
    body = r.get_json()
    assert body["status"] == status and body["type"] == "about:blank" and body["title"] and body["detail"]
    return body


def assert_declared_error(r, status):
    """GET /api/thing declares 400 and default: Error{error (required), kind}, so klue
    fills that instead of the problem body: ``error`` is the detail (klue.server.errors)."""
    assert r.status_code == status
    assert r.headers["Content-Type"] == "application/json"
    body = r.get_json()
    assert set(body) == {"error"}, body
    return body["error"]


# -- success ----------------------------------------------------------------------

def test_model_instance_becomes_json(client, api):
    returns(api.model.Thing(name="a", size=3))
    r = client.get("/api/thing")
    assert r.status_code == 200 and r.get_json() == {"name": "a", "size": 3}
    assert r.headers["Content-Type"] == "application/json"


def test_dict_list_and_primitive_results(client):
    returns({"name": "a"})
    assert client.get("/api/thing").get_json() == {"name": "a"}
    returns([{"name": "a"}, {"name": "b", "size": 1}])
    assert client.get("/api/things").get_json() == [{"name": "a"}, {"name": "b", "size": 1}]
    returns(7)
    assert client.get("/api/count").get_json() == 7


def test_lowest_declared_2xx_is_the_default_status(client):
    returns({"name": "a"})
    assert client.post("/api/thing").status_code == 201


def test_tuple_sets_status_and_headers(client):
    returns(({"name": "a"}, 202, {"X-Thing": "yes"}))
    r = client.post("/api/thing")
    assert r.status_code == 202 and r.headers["X-Thing"] == "yes" and r.get_json() == {"name": "a"}
    returns(({"name": "a"}, {"X-Only": "headers"}))
    r = client.post("/api/thing")
    assert r.status_code == 201 and r.headers["X-Only"] == "headers"


def test_declared_error_status_with_its_schema(client):
    returns(({"error": "bad size"}, 400))
    r = client.get("/api/thing")
    assert r.status_code == 400 and r.get_json() == {"error": "bad size"}


def test_default_response_covers_undeclared_statuses(client):
    returns(({"error": "gone"}, 410))
    assert client.get("/api/thing").status_code == 410


def test_no_content_response(client):
    returns((None, 204))
    r = client.delete("/api/nothing")
    assert r.status_code == 204 and r.data == b""


def test_flask_response_passes_through(client):
    r = client.get("/api/raw")
    assert r.status_code == 203 and r.data == b"<b>raw</b>" and r.mimetype == "text/html"


# -- server-side failures are 500s that leak nothing -----------------------------

@pytest.mark.parametrize("result", [
    None,  # a schema is declared: None is not a Thing
    {"size": 3},  # missing required name
    {"name": 5},
    ({"name": "a"}, 299),  # undeclared status, no default
    ({"name": "a"}, "200"),
    ({"name": "a"}, 99999),
    ({"name": "a"}, 200, {}, "extra"),
    {"name": "a", "size": object()},
])
def test_invalid_result_is_a_500(client, result, caplog):
    returns(result)
    with caplog.at_level(logging.ERROR, logger="klue.server"):
        r = client.post("/api/thing")
    body = assert_problem(r, 500)
    assert body["code"] == "INVALID_RESPONSE"
    assert "makeThing" in caplog.text  # the server log names the operation


def test_handler_exception_is_a_500_without_its_text(client, caplog):
    returns(RuntimeError(SECRET))
    with caplog.at_level(logging.ERROR, logger="klue.server"):
        r = client.get("/api/thing")
    assert assert_declared_error(r, 500).startswith("The server could not handle this request")
    assert SECRET not in r.get_data(as_text=True)
    assert "Traceback" not in r.get_data(as_text=True)
    call_id = r.headers["KlueCallerID"]
    # ... but the server log has it, with the traceback and the call ID
    assert SECRET in caplog.text and "Traceback" in caplog.text and call_id in caplog.text


def test_klue_exception_subclass_sets_the_status(client):
    returns(behaviours.Teapot("short and stout"))
    assert assert_declared_error(client.get("/api/thing"), 418) == "short and stout"
    returns(NotFound("no thing 3"))
    assert assert_declared_error(client.get("/api/thing"), 404) == "no thing 3"
    returns(KlueException("nope", status_code=409))
    assert assert_declared_error(client.get("/api/thing"), 409) == "nope"


def test_5xx_klue_exception_text_stays_in_the_log(client):
    returns(KlueException(SECRET))
    r = client.get("/api/thing")
    assert_declared_error(r, 500)
    assert SECRET not in r.get_data(as_text=True)


def test_flask_abort_keeps_its_status(client):
    body = assert_problem(client.get("/api/abort"), 404)
    assert body["detail"] == "no such thing"


def test_error_media_type_follows_produces(client):
    returns(behaviours.Teapot("x"))
    r = client.get("/api/problem")
    assert r.status_code == 418 and r.headers["Content-Type"] == "application/problem+json"


# -- error_callback ---------------------------------------------------------------

def make_client_with_callback(callback):
    api = ApiPool.add("things", yaml_path=spec_path("behaviours.yaml"), error_callback=callback)
    app = Flask("cb")
    api.spawn_api(app)
    return api, app.test_client()


def test_error_callback_formats_errors(received):
    seen = []

    def formatter(e):
        seen.append(e)
        return ApiPool.things.model.Error(error=type(e).__name__, kind=str(e))

    api, client = make_client_with_callback(formatter)
    returns(behaviours.Teapot("hot"))
    r = client.get("/api/thing")
    assert r.status_code == 418 and r.get_json() == {"error": "Teapot", "kind": "hot"}
    # unexpected exceptions reach the callback as a generic InternalServerError
    returns(ValueError(SECRET))
    r = client.get("/api/thing")
    assert r.status_code == 500 and r.get_json()["error"] == "InternalServerError"
    assert SECRET not in r.get_data(as_text=True)
    assert isinstance(seen[-1].__cause__, ValueError)
    # and request validation errors too, with the field named
    r = client.get("/api/nope")
    assert r.status_code == 404 and r.get_json()["error"] == "NotFound"


def test_failing_error_callback_falls_back_to_the_default_body(caplog):
    def broken(e):
        raise RuntimeError("callback bug")

    _, client = make_client_with_callback(broken)
    returns(behaviours.Teapot("hot"))
    r = client.get("/api/thing")
    assert_problem(r, 418)
    assert "callback bug" in caplog.text


def test_validation_error_raised_by_handler_is_400(client):
    returns(ValidationError.for_field("query", "q", "too vague"))
    assert assert_declared_error(client.get("/api/thing"), 400) == "query parameter 'q': too vague"


# -- decorators ---------------------------------------------------------------------

def test_global_decorator_wraps_x_decorate_server():
    api = ApiPool.add("things", yaml_path=spec_path("behaviours.yaml"))
    app = Flask("d")
    api.spawn_api(app, decorator=behaviours.global_decorator)
    behaviours.order.clear()
    returns({"name": "a"})
    assert app.test_client().get("/api/thing").status_code == 200
    assert behaviours.order == ["global:before", "local:before", "local:after", "global:after"]
    behaviours.order.clear()
    assert app.test_client().post("/api/thing").status_code == 201
    assert behaviours.order == ["global:before", "global:after"]  # no x-decorate-server there


def test_no_content_has_no_media_type_not_even_html(client):
    returns((None, 204))
    r = client.delete("/api/nothing")
    assert r.status_code == 204 and r.data == b"" and "Content-Type" not in r.headers


def test_a_handler_s_own_204_or_304_response_loses_its_body_and_media_type(client):
    for status in (204, 304):
        returns(lambda: Response("ignored", status=status, mimetype="text/html"))
        r = client.delete("/api/nothing")
        assert r.status_code == status and r.data == b"" and "Content-Type" not in r.headers


@pytest.mark.parametrize("error", [
    ArgumentError("GET /x: query parameter 'q': " + SECRET),
    SpecError.single("x.yaml", "/paths", SECRET),
    NoHostError(SECRET),
])
def test_the_code_s_own_mistakes_escaping_a_handler_are_500s(client, error):
    """A bad call to another service or a configuration error is the server's fault: never a 400, never shown."""
    returns(error)
    r = client.get("/api/thing")
    assert_declared_error(r, 500)
    assert SECRET not in r.get_data(as_text=True)


def test_the_exception_tree():
    assert issubclass(ValidationError, exceptions.RequestError) and issubclass(NotFound, exceptions.HTTPError)
    assert issubclass(exceptions.ResponseValidationError, exceptions.InternalServerError)
    assert issubclass(ArgumentError, ValueError) and not issubclass(ArgumentError, exceptions.HTTPError)
    for configuration in (SpecError, exceptions.BindingError, exceptions.MergeApisException, NoHostError,
                          exceptions.UnboundOperationsError):
        assert issubclass(configuration, exceptions.ConfigurationError) and configuration.status_code is None
    for transport in (exceptions.CallTimeout, exceptions.CallConnectionError, exceptions.CircuitOpenError):
        assert issubclass(transport, exceptions.TransportError) and issubclass(transport, exceptions.ClientError)
    assert issubclass(exceptions.ResponseTooLarge, exceptions.InvalidResponseError)
    assert not issubclass(exceptions.RemoteError, exceptions.TransportError)
    assert exceptions.InvalidResponseError.code != exceptions.ResponseValidationError.code
    assert all(issubclass(c, KlueException) for c in (SpecError, ArgumentError, exceptions.ClientError))


def test_the_tree_drawn_in_the_exceptions_docstring_is_the_real_one():
    """Every class the docstring draws is a subclass of the one it hangs from, and every klue exception is drawn."""
    drawn = {}
    parents: list[tuple[int, type]] = []
    for line in exceptions.__doc__.splitlines():
        match = re.match(r"^(\s*(?:[│ ]   )*(?:[├└]── )?)([A-Z]\w+)\b", line)
        if not match or not hasattr(exceptions, match.group(2)):
            continue
        depth, cls = len(match.group(1)), getattr(exceptions, match.group(2))
        while parents and parents[-1][0] >= depth:
            parents.pop()
        if parents:
            assert issubclass(cls, parents[-1][1]), (cls, parents[-1][1])
        drawn[cls.__name__] = cls
        parents.append((depth, cls))
    public = {value.__name__ for name, value in vars(exceptions).items()  # aliases (KlueExeption) by their class
              if isinstance(value, type) and issubclass(value, KlueException) and not name.startswith("_")}
    assert public <= set(drawn), sorted(public - set(drawn))
    assert issubclass(exceptions.SchemaCompileError, exceptions.ConfigurationError)
    assert issubclass(exceptions.SchemaCompileError, ValueError)
