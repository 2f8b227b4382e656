"""OpenAPI 3.1 end to end: server, client and models on tests/specs/zoo.openapi31.yaml."""
import pytest
from flask import Flask

from klue.exceptions import ArgumentError, UnboundOperationsError
from klue.swagger import ApiPool
from tests.conftest import spec_path
from tests.handlers import zoo

ZOO = spec_path("zoo.openapi31.yaml")


@pytest.fixture
def api():
    zoo.received.clear()
    return ApiPool.add("zoo", yaml_path=ZOO)


@pytest.fixture
def client(api):
    app = Flask("zoo")
    api.spawn_api(app, mock="missing")  # /not-importable has no handler
    ApiPool.add("zoo", yaml_path=ZOO, local=app)  # and call it in process
    return app.test_client()


def test_loads_with_servers_prefix_and_models(api):
    assert api.spec.version == "3.1.0" and api.spec.base_path == "/zoo" and api.spec.host is None
    assert {"Lion", "Parrot", "Keeper"} <= set(api.model)


def test_dotted_operation_ids_are_handlers_and_others_stay_unbound(api):
    with pytest.raises(UnboundOperationsError) as e:
        api.spawn_api(Flask("zoo"))
    assert e.value.operations == ["GET /not-importable (tests.handlers.zoo.nothing_here)"]


def test_one_of_with_discriminator_decodes_the_named_model(client):
    r = client.post("/zoo/animals", json={"kind": "parrot", "name": "Polly", "words": 12})
    assert r.status_code == 201 and r.get_json() == {"kind": "parrot", "name": "Polly", "words": 12}
    got = zoo.received["add_animal"]
    assert type(got).__name__ == "Parrot" and got.words == 12
    r = client.post("/zoo/animals", json={"kind": "lion", "name": "Leo", "mane": None})
    assert r.status_code == 201 and type(zoo.received["add_animal"]).__name__ == "Lion"


@pytest.mark.parametrize("animal", [
    {"kind": "tiger", "name": "Tim"},  # no branch matches
    {"kind": "parrot", "name": "Polly", "words": 0},  # exclusiveMinimum: 0 (3.1's numeric form)
    {"kind": "lion", "name": "Leo", "mane": 5},  # type: [string, "null"]
    {"kind": "lion"},
])
def test_invalid_animals_are_400(client, animal):
    r = client.post("/zoo/animals", json=animal)
    assert r.status_code == 400 and r.get_json()["errors"]


def test_read_only_is_refused_in_requests_and_write_only_never_leaves(client):
    r = client.post("/zoo/keepers", json={"name": "Ann", "password": "s3cret"})
    assert r.status_code == 201
    assert r.get_json() == {"id": 7, "name": "Ann"}  # the password stays on the server
    assert zoo.received["hire"].password == "s3cret"
    r = client.post("/zoo/keepers", json={"id": 3, "name": "Ann", "password": "s3cret"})
    assert r.status_code == 400
    assert r.get_json()["errors"] == [{"in": "body", "name": "id", "message": "is read-only: the server sets it, a request cannot"}]
    r = client.post("/zoo/keepers", json={"name": "Ann"})
    assert r.status_code == 400 and "password" in r.get_data(as_text=True)


def test_ref_siblings_apply(client):
    r = client.post("/zoo/keepers", json={"name": "Ann", "password": "s3cret", "boss": {"name": "Bob", "password": "x"}})
    assert r.status_code == 400 and r.get_json()["errors"][0]["name"] == "boss.password"


def test_deep_object_and_cookie_parameters(client):
    client.set_cookie("session", "abc")
    r = client.get("/zoo/animals?filter[kind]=lion&filter[min_words]=3")
    assert r.status_code == 200
    assert zoo.received["find_animals"] == {"filter": {"kind": "lion", "min_words": 3}, "session": "abc"}
    r = client.get("/zoo/animals?filter[min_words]=many")
    assert r.status_code == 400 and r.get_json()["errors"][0]["name"] == "filter"


def test_raw_body(client):
    r = client.put("/zoo/photos/leo", data=b"\x89PNG\r\n", content_type="image/png")
    assert r.status_code == 200 and r.get_json() == {"name": "leo", "size": 6}
    assert zoo.received["store_photo"] == (b"\x89PNG\r\n", "leo")
    assert client.put("/zoo/photos/leo", data=b"{}", content_type="application/json").status_code == 415


def test_the_client_side(client):
    zoo_client = ApiPool.zoo.client
    assert set(zoo_client) >= {"tests_handlers_zoo_add_animal", "tests_handlers_zoo_hire"}
    parrot = zoo_client.tests_handlers_zoo_add_animal({"kind": "parrot", "name": "Polly"}).call()
    assert type(parrot).__name__ == "Parrot"
    out = zoo_client.tests_handlers_zoo_find_animals(filter={"kind": "lion", "min_words": 2}).call()
    assert out["filter"] == {"kind": "lion", "min_words": 2}
    Keeper = ApiPool.zoo.model.Keeper
    hired = zoo_client.tests_handlers_zoo_hire(Keeper(id=99, name="Ann", password="s3cret")).call()
    assert hired.id == 7 and hired.password is None  # id was not sent (readOnly); the password not returned
    assert zoo_client.tests_handlers_zoo_store_photo(b"abc", name="x").call() == {"name": "x", "size": 3}
    with pytest.raises(ArgumentError, match="bytes or text"):
        zoo_client.tests_handlers_zoo_store_photo({"not": "bytes"}, name="x")
    assert zoo_client.tests_handlers_zoo_nothing_here().call() is None  # mocked
