"""OpenAPI 3.1 schemas are JSON Schema 2020-12: each keyword is enforced in requests, responses
and json_to_model, and 3.1 specs are checked against 2020-12's metaschema, not draft 4's."""
import logging
import re

import pytest
from flask import Flask

from klue.exceptions import ArgumentError, SpecError
from klue.swagger import ApiPool
from tests.handlers import json2020

POSITIVE = {"type": "integer", "minimum": 1}
COMPONENTS = {
    "Wrapper": {
        "$defs": {"Positive": POSITIVE},
        "type": "object",
        "properties": {"n": {"$ref": "#/$defs/Positive"}},
    },
    "Named": {"type": "object", "properties": {"name": {"type": "string"}}},
    "Tree": {  # a component written as a JSON Schema document: a recursive $defs and a $ref to it
        "$defs": {"Node": {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}}},
        "$ref": "#/$defs/Node",
    },
    "Card": {
        "type": "object",
        "properties": {"card": {"type": "string"}, "billing": {"type": "string"}},
        "dependentRequired": {"card": ["billing"]},
    },
}

POSTCODE_BY_COUNTRY = {
    "type": "object",
    "if": {"properties": {"country": {"const": "US"}}, "required": ["country"]},
    "then": {"properties": {"postcode": {"pattern": "^[0-9]{5}$"}}},
    "else": {"properties": {"postcode": {"pattern": "^[A-Z]"}}},
}

# keyword -> (schema of the body's "v", a valid v, an invalid v, the field the 400 names, a word of its message)
CASES = {
    "if-then-else": (
        POSTCODE_BY_COUNTRY,
        {"country": "US", "postcode": "12345"},
        {"country": "US", "postcode": "SW1A"},
        "v.postcode",
        "does not match",
    ),
    "else": (
        POSTCODE_BY_COUNTRY,
        {"country": "UK", "postcode": "SW1A"},
        {"country": "UK", "postcode": "12345"},
        "v.postcode",
        "does not match",
    ),
    "dependentRequired": ({"dependentRequired": {"card": ["billing"]}}, {"card": 1, "billing": 2}, {"card": 1}, "v", "'billing'"),
    "dependentSchemas": (
        {"dependentSchemas": {"card": {"properties": {"billing": {"type": "string"}}, "required": ["billing"]}}},
        {"card": 1, "billing": "here"},
        {"card": 1, "billing": 3},
        "v.billing",
        "not of type",
    ),
    "unevaluatedProperties": (
        {"allOf": [{"properties": {"a": {"type": "integer"}}}], "unevaluatedProperties": False},
        {"a": 1},
        {"a": 1, "b": 2},
        "v",
        "'b'",
    ),
    "unevaluatedProperties-beside-ref": (
        {"$ref": "#/components/schemas/Named", "unevaluatedProperties": False},
        {"name": "x"},
        {"name": "x", "age": 3},
        "v",
        "'age'",
    ),
    "unevaluatedItems": (
        {"type": "array", "prefixItems": [{"type": "string"}], "unevaluatedItems": False},
        ["x"],
        ["x", 2],
        "v",
        "Unevaluated items",
    ),
    "prefixItems": (
        {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": {"type": "boolean"}},
        ["a", 1, True],
        ["a", 1, "no"],
        "v[2]",
        "not of type",
    ),
    "minContains": (
        {"type": "array", "contains": {"type": "integer"}, "minContains": 2},
        [1, 2, "x"],
        [1, "x"],
        "v",
        "fewer than 2",
    ),
    "maxContains": ({"type": "array", "contains": {"type": "integer"}, "maxContains": 1}, [1, "x"], [1, 2], "v", "more than 1"),
    "contains": ({"type": "array", "contains": {"type": "integer"}}, [1], ["x"], "v", "no item"),
    "const": ({"const": "lion"}, "lion", "tiger", "v", "tiger"),
    "type-list-with-null": ({"type": ["integer", "null"]}, None, "x", "v", "not of type"),
    "exclusiveMinimum": ({"type": "number", "exclusiveMinimum": 0}, 0.5, 0, "v", "minimum of 0"),
    "exclusiveMaximum": ({"type": "number", "exclusiveMaximum": 10}, 9.5, 10, "v", "maximum of 10"),
    "ref-with-siblings": (
        {"$ref": "#/components/schemas/Named", "required": ["name"]},
        {"name": "x"},
        {},
        "v",
        "'name'",
    ),
    "ref-to-$defs": ({"$ref": "#/components/schemas/Wrapper"}, {"n": 1}, {"n": 0}, "v.n", "minimum of 1"),
    "ref-into-components-$defs": ({"$ref": "#/components/schemas/Wrapper/$defs/Positive"}, 2, 0, "v", "minimum of 1"),
    "recursive-$defs": ({"$ref": "#/components/schemas/Tree"}, {"kids": [{"kids": []}]}, {"kids": [{"kids": [5]}]}, "v.kids[0].kids[0]", "not of type"),
    "local-$defs": (
        {"$defs": {"Small": {"maximum": 3}}, "type": "integer", "allOf": [{"$ref": "#/$defs/Small"}]},
        3,
        4,
        "v",
        "maximum of 3",
    ),
}


def spec():
    paths = {
        f"/{name}": {
            "post": {
                "operationId": re.sub(r"\W+", "_", name).strip("_"),
                "x-bind-server": "tests.handlers.json2020.echo",
                "requestBody": {"required": True, "content": {"application/json": {"schema": _body(case[0])}}},
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": _body(case[0])}}}},
            }
        }
        for name, case in CASES.items()
    }
    paths["/no-responses"] = {"post": {"operationId": "tests.handlers.json2020.no_responses"}}
    return {"openapi": "3.1.0", "info": {"title": "j", "version": "1"}, "paths": paths, "components": {"schemas": COMPONENTS}}


def _body(schema):
    return {"type": "object", "required": ["v"], "properties": {"v": schema}}


@pytest.fixture
def api():
    json2020.answer.clear()
    return ApiPool.add("j", spec_dict=spec())


@pytest.fixture
def client(api):
    app = Flask("j")
    api.spawn_api(app)
    return app.test_client()


@pytest.mark.parametrize("name", CASES)
def test_each_keyword_is_enforced_in_requests(client, name):
    _, valid, invalid, field, word = CASES[name]
    r = client.post(f"/{name}", json={"v": valid})
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == {"v": valid}
    r = client.post(f"/{name}", json={"v": invalid})
    assert r.status_code == 400
    errors = r.get_json()["errors"]
    assert errors[0]["name"] == field and word in errors[0]["message"], errors


@pytest.mark.parametrize("name", CASES)
def test_each_keyword_is_enforced_in_responses(client, name):
    _, valid, invalid, _, _ = CASES[name]
    json2020.answer.append({"v": invalid})
    assert client.post(f"/{name}", json={"v": valid}).status_code == 500


def test_json_to_model_follows_2020_12(api):
    card = api.json_to_model("Card", {"card": "x", "billing": "y"})
    assert type(card).__name__ == "Card" and card.billing == "y"
    with pytest.raises(ArgumentError, match="billing"):
        api.json_to_model("Card", {"card": "x"})
    assert api.json_to_model("Wrapper", {"n": 2}).n == 2
    with pytest.raises(ArgumentError, match="minimum of 1"):
        api.json_to_model("Wrapper", {"n": 0})


def test_an_operation_without_responses_answers_unvalidated(client):
    r = client.post("/no-responses")
    assert r.status_code == 202 and r.get_json() == {"anything": "goes"}


def test_the_client_decodes_what_2020_12_schemas_describe(client):
    app = Flask("j2")
    api = ApiPool.add("j", spec_dict=spec(), local=app)
    api.spawn_api(app)
    assert api.client.prefixItems({"v": ["a", 1]}).call() == {"v": ["a", 1]}
    assert api.client.ref_to_defs({"v": {"n": 3}}).call()["v"].n == 3


def _load(schema, version="3.1.0"):
    return ApiPool.add("m", spec_dict={
        "openapi": version,
        "info": {"title": "m", "version": "1"},
        "paths": {},
        "components": {"schemas": {"S": schema}},
    })


def test_enums_load_as_2020_12_allows_them_an_empty_one_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="klue.spec"):
        _load({"type": "object", "properties": {"a": {"enum": []}, "b": {"enum": ["x", "x"]}}})
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "/components/schemas/S/properties/a/enum" in warnings[0]
    assert "surely a mistake" in warnings[0]


