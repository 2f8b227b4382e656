"""Request parsing and validation of spawned routes, through Flask's test client."""
import datetime as dt
import io
import json

import pytest
from flask import Flask

from tests.server.declared_errors import fields_of


def error_fields(response):
    body = response.get_json()
    assert response.headers["Content-Type"] == "application/json"
    return fields_of(body)


# -- path parameters ------------------------------------------------------------

def test_integer_path_parameter_arrives_as_int(client, received):
    r = client.get("/v1/pets/42")
    assert r.status_code == 200
    assert r.get_json() == {"id": 42, "name": "rex"}
    assert received["get_pet"] == ((), {"pet_id": 42})


def test_negative_integer_path_parameter_is_accepted(client, received):
    assert client.get("/v1/pets/-3").status_code == 200
    assert received["get_pet"][1]["pet_id"] == -3


@pytest.mark.parametrize("bad", ["abc", "1.5", "1e3", "%20", "0x10", "1_000", "99999999999"])
def test_non_integer_path_parameter_is_400_naming_it(client, received, bad):
    r = client.get(f"/v1/pets/{bad}")
    assert r.status_code == 400
    assert error_fields(r) == {("path", "pet_id")}
    assert "get_pet" not in received


def test_int32_path_parameter_out_of_range_is_400(client):
    r = client.get(f"/v1/pets/{2**31}")
    assert r.status_code == 400
    assert "maximum" in r.get_json()["detail"]


def test_string_path_parameter_pattern(client, received):
    r = client.put("/v1/echo/a.b-c", json={})
    assert r.status_code == 200 and r.get_json()["name"] == "a.b-c"
    r = client.put("/v1/echo/ABC", json={})
    assert r.status_code == 400 and error_fields(r) == {("path", "name")}


# -- query parameters -----------------------------------------------------------

def test_query_parameters_are_typed_and_defaults_applied(client, received):
    r = client.get("/v1/pets?kind=cat&tags=a,b&ids=1&ids=2&codes=FR|DE&fat=true&min_weight=2.5&since=2020-02-29")
    assert r.status_code == 200, r.get_json()
    kwargs = received["list_pets"][1]
    assert kwargs == {
        "limit": 10, "kind": "cat", "tags": ["a", "b"], "ids": [1, 2], "codes": ["FR", "DE"], "fat": True,
        "min_weight": 2.5, "since": dt.date(2020, 2, 29), "X-Request-Tag": None,
    }


def test_missing_optional_parameters_are_none(client, received):
    assert client.get("/v1/pets").status_code == 200
    kwargs = received["list_pets"][1]
    assert kwargs["limit"] == 10  # the declared default
    assert kwargs["kind"] is None and kwargs["tags"] is None and kwargs["fat"] is None


@pytest.mark.parametrize("query, field", [
    ("limit=0", "limit"),  # below minimum
    ("limit=101", "limit"),  # above maximum
    ("limit=ten", "limit"),
    ("limit=", "limit"),
    ("kind=fish", "kind"),  # not in enum
    ("fat=yes", "fat"),
    ("min_weight=NaN", "min_weight"),
    ("min_weight=1e999", "min_weight"),
    ("ids=1&ids=x", "ids"),
    ("codes=FR|d", "codes[1]"),  # item pattern: the error names the item
    ("since=2020-02-30", "since"),  # not a real date
    ("since=yesterday", "since"),
    ("limit=1&limit=2", "limit"),  # repeated, but not an array
])
def test_invalid_query_parameter_is_400_naming_it(client, received, query, field):
    r = client.get(f"/v1/pets?{query}")
    assert r.status_code == 400, r.get_json()
    assert error_fields(r) == {("query", field)}
    assert f"'{field}'" in r.get_json()["error"]  # listPets declares default: Error{error, status}
    assert "list_pets" not in received


def test_every_invalid_parameter_is_reported_at_once(client):
    r = client.get("/v1/pets?limit=0&kind=fish&fat=maybe")
    assert r.status_code == 400
    assert error_fields(r) == {("query", "limit"), ("query", "kind"), ("query", "fat")}


def test_unknown_query_parameters_are_ignored(client, received):
    assert client.get("/v1/pets?whatever=1").status_code == 200
    assert "whatever" not in received["list_pets"][1]


# -- header parameters ----------------------------------------------------------

