"""Model classes, model_to_json/json_to_model, x-persist, merge and user formats."""
import copy
import datetime as dt
import json

import pytest
from flask import Flask

from klue import SwaggerFormat
from klue.exceptions import (
    ArgumentError,
    BindingError,
    KlueException,
    MergeApisException,
    UnknownPropertyError,
    ValidationError,
)
from klue.models import Model
from klue.swagger import ApiPool
from tests.handlers import persistence


def spec_with(definitions, paths=None):
    return {"swagger": "2.0", "info": {"title": "m", "version": "1"}, "definitions": definitions, "paths": paths or {}}


# -- classes ----------------------------------------------------------------------------

def test_models_are_model_classes_named_after_definitions(petstore):
    Pet = petstore.model.Pet
    pet = Pet(name="rex", kind="dog")
    assert issubclass(Pet, Model) and type(pet).__name__ == "Pet"
    assert pet.name == "rex" and pet.kind == "dog" and pet.born is None
    assert pet == Pet(name="rex", kind="dog") and pet != Pet(name="tom")
    assert "Pet" in petstore.model and "Tag" in list(petstore.model)


def test_model_instances_behave_as_bravado_core_ones():
    """klue's models keep the behaviour of the bravado-core models the original klue had."""
    api = ApiPool.add("m", spec_dict=spec_with({
        "Open": {"type": "object", "properties": {"a": {"type": "string"}, "with-dash": {"type": "integer"},
                                                  "_as_dict": {"type": "string"}}},
        "Closed": {"type": "object", "additionalProperties": False, "properties": {"a": {"type": "string"}}},
    }))
    Open, Closed = api.model.Open, api.model.Closed
    x = Open._from_dict({"a": "1", "extra": [1]})  # data may have extras; keywords may not (see below)
    assert x.a == "1" and x["with-dash"] is None and getattr(x, "with-dash") is None and x.extra == [1]
    assert list(x) == ["a", "with-dash", "_as_dict", "extra"] and "extra" in x
    assert callable(x._as_dict) and x._as_dict() == {"a": "1", "with-dash": None, "_as_dict": None, "extra": [1]}
    x.a = "2"
    x["with-dash"] = 3
    assert x.a == "2" and x._as_dict()["with-dash"] == 3
    del x.a, x.extra  # a declared property goes back to None; an additional one goes
    assert x.a is None and "extra" not in x
    with pytest.raises(AttributeError, match="has no attribute 'extra'"):
        x.extra
    assert Open._from_dict({"a": "z", "more": 1}) == x.__class__._from_dict({"more": 1, "a": "z"})
    with pytest.raises(UnknownPropertyError, match=r"Open\(\) got an unexpected keyword argument 'more'"):
        Open(a="z", more=1)  # no additionalProperties: true, so a keyword must be a declared property
    shallow, deep = copy.copy(x), copy.deepcopy(x)
    assert shallow == x == deep and shallow is not x and shallow._Model__dict is not x._Model__dict
    assert isinstance(Open(), Model) and not isinstance(Open(), Closed)
    assert Closed(a="k").a == "k"
    with pytest.raises(UnknownPropertyError, match=r"Closed\(\) got unexpected keyword arguments 'c', 'b'"):
        Closed(a="k", c=1, b=2)
    with pytest.raises(UnknownPropertyError, match="Closed has no property 'b'.*additionalProperties: false"):
        Closed._from_dict({"b": 1})


def test_is_model_answers_as_isinstance_model_does(petstore):
    from klue.models import is_model

    pet = petstore.model.Pet(name="rex")
    assert is_model(pet) and isinstance(pet, Model)
    for not_a_model in ({"name": "rex"}, petstore.model.Pet, None, "Pet", [pet]):
        assert not is_model(not_a_model) and not isinstance(not_a_model, Model)


def test_unknown_model_names_the_known_ones(petstore):
    with pytest.raises(AttributeError, match="no model 'Dog'.*Owner, Pet, Tag"):
        petstore.model.Dog