@pytest.mark.parametrize("schema, pointer", [
    ({"minContains": -1}, "/components/schemas/S/minContains"),
    ({"dependentRequired": {"a": [1]}}, "/components/schemas/S/dependentRequired/a/0"),
    ({"if": {"type": "nope"}}, "/components/schemas/S/if/type"),
    ({"exclusiveMinimum": True}, "/components/schemas/S/exclusiveMinimum"),  # draft 4's form is not 2020-12
    ({"prefixItems": [{"pattern": "(?<x"}]}, "/components/schemas/S/prefixItems/0/pattern"),
])
def test_2020_12_keywords_are_checked_against_its_metaschema(schema, pointer):
    with pytest.raises(SpecError) as e:
        _load(schema)
    assert pointer in [p.pointer for p in e.value.problems]


def test_openapi30_still_reads_draft_4():
    with pytest.raises(SpecError):
        _load({"enum": []}, "3.0.3")
    with pytest.raises(SpecError):
        ApiPool.add("m", spec_dict={"openapi": "3.0.3", "info": {"title": "m", "version": "1"},
                                   "paths": {"/x": {"get": {"operationId": "tests.handlers.json2020.no_responses"}}}})


def test_a_ref_to_itself_through_defs_is_a_problem():
    with pytest.raises(SpecError, match="refers to itself"):
        _load({"$defs": {"Loop": {"$ref": "#/$defs/Loop"}}, "properties": {"a": {"$ref": "#/$defs/Loop"}}})


def test_defaults_are_filled_through_prefix_items_and_the_items_after_them():
    tuple_schema = {
        "type": "array",
        "prefixItems": [{"type": "object", "properties": {"a": {"type": "integer", "default": 1}}}],
        "items": {"type": "object", "properties": {"b": {"type": "integer", "default": 2}}},
    }
    api = ApiPool.add("d", spec_dict={
        "openapi": "3.1.0",
        "info": {"title": "d", "version": "1"},
        "paths": {"/t": {"post": {
            "operationId": "tests.handlers.json2020.echo",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _body(tuple_schema)}}},
        }}},
    })
    app = Flask("d")
    api.spawn_api(app)
    r = app.test_client().post("/t", json={"v": [{}, {}, {"b": 5}]})
    assert r.status_code == 200 and r.get_json() == {"v": [{"a": 1}, {"b": 2}, {"b": 5}]}


def test_a_recursive_ref_to_a_place_normalising_moved_is_a_problem():
    moved = {"$defs": {"N": {"type": "array", "items": {"$ref": "#/$defs/N"}}}, "$ref": "#/$defs/N"}
    with pytest.raises(SpecError, match="recursive through a place klue cannot point at"):
        _load({"properties": {"p": {"$ref": "#/components/schemas/S", "minProperties": 1, "properties": {"x": moved}}}})
