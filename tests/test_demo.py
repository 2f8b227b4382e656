"""The petstore demo of README.rst, end to end through Flask's test client."""
from examples import petstore


def test_demo_petstore_round_trip():
    petstore.PetStorage._pets.clear()
    c = petstore.create_app().test_client()
    r = c.post("/v1/pets", json={"name": "Rex", "kind": "dog", "born": "2020-04-01"})
    assert r.status_code == 201
    rex = r.get_json()
    assert rex["name"] == "Rex" and isinstance(rex["id"], int)
    c.post("/v1/pets", json={"name": "Tom", "kind": "cat"})
    assert [p["name"] for p in c.get("/v1/pets?kind=dog").get_json()] == ["Rex"]
    assert len(c.get("/v1/pets").get_json()) == 2
    assert c.get(f"/v1/pets/{rex['id']}").get_json() == rex
    assert c.delete(f"/v1/pets/{rex['id']}").status_code == 204
    assert c.get(f"/v1/pets/{rex['id']}").status_code == 404
    assert c.post("/v1/pets", json={"name": "Rex", "owner": "me"}).status_code == 400