def test_model_to_json_and_back(petstore):
    Pet, Tag = petstore.model.Pet, petstore.model.Tag
    pet = Pet(name="rex", born=dt.date(2020, 1, 2), seen=dt.datetime(2021, 1, 1, 12, tzinfo=dt.timezone.utc),
              tags=[Tag(label="a", weight=2)])
    data = petstore.model_to_json(pet)
    assert data == {"name": "rex", "born": "2020-01-02", "seen": "2021-01-01T12:00:00+00:00",
                    "tags": [{"label": "a", "weight": 2}]}
    json.dumps(data)
    back = petstore.json_to_model("Pet", data)
    assert back == pet and type(back.tags[0]).__name__ == "Tag"


def test_json_to_model_validates(petstore):
    with pytest.raises(ArgumentError) as e:
        petstore.json_to_model("Pet", {"name": 5, "born": "yesterday"})
    assert {(err.location, err.name) for err in e.value.errors} == {("Pet", "name"), ("Pet", "born")}
    assert "Pet field 'name': 5 is not of type 'string'" in str(e.value)
    with pytest.raises(KlueException, match="no definition 'Dog'"):
        petstore.json_to_model("Dog", {})


def test_json_to_model_builds_nested_models_and_leaves_the_input_alone():
    api = ApiPool.add("m", spec_dict=spec_with({
        "Tag": {"type": "object", "properties": {"label": {"type": "string"}}},
        "Pet": {"type": "object", "properties": {
            "name": {"type": "string"}, "born": {"type": "string", "format": "date"},
            "tags": {"type": "array", "items": {"$ref": "#/definitions/Tag"}},
            "best": {"$ref": "#/definitions/Tag"}},
            "additionalProperties": {"$ref": "#/definitions/Tag"}},
    }))
    data = {"name": "rex", "born": "2020-01-02", "tags": [{"label": "a"}, {"label": "b"}], "best": {"label": "c"},
            "spare": {"label": "d"}}
    original = copy.deepcopy(data)
    pet = api.json_to_model("Pet", data)
    assert data == original  # decoding copies: a request's parsed body is not rewritten under anyone
    Pet, Tag = api.model.Pet, api.model.Tag
    assert type(pet) is Pet and pet.born == dt.date(2020, 1, 2) and pet.best == Tag(label="c")
    assert [type(t) for t in pet.tags] == [Tag, Tag] and pet.tags[1].label == "b"
    assert pet.spare == Tag(label="d")  # additional properties decode by their schema too
    sparse = api.json_to_model("Pet", {"tags": []})
    assert sparse.name is None and sparse.best is None and sparse._as_dict()["born"] is None
    assert api.model_to_json(pet) == original


def test_inheritance_with_all_of():
    api = ApiPool.add("m", spec_dict=spec_with({
        "Animal": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
        "Dog": {"allOf": [{"$ref": "#/definitions/Animal"},
                          {"type": "object", "properties": {"born": {"type": "string", "format": "date"}}}]},
    }))
    dog = api.json_to_model("Dog", {"name": "rex", "born": "2020-01-01"})
    assert type(dog).__name__ == "Dog" and dog.born == dt.date(2020, 1, 1)
    assert api.model_to_json(dog) == {"name": "rex", "born": "2020-01-01"}
    with pytest.raises(ArgumentError):
        api.json_to_model("Dog", {"born": "2020-01-01"})


# -- x-persist --------------------------------------------------------------------------

def test_x_persist_injects_load_and_save(petstore):
    persistence.calls.clear()
    Pet = petstore.model.Pet
    assert Pet.load_from_db(id="12345") == ("loaded", (), {"id": "12345"})
    pet = Pet(name="rex")
    assert pet.save_to_db("fast", retry=2) == "saved"
    assert persistence.calls == [("load", (), {"id": "12345"}), ("save", pet, ("fast",), {"retry": 2})]


def test_do_persist_false_skips_injection():
    from tests.conftest import spec_path

    api = ApiPool.add("p", yaml_path=spec_path("petstore.yaml"), do_persist=False)
    assert not hasattr(api.model.Pet, "save_to_db")


