"""SchemaValidator: which engine runs, the fallbacks, and filling declared defaults."""
import pytest

from klue.exceptions import ValidationError
from klue.schema.formats import FormatRegistry
from klue.schema.validation import SchemaCompileError, SchemaValidator, ValidatorCache, default_filler

DEFINITIONS = {
    "Line": {"type": "object", "required": ["sku"],
             "properties": {"sku": {"type": "string", "pattern": "^[A-Z]{3}$"}, "qty": {"type": "integer", "default": 1}}},
    "Tree": {"type": "object", "properties": {"label": {"type": "string", "default": "leaf"},
                                              "children": {"type": "array", "items": {"$ref": "#/definitions/Tree"}}}},
}


def validator(schema, **kwargs):
    return SchemaValidator(schema, DEFINITIONS, FormatRegistry(), **kwargs)


def reasons(v, value):
    with pytest.raises(ValidationError) as e:
        v.validate(value, "body")
    return [(err.name, err.message) for err in e.value.errors]


def test_one_engine_validates_and_explains():
    v = validator({"type": "array", "items": {"$ref": "#/definitions/Line"}})
    assert v.validate([{"sku": "ABC"}], "body") == [{"sku": "ABC"}]
    assert reasons(v, [{"sku": "abc"}]) == [("[0].sku", "'abc' does not match '^[A-Z]{3}$'")]
    cache = ValidatorCache(DEFINITIONS, FormatRegistry())
    assert cache.get({"$ref": "#/definitions/Tree"}) is cache.get({"$ref": "#/definitions/Tree"})


def test_a_pattern_only_python_reads_is_refused_when_compiled():
    with pytest.raises(SchemaCompileError, match="regex"):
        validator({"type": "string", "pattern": r"^a\Z"})  # \Z: Python's, not ECMA 262's


def test_values_json_would_send_with_string_keys_are_judged_so():
    v = validator({"type": "object", "additionalProperties": {"type": "integer"}})
    assert v.is_valid({1: 2}) and not v.is_valid({1: "x"})
    assert reasons(v, {1: "x"}) == [("1", "'x' is not of type 'integer'")]
    assert v.validate({"a": 2**80}, "body") == {"a": 2**80}  # beyond 64 bits
    assert not v.is_valid({"a": {1, 2}})  # a set is not JSON
    assert reasons(v, {"a": {1, 2}}) == [("", "a dict holds something that is not JSON")]


def test_formats_are_klue_s_not_the_engine_s():
    """Only the formats klue defines (and 'regex') are checked."""
    v = validator({"type": "object", "properties": {
        "t": {"type": "string", "format": "time"}, "r": {"type": "string", "format": "regex"},
        "d": {"type": "string", "format": "date"}, "u": {"type": "string", "format": "uuid"}}})
    assert v.is_valid({"t": "not a time", "r": "^a+$", "d": "2020-02-29", "u": "0" * 8 + "-0000-0000-0000-" + "0" * 12})
    assert not v.is_valid({"d": "2021-02-29"}) and not v.is_valid({"u": "nope"})
    assert reasons(v, {"r": "("}) == [("r", "'(' is not a valid regex")]


def test_values_nested_deeper_than_python_can_explain_are_still_judged():
    deep = "x"
    for _ in range(3000):
        deep = [deep]
    v = validator({"type": "array", "items": {"type": "array"}})
    assert v.is_valid(deep)
    with pytest.raises(ValidationError):
        v.validate([deep, 5], "body")


# -- declared defaults --------------------------------------------------------------------

