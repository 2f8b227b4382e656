"""In-process calls (``ApiPool.add(local=app)``) between APIs of ONE Flask app, as
``make_app`` and ``klue serve`` of several specs make them: the called request
must not share the calling request's flask.g (its call path and principal)."""
from flask import Flask

from klue.context import get_call_path, get_principal
from klue.swagger import ApiPool
from klue.swagger.client import async_call

CALLER = """
swagger: "2.0"
info: {title: caller, version: "1"}
basePath: /caller
securityDefinitions:
  key: {type: apiKey, in: header, name: X-Key, x-bind-security: tests.client.test_local_calls.caller_key}
paths:
  /relay:
    get:
      x-bind-server: tests.client.test_local_calls.relay
      security: [{key: []}]
      responses: {200: {description: ok, schema: {type: object}}}
"""

CALLEE = """
swagger: "2.0"
info: {title: callee, version: "1"}
basePath: /callee
securityDefinitions:
  key: {type: apiKey, in: header, name: X-Key, x-bind-security: tests.client.test_local_calls.callee_key}
paths:
  /where:
    get:
      x-bind-server: tests.client.test_local_calls.where
      x-bind-client: where
      security: [{key: []}]
      responses: {200: {description: ok, schema: {type: object}}}
"""


def caller_key(key, required_scopes):
    return {"as": "outer caller"} if key == "k" else None


def callee_key(key, required_scopes):
    return {"as": "the caller API, calling"} if key == "k" else None


def where():
    return {"path": get_call_path(), "principal": get_principal()}


def relay():
    client = ApiPool.loc_callee.client
    before = (get_call_path(), get_principal())
    one = client.where().call()
    parallel = async_call(*[client.where() for _ in range(4)])
    two = client.where().call()
    return {"before": list(before), "after": [get_call_path(), get_principal()],
            "inner": [one, *parallel, two]}


def test_calls_into_the_same_app_do_not_share_the_callers_request_globals():
    app = Flask("one_app")
    ApiPool.add("loc_caller", yaml_str=CALLER).spawn_api(app)
    ApiPool.add("loc_callee", yaml_str=CALLEE, local=app, credentials={"key": "k"}).spawn_api(app)
    answer = app.test_client().get("/caller/relay", headers={"X-Key": "k"}).get_json()
    outer = ["loc_caller", {"as": "outer caller"}]
    assert answer["before"] == outer and answer["after"] == outer  # the caller's own g, untouched
    assert answer["inner"] == [{"path": "loc_caller.loc_callee", "principal": {"as": "the caller API, calling"}}] * 6
