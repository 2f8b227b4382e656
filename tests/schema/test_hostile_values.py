"""Hostile values: patterns that backtrack, huge values and error amplification (issue 13).

One engine (jsonschema-rs) validates and explains, so no pattern from a spec
is ever run by a backtracking engine on a value from outside, and every error
body stays small whatever the size of what was sent.
"""
import time

import pytest
from flask import Flask

from klue.exceptions import ArgumentError, SpecError
from klue.schema.validation import MAX_REPORTED_ERRORS
from klue.server.mock import sample_matching
from klue.swagger import ApiPool
from tests.live import live

#: Generous: each case takes milliseconds; the bug took 10 s to 55 s.
FAST = 2.0

SPEC = """
swagger: "2.0"
info: {title: hostile, version: "1"}
paths:
  /search:
    get:
      operationId: search
      x-bind-server: tests.schema.test_hostile_values.search
      parameters:
        - {in: query, name: q, type: string, pattern: '^(a+)+$', maxLength: 64}
        - {in: query, name: long, type: string, pattern: '^(a+)+$'}
        - {in: query, name: twice, type: string, pattern: '^(a|a)*\\1$'}
        - {in: query, name: mail, type: string, format: email}
        - {in: query, name: n, type: number}
      responses: {200: {description: ok, schema: {type: object}}}
  /things:
    post:
      operationId: put_things
      x-bind-server: tests.schema.test_hostile_values.search
      parameters:
        - in: body
          name: body
          schema:
            type: object
            additionalProperties: false
            properties:
              name: {type: string, maxLength: 64, pattern: '^(a+)+$'}
              tags: {type: array, items: {type: integer}}
              extra: {type: object, additionalProperties: {type: integer}}
      responses: {200: {description: ok, schema: {type: object}}}
"""


def search(**kwargs):
    return {}


@pytest.fixture
def hostile():
    api = ApiPool.add("hostile", yaml_str=SPEC)
    app = Flask("hostile")
    api.spawn_api(app)
    return api, app


def timed(call):
    start = time.perf_counter()
    result = call()
    return result, time.perf_counter() - start


@pytest.mark.parametrize("param,value", [
    ("q", "a" * 30 + "!"),        # froze the server for 10 s (55 s in process)
    ("long", "a" * 10_000 + "!"),
    ("twice", "a" * 10_000 + "!"),  # a backreference: matched under a step limit
    ("mail", "a" + ".." * 20_000),  # the usual email regex is quadratic
    ("n", "1" * 50_000 + "x"),    # so was klue's own number parser
])
def test_values_built_to_backtrack_are_refused_at_once(hostile, param, value):
    _, app = hostile
    r, seconds = timed(lambda: app.test_client().get("/search", query_string={param: value}))
    assert r.status_code == 400 and seconds < FAST, (r.status_code, seconds)
    error = r.get_json()["errors"][0]
    assert error["name"] == param and len(r.data) < 2048


def test_the_redos_value_over_real_http_leaves_the_server_answering(hostile):
    _, app = hostile
    import requests

    with live(app) as server:
        for value in ("a" * 30 + "!", "a" * 10_000 + "!"):
            r, seconds = timed(lambda: requests.get(f"{server.url}/search", params={"long": value}, timeout=5))
            assert r.status_code == 400 and seconds < FAST
        assert requests.get(f"{server.url}/search", params={"long": "aaaa"}, timeout=5).status_code == 200


def test_the_client_s_argument_check_is_linear_too(hostile):
    api, _ = hostile
    with pytest.raises(ArgumentError) as e:
        start = time.perf_counter()
        api.client.search(q="a" * 30 + "!")
    assert time.perf_counter() - start < FAST
    assert "query parameter 'q'" in str(e.value)


def test_mock_samples_are_checked_by_the_linear_engine():
    start = time.perf_counter()
    assert sample_matching("^(a+)+$") == "a"
    assert sample_matching("^(a|a)*\\1$") is None or isinstance(sample_matching("^(a|a)*\\1$"), str)
    assert time.perf_counter() - start < FAST


@pytest.mark.parametrize("pattern", [r"^a\Z", r"(?P<name>a)", r"a(?#comment)"])
def test_a_pattern_only_python_reads_is_a_load_error_with_its_pointer(pattern):
    spec = SPEC.replace("'^(a+)+$', maxLength: 64", f"'{pattern}', maxLength: 64")
    with pytest.raises(SpecError) as e:
        ApiPool.add("hostile", yaml_str=spec)
    text = str(e.value)
    assert "/paths/~1search/get/parameters/0" in text and "ECMA 262" in text, text


def test_a_pattern_properties_key_is_checked_too():
    spec = SPEC.replace("additionalProperties: false", "patternProperties: {'^x\\Z': {}}")
    with pytest.raises(SpecError, match="patternProperties"):
        ApiPool.add("hostile", yaml_str=spec)


# -- error bodies stay small -----------------------------------------------------------

def post(app, body):
    return timed(lambda: app.test_client().post("/things", json=body))


def test_a_9_mb_string_against_max_length_is_not_echoed(hostile):
    _, app = hostile
    (r, seconds) = post(app, {"name": "a" * 9_000_000})
    assert r.status_code == 400 and len(r.data) < 2048, len(r.data)
    message = r.get_json()["errors"][0]["message"]
    assert "(9000000 characters)" in message and message.endswith("is too long")


def test_a_million_unexpected_keys_make_one_short_error(hostile):
    _, app = hostile
    body = {f"k{i}": i for i in range(500_000)}  # 7 MB, under the 10 MiB limit
    r, seconds = post(app, body)
    assert r.status_code == 400 and len(r.data) < 2048, len(r.data)
    assert r.get_json()["errors"][0]["message"].startswith("Additional properties are not allowed ('k")
    assert seconds < 10  # parsing the body dominates; explaining it is linear


def test_many_bad_items_are_reported_ten_at_most(hostile):
    _, app = hostile
    for count in (50, 200_000):
        r, _ = post(app, {"tags": ["x"] * count})
        errors = r.get_json()["errors"]
        assert r.status_code == 400 and 1 <= len(errors) <= MAX_REPORTED_ERRORS and len(r.data) < 4096
        assert errors[0]["name"] == "tags[0]"


def test_a_huge_key_is_cut_in_the_field_name(hostile):
    _, app = hostile
    r, _ = post(app, {"extra": {"k" * 1_000_000: "not an integer"}})
    assert r.status_code == 400 and len(r.data) < 2048
    assert "(1000006 characters)" in r.get_json()["errors"][0]["name"]


def test_error_details_join_at_most_ten_short_messages(hostile):
    _, app = hostile
    r, _ = post(app, {"tags": [str(i) * 500 for i in range(100)], "name": "b" * 100_000})
    assert r.status_code == 400 and len(r.data) < 4096