def test_defaults_are_filled_at_every_depth_and_never_shared():
    schema = {"type": "object", "properties": {
        "lines": {"type": "array", "items": {"$ref": "#/definitions/Line"}},
        "tags": {"type": "array", "default": ["new"]},
        "tree": {"anyOf": [{"$ref": "#/definitions/Tree"}, {"type": "null"}]},  # a nullable ref
        "extra": {"type": "object", "additionalProperties": {"$ref": "#/definitions/Line"}},
        "both": {"allOf": [{"$ref": "#/definitions/Line"}, {"properties": {"note": {"default": ""}}}]},
    }}
    v = validator(schema, fill_defaults=True)
    value = {"lines": [{"sku": "ABC"}, {"sku": "DEF", "qty": 3}], "tree": {"children": [{}, {"label": "x"}]},
             "extra": {"k": {"sku": "GHI"}}, "both": {"sku": "JKL"}}
    assert v.validate(value, "body") == {
        "lines": [{"sku": "ABC", "qty": 1}, {"sku": "DEF", "qty": 3}],
        "tree": {"label": "leaf", "children": [{"label": "leaf"}, {"label": "x"}]},
        "extra": {"k": {"sku": "GHI", "qty": 1}}, "both": {"sku": "JKL", "qty": 1, "note": ""},
        "tags": ["new"],
    }
    again = v.validate({"tree": None}, "body")
    assert again == {"tree": None, "tags": ["new"]} and again["tags"] is not value["tags"]
    assert validator(schema).validate({}, "body") == {}  # only request bodies get defaults


def test_invalid_values_get_no_defaults_and_schemas_without_any_get_no_filler():
    v = validator({"$ref": "#/definitions/Line"}, fill_defaults=True)
    value = {"sku": 5}
    with pytest.raises(ValidationError):
        v.validate(value, "body")
    assert value == {"sku": 5}
    assert default_filler({"type": "object", "properties": {"a": {"type": "string"}}}, DEFINITIONS) is None
    assert default_filler({"oneOf": [{"$ref": "#/definitions/Line"}, {"$ref": "#/definitions/Tree"}]}, DEFINITIONS) is None
    fill = default_filler({"type": "array", "items": [{"type": "string"}, {"$ref": "#/definitions/Line"}]}, DEFINITIONS)
    value = ["a", {"sku": "X"}, {"sku": "Y"}]
    fill(value)
    assert value == ["a", {"sku": "X", "qty": 1}, {"sku": "Y"}]  # tuple items: by position only


def test_validators_carry_only_the_definitions_their_schema_reaches():
    definitions = {**DEFINITIONS, "a/b~c": {"type": "object", "properties": {"line": {"$ref": "#/definitions/Line"}}},
                   "Unused": {"type": "string", "format": "time"}}
    cache = ValidatorCache(definitions, FormatRegistry())
    assert cache.get({"type": "integer"})._root["definitions"] == {}
    escaped = cache.get({"type": "array", "items": {"$ref": "#/definitions/a~1b~0c"}})
    assert set(escaped._root["definitions"]) == {"a/b~c", "Line"}
    assert escaped.validate([{"line": {"sku": "ABC"}}], "body") and not escaped.is_valid([{"line": {"sku": 1}}])
    assert set(cache.get({"$ref": "#/definitions/Tree"})._root["definitions"]) == {"Tree"}  # recursive
    assert set(cache.get({"$ref": "#/definitions/Line/properties/sku"})._root["definitions"]) == {"Line"}
    assert cache._index.reachable({"$ref": "#/parameters/x"}) is None  # elsewhere: every definition is kept


def test_collapsed_required_follows_refs_and_all_of():
    from klue.schema.view import collapsed_required
    definitions = {
        "Base": {"type": "object", "required": ["code"]},
        "Loop": {"allOf": [{"$ref": "#/definitions/Loop"}], "required": ["x"]},
    }
    schema = {"allOf": [{"$ref": "#/definitions/Base"}, {"required": ["message", 3]}], "required": ["id"]}
    assert collapsed_required(schema, definitions) == {"code", "message", "id"}
    assert collapsed_required({"$ref": "#/definitions/Loop"}, definitions) == {"x"}
    assert collapsed_required("nonsense", definitions) == set()