def test_header_parameter_is_passed_under_its_spec_name(client, received):
    assert client.get("/v1/pets", headers={"x-request-tag": "abc"}).status_code == 200
    assert received["list_pets"][1]["X-Request-Tag"] == "abc"


def test_header_parameter_is_validated(client):
    r = client.get("/v1/pets", headers={"X-Request-Tag": "much-too-long"})
    assert r.status_code == 400 and error_fields(r) == {("header", "X-Request-Tag")}


def test_required_header_missing_is_400(client, received):
    r = client.delete("/v1/pets/3")
    assert r.status_code == 400 and error_fields(r) == {("header", "X-Confirm")}
    r = client.delete("/v1/pets/3", headers={"X-Confirm": "yes"})
    assert r.status_code == 204 and r.data == b""
    assert received["delete_pet"][1] == {"pet_id": 3, "X-Confirm": "yes"}


# -- JSON body ------------------------------------------------------------------

def test_body_is_unmarshalled_into_its_model(client, received, petstore):
    pet = {"name": "rex", "kind": "dog", "born": "2019-05-01", "seen": "2024-01-02T03:04:05Z",
           "tags": [{"label": "good"}], "owner": {"email": "a@b.org", "friend": {"email": "c@d.org"}}}
    r = client.post("/v1/pets", json=pet)
    assert r.status_code == 201, r.get_json()
    (got,), kwargs = received["add_pet"]
    assert kwargs == {}
    assert type(got).__name__ == "Pet" and isinstance(got, petstore.model.Pet)
    assert got.born == dt.date(2019, 5, 1)
    assert got.seen == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    assert type(got.tags[0]).__name__ == "Tag" and got.tags[0].label == "good"
    assert type(got.owner.friend).__name__ == "Owner" and got.owner.friend.email == "c@d.org"
    # declared defaults inside the body are filled in
    assert got.tags[0].weight == 1.5
    # the response is the pet, marshalled back
    assert r.get_json() == dict(pet, id=99, tags=[{"label": "good", "weight": 1.5}], seen="2024-01-02T03:04:05+00:00")


@pytest.mark.parametrize("pet, field", [
    ({}, ""),  # name is required
    ({"name": ""}, "name"),
    ({"name": 3}, "name"),
    ({"name": "x" * 41}, "name"),
    ({"name": "a", "kind": "fish"}, "kind"),
    ({"name": "a", "born": "2019-13-01"}, "born"),
    ({"name": "a", "seen": "2019-01-01 10:00"}, "seen"),
    ({"name": "a", "id": "7"}, "id"),
    ({"name": "a", "id": 2**63}, "id"),
    ({"name": "a", "tags": [{"label": "x"}, {"weight": 1}]}, "tags[1]"),
    ({"name": "a", "tags": [{"label": "x"}] * 21}, "tags"),
    ({"name": "a", "owner": {"email": "not-an-email"}}, "owner.email"),
    ({"name": "a", "owner": {"friend": {"extra": 1}}}, "owner.friend"),
    ({"name": "a", "nickname": 5}, "nickname"),
])
def test_invalid_body_is_400_naming_the_field(client, received, pet, field):
    r = client.post("/v1/pets", json=pet)
    assert r.status_code == 400, r.get_json()
    assert ("body", field) in error_fields(r)
    assert "add_pet" not in received


def test_nullable_property_accepts_null(client, received):
    r = client.post("/v1/pets", json={"name": "a", "nickname": None})
    assert r.status_code == 201
    assert received["add_pet"][0][0].nickname is None


def test_body_must_be_an_object_not_a_list(client):
    r = client.post("/v1/pets", json=[{"name": "a"}])
    assert r.status_code == 400


@pytest.mark.parametrize("data", [b"{", b'{"name": "a",}', b"nope", b'{"name": NaN}', b"\xff\xfe{}", b'{"name": Infinity}'])
def test_invalid_json_is_400(client, received, data):
    r = client.post("/v1/pets", data=data, content_type="application/json")
    assert r.status_code == 400
    assert r.get_json()["error"].startswith("body")  # addPet declares 400: Error{error, status}
    assert "add_pet" not in received


def test_deeply_nested_json_is_400_not_500(client):
    data = "[" * 100_000 + "]" * 100_000
    r = client.post("/v1/pets", data=data, content_type="application/json")
    assert r.status_code == 400


