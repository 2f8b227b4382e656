"""Operations without an operationId (or x-bind-client) are callable too, under a
name made of their method and path; a name the spec gives always wins."""
import pytest
from flask import Flask

from klue.exceptions import SpecError
from klue.naming import caller_name_of
from klue.swagger import ApiPool

SPEC = """
swagger: "2.0"
info: {title: derived, version: "1"}
basePath: /d
produces: [application/json]
paths:
  /:
    get:
      x-bind-server: tests.client.test_derived_names.answer
      responses: {200: {description: ok, schema: {type: object}}}
  /articlesearch.json:
    get:
      x-bind-server: tests.client.test_derived_names.answer
      parameters: [{in: query, name: q, type: string}]
      responses: {200: {description: ok, schema: {type: object}}}
  /pets/{pet_id}:
    delete:
      x-bind-server: tests.client.test_derived_names.answer
      parameters: [{in: path, name: pet_id, type: integer, required: true}]
      responses: {200: {description: ok, schema: {type: object}}}
  /pets:
    get:
      x-bind-server: tests.client.test_derived_names.answer
      responses: {200: {description: ok, schema: {type: object}}}
    post:
      operationId: get_pets
      x-bind-server: tests.client.test_derived_names.answer
      responses: {200: {description: ok, schema: {type: object}}}
"""


def answer(**kwargs):
    return {"got": kwargs}


@pytest.mark.parametrize("method, path, expected", [
    ("GET", "/articlesearch.json", "get_articlesearch_json"),
    ("DELETE", "/pets/{pet_id}", "delete_pets_by_pet_id"),
    ("GET", "/", "get_root"),
    ("GET", "/v2/{org}/repos/{repo}/git/refs/{ref}", "get_v2_by_org_repos_by_repo_git_refs_by_ref"),
    ("PUT", "/-/{x}", "put_by_x"),
    ("GET", "/2fa", "get_2fa"),
])
def test_the_name_is_the_method_and_path(method, path, expected):
    assert caller_name_of(method, path, None, None) == expected


def test_operations_without_an_operation_id_are_called_by_method_and_path():
    app = Flask("derived")
    ApiPool.add("derived", yaml_str=SPEC).spawn_api(app)
    api = ApiPool.add("derived", yaml_str=SPEC, local=app)
    assert {"get_root", "get_articlesearch_json", "delete_pets_by_pet_id", "get_pets"} <= set(api.client)
    assert api.client.get_articlesearch_json(q="moon").call() == {"got": {"q": "moon"}}
    assert api.client.delete_pets_by_pet_id(pet_id=3).call() == {"got": {"pet_id": 3}}
    assert api.client.get_root().call() == {"got": {}}
    # POST /pets is named get_pets by its operationId: GET /pets's derived name gives way (no caller)
    assert api.client.operation_of("get_pets").method == "POST"
    assert not [op for name in api.client for op in [api.client.operation_of(name)] if op.method == "GET"
                and op.path == "/pets"]


def test_two_derived_names_that_clash_are_reported_like_any_other_clash():
    spec = ('swagger: "2.0"\ninfo: {title: c, version: "1"}\npaths:\n'
            "  /a_b: {get: {responses: {200: {description: ok}}}}\n"
            "  /a/b: {get: {responses: {200: {description: ok}}}}\n")
    api = ApiPool.add("clash", yaml_str=spec, host="127.0.0.1")
    with pytest.raises(SpecError, match=r"client name 'get_a_b' \(from method and path 'GET /a/b'\)"):
        api.client.get_a_b()