@pytest.mark.parametrize("target, message", [
    ("tests.handlers.persistence.NoSave", "NoSave has no static method 'save_to_db'"),
    ("tests.handlers.persistence.Missing", "has no attribute 'Missing'"),
    ("nowhere_xyz.Store", "cannot import module 'nowhere_xyz'"),
])
def test_bad_x_persist_class_is_a_load_error(target, message):
    with pytest.raises(BindingError, match=message) as e:
        ApiPool.add("m", spec_dict=spec_with({"Foo": {"type": "object", "x-persist": target}}))
    assert "definition 'Foo'" in str(e.value)


# -- merge --------------------------------------------------------------------------------

SHARED = {"type": "object", "properties": {"name": {"type": "string"}}}


def test_merge_shares_equal_models():
    a = ApiPool.add("a", spec_dict=spec_with({"Shared": SHARED, "OnlyA": SHARED}))
    b = ApiPool.add("b", spec_dict=spec_with({"Shared": SHARED}))
    assert a.model.Shared is not b.model.Shared
    ApiPool.merge()
    assert a.model.Shared is b.model.Shared
    assert type(b.json_to_model("Shared", {"name": "x"})) is a.model.Shared


def test_after_merge_a_model_extending_a_shared_one_is_still_an_instance_of_it():
    a = ApiPool.add("a", spec_dict=spec_with({"Shared": SHARED}))
    b = ApiPool.add("b", spec_dict=spec_with({
        "Shared": SHARED,
        "Child": {"allOf": [{"$ref": "#/definitions/Shared"}, {"type": "object", "properties": {"n": {"type": "integer"}}}]},
    }))
    ApiPool.merge()
    child = b.json_to_model("Child", {"name": "x", "n": 1})
    assert isinstance(child, b.model.Shared) and isinstance(child, a.model.Shared)
    assert issubclass(b.model.Child, a.model.Shared)
    c = ApiPool.add("c", spec_dict=spec_with({"Shared": SHARED}))  # not merged: another API's model
    assert not isinstance(child, c.model.Shared)


def test_merge_refuses_different_definitions():
    ApiPool.add("a", spec_dict=spec_with({"Shared": SHARED}))
    b = ApiPool.add("b", spec_dict=spec_with({"Shared": {"type": "object", "properties": {"name": {"type": "integer"}}}}))
    before = b.model.Shared
    with pytest.raises(MergeApisException, match="'Shared' is defined differently in APIs 'a' and 'b'"):
        ApiPool.merge()
    assert b.model.Shared is before


# -- user formats ----------------------------------------------------------------------

def _check_even(value):
    if int(value) % 2:
        raise ValueError(f"{value} is odd")


EVEN = SwaggerFormat(format="even", to_wire=str, to_python=int, validate=_check_even, description="an even number")


def test_user_format_validates_and_converts():
    paths = {"/n": {"post": {
        "x-bind-server": "tests.handlers.behaviours.respond",
        "parameters": [{"in": "query", "name": "q", "type": "string", "format": "even"},
                       {"in": "body", "name": "b", "schema": {"$ref": "#/definitions/Box"}}],
        "responses": {"200": {"description": "ok", "schema": {"$ref": "#/definitions/Box"}}}}}}
    api = ApiPool.add("f", spec_dict=spec_with({"Box": {"type": "object", "properties": {"n": {"type": "string", "format": "even"}}}}, paths),
                      formats=[EVEN])
    got = {}

    def handler(box, q):
        got.update(box=box, q=q)
        return api.model.Box(n=q)

    app = Flask("f")
    api.spawn_api(app, decorator=lambda f: handler)
    c = app.test_client()
    r = c.post("/n?q=4", json={"n": "6"})
    assert r.status_code == 200 and r.get_json() == {"n": "4"}
    assert got == {"box": api.model.Box(n=6), "q": 4}
    r = c.post("/n?q=3", json={"n": "6"})
    assert r.status_code == 400 and r.get_json()["errors"][0]["name"] == "q"
    r = c.post("/n?q=2", json={"n": "5"})
    assert r.status_code == 400 and r.get_json()["errors"][0] == {"in": "body", "name": "n", "message": "'5' is not a valid even"}


