"""ValidatorCache.prepare: many schemas compiled into one jsonschema-rs validator, judged and explained as alone."""
import pytest

from klue.exceptions import SchemaCompileError, ValidationError
from klue.schema.formats import FormatRegistry
from klue.schema.validation import REQUEST, RESPONSE, SchemaValidator, ValidatorCache

DEFINITIONS = {
    "Line": {"type": "object", "required": ["sku"],
             "properties": {"sku": {"type": "string", "pattern": "^[A-Z]{3}$"}, "qty": {"type": "integer", "default": 1},
                            "secret": {"type": "string", "format": "password", "minLength": 8}}},
    "Tree": {"type": "object", "properties": {"label": {"type": "string", "default": "leaf"},
                                              "children": {"type": "array", "items": {"$ref": "#/definitions/Tree"}}}},
    "a/b~c": {"type": "integer", "minimum": 3},
}
LIST = {"type": "object", "required": ["data"],
        "properties": {"data": {"type": "array", "items": {"$ref": "#/definitions/Line"}}, "more": {"type": "boolean"}}}
SCHEMAS = [LIST, {"$ref": "#/definitions/Line"}, {"$ref": "#/definitions/Tree"}, {"$ref": "#/definitions/a~1b~0c"},
           {"type": "array", "items": {"$ref": "#/definitions/Tree"}, "maxItems": 2}]
BAD_VALUES = [
    {"data": [{"sku": "abc", "qty": "x"}, {"qty": 2}], "more": 1},
    {"sku": "ABC", "secret": "short"},
    {"children": [{"label": 3}, {"children": "no"}]},
    2,
    [{}, {}, {"label": None}],
    {1: "int key"},
    "not an object",
]


def reasons(v, value):
    with pytest.raises(ValidationError) as e:
        v.validate(value, "body", "payload")
    return [(err.location, err.name, err.message) for err in e.value.errors]


@pytest.mark.parametrize("direction", [None, REQUEST, RESPONSE])
def test_prepared_schemas_share_one_validator_and_say_what_alone_they_say(direction):
    prepared = ValidatorCache(DEFINITIONS, FormatRegistry())
    prepared.prepare((s, direction) for s in SCHEMAS)
    alone = ValidatorCache(DEFINITIONS, FormatRegistry())
    engines = set()
    for schema in SCHEMAS:
        shared, single = prepared.get(schema, direction=direction), alone.get(schema, direction=direction)
        engines.add(id(shared.compiled[0]))
        for value in BAD_VALUES:
            assert shared.is_valid(value) is single.is_valid(value)
            assert shared.accepts_as_is(value) is single.accepts_as_is(value)
            if not single.is_valid(value):
                assert reasons(shared, value) == reasons(single, value)
    assert len(engines) == 1  # one compilation for every schema that reaches a definition
    assert prepared.get({"$ref": "#/definitions/Line"}).is_valid({"sku": "ABC"})


def test_defaults_are_filled_through_a_shared_validator():
    cache = ValidatorCache(DEFINITIONS, FormatRegistry())
    cache.prepare([(LIST, REQUEST)])
    filling = cache.get(LIST, fill_defaults=True, direction=REQUEST)
    assert filling.compiled[0] is cache.get(LIST, direction=RESPONSE).compiled[0]
    assert filling.validate({"data": [{"sku": "ABC"}]}, "body") == {"data": [{"sku": "ABC", "qty": 1}]}


def test_without_read_only_flags_directions_and_defaults_share_the_engine():
    cache = ValidatorCache(DEFINITIONS, FormatRegistry())
    variants = [cache.get(LIST), cache.get(LIST, direction=REQUEST, fill_defaults=True), cache.get(LIST, direction=RESPONSE)]
    assert len({id(v) for v in variants}) == 3 and len({id(v.compiled[0]) for v in variants}) == 1


def test_read_only_properties_keep_their_own_view_of_the_definitions():
    definitions = {"Pet": {"type": "object", "required": ["id", "name"],
                           "properties": {"id": {"type": "integer", "readOnly": True}, "name": {"type": "string"}}}}
    cache = ValidatorCache(definitions, FormatRegistry())
    ref = {"$ref": "#/definitions/Pet"}
    cache.prepare([(ref, REQUEST), (ref, RESPONSE)])
    request, response = cache.get(ref, direction=REQUEST), cache.get(ref, direction=RESPONSE)
    assert request.compiled[0] is not response.compiled[0]
    assert request.is_valid({"name": "a"}) and not request.is_valid({"id": 1, "name": "a"})
    assert not response.is_valid({"name": "a"}) and response.is_valid({"id": 1, "name": "a"})


def test_a_schema_the_engine_refuses_is_still_refused_with_its_own_message():
    bad = {"type": "object", "properties": {"l": {"$ref": "#/definitions/Line"},
                                            "s": {"type": "string", "pattern": r"^a\Z"}}}
    cache = ValidatorCache(DEFINITIONS, FormatRegistry())
    cache.prepare([(bad, REQUEST), (LIST, REQUEST)])
    with pytest.raises(SchemaCompileError) as prepared_error:
        cache.get(bad, direction=REQUEST)
    with pytest.raises(SchemaCompileError) as alone_error:
        SchemaValidator(bad, DEFINITIONS, FormatRegistry())
    assert str(prepared_error.value) == str(alone_error.value)
    assert cache.get(LIST, direction=REQUEST).is_valid({"data": []})
