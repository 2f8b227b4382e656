"""Handlers of tests/specs/petstore.yaml: they record what they received."""
from flask import g

from klue.swagger import ApiPool

#: The last call each handler received: (args, kwargs).
received: dict = {}


def _record(handler, *args, **kwargs):
    received[handler] = (args, kwargs)


def list_pets(**kwargs):
    _record("list_pets", **kwargs)
    Pet = ApiPool.petstore.model.Pet
    return [Pet(id=1, name="rex", kind="dog"), Pet(id=2, name="tom", kind="cat")]


def add_pet(pet):
    _record("add_pet", pet)
    pet.id = 99
    return pet, 201


def get_pet(pet_id):
    _record("get_pet", pet_id=pet_id)
    return ApiPool.petstore.model.Pet(id=pet_id, name="rex")


def delete_pet(pet_id, **headers):
    _record("delete_pet", pet_id=pet_id, **headers)
    return None, 204


def upload_photo(pet_id, caption=None, photo=None):
    _record("upload_photo", pet_id=pet_id, caption=caption, photo=photo)
    data = photo.read()
    out = {"size": len(data), "filename": photo.filename}
    if caption is not None:
        out["caption"] = caption
    return out


def login(user, remember, scopes):
    _record("login", user=user, remember=remember, scopes=scopes)
    return {"user": user, "remember": remember, "scopes": scopes or []}


def echo(payload, name, status):
    _record("echo", payload, name=name, status=status)
    out = dict(payload or {})
    out.update(name=name, call_id=g.call_id, call_path=g.call_path)
    if "when" in out:
        out["when"] = out["when"].isoformat()
    return out, status