def test_formats_must_be_swagger_formats():
    with pytest.raises(TypeError, match="SwaggerFormat"):
        ApiPool.add("f", spec_dict=spec_with({}), formats=["even"])


def test_json_to_model_failure_escaping_a_handler_is_a_500(petstore):
    with pytest.raises(ArgumentError) as e:
        petstore.json_to_model("Pet", {"name": 3})
    assert e.value.status_code == 500 and e.value.errors[0].name == "name"
    assert isinstance(e.value, ValueError) and not isinstance(e.value, ValidationError)  # the code's mistake, not a 400


def test_definition_names_needing_pointer_escapes():
    api = ApiPool.add("m", spec_dict=spec_with({
        "a/b": {"type": "object", "properties": {"when": {"type": "string", "format": "date"}}},
        "Holder": {"type": "object", "properties": {"inner": {"$ref": "#/definitions/a~1b"}}},
    }))
    held = api.json_to_model("Holder", {"inner": {"when": "2020-01-01"}})
    assert type(held.inner).__name__ == "a/b" and held.inner.when == dt.date(2020, 1, 1)
    assert type(held.inner) is getattr(api.model, "a/b")
    assert api.model_to_json(held) == {"inner": {"when": "2020-01-01"}}


# -- klue's own model base (no bravado-core) ---------------------------------------------

FAMILY = {
    "Animal": {"type": "object", "properties": {"name": {"type": "string"}}},
    "Dog": {"allOf": [{"$ref": "#/definitions/Animal"},
                      {"type": "object", "properties": {"bark": {"type": "string"}}}]},
    "Puppy": {"allOf": [{"$ref": "#/definitions/Dog"}], "properties": {"age": {"type": "integer"}}},
    "Cat": {"type": ["object", "null"], "properties": {"name": {"type": "string"}}},
    "Name": {"type": "string"},
    "Alias": {"$ref": "#/definitions/Animal"},
}


def test_models_pickle_by_api_and_model_name():
    import pickle

    api = ApiPool.add("fam", spec_dict=spec_with(FAMILY))
    dog = api.model.Dog._from_dict({"name": "rex", "bark": "woof", "extra": [1, {"a": 2}]})
    clone = pickle.loads(pickle.dumps(dog))
    assert clone == dog and type(clone) is api.model.Dog and clone.extra == [1, {"a": 2}]
    assert pickle.loads(pickle.dumps(api.model.Dog)) is api.model.Dog
    assert pickle.loads(pickle.dumps(Model)) is Model
    data = pickle.dumps(dog)
    ApiPool.remove("fam")
    with pytest.raises(KlueException, match="cannot unpickle model 'Dog': API 'fam' is not loaded"):
        pickle.loads(data)


def test_all_of_inheritance_answers_isinstance_and_collects_properties():
    api = ApiPool.add("fam", spec_dict=spec_with(FAMILY))
    Animal, Dog, Puppy, Cat = api.model.Animal, api.model.Dog, api.model.Puppy, api.model.Cat
    puppy = Puppy(name="rex", age=1)
    assert isinstance(puppy, Dog) and isinstance(puppy, Animal) and isinstance(Dog(), Animal)
    assert not isinstance(Animal(), Dog) and not isinstance(puppy, Cat) and not issubclass(Animal, Puppy)
    assert issubclass(Puppy, Animal) and issubclass(Dog, Model)
    assert set(Puppy._properties) == {"name", "bark", "age"} and Puppy._inherits_from == ["Dog"]
    assert puppy._as_dict() == {"name": "rex", "bark": None, "age": 1}
    assert Dog._json_reference == "#/definitions/Dog" and Dog._model_spec["allOf"][0] == {"$ref": "#/definitions/Animal"}
    assert "Name" not in api.model and "Alias" in api.model and "Cat" in api.model  # nullable objects are models
    other = ApiPool.add("other", spec_dict=spec_with(FAMILY))
    assert not isinstance(other.model.Dog(), Animal) and isinstance(other.model.Dog(), other.model.Animal)