def test_missing_required_body_is_400(client):
    r = client.post("/v1/pets", data=b"", content_type="application/json")
    assert r.status_code == 400
    assert "body is required" in r.get_json()["error"]  # addPet declares 400: Error{error, status}


def test_optional_body_may_be_absent(client, received):
    r = client.put("/v1/echo/abc")
    assert r.status_code == 200
    assert received["echo"][0] == (None,)


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded", None])
def test_unsupported_content_type_is_415(client, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    r = client.post("/v1/pets", data=json.dumps({"name": "a"}), headers=headers)
    assert r.status_code == 415
    assert r.headers["Content-Type"] == "application/json"
    assert r.get_json()["status"] == 415


def test_json_content_type_with_charset_and_suffix_is_accepted(client):
    data = json.dumps({"name": "a"})
    assert client.post("/v1/pets", data=data, content_type="application/json; charset=utf-8").status_code == 201
    assert client.post("/v1/pets", data=data, content_type="application/vnd.pets+json").status_code == 201


def test_body_property_defaults_and_formats_in_inline_schema(client, received):
    r = client.put("/v1/echo/abc?status=202", json={"text": "hi", "when": "2020-01-01T00:00:00+02:00"})
    assert r.status_code == 202
    (payload,), kwargs = received["echo"]
    assert payload["count"] == 1
    assert payload["when"] == dt.datetime(2020, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert kwargs == {"name": "abc", "status": 202}


# -- form data ------------------------------------------------------------------

def test_urlencoded_form(client, received):
    r = client.post("/v1/login", data={"user": "bob", "remember": "true", "scopes": ["a", "b"]})
    assert r.status_code == 200, r.get_json()
    assert received["login"][1] == {"user": "bob", "remember": True, "scopes": ["a", "b"]}


def test_form_defaults_and_multipart(client, received):
    r = client.post("/v1/login", data={"user": "bob"}, content_type="multipart/form-data")
    assert r.status_code == 200
    assert received["login"][1] == {"user": "bob", "remember": False, "scopes": None}


@pytest.mark.parametrize("data, field", [({}, "user"), ({"user": "b"}, "user"), ({"user": "bob", "remember": "y"}, "remember")])
def test_invalid_form_is_400(client, data, field):
    r = client.post("/v1/login", data=data)
    assert r.status_code == 400 and error_fields(r) == {("formData", field)}


def test_form_with_json_content_type_is_415(client):
    r = client.post("/v1/login", json={"user": "bob"})
    assert r.status_code == 415


def test_file_upload(client, received):
    r = client.post("/v1/pets/5/photo", data={"caption": "me", "photo": (io.BytesIO(b"\x89PNG..."), "me.png")})
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == {"caption": "me", "size": 7, "filename": "me.png"}
    assert received["upload_photo"][1]["pet_id"] == 5


def test_missing_file_is_400(client, received):
    r = client.post("/v1/pets/5/photo", data={"caption": "me"}, content_type="multipart/form-data")
    assert r.status_code == 400 and error_fields(r) == {("formData", "photo")}
    r = client.post("/v1/pets/5/photo", data={"caption": "x" * 31, "photo": (io.BytesIO(b"1"), "a.png")})
    assert r.status_code == 400 and error_fields(r) == {("formData", "caption")}
    assert "upload_photo" not in received


# -- size limits --------------------------------------------------------------------

def test_body_over_the_limit_is_413_before_the_handler(petstore, received):
    app = Flask("small")
    petstore.spawn_api(app, max_body_size=1000)
    c = app.test_client()
    r = c.post("/v1/pets", data=json.dumps({"name": "x" * 2000}), content_type="application/json")
    assert r.status_code == 413 and r.get_json()["code"] == "PAYLOAD_TOO_LARGE"
    assert "larger than this server accepts" in r.get_json()["detail"]
    r = c.post("/v1/pets/5/photo", data={"photo": (io.BytesIO(b"x" * 5000), "big.png")})
    assert r.status_code == 413
    assert "add_pet" not in received and "upload_photo" not in received
    assert c.post("/v1/pets", json={"name": "small"}).status_code == 201  # and it keeps serving


def test_default_limit_is_10_mib(client):
    r = client.post("/v1/pets", data=b"[" + b"1," * (5 * 1024 * 1024) + b"1]", content_type="application/json")
    assert r.status_code == 413