def test_model_values_as_dict_repr_and_equality():
    api = ApiPool.add("fam", spec_dict=spec_with(FAMILY))
    Animal, Dog = api.model.Animal, api.model.Dog
    dog = Dog._from_dict({"name": "rex", "friends": [Animal(name="tom")], "best": Animal(name="kit")})
    assert dog._as_dict() == {"name": "rex", "bark": None, "friends": [{"name": "tom"}], "best": {"name": "kit"}}
    assert dog._as_dict(recursive=False)["best"] is dog.best
    assert dog._as_dict(additional_properties=False) == {"name": "rex", "bark": None}
    assert dog._asdict() == dog._as_dict() and dog._additional_props == {"friends", "best"}
    assert repr(Animal(name="tom")) == "Animal(name='tom')"
    assert Animal(name="tom") != {"name": "tom"} and Animal(name="a") != Dog(name="a")
    with pytest.raises(TypeError, match="unhashable"):
        hash(dog)
    deep = copy.deepcopy(dog)
    assert deep == dog and deep.friends[0] is not dog.friends[0]
    assert Dog.name.__get__(None, Dog) is Dog.name and dir(Animal(name="x")) == ["name"]


def test_user_formats_take_any_swagger_format_shaped_tuple():
    """bravado-core's SwaggerFormat (a namedtuple of these fields) is accepted as klue's is."""
    from collections import namedtuple

    Theirs = namedtuple("SwaggerFormat", "format to_wire to_python validate description")
    api = ApiPool.add("m", formats=[Theirs("even", str, int, _check_even, "")], spec_dict=spec_with(
        {"Box": {"type": "object", "properties": {"n": {"type": "string", "format": "even"}}}}))
    assert api.json_to_model("Box", {"n": "4"}).n == 4
    with pytest.raises(ArgumentError):
        api.json_to_model("Box", {"n": "3"})


# -- keywords are declared properties, unless the schema allows others ------------------------

def test_a_misspelt_keyword_is_a_type_error_naming_the_model_and_its_properties(petstore):
    Pet = petstore.model.Pet  # an x-persist model, without additionalProperties
    with pytest.raises(UnknownPropertyError) as e:
        Pet(nme="rex")
    assert isinstance(e.value, TypeError) and isinstance(e.value, ArgumentError)
    assert str(e.value).startswith("Pet() got an unexpected keyword argument 'nme' (did you mean 'name'?); "
                                   "its properties: born, id, kind, name, nickname, owner, seen, tags")
    assert "Pet._from_dict() takes extra properties" in str(e.value)
    assert (e.value.model, e.value.unknown) == ("Pet", ["nme"]) and "name" in e.value.known
    assert [(f.location, f.name) for f in e.value.errors] == [("Pet", "nme")]
    assert e.value.status_code == 500 and not isinstance(e.value, ValidationError)  # the code's mistake, not a 400
    with pytest.raises(TypeError, match=r"unexpected keyword arguments 'nme', 'knd', 'zz' "
                                        r"\(did you mean 'name' for 'nme', 'kind' for 'knd'\?\)"):
        Pet(nme="rex", knd="dog", zz=1)
    assert Pet(name="rex").save_to_db is not None and Pet.load_from_db is not None  # x-persist still there
    assert Pet._from_dict({"name": "rex", "colour": "red"}).colour == "red"  # data: JSON Schema's rule


def test_unknown_property_error_pickles_and_lists_at_most_20_names():
    import pickle

    api = ApiPool.add("m", spec_dict=spec_with({
        "Wide": {"type": "object", "properties": {f"p{i:02}": {"type": "string"} for i in range(30)}}}))
    with pytest.raises(UnknownPropertyError) as e:
        api.model.Wide(**{f"q{i:02}": 1 for i in range(25)})
    message = str(e.value)
    assert "'q19' and 5 more" in message and "p19... (10 more)" in message and "q20" not in message
    assert len(e.value.unknown) == 25 and len(e.value.errors) == 25
    clone = pickle.loads(pickle.dumps(e.value))
    assert type(clone) is UnknownPropertyError and str(clone) == message and clone.unknown == e.value.unknown


@pytest.mark.parametrize("extra", [True, {"type": "integer"}, {}])
def test_a_schema_allowing_additional_properties_takes_them_as_keywords(extra):
    api = ApiPool.add("m", spec_dict=spec_with({
        "Bag": {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": extra}}))
    bag = api.model.Bag(a="x", b=2)
    assert bag.b == 2 and bag._additional_props == {"b"}
    # as for declared properties, construction does not validate: model_to_json and the validators do
    assert api.model.Bag(c="not an integer").c == "not an integer"


def test_all_of_models_know_their_inherited_properties_and_inherit_what_parts_allow():
    api = ApiPool.add("fam", spec_dict=spec_with({
        **FAMILY,
        "OpenBase": {"type": "object", "additionalProperties": True, "properties": {"id": {"type": "integer"}}},
        "OpenChild": {"allOf": [{"$ref": "#/definitions/OpenBase"}, {"properties": {"n": {"type": "integer"}}}]},
        "ClosedPart": {"allOf": [{"$ref": "#/definitions/OpenBase"},
                                 {"additionalProperties": False, "properties": {"n": {"type": "integer"}}}]},
    }))
    assert api.model.Puppy(name="rex", bark="woof", age=1).bark == "woof"  # inherited from Animal through Dog
    with pytest.raises(UnknownPropertyError, match=r"Puppy\(\) got an unexpected keyword argument 'barks' "
                                                   r"\(did you mean 'bark'\?\); its properties: age, bark, name"):
        api.model.Puppy(barks="woof")
    assert api.model.OpenChild(id=1, n=2, extra=3).extra == 3  # the parent allows extras explicitly
    with pytest.raises(UnknownPropertyError, match="'extra'"):
        api.model.ClosedPart(id=1, n=2, extra=3)  # one part forbids them: JSON Schema refuses them too
    with pytest.raises(UnknownPropertyError, match=r"Alias\(\).*'nme'"):
        api.model.Alias(nme="x")  # a definition that is a $ref to a model
    assert api.model.Cat(name="tom").name == "tom"


def test_pattern_properties_are_declared_names_too():
    api = ApiPool.add("m", spec_dict={
        "openapi": "3.1.0", "info": {"title": "m", "version": "1"}, "paths": {},
        "components": {"schemas": {"Labels": {"type": "object", "properties": {"name": {"type": "string"}},
                                              "patternProperties": {"^x-": {"type": "string"}},
                                              "additionalProperties": False}}}})
    Labels = api.model.Labels
    assert Labels(name="a", **{"x-team": "core"})["x-team"] == "core"
    assert Labels._from_dict({"x-team": "core"})["x-team"] == "core"
    with pytest.raises(UnknownPropertyError, match="'team'"):
        Labels(team="core")


def test_merged_models_refuse_misspelt_keywords_in_every_api():
    a = ApiPool.add("a", spec_dict=spec_with({"Shared": SHARED}))
    b = ApiPool.add("b", spec_dict=spec_with({"Shared": SHARED}))
    ApiPool.merge()
    for api in (a, b):
        with pytest.raises(UnknownPropertyError, match=r"Shared\(\) got .*'nmae' \(did you mean 'name'\?\)"):
            api.model.Shared(nmae="x")
        assert api.model.Shared(name="x").name == "x"


def test_data_with_extra_properties_still_decodes_on_the_server_and_the_client(petstore_spec):
    """Only keywords are stricter: a request body and a response with properties
    Pet does not declare (it allows them, by JSON Schema's default) decode as before."""
    from tests.handlers import pets
    from tests.live import live

    api = ApiPool.add("petstore", yaml_path=petstore_spec)
    app = Flask("petstore")
    api.spawn_api(app)
    pets.received.clear()
    with live(app) as server:
        api = ApiPool.add("petstore", yaml_path=petstore_spec, host="127.0.0.1", port=server.port, proto="http")
        back = api.client.addPet({"name": "rex", "colour": "red"}).call()
    (received,), _ = pets.received["add_pet"]
    assert type(received).__name__ == "Pet" and received.colour == "red"
    assert type(back) is api.model.Pet and back.colour == "red" and back.id == 99
    assert api.json_to_model("Pet", {"name": "rex", "colour": "red"}).colour == "red"
